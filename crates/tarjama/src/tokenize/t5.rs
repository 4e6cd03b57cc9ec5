//! transformers' slow `T5Tokenizer` (SentencePiece, `spiece.model`) in Rust, for T5-family
//! repos that ship no `tokenizer.json`.
//!
//! What `T5Tokenizer` does (transformers 4.57, `tokenization_t5.py` and the slow-tokenizer base
//! in `tokenization_utils.py`), and so what this does:
//!
//! * Vocabulary: ids are SentencePiece ids (`<pad>` 0, `</s>` 1, `<unk>` 2 in every T5 model);
//!   `extra_ids` sentinels `<extra_id_0>` … sit above the SentencePiece vocabulary, numbered from
//!   the top: `<extra_id_i>` = `len(spm) - 1 + extra_ids - i`. They strip the whitespace on both
//!   sides (`lstrip`/`rstrip`). `tokenizer_config.json`'s `added_tokens_decoder` overrides this.
//! * Encoding (`legacy: true`, the default): the text is split on the added tokens
//!   (leftmost-longest), their strip rules applied to the neighbouring chunks, and each other chunk
//!   segmented by SentencePiece on its own (so a chunk after a sentinel gets its own `▁`). Pieces
//!   become ids through SentencePiece (unknown pieces → `<unk>`). `</s>` is appended unless the
//!   ids already end with it.
//! * Encoding with `legacy: false`: `▁` in the text becomes a space, a `▁` is prefixed
//!   (`add_prefix_space`), SentencePiece runs without its dummy prefix, and a chunk that starts
//!   with a space is encoded behind `<unk>` whose pieces are then cut off, so that no extra `▁`
//!   appears after a special token.
//! * Decoding: ids become tokens (added tokens by content, the rest SentencePiece pieces); with
//!   `skip_special_tokens` the special ones are dropped. Sentinels are decoded on their own and
//!   joined with spaces; runs of other tokens go through `convert_tokens_to_string`: the first
//!   token loses its `▁`, special tokens are written verbatim (after a space unless the previous
//!   token was special too), pieces are decoded with SentencePiece, and the result is stripped.
//!   `clean_up_tokenization_spaces` applies when `tokenizer_config.json` switches it on.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::files::{load_config, read_model_proto, tok_err};
use super::protobuf::ModelProto;
use super::py_strip;
use super::sentencepiece::{SentencePieceModel, SPACE_SYMBOL};
use super::special::{
    additional_special_tokens, dedup_tokens, legacy_added, saved_added_tokens, split_tokens,
    AddedTok, BaseVocab, SlowTokenizer, Vocab,
};
use crate::{Error, Result};

impl AddedTok {
    /// The sentinel `<extra_id_{i}>`, stripping the whitespace on both sides.
    fn sentinel(i: usize) -> Self {
        AddedTok {
            content: format!("<extra_id_{i}>"),
            lstrip: true,
            rstrip: true,
            single_word: false,
        }
    }
}

/// transformers' slow `T5Tokenizer`, built from `spiece.model` and, where the repo has one,
/// `tokenizer_config.json`.
#[derive(Debug, Clone)]
pub struct T5Tokenizer {
    /// `spiece.model` under the added tokens (the sentinels, decoded on their own, sit above
    /// the SentencePiece vocabulary).
    vocab: Vocab<Spiece>,
    /// How many pieces SentencePiece gives for the unknown token (`legacy: false` only).
    unk_token_length: usize,
    legacy: bool,
    add_prefix_space: bool,
}

/// The SentencePiece model as T5's base vocabulary: its pieces by id (`IdToPiece`), and
/// `PieceToId` for encoding (SentencePiece's own unknown id for a piece it lacks).
#[derive(Debug, Clone)]
pub struct Spiece {
    spm: SentencePieceModel,
    pieces: Vec<String>,
}

impl BaseVocab for Spiece {
    fn len(&self) -> usize {
        self.pieces.len()
    }

    fn id_of(&self, token: &str) -> Option<u32> {
        let id = self.spm.piece_to_id(token);
        (self.pieces.get(id as usize).map(String::as_str) == Some(token)).then_some(id)
    }

    fn token_of(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(String::as_str)
    }

    fn encode_id(&self, token: &str) -> Option<u32> {
        Some(self.spm.piece_to_id(token))
    }
}

