//! Generation settings with transformers' `GenerationConfig` meaning and defaults.

use std::path::Path;
use std::str::FromStr;

use serde_json::Value;

use crate::error::{Error, Result};

/// `early_stopping`: when beam search stops (transformers' three values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EarlyStopping {
    /// `True`: stop as soon as `num_beams` finished hypotheses exist.
    True,
    /// `False` (the default): stop when a heuristic says no running beam can beat the worst
    /// finished one at the current length.
    #[default]
    False,
    /// `"never"`: the canonical rule; with a positive length penalty the best possible score is
    /// estimated at `max_length`.
    Never,
}

impl FromStr for EarlyStopping {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "true" => Ok(EarlyStopping::True),
            "false" => Ok(EarlyStopping::False),
            "never" => Ok(EarlyStopping::Never),
            _ => Err(Error::Config(format!(
                "early stopping must be true, false or never, not {s:?}"
            ))),
        }
    }
}

/// Decoding settings. Every field means what the same-named transformers `generate()` argument
/// means; defaults are transformers' (`GenerationConfig()`), then the model's
/// `generation_config.json` (or, without one, the generation fields of `config.json`), then flags.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenerationConfig {
    /// Longest output in tokens, counting the decoder start token. Default 20 (which, when the
    /// user did not set it, transformers turns into 20 new tokens: see [`Self::max_length_set`]).
    pub max_length: usize,
    /// Whether `max_length` was passed explicitly (a flag: transformers' `generate(max_length=..)`).
    /// When not, and it is 20 (the default), the limit becomes 20 new tokens capped by the
    /// position table, as transformers does.
    pub max_length_set: bool,
    /// New tokens to generate at most, not counting the decoder start token; overrides
    /// `max_length` when set.
    pub max_new_tokens: Option<usize>,
    /// Shortest output in tokens, counting the decoder start token (EOS is banned before).
    pub min_length: usize,
    /// Shortest output in new tokens; overrides `min_length` when set.
    pub min_new_tokens: Option<usize>,
    /// Beam width; 1 is greedy search.
    pub num_beams: usize,
    /// Hypotheses returned per input (at most `num_beams`).
    pub num_return_sequences: usize,
    /// Exponent of the length in beam scores: `sum_logprobs / len^length_penalty`.
    pub length_penalty: f32,
    /// Beam-search stopping rule.
    pub early_stopping: EarlyStopping,
    /// No n-gram of this size may occur twice (0 = off).
    pub no_repeat_ngram_size: usize,
    /// Penalty (>1 discourages) on tokens already in the output (1.0 = off; CTRL paper).
    pub repetition_penalty: f32,
    /// Token sequences that may not be generated (opus-mt bans `[[pad]]`).
    pub bad_words_ids: Vec<Vec<u32>>,
    /// Take a log-softmax again after all logits processors.
    pub renormalize_logits: bool,
    /// Token forced at the last position the length limit allows.
    pub forced_eos_token_id: Option<u32>,
    /// Token forced as the first generated token.
    pub forced_bos_token_id: Option<u32>,
    /// The token the decoder starts from.
    pub decoder_start_token_id: u32,
    /// End-of-sequence ids.
    pub eos_token_ids: Vec<u32>,
    /// Padding id (fills finished greedy rows, as transformers does).
    pub pad_token_id: u32,
    /// Size of the position table (caps the default length limit), if known.
    pub max_position_embeddings: Option<usize>,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        Self {
            max_length: 20,
            max_length_set: false,
            max_new_tokens: None,
            min_length: 0,
            min_new_tokens: None,
            num_beams: 1,
            num_return_sequences: 1,
            length_penalty: 1.0,
            early_stopping: EarlyStopping::False,
            no_repeat_ngram_size: 0,
            repetition_penalty: 1.0,
            bad_words_ids: Vec::new(),
            renormalize_logits: false,
            forced_eos_token_id: None,
            forced_bos_token_id: None,
            decoder_start_token_id: 0,
            eos_token_ids: Vec::new(),
            pad_token_id: 0,
            max_position_embeddings: None,
        }
    }
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::input(path, format!("invalid JSON: {e}")))
}

