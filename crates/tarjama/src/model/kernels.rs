//! CPU kernels for the shapes of incremental decoding, where candle's general kernels lose
//! time (measured in `BENCHMARKS.md`):
//! - [`PackedWeight`]: `x Wᵀ` against a weight repacked once at load time (float32, or GGML
//!   `Q8_0` blocks for `--quantize q8_0`), with register-tiled AVX-512 or AVX2+FMA kernels
//!   chosen at run time. candle hands these products to the `gemm` crate, which packs the
//!   weight again at every call, runs a one-row product on one thread, and has no AVX-512
//!   kernels on stable Rust.
//!
//! The SIMD reductions (`dot`, `max`, `sum_exp`) and the choice of kernel live in
//! [`crate::simd`]. Without AVX2+FMA (ARM, older x86) weights are not packed and candle's
//! kernels run; `TARJAMA_CPU_KERNEL` forces a choice (see [`Isa::detect`]).

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Storage, Tensor};
use rayon::prelude::*;

use crate::simd::Isa;

mod int8;
pub(crate) use int8::Int8Kernel;

/// Output columns per packed panel: two AVX-512 registers, or four AVX2 registers, of floats.
const NR: usize = 32;
/// Inner-dimension block: a panel's block (`KC × NR` floats, 16 KiB) stays in the L1 cache
/// while every row tile of the input passes over it.
const KC: usize = 128;

impl Isa {
    /// Rows per register tile.
    fn tile_rows(self) -> usize {
        match self {
            Isa::Avx512 => 8,
            Isa::Avx2Fma => 6,
            Isa::Portable => 4,
        }
    }
}

/// A weight `(out, in)` repacked for `x Wᵀ` on the CPU: panels of [`NR`] output columns, each
/// stored `in`-major (`panel[k * NR + c] = W[p * NR + c, k]`, the last panel zero-padded).
/// This is the packed `B` of Goto & van de Geijn ("Anatomy of high-performance matrix
/// multiplication", 2008), made once at load time: a product then streams each weight once,
/// at any row count, through a register-tiled FMA kernel.
///
/// It replaces candle's `gemm` call for dense float32 projections on the CPU (see the module
/// documentation for why), and candle's `QMatMul` for `--quantize q8_0`.
#[derive(Debug)]
pub(crate) struct PackedWeight {
    out_dim: usize,
    in_dim: usize,
    panels: Panels,
}

#[derive(Debug)]
enum Panels {
    /// `[panel][in][NR]` float32.
    F32(Vec<f32>),
    /// GGML's `Q8_0` (blocks of 32 inputs of one output share one f16 scale, `w = d · q`),
    /// in panel order: `q` is `[panel][in][NR]` int8, `d` is `[panel][in / 32][NR]` (the f16
    /// scales widened to f32, exactly).
    Q8_0 { q: Vec<i8>, d: Vec<f32> },
    /// `--quantize int8`: int8 with one scale per output row, for integer dot products.
    Int8(int8::Int8Panels),
}

/// Inputs per `Q8_0` block.
const Q8_BLOCK: usize = 32;

impl PackedWeight {
    /// Packs `w` `(out, in)`, float32 on the CPU. `None` for any other dtype or device, and
    /// on a CPU without AVX2+FMA (ARM included), where candle's `gemm`, with its NEON kernels,
    /// stays faster than the portable tile.
    pub(crate) fn pack(w: &Tensor) -> candle_core::Result<Option<Self>> {
        if !packs(w) || w.dtype() != DType::F32 {
            return Ok(None);
        }
        Self::packed(w).map(Some)
    }

    /// Packs a float32 CPU weight, whatever the CPU.
    fn packed(w: &Tensor) -> candle_core::Result<Self> {
        let (n, k) = w.dims2()?;
        let w = w.contiguous()?;
        let data = with_f32(&w, |ws| Ok(to_panels(n, k, |j, kk| ws[j * k + kk])))?;
        Ok(Self {
            out_dim: n,
            in_dim: k,
            panels: Panels::F32(data),
        })
    }

