//! transformers' `MarianTokenizer` (a slow, SentencePiece-based tokenizer) in Rust.
//!
//! What `MarianTokenizer` does, and so what this does (transformers 4.57,
//! `tokenization_marian.py` and the slow-tokenizer base in `tokenization_utils.py`):
//!
//! * Encoding: the text is first split on the added tokens (`</s>`, `<unk>`, `<pad>` and any
//!   additional special tokens), leftmost-longest; each remaining chunk is tokenized on its own:
//!   a leading language code `>>xx<<` is cut off and kept as one token, the rest is segmented by
//!   `source.spm` (SentencePiece normalization, whitespace rules, `▁`, unigram Viterbi, runs of
//!   unknown characters merged into one piece). Pieces become ids through `vocab.json`; pieces
//!   it lacks become `<unk>`. `</s>` is appended. The sacremoses punctuation normalizer that
//!   `MarianTokenizer` sets up is never applied when encoding (only its unused `normalize`
//!   method calls it), so it is not applied here either.
//! * Decoding: ids become tokens through the reversed `vocab.json` (unknown ids → `<unk>`);
//!   with `skip_special_tokens` the special ids and tokens are dropped. Runs of ordinary tokens
//!   are decoded with `target.spm` semantics: pieces concatenated, the first piece's `▁`
//!   dropped, `▁` → space; pieces `target.spm` does not know (the source half of the joint
//!   vocabulary) come out as they are; `target.spm`'s own unknown piece decodes as ` ⁇ `.
//!   Special tokens are written verbatim followed by a space, the result has every `▁` turned
//!   into a space and is stripped. `clean_up_tokenization_spaces` is off unless
//!   `tokenizer_config.json` turns it on.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::files::{load_config, parse_vocab, read_model_proto, tok_err};
use super::py_strip;
use super::sentencepiece::{SentencePieceModel, SPACE_SYMBOL};
use super::special::{
    additional_special_tokens, dedup_tokens, legacy_added, saved_added_tokens, split_tokens,
    AddedTok, JsonVocab, SlowTokenizer, Vocab,
};
use crate::{Error, Result};

/// transformers' `MarianTokenizer`, built directly from the files opus-mt repos ship.
#[derive(Debug, Clone)]
pub struct MarianTokenizer {
    source: SentencePieceModel,
    target: SentencePieceModel,
    /// `vocab.json` under the added and special tokens.
    vocab: Vocab<JsonVocab>,
}

fn load_spm(path: &Path) -> Result<SentencePieceModel> {
    SentencePieceModel::from_proto(read_model_proto(path)?)
        .map_err(|e| tok_err(path, format!("not a usable SentencePiece model: {e}")))
}

impl MarianTokenizer {
    /// Loads `source.spm`, `target.spm`, `vocab.json` and, when given, `tokenizer_config.json`
    /// (special-token overrides, `added_tokens_decoder`, `clean_up_tokenization_spaces`).
    ///
    /// Errors name the offending file: unreadable, not a SentencePiece model, not a JSON object
    /// of token → id, or a vocabulary without `<unk>` / `<pad>` (which `MarianTokenizer`
    /// rejects too). Repos with `separate_vocabs: true` (a `target_vocab.json`) are refused.
    pub fn from_files(
        source_spm: &Path,
        target_spm: &Path,
        vocab_json: &Path,
        tokenizer_config: Option<&Path>,
    ) -> Result<Self> {
        let source = load_spm(source_spm)?;
        let target = load_spm(target_spm)?;
        let encoder = parse_vocab(vocab_json)?;
        let config = match tokenizer_config {
            Some(p) => load_config(p)?.map(|o| (p.to_path_buf(), o)),
            None => None,
        };
        Self::build(source, target, encoder, vocab_json, config)
    }

