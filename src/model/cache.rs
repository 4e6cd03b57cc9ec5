//! The key/value cache of incremental decoding, shared by the model families: per decoder layer
//! the self-attention keys and values of the tokens decoded so far, and the cross-attention
//! keys and values computed once from the encoder output, with the encoder padding mask.
//!
//! Rows are decoder rows: each input's encoder row repeated `expand` times consecutively
//! (`expand` = number of beams), so decoder row `r` reads encoder row `r / expand`. `head_dim`
//! is `d_model / heads` in the BART family and `d_kv` in T5.

use candle_core::Tensor;

use super::EncoderOutput;
use crate::error::{Result, TensorContext};

/// Row `r` of the result is row `r / expand` of `t` (transformers' `repeat_interleave` over
/// dimension 0).
fn repeat_rows(t: &Tensor, expand: usize) -> candle_core::Result<Tensor> {
    if expand == 1 {
        return Ok(t.clone());
    }
    let b = t.dim(0)?;
    let idx: Vec<u32> = (0..b * expand).map(|r| (r / expand) as u32).collect();
    t.index_select(&Tensor::new(idx, t.device())?, 0)
}

/// Incremental decoder state: self-attention KV cache per layer and the cross-attention
/// keys/values computed once from the encoder output.
#[derive(Debug)]
pub(crate) struct KvCache {
    /// Per layer: keys and values `(rows, h, steps, head_dim)` of the tokens decoded so far.
    self_kv: Vec<Option<(Tensor, Tensor)>>,
    /// Per layer: keys and values `(rows, h, src_len, head_dim)` of the encoder output.
    cross_kv: Vec<(Tensor, Tensor)>,
    /// `(rows, 1, 1, src_len)` additive encoder padding mask.
    cross_mask: Tensor,
    /// Decoder rows per input (the number of beams).
    expand: usize,
}

/// One layer's view of a [`KvCache`] during a step.
pub(crate) struct LayerCache<'c> {
    self_kv: &'c mut Option<(Tensor, Tensor)>,
    /// Keys `(rows, h, src_len, head_dim)` of the encoder output.
    pub cross_k: &'c Tensor,
    /// Values `(rows, h, src_len, head_dim)` of the encoder output.
    pub cross_v: &'c Tensor,
    /// `(rows, 1, 1, src_len)` additive encoder padding mask.
    pub cross_mask: &'c Tensor,
}

impl LayerCache<'_> {
    /// Appends this step's keys and values `(rows, h, 1, head_dim)` to the layer's cache and
    /// returns all of them, `(rows, h, steps, head_dim)`.
    pub fn append(&mut self, k: Tensor, v: Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let (k, v) = match self.self_kv.take() {
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
            None => (k, v),
        };
        *self.self_kv = Some((k.clone(), v.clone()));
        Ok((k, v))
    }
}

impl KvCache {
    /// The state for decoding over `encoder` with the decoder `layers`, each encoder row
    /// repeated `expand` times: `mask` turns the repeated `(rows, src_len)` u8 padding mask into
    /// the additive `(rows, 1, 1, src_len)` one, `key_value` gives a layer's cross-attention
    /// keys and values `(rows, h, src_len, head_dim)` of the repeated hidden states
    /// `(rows, src_len, d_model)`. The self-attention cache starts empty.
    pub fn new<L>(
        layers: &[L],
        encoder: &EncoderOutput,
        expand: usize,
        mask: impl FnOnce(&Tensor) -> Result<Tensor>,
        key_value: impl Fn(&L, &Tensor) -> candle_core::Result<(Tensor, Tensor)>,
    ) -> Result<Self> {
        let hidden = repeat_rows(&encoder.hidden, expand)?;
        let cross_mask = mask(&repeat_rows(&encoder.attention_mask, expand)?)?;
        let cross_kv = layers
            .iter()
            .map(|l| key_value(l, &hidden))
            .collect::<candle_core::Result<Vec<_>>>()
            .ctx("cross-attention keys/values")?;
        Ok(Self {
            self_kv: vec![None; layers.len()],
            cross_kv,
            cross_mask,
            expand,
        })
    }

    /// Layer `i`'s cache.
    pub fn layer(&mut self, i: usize) -> LayerCache<'_> {
        let (cross_k, cross_v) = &self.cross_kv[i];
        LayerCache {
            self_kv: &mut self.self_kv[i],
            cross_k,
            cross_v,
            cross_mask: &self.cross_mask,
        }
    }

    /// Keeps the rows `indices` (row `r` becomes old row `indices[r]`), as
    /// [`crate::decoding::StepDecoder::reorder`].
    pub fn reorder(&mut self, indices: &[u32]) -> Result<()> {
        let idx = Tensor::new(indices, self.cross_mask.device())?;
        for kv in self.self_kv.iter_mut().flatten() {
            kv.0 = kv.0.index_select(&idx, 0)?;
            kv.1 = kv.1.index_select(&idx, 0)?;
        }
        // Beam search only moves rows within one input's group; the cross-attention state is
        // then unchanged. Anything else (dropping finished inputs) moves it too.
        let within_group = indices
            .iter()
            .enumerate()
            .all(|(r, &i)| r / self.expand == i as usize / self.expand);
        if !within_group || indices.len() != self.cross_mask.dim(0)? {
            for kv in self.cross_kv.iter_mut() {
                kv.0 = kv.0.index_select(&idx, 0)?;
                kv.1 = kv.1.index_select(&idx, 0)?;
            }
            self.cross_mask = self.cross_mask.index_select(&idx, 0)?;
        }
        Ok(())
    }
}