    /// This float32 weight quantized to GGML `Q8_0` (`in` a multiple of 32) with candle's
    /// quantizer, so the weights are exactly those of `QMatMul`'s `Q8_0`, and packed. Unlike
    /// `QMatMul` (which quantizes the activations to `Q8_0` too), the product multiplies the
    /// float32 activations by the dequantized weights in float32. Rows go through the quantizer
    /// a few thousand at a time, so the float32 copy it needs stays small.
    pub(crate) fn to_q8_0(&self) -> candle_core::Result<Self> {
        let Panels::F32(_) = self.panels else {
            candle_core::bail!("the weight is quantized already")
        };
        Self::quantized_q8_0(self.out_dim, self.in_dim, |r0, r1| {
            self.rows(&(r0 as u32..r1 as u32).collect::<Vec<_>>())
        })
    }

    /// This float32 weight in int8 with one scale per output row (`s = max|w| / 127`), for
    /// integer dot products with the activations quantized per row (see `int8`). Errors on
    /// a weight that is quantized already.
    pub(crate) fn to_int8(&self) -> candle_core::Result<Self> {
        let Panels::F32(data) = &self.panels else {
            candle_core::bail!("the weight is quantized already")
        };
        let k = self.in_dim;
        let q = int8::Int8Panels::quantize(self.out_dim, k, |j, buf| {
            let panel = &data[(j / NR) * k * NR..];
            for (kk, v) in buf.iter_mut().enumerate() {
                *v = panel[kk * NR + j % NR];
            }
        });
        Ok(self.with_panels(Panels::Int8(q)))
    }

    /// [`PackedWeight::to_int8`] of a CPU weight `(out, in)` of any float dtype (converted to
    /// float32 first), whatever the CPU: the product then runs the portable kernel where
    /// there is no SIMD one.
    pub(crate) fn int8_of(w: &Tensor) -> candle_core::Result<Self> {
        if !matches!(w.device(), Device::Cpu) {
            candle_core::bail!("int8 runs on the CPU only")
        }
        let (n, k) = w.dims2()?;
        let w = w.to_dtype(DType::F32)?.contiguous()?;
        with_f32(&w, |ws| {
            let q = int8::Int8Panels::quantize(n, k, |j, buf| {
                buf.copy_from_slice(&ws[j * k..(j + 1) * k])
            });
            Ok(Self {
                out_dim: n,
                in_dim: k,
                panels: Panels::Int8(q),
            })
        })
    }

    fn with_panels(&self, panels: Panels) -> Self {
        Self {
            out_dim: self.out_dim,
            in_dim: self.in_dim,
            panels,
        }
    }

    /// [`PackedWeight::to_q8_0`] of a float32 tensor `(out, in)`.
    #[cfg(test)]
    fn packed_q8_0(w: &Tensor) -> candle_core::Result<Self> {
        let (n, k) = w.dims2()?;
        Self::quantized_q8_0(n, k, |r0, r1| {
            w.narrow(0, r0, r1 - r0)?.to_dtype(DType::F32)
        })
    }

