//! A SentencePiece `.model` file of either segmentation type, unigram ([`SentencePieceModel`])
//! or BPE ([`SentencePieceBpe`]), chosen by the model's own `trainer_spec.model_type` as
//! `SentencePieceProcessor.Load` chooses it.

use std::path::Path;

use super::files::{read_model_proto, tok_err};
use super::sentencepiece::SentencePieceModel;
use super::spm_bpe::SentencePieceBpe;
use crate::Result;

/// A loaded SentencePiece model, unigram or BPE.
#[derive(Debug, Clone)]
pub enum SentencePiece {
    /// `model_type: UNIGRAM` (1), e.g. opus-mt's `source.spm`, T5's `spiece.model`.
    Unigram(SentencePieceModel),
    /// `model_type: BPE` (2), e.g. NLLB's and M2M100's `sentencepiece.bpe.model`.
    Bpe(SentencePieceBpe),
}

impl SentencePiece {
    /// Reads a `.model` file. Errors name the file: unreadable, not a SentencePiece model, or
    /// a model type other than unigram and BPE (word, char).
    pub fn from_file(path: &Path) -> Result<Self> {
        let proto = read_model_proto(path)?;
        let model = match proto.trainer_spec.model_type {
            1 => SentencePieceModel::from_proto(proto).map(SentencePiece::Unigram),
            2 => SentencePieceBpe::from_proto(proto).map(SentencePiece::Bpe),
            3 => Err("word SentencePiece models are not supported (only unigram and BPE)".into()),
            4 => Err("char SentencePiece models are not supported (only unigram and BPE)".into()),
            t => Err(format!("unknown SentencePiece model type {t}")),
        };
        model.map_err(|e| tok_err(path, e))
    }

    /// `EncodeAsPieces(text)` (`Encode(text, out_type=str)`): the pieces of `text`.
    pub fn encode(&self, text: &str) -> Vec<String> {
        match self {
            SentencePiece::Unigram(m) => m.encode(text),
            SentencePiece::Bpe(m) => m.encode(text),
        }
    }
}
