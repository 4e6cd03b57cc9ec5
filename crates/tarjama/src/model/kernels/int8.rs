//! `--quantize int8`: weights and activations in int8, multiplied with integer dot products
//! into int32, as CTranslate2's int8 (oneDNN / `vpdpbusd`) and llama.cpp's `q8_0 × q8_0` do.
//!
//! - Weights: one float32 scale per output row (`w ≈ s_w · q`, `q` in `-127..=127`, `s_w =
//!   max|w| / 127`), quantized once at load time and packed in panels of [`NR`] output columns:
//!   `[panel][in / 4][NR][4]`, so one 512-bit load holds 4 inputs of 16 columns (the operand
//!   layout of `vpdpbusd`). The inner size is zero-padded to a multiple of 4.
//! - Activations: one scale per row, computed at every product (`x ≈ s_x · a`, `a` in
//!   `-127..=127`), as CTranslate2 quantizes its inputs dynamically.
//! - `y = s_x · s_w · Σ a·q + bias`: the sum is exact in int32 (`|Σ| ≤ in · 127²`, below 2³¹
//!   for `in` < 133 000), so every kernel gives the same int32 sums, and the same floats (the
//!   scaling is one shared scalar function).
//!
//! The kernels differ only in how they form `Σ a·q`:
//! - [`Int8Kernel::Vnni512`] (AVX-512 VNNI) and [`Int8Kernel::AvxVnni`] (AVX-VNNI, 256-bit):
//!   `vpdpbusd` multiplies unsigned by signed bytes, so the activations are shifted to `a + 128`
//!   (a XOR of the sign bits) and `128 · Σ q`, kept per column at load time, is subtracted at the
//!   end (CTranslate2's compensation term).
//! - [`Int8Kernel::Avx2`]: `vpmaddubsw` adds pairs of u8 × i8 products into int16, which
//!   saturates at 32 767; with `|a|` as the unsigned operand and `q` given `a`'s sign
//!   (`vpsignb`, llama.cpp's trick), a pair is at most `2 · 127 · 127 = 32 258`, so it never
//!   saturates; `vpmaddwd` by ones then widens to int32.
//! - [`Int8Kernel::Portable`]: plain integer loops (`TARJAMA_CPU_KERNEL=portable`, non-x86).

use super::{SendPtr, NR};
use crate::simd::Isa;
use rayon::prelude::*;

/// Inputs per `vpdpbusd` lane (4 bytes into one int32).
const GROUP: usize = 4;
/// The largest quantized magnitude (symmetric, so `-128` never occurs).
const QMAX: f32 = 127.0;

/// A weight `(out, in)` in int8 with one scale per output row, in panels (see the module
/// documentation for the layout).
#[derive(Debug)]
pub(super) struct Int8Panels {
    /// `[panel][in4 / 4][NR][4]`, the last panel's missing columns and the padded inputs zero.
    q: Vec<i8>,
    /// `s_w` per output row, `[panel][NR]` (zero for padding columns).
    scale: Vec<f32>,
    /// `Σ_k q[j, k]` per output row, `[panel][NR]`: the VNNI kernels' compensation.
    sum: Vec<i32>,
    /// The inner size rounded up to a multiple of 4.
    in4: usize,
}

impl Int8Panels {
    /// Quantizes the `(n, k)` weight whose row `j` `row(j, buf)` writes into `buf` (`k`
    /// floats), panels in parallel.
    pub(super) fn quantize(n: usize, k: usize, row: impl Fn(usize, &mut [f32]) + Sync) -> Self {
        let in4 = k.div_ceil(GROUP) * GROUP;
        let panels = n.div_ceil(NR);
        let mut q = vec![0i8; panels * in4 * NR];
        let mut scale = vec![0f32; panels * NR];
        let mut sum = vec![0i32; panels * NR];
        if in4 > 0 {
            q.par_chunks_mut(in4 * NR)
                .zip(scale.par_chunks_mut(NR).zip(sum.par_chunks_mut(NR)))
                .enumerate()
                .for_each(|(p, (qp, (sp, cp)))| {
                    let mut buf = vec![0f32; k];
                    for c in 0..NR.min(n - p * NR) {
                        row(p * NR + c, &mut buf);
                        let (s, inv) = row_scale(&buf);
                        sp[c] = s;
                        for (kk, &v) in buf.iter().enumerate() {
                            let v = quantize_one(v, inv);
                            qp[(kk / GROUP) * NR * GROUP + c * GROUP + kk % GROUP] = v;
                            cp[c] += i32::from(v);
                        }
                    }
                });
        }
        Self { q, scale, sum, in4 }
    }