/// Fills in what transformers' config classes set when `config.json` does not say:
/// `forced_eos_token_id` (2 for `BartConfig`/`MBartConfig`, 0 for `MarianConfig`) and BART's
/// legacy `force_bos_token_to_be_generated` (forced BOS = `bos_token_id`). These reach
/// `generate()` through `GenerationConfig.from_model_config` when a repo has no
/// `generation_config.json` (e.g. sshleifer/distilbart-cnn-12-6).
fn apply_config_class_defaults(model: &mut Value) {
    let Some(obj) = model.as_object_mut() else {
        return;
    };
    let model_type = obj
        .get("model_type")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let forced_eos = match model_type.as_str() {
        "bart" | "mbart" => Some(2),
        "marian" => Some(0),
        _ => None,
    };
    if let Some(id) = forced_eos {
        obj.entry("forced_eos_token_id").or_insert(Value::from(id));
    }
    if model_type == "bart"
        && obj.get("forced_bos_token_id").is_none_or(Value::is_null)
        && obj.get("force_bos_token_to_be_generated") == Some(&Value::Bool(true))
    {
        if let Some(bos) = obj.get("bos_token_id").cloned() {
            obj.insert("forced_bos_token_id".into(), bos);
        }
    }
}

/// Checks the type of every generation key a JSON object has (`null` means unset), so a
/// malformed value such as `"num_beams": "four"` is an error rather than silently ignored.
/// Other keys are not looked at.
///
/// Errors: a message naming the key, its value and what it should be.
fn check_json(v: &Value) -> std::result::Result<(), String> {
    const COUNTS: &[&str] = &[
        "max_length",
        "max_new_tokens",
        "min_length",
        "min_new_tokens",
        "num_beams",
        "num_return_sequences",
        "no_repeat_ngram_size",
    ];
    const NUMBERS: &[&str] = &["length_penalty", "repetition_penalty"];
    const FLAGS: &[&str] = &["renormalize_logits"];
    // Token ids: an integer, or (as transformers allows) a list of them.
    const IDS: &[&str] = &[
        "eos_token_id",
        "pad_token_id",
        "bos_token_id",
        "decoder_start_token_id",
        "forced_bos_token_id",
        "forced_eos_token_id",
    ];
    let Some(obj) = v.as_object() else {
        return Err("expected a JSON object".into());
    };
    let is_count = |x: &Value| x.as_u64().is_some();
    let is_ids = |x: &Value| ids(x).is_some_and(|l| !l.is_empty());
    for (key, x) in obj {
        if x.is_null() {
            continue;
        }
        let k = key.as_str();
        let expected = if COUNTS.contains(&k) {
            (!is_count(x)).then_some("a non-negative integer")
        } else if NUMBERS.contains(&k) {
            (!x.is_number()).then_some("a number")
        } else if FLAGS.contains(&k) {
            (!x.is_boolean()).then_some("true or false")
        } else if IDS.contains(&k) {
            (!is_ids(x)).then_some("a token id (a non-negative integer) or a list of them")
        } else if k == "early_stopping" {
            (!(x.is_boolean() || x.as_str() == Some("never"))).then_some("true, false or \"never\"")
        } else if k == "bad_words_ids" {
            let ok = x
                .as_array()
                .is_some_and(|a| a.iter().all(|s| s.as_array().is_some_and(|_| is_ids(s))));
            (!ok).then_some("a list of lists of token ids")
        } else {
            None
        };
        if let Some(expected) = expected {
            return Err(format!("{key} must be {expected}, not {x}"));
        }
    }
    Ok(())
}

fn ids(v: &Value) -> Option<Vec<u32>> {
    match v {
        Value::Number(n) => n.as_u64().map(|x| vec![x as u32]),
        Value::Array(a) => a.iter().map(|x| x.as_u64().map(|x| x as u32)).collect(),
        _ => None,
    }
}

