//! SIMD reductions over float32 slices, and the choice of CPU kernel they share with the
//! model's packed products (`model::kernels`). A leaf module: both `model` (attention's
//! [`dot`]) and `decoding` (log-softmax's [`max`] and [`sum_exp`]) use it, and it knows
//! neither.
//! - [`dot`]: the inner product (single-query attention);
//! - [`max`] and [`sum_exp`]: the two reductions of a log-softmax over the vocabulary, in lanes
//!   that vectorize, with a polynomial `exp`.
//!
//! [`Isa::detect`] picks the kernel once: the best the CPU runs, or the one
//! `TARJAMA_CPU_KERNEL` names.

/// `Σ a[i] b[i]` over the common length.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if Isa::detect() != Isa::Portable {
        // SAFETY: the CPU supports AVX2 and FMA (both kernels above Portable need them).
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

/// `max(x)` (`-inf` for an empty slice; NaN is ignored, as `f32::max` does), in 16 lanes so
/// that it vectorizes. The maximum does not depend on the order.
pub(crate) fn max(x: &[f32]) -> f32 {
    const L: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; L];
    let chunks = x.chunks_exact(L);
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for c in chunks {
        for i in 0..L {
            lanes[i] = lanes[i].max(c[i]);
        }
    }
    lanes.iter().copied().fold(tail, f32::max)
}

/// `Σ exp(x[i] - shift)` for `x[i] ≤ shift` (the sum of a softmax), with a vectorized `exp`.
pub(crate) fn sum_exp(x: &[f32], shift: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if Isa::detect() != Isa::Portable {
        // SAFETY: the CPU supports AVX2 and FMA (both kernels above Portable need them).
        return unsafe { sum_exp_fma(x, shift) };
    }
    sum_exp_lanes::<false>(x, shift)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_exp_fma(x: &[f32], shift: f32) -> f32 {
    sum_exp_lanes::<true>(x, shift)
}

#[inline(always)]
fn sum_exp_lanes<const FMA: bool>(x: &[f32], shift: f32) -> f32 {
    const L: usize = 16;
    let mut acc = [0f32; L];
    let chunks = x.chunks_exact(L);
    let tail: f32 = chunks
        .remainder()
        .iter()
        .map(|&v| exp::<FMA>(v - shift))
        .sum();
    for c in chunks {
        for i in 0..L {
            acc[i] += exp::<FMA>(c[i] - shift);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `exp(x)` for `x ≤ 88` to about 1 ulp, in straight-line arithmetic that vectorizes: Cephes'
/// `expf` (S. L. Moshier), `x = n ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-7 polynomial for
/// `exp(r)`, and `2ⁿ` built in the exponent bits. Inputs below `-87.3` give about `1e-38`
/// instead of a denormal or 0 (`-inf` included), which no softmax sum can notice.
#[inline(always)]
fn exp<const FMA: bool>(x: f32) -> f32 {
    let madd = |a: f32, b: f32, c: f32| if FMA { a.mul_add(b, c) } else { a * b + c };
    let x = x.clamp(-87.336_54, 88.0);
    let n = madd(x, std::f32::consts::LOG2_E, 0.5).floor();
    let r = madd(n, -0.693_359_4, x);
    let r = madd(n, 2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4;
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = madd(p, r, c);
    }
    let p = madd(p, r * r, r) + 1.0;
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The instruction set this CPU's kernels use (the reductions here and the register-tiled
/// products of `model::kernels`), detected once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// 8 rows × 32 columns: 16 of the 32 AVX-512 registers accumulate.
    Avx512,
    /// 6 rows × 16 columns, twice per panel: 12 of the 16 AVX registers accumulate.
    Avx2Fma,
    /// Plain loops the compiler vectorizes for the baseline target, 4 rows × 32 columns. Only
    /// the tests use it: without AVX2+FMA weights are not packed (see `model::kernels`).
    Portable,
}

impl Isa {
    /// The best kernel this CPU supports, or the one named by the environment variable
    /// `TARJAMA_CPU_KERNEL` (`avx512`, `avx2`, or `portable` for candle's kernels and no packing,
    /// in any case; one the CPU lacks gives the best it has, any other value the best and a
    /// warning, see [`cpu_kernel_warning`]), which lets the parity tests run every path on one
    /// machine.
    pub(crate) fn detect() -> Isa {
        Isa::choice().0
    }

    /// [`Isa::detect`]'s kernel with the warning about a bad `TARJAMA_CPU_KERNEL`, chosen once.
    fn choice() -> &'static (Isa, Option<String>) {
        static ISA: std::sync::OnceLock<(Isa, Option<String>)> = std::sync::OnceLock::new();
        ISA.get_or_init(|| {
            let supported = Isa::supported();
            let best = *supported.last().unwrap_or(&Isa::Portable);
            let Ok(name) = std::env::var("TARJAMA_CPU_KERNEL") else {
                return (best, None);
            };
            let wanted = match name.trim().to_ascii_lowercase().as_str() {
                "avx512" => Some(Isa::Avx512),
                "avx2" => Some(Isa::Avx2Fma),
                "portable" => Some(Isa::Portable),
                _ => None,
            };
            match wanted {
                Some(isa) if supported.contains(&isa) => (isa, None),
                // One this CPU lacks: the best it has (so one setting serves every machine).
                Some(_) => (best, None),
                None => (
                    best,
                    Some(format!(
                        "tarjama: warning: TARJAMA_CPU_KERNEL={name:?} is not one of avx512, \
                         avx2, portable; using {best:?}"
                    )),
                ),
            }
        })
    }

    /// The kernels this CPU can run, best last.
    pub(crate) fn supported() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut isas = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if has_fma() {
                isas.push(Isa::Avx2Fma);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                isas.push(Isa::Avx512);
            }
        }
        isas
    }
}

/// The warning for a `TARJAMA_CPU_KERNEL` that names no kernel (`tarjama: warning:
/// TARJAMA_CPU_KERNEL="x" is not one of avx512, avx2, portable; using Avx2Fma`), for the caller to
/// show; `None` when the variable is unset or valid. The library does not print it.
pub fn cpu_kernel_warning() -> Option<String> {
    Isa::choice().1.clone()
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

    /// The vectorized exp is within 2 ulp of the standard library's over the softmax range,
    /// on both paths; the sum and the max equal plain loops' up to rounding.
    #[test]
    fn exp_sum_and_max_match_the_plain_loops() {
        for i in 0..20_000 {
            let x = -87.0 + i as f32 * (87.0 / 20_000.0);
            let want = x.exp();
            for got in [exp::<false>(x), exp::<true>(x)] {
                let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
                assert!(ulps <= 2, "exp({x}) = {got}, std {want}");
            }
        }
        assert!(exp::<false>(f32::NEG_INFINITY) < 1e-37);
        let x: Vec<f32> = (0..1000).map(|i| ((i * 37) % 101) as f32 * -0.1).collect();
        let want: f64 = x.iter().map(|&v| ((v + 0.5) as f64).exp()).sum();
        let got = sum_exp(&x, -0.5) as f64;
        assert!((got - want).abs() / want < 1e-6, "{got} vs {want}");
        assert_eq!(max(&x), 0.0);
        assert_eq!(
            max(&x[1..]),
            x[1..].iter().copied().fold(f32::MIN, f32::max)
        );
        assert_eq!(max(&[]), f32::NEG_INFINITY);
        assert_eq!(max(&[f32::NAN, -3.0]), -3.0);
    }
}
