//! Decoding: greedy and beam search over any encoder-decoder, with transformers' `generate()`
//! semantics (`GenerationMixin._sample` without sampling, and the vectorized
//! `GenerationMixin._beam_search` of transformers 4.57).
//!
//! A model takes part through [`StepDecoder`] only: decoding knows nothing about Marian or T5,
//! and models know nothing about beams (the split CTranslate2 uses).

mod beam;
mod config;
mod greedy;
mod patch;
mod processors;

pub use config::{ChosenBy, EarlyStopping, GenerationConfig};
pub use patch::{GenerationPatch, TokenIds};
pub use processors::log_softmax_in_place;

use candle_core::Tensor;

use crate::error::Result;

/// One decoding step of a model with its caches (self-attention KV cache, cross-attention
/// keys/values), as a search drives it.
pub trait StepDecoder {
    /// Feeds one token per row and returns next-token logits `(rows, vocab)` as f32.
    ///
    /// The first call feeds the decoder start token; the row count stays that of the
    /// latest [`StepDecoder::reorder`] (or the initial `batch × expand`).
    fn step(&mut self, tokens: &[u32]) -> Result<Tensor>;

    /// Rearranges the rows of every cache: new row `i` is old row `indices[i]` (rows may repeat,
    /// as when two beams continue the same hypothesis).
    fn reorder(&mut self, indices: &[u32]) -> Result<()>;
}

/// One output sequence of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Token ids starting with the decoder start token, ending with EOS unless the length limit
    /// cut it (exactly transformers' `sequences` row without trailing padding).
    pub tokens: Vec<u32>,
    /// Beam search: the length-penalized sum of log-probabilities (transformers'
    /// `sequences_scores`). Greedy: `None`.
    pub score: Option<f32>,
}

/// Runs greedy search (`num_beams == 1`) or beam search over `batch` inputs.
///
/// `decoder` must have been created with `expand == cfg.num_beams`. Returns, per input,
/// `cfg.num_return_sequences` hypotheses, best first.
///
/// Errors: an invalid configuration (see [`GenerationConfig::validate`]) or a model error.
pub fn generate(
    decoder: &mut dyn StepDecoder,
    batch: usize,
    cfg: &GenerationConfig,
) -> Result<Vec<Vec<Hypothesis>>> {
    cfg.validate()?;
    if cfg.num_beams <= 1 {
        greedy::search(decoder, batch, cfg)
    } else {
        beam::search(decoder, batch, cfg)
    }
}