impl T5Tokenizer {
    /// Loads `spiece.model` and, when given, `tokenizer_config.json` (special tokens,
    /// `extra_ids`, `additional_special_tokens`, `added_tokens_decoder`, `legacy`,
    /// `add_prefix_space`, `clean_up_tokenization_spaces`). Without a config the defaults of
    /// `T5Tokenizer(spiece.model)` apply: 100 sentinels, legacy behaviour.
    ///
    /// Errors name the offending file: unreadable, not a unigram SentencePiece model, or a
    /// malformed config.
    pub fn from_files(spiece_model: &Path, tokenizer_config: Option<&Path>) -> Result<Self> {
        let proto = read_model_proto(spiece_model)?;
        let config = match tokenizer_config {
            Some(p) => load_config(p)?.map(|o| (p, o)),
            None => None,
        };
        Self::build(proto, spiece_model, config)
    }

    fn build(
        mut proto: ModelProto,
        spiece_path: &Path,
        config: Option<(&Path, serde_json::Map<String, Value>)>,
    ) -> Result<Self> {
        let empty = serde_json::Map::new();
        let (config_path, cfg) = match &config {
            Some((p, c)) => (Some(*p), c),
            None => (None, &empty),
        };
        let cfg_err = |msg: String| match config_path {
            Some(p) => tok_err(p, msg),
            None => Error::Tokenizer(msg),
        };
        let flag = |k: &str, default: bool| cfg.get(k).and_then(Value::as_bool).unwrap_or(default);
        let legacy = flag("legacy", true);
        let add_prefix_space = flag("add_prefix_space", true);
        let clean_up_spaces = flag("clean_up_tokenization_spaces", false);
        let split_special_tokens = flag("split_special_tokens", false);
        let extra_ids = match cfg.get("extra_ids") {
            None | Some(Value::Null) => 100,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| cfg_err("extra_ids: expected a number".into()))?
                as usize,
        };

        let pieces: Vec<String> = proto.pieces.iter().map(|p| p.piece.clone()).collect();
        if !legacy {
            // `get_spm_processor`: the non-legacy tokenizer runs SentencePiece without its dummy
            // prefix (the `▁` is added by `tokenize` instead).
            proto.normalizer_spec.add_dummy_prefix = false;
        }
        let spm = SentencePieceModel::from_proto(proto).map_err(|e| {
            tok_err(
                spiece_path,
                format!("not a usable SentencePiece model: {e}"),
            )
        })?;
        let sp_len = pieces.len();

        let token = |key: &str, default: &str| -> Result<AddedTok> {
            match cfg.get(key) {
                None | Some(Value::Null) => Ok(AddedTok::plain(default)),
                Some(v) => AddedTok::from_json(v)
                    .ok_or_else(|| cfg_err(format!("{key}: expected a string or AddedToken"))),
            }
        };
        let eos = token("eos_token", "</s>")?;
        let unk = token("unk_token", "<unk>")?;
        let pad = token("pad_token", "<pad>")?;
        let mut additional: Vec<AddedTok> = match additional_special_tokens(cfg, cfg_err)? {
            None => (0..extra_ids).map(AddedTok::sentinel).collect(),
            Some(mut v) => {
                let sentinels = v
                    .iter()
                    .filter(|t| t.content.contains("<extra_id_"))
                    .count();
                if sentinels == 0 {
                    v.extend((0..extra_ids).map(AddedTok::sentinel));
                } else if extra_ids > 0 && extra_ids != sentinels {
                    return Err(cfg_err(format!(
                        "extra_ids ({extra_ids}) and the {sentinels} <extra_id_N> tokens of \
                         additional_special_tokens disagree"
                    )));
                }
                v
            }
        };

        // Added tokens: the sentinels at the top of the vocabulary (as T5Tokenizer.__init__
        // places them), then those saved in the config, then the special tokens.
        let mut added_decoder: HashMap<u32, AddedTok> = HashMap::new();
        let n_sentinels = additional
            .iter()
            .filter(|t| t.content.contains("<extra_id_"))
            .count();
        for i in 0..n_sentinels {
            added_decoder.insert((sp_len - 1 + extra_ids - i) as u32, AddedTok::sentinel(i));
        }
        added_decoder.extend(saved_added_tokens(cfg, cfg_err)?);
        let mut added_encoder: HashMap<String, u32> = added_decoder
            .iter()
            .map(|(id, t)| (t.content.clone(), *id))
            .collect();
        // transformers' SPECIAL_TOKENS_ATTRIBUTES order, then the additional special tokens.
        let mut specials = vec![eos.clone(), unk.clone(), pad.clone()];
        specials.append(&mut additional);
        dedup_tokens(&mut specials);
        let sp_id = |t: &str| -> Option<u32> {
            let id = spm.piece_to_id(t);
            (pieces.get(id as usize).map(String::as_str) == Some(t)).then_some(id)
        };
        let mut next_id = sp_len.max(
            added_decoder
                .keys()
                .map(|&k| k as usize + 1)
                .max()
                .unwrap_or(0),
        );
        for t in &specials {
            if added_encoder.contains_key(&t.content) {
                continue;
            }
            let id = match sp_id(&t.content) {
                Some(id) => id,
                None => {
                    next_id += 1;
                    (next_id - 1) as u32
                }
            };
            added_decoder.insert(id, t.clone());
            added_encoder.insert(t.content.clone(), id);
        }

