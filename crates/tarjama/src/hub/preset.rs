//! Model presets: short names for known-good models, read from `models/*.toml`.
//!
//! The TOML files are embedded in the binary with `include_str!`, so an installed `tarjama`
//! knows its presets wherever it runs.

use serde::Deserialize;

use crate::{Error, Result};

/// The preset used by `tarjama translate` when no `--model` is given.
pub const DEFAULT_TRANSLATOR: &str = "opus-mt-tc-big-ar-en";

/// The preset used by `tarjama summarize` and `tarjama run` when no summarizer is given.
pub const DEFAULT_SUMMARIZER: &str = "distilbart-cnn-12-6";

/// The summarizer `tarjama run --summarize-first` uses when none is given (Arabic in, Arabic out).
pub const DEFAULT_ARABIC_SUMMARIZER: &str = "mt5-xlsum";

/// The embedded preset files: (name, TOML text). The name is the file stem.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "bart-large-cnn",
        include_str!("../../../../models/bart-large-cnn.toml"),
    ),
    (
        "distilbart-cnn-12-6",
        include_str!("../../../../models/distilbart-cnn-12-6.toml"),
    ),
    (
        "flan-t5-base",
        include_str!("../../../../models/flan-t5-base.toml"),
    ),
    (
        "m2m100_418M",
        include_str!("../../../../models/m2m100_418M.toml"),
    ),
    (
        "mt5-xlsum",
        include_str!("../../../../models/mt5-xlsum.toml"),
    ),
    (
        "nllb-200-distilled-1.3B",
        include_str!("../../../../models/nllb-200-distilled-1.3B.toml"),
    ),
    (
        "nllb-200-distilled-600M",
        include_str!("../../../../models/nllb-200-distilled-600M.toml"),
    ),
    (
        "opus-mt-ar-en",
        include_str!("../../../../models/opus-mt-ar-en.toml"),
    ),
    (
        "opus-mt-tc-big-ar-en",
        include_str!("../../../../models/opus-mt-tc-big-ar-en.toml"),
    ),
    ("t5-small", include_str!("../../../../models/t5-small.toml")),
];

/// Keys allowed in a preset's `[generation]` table: the `generate()` arguments tarjama's
/// decoding understands, with transformers' names and meanings.
pub const GENERATION_KEYS: &[&str] = &[
    "num_beams",
    "max_length",
    "max_new_tokens",
    "min_length",
    "min_new_tokens",
    "length_penalty",
    "early_stopping",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "bad_words_ids",
    "renormalize_logits",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "decoder_start_token_id",
];

/// A named model preset (one `models/<name>.toml` file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// The preset's name, which is its file stem (`opus-mt-ar-en`); not written in the file.
    #[serde(skip)]
    pub name: String,
    /// One line saying what the model is and when to pick it.
    pub description: String,
    /// Hugging Face Hub repo id, `owner/name`.
    pub repo: String,
    /// Hub revision: a branch, tag or 40-character commit. `main` when absent.
    #[serde(default = "main_revision")]
    pub revision: String,
    /// Model family, the architecture code that runs it (`marian`; later `bart`, `t5`, `nllb`).
    pub family: String,
    /// What the model does (`translation`, `summarization`).
    pub task: String,
    /// Source language code (`ar`).
    pub source_lang: String,
    /// Target language code (`en`).
    pub target_lang: String,
    /// Licence of the weights, as an SPDX-style id from the model card (`cc-by-4.0`).
    pub license: String,
    /// Approximate number of parameters, for choosing between presets (not exact).
    pub approx_parameters: u64,
    /// Optional prompt template, a file name under `prompts/` (for instruction-style models).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Generation defaults that override the repo's `generation_config.json`, with
    /// transformers' key names (see [`GENERATION_KEYS`]); empty when the repo's own apply.
    #[serde(default)]
    pub generation: serde_json::Map<String, serde_json::Value>,
}

fn main_revision() -> String {
    "main".to_string()
}

impl Preset {
    /// Parses a preset from TOML text, naming it `name`, and checks its fields.
    pub fn from_toml(name: &str, text: &str) -> Result<Preset> {
        let mut preset: Preset = toml::from_str(text)
            .map_err(|e| Error::Config(format!("preset {name}: {}", one_line(&e.to_string()))))?;
        preset.name = name.to_string();
        preset.validate()?;
        Ok(preset)
    }

    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(format!("preset {}: {msg}", self.name)));
        if !super::is_repo_id(&self.repo) {
            return bad(format!(
                "repo {:?} is not a Hub repo id (owner/name)",
                self.repo
            ));
        }
        if !super::is_revision(&self.revision) {
            return bad(format!(
                "revision {:?} is not a valid revision",
                self.revision
            ));
        }
        if let Some(key) = self
            .generation
            .keys()
            .find(|k| !GENERATION_KEYS.contains(&k.as_str()))
        {
            return bad(format!(
                "unknown [generation] key {key:?} (known: {})",
                GENERATION_KEYS.join(", ")
            ));
        }
        Ok(())
    }
}

/// All presets shipped with tarjama, sorted by name.
pub fn presets() -> Vec<Preset> {
    EMBEDDED
        .iter()
        .map(|(name, text)| {
            // The embedded files are checked by the tests; a failure here is a build defect.
            Preset::from_toml(name, text).unwrap_or_else(|e| panic!("embedded {e}"))
        })
        .collect()
}

/// The preset called `name`, if tarjama ships one.
pub fn preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.name == name)
}

/// Names of all shipped presets, sorted.
pub fn preset_names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(name, _)| *name).collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_presets_parse_and_are_sorted() {
        let all = presets();
        assert_eq!(all.len(), EMBEDDED.len());
        let mut names: Vec<_> = all.iter().map(|p| p.name.clone()).collect();
        names.sort();
        assert_eq!(names, preset_names());
        assert!(preset(DEFAULT_TRANSLATOR).is_some());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let base = r#"description = "d"
repo = "a/b"
family = "marian"
task = "translation"
source_lang = "ar"
target_lang = "en"
license = "mit"
approx_parameters = 1
"#;
        let p = Preset::from_toml("x", base).unwrap();
        assert_eq!(p.revision, "main");
        assert!(p.generation.is_empty());

        let typo = format!("{base}lisence = \"mit\"\n");
        let err = Preset::from_toml("x", &typo).unwrap_err().to_string();
        assert!(err.starts_with("preset x: "), "{err}");
        assert!(!err.contains('\n'), "{err}");

        let gen = format!("{base}[generation]\nnum_beam = 4\n");
        let err = Preset::from_toml("x", &gen).unwrap_err().to_string();
        assert!(
            err.contains("unknown [generation] key \"num_beam\""),
            "{err}"
        );

        let gen = format!("{base}[generation]\nnum_beams = 4\nlength_penalty = 0.6\n");
        let p = Preset::from_toml("x", &gen).unwrap();
        assert_eq!(p.generation["num_beams"], serde_json::json!(4));
        assert_eq!(p.generation["length_penalty"], serde_json::json!(0.6));
    }
}