    fn build(
        source: SentencePieceModel,
        target: SentencePieceModel,
        encoder: HashMap<String, u32>,
        vocab_path: &Path,
        config: Option<(PathBuf, serde_json::Map<String, Value>)>,
    ) -> Result<Self> {
        let empty = serde_json::Map::new();
        let (config_path, cfg) = match &config {
            Some((p, c)) => (Some(p.as_path()), c),
            None => (None, &empty),
        };
        let cfg_err = |msg: String| match config_path {
            Some(p) => tok_err(p, msg),
            None => Error::Tokenizer(msg),
        };
        if cfg.get("separate_vocabs").and_then(Value::as_bool) == Some(true) {
            return Err(cfg_err(
                "separate_vocabs (a target_vocab.json) is not supported".into(),
            ));
        }
        let token = |key: &str, default: Option<&str>| -> Result<Option<AddedTok>> {
            match cfg.get(key) {
                None => Ok(default.map(AddedTok::plain)),
                Some(Value::Null) => Ok(None),
                Some(v) => AddedTok::from_json(v)
                    .map(Some)
                    .ok_or_else(|| cfg_err(format!("{key}: expected a string or AddedToken"))),
            }
        };
        let unk = token("unk_token", Some("<unk>"))?
            .ok_or_else(|| cfg_err("unk_token must not be null".into()))?;
        let eos = token("eos_token", Some("</s>"))?
            .ok_or_else(|| cfg_err("eos_token must not be null".into()))?;
        let pad = token("pad_token", Some("<pad>"))?
            .ok_or_else(|| cfg_err("pad_token must not be null".into()))?;
        if !encoder.contains_key(&unk.content) {
            return Err(tok_err(
                vocab_path,
                format!("{:?} token must be in the vocab", unk.content),
            ));
        }
        if !encoder.contains_key(&pad.content) {
            return Err(tok_err(
                vocab_path,
                format!("{:?} token must be in the vocab", pad.content),
            ));
        }
        // transformers' SPECIAL_TOKENS_ATTRIBUTES order.
        let mut specials: Vec<AddedTok> = Vec::new();
        for tok in [
            token("bos_token", None)?,
            Some(eos.clone()),
            Some(unk.clone()),
            token("sep_token", None)?,
            Some(pad.clone()),
            token("cls_token", None)?,
            token("mask_token", None)?,
        ]
        .into_iter()
        .flatten()
        {
            specials.push(tok);
        }
        let additional = additional_special_tokens(cfg, cfg_err)?.unwrap_or_default();
        specials.extend(additional.iter().cloned());
        dedup_tokens(&mut specials);

        // Added tokens: those saved in the config first, then the special tokens.
        let mut added_decoder = saved_added_tokens(cfg, cfg_err)?;
        let mut added_encoder: HashMap<String, u32> = added_decoder
            .iter()
            .map(|(id, t)| (t.content.clone(), *id))
            .collect();
        let mut current: HashSet<&str> = encoder.keys().map(String::as_str).collect();
        current.extend(added_encoder.keys().map(String::as_str));
        let new_idx = current.len() as u32;
        let mut n_new = 0;
        let mut to_add = Vec::new();
        for t in &specials {
            if added_encoder.contains_key(&t.content) {
                continue;
            }
            let id = match added_encoder
                .get(&t.content)
                .or_else(|| encoder.get(&t.content))
            {
                Some(&id) => id,
                None => {
                    n_new += 1;
                    new_idx + n_new - 1
                }
            };
            to_add.push((id, t.clone()));
            added_encoder.insert(t.content.clone(), id);
        }
        for (id, t) in to_add {
            added_decoder.insert(id, t);
        }
        added_encoder = added_decoder
            .iter()
            .map(|(id, t)| (t.content.clone(), *id))
            .collect();

        let to_id = |t: &str| -> u32 {
            added_encoder
                .get(t)
                .or_else(|| encoder.get(t))
                .copied()
                .unwrap_or(encoder[&unk.content])
        };
        let special_tokens: HashSet<String> = specials.iter().map(|t| t.content.clone()).collect();
        let special_ids: HashSet<u32> = special_tokens.iter().map(|t| to_id(t)).collect();
        let legacy_added = legacy_added(
            &added_encoder,
            &special_tokens,
            &additional,
            to_id,
            encoder.len(),
        );
        let split_tokens = split_tokens(added_encoder.keys());

        let clean_up_spaces = cfg
            .get("clean_up_tokenization_spaces")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let split_special_tokens = cfg
            .get("split_special_tokens")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let (unk_id, eos_id, pad_id) = (
            to_id(&unk.content),
            to_id(&eos.content),
            to_id(&pad.content),
        );
        Ok(MarianTokenizer {
            source,
            target,
            vocab: Vocab {
                base: JsonVocab::new(encoder),
                added_encoder,
                added_decoder,
                split_tokens,
                special_tokens,
                special_ids,
                legacy_added,
                unk_token: unk.content,
                unk_id,
                eos_id,
                pad_id,
                clean_up_spaces,
                split_special_tokens,
            },
        })
    }

    /// The tokens (pieces, language codes and added tokens) of `text`, before the id lookup and
    /// without the trailing `</s>`: `MarianTokenizer.tokenize(text)`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        self.vocab.tokenize(text, |chunk| {
            let (code, rest) = remove_language_code(chunk);
            let mut pieces: Vec<String> = code.map(str::to_string).into_iter().collect();
            pieces.extend(self.source.encode(rest));
            pieces
        })
    }

    /// `MarianTokenizer.convert_tokens_to_string` with the target model.
    fn target_tokens_to_string(&self, tokens: &[String]) -> String {
        let mut out = String::new();
        let mut current: Vec<&str> = Vec::new();
        for t in tokens {
            if self.vocab.special_tokens.contains(t) {
                out.push_str(&self.target.decode_pieces(&current));
                out.push_str(t);
                out.push(' ');
                current.clear();
            } else {
                current.push(t);
            }
        }
        out.push_str(&self.target.decode_pieces(&current));
        py_strip(&out.replace(SPACE_SYMBOL, " ")).to_string()
    }

    /// `source.spm`'s pieces for `text` (no language-code or added-token handling).
    pub fn source_pieces(&self, text: &str) -> Vec<String> {
        self.source.encode(text)
    }
}

/// `MarianTokenizer.remove_language_code`.
fn remove_language_code(text: &str) -> (Option<&str>, &str) {
    if text.starts_with(">>") {
        if let Some(end) = text.find("<<") {
            return (Some(&text[..end + 2]), &text[end + 2..]);
        }
    }
    (None, text)
}

impl SlowTokenizer for MarianTokenizer {
    type Base = JsonVocab;

    fn vocab(&self) -> &Vocab<JsonVocab> {
        &self.vocab
    }

    fn tokens(&self, text: &str) -> Vec<String> {
        self.tokenize(text)
    }

    /// The ids and `</s>`.
    fn with_special_tokens(&self, mut ids: Vec<u32>) -> Vec<u32> {
        ids.push(self.vocab.eos_id);
        ids
    }

    fn tokens_to_string(&self, tokens: &[String]) -> String {
        self.target_tokens_to_string(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_code_is_cut_only_at_the_start() {
        assert_eq!(remove_language_code(">>eng<< hi"), (Some(">>eng<<"), " hi"));
        assert_eq!(remove_language_code(">>eng hi"), (None, ">>eng hi"));
        assert_eq!(remove_language_code(" >>eng<<"), (None, " >>eng<<"));
        assert_eq!(remove_language_code(">><<x"), (Some(">><<"), "x"));
    }
}
