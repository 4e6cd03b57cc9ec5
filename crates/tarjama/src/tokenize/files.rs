//! Reading the files slow tokenizers are built from (`vocab.json`, `tokenizer_config.json`,
//! SentencePiece `.model` files), with errors that name the file.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::protobuf::ModelProto;
use crate::{Error, Result};

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
