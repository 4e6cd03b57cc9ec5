//! Python and numpy semantics that the reference implementations rely on.
//!
//! sacrebleu and rouge-score are Python: their string handling follows `str.split()`,
//! `str.rstrip()` and `str.lower()`, and sacrebleu's bootstrap arithmetic follows numpy 2's
//! promotion rules (NEP 50), where a Python float meeting a `float32` stays `float32`. Matching
//! them to the last printed digit needs both, so they live here, in one place.

use std::ops::{Add, Div, Mul, Sub};

/// `str.isspace()`: Unicode `White_Space` plus the four ASCII separators U+001C..U+001F,
/// which Python treats as whitespace and Rust does not.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.split()` with no argument: runs of Python whitespace separate words, no empty words.
pub(crate) fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|w| !w.is_empty())
}

/// `str.rstrip()` with no argument.
pub(crate) fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

/// `' '.join(s.split())`: collapse whitespace runs to one space and trim both ends.
pub(crate) fn py_normalize_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in py_split(s) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// A number as sacrebleu's scoring code sees it: a Python `float`/`int` (kept as `f64`; the
/// integers involved are far below 2^53, so they are exact) or a numpy `float32` scalar.
///
/// Arithmetic follows numpy 2 (NEP 50): a Python number meeting a `float32` is converted to
/// `float32` and the operation is done in `float32`; two Python numbers give a Python float.
/// Bootstrap resampling in sacrebleu sums statistics in `float32`, so its resampled scores are
/// computed this way; the plain corpus score sees only Python numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// A Python `int` or `float`.
    Py(f64),
    /// A numpy `float32` scalar.
    F32(f32),
}

impl Num {
    /// The value as `f64` (exact for both variants).
    pub fn value(self) -> f64 {
        match self {
            Num::Py(x) => x,
            Num::F32(x) => f64::from(x),
        }
    }

    /// Truthiness and `== 0` comparisons.
    pub fn is_zero(self) -> bool {
        self.value() == 0.0
    }

    /// `int(x)`: truncation toward zero.
    pub fn trunc_int(self) -> i64 {
        self.value().trunc() as i64
    }

    fn binary(self, rhs: Num, f64_op: fn(f64, f64) -> f64, f32_op: fn(f32, f32) -> f32) -> Num {
        match (self, rhs) {
            (Num::Py(a), Num::Py(b)) => Num::Py(f64_op(a, b)),
            (Num::F32(a), Num::Py(b)) => Num::F32(f32_op(a, b as f32)),
            (Num::Py(a), Num::F32(b)) => Num::F32(f32_op(a as f32, b)),
            (Num::F32(a), Num::F32(b)) => Num::F32(f32_op(a, b)),
        }
    }
}

impl Add for Num {
    type Output = Num;
    fn add(self, rhs: Num) -> Num {
        self.binary(rhs, |a, b| a + b, |a, b| a + b)
    }
}

impl Sub for Num {
    type Output = Num;
    fn sub(self, rhs: Num) -> Num {
        self.binary(rhs, |a, b| a - b, |a, b| a - b)
    }
}

impl Mul for Num {
    type Output = Num;
    fn mul(self, rhs: Num) -> Num {
        self.binary(rhs, |a, b| a * b, |a, b| a * b)
    }
}

impl Div for Num {
    type Output = Num;
    fn div(self, rhs: Num) -> Num {
        self.binary(rhs, |a, b| a / b, |a, b| a / b)
    }
}

/// Python number shorthand.
pub(crate) fn py(x: f64) -> Num {
    Num::Py(x)
}

/// numpy's pairwise summation (`pairwise_sum` in numpy's `loops_utils.h`), which `np.sum` and
/// `np.mean` use along a contiguous axis. Generic over the element type so that `float32`
/// arrays are summed in `float32`, as numpy does.
pub(crate) fn pairwise_sum<T>(a: &[T]) -> T
where
    T: Copy + Add<Output = T> + Default,
{
    const BLOCK: usize = 128;
    let n = a.len();
    if n < 8 {
        let mut res = T::default();
        for &x in a {
            res = res + x;
        }
        res
    } else if n <= BLOCK {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc = *acc + a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res = res + a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        assert_eq!(
            py_split(" a\u{1c}b\t c\u{3000}").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(py_rstrip("x \r\n\u{1f}"), "x");
        assert_eq!(py_normalize_spaces("  a   b "), "a b");
    }

    #[test]
    fn nep50_promotion() {
        // float32(0.1) * 3.0 stays float32.
        let x = Num::F32(0.1) * py(3.0);
        assert_eq!(x, Num::F32(0.1f32 * 3.0f32));
        assert_eq!(py(1.0) / py(3.0), Num::Py(1.0 / 3.0));
    }

    #[test]
    fn pairwise_small_and_large() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.1).collect();
        let s = pairwise_sum(&v);
        assert!((s - 49950.0).abs() < 1e-6);
        assert_eq!(pairwise_sum(&[1.0f32, 2.0, 3.0]), 6.0);
    }
}

