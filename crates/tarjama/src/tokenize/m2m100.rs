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
use super::special::{decode_tokens, split_on_added, split_tokens, token_content};
use super::spm_bpe::SentencePieceBpe;
use super::{py_strip, Tokenizer};
use crate::Result;

/// transformers' `M2M100Tokenizer`, built from `sentencepiece.bpe.model`, `vocab.json` and
/// (optionally) `tokenizer_config.json`.
#[derive(Debug, Clone)]
pub struct M2m100Tokenizer {
    spm: SentencePieceBpe,
    encoder: HashMap<String, u32>,
    decoder: HashMap<u32, String>,
    /// Added tokens (special tokens and language tokens) → id.
    added: HashMap<String, u32>,
    added_by_id: HashMap<u32, String>,
    /// Added-token contents, longest first, for splitting the input.
    split_tokens: Vec<String>,
    /// `all_special_tokens`: `<s>`, `</s>`, `<unk>`, `<pad>` and the language tokens.
    special_tokens: HashSet<String>,
    special_ids: HashSet<u32>,
    /// Tokens decoded on their own, joined with spaces (the language tokens).
    legacy_added: HashSet<String>,
    languages: Languages,
    source_id: u32,
    unk_token: String,
    unk_id: u32,
    eos_id: u32,
    pad_id: u32,
    clean_up_spaces: bool,
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
        let added_by_id = added.iter().map(|(t, &id)| (id, t.clone())).collect();
        let decoder = encoder.iter().map(|(t, &id)| (id, t.clone())).collect();
        let clean_up_spaces = cfg
            .get("clean_up_tokenization_spaces")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let source_id = languages.source_id();
        Ok(M2m100Tokenizer {
            spm,
            unk_id: encoder[&unk],
            eos_id: encoder[&eos],
            pad_id: encoder[&pad],
            unk_token: unk,
            encoder,
            decoder,
            added,
            added_by_id,
            split_tokens,
            special_tokens,
            special_ids,
            legacy_added,
            languages,
            source_id,
            clean_up_spaces,
        })
    }

    /// The tokens of `text` without the language token and `</s>`: `tokenizer.tokenize(text)`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        for chunk in split_on_added(&self.split_tokens, text) {
            if chunk.is_empty() {
                continue;
            }
            if self.added.contains_key(chunk) {
                tokens.push(chunk.to_string());
            } else {
                tokens.extend(self.spm.encode(chunk));
            }
        }
        tokens
    }

    fn token_id(&self, token: &str) -> u32 {
        self.added
            .get(token)
            .or_else(|| self.encoder.get(token))
            .copied()
            .unwrap_or(self.unk_id)
    }

    fn id_token(&self, id: u32) -> String {
        self.added_by_id
            .get(&id)
            .or_else(|| self.decoder.get(&id))
            .cloned()
            .unwrap_or_else(|| self.unk_token.clone())
    }

    /// `M2M100Tokenizer.convert_tokens_to_string`.
    fn tokens_to_string(&self, tokens: &[String]) -> String {
        let mut out = String::new();
        let mut current: Vec<&str> = Vec::new();
        for t in tokens {
            if self.special_tokens.contains(t) {
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

impl Tokenizer for M2m100Tokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = vec![self.source_id];
        ids.extend(self.tokenize(text).iter().map(|t| self.token_id(t)));
        ids.push(self.eos_id);
        Ok(ids)
    }

    fn decode_with(
        &self,
        ids: &[u32],
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: Option<bool>,
    ) -> Result<String> {
        let tokens = ids
            .iter()
            .filter(|&&id| !(skip_special_tokens && self.special_ids.contains(&id)))
            .map(|&id| self.id_token(id));
        Ok(decode_tokens(
            tokens,
            skip_special_tokens,
            &self.special_tokens,
            &self.legacy_added,
            clean_up_tokenization_spaces.unwrap_or(self.clean_up_spaces),
            |t| self.tokens_to_string(t),
        ))
    }

    fn token_count(&self, text: &str) -> usize {
        self.tokenize(text).len() + 2
    }

    fn pad_id(&self) -> u32 {
        self.pad_id
    }

    fn eos_id(&self) -> u32 {
        self.eos_id
    }

    fn unk_id(&self) -> Option<u32> {
        Some(self.unk_id)
    }

    fn vocab_size(&self) -> usize {
        self.encoder.len()
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.added_by_id
            .get(&id)
            .or_else(|| self.decoder.get(&id))
            .cloned()
    }

    fn token_to_id(&self, t: &str) -> Option<u32> {
        self.added.get(t).or_else(|| self.encoder.get(t)).copied()
    }

    fn languages(&self) -> Option<&Languages> {
        Some(&self.languages)
    }

    fn set_source_language(&mut self, code: &str) -> Result<()> {
        self.source_id = self.languages.set_source(code)?;
        Ok(())
    }
}