impl GenerationConfig {
    /// Builds the model's default settings the way transformers does: from
    /// `generation_config.json` when the model has one, otherwise from the generation fields
    /// of `config.json`; token ids missing there are taken from `config.json`.
    ///
    /// Errors: unreadable or malformed JSON (naming the file), or no usable EOS / decoder start id.
    pub fn from_files(config_json: &Path, generation_config_json: Option<&Path>) -> Result<Self> {
        let mut model = read_json(config_json)?;
        apply_config_class_defaults(&mut model);
        let (gen, gen_path) = match generation_config_json {
            Some(p) => (read_json(p)?, p),
            None => (model.clone(), config_json),
        };
        check_json(&gen).map_err(|msg| Error::input(gen_path, msg))?;
        let mut cfg = GenerationConfig::default();
        cfg.apply_json(&gen);
        let get = |k: &str| {
            gen.get(k)
                .filter(|v| !v.is_null())
                .or_else(|| model.get(k).filter(|v| !v.is_null()))
        };
        cfg.eos_token_ids = get("eos_token_id").and_then(ids).ok_or_else(|| {
            Error::input(
                config_json,
                "no eos_token_id in config.json or generation_config.json",
            )
        })?;
        cfg.pad_token_id = get("pad_token_id")
            .and_then(|v| v.as_u64())
            .map(|x| x as u32)
            .unwrap_or(cfg.eos_token_ids[0]);
        cfg.decoder_start_token_id = get("decoder_start_token_id")
            .or_else(|| get("bos_token_id"))
            .and_then(|v| v.as_u64())
            .map(|x| x as u32)
            .ok_or_else(|| {
                Error::input(config_json, "no decoder_start_token_id or bos_token_id")
            })?;
        cfg.forced_eos_token_id = get("forced_eos_token_id")
            .and_then(|v| v.as_u64())
            .map(|x| x as u32);
        cfg.forced_bos_token_id = get("forced_bos_token_id")
            .and_then(|v| v.as_u64())
            .map(|x| x as u32);
        cfg.max_position_embeddings = model
            .get("max_position_embeddings")
            .and_then(|v| v.as_u64())
            .map(|x| x as usize);
        Ok(cfg)
    }

    /// Applies the generation keys present in a JSON object (a generation config, a preset's
    /// `[generation]` table as JSON, or `task_specific_params` entry). Unknown keys are ignored.
    pub fn apply_json(&mut self, v: &Value) {
        let u = |k: &str| v.get(k).and_then(|x| x.as_u64()).map(|x| x as usize);
        let f = |k: &str| v.get(k).and_then(|x| x.as_f64()).map(|x| x as f32);
        if let Some(x) = u("max_length") {
            self.max_length = x;
        }
        if let Some(x) = u("max_new_tokens") {
            self.max_new_tokens = Some(x);
        }
        if let Some(x) = u("min_length") {
            self.min_length = x;
        }
        if let Some(x) = u("min_new_tokens") {
            self.min_new_tokens = Some(x);
        }
        if let Some(x) = u("num_beams") {
            self.num_beams = x;
        }
        if let Some(x) = u("num_return_sequences") {
            self.num_return_sequences = x;
        }
        if let Some(x) = f("length_penalty") {
            self.length_penalty = x;
        }
        match v.get("early_stopping") {
            Some(Value::Bool(true)) => self.early_stopping = EarlyStopping::True,
            Some(Value::Bool(false)) => self.early_stopping = EarlyStopping::False,
            Some(Value::String(s)) if s == "never" => self.early_stopping = EarlyStopping::Never,
            _ => {}
        }
        if let Some(x) = u("no_repeat_ngram_size") {
            self.no_repeat_ngram_size = x;
        }
        if let Some(x) = f("repetition_penalty") {
            self.repetition_penalty = x;
        }
        if let Some(Value::Array(a)) = v.get("bad_words_ids") {
            self.bad_words_ids = a.iter().filter_map(ids).collect();
        }
        if let Some(Value::Bool(b)) = v.get("renormalize_logits") {
            self.renormalize_logits = *b;
        }
        let id = |k: &str| v.get(k).and_then(|x| x.as_u64()).map(|x| x as u32);
        if let Some(x) = id("forced_bos_token_id") {
            self.forced_bos_token_id = Some(x);
        }
        if let Some(x) = id("forced_eos_token_id") {
            self.forced_eos_token_id = Some(x);
        }
        if let Some(x) = id("decoder_start_token_id") {
            self.decoder_start_token_id = x;
        }
    }

    /// The length limit in tokens counting the decoder start token, as transformers'
    /// `_prepare_generated_length` computes it.
    pub fn effective_max_length(&self) -> usize {
        if let Some(n) = self.max_new_tokens {
            return n + 1;
        }
        if !self.max_length_set && self.max_length == 20 {
            let l = self.max_length + 1;
            return match self.max_position_embeddings {
                Some(p) => l.min(p),
                None => l,
            };
        }
        self.max_length
    }

