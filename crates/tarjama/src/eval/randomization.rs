//! Paired approximate randomization as sacrebleu 2.6.0 does it
//! (`sacrebleu.significance._paired_ar_test`, what `sacrebleu --paired-ar` runs).
//!
//! For every trial, each segment's statistics are swapped between the baseline and the system
//! with probability 1/2, giving two pseudo-systems whose score difference is compared with the
//! real one. The coin flips are numpy's `default_rng(seed).integers(2, size=(trials, n),
//! dtype=bool)`, reproduced bit for bit (see [`CoinFlips`]), so the p-values equal sacrebleu's.

use super::bootstrap::Pcg64;
use super::py::Num;
use super::CorpusMetric;

/// sacrebleu's default number of approximate randomization trials (`--paired-ar-n`).
pub const DEFAULT_TRIALS: usize = 10_000;

/// The most trials [`paired_randomization`] is asked for by the command line. Each trial
/// scores two pseudo-systems, so time grows with `trials × segments × systems × metrics`.
pub const MAX_TRIALS: usize = 1_000_000;

/// The stream of `np.random.default_rng(seed).integers(2, size=..., dtype=bool)`, in row-major
/// order: numpy draws 32 bits at a time from PCG64 (`next_uint32`) and hands them out lowest
/// bit first (`buffered_bounded_bool`), one bit per value, across the whole array.
#[derive(Clone, Debug)]
pub struct CoinFlips {
    gen: Pcg64,
    buf: u32,
    left: u32,
}

impl CoinFlips {
    /// The flips of `np.random.default_rng(seed)`.
    pub fn new(seed: u64) -> Self {
        CoinFlips {
            gen: Pcg64::from_seed(seed),
            buf: 0,
            left: 0,
        }
    }

    /// The next flip (`True` in numpy's array: the baseline's statistics go to pseudo-system
    /// A, the system's to B).
    pub fn next_flip(&mut self) -> bool {
        if self.left == 0 {
            self.buf = self.gen.next_u32();
            self.left = 31;
        } else {
            self.buf >>= 1;
            self.left -= 1;
        }
        self.buf & 1 == 1
    }
}

/// Result of one system in an approximate randomization test.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomizationResult {
    /// The actual corpus score (0-100).
    pub score: f64,
    /// p-value of the difference from the baseline, `(1 + #{trials with |A − B| > |Δ|}) /
    /// (trials + 1)`; `None` for the baseline itself.
    pub p_value: Option<f64>,
}

/// `significance._compute_p_value` on the trial differences.
fn p_value(diffs: impl Iterator<Item = f64>, trials: usize, real: f64) -> f64 {
    let c = diffs.filter(|&d| d > real).count();
    (c as f64 + 1.0) / (trials as f64 + 1.0)
}

