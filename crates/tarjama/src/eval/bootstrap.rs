//! Paired bootstrap resampling as sacrebleu 2.6.0 does it
//! (`sacrebleu.significance._paired_bs_test`), with numpy's random numbers reproduced exactly.
//!
//! sacrebleu draws its resampling indices with `np.random.default_rng(seed).choice(n,
//! size=(resamples, n))`: a PCG64 generator seeded through numpy's `SeedSequence`, bounded by
//! Lemire's method. All three are reimplemented here, so the same seed gives the same
//! resamples, and the resampled scores are computed with numpy's `float32` arithmetic (see
//! [`Num`]), so means, confidence intervals and p-values equal sacrebleu's.

use super::py::{exact_mean, pairwise_sum, Num};
use super::CorpusMetric;

/// sacrebleu's default seed (`SACREBLEU_SEED`).
pub const DEFAULT_SEED: u64 = 12345;
/// sacrebleu's default number of paired bootstrap resamples.
pub const DEFAULT_RESAMPLES: usize = 1000;

/// numpy's `SeedSequence(entropy).generate_state(n_words, np.uint64)` for an integer seed
/// and no spawn key.
pub fn seed_sequence_state(entropy: u64, n_words: usize) -> Vec<u64> {
    const INIT_A: u32 = 0x43b0_d7e5;
    const MULT_A: u32 = 0x931e_8875;
    const INIT_B: u32 = 0x8b51_f9dd;
    const MULT_B: u32 = 0x58f3_8ded;
    const MIX_MULT_L: u32 = 0xca01_f9dd;
    const MIX_MULT_R: u32 = 0x4973_f715;
    const XSHIFT: u32 = 16;
    const POOL: usize = 4;

    // the seed as little-endian 32-bit words
    let mut words = Vec::new();
    let mut e = entropy;
    while e > 0 {
        words.push(e as u32);
        e >>= 32;
    }
    if words.is_empty() {
        words.push(0);
    }

    let mut hash_const = INIT_A;
    let mut hashmix = |value: u32| -> u32 {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> XSHIFT)
    };
    let mix = |x: u32, y: u32| -> u32 {
        let r = MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> XSHIFT)
    };

    let mut pool = [0u32; POOL];
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(words.get(i).copied().unwrap_or(0));
    }
    for src in 0..POOL {
        for dst in 0..POOL {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    for &w in words.iter().skip(POOL) {
        for slot in pool.iter_mut() {
            let h = hashmix(w);
            *slot = mix(*slot, h);
        }
    }

    let mut hash_b = INIT_B;
    let n32 = n_words * 2;
    let mut state32 = Vec::with_capacity(n32);
    for i in 0..n32 {
        let mut v = pool[i % POOL] ^ hash_b;
        hash_b = hash_b.wrapping_mul(MULT_B);
        v = v.wrapping_mul(hash_b);
        v ^= v >> XSHIFT;
        state32.push(v);
    }
    state32
        .chunks(2)
        .map(|c| u64::from(c[0]) | (u64::from(c[1]) << 32))
        .collect()
}

/// numpy's PCG64 bit generator (XSL-RR output on a 128-bit LCG).
#[derive(Clone, Debug)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    spare32: Option<u32>,
}

const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

impl Pcg64 {
    /// `np.random.PCG64(seed)` for an integer seed.
    pub fn from_seed(seed: u64) -> Self {
        let v = seed_sequence_state(seed, 4);
        let initstate = (u128::from(v[0]) << 64) | u128::from(v[1]);
        let initseq = (u128::from(v[2]) << 64) | u128::from(v[3]);
        let mut g = Pcg64 {
            state: 0,
            inc: (initseq << 1) | 1,
            spare32: None,
        };
        g.step();
        g.state = g.state.wrapping_add(initstate);
        g.step();
        g
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// Next 64 random bits (`random_raw`).
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let hi = (self.state >> 64) as u64;
        let lo = self.state as u64;
        let rot = (self.state >> 122) as u32;
        (hi ^ lo).rotate_right(rot)
    }

    /// Next 32 random bits: the low half of a 64-bit draw, then its high half.
    pub fn next_u32(&mut self) -> u32 {
        if let Some(x) = self.spare32.take() {
            return x;
        }
        let v = self.next_u64();
        self.spare32 = Some((v >> 32) as u32);
        v as u32
    }

