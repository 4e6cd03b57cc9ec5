//! Scaled dot-product attention over split heads, shared by the model families.
//!
//! `softmax(q kᵀ + bias) v` per head (Vaswani et al., 2017; the caller scales `q` where its
//! family does). Two paths compute the same thing:
//! - prompt-length queries (the encoder) use candle's batched matrix multiply;
//! - a single query per row on the CPU in float32 (every incremental decoder step) uses a
//!   direct loop over `(row, head)` pairs. candle's batched matmul would issue one small GEMM,
//!   with its thread synchronization, per row and head: 256 calls per attention for 8 inputs
//!   × 4 beams × 8 heads, which cost more than the arithmetic.

use candle_core::{DType, Device, Storage, Tensor};
use rayon::prelude::*;

use crate::simd::dot;

/// Attends from queries `q` `(b, h, t, head_dim)` to keys and values `(b, h, s, head_dim)`
/// (views with a row stride of `head_dim` in their last two dimensions are fine, as the KV
/// cache hands out). `bias` is additive, broadcastable to `(b, h, t, s)` (the padding mask,
/// and T5's position bias). The softmax is taken in float32 when `softmax_f32` is set
/// (transformers' T5), in the model's dtype otherwise (BART family). Returns
/// `(b, h, t, head_dim)`.
pub(crate) fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    softmax_f32: bool,
) -> candle_core::Result<Tensor> {
    let (b, h, t, dh) = q.dims4()?;
    let s = k.dim(2)?;
    let f32_cpu = matches!(q.device(), Device::Cpu)
        && [q, k, v].iter().all(|x| x.dtype() == DType::F32)
        && bias.is_none_or(|m| m.dtype() == DType::F32);
    if t == 1 && f32_cpu {
        return single_query(q, k, v, bias, (b, h, s, dh));
    }
    let scores = q.matmul(&k.t()?)?; // (b, h, t, s)
    let scores = match bias {
        Some(m) => scores.broadcast_add(m)?,
        None => scores,
    };
    let probs = if softmax_f32 {
        candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?.to_dtype(q.dtype())?
    } else {
        candle_nn::ops::softmax_last_dim(&scores)?
    };
    probs.matmul(v) // (b, h, t, head_dim)
}

/// A float32 CPU tensor's elements with its start offset and strides.
struct Strided<'a> {
    data: &'a [f32],
    start: usize,
    stride: Vec<usize>,
}

impl Strided<'_> {
    /// Offset of `(row, head)`'s first element.
    fn at(&self, row: usize, head: usize) -> usize {
        self.start + row * self.stride[0] + head * self.stride[1]
    }
}

/// Reads `x` `(b, h, n, head_dim)`; its last two dimensions must be packed rows (strides
/// `(head_dim, 1)`), otherwise a contiguous copy is read.
fn with_strided<R>(
    x: &Tensor,
    f: impl FnOnce(&Strided) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let dh = x.dim(3)?;
    let packed = {
        let st = x.stride();
        st[3] == 1 && (st[2] == dh || x.dim(2)? == 1)
    };
    let x = if packed { x.clone() } else { x.contiguous()? };
    let (storage, layout) = x.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("single-query attention runs on the CPU only")
    };
    f(&Strided {
        data: cpu.as_slice::<f32>()?,
        start: layout.start_offset(),
        stride: layout.stride().to_vec(),
    })
}

/// `q` has one query per `(row, head)`: scores, softmax and the weighted sum of values in one
/// pass per pair, pairs in parallel. The softmax follows candle's (max-subtracted exp, sum,
/// divide); masked positions (bias `f32::MIN` or `-inf`) get weight 0.
fn single_query(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: Option<&Tensor>,
    (b, h, s, dh): (usize, usize, usize, usize),
) -> candle_core::Result<Tensor> {
    let bias: Option<Vec<f32>> = match bias {
        Some(m) => Some(
            m.broadcast_as((b, h, 1, s))?
                .contiguous()?
                .flatten_all()?
                .to_vec1()?,
        ),
        None => None,
    };
    let mut out = vec![0f32; b * h * dh];
    with_strided(q, |q| {
        with_strided(k, |k| {
            with_strided(v, |v| {
                out.par_chunks_mut(dh).enumerate().for_each(|(pair, o)| {
                    let (row, head) = (pair / h, pair % h);
                    let qo = q.at(row, head);
                    let query = &q.data[qo..qo + dh];
                    let keys = &k.data[k.at(row, head)..][..s * dh];
                    let values = &v.data[v.at(row, head)..][..s * dh];
                    let mut scores: Vec<f32> =
                        keys.chunks_exact(dh).map(|kj| dot(query, kj)).collect();
                    if let Some(bias) = &bias {
                        for (sc, bj) in scores.iter_mut().zip(&bias[pair * s..(pair + 1) * s]) {
                            *sc += bj;
                        }
                    }
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0f32;
                    for sc in scores.iter_mut() {
                        *sc = (*sc - max).exp();
                        sum += *sc;
                    }
                    for (p, vj) in scores.iter().zip(values.chunks_exact(dh)) {
                        let w = p / sum;
                        for (oi, vi) in o.iter_mut().zip(vj) {
                            *oi += w * vi;
                        }
                    }
                });
                Ok(())
            })
        })
    })?;
    Tensor::from_vec(out, (b, h, 1, dh), q.device())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The single-query path equals the batched-matmul path, with a padding mask, a strided
    /// key/value view (as the KV cache hands out) and a head dim that is not a multiple of 8.
    #[test]
    fn single_query_equals_matmul_path() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let (b, h, s, dh, cap) = (3, 2, 5, 12, 9);
        let q = Tensor::randn(0f32, 1., (b, h, 1, dh), &dev)?;
        let kbuf = Tensor::randn(0f32, 1., (b, h, cap, dh), &dev)?;
        let vbuf = Tensor::randn(0f32, 1., (b, h, cap, dh), &dev)?;
        let (k, v) = (kbuf.narrow(2, 0, s)?, vbuf.narrow(2, 0, s)?);
        let mut mask = vec![0f32; b * s];
        mask[s - 1] = f32::MIN; // row 0 masks its last position
        mask[s + 3] = f32::MIN;
        let mask = Tensor::from_vec(mask, (b, 1, 1, s), &dev)?;
        let fast = single_query(&q, &k, &v, Some(&mask), (b, h, s, dh))?;
        let scores = q.matmul(&k.contiguous()?.t()?)?.broadcast_add(&mask)?;
        let slow = candle_nn::ops::softmax_last_dim(&scores)?.matmul(&v.contiguous()?)?;
        let diff = (fast - slow)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-5, "max difference {diff}");
        Ok(())
    }
}