    /// The minimum length counting the decoder start token (`min_new_tokens` wins when set).
    pub fn effective_min_length(&self) -> usize {
        match self.min_new_tokens {
            Some(n) => n + 1,
            None => self.min_length,
        }
    }

    /// Checks the settings a search relies on.
    ///
    /// Errors: `num_beams` 0, `num_return_sequences` 0 or above `num_beams`, a length limit
    /// below 2 (no room for one new token), no EOS id, or a repetition penalty ≤ 0.
    pub fn validate(&self) -> Result<()> {
        if self.num_beams == 0 {
            return Err(Error::Config("num_beams must be at least 1".into()));
        }
        if self.num_return_sequences == 0 || self.num_return_sequences > self.num_beams {
            return Err(Error::Config(format!(
                "num_return_sequences ({}) must be between 1 and num_beams ({})",
                self.num_return_sequences, self.num_beams
            )));
        }
        if self.effective_max_length() < 2 {
            return Err(Error::Config(
                "the length limit leaves no room for a new token (max_length counts the decoder start token)"
                    .into(),
            ));
        }
        if self.eos_token_ids.is_empty() {
            return Err(Error::Config("no eos_token_id".into()));
        }
        if self.repetition_penalty <= 0.0 {
            return Err(Error::Config("repetition_penalty must be positive".into()));
        }
        Ok(())
    }
}

/// Settings a user gives on the command line; each `Some` replaces the model's default.
/// Field names and meanings are transformers' `generate()` arguments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationOverrides {
    /// `num_beams`.
    pub num_beams: Option<usize>,
    /// `max_length` (counts the decoder start token).
    pub max_length: Option<usize>,
    /// `max_new_tokens`.
    pub max_new_tokens: Option<usize>,
    /// `min_length` (counts the decoder start token).
    pub min_length: Option<usize>,
    /// `min_new_tokens`.
    pub min_new_tokens: Option<usize>,
    /// `length_penalty`.
    pub length_penalty: Option<f32>,
    /// `no_repeat_ngram_size`.
    pub no_repeat_ngram_size: Option<usize>,
    /// `repetition_penalty`.
    pub repetition_penalty: Option<f32>,
    /// `early_stopping`.
    pub early_stopping: Option<EarlyStopping>,
}

