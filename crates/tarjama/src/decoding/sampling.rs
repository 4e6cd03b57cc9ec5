//! Sampling (`do_sample`): the logits warpers in transformers' order (`_get_logits_processor`:
//! `TemperatureLogitsWarper`, `TopKLogitsWarper`, `TopPLogitsWarper`, after the logits
//! processors and before the final renormalization) and the multinomial draw of
//! `GenerationMixin._sample` (`torch.multinomial(softmax(scores), 1)`).
//!
//! The draw uses tarjama's own random numbers, so a sampled token can never be expected to equal
//! torch's (whose generator differs); the masks the warpers leave are transformers' exactly.
//! Each input row draws from its own stream: ChaCha20 keyed by the seed, stream number the
//! row's index in the whole input ([`RowRng::new`]), so what a row samples depends on the seed
//! and its index only, not on the batch it was decoded in or the batch size.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::config::GenerationConfig;

/// The warpers a sampling [`GenerationConfig`] turns on, each `None` when transformers would
/// leave it out (temperature 1.0, top-k 0, top-p 1.0).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Warpers {
    temperature: Option<f32>,
    top_k: Option<usize>,
    top_p: Option<f32>,
    /// transformers' `min_tokens_to_keep`: 1 for sampling with one beam.
    min_tokens_to_keep: usize,
}

impl Warpers {
    /// The warpers of `cfg`, or `None` without `do_sample` (greedy and beam search use none).
    pub(crate) fn new(cfg: &GenerationConfig) -> Option<Self> {
        if !cfg.do_sample {
            return None;
        }
        Some(Self {
            temperature: (cfg.temperature != 1.0).then_some(cfg.temperature),
            top_k: (cfg.top_k != 0).then_some(cfg.top_k),
            top_p: (cfg.top_p < 1.0).then_some(cfg.top_p),
            min_tokens_to_keep: 1,
        })
    }

    /// Applies temperature, then top-k, then top-p to one row of scores `(vocab,)`; removed
    /// tokens become -inf.
    pub(crate) fn apply(&self, scores: &mut [f32]) {
        if let Some(t) = self.temperature {
            temperature(scores, t);
        }
        if let Some(k) = self.top_k {
            top_k(scores, k, self.min_tokens_to_keep);
        }
        if let Some(p) = self.top_p {
            top_p(scores, p, self.min_tokens_to_keep);
        }
    }
}

/// `TemperatureLogitsWarper`: every score divided by `t` (float32).
fn temperature(scores: &mut [f32], t: f32) {
    for s in scores.iter_mut() {
        *s /= t;
    }
}