    /// `Generator.integers(0, n)` for one value: Lemire's bounded method on 32-bit draws
    /// (numpy's `buffered_bounded_lemire_uint32`) when `n - 1` fits in 32 bits.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "empty range");
        let rng = n - 1;
        if rng == 0 {
            return 0;
        }
        if rng == u64::from(u32::MAX) {
            return u64::from(self.next_u32());
        }
        if rng < u64::from(u32::MAX) {
            let rng_excl = rng as u32 + 1;
            let mut m = u64::from(self.next_u32()) * u64::from(rng_excl);
            let mut leftover = m as u32;
            if leftover < rng_excl {
                let threshold = (u32::MAX - rng as u32) % rng_excl;
                while leftover < threshold {
                    m = u64::from(self.next_u32()) * u64::from(rng_excl);
                    leftover = m as u32;
                }
            }
            return m >> 32;
        }
        // 64-bit Lemire (numpy's bounded_lemire_uint64)
        let rng_excl = rng + 1;
        let mut m = u128::from(self.next_u64()) * u128::from(rng_excl);
        let mut leftover = m as u64;
        if leftover < rng_excl {
            let threshold = (u64::MAX - rng) % rng_excl;
            while leftover < threshold {
                m = u128::from(self.next_u64()) * u128::from(rng_excl);
                leftover = m as u64;
            }
        }
        (m >> 64) as u64
    }
}

/// The most resamples [`Resamples::new`] accepts. Resampled scores take about 40 bytes per
/// resample and system (indices are not stored beyond [`CACHED_INDICES`]), and each resample
/// sums the statistics of every segment once per system and metric, so this keeps a run
/// within a few hundred MB and minutes; sacrebleu's default is 1000.
pub const MAX_RESAMPLES: usize = 1_000_000;

/// Resampling plans with at most this many indices (32 MB) are drawn once and kept; larger
/// ones are drawn again, row by row, on every pass, so memory never grows with
/// `resamples × segments`.
pub const CACHED_INDICES: usize = 1 << 22;

/// `np.random.default_rng(seed).choice(n, size=(rows, n), replace=True)`, row-major.
pub fn resample_indices(seed: u64, rows: usize, n: usize) -> Vec<usize> {
    let mut g = Pcg64::from_seed(seed);
    (0..rows * n).map(|_| g.below(n as u64) as usize).collect()
}

/// The resamples of a paired bootstrap test: `rows` rows of `n` segment indices, the rows of
/// `np.random.default_rng(seed).choice(n, size=(rows, n))` (see [`resample_indices`]).
/// Small plans are kept in memory; larger ones are regenerated from the seed on each pass
/// ([`Resamples::for_each_row`]), which yields the same rows.
#[derive(Clone, Debug)]
pub struct Resamples {
    seed: u64,
    rows: usize,
    n: usize,
    cached: Option<Vec<usize>>,
}

impl Resamples {
    /// `rows` resamples of `n` segments from `seed`. Errors when `rows` is 0 or above
    /// [`MAX_RESAMPLES`], or `n` is 0.
    pub fn new(seed: u64, rows: usize, n: usize) -> Result<Self, String> {
        Self::with_cache_limit(seed, rows, n, CACHED_INDICES)
    }

    /// [`Resamples::new`], keeping the indices in memory only when there are at most `limit`
    /// of them (0: always regenerate them). The rows are the same either way.
    pub fn with_cache_limit(
        seed: u64,
        rows: usize,
        n: usize,
        limit: usize,
    ) -> Result<Self, String> {
        if rows == 0 {
            return Err("the number of resamples must be positive".into());
        }
        if rows > MAX_RESAMPLES {
            return Err(format!(
                "{rows} resamples is more than the {MAX_RESAMPLES} allowed (their scores alone \
                 would take about {} MB per system)",
                rows.saturating_mul(40) / 1_000_000
            ));
        }
        if n == 0 {
            return Err("there are no segments to resample".into());
        }
        let cached = rows
            .checked_mul(n)
            .filter(|&k| k <= limit)
            .map(|_| resample_indices(seed, rows, n));
        Ok(Resamples {
            seed,
            rows,
            n,
            cached,
        })
    }