    /// Weight `(j, kk)` dequantized: `s_w[j] · q[j, kk]`.
    pub(super) fn value(&self, j: usize, kk: usize) -> f32 {
        let (p, c) = (j / NR, j % NR);
        let q = self.q[p * self.in4 * NR + (kk / GROUP) * NR * GROUP + c * GROUP + kk % GROUP];
        self.scale[j] * f32::from(q)
    }

    /// Panels `first..first + count` of `x Wᵀ (+ bias)` into `out` `(rows, ldc)` (`ldc` the
    /// output size), all rows, with `kernel`.
    ///
    /// # Safety
    /// `out` holds `rows * ldc` floats, and no other thread writes these panels' columns; the
    /// CPU supports `kernel` (as [`Int8Kernel::for_isa`] chose it).
    pub(super) unsafe fn product(
        &self,
        kernel: Int8Kernel,
        x: &Activations,
        panels: std::ops::Range<usize>,
        out: &SendPtr,
        ldc: usize,
        bias: Option<&[f32]>,
    ) {
        let tile_rows = kernel.tile_rows();
        let groups = self.in4 / GROUP;
        for p in panels {
            let col = p * NR;
            let cols = NR.min(ldc - col);
            let b = &self.q[p * self.in4 * NR..(p + 1) * self.in4 * NR];
            let sum = &self.sum[col..col + NR];
            let mut r0 = 0;
            while r0 < x.rows {
                let m = tile_rows.min(x.rows - r0);
                let a = &x.q[r0 * self.in4..];
                let mut acc = [[0i32; NR]; 8];
                kernel.dots(&mut acc[..m], a, self.in4, b, groups, sum);
                for (r, acc) in acc[..m].iter().enumerate() {
                    let o = out.0.add((r0 + r) * ldc + col);
                    let o = std::slice::from_raw_parts_mut(o, cols);
                    scale_row(
                        acc,
                        x.scale[r0 + r],
                        &self.scale[col..],
                        bias.map(|b| &b[col..]),
                        o,
                    );
                }
                r0 += m;
            }
        }
    }
}

/// `(s, 1/s)` for a row: `s = max|v| / 127`; `(0, 0)` for an all-zero row.
fn row_scale(v: &[f32]) -> (f32, f32) {
    let amax = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if amax > 0.0 {
        (amax / QMAX, QMAX / amax)
    } else {
        (0.0, 0.0)
    }
}

/// `round(v · inv)` clamped to `-127..=127` (halves away from zero, as `f32::round`).
fn quantize_one(v: f32, inv: f32) -> i8 {
    (v * inv).round().clamp(-QMAX, QMAX) as i8
}

/// `out[c] = sums[c] · (s_x · s_w[c]) + bias[c]`: the one place int32 sums become floats, so
/// every kernel gives the same bits.
#[inline(always)]
fn scale_row(sums: &[i32; NR], sx: f32, sw: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    for (c, o) in out.iter_mut().enumerate() {
        let v = sums[c] as f32 * (sx * sw[c]);
        *o = match bias {
            Some(b) => v + b[c],
            None => v,
        };
    }
}

/// A product's input `(rows, in)` quantized per row, the inner size padded like the weight's.
pub(super) struct Activations {
    /// `[rows][in4]`.
    q: Vec<i8>,
    /// `s_x` per row.
    scale: Vec<f32>,
    rows: usize,
}

impl Activations {
    /// Quantizes `xs` `(rows, k)` row by row for a weight of `w`'s padded inner size.
    pub(super) fn quantize(xs: &[f32], rows: usize, k: usize, w: &Int8Panels) -> Self {
        let in4 = w.in4;
        let mut q = vec![0i8; rows * in4];
        let mut scale = vec![0f32; rows];
        if k > 0 {
            for ((qr, s), xr) in q.chunks_mut(in4).zip(&mut scale).zip(xs.chunks(k)) {
                let (sx, inv) = row_scale(xr);
                *s = sx;
                for (o, &v) in qr.iter_mut().zip(xr) {
                    *o = quantize_one(v, inv);
                }
            }
        }
        Self { q, scale, rows }
    }
}

