//! Logits processors, applied per row in transformers' order (`_get_logits_processor`):
//! repetition penalty, no-repeat n-gram, bad words, min length, min new tokens, forced BOS,
//! forced EOS, then, when sampling, the logits warpers (`super::sampling`), then (with
//! `renormalize_logits`) a final log-softmax.

use std::collections::HashSet;

use super::config::GenerationConfig;
use super::sampling::Warpers;
use crate::simd;

/// The processors a [`GenerationConfig`] turns on, ready to apply to one row at a time.
#[derive(Debug, Clone)]
pub(crate) struct Processors {
    repetition_penalty: Option<f32>,
    no_repeat_ngram_size: usize,
    /// Single-token bans (always applied).
    banned_tokens: Vec<u32>,
    /// Multi-token bans: the last token is banned when the row ends with the prefix.
    banned_sequences: Vec<Vec<u32>>,
    min_length: usize,
    eos: Vec<u32>,
    forced_bos: Option<u32>,
    forced_eos: Option<u32>,
    max_length: usize,
    /// Temperature, top-k and top-p, when sampling.
    warpers: Option<Warpers>,
    renormalize: bool,
}

impl Processors {
    pub(crate) fn new(cfg: &GenerationConfig) -> Self {
        // `NoBadWordsLogitsProcessor` drops bans that are exactly one EOS token.
        let bad: Vec<Vec<u32>> = cfg
            .bad_words_ids
            .iter()
            .filter(|s| !(s.len() == 1 && cfg.eos_token_ids.contains(&s[0])))
            .filter(|s| !s.is_empty())
            .cloned()
            .collect();
        Self {
            repetition_penalty: (cfg.repetition_penalty != 1.0).then_some(cfg.repetition_penalty),
            no_repeat_ngram_size: cfg.no_repeat_ngram_size,
            banned_tokens: bad.iter().filter(|s| s.len() == 1).map(|s| s[0]).collect(),
            banned_sequences: bad.into_iter().filter(|s| s.len() > 1).collect(),
            min_length: cfg.effective_min_length(),
            eos: cfg.eos_token_ids.clone(),
            forced_bos: cfg.forced_bos_token_id,
            forced_eos: cfg.forced_eos_token_id,
            max_length: cfg.effective_max_length(),
            warpers: Warpers::new(cfg),
            renormalize: cfg.renormalize_logits,
        }
    }

    /// Processes the scores `(vocab,)` of the row whose tokens so far are `seq` (starting with
    /// the decoder start token).
    pub(crate) fn apply(&self, seq: &[u32], scores: &mut [f32]) {
        let cur_len = seq.len();
        if let Some(p) = self.repetition_penalty {
            // RepetitionPenaltyLogitsProcessor: every token present once, whatever its count.
            let seen: HashSet<u32> = seq.iter().copied().collect();
            for t in seen {
                let s = &mut scores[t as usize];
                *s = if *s < 0.0 { *s * p } else { *s / p };
            }
        }
        if self.no_repeat_ngram_size > 0 {
            for t in banned_ngram_tokens(seq, self.no_repeat_ngram_size) {
                scores[t as usize] = f32::NEG_INFINITY;
            }
        }
        for &t in &self.banned_tokens {
            scores[t as usize] = f32::NEG_INFINITY;
        }
        for banned in &self.banned_sequences {
            let (prefix, last) = banned.split_at(banned.len() - 1);
            if seq.ends_with(prefix) {
                scores[last[0] as usize] = f32::NEG_INFINITY;
            }
        }
        if cur_len < self.min_length {
            for &e in &self.eos {
                scores[e as usize] = f32::NEG_INFINITY;
            }
        }
        if let Some(bos) = self.forced_bos {
            if cur_len == 1 {
                force(scores, bos);
            }
        }
        if let Some(eos) = self.forced_eos {
            if cur_len == self.max_length - 1 {
                force(scores, eos);
            }
        }
        if let Some(w) = &self.warpers {
            w.apply(scores);
        }
        if self.renormalize {
            log_softmax_in_place(scores);
        }
    }
}

/// Sets every score to -inf except `token`, which becomes 0.
fn force(scores: &mut [f32], token: u32) {
    scores.fill(f32::NEG_INFINITY);
    scores[token as usize] = 0.0;
}

/// Tokens that would repeat an n-gram of `seq` (transformers' `_calc_banned_ngram_tokens`):
/// those following an earlier occurrence of the last `n - 1` tokens.
fn banned_ngram_tokens(seq: &[u32], n: usize) -> Vec<u32> {
    let cur_len = seq.len();
    if cur_len + 1 < n {
        return Vec::new();
    }
    let prefix = &seq[cur_len + 1 - n..];
    seq.windows(n)
        .filter(|w| &w[..n - 1] == prefix)
        .map(|w| w[n - 1])
        .collect()
}

/// Replaces `x` by `log_softmax(x)` in place (float32, max-shifted as PyTorch does:
/// `x - max - ln Σ exp(x - max)`), with the vectorized max and exp-sum of
/// `crate::simd`.
pub fn log_softmax_in_place(x: &mut [f32]) {
    let max = simd::max(x);
    if max == f32::NEG_INFINITY {
        return;
    }
    let lse = max + simd::sum_exp(x, max).ln();
    for v in x.iter_mut() {
        *v -= lse;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngram_bans_follow_transformers() {
        // seq [5, 1, 2, 3, 1, 2] with n = 3: prefix (1, 2) occurred before followed by 3.
        assert_eq!(banned_ngram_tokens(&[5, 1, 2, 3, 1, 2], 3), vec![3]);
        // Too short for any ban.
        assert_eq!(banned_ngram_tokens(&[5], 3), Vec::<u32>::new());
        // n = 1 bans every token seen.
        assert_eq!(banned_ngram_tokens(&[4, 7], 1), vec![4, 7]);
    }

    #[test]
    fn repetition_penalty_divides_positive_and_multiplies_negative() {
        let cfg = GenerationConfig {
            repetition_penalty: 2.0,
            eos_token_ids: vec![0],
            max_length: 10,
            max_length_set: true,
            ..GenerationConfig::default()
        };
        let p = Processors::new(&cfg);
        let mut s = vec![1.0, -1.0, 4.0, 3.0];
        p.apply(&[1, 2, 2], &mut s);
        assert_eq!(s, vec![1.0, -2.0, 2.0, 3.0]);
    }

    #[test]
    fn forced_eos_wins_over_min_length_at_the_limit() {
        let cfg = GenerationConfig {
            min_length: 10,
            forced_eos_token_id: Some(0),
            eos_token_ids: vec![0],
            max_length: 4,
            max_length_set: true,
            ..GenerationConfig::default()
        };
        let p = Processors::new(&cfg);
        let mut s = vec![0.5, 0.1, 0.2];
        p.apply(&[2, 1, 1], &mut s);
        assert_eq!(s, vec![0.0, f32::NEG_INFINITY, f32::NEG_INFINITY]);
        let mut s = vec![0.5, 0.1, 0.2];
        p.apply(&[2, 1], &mut s);
        assert_eq!(s, vec![f32::NEG_INFINITY, 0.1, 0.2]);
    }

    #[test]
    fn log_softmax_sums_to_one() {
        let mut x = vec![1.0f32, 2.0, 3.0, f32::NEG_INFINITY];
        log_softmax_in_place(&mut x);
        let total: f32 = x.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!((x[2] - (-0.407_605_96)).abs() < 1e-6);
        assert_eq!(x[3], f32::NEG_INFINITY);
    }
}