        let to_id = |t: &str| -> u32 {
            added_encoder
                .get(t)
                .copied()
                .unwrap_or_else(|| spm.piece_to_id(t))
        };
        let special_tokens: HashSet<String> = specials.iter().map(|t| t.content.clone()).collect();
        let special_ids: HashSet<u32> = special_tokens.iter().map(|t| to_id(t)).collect();
        let legacy_added = legacy_added(
            &added_encoder,
            &special_tokens,
            &specials[3..],
            to_id,
            sp_len,
        );
        let split_tokens = split_tokens(added_encoder.keys());
        let unk_token_length = spm.encode(&unk.content).len();
        let (unk_id, eos_id, pad_id) = (
            to_id(&unk.content),
            to_id(&eos.content),
            to_id(&pad.content),
        );
        Ok(T5Tokenizer {
            vocab: Vocab {
                base: Spiece { spm, pieces },
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
            unk_token_length,
            legacy,
            add_prefix_space,
        })
    }

    /// The tokens of `text` before the id lookup and without the trailing `</s>`:
    /// `T5Tokenizer.tokenize(text)`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        if self.legacy || text.is_empty() {
            return self.base_tokenize(text);
        }
        let mut text = text.replace(SPACE_SYMBOL, " ");
        if self.add_prefix_space {
            text.insert_str(0, SPACE_SYMBOL);
        }
        let mut tokens = self.base_tokenize(&text);
        if tokens.len() > 1
            && tokens[0] == SPACE_SYMBOL
            && self.vocab.special_tokens.contains(&tokens[1])
        {
            tokens.remove(0);
        }
        tokens
    }

    /// `PreTrainedTokenizer.tokenize` with T5's `_tokenize`.
    fn base_tokenize(&self, text: &str) -> Vec<String> {
        self.vocab.tokenize(text, |chunk| self.sp_tokenize(chunk))
    }

    /// `T5Tokenizer._tokenize`.
    fn sp_tokenize(&self, text: &str) -> Vec<String> {
        if self.legacy || !(text.starts_with(SPACE_SYMBOL) || text.starts_with(' ')) {
            return self.vocab.base.spm.encode(text);
        }
        let tokens = self
            .vocab
            .base
            .spm
            .encode(&format!("{}{text}", self.vocab.unk_token));
        if tokens.len() >= self.unk_token_length {
            tokens[self.unk_token_length..].to_vec()
        } else {
            tokens
        }
    }

    /// `T5Tokenizer.convert_tokens_to_string`.
    fn pieces_to_string(&self, tokens: &[String]) -> String {
        let mut out = String::new();
        let mut current: Vec<&str> = Vec::new();
        let mut prev_is_special = false;
        for (i, t) in tokens.iter().enumerate() {
            let t = match t.strip_prefix(SPACE_SYMBOL) {
                Some(rest) if i == 0 && self.add_prefix_space => rest,
                _ => t.as_str(),
            };
            if self.vocab.special_tokens.contains(t) {
                if !prev_is_special {
                    out.push(' ');
                }
                out.push_str(&self.vocab.base.spm.decode_pieces(&current));
                out.push_str(t);
                prev_is_special = true;
                current.clear();
            } else {
                current.push(t);
                prev_is_special = false;
            }
        }
        out.push_str(&self.vocab.base.spm.decode_pieces(&current));
        py_strip(&out).to_string()
    }
}

impl SlowTokenizer for T5Tokenizer {
    type Base = Spiece;

    fn vocab(&self) -> &Vocab<Spiece> {
        &self.vocab
    }

    fn tokens(&self, text: &str) -> Vec<String> {
        self.tokenize(text)
    }

    /// `_add_eos_if_not_present`.
    fn with_special_tokens(&self, mut ids: Vec<u32>) -> Vec<u32> {
        if ids.last() != Some(&self.vocab.eos_id) {
            ids.push(self.vocab.eos_id);
        }
        ids
    }

    fn tokens_to_string(&self, tokens: &[String]) -> String {
        self.pieces_to_string(tokens)
    }

    /// An id past the SentencePiece vocabulary that is no added token is an error.
    fn missing_token(&self, id: u32) -> Result<String> {
        Err(Error::Tokenizer(format!(
            "id {id} is out of range (the SentencePiece model has {} pieces)",
            self.vocab.base.pieces.len()
        )))
    }
}