    /// Number of resamples.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of segments in each resample.
    pub fn segments(&self) -> usize {
        self.n
    }

    /// Calls `f` with every resample's segment indices, in order.
    pub fn for_each_row(&self, mut f: impl FnMut(&[usize])) {
        match &self.cached {
            Some(idxs) => idxs.chunks(self.n).for_each(f),
            None => {
                let mut g = Pcg64::from_seed(self.seed);
                let mut row = vec![0usize; self.n];
                for _ in 0..self.rows {
                    for x in row.iter_mut() {
                        *x = g.below(self.n as u64) as usize;
                    }
                    f(&row);
                }
            }
        }
    }
}

/// A numpy array of scores: `float32` when every score is a `float32`, else `float64`.
#[derive(Clone, Debug)]
enum ScoreArray {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl ScoreArray {
    /// `np.array(scores)`.
    fn from_nums(v: &[Num]) -> Self {
        if v.iter().all(|x| matches!(x, Num::F32(_))) {
            ScoreArray::F32(v.iter().map(|x| x.value() as f32).collect())
        } else {
            ScoreArray::F64(v.iter().map(|x| x.value()).collect())
        }
    }

    fn as_f64(&self) -> Vec<f64> {
        match self {
            ScoreArray::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ScoreArray::F64(v) => v.clone(),
        }
    }

    /// `np.mean`.
    fn mean(&self) -> Num {
        match self {
            ScoreArray::F32(v) => Num::F32(pairwise_sum(v) / v.len() as f32),
            ScoreArray::F64(v) => Num::Py(pairwise_sum(v) / v.len() as f64),
        }
    }

    /// `significance.estimate_ci`: (mean, half-width of the central 95% interval). numpy
    /// sorts first and takes the mean of the sorted array, which fixes the summation order.
    fn estimate_ci(&self) -> (f64, f64) {
        match self {
            ScoreArray::F32(v) => {
                let mut s = v.clone();
                s.sort_by(f32::total_cmp);
                let (lo, hi) = ci_bounds(s.len());
                let ci = 0.5f32 * (s[hi] - s[lo]);
                let mean = ScoreArray::F32(s).mean().value();
                (mean, f64::from(ci))
            }
            ScoreArray::F64(v) => {
                let mut s = v.clone();
                s.sort_by(f64::total_cmp);
                let (lo, hi) = ci_bounds(s.len());
                let ci = 0.5 * (s[hi] - s[lo]);
                let mean = ScoreArray::F64(s).mean().value();
                (mean, ci)
            }
        }
    }

    /// `np.abs(self - other)` with numpy's result type.
    fn abs_diff(&self, other: &ScoreArray) -> ScoreArray {
        match (self, other) {
            (ScoreArray::F32(a), ScoreArray::F32(b)) => {
                ScoreArray::F32(a.iter().zip(b).map(|(x, y)| (x - y).abs()).collect())
            }
            _ => {
                let (a, b) = (self.as_f64(), other.as_f64());
                ScoreArray::F64(a.iter().zip(&b).map(|(x, y)| (x - y).abs()).collect())
            }
        }
    }

    /// `significance._compute_p_value(diffs - diffs.mean(), real_difference)`.
    fn p_value(&self, real_difference: f64) -> f64 {
        let (c, n) = match self {
            ScoreArray::F32(v) => {
                let m = pairwise_sum(v) / v.len() as f32;
                let thr = real_difference as f32;
                (v.iter().filter(|&&x| x - m > thr).count(), v.len())
            }
            ScoreArray::F64(v) => {
                let m = pairwise_sum(v) / v.len() as f64;
                (
                    v.iter().filter(|&&x| x - m > real_difference).count(),
                    v.len(),
                )
            }
        };
        (c as f64 + 1.0) / (n as f64 + 1.0)
    }
}

/// Indices of the 2.5% and 97.5% order statistics (`n // 40` from each end).
fn ci_bounds(n: usize) -> (usize, usize) {
    let lower = n / 40;
    (lower, n - lower - 1)
}

/// Bootstrap summary of one system for one metric.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapResult {
    /// The actual corpus score.
    pub score: f64,
    /// Mean of the resampled scores.
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the resampled scores.
    pub ci: f64,
    /// p-value of the paired test against the baseline; `None` for the baseline itself.
    pub p_value: Option<f64>,
}