    /// Quantizes the `(n, k)` weight whose rows `r0..r1` `rows(r0, r1)` gives, in chunks.
    fn quantized_q8_0(
        n: usize,
        k: usize,
        rows: impl Fn(usize, usize) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<Self> {
        if !k.is_multiple_of(Q8_BLOCK) {
            candle_core::bail!("Q8_0 needs an input size that is a multiple of {Q8_BLOCK}, not {k}")
        }
        // A block: the f16 scale (little-endian), then 32 int8 values.
        const BYTES: usize = 2 + Q8_BLOCK;
        // Rows per call of the quantizer: whole panels.
        const CHUNK: usize = NR * 64;
        let blocks = k / Q8_BLOCK;
        let panels = n.div_ceil(NR);
        let mut q = vec![0i8; panels * k * NR];
        let mut d = vec![0f32; panels * blocks * NR];
        for r0 in (0..n).step_by(CHUNK) {
            let r1 = (r0 + CHUNK).min(n);
            let qt = QTensor::quantize(&rows(r0, r1)?, GgmlDType::Q8_0)?;
            let bytes = qt.data()?;
            if bytes.len() != (r1 - r0) * blocks * BYTES {
                candle_core::bail!("unexpected Q8_0 layout: {} bytes", bytes.len())
            }
            let p0 = r0 / NR;
            q[p0 * k * NR..]
                .par_chunks_mut(k * NR)
                .zip(d[p0 * blocks * NR..].par_chunks_mut(blocks * NR))
                .take((r1 - r0).div_ceil(NR))
                .enumerate()
                .for_each(|(i, (qp, dp))| {
                    let p = p0 + i;
                    for c in 0..NR.min(n - p * NR) {
                        let j = p * NR + c - r0;
                        for b in 0..blocks {
                            let s = &bytes[(j * blocks + b) * BYTES..][..BYTES];
                            dp[b * NR + c] = half::f16::from_le_bytes([s[0], s[1]]).to_f32();
                            for (t, &v) in s[2..].iter().enumerate() {
                                qp[(b * Q8_BLOCK + t) * NR + c] = v as i8;
                            }
                        }
                    }
                });
        }
        Ok(Self {
            out_dim: n,
            in_dim: k,
            panels: Panels::Q8_0 { q, d },
        })
    }

    /// Inputs per output (`in`).
    pub(crate) fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// Whether the weight is quantized (`Q8_0` or int8).
    pub(crate) fn is_quantized(&self) -> bool {
        !matches!(self.panels, Panels::F32(_))
    }

    /// Whether the weight is int8 (`--quantize int8`).
    pub(crate) fn is_int8(&self) -> bool {
        matches!(self.panels, Panels::Int8(_))
    }

    /// Rows `ids` of `W` → `(ids.len(), in)` (dequantized for `Q8_0` and int8): the embedding lookup of
    /// a table that is also an output projection (tied embeddings), without keeping a second
    /// copy of the table. Errors on an id outside the table.
    pub(crate) fn rows(&self, ids: &[u32]) -> candle_core::Result<Tensor> {
        let k = self.in_dim;
        let mut out = vec![0f32; ids.len() * k];
        for (i, &id) in ids.iter().enumerate() {
            let (o, id) = (&mut out[i * k..(i + 1) * k], id as usize);
            if id >= self.out_dim {
                candle_core::bail!("token id {id} is outside the table of {}", self.out_dim)
            }
            let (p, c) = (id / NR, id % NR);
            match &self.panels {
                Panels::F32(data) => {
                    let panel = &data[p * k * NR..][..k * NR];
                    for (kk, v) in o.iter_mut().enumerate() {
                        *v = panel[kk * NR + c];
                    }
                }
                Panels::Q8_0 { q, d } => {
                    let blocks = k / Q8_BLOCK;
                    for (kk, v) in o.iter_mut().enumerate() {
                        let scale = d[(p * blocks + kk / Q8_BLOCK) * NR + c];
                        *v = scale * q[(p * k + kk) * NR + c] as f32;
                    }
                }
                Panels::Int8(q) => {
                    for (kk, v) in o.iter_mut().enumerate() {
                        *v = q.value(id, kk);
                    }
                }
            }
        }
        Tensor::from_vec(out, (ids.len(), k), &Device::Cpu)
    }

    /// The weight as an `(out, in)` float32 tensor again (for quantizing it).
    pub(crate) fn unpack(&self) -> candle_core::Result<Tensor> {
        let ids: Vec<u32> = (0..self.out_dim as u32).collect();
        self.rows(&ids)
    }

    /// `x` `(rows, in)` float32 on the CPU times `Wᵀ`, plus `bias` `(out,)` when given (added
    /// after the product, as `torch.addmm` does) → `(rows, out)`. Panels are shared out among
    /// rayon's threads; each computes its columns for all rows. Errors on a wrong input size.
    pub(crate) fn matmul_t(&self, x: &Tensor, bias: Option<&[f32]>) -> candle_core::Result<Tensor> {
        self.matmul_t_with(Isa::detect(), x, bias)
    }

    fn matmul_t_with(
        &self,
        isa: Isa,
        x: &Tensor,
        bias: Option<&[f32]>,
    ) -> candle_core::Result<Tensor> {
        let (rows, k) = x.dims2()?;
        let n = self.out_dim;
        if k != self.in_dim || bias.is_some_and(|b| b.len() != n) {
            candle_core::bail!(
                "packed product: input ({rows}, {k}) against weight ({n}, {})",
                self.in_dim
            )
        }
        let mut out = vec![0f32; rows * n];
        let panels = n.div_ceil(NR);
        // Enough tasks to balance the threads, few enough that each streams a good stretch.
        let per_task = (panels / (8 * rayon::current_num_threads())).clamp(1, 8);
        let out_ptr = SendPtr(out.as_mut_ptr());
        let x = x.contiguous()?;
        if let Panels::Int8(w) = &self.panels {
            let kernel = Int8Kernel::for_isa(isa);
            with_f32(&x, |xs| {
                let acts = int8::Activations::quantize(xs, rows, k, w);
                (0..panels.div_ceil(per_task))
                    .into_par_iter()
                    .for_each(|task| {
                        let ps = task * per_task..((task + 1) * per_task).min(panels);
                        // SAFETY: `out` holds rows × n floats and tasks own disjoint panels;
                        // `for_isa` chose a kernel this CPU runs.
                        unsafe { w.product(kernel, &acts, ps, &out_ptr, n, bias) };
                    });
                Ok(())
            })?;
            return Tensor::from_vec(out, (rows, n), x.device());
        }
        with_f32(&x, |xs| {
            (0..panels.div_ceil(per_task))
                .into_par_iter()
                .for_each(|task| {
                    let out_ptr = &out_ptr;
                    // One dequantized block of a panel at a time (16 KiB, in L1).
                    let mut scratch = match self.panels {
                        Panels::Q8_0 { .. } => vec![0f32; KC * NR],
                        Panels::F32(_) | Panels::Int8(_) => Vec::new(),
                    };
                    for p in task * per_task..((task + 1) * per_task).min(panels) {
                        let col = p * NR;
                        let cols = NR.min(n - col);
                        let panel = match &self.panels {
                            Panels::F32(data) => Panel::F32(&data[p * k * NR..(p + 1) * k * NR]),
                            Panels::Q8_0 { q, d } => {
                                let blocks = k / Q8_BLOCK;
                                Panel::Q8_0 {
                                    q: &q[p * k * NR..(p + 1) * k * NR],
                                    d: &d[p * blocks * NR..(p + 1) * blocks * NR],
                                    scratch: &mut scratch,
                                }
                            }
                            Panels::Int8(_) => unreachable!("int8 products are done above"),
                        };
                        let mut cols = Columns {
                            panel,
                            out: out_ptr.0,
                            ldc: n,
                            col,
                            cols,
                            bias: bias.map(|b| &b[col..col + cols]),
                        };
                        // SAFETY: `out` holds rows × n floats and tasks own disjoint panels,
                        // so disjoint output columns.
                        unsafe { cols.product(isa, xs, rows, k) };
                    }
                });
            Ok(())
        })?;
        Tensor::from_vec(out, (rows, n), x.device())
    }
}

/// Whether weights like `w` are packed: on the CPU, with a SIMD kernel.
fn packs(w: &Tensor) -> bool {
    packs_on(w.device())
}

/// Whether float32 weights on `device` are repacked at load ([`PackedWeight::pack`]): on the
/// CPU, unless the CPU has no SIMD kernel (or `TARJAMA_CPU_KERNEL=portable`).
pub(crate) fn packs_on(device: &Device) -> bool {
    matches!(device, Device::Cpu) && Isa::detect() != Isa::Portable
}

/// `[panel][k][NR]` from `value(row, kk)` for an `(n, k)` matrix, panels in parallel, the last
/// one zero-padded.
fn to_panels<T: Copy + Default + Send>(
    n: usize,
    k: usize,
    value: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    let mut data = vec![T::default(); n.div_ceil(NR) * k * NR];
    if k > 0 {
        data.par_chunks_mut(k * NR)
            .enumerate()
            .for_each(|(p, panel)| {
                for c in 0..NR.min(n - p * NR) {
                    for kk in 0..k {
                        panel[kk * NR + c] = value(p * NR + c, kk);
                    }
                }
            });
    }
    data
}

/// One panel of a [`PackedWeight`].
enum Panel<'a> {
    F32(&'a [f32]),
    /// `q` `[k][NR]`, `d` `[k / 32][NR]`, and room for one dequantized block (`KC × NR`).
    Q8_0 {
        q: &'a [i8],
        d: &'a [f32],
        scratch: &'a mut [f32],
    },
}

impl Panel<'_> {
    /// Inner steps `k0..k0 + kc` as float32 `[kc][NR]`: a view, or dequantized into scratch.
    /// Whether the view is the packed weight itself (worth prefetching ahead).
    fn block(&mut self, isa: Isa, k0: usize, kc: usize) -> (&[f32], bool) {
        match self {
            Panel::F32(data) => (&data[k0 * NR..(k0 + kc) * NR], true),
            Panel::Q8_0 { q, d, scratch } => {
                let q = &q[k0 * NR..(k0 + kc) * NR];
                let out = &mut scratch[..kc * NR];
                #[cfg(target_arch = "x86_64")]
                if isa != Isa::Portable {
                    // SAFETY: the CPU supports AVX2 and FMA (both kernels above Portable need them).
                    unsafe { dequantize_avx2(q, d, k0, out) };
                    return (out, false);
                }
                let _ = isa;
                dequantize(q, d, k0, out);
                (out, false)
            }
        }
    }
}

