//! CPU float32 kernels for the shapes of incremental decoding, where candle's general kernels
//! lose time (measured in `BENCHMARKS.md`):
//! - [`dot`]: the inner product, with AVX2+FMA when the CPU has it (detected at run time);
//! - [`matmul_t_skinny`]: `x Wᵀ` for a handful of rows. candle hands a one-row product to the
//!   `gemm` crate's matrix-vector path, which runs on one thread: at batch 1 every projection
//!   of a decoder step, the output projection to the whole vocabulary included, used one core.

use candle_core::{DType, Device, Storage, Tensor};
use rayon::prelude::*;

/// Products with at most this many rows go through [`matmul_t_skinny`] (batch 1, greedy or
/// 4 beams). At 32 rows (8 inputs × 4 beams) `gemm`'s blocked kernel is faster: 14 s against
/// 16 s on 10 seed sentences with the full-size opus-mt-ar-en shape.
pub(crate) const SKINNY_ROWS: usize = 4;

/// Output columns per parallel task in [`matmul_t_skinny`].
const COLUMNS_PER_TASK: usize = 128;

/// `Σ a[i] b[i]` over the common length.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
        return unsafe { dot_fma(a, b) };
    }
    dot_lanes::<false>(a, b)
}

#[cfg(target_arch = "x86_64")]
fn has_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes::<true>(a, b)
}

/// The inner product with 32 running sums (four AVX registers), so the loop vectorizes and
/// hides the latency of the additions; `FMA` fuses multiply and add (only inside a function
/// compiled for FMA: elsewhere `mul_add` is a slow library call).
#[inline(always)]
fn dot_lanes<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 32;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; L];
    let (ac, bc) = (a.chunks_exact(L), b.chunks_exact(L));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..L {
            acc[i] = if FMA {
                x[i].mul_add(y[i], acc[i])
            } else {
                acc[i] + x[i] * y[i]
            };
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `x` `(rows, in)` times `wᵀ`, `w` `(out, in)` as stored on the Hub → `(rows, out)`, for
/// float32 on the CPU with `rows ≤` [`SKINNY_ROWS`] and a contiguous `w`: each weight row is
/// read once for all rows of `x`, blocks of output columns in parallel. `None` where it does
/// not apply (the caller then uses candle's matmul).
pub(crate) fn matmul_t_skinny(x: &Tensor, w: &Tensor) -> candle_core::Result<Option<Tensor>> {
    if !matches!(x.device(), Device::Cpu) || x.dtype() != DType::F32 || w.dtype() != DType::F32 {
        return Ok(None);
    }
    let (rows, k) = x.dims2()?;
    let (n, wk) = w.dims2()?;
    if rows == 0 || rows > SKINNY_ROWS || wk != k || !w.is_contiguous() {
        return Ok(None);
    }
    let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
    let (storage, layout) = w.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        return Ok(None);
    };
    let start = layout.start_offset();
    let ws = &cpu.as_slice::<f32>()?[start..start + n * k];
    // `(out, rows)` while computing, so each task writes one contiguous block.
    let mut out_t = vec![0f32; n * rows];
    out_t
        .par_chunks_mut(COLUMNS_PER_TASK * rows)
        .enumerate()
        .for_each(|(task, block)| {
            let first = task * COLUMNS_PER_TASK;
            for (j, outs) in block.chunks_exact_mut(rows).enumerate() {
                let wj = &ws[(first + j) * k..(first + j + 1) * k];
                for (r, o) in outs.iter_mut().enumerate() {
                    *o = dot(&xs[r * k..(r + 1) * k], wj);
                }
            }
        });
    let out = if rows == 1 {
        out_t
    } else {
        let mut out = vec![0f32; rows * n];
        for (j, outs) in out_t.chunks_exact(rows).enumerate() {
            for (r, &v) in outs.iter().enumerate() {
                out[r * n + j] = v;
            }
        }
        out
    };
    Ok(Some(Tensor::from_vec(out, (rows, n), x.device())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_handles_tails_on_both_paths() {
        let a: Vec<f32> = (0..77).map(|i| (i as f32) * 0.5).collect();
        let b: Vec<f32> = (0..77).map(|i| (i % 5) as f32 - 2.0).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot_lanes::<false>(&a, &b), want);
        assert!(
            (dot(&a, &b) - want).abs() < 1e-3,
            "{} vs {want}",
            dot(&a, &b)
        );
    }

    /// Equals candle's matmul for 1 to SKINNY_ROWS rows, including a column count that is not a
    /// multiple of the task block.
    #[test]
    fn skinny_product_equals_candle_matmul() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let (n, k) = (COLUMNS_PER_TASK * 2 + 37, 70);
        let w = Tensor::randn(0f32, 1., (n, k), &dev)?;
        for rows in 1..=SKINNY_ROWS {
            let x = Tensor::randn(0f32, 1., (rows, k), &dev)?;
            let fast = matmul_t_skinny(&x, &w)?.expect("applies");
            let slow = x.matmul(&w.t()?)?;
            let diff = (fast - slow)?
                .abs()?
                .flatten_all()?
                .max(0)?
                .to_scalar::<f32>()?;
            assert!(diff < 1e-4, "rows {rows}: max difference {diff}");
        }
        let x = Tensor::randn(0f32, 1., (SKINNY_ROWS + 1, k), &dev)?;
        assert!(matmul_t_skinny(&x, &w)?.is_none());
        Ok(())
    }
}
