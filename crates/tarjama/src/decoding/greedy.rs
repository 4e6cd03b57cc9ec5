//! Greedy search and sampling, as transformers' `GenerationMixin._sample` (with `do_sample`
//! false: the most likely token; true: a draw from the softmax of the warped scores, see
//! `super::sampling`).

use rayon::prelude::*;

use super::processors::Processors;
use super::sampling::RowRng;
use super::{non_finite, non_finite_error, GenerationConfig, Hypothesis, StepDecoder};
use crate::error::Result;

/// Decodes one row per entry of `rows` greedily (or, with `cfg.do_sample`, by sampling) until
/// every row has produced EOS or the length limit. `rows` holds each row's index in the whole
/// input, which numbers its random stream when sampling ([`RowRng::new`]).
///
/// Finished rows are fed the pad token (as transformers does) so the batch advances together;
/// their outputs stop at their EOS.
///
/// Errors: a model error, or [`crate::Error::NonFinite`] when an unfinished row's logits hold
/// NaN or +inf.
pub(crate) fn search(
    decoder: &mut dyn StepDecoder,
    rows: &[u64],
    cfg: &GenerationConfig,
) -> Result<Vec<Vec<Hypothesis>>> {
    let batch = rows.len();
    let processors = Processors::new(cfg);
    let mut rngs: Option<Vec<RowRng>> = cfg.do_sample.then(|| {
        let seed = cfg.seed.unwrap_or(super::config::DEFAULT_SEED);
        rows.iter().map(|&r| RowRng::new(seed, r)).collect()
    });
    let max_length = cfg.effective_max_length();
    let mut seqs: Vec<Vec<u32>> = vec![vec![cfg.decoder_start_token_id]; batch];
    let mut done = vec![false; batch];
    let mut last: Vec<u32> = vec![cfg.decoder_start_token_id; batch];
    while seqs[0].len() < max_length && done.iter().any(|d| !d) {
        let logits = decoder.step(&last)?;
        let mut scores: Vec<Vec<f32>> = logits.to_vec2()?;
        // The finiteness check, processors (and warpers) and the pick per row, rows in
        // parallel; a finished row draws nothing, so a row's stream advances once per token it
        // generates.
        let pick = |r: usize, scores: &mut Vec<f32>, rng: Option<&mut RowRng>| {
            if done[r] {
                Ok(cfg.pad_token_id)
            } else if let Some(value) = non_finite(scores) {
                Err(value)
            } else {
                processors.apply(&seqs[r], scores);
                Ok(match rng {
                    Some(rng) => rng.sample(scores),
                    None => argmax(scores),
                })
            }
        };
        let picks: std::result::Result<Vec<u32>, &'static str> = match rngs.as_mut() {
            None => scores
                .par_iter_mut()
                .enumerate()
                .map(|(r, scores)| pick(r, scores, None))
                .collect(),
            Some(rngs) => scores
                .par_iter_mut()
                .zip(rngs.par_iter_mut())
                .enumerate()
                .map(|(r, (scores, rng))| pick(r, scores, Some(rng)))
                .collect(),
        };
        let picks = picks.map_err(|value| non_finite_error(value, seqs[0].len()))?;
        for (r, next) in picks.into_iter().enumerate() {
            seqs[r].push(next);
            last[r] = next;
            if cfg.eos_token_ids.contains(&next) {
                done[r] = true;
            }
        }
    }
    Ok(seqs
        .into_iter()
        .map(|mut s| {
            if let Some(p) = s.iter().skip(1).position(|t| cfg.eos_token_ids.contains(t)) {
                s.truncate(p + 2);
            }
            vec![Hypothesis {
                tokens: s,
                score: None,
            }]
        })
        .collect())
}

/// Index of the largest value; the first one on ties (as `torch.argmax`).
pub(crate) fn argmax(x: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best as u32
}