/// Resampled scores of every system: for each resample, the metric on the sum (in `float32`,
/// row by row as numpy's `sum(0)` does) of the chosen segments' statistics.
fn resampled_scores<M: CorpusMetric + ?Sized>(
    metric: &M,
    systems: &[Vec<Vec<f64>>],
    resamples: &Resamples,
) -> Vec<Vec<Num>> {
    let stats32: Vec<Vec<Vec<f32>>> = systems
        .iter()
        .map(|stats| {
            stats
                .iter()
                .map(|s| s.iter().map(|&x| x as f32).collect())
                .collect()
        })
        .collect();
    let mut out: Vec<Vec<Num>> = systems
        .iter()
        .map(|_| Vec::with_capacity(resamples.rows()))
        .collect();
    resamples.for_each_row(|row| {
        for (stats, scores) in stats32.iter().zip(out.iter_mut()) {
            let k = stats.first().map_or(0, Vec::len);
            let mut acc = vec![0f32; k];
            for &i in row {
                for (a, &x) in acc.iter_mut().zip(&stats[i]) {
                    *a += x;
                }
            }
            let nums: Vec<Num> = acc.into_iter().map(Num::F32).collect();
            scores.push(metric.score_from_stats(&nums));
        }
    });
    out
}

/// Paired bootstrap test of `systems[1..]` against the baseline `systems[0]` for one metric
/// (`significance.PairedTest` with `test_type='bs'`, i.e. `_bootstrap_resample` for the
/// baseline and `_paired_bs_test` for the others). `systems[s]` holds the segment statistics
/// of system `s` (from [`CorpusMetric::segment_stats`]).
pub fn paired_bootstrap<M: CorpusMetric + ?Sized>(
    metric: &M,
    systems: &[Vec<Vec<f64>>],
    resamples: &Resamples,
) -> Vec<BootstrapResult> {
    let actual: Vec<f64> = systems
        .iter()
        .map(|s| {
            let sums: Vec<Num> = super::sum_stats(s).into_iter().map(Num::Py).collect();
            metric.score_from_stats(&sums).value()
        })
        .collect();
    let arrays: Vec<ScoreArray> = resampled_scores(metric, systems, resamples)
        .iter()
        .map(|scores| ScoreArray::from_nums(scores))
        .collect();
    let mut out = Vec::with_capacity(systems.len());
    for (s, arr) in arrays.iter().enumerate() {
        let (mean, ci) = arr.estimate_ci();
        let p_value = if s == 0 {
            None
        } else {
            let diffs = arr.abs_diff(&arrays[0]);
            Some(diffs.p_value((actual[0] - actual[s]).abs()))
        };
        out.push(BootstrapResult {
            score: actual[s],
            mean,
            ci,
            p_value,
        });
    }
    out
}

/// Paired bootstrap on per-document values whose corpus score is their mean (ROUGE), with the
/// same resamples and the same statistics as [`paired_bootstrap`], in `float64`. sacrebleu has
/// no ROUGE, so this is tarjama's extension of its procedure. Means are summed in document
/// order, as [`super::rouge::mean_scores`] does.
pub fn paired_bootstrap_means(systems: &[Vec<f64>], resamples: &Resamples) -> Vec<BootstrapResult> {
    let n = systems.first().map_or(0, Vec::len);
    let actual: Vec<f64> = systems
        .iter()
        .map(|v| v.iter().fold(0.0, |a, &x| a + x) / n as f64)
        .collect();
    let mut means: Vec<Vec<f64>> = systems
        .iter()
        .map(|_| Vec::with_capacity(resamples.rows()))
        .collect();
    resamples.for_each_row(|row| {
        for (v, m) in systems.iter().zip(means.iter_mut()) {
            m.push(row.iter().fold(0.0, |a, &i| a + v[i]) / n as f64);
        }
    });
    let arrays: Vec<ScoreArray> = means.into_iter().map(ScoreArray::F64).collect();
    let mut out = Vec::with_capacity(systems.len());
    for (s, arr) in arrays.iter().enumerate() {
        let (mean, ci) = arr.estimate_ci();
        let p_value = if s == 0 {
            None
        } else {
            Some(
                arr.abs_diff(&arrays[0])
                    .p_value((actual[0] - actual[s]).abs()),
            )
        };
        out.push(BootstrapResult {
            score: actual[s],
            mean,
            ci,
            p_value,
        });
    }
    out
}

