//! Tokenizers, id for id and string for string equal to Hugging Face transformers'.
//!
//! Every tokenizer sits behind the [`Tokenizer`] trait; [`load`] builds the one a model's
//! [`TokenizerFiles`] describe (what [`crate::hub`] finds in its directory or repo):
//!
//! - [`HfTokenizer`]: a `tokenizer.json` run by the `tokenizers` library (BART, T5, mT5,
//!   Marian repos that ship one), or [`load_byte_level_bpe`]'s build of one from `vocab.json`
//!   and `merges.txt`; [`NllbTokenizer`] over NLLB's (`NllbTokenizerFast`).
//! - transformers' slow tokenizers, reimplemented: [`MarianTokenizer`] (opus-mt's
//!   `source.spm`, `target.spm`, `vocab.json`, with SentencePiece unigram in
//!   [`sentencepiece`]), [`T5Tokenizer`] (`spiece.model`) and [`M2m100Tokenizer`]
//!   (SentencePiece BPE in [`spm_bpe`], fairseq's `vocab.json`). They share one core
//!   (`special`: the vocabulary under the added and special tokens, splitting the input around
//!   them, decoding, the accessors; `PreTrainedTokenizer`'s part), each keeping only its own
//!   segmentation, special tokens around the ids and `convert_tokens_to_string`.
//!
//! The multilingual translators (NLLB, M2M100) add language codes ([`Languages`]).

mod bpe;
mod files;
mod hf;
pub mod languages;
mod m2m100;
mod marian;
mod nllb;
pub mod protobuf;
pub mod sentencepiece;
mod special;
pub mod spm;
pub mod spm_bpe;
mod t5;

use std::path::Path;

pub use bpe::load_byte_level_bpe;
pub use files::TokenizerFiles;
pub use hf::HfTokenizer;
pub use languages::{LanguageScheme, Languages};
pub use m2m100::M2m100Tokenizer;
pub use marian::MarianTokenizer;
pub use nllb::NllbTokenizer;
pub use t5::T5Tokenizer;

use crate::Result;

/// What the rest of tarjama needs from a tokenizer.
pub trait Tokenizer: Send + Sync {
    /// The model input ids of `text`: transformers' `tokenizer(text).input_ids`, with the
    /// special tokens the tokenizer adds (for Marian a trailing `</s>`).
    fn encode(&self, text: &str) -> Result<Vec<u32>>;

    /// The text of `ids`: transformers' `tokenizer.decode(ids, skip_special_tokens=...)` with
    /// that tokenizer's default `clean_up_tokenization_spaces`.
    fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.decode_with(ids, skip_special_tokens, None)
    }

    /// transformers' `tokenizer.decode(ids, skip_special_tokens=...,
    /// clean_up_tokenization_spaces=...)`: `Some(flag)` as passed there (the summarization
    /// pipeline passes `False`), `None` for the tokenizer's own default (`tokenizer_config.json`).
    fn decode_with(
        &self,
        ids: &[u32],
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: Option<bool>,
    ) -> Result<String>;

    /// How many ids [`Tokenizer::encode`] gives for `text` (special tokens included), for
    /// segment length limits. 0 where encoding fails.
    fn token_count(&self, text: &str) -> usize;

    /// The padding id.
    fn pad_id(&self) -> u32;

    /// The end-of-sequence id.
    fn eos_id(&self) -> u32;

    /// The unknown-token id, where the tokenizer has one.
    fn unk_id(&self) -> Option<u32>;

    /// The base vocabulary size, as transformers' `tokenizer.vocab_size` (added tokens not
    /// counted).
    fn vocab_size(&self) -> usize;

    /// The token of `id`, or `None` where the vocabulary has no such id.
    fn id_to_token(&self, id: u32) -> Option<String>;

    /// The id of the token `t`, or `None` where the vocabulary lacks it (no `<unk>` fallback).
    fn token_to_id(&self, t: &str) -> Option<u32>;

    /// The language codes of a multilingual tokenizer (NLLB, M2M100) and the source language
    /// it encodes now; `None` for tokenizers without language codes (Marian, BART, T5).
    fn languages(&self) -> Option<&Languages> {
        None
    }

    /// Sets the source language whose code [`Tokenizer::encode`] adds (`arb_Arab`, `ar`).
    /// Errors: an unknown code, or a tokenizer without language codes.
    fn set_source_language(&mut self, code: &str) -> Result<()> {
        Err(no_languages(code))
    }
}

/// The error for setting the source language `code` of a tokenizer without language codes.
fn no_languages(code: &str) -> crate::Error {
    crate::Error::Config(format!(
        "source language {code:?}: this tokenizer has no language codes"
    ))
}

/// Builds the tokenizer of `files`, with the repo's `tokenizer_config.json` where it has one
/// (it names the special tokens, may switch on `clean_up_tokenization_spaces`, and for T5 sets
/// `legacy`). A `tokenizer.json` of NLLB (see [`NllbTokenizer`]) becomes an
/// [`NllbTokenizer`].
///
/// Errors: a missing or malformed file, named.
pub fn load(files: &TokenizerFiles, tokenizer_config: Option<&Path>) -> Result<Box<dyn Tokenizer>> {
    Ok(match files {
        TokenizerFiles::TokenizerJson(tokenizer_json) => {
            let hf = HfTokenizer::from_files(tokenizer_json, tokenizer_config)?;
            if nllb::is_nllb(hf.inner(), tokenizer_config) {
                Box::new(NllbTokenizer::from_hf(
                    hf,
                    tokenizer_json,
                    tokenizer_config,
                )?)
            } else {
                Box::new(hf)
            }
        }
        TokenizerFiles::M2m100 {
            spm_model,
            vocab_json,
        } => Box::new(M2m100Tokenizer::from_files(
            spm_model,
            vocab_json,
            tokenizer_config,
        )?),
        TokenizerFiles::Marian {
            source_spm,
            target_spm,
            vocab_json,
        } => Box::new(MarianTokenizer::from_files(
            source_spm,
            target_spm,
            vocab_json,
            tokenizer_config,
        )?),
        TokenizerFiles::Bpe {
            vocab_json,
            merges_txt,
        } => Box::new(load_byte_level_bpe(
            vocab_json,
            merges_txt,
            tokenizer_config,
        )?),
        TokenizerFiles::Spiece(spiece_model) => {
            Box::new(T5Tokenizer::from_files(spiece_model, tokenizer_config)?)
        }
    })
}

/// transformers' `clean_up_tokenization`: removes spaces before punctuation and English
/// contractions.
pub(crate) fn clean_up_tokenization(s: &str) -> String {
    s.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}

/// Python's `str.isspace` for one character: Unicode White_Space plus the information
/// separators U+001C..U+001F.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// Python's `str.lstrip()`.
pub(crate) fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(py_space)
}

/// Python's `str.rstrip()`.
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_strip_matches_str_isspace() {
        assert_eq!(py_strip("\u{1f} a\u{3000}\u{a0}\n"), "a");
        // U+200B ZERO WIDTH SPACE is not whitespace in Python either.
        assert_eq!(py_strip("\u{200b}a"), "\u{200b}a");
        assert_eq!(clean_up_tokenization("a , b . I 'm"), "a, b. I'm");
    }

    #[test]
    fn tokenizers_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<MarianTokenizer>();
        check::<HfTokenizer>();
        check::<NllbTokenizer>();
        check::<M2m100Tokenizer>();
        check::<Box<dyn Tokenizer>>();
    }
}
