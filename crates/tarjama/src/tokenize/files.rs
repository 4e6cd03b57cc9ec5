//! The files a tokenizer is built from: which ones a model has ([`TokenizerFiles`], what
//! [`crate::hub`] finds in a model's directory or repo), and readers for them (`vocab.json`,
//! `tokenizer_config.json`, SentencePiece `.model` files) with errors that name the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::protobuf::ModelProto;
use crate::{Error, Result};

/// The files of a model's tokenizer, by kind, in the order [`crate::hub`] looks for them (the
/// first kind a model has wins). The repo's `tokenizer_config.json`, which every kind may
/// have, is passed to [`super::load`] beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerFiles {
    /// A `tokenizers` library `tokenizer.json` ([`super::HfTokenizer`], or
    /// [`super::NllbTokenizer`] for NLLB's).
    TokenizerJson(PathBuf),
    /// The files of an opus-mt (Marian) repo ([`super::MarianTokenizer`]).
    Marian {
        /// `source.spm`: SentencePiece model of the source language (used to encode).
        source_spm: PathBuf,
        /// `target.spm`: SentencePiece model of the target language (used to decode).
        target_spm: PathBuf,
        /// `vocab.json`: the joint piece → id map of source and target.
        vocab_json: PathBuf,
    },
    /// A T5-family `spiece.model` without a `tokenizer.json`, read as transformers' slow
    /// `T5Tokenizer` reads it ([`super::T5Tokenizer`]).
    Spiece(PathBuf),
    /// The files of an M2M100 repo, without a `tokenizer.json` ([`super::M2m100Tokenizer`]).
    M2m100 {
        /// `sentencepiece.bpe.model`: the SentencePiece BPE model.
        spm_model: PathBuf,
        /// `vocab.json`: piece → id in fairseq's dictionary order.
        vocab_json: PathBuf,
    },
    /// A GPT-2/BART-style byte-level BPE shipped as `vocab.json` + `merges.txt` without a
    /// `tokenizer.json`; built as transformers' `BartTokenizerFast` converter builds it
    /// ([`super::load_byte_level_bpe`]).
    Bpe {
        /// `vocab.json`: token → id map.
        vocab_json: PathBuf,
        /// `merges.txt`: the merge rules, highest priority first.
        merges_txt: PathBuf,
    },
}

/// A tokenizer error about the file `path`: `"{path}: {msg}"`.
pub(super) fn tok_err(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Tokenizer(format!("{}: {msg}", path.display()))
}

/// A JSON file.
pub(super) fn load_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| tok_err(path, format!("invalid JSON: {e}")))
}

/// A `tokenizer_config.json`: its object, or `None` where the file holds `null`.
pub(super) fn load_config(path: &Path) -> Result<Option<serde_json::Map<String, Value>>> {
    match load_json(path)? {
        Value::Object(o) => Ok(Some(o)),
        Value::Null => Ok(None),
        _ => Err(tok_err(path, "expected a JSON object")),
    }
}

/// A `vocab.json`: a JSON object of token → id.
pub(super) fn parse_vocab(path: &Path) -> Result<HashMap<String, u32>> {
    let Value::Object(map) = load_json(path)? else {
        return Err(tok_err(path, "expected a JSON object of token → id"));
    };
    let mut vocab = HashMap::with_capacity(map.len());
    for (k, v) in map {
        let id = v
            .as_u64()
            .and_then(|x| u32::try_from(x).ok())
            .ok_or_else(|| tok_err(path, format!("token {k:?}: id {v} is not a u32")))?;
        vocab.insert(k, id);
    }
    Ok(vocab)
}

/// The `ModelProto` of a SentencePiece `.model` file.
pub(super) fn read_model_proto(path: &Path) -> Result<ModelProto> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    ModelProto::parse(&bytes).map_err(|e| {
        tok_err(
            path,
            format!(
                "not a SentencePiece model (protobuf parse error at byte {}: {})",
                e.offset, e.msg
            ),
        )
    })
}