/// `out[kk][c] = d[(k0 + kk) / 32][c] · q[kk][c]` for a block starting at inner step `k0`.
#[inline(always)]
fn dequantize(q: &[i8], d: &[f32], k0: usize, out: &mut [f32]) {
    for (kk, (o, q)) in out.chunks_exact_mut(NR).zip(q.chunks_exact(NR)).enumerate() {
        let d = &d[(k0 + kk) / Q8_BLOCK * NR..][..NR];
        for c in 0..NR {
            o[c] = d[c] * q[c] as f32;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dequantize_avx2(q: &[i8], d: &[f32], k0: usize, out: &mut [f32]) {
    dequantize(q, d, k0, out)
}

/// A raw output pointer that tasks writing disjoint elements may share.
struct SendPtr(*mut f32);
// SAFETY: every task writes only its own output columns (see `matmul_t_with`).
unsafe impl Sync for SendPtr {}

/// One panel's share of a product: output columns `col..col + cols` of `out` `(rows, ldc)`.
struct Columns<'a> {
    panel: Panel<'a>,
    out: *mut f32,
    ldc: usize,
    col: usize,
    cols: usize,
    bias: Option<&'a [f32]>,
}

impl Columns<'_> {
    /// All rows of `xs` `(rows, k)` in register tiles, the inner dimension in blocks of
    /// [`KC`].
    ///
    /// # Safety
    /// `out` must hold `rows * ldc` floats, `col + cols ≤ ldc`, and no other thread may write
    /// these columns meanwhile.
    unsafe fn product(&mut self, isa: Isa, xs: &[f32], rows: usize, k: usize) {
        let tile_rows = isa.tile_rows();
        let (out, ldc, col, cols, bias) = (self.out, self.ldc, self.col, self.cols, self.bias);
        // `k == 0` still makes one pass, which writes the bias (or zeros).
        for k0 in (0..k.max(1)).step_by(KC) {
            let kc = KC.min(k - k0);
            let last = k0 + kc >= k;
            let (b, packed) = self.panel.block(isa, k0, kc);
            let mut r0 = 0;
            while r0 < rows {
                let m = tile_rows.min(rows - r0);
                let tile = Tile {
                    a: &xs[r0 * k + k0..],
                    lda: k,
                    b,
                    kc,
                    c: out.add(r0 * ldc + col),
                    ldc,
                    cols,
                    accumulate: k0 > 0,
                    bias: if last { bias } else { None },
                    prefetch: packed && r0 == 0,
                };
                tile.run(isa, m);
                r0 += m;
            }
        }
    }
}

/// One register tile: `M` rows × [`NR`] columns over `kc` inner steps.
struct Tile<'a> {
    /// Row 0, inner step 0 of the input; row `r` starts `r * lda` later.
    a: &'a [f32],
    lda: usize,
    /// The panel's block: `kc × NR`.
    b: &'a [f32],
    kc: usize,
    /// Row 0, column 0 of the tile in the output; row `r` starts `r * ldc` later.
    c: *mut f32,
    ldc: usize,
    /// Real columns (< NR in the last panel).
    cols: usize,
    /// Add to the tile's current values (a later inner block) instead of overwriting them.
    accumulate: bool,
    /// Added at the end (last inner block).
    bias: Option<&'a [f32]>,
    /// Prefetch the panel's next block (the next `KC` inner steps, or the next panel) into the
    /// cache while computing, so that the weight stream overlaps the arithmetic.
    prefetch: bool,
}

