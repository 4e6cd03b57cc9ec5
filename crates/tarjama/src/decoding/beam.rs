//! Beam search, as transformers 4.57's vectorized `GenerationMixin._beam_search`:
//! per step, log-softmax → logits processors → add running scores → keep the top
//! `2 × num_beams` continuations; those among the top `num_beams` that end (EOS or length limit)
//! compete for the finished slots with score `sum_logprobs / len^length_penalty`; the best
//! `num_beams` unfinished ones continue.
//!
//! Each input is searched independently (transformers' batched loop freezes an input once it is
//! done, which gives the same result), all inputs' beams share one decoder batch.

use rayon::prelude::*;

use super::processors::{log_softmax_in_place, Processors};
use super::{
    non_finite, non_finite_error, EarlyStopping, GenerationConfig, Hypothesis, StepDecoder,
};
use crate::error::Result;

/// transformers' stand-in for "impossible" in beam bookkeeping.
const NEG: f32 = -1.0e9;

/// One candidate continuation: accumulated log-probability, source beam, token.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: f32,
    beam: usize,
    token: u32,
}

/// A finished-hypothesis slot.
#[derive(Debug, Clone)]
struct Finished {
    tokens: Vec<u32>,
    score: f32,
    is_finished: bool,
}

/// The search state of one input.
struct InputBeams {
    /// Running hypotheses, best first.
    running: Vec<Vec<u32>>,
    running_scores: Vec<f32>,
    /// `num_beams` finished slots, best first.
    finished: Vec<Finished>,
    /// transformers' `is_early_stop_heuristic_unsatisfied`.
    can_improve: bool,
}

/// The `k` best `(score, index)` pairs seen so far, ordered by score descending, the lower
/// index first on ties (as `torch.topk` over a row in index order).
struct TopK {
    k: usize,
    best: Vec<(f32, usize)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            best: Vec::with_capacity(k + 1),
        }
    }

    /// Whether `s` would enter (NaN never does).
    fn admits(&self, s: f32) -> bool {
        self.best.len() < self.k
            || s.partial_cmp(&self.best[self.k - 1].0) == Some(std::cmp::Ordering::Greater)
    }

    /// Offers `s` at index `i`; indices must come in increasing order.
    fn push(&mut self, s: f32, i: usize) {
        if self.admits(s) {
            let pos = self.best.partition_point(|&(b, _)| b >= s);
            self.best.insert(pos, (s, i));
            self.best.truncate(self.k);
        }
    }
}

/// Keeps the `k` best candidates, ordered by score descending (lower index first on ties).
fn top_k(scores: impl IntoIterator<Item = f32>, k: usize) -> Vec<(f32, usize)> {
    let mut top = TopK::new(k);
    for (i, s) in scores.into_iter().enumerate() {
        top.push(s, i);
    }
    top.best
}

/// [`top_k`] of `rows[r][i] + base[r]` over the rows laid end to end (index `r * len + i`),
/// without materializing the sums: a block of values whose maximum plus the base cannot enter
/// is skipped whole (float addition is monotonic, so nothing in it could).
fn top_k_rows<'a>(
    rows: impl Iterator<Item = &'a [f32]>,
    base: &[f32],
    k: usize,
) -> Vec<(f32, usize)> {
    const BLOCK: usize = 64;
    let mut top = TopK::new(k);
    let mut offset = 0;
    for (row, &b) in rows.zip(base) {
        for (c, block) in row.chunks(BLOCK).enumerate() {
            let max = block.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if !top.admits(max + b) {
                continue;
            }
            for (j, &v) in block.iter().enumerate() {
                top.push(v + b, offset + c * BLOCK + j);
            }
        }
        offset += row.len();
    }
    top.best
}

