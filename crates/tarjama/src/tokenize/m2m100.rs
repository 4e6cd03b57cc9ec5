//! transformers' `M2M100Tokenizer` (a slow, SentencePiece-based tokenizer) in Rust.
//!
//! What `M2M100Tokenizer` does (transformers 4.57, `tokenization_m2m_100.py` and the
//! slow-tokenizer base in `tokenization_utils.py`), and so what this does:
//!
//! * Ids: `vocab.json` maps pieces to ids in fairseq's dictionary order (`<s>` 0, `<pad>` 1,
//!   `</s>` 2, `<unk>` 3, then pieces by training frequency), which is not the SentencePiece
//!   order; pieces it lacks become `<unk>`. The language tokens `__xx__` come after the vocabulary:
//!   `len(vocab.json) + i` for the `i`-th code of the `language_codes` list (`m2m100`: 100 codes,
//!   `wmt21`: 8). The model's vocabulary has 8 more ids (`madeupword`s) that decode as `<unk>`.
//! * Encoding: the text is split on the added tokens (the special tokens and the language tokens,
//!   which the Hub repos declare as additional special tokens), each other chunk is segmented by
//!   `sentencepiece.bpe.model`, and the input becomes `__src__ … </s>`.
//! * Decoding: special ids are dropped with `skip_special_tokens`; language tokens stand apart,
//!   separated by spaces; runs of other tokens are decoded with SentencePiece (`▁` → space, the
//!   first one dropped), special tokens appended verbatim, and each run is stripped.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::files::{load_config, parse_vocab, tok_err};
use super::languages::{LanguageScheme, Languages, M2M100_CODES, WMT21_CODES};
use super::py_strip;
use super::special::{split_tokens, token_content, AddedTok, JsonVocab, SlowTokenizer, Vocab};
use super::spm_bpe::SentencePieceBpe;
use crate::Result;

/// transformers' `M2M100Tokenizer`, built from `sentencepiece.bpe.model`, `vocab.json` and
/// (optionally) `tokenizer_config.json`.
#[derive(Debug, Clone)]
pub struct M2m100Tokenizer {
    spm: SentencePieceBpe,
    /// `vocab.json` under the added tokens (the special tokens and the language tokens, all
    /// special; the language tokens are decoded on their own, joined with spaces).
    vocab: Vocab<JsonVocab>,
    languages: Languages,
    source_id: u32,
}

