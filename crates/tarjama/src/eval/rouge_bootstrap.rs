//! rouge-score's confidence intervals (`rouge_score.scoring.BootstrapAggregator`, 0.1.2), with
//! numpy's legacy random numbers reproduced exactly.
//!
//! For each ROUGE type in turn (ROUGE-1, ROUGE-2, ROUGE-L, ROUGE-Lsum, the order rouge-score
//! adds them), the aggregator draws `n_samples` resamples of the documents with
//! `np.random.choice(np.arange(n), size=n)`, takes the mean precision, recall and F1 of each
//! (`np.mean(axis=0)`), and reports the `(1 - confidence) / 2`, 50 and `1 - (1 - confidence) /
//! 2` percentiles of those means (`np.percentile`, linear interpolation) as `low`, `mid` and
//! `high`. `mid` is thus the median of the resampled means, not the plain mean.
//!
//! rouge-score draws from numpy's global `RandomState` and never seeds it, so its intervals
//! change from run to run. Here the same legacy generator (MT19937 with
//! `RandomState.seed(seed)`, bounded by masked rejection as `RandomState.randint` does) is
//! seeded explicitly: with seed `s` the intervals equal rouge-score's after
//! `numpy.random.seed(s)`. This is a different generator from sacrebleu's paired bootstrap
//! ([`super::bootstrap`], numpy's `default_rng`), because rouge-score uses a different numpy API.

use super::bootstrap::MAX_RESAMPLES;
use super::rouge::{RougeDoc, RougeScore};

/// rouge-score's default number of bootstrap samples (`n_samples=1000`).
pub const DEFAULT_SAMPLES: usize = 1000;
/// rouge-score's default confidence level (`confidence_interval=0.95`).
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// numpy's legacy MT19937 (`np.random.RandomState`), 32-bit outputs.
#[derive(Clone, Debug)]
pub struct Mt19937 {
    key: Box<[u32; N]>,
    pos: usize,
}

impl Mt19937 {
    /// `RandomState(seed)` / `np.random.seed(seed)` for an integer seed (`mt19937_seed`).
    pub fn new(seed: u32) -> Self {
        let mut key = Box::new([0u32; N]);
        let mut s = seed;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(pos as u32 + 1);
        }
        Mt19937 { key, pos: N }
    }

    fn generate(&mut self) {
        let k = &mut self.key;
        let twist = |a: u32, b: u32, c: u32| -> u32 {
            let y = (a & UPPER_MASK) | (b & LOWER_MASK);
            c ^ (y >> 1) ^ (0u32.wrapping_sub(y & 1) & MATRIX_A)
        };
        for i in 0..N - M {
            k[i] = twist(k[i], k[i + 1], k[i + M]);
        }
        for i in N - M..N - 1 {
            k[i] = twist(k[i], k[i + 1], k[i + M - N]);
        }
        k[N - 1] = twist(k[N - 1], k[0], k[M - 1]);
        self.pos = 0;
    }

    /// The next 32 random bits (`mt19937_next32`, tempered).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `RandomState.randint(0, n)` for one value when `n - 1` fits in 32 bits: draws masked to
    /// the smallest all-ones mask covering `n - 1`, rejected while above it
    /// (`buffered_bounded_masked_uint32`); no draw at all when `n` is 1.
    pub fn below(&mut self, n: u32) -> u32 {
        assert!(n > 0, "empty range");
        let rng = n - 1;
        if rng == 0 {
            return 0;
        }
        let mask = u32::MAX >> rng.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= rng {
                return v;
            }
        }
    }
}

/// Settings of [`aggregate`]: rouge-score's `BootstrapAggregator(confidence_interval,
/// n_samples)` and the seed given to numpy's legacy generator. The default is rouge-score's
/// (1000 samples, 0.95) with sacrebleu's seed, 12345.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RougeBootstrapSettings {
    /// `n_samples` (rouge-score: 1000); 1 to [`MAX_RESAMPLES`].
    pub samples: usize,
    /// `confidence_interval`, 0 to 1 (rouge-score: 0.95).
    pub confidence: f64,
    /// `np.random.seed(seed)` before aggregating.
    pub seed: u32,
}

impl Default for RougeBootstrapSettings {
    fn default() -> Self {
        RougeBootstrapSettings {
            samples: DEFAULT_SAMPLES,
            confidence: DEFAULT_CONFIDENCE,
            seed: super::DEFAULT_SEED as u32,
        }
    }
}

impl RougeBootstrapSettings {
    /// The fields these settings add to a ROUGE signature: `rbs:1000|ci:0.95|seed:12345`.
    pub fn signature_fields(&self) -> String {
        format!(
            "rbs:{}|ci:{}|seed:{}",
            self.samples, self.confidence, self.seed
        )
    }
}

/// One ROUGE type's `AggregateScore`: the low, mid and high percentiles of the resampled
/// means (precision, recall and F1, 0..=1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RougeInterval {
    /// The `(1 - confidence) / 2` percentile.
    pub low: RougeScore,
    /// The median.
    pub mid: RougeScore,
    /// The `1 - (1 - confidence) / 2` percentile.
    pub high: RougeScore,
}