/// Beam search over `batch` inputs with `cfg.num_beams` beams each (transformers 4.57's
/// `GenerationMixin._beam_search`, see the module documentation).
///
/// `decoder` holds `batch × num_beams` rows, input `i`'s beams at rows
/// `i * num_beams .. (i + 1) * num_beams`; each step feeds one token per row and then reorders
/// the rows to the surviving beams ([`StepDecoder::reorder`]). Returns, per input,
/// `cfg.num_return_sequences` hypotheses, best (highest length-penalized score) first, each with
/// its [`Hypothesis::score`].
///
/// Errors: a model error from `step` or `reorder`, or [`crate::Error::NonFinite`] when a
/// step's logits hold NaN or +inf (checked before the log-softmax, which would spread a NaN
/// over its row). `cfg` must be valid
/// ([`GenerationConfig::validate`]; [`super::generate`] checks it).
pub(crate) fn search(
    decoder: &mut dyn StepDecoder,
    batch: usize,
    cfg: &GenerationConfig,
) -> Result<Vec<Vec<Hypothesis>>> {
    let processors = Processors::new(cfg);
    let nb = cfg.num_beams;
    let max_length = cfg.effective_max_length();
    let lp = cfg.length_penalty;
    let keep = 2.max(1 + cfg.eos_token_ids.len()) * nb;
    let start = cfg.decoder_start_token_id;
    let prompt_len = 1usize;

    let mut inputs: Vec<InputBeams> = (0..batch)
        .map(|_| InputBeams {
            running: vec![vec![start]; nb],
            running_scores: (0..nb).map(|i| if i == 0 { 0.0 } else { NEG }).collect(),
            finished: vec![
                Finished {
                    tokens: vec![start],
                    score: NEG,
                    is_finished: false,
                };
                nb
            ],
            can_improve: true,
        })
        .collect();
    let mut last: Vec<u32> = vec![start; batch * nb];
    let mut cur_len = 1usize;

    loop {
        let logits = decoder.step(&last)?;
        let vocab = logits.dim(1)?;
        let mut scores: Vec<f32> = logits.flatten_all()?.to_vec1()?;
        // a/b. the finiteness check, log-probs and processors, rows in parallel.
        scores
            .par_chunks_mut(vocab)
            .enumerate()
            .try_for_each(|(r, row)| {
                if let Some(value) = non_finite(row) {
                    return Err(value);
                }
                log_softmax_in_place(row);
                processors.apply(&inputs[r / nb].running[r % nb], row);
                Ok(())
            })
            .map_err(|value| non_finite_error(value, cur_len))?;
        // b/c. plus running scores, then the top-K continuations over (beam, vocab)
        // flattened; inputs in parallel.
        let cands: Vec<Vec<Candidate>> = scores
            .par_chunks(nb * vocab)
            .zip(&inputs)
            .map(|(beams, input)| {
                top_k_rows(beams.chunks(vocab), &input.running_scores, keep)
                    .into_iter()
                    .map(|(score, i)| Candidate {
                        score,
                        beam: i / vocab,
                        token: (i % vocab) as u32,
                    })
                    .collect()
            })
            .collect();
        let mut reorder: Vec<u32> = Vec::with_capacity(batch * nb);
        let mut all_hit = true;
        for ((b, input), cands) in inputs.iter_mut().enumerate().zip(cands) {
            // d. which continuations end here (EOS or the length limit).
            let hits: Vec<bool> = cands
                .iter()
                .map(|c| cfg.eos_token_ids.contains(&c.token) || cur_len + 1 >= max_length)
                .collect();
            all_hit &= hits.iter().all(|&h| h);
            let extend = |c: &Candidate, running: &[Vec<u32>]| {
                let mut s = running[c.beam].clone();
                s.push(c.token);
                s
            };
            // e. next running beams: the best unfinished continuations.
            let penalized: Vec<f32> = cands
                .iter()
                .zip(&hits)
                .map(|(c, &h)| if h { c.score + NEG } else { c.score })
                .collect();
            let next: Vec<(f32, usize)> = top_k(penalized, nb);
            // f. finished slots: only the top num_beams candidates may finish.
            let full = input.finished.iter().all(|f| f.is_finished)
                && cfg.early_stopping == EarlyStopping::True;
            let denom = ((cur_len + 1 - prompt_len) as f64).powf(lp as f64) as f32;
            let mut merged: Vec<Finished> = input.finished.clone();
            for (i, c) in cands.iter().enumerate() {
                let just_finished = hits[i] && i < nb;
                let mut score = c.score / denom;
                if full {
                    score += NEG;
                }
                if !input.can_improve {
                    score += NEG;
                }
                if !just_finished {
                    score += NEG;
                }
                merged.push(Finished {
                    tokens: extend(c, &input.running),
                    score,
                    is_finished: just_finished,
                });
            }
            let merged_scores: Vec<f32> = merged.iter().map(|f| f.score).collect();
            input.finished = top_k(merged_scores, nb)
                .into_iter()
                .map(|(_, i)| merged[i].clone())
                .collect();
            // g. continue with the chosen running beams; remember which cache rows they need.
            let new_running: Vec<Vec<u32>> = next
                .iter()
                .map(|&(_, i)| extend(&cands[i], &input.running))
                .collect();
            input.running_scores = next.iter().map(|&(s, _)| s).collect();
            for &(_, i) in &next {
                reorder.push((b * nb + cands[i].beam) as u32);
            }
            input.running = new_running;
        }
        cur_len += 1;
        let mut any_can_improve = false;
        for input in inputs.iter_mut() {
            update_can_improve(input, cfg, cur_len, max_length, prompt_len);
            any_can_improve |= input.can_improve;
        }
        let all_full = inputs
            .iter()
            .all(|i| i.finished.iter().all(|f| f.is_finished));
        let stop =
            !any_can_improve || (all_full && cfg.early_stopping == EarlyStopping::True) || all_hit;
        if stop {
            break;
        }
        decoder.reorder(&reorder)?;
        last = inputs
            .iter()
            .flat_map(|i| i.running.iter().map(|s| *s.last().unwrap_or(&start)))
            .collect();
    }

    Ok(inputs
        .into_iter()
        .map(|input| {
            input
                .finished
                .into_iter()
                .take(cfg.num_return_sequences)
                .map(|f| Hypothesis {
                    tokens: f.tokens,
                    score: Some(f.score),
                })
                .collect()
        })
        .collect())
}