impl Tile<'_> {
    /// Runs the `isa` kernel for `m` rows (at most `isa.tile_rows()`).
    ///
    /// # Safety
    /// As [`Columns::product`]; the CPU must support `isa` (as [`Isa::detect`] found).
    unsafe fn run(&self, isa: Isa, m: usize) {
        macro_rules! by_rows {
            ($f:ident, $($m:literal)+) => {
                match m {
                    $($m => self.$f::<$m>(),)+
                    _ => unreachable!("tile of {m} rows"),
                }
            };
        }
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => by_rows!(run_avx512, 1 2 3 4 5 6 7 8),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => by_rows!(run_avx2, 1 2 3 4 5 6),
            _ => by_rows!(run_portable, 1 2 3 4),
        }
    }

    /// Writes `acc` (`M × NR`) to the output, adding what was there and the bias as asked.
    unsafe fn store<const M: usize>(&self, acc: &[[f32; NR]; M]) {
        for (r, row) in acc.iter().enumerate() {
            let c = self.c.add(r * self.ldc);
            for (j, &v) in row.iter().enumerate().take(self.cols) {
                let mut v = v;
                if self.accumulate {
                    v += *c.add(j);
                }
                if let Some(b) = self.bias {
                    v += b[j];
                }
                *c.add(j) = v;
            }
        }
    }

    unsafe fn run_portable<const M: usize>(&self) {
        let mut acc = [[0f32; NR]; M];
        for kk in 0..self.kc {
            let b = &self.b[kk * NR..(kk + 1) * NR];
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let a = self.a[r * self.lda + kk];
                for (s, &bj) in acc_r.iter_mut().zip(b) {
                    *s += a * bj;
                }
            }
        }
        self.store::<M>(&acc)
    }

    /// Two passes of 16 columns (two AVX registers per row): with 32 columns per row at once
    /// the compiler no longer keeps the accumulators in registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2<const M: usize>(&self) {
        use std::arch::x86_64::*;
        let mut out = [[0f32; NR]; M];
        let a = self.a.as_ptr();
        for half in 0..2 {
            let b = self.b.as_ptr().add(16 * half);
            let mut lo = [_mm256_setzero_ps(); M];
            let mut hi = [_mm256_setzero_ps(); M];
            for kk in 0..self.kc {
                if self.prefetch {
                    let next = b.wrapping_add((kk + KC) * NR) as *const i8;
                    _mm_prefetch::<_MM_HINT_T0>(next);
                }
                let b0 = _mm256_loadu_ps(b.add(kk * NR));
                let b1 = _mm256_loadu_ps(b.add(kk * NR + 8));
                for r in 0..M {
                    let av = _mm256_broadcast_ss(&*a.add(r * self.lda + kk));
                    lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
                    hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
                }
            }
            for r in 0..M {
                let o = out[r].as_mut_ptr().add(16 * half);
                _mm256_storeu_ps(o, lo[r]);
                _mm256_storeu_ps(o.add(8), hi[r]);
            }
        }
        self.store::<M>(&out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512<const M: usize>(&self) {
        use std::arch::x86_64::*;
        let mut lo = [_mm512_setzero_ps(); M];
        let mut hi = [_mm512_setzero_ps(); M];
        let (a, b) = (self.a.as_ptr(), self.b.as_ptr());
        for kk in 0..self.kc {
            if self.prefetch {
                let next = b.wrapping_add((kk + KC) * NR) as *const i8;
                _mm_prefetch::<_MM_HINT_T0>(next);
                _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(64));
            }
            let b0 = _mm512_loadu_ps(b.add(kk * NR));
            let b1 = _mm512_loadu_ps(b.add(kk * NR + 16));
            for r in 0..M {
                let av = _mm512_set1_ps(*a.add(r * self.lda + kk));
                lo[r] = _mm512_fmadd_ps(av, b0, lo[r]);
                hi[r] = _mm512_fmadd_ps(av, b1, hi[r]);
            }
        }
        let mut out = [[0f32; NR]; M];
        for r in 0..M {
            _mm512_storeu_ps(out[r].as_mut_ptr(), lo[r]);
            _mm512_storeu_ps(out[r].as_mut_ptr().add(16), hi[r]);
        }
        self.store::<M>(&out)
    }
}