/// A single system's bootstrap estimate (sacrebleu's `--confidence`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Confidence {
    /// Mean of the resampled scores (0-100).
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the resampled scores.
    pub ci: f64,
}

/// sacrebleu's `corpus_score(..., n_bootstrap=N)` estimate for one system
/// (`significance._bootstrap_resample` then `Score.estimate_ci`): the metric on `float32`
/// sums of each resample's segment statistics, the exact mean of those scores rounded once
/// (Python's `statistics.mean`; `float32` when the scores are) and half the distance between
/// the 2.5% and 97.5% order statistics. `stats` holds the segment statistics
/// ([`CorpusMetric::segment_stats`]).
pub fn confidence<M: CorpusMetric + ?Sized>(
    metric: &M,
    stats: &[Vec<f64>],
    resamples: &Resamples,
) -> Confidence {
    let scores = resampled_scores(metric, std::slice::from_ref(&stats.to_vec()), resamples)
        .pop()
        .unwrap_or_default();
    match ScoreArray::from_nums(&scores) {
        ScoreArray::F32(mut v) => {
            v.sort_by(f32::total_cmp);
            let (lo, hi) = ci_bounds(v.len());
            let wide: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
            Confidence {
                mean: f64::from(exact_mean(&wide) as f32),
                ci: f64::from(0.5f32 * (v[hi] - v[lo])),
            }
        }
        ScoreArray::F64(mut v) => {
            v.sort_by(f64::total_cmp);
            let (lo, hi) = ci_bounds(v.len());
            Confidence {
                mean: exact_mean(&v),
                ci: 0.5 * (v[hi] - v[lo]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by numpy 2.4 for seed 12345.
    #[test]
    fn seed_sequence_matches_numpy() {
        assert_eq!(
            seed_sequence_state(12345, 4),
            [
                0xb5ae6482a03d837c,
                0xbbe2996ffa1f7a2f,
                0x64e39a9f37158f94,
                0x3ebb0f96a013fd73
            ]
        );
    }

    #[test]
    fn pcg64_matches_numpy() {
        let mut g = Pcg64::from_seed(12345);
        assert_eq!(g.next_u64(), 0x3a32b18db2ffc19d);
        assert_eq!(g.next_u64(), 0x51171315c9e4c4de);
        assert_eq!(g.next_u64(), 0xcc2024823444efd9);
    }

    /// Plans too large to keep are regenerated row by row: the same rows as the kept ones.
    #[test]
    fn streamed_rows_equal_kept_rows() {
        let kept = Resamples::new(12345, 7, 13).unwrap();
        assert!(kept.cached.is_some());
        let streamed = Resamples::with_cache_limit(12345, 7, 13, 0).unwrap();
        assert!(streamed.cached.is_none());
        let collect = |r: &Resamples| {
            let mut v = Vec::new();
            r.for_each_row(|row| v.extend_from_slice(row));
            v
        };
        assert_eq!(collect(&streamed), resample_indices(12345, 7, 13));
        assert_eq!(collect(&kept), collect(&streamed));
        // a plan over the cache limit is not stored
        let big = Resamples::new(1, 1000, CACHED_INDICES / 1000 + 1).unwrap();
        assert!(big.cached.is_none());
        assert_eq!(big.rows(), 1000);
    }

    #[test]
    fn resample_counts_are_bounded() {
        assert!(Resamples::new(1, 0, 5).is_err());
        assert!(Resamples::new(1, 5, 0).is_err());
        assert!(Resamples::new(1, MAX_RESAMPLES, 3).is_ok());
        let e = Resamples::new(1, 100_000_000, 500).unwrap_err();
        assert!(e.contains("100000000") && e.contains("1000000"), "{e}");
    }

    #[test]
    fn choice_matches_numpy() {
        let idx = resample_indices(12345, 2, 8);
        assert_eq!(idx.len(), 16);
        let mut g = Pcg64::from_seed(12345);
        let got: Vec<u64> = (0..16).map(|_| g.below(500)).collect();
        assert_eq!(
            got,
            [349, 113, 394, 158, 102, 398, 321, 338, 494, 195, 419, 166, 283, 299, 106, 93]
        );
    }
}