/// transformers' `_check_early_stop_heuristic` for one input, after `cur_len` was advanced.
fn update_can_improve(
    input: &mut InputBeams,
    cfg: &GenerationConfig,
    cur_len: usize,
    max_length: usize,
    prompt_len: usize,
) {
    let lp = cfg.length_penalty;
    let best_len = if cfg.early_stopping == EarlyStopping::Never && lp > 0.0 {
        max_length - prompt_len
    } else {
        cur_len - prompt_len
    };
    let best_possible = input.running_scores[0] / ((best_len as f64).powf(lp as f64) as f32);
    let worst_finished = input
        .finished
        .iter()
        .map(|f| f.score)
        .fold(f32::INFINITY, f32::min);
    let improvable = input.finished.iter().any(|f| {
        let worst = if f.is_finished { worst_finished } else { NEG };
        best_possible > worst
    });
    input.can_improve &= improvable;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_score_then_index() {
        let got = top_k([0.1, 0.5, 0.5, -1.0, 0.7], 3);
        assert_eq!(got, vec![(0.7, 4), (0.5, 1), (0.5, 2)]);
    }

    /// The blocked top-K over rows plus bases equals the plain top-K of the materialized sums,
    /// ties and -inf included, with rows longer than a block and a k above one row's count.
    #[test]
    fn blocked_top_k_equals_plain_top_k() {
        let len = 150;
        let rows: Vec<Vec<f32>> = (0..3)
            .map(|r| {
                (0..len)
                    .map(|i| match (i * 37 + r * 11) % 23 {
                        0 => f32::NEG_INFINITY,
                        v => -(v as f32) * 0.25,
                    })
                    .collect()
            })
            .collect();
        let base = [-0.5f32, 0.0, -1.0e9];
        for k in [1, 8, 200] {
            let flat: Vec<f32> = rows
                .iter()
                .zip(&base)
                .flat_map(|(row, b)| row.iter().map(move |v| v + b))
                .collect();
            let got = top_k_rows(rows.iter().map(|r| r.as_slice()), &base, k);
            assert_eq!(got, top_k(flat, k), "k {k}");
        }
    }
}
