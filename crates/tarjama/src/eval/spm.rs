//! spBLEU: BLEU over SentencePiece pieces, as sacrebleu's `--tokenize flores101|flores200`
//! (`sacrebleu.tokenizers.tokenizer_spm.TokenizerSPM`) computes it.
//!
//! sacrebleu downloads its model into `$SACREBLEU/models/` (`~/.sacrebleu/models/` by default)
//! on first use; tarjama never downloads: the model is a file the caller gives, and
//! [`Flores::sacrebleu_path`] and [`Flores::url`] say which file sacrebleu would use.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use crate::tokenize::spm::SentencePiece;
use crate::Result;

/// One of sacrebleu's SentencePiece BLEU tokenizers (its `SPM_MODELS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flores {
    /// `flores101`: the FLORES-101 model (`sacrebleu_tokenizer_spm.model`).
    Flores101,
    /// `flores200`: the FLORES-200 model (`flores200sacrebleuspm`).
    Flores200,
}

impl Flores {
    /// The name sacrebleu writes into the BLEU signature (`tok:flores200`).
    pub fn signature(self) -> &'static str {
        match self {
            Flores::Flores101 => "flores101",
            Flores::Flores200 => "flores200",
        }
    }

    /// Where sacrebleu downloads the model from (`SPM_MODELS[name]["url"]`).
    pub fn url(self) -> &'static str {
        match self {
            Flores::Flores101 => {
                "https://dl.fbaipublicfiles.com/fairseq/models/flores/sacrebleu_tokenizer_spm.model"
            }
            Flores::Flores200 => "https://tinyurl.com/flores200sacrebleuspm",
        }
    }

    /// Where sacrebleu keeps the model, relative to its data directory (`$SACREBLEU`, by
    /// default `~/.sacrebleu`): `models/` and the last part of [`Flores::url`].
    pub fn sacrebleu_path(self) -> String {
        let url = self.url();
        format!("models/{}", &url[url.rfind('/').map_or(0, |i| i + 1)..])
    }
}

impl FromStr for Flores {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "flores101" => Ok(Flores::Flores101),
            "flores200" => Ok(Flores::Flores200),
            other => Err(format!(
                "unknown SentencePiece BLEU tokenizer {other:?} (expected flores101 or flores200)"
            )),
        }
    }
}

/// A SentencePiece BLEU tokenizer: which of sacrebleu's it stands for (its signature) and
/// the model file given for it, loaded once and shared by clones.
#[derive(Clone)]
pub struct SpmTokenizer {
    flores: Flores,
    model: Arc<SentencePiece>,
}

impl SpmTokenizer {
    /// Loads the SentencePiece model at `path` (unigram or BPE) for `flores`. Errors name the
    /// file: unreadable, or not a SentencePiece model.
    pub fn load(flores: Flores, path: &Path) -> Result<Self> {
        Ok(SpmTokenizer {
            flores,
            model: Arc::new(SentencePiece::from_file(path)?),
        })
    }

    /// Which sacrebleu tokenizer this is.
    pub fn flores(&self) -> Flores {
        self.flores
    }

    /// `TokenizerSPM.__call__`: the line's pieces (`EncodeAsPieces`) joined by single spaces.
    pub fn tokenize(&self, line: &str) -> String {
        self.model.encode(line).join(" ")
    }
}

impl fmt::Debug for SpmTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpmTokenizer")
            .field("flores", &self.flores)
            .finish_non_exhaustive()
    }
}

/// Equal when they stand for the same sacrebleu tokenizer with the same loaded model.
impl PartialEq for SpmTokenizer {
    fn eq(&self, other: &Self) -> bool {
        self.flores == other.flores && Arc::ptr_eq(&self.model, &other.model)
    }
}

impl Eq for SpmTokenizer {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sacrebleu_model_paths() {
        assert_eq!(
            Flores::Flores101.sacrebleu_path(),
            "models/sacrebleu_tokenizer_spm.model"
        );
        assert_eq!(
            Flores::Flores200.sacrebleu_path(),
            "models/flores200sacrebleuspm"
        );
        assert_eq!("flores200".parse::<Flores>(), Ok(Flores::Flores200));
        assert!("spm".parse::<Flores>().is_err());
    }

    fn fixture(p: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(p)
    }

    #[test]
    fn unigram_and_bpe_models_give_space_joined_pieces() {
        for (flores, p) in [
            (Flores::Flores101, "marian-tiny/target.spm"),
            (Flores::Flores200, "nllb-tiny/sentencepiece.bpe.model"),
        ] {
            let t = SpmTokenizer::load(flores, &fixture(p)).unwrap();
            assert_eq!(t.flores(), flores);
            let out = t.tokenize("  hello   world ");
            assert!(
                out.starts_with('\u{2581}') && !out.contains("  "),
                "{p}: {out}"
            );
            assert_eq!(
                out.replace(' ', "").replace('\u{2581}', " ").trim(),
                "hello world"
            );
            assert_eq!(t.tokenize(""), "");
            assert_eq!(t, t.clone());
        }
    }

    #[test]
    fn a_file_that_is_not_a_model_is_an_error_naming_it() {
        let p = fixture("eval/goldens_options.json");
        let e = SpmTokenizer::load(Flores::Flores101, &p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("goldens_options.json") && e.contains("not a SentencePiece model"),
            "{e}"
        );
        let missing = fixture("no-such.model");
        let e = SpmTokenizer::load(Flores::Flores101, &missing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no-such.model"), "{e}");
    }
}