impl M2m100Tokenizer {
    /// Loads the tokenizer. `tokenizer_config.json` may name the special tokens, the
    /// `language_codes` list (`m2m100` or `wmt21`), `src_lang` (else `en`, as transformers),
    /// `added_tokens_decoder` ids and `clean_up_tokenization_spaces`.
    ///
    /// Errors name the file: unreadable, not a SentencePiece BPE model, `vocab.json` not a JSON
    /// object of token → id or without the special tokens, an unknown `language_codes`.
    pub fn from_files(
        spm_model: &Path,
        vocab_json: &Path,
        tokenizer_config: Option<&Path>,
    ) -> Result<Self> {
        let spm = SentencePieceBpe::from_file(spm_model)?;
        let encoder = parse_vocab(vocab_json)?;
        let cfg = match tokenizer_config {
            Some(p) => load_config(p)?.unwrap_or_default(),
            None => serde_json::Map::new(),
        };
        let cfg_path = tokenizer_config.unwrap_or(vocab_json);
        let named = |key: &str, default: &str| -> String {
            cfg.get(key)
                .and_then(token_content)
                .unwrap_or(default)
                .to_string()
        };
        let bos = named("bos_token", "<s>");
        let eos = named("eos_token", "</s>");
        let sep = named("sep_token", "</s>");
        let pad = named("pad_token", "<pad>");
        let unk = named("unk_token", "<unk>");
        for t in [&eos, &pad, &unk] {
            if !encoder.contains_key(t) {
                return Err(tok_err(
                    vocab_json,
                    format!("{t:?} token must be in the vocab"),
                ));
            }
        }
        let code_list: &[&str] = match cfg.get("language_codes").and_then(Value::as_str) {
            None | Some("m2m100") => M2M100_CODES,
            Some("wmt21") => WMT21_CODES,
            Some(other) => {
                return Err(tok_err(
                    cfg_path,
                    format!("language_codes {other:?} is not m2m100 or wmt21"),
                ))
            }
        };
        // Ids saved in the config win (transformers looks up added tokens first).
        let mut saved: HashMap<String, u32> = HashMap::new();
        if let Some(Value::Object(dec)) = cfg.get("added_tokens_decoder") {
            for (k, v) in dec {
                if let (Ok(id), Some(c)) = (k.parse::<u32>(), token_content(v)) {
                    saved.insert(c.to_string(), id);
                }
            }
        }
        let encoder_size = encoder.len() as u32;
        let codes: Vec<(String, u32)> = code_list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let token = LanguageScheme::M2m100.token(c);
                let id = saved
                    .get(&token)
                    .copied()
                    .unwrap_or(encoder_size + i as u32);
                (c.to_string(), id)
            })
            .collect();
        let src = cfg.get("src_lang").and_then(Value::as_str).unwrap_or("en");
        let src = if codes.iter().any(|(c, _)| c == src) {
            src
        } else {
            code_list[0]
        };
        let languages = Languages::new(LanguageScheme::M2m100, codes, src)?;

        let token_id = |t: &str| -> u32 {
            saved
                .get(t)
                .or_else(|| encoder.get(t))
                .copied()
                .unwrap_or(encoder[&unk])
        };
        let mut added: HashMap<String, u32> = HashMap::new();
        for t in [&bos, &eos, &sep, &pad, &unk] {
            if encoder.contains_key(t.as_str()) || saved.contains_key(t.as_str()) {
                added.insert(t.clone(), token_id(t));
            }
        }
        for (t, &id) in &saved {
            added.insert(t.clone(), id);
        }
        let mut special_tokens: HashSet<String> = [&bos, &eos, &sep, &pad, &unk]
            .into_iter()
            .filter(|t| added.contains_key(t.as_str()))
            .cloned()
            .collect();
        let mut legacy_added = HashSet::new();
        for (code, id) in languages.codes().zip(0u32..) {
            let token = LanguageScheme::M2m100.token(code);
            let id = languages.token_id(code).unwrap_or(encoder_size + id);
            added.insert(token.clone(), id);
            special_tokens.insert(token.clone());
            legacy_added.insert(token);
        }
        // Added tokens that are not special stand apart on decoding too.
        for t in added.keys() {
            if !special_tokens.contains(t) {
                legacy_added.insert(t.clone());
            }
        }
        let special_ids = special_tokens.iter().map(|t| added[t]).collect();
        let split_tokens = split_tokens(added.keys());
        let added_decoder = added
            .iter()
            .map(|(t, &id)| (id, AddedTok::plain(t)))
            .collect();
        let clean_up_spaces = cfg
            .get("clean_up_tokenization_spaces")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let source_id = languages.source_id();
        let (unk_id, eos_id, pad_id) = (encoder[&unk], encoder[&eos], encoder[&pad]);
        Ok(M2m100Tokenizer {
            spm,
            vocab: Vocab {
                base: JsonVocab::new(encoder),
                added_encoder: added,
                added_decoder,
                split_tokens,
                special_tokens,
                special_ids,
                legacy_added,
                unk_token: unk,
                unk_id,
                eos_id,
                pad_id,
                clean_up_spaces,
                split_special_tokens: false,
            },
            languages,
            source_id,
        })
    }

    /// The tokens of `text` without the language token and `</s>`: `tokenizer.tokenize(text)`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        self.vocab.tokenize(text, |chunk| self.spm.encode(chunk))
    }

    /// `M2M100Tokenizer.convert_tokens_to_string`.
    fn pieces_to_string(&self, tokens: &[String]) -> String {
        let mut out = String::new();
        let mut current: Vec<&str> = Vec::new();
        for t in tokens {
            if self.vocab.special_tokens.contains(t) {
                out.push_str(&self.spm.decode_pieces(&current));
                out.push_str(t);
                current.clear();
            } else {
                current.push(t);
            }
        }
        out.push_str(&self.spm.decode_pieces(&current));
        py_strip(&out).to_string()
    }
}

impl SlowTokenizer for M2m100Tokenizer {
    type Base = JsonVocab;

    fn vocab(&self) -> &Vocab<JsonVocab> {
        &self.vocab
    }

    fn tokens(&self, text: &str) -> Vec<String> {
        self.tokenize(text)
    }

    /// `__src__`, the ids, `</s>`.
    fn with_special_tokens(&self, ids: Vec<u32>) -> Vec<u32> {
        let mut out = Vec::with_capacity(ids.len() + 2);
        out.push(self.source_id);
        out.extend(ids);
        out.push(self.vocab.eos_id);
        out
    }

    fn tokens_to_string(&self, tokens: &[String]) -> String {
        self.pieces_to_string(tokens)
    }

    fn languages(&self) -> Option<&Languages> {
        Some(&self.languages)
    }

    fn set_source_language(&mut self, code: &str) -> Result<()> {
        self.source_id = self.languages.set_source(code)?;
        Ok(())
    }
}