/// The integer dot-product kernel of an int8 product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Int8Kernel {
    /// `vpdpbusd` on 512-bit registers (AVX-512 VNNI and BW): 8 rows × 32 columns.
    Vnni512,
    /// `vpdpbusd` on 256-bit registers (AVX-VNNI, e.g. Alder Lake, Zen 5): 4 rows × 16 columns,
    /// twice per panel.
    AvxVnni,
    /// `vpmaddubsw` + `vpmaddwd` (AVX2): 4 rows × 16 columns, twice per panel.
    Avx2,
    /// Plain integer loops: 4 rows × 32 columns.
    Portable,
}

impl Int8Kernel {
    /// The int8 kernel that goes with the float32 kernel `isa`: VNNI where the CPU has it
    /// (AVX-512 VNNI for `Avx512`, AVX-VNNI for `Avx2Fma`), `maddubs` otherwise, and the
    /// portable loops for `Portable` (so `TARJAMA_CPU_KERNEL` chooses both).
    pub(crate) fn for_isa(isa: Isa) -> Int8Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match isa {
                Isa::Avx512 if has!("avx512vnni") && has!("avx512bw") => {
                    return Int8Kernel::Vnni512
                }
                Isa::Avx512 | Isa::Avx2Fma if has!("avxvnni") => return Int8Kernel::AvxVnni,
                Isa::Avx512 | Isa::Avx2Fma => return Int8Kernel::Avx2,
                Isa::Portable => {}
            }
        }
        let _ = isa;
        Int8Kernel::Portable
    }

    /// Rows per register tile (at most 8).
    fn tile_rows(self) -> usize {
        match self {
            Int8Kernel::Vnni512 => 8,
            Int8Kernel::AvxVnni | Int8Kernel::Avx2 | Int8Kernel::Portable => 4,
        }
    }

    /// `acc[r][c] = Σ_k a[r · lda + k] · b[k][c]` over `groups` groups of 4 inputs, for the
    /// `acc.len()` rows of a tile; `b` is one panel `[groups][NR][4]`, `sum` its columns' `Σ q`.
    ///
    /// # Safety
    /// The CPU supports the kernel; `a` holds the tile's rows of `lda ≥ 4 · groups` bytes.
    unsafe fn dots(
        self,
        acc: &mut [[i32; NR]],
        a: &[i8],
        lda: usize,
        b: &[i8],
        groups: usize,
        sum: &[i32],
    ) {
        macro_rules! by_rows {
            ($f:ident, $($m:literal)+) => {
                match acc.len() {
                    $($m => {
                        let t: &mut [[i32; NR]; $m] = acc.try_into().unwrap();
                        $f::<$m>(t, a, lda, b, groups, sum)
                    })+
                    m => unreachable!("tile of {m} rows"),
                }
            };
        }
        match self {
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::Vnni512 => by_rows!(dots_vnni512, 1 2 3 4 5 6 7 8),
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::AvxVnni => by_rows!(dots_avxvnni, 1 2 3 4),
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::Avx2 => by_rows!(dots_avx2, 1 2 3 4),
            _ => by_rows!(dots_portable, 1 2 3 4),
        }
    }

    /// The kernels this CPU can run (for the tests).
    #[cfg(test)]
    pub(crate) fn supported() -> Vec<Int8Kernel> {
        let mut ks = vec![Int8Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") {
                ks.push(Int8Kernel::Avx2);
            }
            if has!("avx2") && has!("avxvnni") {
                ks.push(Int8Kernel::AvxVnni);
            }
            if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") {
                ks.push(Int8Kernel::Vnni512);
            }
        }
        ks
    }
}

/// Four bytes of row `r`, group `g`, as one little-endian word (the broadcast operand).
#[inline(always)]
fn word(a: &[i8], lda: usize, r: usize, g: usize) -> i32 {
    let s = &a[r * lda + g * GROUP..][..GROUP];
    i32::from_le_bytes([s[0] as u8, s[1] as u8, s[2] as u8, s[3] as u8])
}

/// The activations' bytes shifted from i8 to u8 (`a + 128`), for `vpdpbusd`.
const FLIP: i32 = 0x8080_8080_u32 as i32;