/// Runs `f` on `x`'s float32 elements from its start offset (`x` on the CPU, contiguous).
pub(crate) fn with_f32<R>(
    x: &Tensor,
    f: impl FnOnce(&[f32]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let (storage, layout) = x.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("this kernel runs on the CPU only")
    };
    if !layout.is_contiguous() {
        candle_core::bail!("this kernel needs a contiguous tensor")
    }
    let start = layout.start_offset();
    f(&cpu.as_slice::<f32>()?[start..start + x.elem_count()])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Q8_0` packing keeps candle's quantized weights exactly, and the product equals the
    /// float32 product with the dequantized weight, with every kernel and a bias.
    #[test]
    fn q8_0_product_equals_the_dequantized_weight_product() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let (n, k) = (NR * 2 + 3, KC + 64);
        let w = Tensor::randn(0f32, 1., (n, k), &dev)?;
        let packed = PackedWeight::packed_q8_0(&w)?;
        assert!(packed.is_quantized());
        let deq = QTensor::quantize(&w, GgmlDType::Q8_0)?.dequantize(&dev)?;
        assert_eq!(packed.unpack()?.to_vec2::<f32>()?, deq.to_vec2::<f32>()?);
        let b = Tensor::randn(0f32, 1., n, &dev)?;
        let bias: Vec<f32> = b.to_vec1()?;
        for isa in Isa::supported() {
            for rows in [1, 5, 9, 16] {
                let x = Tensor::randn(0f32, 1., (rows, k), &dev)?;
                let want = x.matmul(&deq.t()?)?.broadcast_add(&b)?;
                let got = packed.matmul_t_with(isa, &x, Some(&bias))?;
                let diff = (got - want)?.abs()?.flatten_all()?.max(0)?;
                assert!(diff.to_scalar::<f32>()? < 1e-4, "{isa:?} {rows} rows");
            }
        }
        let odd = Tensor::randn(0f32, 1., (4, 70), &dev)?;
        assert!(PackedWeight::packed_q8_0(&odd).is_err());
        Ok(())
    }

    /// The int8 product gives the same bits with every kernel (exact int32 sums, one scaling
    /// function), at row counts around every tile size, inner sizes that are not multiples of
    /// 4, and a ragged last panel; it stays within int8's rounding of the float32 product, and
    /// a dense CPU weight quantizes to the same int8 weight as a packed one.
    #[test]
    fn int8_product_is_the_same_with_every_kernel() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        for (n, k) in [(NR * 2 + 3, 150), (5, 7), (NR, 64)] {
            let w = Tensor::randn(0f32, 1., (n, k), &dev)?;
            let bias: Vec<f32> = Tensor::randn(0f32, 1., n, &dev)?.to_vec1()?;
            let packed = PackedWeight::packed(&w)?.to_int8()?;
            assert!(packed.is_quantized() && packed.is_int8());
            let dense = PackedWeight::int8_of(&w.to_dtype(DType::F16)?.to_dtype(DType::F32)?)?;
            let deq = packed.unpack()?;
            let err = (&deq - &w)?
                .abs()?
                .flatten_all()?
                .max(0)?
                .to_scalar::<f32>()?;
            assert!(err < 0.02, "weight error {err}");
            assert!(PackedWeight::packed(&w)?.to_int8()?.to_int8().is_err());
            for rows in [1, 3, 4, 5, 8, 9, 13] {
                let x = Tensor::randn(0f32, 1., (rows, k), &dev)?;
                let want = x
                    .matmul(&w.t()?)?
                    .broadcast_add(&Tensor::new(&bias[..], &dev)?)?;
                let mut first: Option<Vec<f32>> = None;
                for isa in Isa::supported() {
                    let got = packed.matmul_t_with(isa, &x, Some(&bias))?;
                    let diff = (&got - &want)?.abs()?.flatten_all()?.max(0)?;
                    // Two roundings of half a step of 1/127 of each row's range, over k terms.
                    let bound = 0.05 * (k as f32).sqrt();
                    let diff = diff.to_scalar::<f32>()?;
                    assert!(diff < bound, "{isa:?} {rows}×{k}→{n}: {diff}");
                    let got = got.flatten_all()?.to_vec1::<f32>()?;
                    match &first {
                        None => first = Some(got),
                        Some(f) => assert_eq!(&got, f, "{isa:?} {rows}×{k}→{n}"),
                    }
                }
                if rows == 1 {
                    let a = packed.matmul_t_with(Isa::Portable, &x, None)?;
                    let b = dense.matmul_t_with(Isa::Portable, &x, None)?;
                    let d = (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
                    assert!(d < 0.05 * (k as f32).sqrt(), "{d}");
                }
            }
        }
        Ok(())
    }

    /// The packed product equals candle's matmul with every kernel, for row counts around the
    /// register tiles, inner sizes around the block (and 0), a last panel that is not full,
    /// with and without a bias; `rows` and `unpack` give the weight back.
    #[test]
    fn packed_product_equals_candle_matmul() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        for (n, k) in [(NR * 3 + 5, KC * 2 + 3), (7, 70), (NR, KC), (5, 0)] {
            let w = Tensor::randn(0f32, 1., (n, k), &dev)?;
            let b = Tensor::randn(0f32, 1., n, &dev)?;
            let bias: Vec<f32> = b.to_vec1()?;
            let packed = PackedWeight::packed(&w)?;
            assert_eq!(
                packed.unpack()?.flatten_all()?.to_vec1::<f32>()?,
                w.flatten_all()?.to_vec1::<f32>()?
            );
            for isa in Isa::supported() {
                for rows in [1, 2, 3, 4, 5, 8, 9, 16, 35] {
                    let x = Tensor::randn(0f32, 1., (rows, k), &dev)?;
                    let want = x.matmul(&w.t()?)?;
                    let got = packed.matmul_t_with(isa, &x, Some(&bias))?;
                    let diff = (got - want.broadcast_add(&b)?)?
                        .abs()?
                        .flatten_all()?
                        .max(0)?;
                    assert!(diff.to_scalar::<f32>()? < 1e-4, "{isa:?} {rows}×{k}→{n}");
                    let got = packed.matmul_t_with(isa, &x, None)?;
                    let diff = (got - want)?.abs()?.flatten_all()?.max(0)?;
                    assert!(diff.to_scalar::<f32>()? < 1e-4, "{isa:?} {rows}×{k}→{n}");
                }
            }
        }
        let ids = [3u32, 0, 6];
        let w = Tensor::randn(0f32, 1., (7, 9), &dev)?;
        let got = PackedWeight::packed(&w)?.rows(&ids)?;
        let want = w.index_select(&Tensor::new(&ids, &dev)?, 0)?;
        assert_eq!(got.to_vec2::<f32>()?, want.to_vec2::<f32>()?);
        assert!(PackedWeight::packed(&w)?.rows(&[7]).is_err());
        assert!(PackedWeight::pack(&w.to_dtype(DType::F16)?)?.is_none());
        Ok(())
    }

    /// Not a test: the kernel micro-benchmark (median milliseconds of `x Wᵀ` per format,
    /// kernel and shape), printed. Run it optimized:
    /// `cargo test -p tarjama --release --lib bench_products -- --ignored --nocapture` (or, to
    /// reuse the dev profile's optimized dependencies, `--config
    /// profile.test.package.tarjama.opt-level=3` instead of `--release`).
    #[test]
    #[ignore = "a benchmark, run by hand"]
    fn bench_products() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let shapes = [(512, 2048), (1024, 4096), (4096, 1024), (1024, 60_000)];
        println!("threads {}", rayon::current_num_threads());
        println!("| in→out | rows | format | kernel | ms (median) |");
        for (k, n) in shapes {
            let w = Tensor::randn(0f32, 1., (n, k), &dev)?;
            let f32w = PackedWeight::packed(&w)?;
            let formats = [
                ("int8", f32w.to_int8()?),
                ("q8_0", f32w.to_q8_0()?),
                ("f32", f32w),
            ];
            for rows in [1, 16, 64] {
                let x = Tensor::randn(0f32, 1., (rows, k), &dev)?;
                for (name, p) in &formats {
                    for isa in Isa::supported() {
                        let mut times = Vec::new();
                        let start = std::time::Instant::now();
                        while times.len() < 5
                            || (times.len() < 50 && start.elapsed().as_secs_f64() < 0.5)
                        {
                            let t = std::time::Instant::now();
                            std::hint::black_box(p.matmul_t_with(isa, &x, None)?);
                            times.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                        times.sort_by(f64::total_cmp);
                        let kernel = match (*name, isa) {
                            ("int8", isa) => format!("{:?}", Int8Kernel::for_isa(isa)),
                            (_, isa) => format!("{isa:?}"),
                        };
                        println!(
                            "| {k}→{n} | {rows} | {name} | {kernel} | {:.3} |",
                            times[times.len() / 2]
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// On small integers every partial sum is exact, so all kernels give the same floats as
    /// the plain sum, whatever their order.
    #[test]
    fn kernels_agree_exactly_on_integers() -> candle_core::Result<()> {
        let (rows, k, n) = (11, 37, NR + 3);
        let x: Vec<f32> = (0..rows * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        let want: Vec<f32> = (0..rows * n)
            .map(|i| {
                (0..k)
                    .map(|kk| x[(i / n) * k + kk] * w[(i % n) * k + kk])
                    .sum()
            })
            .collect();
        let dev = Device::Cpu;
        let packed = PackedWeight::packed(&Tensor::from_vec(w, (n, k), &dev)?)?;
        let x = Tensor::from_vec(x, (rows, k), &dev)?;
        for isa in Isa::supported() {
            let got = packed.matmul_t_with(isa, &x, None)?.flatten_all()?;
            assert_eq!(got.to_vec1::<f32>()?, want, "{isa:?}");
        }
        Ok(())
    }
}
