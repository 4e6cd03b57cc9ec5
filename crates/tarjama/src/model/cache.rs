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
    /// Per layer: the self-attention keys and values of the tokens decoded so far.
    self_kv: Vec<Option<SelfKv>>,
    /// Per layer: keys and values `(rows, h, src_len, head_dim)` of the encoder output.
    cross_kv: Vec<(Tensor, Tensor)>,
    /// `(rows, 1, 1, src_len)` additive encoder padding mask.
    cross_mask: Tensor,
    /// Decoder rows per input (the number of beams).
    expand: usize,
}

/// One layer's view of a [`KvCache`] during a step.
pub(crate) struct LayerCache<'c> {
    self_kv: &'c mut Option<SelfKv>,
    /// Keys `(rows, h, src_len, head_dim)` of the encoder output.
    pub cross_k: &'c Tensor,
    /// Values `(rows, h, src_len, head_dim)` of the encoder output.
    pub cross_v: &'c Tensor,
    /// `(rows, 1, 1, src_len)` additive encoder padding mask.
    pub cross_mask: &'c Tensor,
}

/// Positions a fresh self-attention buffer holds before it first grows.
const INITIAL_STEPS: usize = 32;

/// One layer's self-attention keys and values in preallocated buffers
/// `(rows, h, capacity, head_dim)`, of which the first `len` positions are filled. A step writes
/// its position in place; the buffers double when full, so a sequence of `n` steps copies
/// `O(n)` positions in all instead of the `O(n²)` of concatenating at every step.
#[derive(Debug)]
struct SelfKv {
    k: Tensor,
    v: Tensor,
    len: usize,
}

impl SelfKv {
    fn capacity(&self) -> usize {
        self.k.dim(2).unwrap_or(0)
    }

    /// Buffers like `k` `(rows, h, 1, head_dim)` with room for `capacity` positions, holding
    /// `old`'s first `len` positions.
    fn allocate(
        like: &Tensor,
        capacity: usize,
        old: Option<&SelfKv>,
    ) -> candle_core::Result<SelfKv> {
        let (rows, h, _, dh) = like.dims4()?;
        let buffer = || Tensor::zeros((rows, h, capacity, dh), like.dtype(), like.device());
        let (k, v) = (buffer()?, buffer()?);
        let len = match old {
            Some(old) => {
                k.slice_set(&old.k.narrow(2, 0, old.len)?.contiguous()?, 2, 0)?;
                v.slice_set(&old.v.narrow(2, 0, old.len)?.contiguous()?, 2, 0)?;
                old.len
            }
            None => 0,
        };
        Ok(SelfKv { k, v, len })
    }

    /// The filled part: keys and values `(rows, h, len, head_dim)`, views into the buffers.
    fn filled(&self) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.k.narrow(2, 0, self.len)?,
            self.v.narrow(2, 0, self.len)?,
        ))
    }
}

impl LayerCache<'_> {
    /// Appends this step's keys and values `(rows, h, 1, head_dim)` to the layer's cache and
    /// returns all of them, `(rows, h, steps, head_dim)` (views into the cache's buffers, with
    /// packed `(steps, head_dim)` rows).
    pub fn append(&mut self, k: Tensor, v: Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let grow = match self.self_kv.as_ref() {
            None => Some(INITIAL_STEPS),
            Some(kv) if kv.len == kv.capacity() => Some(2 * kv.capacity()),
            Some(_) => None,
        };
        if let Some(capacity) = grow {
            *self.self_kv = Some(SelfKv::allocate(&k, capacity, self.self_kv.as_ref())?);
        }
        let kv = self.self_kv.as_mut().expect("allocated above");
        let (k, v) = (k.contiguous()?, v.contiguous()?);
        kv.k.slice_set(&k, 2, kv.len)?;
        kv.v.slice_set(&v, 2, kv.len)?;
        kv.len += 1;
        kv.filled()
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
            self_kv: layers.iter().map(|_| None).collect(),
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
            // Whole buffers (capacity at most twice the filled length once grown): a copy
            // of the filled part would need a contiguous copy first, as index_select does.
            kv.k = kv.k.index_select(&idx, 0)?;
            kv.v = kv.v.index_select(&idx, 0)?;
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