/// `TopKLogitsWarper`: scores below the `max(k, min_keep)`-th largest (capped by the vocabulary)
/// become -inf; scores tied with it stay, as `scores < topk(...)[-1]` keeps them.
fn top_k(scores: &mut [f32], k: usize, min_keep: usize) {
    let k = k.max(min_keep).min(scores.len());
    if k == 0 {
        return;
    }
    let mut sorted: Vec<f32> = scores.to_vec();
    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
    let kth = sorted[k - 1];
    for s in scores.iter_mut() {
        if *s < kth {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// `TopPLogitsWarper`: sorts the scores ascending, takes the float32 softmax and its running
/// sum, and removes every token whose running sum is at most `1 - p`, keeping the last
/// `min_keep` (the largest) always: what stays is the smallest set of the most likely tokens
/// whose probabilities add up to at least `p`. Equal scores are ordered by token id (torch's sort
/// order among ties is unspecified).
fn top_p(scores: &mut [f32], p: f32, min_keep: usize) {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return;
    }
    let exps: Vec<f32> = order.iter().map(|&i| (scores[i] - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    let threshold = 1.0 - p;
    let mut cum = 0.0f32;
    for (rank, (&i, e)) in order.iter().zip(exps).enumerate() {
        cum += e / total;
        if cum <= threshold && rank < n.saturating_sub(min_keep) {
            scores[i] = f32::NEG_INFINITY;
        }
    }
}

/// The random stream of one input row: ChaCha20 with key `seed` (its 8 little-endian bytes,
/// then zeros) and stream number `row`, the row's index in the whole input.
pub(crate) struct RowRng(ChaCha20Rng);

impl RowRng {
    /// The stream of row `row` under `seed`.
    pub(crate) fn new(seed: u64, row: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let mut rng = ChaCha20Rng::from_seed(key);
        rng.set_stream(row);
        Self(rng)
    }

    /// A uniform number in `[0, 1)`: the top 53 bits of the next 64-bit output.
    fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Draws a token from the softmax of `scores` `(vocab,)` (the processed, warped scores):
    /// the first token whose running probability sum exceeds a uniform draw. A token whose score
    /// is -inf has probability 0 and is never drawn. All -inf (nothing to draw): token 0.
    pub(crate) fn sample(&mut self, scores: &[f32]) -> u32 {
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            return 0;
        }
        let probs: Vec<f64> = scores.iter().map(|&s| ((s - max) as f64).exp()).collect();
        let total: f64 = probs.iter().sum();
        let target = self.uniform() * total;
        let mut cum = 0.0;
        let mut last = 0;
        for (i, &p) in probs.iter().enumerate() {
            if p > 0.0 {
                cum += p;
                last = i;
                if cum > target {
                    return i as u32;
                }
            }
        }
        last as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEG: f32 = f32::NEG_INFINITY;

    fn kept(scores: &[f32]) -> Vec<usize> {
        (0..scores.len()).filter(|&i| scores[i] != NEG).collect()
    }

    #[test]
    fn temperature_divides_every_score() {
        let mut s = vec![1.0f32, -2.0, 0.5, NEG];
        temperature(&mut s, 0.5);
        assert_eq!(s, vec![2.0, -4.0, 1.0, NEG]);
    }

    #[test]
    fn top_k_keeps_the_k_largest_and_their_ties() {
        let mut s = vec![0.1f32, 3.0, -1.0, 2.0, 0.5, 2.5];
        top_k(&mut s, 3, 1);
        assert_eq!(s, vec![NEG, 3.0, NEG, 2.0, NEG, 2.5]);
        // A tie at the k-th value keeps both, as `scores < kth` does.
        let mut s = vec![1.0f32, 2.0, 2.0, 0.0];
        top_k(&mut s, 2, 1);
        assert_eq!(kept(&s), [1, 2]);
        let mut s = vec![1.0f32, 2.0, 1.0, 0.0];
        top_k(&mut s, 2, 1);
        assert_eq!(kept(&s), [0, 1, 2]);
        // k above the vocabulary keeps everything.
        let mut s = vec![1.0f32, 2.0];
        top_k(&mut s, 50, 1);
        assert_eq!(s, vec![1.0, 2.0]);
    }

    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        // Probabilities 0.5, 0.25, 0.125, 0.125 (ln of them as scores).
        let probs = [0.125f32, 0.5, 0.125, 0.25];
        let base: Vec<f32> = probs.iter().map(|p| p.ln()).collect();
        let run = |p: f32| {
            let mut s = base.clone();
            top_p(&mut s, p, 1);
            kept(&s)
        };
        // Ascending running sums: 0.125, 0.25, 0.5, 1.0; removed where ≤ 1 - p. The kept sets
        // are what transformers 4.57.6's TopPLogitsWarper keeps for these scores.
        assert_eq!(run(0.5), [1]); // 1 - p = 0.5: the sums 0.125, 0.25, 0.5 go
        assert_eq!(run(0.6), [1, 3]); // 0.4: 0.125 and 0.25 go
        assert_eq!(run(0.75), [1, 3]); // 0.25: 0.125 and 0.25 go (≤, so exactly p suffices)
                                       // 0.2: only the first 0.125 in ascending order goes; of equal scores the lower id
                                       // sorts first.
        assert_eq!(run(0.8), [1, 2, 3]);
        assert_eq!(run(1.0), [0, 1, 2, 3]);
        // A tiny p still keeps min_tokens_to_keep (the most likely token).
        assert_eq!(run(1e-9), [1]);
        let mut s = base.clone();
        top_p(&mut s, 1e-9, 2);
        assert_eq!(kept(&s), [1, 3]);
    }

    #[test]
    fn warpers_run_in_transformers_order() {
        // Temperature first: top-p then sees the sharpened distribution.
        let w = Warpers {
            temperature: Some(0.5),
            top_k: Some(3),
            top_p: Some(0.9),
            min_tokens_to_keep: 1,
        };
        let mut s = vec![0.0f32, 1.0, 2.0, 3.0];
        w.apply(&mut s);
        // /0.5 → 0, 2, 4, 6; top-3 drops token 0; softmax of 2, 4, 6 ≈ 0.016, 0.117, 0.867,
        // ascending sums 0.016, 0.133, 1.0: only the first is ≤ 1 - 0.9.
        assert_eq!(s, vec![NEG, NEG, 4.0, 6.0]);
        let cfg = GenerationConfig {
            top_k: 0,
            ..GenerationConfig::default()
        };
        assert_eq!(Warpers::new(&cfg), None);
        let cfg = GenerationConfig {
            do_sample: true,
            ..GenerationConfig::default()
        };
        assert_eq!(
            Warpers::new(&cfg),
            Some(Warpers {
                temperature: None,
                top_k: Some(50),
                top_p: None,
                min_tokens_to_keep: 1
            })
        );
    }

    /// 1000 draws from a hand-made distribution after top-k 3 all fall in the top 3, and each
    /// of the three comes up (a fixed seed: the test is deterministic).
    #[test]
    fn draws_respect_the_top_k_mask() {
        let mut s = vec![0.3f32, 1.2, -0.4, 1.0, 0.9, 1.1, 0.0, 0.8];
        top_k(&mut s, 3, 1);
        assert_eq!(kept(&s), [1, 3, 5]);
        let mut rng = RowRng::new(7, 0);
        let mut counts = [0usize; 8];
        for _ in 0..1000 {
            counts[rng.sample(&s) as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<usize>(), 1000);
        for (t, &c) in counts.iter().enumerate() {
            assert_eq!(c > 0, [1, 3, 5].contains(&t), "token {t}: {c} draws");
        }
    }

    #[test]
    fn streams_depend_on_seed_and_row_only() {
        let draws = |seed, row| {
            let mut r = RowRng::new(seed, row);
            (0..8).map(|_| r.0.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draws(0, 3), draws(0, 3));
        assert_ne!(draws(0, 3), draws(0, 4));
        assert_ne!(draws(0, 3), draws(1, 3));
        // The first output of ChaCha20 with an all-zero key and stream 0 (as rand_chacha 0.9
        // gives it: little-endian words of the RFC 7539 block 0 keystream).
        assert_eq!(draws(0, 0)[0], 0x903d_f1a0_ade0_b876);
    }
}