/// Paired approximate randomization of `systems[1..]` against the baseline `systems[0]` for
/// one metric (`significance.PairedTest` with `test_type='ar'`). `systems[s]` holds the
/// segment statistics of system `s` ([`CorpusMetric::segment_stats`]); every system gets the
/// same `trials` rows of coin flips from `seed`, as sacrebleu reseeds for each system.
///
/// The pseudo-systems' statistics are summed in `f64` (numpy sums them in `int64` for BLEU
/// and chrF, exactly the same values) and scored with Python number semantics.
pub fn paired_randomization<M: CorpusMetric + ?Sized>(
    metric: &M,
    systems: &[Vec<Vec<f64>>],
    trials: usize,
    seed: u64,
) -> Vec<RandomizationResult> {
    let score = |stats: &[f64]| -> f64 {
        let nums: Vec<Num> = stats.iter().map(|&x| Num::Py(x)).collect();
        metric.score_from_stats(&nums).value()
    };
    let actual: Vec<f64> = systems
        .iter()
        .map(|s| score(&super::sum_stats(s)))
        .collect();
    let mut out = vec![RandomizationResult {
        score: actual[0],
        p_value: None,
    }];
    let Some(base) = systems.first() else {
        return Vec::new();
    };
    let k = base.first().map_or(0, Vec::len);
    for (s, sys) in systems.iter().enumerate().skip(1) {
        let mut flips = CoinFlips::new(seed);
        let mut diffs = Vec::with_capacity(trials);
        for _ in 0..trials {
            // pos_sel @ bl + neg_sel @ sys, and the other way round
            let (mut a_bl, mut a_sys) = (vec![0f64; k], vec![0f64; k]);
            let (mut b_bl, mut b_sys) = (vec![0f64; k], vec![0f64; k]);
            for (bl, sy) in base.iter().zip(sys) {
                let (a1, a2, b1, b2) = if flips.next_flip() {
                    (&mut a_bl, &mut b_sys, bl, sy)
                } else {
                    (&mut a_sys, &mut b_bl, sy, bl)
                };
                for (t, &x) in a1.iter_mut().zip(b1) {
                    *t += x;
                }
                for (t, &x) in a2.iter_mut().zip(b2) {
                    *t += x;
                }
            }
            let a: Vec<f64> = a_bl.iter().zip(&a_sys).map(|(x, y)| x + y).collect();
            let b: Vec<f64> = b_bl.iter().zip(&b_sys).map(|(x, y)| x + y).collect();
            diffs.push((score(&a) - score(&b)).abs());
        }
        let real = (actual[0] - actual[s]).abs();
        out.push(RandomizationResult {
            score: actual[s],
            p_value: Some(p_value(diffs.into_iter(), trials, real)),
        });
    }
    out
}

/// Approximate randomization on per-document values whose corpus score is their mean (ROUGE
/// F1), with the same coin flips as [`paired_randomization`]; sacrebleu has no ROUGE, so this
/// is tarjama's extension of its procedure. Means are summed in document order; scores are
/// on the values' own scale.
pub fn paired_randomization_means(
    systems: &[Vec<f64>],
    trials: usize,
    seed: u64,
) -> Vec<RandomizationResult> {
    let Some(base) = systems.first() else {
        return Vec::new();
    };
    let n = base.len() as f64;
    let actual: Vec<f64> = systems
        .iter()
        .map(|v| v.iter().fold(0.0, |a, &x| a + x) / n)
        .collect();
    let mut out = vec![RandomizationResult {
        score: actual[0],
        p_value: None,
    }];
    for (s, sys) in systems.iter().enumerate().skip(1) {
        let mut flips = CoinFlips::new(seed);
        let mut diffs = Vec::with_capacity(trials);
        for _ in 0..trials {
            let (mut a, mut b) = (0.0, 0.0);
            for (&x, &y) in base.iter().zip(sys) {
                let (xa, xb) = if flips.next_flip() { (x, y) } else { (y, x) };
                a += xa;
                b += xb;
            }
            diffs.push((a / n - b / n).abs());
        }
        let real = (actual[0] - actual[s]).abs();
        out.push(RandomizationResult {
            score: actual[s],
            p_value: Some(p_value(diffs.into_iter(), trials, real)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 80 values of `np.random.default_rng(12345).integers(2, size=(3, 40),
    /// dtype=bool)` printed by numpy 2 (1 = True).
    #[test]
    fn coin_flips_match_numpy() {
        let want =
            "10111001100000111111111101001101101100011000110101001100010111000111101100100011";
        let mut f = CoinFlips::new(12345);
        let got: String = (0..80)
            .map(|_| if f.next_flip() { '1' } else { '0' })
            .collect();
        assert_eq!(got, want);
    }

    /// A system equal to the baseline: every trial difference is 0, never above the real 0,
    /// so p = 1 / (trials + 1).
    #[test]
    fn identical_systems_get_the_smallest_p() {
        let v = vec![0.5, 0.25, 1.0];
        let r = paired_randomization_means(&[v.clone(), v], 9, 1);
        assert_eq!(r[0].p_value, None);
        assert_eq!(r[1].p_value, Some(0.1));
        assert_eq!(r[1].score, 1.75 / 3.0);
    }
}