/// `statistics.mean` of non-negative finite floats: the exact mean of the values, rounded once
/// to the nearest `f64` (Python sums them as exact fractions). A mean below the smallest
/// normal `f64` (about 2.2e-308) is given as 0. Empty input gives 0.
pub(crate) fn exact_mean(values: &[f64]) -> f64 {
    // every value is m * 2^(s - 1074) with s >= 0: add the m << s exactly in 64-bit limbs
    const LIMBS: usize = 40;
    if values.is_empty() {
        return 0.0;
    }
    // one extra low limb: the total times 2^64, so the quotient carries 64 more bits
    let mut total = [0u64; LIMBS];
    for &x in values {
        debug_assert!(x.is_finite() && x >= 0.0, "{x}");
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as usize;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, s) = if exp == 0 {
            (frac, 0)
        } else {
            (frac | (1u64 << 52), exp - 1)
        };
        let (limb, shift) = (1 + s / 64, s % 64);
        let wide = u128::from(m) << shift;
        let mut carry = 0u128;
        for (k, part) in [wide as u64, (wide >> 64) as u64].into_iter().enumerate() {
            let sum = u128::from(total[limb + k]) + u128::from(part) + carry;
            total[limb + k] = sum as u64;
            carry = sum >> 64;
        }
        let mut k = limb + 2;
        while carry > 0 {
            let sum = u128::from(total[k]) + carry;
            total[k] = sum as u64;
            carry = sum >> 64;
            k += 1;
        }
    }
    // long division by n
    let n = values.len() as u128;
    let mut rem = 0u128;
    for limb in total.iter_mut().rev() {
        let cur = (rem << 64) | u128::from(*limb);
        *limb = (cur / n) as u64;
        rem = cur % n;
    }
    // the quotient's top 64 bits, with a sticky bit for everything below
    let Some(top) = total.iter().rposition(|&l| l != 0) else {
        return 0.0;
    };
    let lead = 64 - total[top].leading_zeros() as usize; // bits used in the top limb
    let bitlen = top * 64 + lead;
    if bitlen <= 64 {
        return 0.0;
    }
    let low_bit = bitlen - 64; // index of the lowest bit kept
    let get = |i: usize| -> u64 { total.get(i).copied().unwrap_or(0) };
    let (li, ls) = (low_bit / 64, low_bit % 64);
    let mut u = if ls == 0 {
        get(li)
    } else {
        (get(li) >> ls) | (get(li + 1) << (64 - ls))
    };
    let below = total[..li].iter().any(|&l| l != 0) || (ls > 0 && get(li) << (64 - ls) != 0);
    if below || rem != 0 {
        u |= 1;
    }
    // value = u * 2^(low_bit - 1074 - 64), u < 2^64 rounded once to 53 bits here
    let v = u as f64;
    let e = low_bit as i64 - 1074 - 64;
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    if e < -1000 {
        let r = v * pow2(-1000) * pow2(e + 1000);
        if r < f64::MIN_POSITIVE {
            0.0
        } else {
            r
        }
    } else {
        v * pow2(e)
    }
}

#[cfg(test)]
mod mean_tests {
    use super::exact_mean;

    /// Values from Python 3.11: `statistics.mean([...])`.
    #[test]
    fn exact_mean_rounds_once_like_python() {
        assert_eq!(exact_mean(&[0.1, 0.2, 0.3]), 0.2);
        assert_eq!(exact_mean(&[1.0, 2.0]), 1.5);
        assert_eq!(exact_mean(&[32.5, 0.0, 11.25]), 14.583333333333334);
        assert_eq!(exact_mean(&[1e16, 1.0, -0.0 + 1.0]), 3333333333333334.0);
        assert_eq!(exact_mean(&[]), 0.0);
        assert_eq!(exact_mean(&[0.0, 0.0]), 0.0);
    }
}