impl RougeInterval {
    /// The text tarjama prints after a ROUGE score: `low/mid/high: P 40.00/44.10/48.00 R
    /// .../.../... F .../.../...`, each value × 100 at `width` decimals.
    pub fn format(&self, width: usize) -> String {
        let three = |f: fn(&RougeScore) -> f64| {
            format!(
                "{:.w$}/{:.w$}/{:.w$}",
                100.0 * f(&self.low),
                100.0 * f(&self.mid),
                100.0 * f(&self.high),
                w = width
            )
        };
        format!(
            "low/mid/high: P {} R {} F {}",
            three(|s| s.precision),
            three(|s| s.recall),
            three(|s| s.fmeasure)
        )
    }
}

/// `BootstrapAggregator.aggregate()` over the documents' scores (as added with `add_scores`, in
/// order), after `np.random.seed(settings.seed)`: one interval per [`super::RougeType::ALL`]
/// entry. Errors (as rouge-score's `ValueError`s) when `samples` is 0, `confidence` is outside
/// 0..=1, or there are no documents.
pub fn aggregate(
    docs: &[RougeDoc],
    settings: &RougeBootstrapSettings,
) -> Result<[RougeInterval; 4], String> {
    if settings.samples == 0 || settings.samples > MAX_RESAMPLES {
        return Err(format!(
            "the number of ROUGE bootstrap samples must be 1 to {MAX_RESAMPLES}, not {}",
            settings.samples
        ));
    }
    if !(0.0..=1.0).contains(&settings.confidence) {
        return Err(format!(
            "the ROUGE bootstrap confidence must be in 0..=1, not {}",
            settings.confidence
        ));
    }
    if docs.is_empty() {
        return Err("there are no documents to aggregate".into());
    }
    let n = u32::try_from(docs.len()).map_err(|_| "too many documents".to_string())?;
    let mut rng = Mt19937::new(settings.seed);
    let delta = (1.0 - settings.confidence) / 2.0;
    let quantiles = [100.0 * delta, 100.0 * 0.5, 100.0 * (1.0 - delta)].map(|q| q / 100.0);
    let mut out = [RougeInterval::default(); 4];
    for (k, slot) in out.iter_mut().enumerate() {
        let mut means: [Vec<f64>; 3] = Default::default();
        for _ in 0..settings.samples {
            let mut sum = [0.0f64; 3];
            for _ in 0..n {
                let s = &docs[rng.below(n) as usize][k];
                sum[0] += s.precision;
                sum[1] += s.recall;
                sum[2] += s.fmeasure;
            }
            for (m, s) in means.iter_mut().zip(sum) {
                m.push(s / f64::from(n));
            }
        }
        let bounds: Vec<[f64; 3]> = means
            .iter_mut()
            .map(|m| {
                m.sort_by(f64::total_cmp);
                quantiles.map(|q| percentile_sorted(m, q))
            })
            .collect();
        let score = |j: usize| RougeScore {
            precision: bounds[0][j],
            recall: bounds[1][j],
            fmeasure: bounds[2][j],
        };
        *slot = RougeInterval {
            low: score(0),
            mid: score(1),
            high: score(2),
        };
    }
    Ok(out)
}

/// `np.percentile(values, 100 * q)` with the default linear method on sorted, non-empty
/// `values`: the virtual index `(n - 1) * q` and numpy's `_lerp`, which for a fraction of 0.5
/// or more interpolates down from the upper neighbour.
fn percentile_sorted(values: &[f64], q: f64) -> f64 {
    let n = values.len();
    let virtual_index = (n - 1) as f64 * q;
    if virtual_index >= (n - 1) as f64 {
        return values[n - 1];
    }
    let prev = virtual_index.floor();
    let t = virtual_index - prev;
    let a = values[prev as usize];
    let b = values[prev as usize + 1];
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_sequence() {
        // The first outputs of init_genrand(5489), the reference implementation's default
        // seed (mt19937ar.c); numpy's `RandomState(5489)` gives the same 32-bit draws.
        let mut g = Mt19937::new(5489);
        assert_eq!(g.next_u32(), 3_499_211_612);
        assert_eq!(g.next_u32(), 581_869_302);
        assert_eq!(g.next_u32(), 3_890_346_734);
        // The 10000th output of the default-seeded std::mt19937 (C++ [rand.predef]).
        let mut g = Mt19937::new(5489);
        let x = (0..10_000).map(|_| g.next_u32()).last();
        assert_eq!(x, Some(4_123_659_995));
    }

    #[test]
    fn below_rejects_above_the_range() {
        let mut g = Mt19937::new(1);
        assert!((0..1000).all(|_| g.below(5) < 5));
        assert_eq!(Mt19937::new(1).below(1), 0);
    }

    #[test]
    fn percentiles_interpolate_as_numpy() {
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(percentile_sorted(&v, 0.5), 3.0);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
        assert_eq!(percentile_sorted(&v, 1.0), 8.0);
        assert_eq!(percentile_sorted(&[7.0], 0.025), 7.0);
    }

    #[test]
    fn bad_settings_are_errors() {
        let doc: RougeDoc = [RougeScore::default(); 4];
        let bad = RougeBootstrapSettings {
            samples: 0,
            ..Default::default()
        };
        assert!(aggregate(&[doc], &bad).is_err());
        assert!(aggregate(&[], &RougeBootstrapSettings::default()).is_err());
    }
}