fn dots_portable<const M: usize>(
    acc: &mut [[i32; NR]; M],
    a: &[i8],
    lda: usize,
    b: &[i8],
    groups: usize,
    _sum: &[i32],
) {
    *acc = [[0; NR]; M];
    for g in 0..groups {
        let bg = &b[g * NR * GROUP..(g + 1) * NR * GROUP];
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let x = &a[r * lda + g * GROUP..][..GROUP];
            for (s, w) in acc_r.iter_mut().zip(bg.chunks_exact(GROUP)) {
                *s += (0..GROUP)
                    .map(|t| i32::from(x[t]) * i32::from(w[t]))
                    .sum::<i32>();
            }
        }
    }
}

/// Subtracts the compensation `128 · Σ q` of the `vpdpbusd` kernels.
#[inline(always)]
fn compensate<const M: usize>(acc: &mut [[i32; NR]; M], sum: &[i32]) {
    for row in acc.iter_mut() {
        for (s, &c) in row.iter_mut().zip(sum) {
            *s -= 128 * c;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dots_vnni512<const M: usize>(
    acc: &mut [[i32; NR]; M],
    a: &[i8],
    lda: usize,
    b: &[i8],
    groups: usize,
    sum: &[i32],
) {
    use std::arch::x86_64::*;
    let mut lo = [_mm512_setzero_si512(); M];
    let mut hi = [_mm512_setzero_si512(); M];
    assert!(b.len() >= groups * NR * GROUP);
    let bp = b.as_ptr();
    for g in 0..groups {
        let b0 = _mm512_loadu_si512(bp.add(g * NR * GROUP) as *const _);
        let b1 = _mm512_loadu_si512(bp.add(g * NR * GROUP + 64) as *const _);
        for r in 0..M {
            let u = _mm512_set1_epi32(word(a, lda, r, g) ^ FLIP);
            lo[r] = _mm512_dpbusd_epi32(lo[r], u, b0);
            hi[r] = _mm512_dpbusd_epi32(hi[r], u, b1);
        }
    }
    for r in 0..M {
        _mm512_storeu_si512(acc[r].as_mut_ptr() as *mut _, lo[r]);
        _mm512_storeu_si512(acc[r].as_mut_ptr().add(16) as *mut _, hi[r]);
    }
    compensate(acc, sum)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avxvnni")]
unsafe fn dots_avxvnni<const M: usize>(
    acc: &mut [[i32; NR]; M],
    a: &[i8],
    lda: usize,
    b: &[i8],
    groups: usize,
    sum: &[i32],
) {
    dots_ymm::<M, true>(acc, a, lda, b, groups);
    compensate(acc, sum)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dots_avx2<const M: usize>(
    acc: &mut [[i32; NR]; M],
    a: &[i8],
    lda: usize,
    b: &[i8],
    groups: usize,
    _sum: &[i32],
) {
    dots_ymm::<M, false>(acc, a, lda, b, groups)
}

/// The 256-bit kernels: two passes of 16 columns (two registers per row). `VNNI`: `vpdpbusd`
/// on the shifted activations (the caller compensates); otherwise `vpsignb` + `vpmaddubsw` +
/// `vpmaddwd`, exact without compensation.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn dots_ymm<const M: usize, const VNNI: bool>(
    acc: &mut [[i32; NR]; M],
    a: &[i8],
    lda: usize,
    b: &[i8],
    groups: usize,
) {
    use std::arch::x86_64::*;
    assert!(b.len() >= groups * NR * GROUP);
    let ones = _mm256_set1_epi16(1);
    for half in 0..2 {
        let bp = b.as_ptr().add(half * 16 * GROUP);
        let mut lo = [_mm256_setzero_si256(); M];
        let mut hi = [_mm256_setzero_si256(); M];
        for g in 0..groups {
            let b0 = _mm256_loadu_si256(bp.add(g * NR * GROUP) as *const __m256i);
            let b1 = _mm256_loadu_si256(bp.add(g * NR * GROUP + 32) as *const __m256i);
            for r in 0..M {
                let x = word(a, lda, r, g);
                if VNNI {
                    let u = _mm256_set1_epi32(x ^ FLIP);
                    lo[r] = _mm256_dpbusd_avx_epi32(lo[r], u, b0);
                    hi[r] = _mm256_dpbusd_avx_epi32(hi[r], u, b1);
                } else {
                    let x = _mm256_set1_epi32(x);
                    let ax = _mm256_abs_epi8(x);
                    let p0 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(b0, x));
                    let p1 = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(b1, x));
                    lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(p0, ones));
                    hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(p1, ones));
                }
            }
        }
        for r in 0..M {
            let o = acc[r].as_mut_ptr().add(16 * half);
            _mm256_storeu_si256(o as *mut __m256i, lo[r]);
            _mm256_storeu_si256(o.add(8) as *mut __m256i, hi[r]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random stream (xorshift) of floats in `[-1, 1)`, with a few
    /// large values so that row scales differ.
    fn values(seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let v = (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                if i % 97 == 0 {
                    v * 9.0
                } else {
                    v
                }
            })
            .collect()
    }

    /// Every kernel's int32 sums equal a plain scalar sum over the quantized values, for tiles
    /// of every row count and inner sizes that are not multiples of 4 (padding) or of the tile.
    #[test]
    fn every_kernel_gives_the_exact_integer_sums() {
        for (n, k) in [(NR + 5, 37), (NR * 2, 64), (3, 1), (NR * 3 + 1, 130)] {
            let w = values(n as u64 * 31 + k as u64, n * k);
            let panels = Int8Panels::quantize(n, k, |j, buf| buf.copy_from_slice(&w[j * k..][..k]));
            for rows in [1, 2, 3, 4, 5, 7, 8] {
                let x = values(rows as u64 + 7, rows * k);
                let acts = Activations::quantize(&x, rows, k, &panels);
                let in4 = panels.in4;
                for p in 0..n.div_ceil(NR) {
                    let b = &panels.q[p * in4 * NR..(p + 1) * in4 * NR];
                    let sum = &panels.sum[p * NR..(p + 1) * NR];
                    // The scalar reference from the quantized values themselves.
                    let mut want = vec![[0i32; NR]; rows];
                    for (r, row) in want.iter_mut().enumerate() {
                        for (c, v) in row.iter_mut().enumerate() {
                            for kk in 0..in4 {
                                let q = b[(kk / GROUP) * NR * GROUP + c * GROUP + kk % GROUP];
                                *v += i32::from(acts.q[r * in4 + kk]) * i32::from(q);
                            }
                        }
                    }
                    for kernel in Int8Kernel::supported() {
                        let tile = kernel.tile_rows();
                        for r0 in (0..rows).step_by(tile) {
                            let m = tile.min(rows - r0);
                            let mut acc = vec![[7i32; NR]; m];
                            // SAFETY: `supported` lists only kernels this CPU runs.
                            unsafe {
                                kernel.dots(&mut acc, &acts.q[r0 * in4..], in4, b, in4 / GROUP, sum)
                            };
                            assert_eq!(acc, want[r0..r0 + m], "{kernel:?} {rows}×{k}→{n} p{p}");
                        }
                    }
                }
            }
        }
    }

    /// Quantization keeps each value within half a step of its row's scale, keeps `-128` out,
    /// and an all-zero row stays zero.
    #[test]
    fn per_row_quantization_is_within_half_a_step() {
        let (n, k) = (NR + 3, 41);
        let mut w = values(5, n * k);
        w[2 * k..3 * k].fill(0.0);
        let p = Int8Panels::quantize(n, k, |j, buf| buf.copy_from_slice(&w[j * k..][..k]));
        assert!(p.q.iter().all(|&q| q >= -127));
        for j in 0..n {
            let amax = w[j * k..(j + 1) * k]
                .iter()
                .fold(0f32, |m, v| m.max(v.abs()));
            assert_eq!(p.scale[j], amax / 127.0);
            for kk in 0..k {
                let err = (p.value(j, kk) - w[j * k + kk]).abs();
                assert!(err <= amax / 254.0 * 1.0001, "({j}, {kk}): {err}");
            }
        }
        assert_eq!(p.scale[2], 0.0);
        assert_eq!(p.sum[2], 0);
        let acts = Activations::quantize(&[0.0; 41], 1, k, &p);
        assert!(acts.q.iter().all(|&q| q == 0));
        assert_eq!(acts.scale, [0.0]);
    }
}