impl GenerationOverrides {
    /// Writes every given setting into `cfg`. An explicit `max_length` is taken literally
    /// (no default-length adjustment), as when passed to `generate()`, and replaces a
    /// `max_new_tokens` that came from the defaults (the summarization pipeline's 256), which
    /// would otherwise win over it; `max_new_tokens`, when also given, still wins.
    pub fn apply(&self, cfg: &mut GenerationConfig) {
        if let Some(x) = self.num_beams {
            cfg.num_beams = x;
        }
        if let Some(x) = self.max_length {
            cfg.max_length = x;
            cfg.max_length_set = true;
            cfg.max_new_tokens = None;
        }
        if let Some(x) = self.max_new_tokens {
            cfg.max_new_tokens = Some(x);
        }
        if let Some(x) = self.min_length {
            cfg.min_length = x;
        }
        if let Some(x) = self.min_new_tokens {
            cfg.min_new_tokens = Some(x);
        }
        if let Some(x) = self.length_penalty {
            cfg.length_penalty = x;
        }
        if let Some(x) = self.no_repeat_ngram_size {
            cfg.no_repeat_ngram_size = x;
        }
        if let Some(x) = self.repetition_penalty {
            cfg.repetition_penalty = x;
        }
        if let Some(x) = self.early_stopping {
            cfg.early_stopping = x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_config(json: &str) -> GenerationConfig {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(&p, json).unwrap();
        GenerationConfig::from_files(&p, None).unwrap()
    }

    #[test]
    fn generation_values_of_the_wrong_type_are_errors_and_other_keys_are_not_checked() {
        // Real-world shapes: distilbart-cnn's config.json (no generation_config.json), with
        // nulls, floats, a boolean early_stopping and keys tarjama does not know.
        let ok = serde_json::json!({
            "model_type": "bart", "eos_token_id": 2, "pad_token_id": 1, "bos_token_id": 0,
            "decoder_start_token_id": 2, "forced_bos_token_id": null, "forced_eos_token_id": [2],
            "early_stopping": true, "length_penalty": 2.0, "repetition_penalty": 1,
            "max_length": 142, "min_length": 56, "no_repeat_ngram_size": 3, "num_beams": 4,
            "max_new_tokens": null, "bad_words_ids": [[58100], [1, 2]],
            "renormalize_logits": false, "transformers_version": "4.57.6",
            "task_specific_params": {"summarization": {"num_beams": "x"}},
            "id2label": {"0": "LABEL_0"}, "cache_implementation": "static"
        });
        assert_eq!(check_json(&ok), Ok(()));
        assert_eq!(
            check_json(&serde_json::json!({"early_stopping": "never"})),
            Ok(())
        );
        for (bad, key) in [
            (serde_json::json!({"num_beams": "four"}), "num_beams"),
            (serde_json::json!({"num_beams": 4.5}), "num_beams"),
            (serde_json::json!({"max_new_tokens": -1}), "max_new_tokens"),
            (serde_json::json!({"length_penalty": "2"}), "length_penalty"),
            (
                serde_json::json!({"early_stopping": "yes"}),
                "early_stopping",
            ),
            (
                serde_json::json!({"renormalize_logits": 1}),
                "renormalize_logits",
            ),
            (
                serde_json::json!({"bad_words_ids": [1, 2]}),
                "bad_words_ids",
            ),
            (
                serde_json::json!({"eos_token_id": [1, "x"]}),
                "eos_token_id",
            ),
        ] {
            let msg = check_json(&bad).unwrap_err();
            assert!(msg.starts_with(&format!("{key} must be ")), "{msg}");
        }
        assert!(check_json(&serde_json::json!([1])).is_err());
    }

    #[test]
    fn malformed_generation_config_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, r#"{"eos_token_id":0,"decoder_start_token_id":1}"#).unwrap();
        let gen = dir.path().join("generation_config.json");
        std::fs::write(&gen, r#"{"num_beams":"four"}"#).unwrap();
        let msg = GenerationConfig::from_files(&config, Some(&gen))
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            format!(
                "{}: num_beams must be a non-negative integer, not \"four\"",
                gen.display()
            )
        );
    }

    #[test]
    fn an_explicit_max_length_replaces_a_default_max_new_tokens() {
        let mut cfg = GenerationConfig {
            max_new_tokens: Some(256),
            ..GenerationConfig::default()
        };
        GenerationOverrides {
            max_length: Some(40),
            ..Default::default()
        }
        .apply(&mut cfg);
        assert_eq!(cfg.effective_max_length(), 40);
        GenerationOverrides {
            max_length: Some(40),
            max_new_tokens: Some(10),
            ..Default::default()
        }
        .apply(&mut cfg);
        assert_eq!(cfg.effective_max_length(), 11);
    }

    #[test]
    fn config_class_defaults_apply_without_generation_config() {
        // distilbart-cnn-12-6 style: no forced_eos_token_id in config.json, BartConfig's is 2.
        let c = from_config(
            r#"{"model_type":"bart","eos_token_id":2,"pad_token_id":1,"bos_token_id":0,
                "decoder_start_token_id":2,"num_beams":4,"max_length":142}"#,
        );
        assert_eq!(c.forced_eos_token_id, Some(2));
        assert_eq!(c.forced_bos_token_id, None);
        assert_eq!(c.num_beams, 4);
        assert_eq!(c.effective_max_length(), 142);
        // The legacy flag turns on forced BOS.
        let c = from_config(
            r#"{"model_type":"bart","eos_token_id":2,"pad_token_id":1,"bos_token_id":0,
                "decoder_start_token_id":2,"force_bos_token_to_be_generated":true}"#,
        );
        assert_eq!(c.forced_bos_token_id, Some(0));
        // An explicit null stays unset; T5 has no class default.
        let c = from_config(
            r#"{"model_type":"t5","eos_token_id":1,"pad_token_id":0,"decoder_start_token_id":0}"#,
        );
        assert_eq!(c.forced_eos_token_id, None);
        // Default max_length 20 means 20 new tokens (21 with the start token).
        assert_eq!(c.effective_max_length(), 21);
    }
}
