//! Tokenizers shipped as a `tokenizers` library `tokenizer.json` (BART, mBART, T5, NLLB, …),
//! used exactly as transformers' fast tokenizers use them.

use std::path::Path;

use serde_json::Value;

use super::special::token_content;
use super::{clean_up_tokenization, Tokenizer};
use crate::{Error, Result};

/// A `tokenizer.json` tokenizer: `encode` adds the post-processor's special tokens, as
/// `tokenizer(text).input_ids` does; `decode` is `tokenizer.decode(ids, skip_special_tokens)`,
/// with `clean_up_tokenization_spaces` applied when `tokenizer_config.json` asks for it.
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    pad_id: u32,
    eos_id: u32,
    unk_id: Option<u32>,
    clean_up_spaces: bool,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("vocab_size", &self.inner.get_vocab_size(false))
            .field("pad_id", &self.pad_id)
            .field("eos_id", &self.eos_id)
            .field("unk_id", &self.unk_id)
            .field("clean_up_spaces", &self.clean_up_spaces)
            .finish()
    }
}

/// transformers calls the tokenizer with truncation and padding switched off unless asked
/// for them, whatever `tokenizer.json` says; so do we.
fn plain(inner: &mut tokenizers::Tokenizer) {
    // Switching truncation off cannot fail (only a too-large stride is rejected).
    let _ = inner.with_truncation(None);
    inner.with_padding(None);
}

impl HfTokenizer {
    /// Loads `tokenizer.json` and, when given, `tokenizer_config.json`, which names the
    /// `eos_token`, `pad_token` and `unk_token` and may set `clean_up_tokenization_spaces`.
    /// Without a config (or where it names none) the usual spellings are looked up:
    /// `</s>` / `<|endoftext|>` / `[SEP]` for end of sequence, `<pad>` / `[PAD]` or the
    /// padding settings of `tokenizer.json` for padding, `<unk>` / `[UNK]` for unknown.
    /// It is an error when no end-of-sequence or padding token can be found; build with
    /// [`HfTokenizer::from_tokenizer`] to give the ids explicitly.
    pub fn from_files(tokenizer_json: &Path, tokenizer_config: Option<&Path>) -> Result<Self> {
        let mut inner = tokenizers::Tokenizer::from_file(tokenizer_json).map_err(|e| {
            if !tokenizer_json.exists() {
                Error::io(
                    tokenizer_json,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                )
            } else {
                Error::Tokenizer(format!(
                    "{}: not a usable tokenizer.json: {e}",
                    tokenizer_json.display()
                ))
            }
        })?;
        let config = match tokenizer_config {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?;
                let v: Value = serde_json::from_str(&text)
                    .map_err(|e| Error::Tokenizer(format!("{}: invalid JSON: {e}", p.display())))?;
                Some(v)
            }
            None => None,
        };
        let named = |key: &str| -> Option<u32> {
            let c = token_content(config.as_ref()?.get(key)?)?;
            inner.token_to_id(c)
        };
        let first_known = |names: &[&str]| names.iter().find_map(|n| inner.token_to_id(n));
        let eos_id = named("eos_token")
            .or_else(|| first_known(&["</s>", "<|endoftext|>", "[SEP]", "<eos>"]))
            .ok_or_else(|| {
                Error::Tokenizer(format!(
                    "{}: no end-of-sequence token found (looked for eos_token in \
                     tokenizer_config.json, </s>, <|endoftext|>, [SEP], <eos>)",
                    tokenizer_json.display()
                ))
            })?;
        let pad_id = named("pad_token")
            .or_else(|| first_known(&["<pad>", "[PAD]"]))
            .or_else(|| inner.get_padding().map(|p| p.pad_id))
            .ok_or_else(|| {
                Error::Tokenizer(format!(
                    "{}: no padding token found (looked for pad_token in \
                     tokenizer_config.json, <pad>, [PAD], padding settings)",
                    tokenizer_json.display()
                ))
            })?;
        let unk_id = named("unk_token").or_else(|| first_known(&["<unk>", "[UNK]"]));
        let clean_up_spaces = config
            .as_ref()
            .and_then(|c| c.get("clean_up_tokenization_spaces"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        plain(&mut inner);
        Ok(HfTokenizer {
            inner,
            pad_id,
            eos_id,
            unk_id,
            clean_up_spaces,
        })
    }

    /// Wraps an already built `tokenizers::Tokenizer` with explicit special ids (its
    /// truncation and padding settings are switched off).
    pub fn from_tokenizer(
        mut inner: tokenizers::Tokenizer,
        pad_id: u32,
        eos_id: u32,
        unk_id: Option<u32>,
        clean_up_tokenization_spaces: bool,
    ) -> Self {
        plain(&mut inner);
        HfTokenizer {
            inner,
            pad_id,
            eos_id,
            unk_id,
            clean_up_spaces: clean_up_tokenization_spaces,
        }
    }

    /// The wrapped `tokenizers::Tokenizer`.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

impl Tokenizer for HfTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(format!("encoding failed: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    fn decode_with(
        &self,
        ids: &[u32],
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: Option<bool>,
    ) -> Result<String> {
        let text = self
            .inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| Error::Tokenizer(format!("decoding failed: {e}")))?;
        Ok(
            if clean_up_tokenization_spaces.unwrap_or(self.clean_up_spaces) {
                clean_up_tokenization(&text)
            } else {
                text
            },
        )
    }

    fn token_count(&self, text: &str) -> usize {
        self.inner
            .encode(text, true)
            .map(|e| e.get_ids().len())
            .unwrap_or(0)
    }

    fn pad_id(&self) -> u32 {
        self.pad_id
    }

    fn eos_id(&self) -> u32 {
        self.eos_id
    }

    fn unk_id(&self) -> Option<u32> {
        self.unk_id
    }

    fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(false)
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    fn token_to_id(&self, t: &str) -> Option<u32> {
        self.inner.token_to_id(t)
    }
}
