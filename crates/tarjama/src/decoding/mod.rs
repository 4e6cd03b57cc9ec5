//! Decoding: greedy search, sampling and beam search over any encoder-decoder, with
//! transformers' `generate()` semantics (`GenerationMixin._sample`, and the vectorized
//! `GenerationMixin._beam_search` of transformers 4.57). Sampling keeps transformers' warpers
//! and their order but draws from tarjama's own seeded streams (`sampling`), so sampled tokens
//! cannot equal torch's.
//!
//! A model takes part through [`StepDecoder`] only: decoding knows nothing about Marian or T5,
//! and models know nothing about beams (the split CTranslate2 uses). [`generate`] builds the
//! decoder itself, from a factory given the beam count, and runs greedy search (`greedy`) or
//! beam search (`beam`); the logits processors (`processors`) and [`GenerationConfig`] are
//! shared by both.

mod beam;
mod config;
mod greedy;
mod patch;
mod processors;
mod sampling;

pub use config::{ChosenBy, EarlyStopping, GenerationConfig, DEFAULT_SEED};
pub use patch::{GenerationPatch, TokenIds};
pub use processors::log_softmax_in_place;

use candle_core::Tensor;
use serde::Serialize;

use crate::error::{Error, Result};

/// One decoding step of a model with its caches (self-attention KV cache, cross-attention
/// keys/values), as a search drives it.
pub trait StepDecoder {
    /// Feeds one token per row and returns next-token logits `(rows, vocab)` as f32.
    ///
    /// The first call feeds the decoder start token; the row count stays that of the
    /// latest [`StepDecoder::reorder`] (or the initial `batch × expand`).
    fn step(&mut self, tokens: &[u32]) -> Result<Tensor>;

    /// Rearranges the rows of every cache: new row `i` is old row `indices[i]` (rows may repeat,
    /// as when two beams continue the same hypothesis).
    fn reorder(&mut self, indices: &[u32]) -> Result<()>;
}

/// One output sequence of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Token ids starting with the decoder start token, ending with EOS unless the length limit
    /// cut it (exactly transformers' `sequences` row without trailing padding).
    pub tokens: Vec<u32>,
    /// Beam search: the length-penalized sum of log-probabilities (transformers'
    /// `sequences_scores`). Greedy and sampling: `None`.
    pub score: Option<f32>,
}

/// Why a [`Hypothesis`] ended (transformers has no such field; it is read off `sequences`: a
/// row that does not end with an EOS id was cut by the length limit, `max_length` or
/// `max_new_tokens`, and so was a row that reached the limit with the EOS that
/// `forced_eos_token_id` forces at the last position). Serialized as `"eos"` or `"length"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The hypothesis ends with an EOS token the model chose: it is complete.
    Eos,
    /// The length limit cut it (before any EOS, or with the forced final EOS).
    Length,
}

impl FinishReason {
    /// `"eos"` or `"length"`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Eos => "eos",
            FinishReason::Length => "length",
        }
    }
}

impl Hypothesis {
    /// Why this hypothesis, generated with `cfg`, ended: [`FinishReason::Eos`] when its last
    /// token is one of [`GenerationConfig::eos_token_ids`] and it is not the EOS that
    /// [`GenerationConfig::forced_eos_token_id`] forced at the length limit
    /// ([`GenerationConfig::effective_max_length`]); else [`FinishReason::Length`].
    pub fn finish_reason(&self, cfg: &GenerationConfig) -> FinishReason {
        let Some(&last) = self.tokens.last().filter(|_| self.tokens.len() > 1) else {
            return FinishReason::Length;
        };
        let forced = cfg.forced_eos_token_id == Some(last)
            && self.tokens.len() >= cfg.effective_max_length();
        if cfg.eos_token_ids.contains(&last) && !forced {
            FinishReason::Eos
        } else {
            FinishReason::Length
        }
    }
}

/// The first non-finite score in a row of logits, as named in [`Error::NonFinite`]: `"NaN"` or
/// `"infinity"` (+inf). `-inf` is not reported: it is how models and processors mask tokens.
/// One pass over the row, which the search reads anyway.
pub(crate) fn non_finite(row: &[f32]) -> Option<&'static str> {
    row.iter().find_map(|&x| {
        if x.is_nan() {
            Some("NaN")
        } else if x == f32::INFINITY {
            Some("infinity")
        } else {
            None
        }
    })
}

/// The [`Error::NonFinite`] for `value` at decoding `step` (1: the step that feeds the decoder
/// start token), without the model's name (the pipeline adds it).
pub(crate) fn non_finite_error(value: &'static str, step: usize) -> Error {
    Error::NonFinite {
        model: None,
        value,
        step,
    }
}

/// Runs greedy search (`num_beams == 1`) or beam search over `batch` inputs, transformers'
/// `GenerationMixin.generate` without sampling.
///
/// `decoder` builds the model's [`StepDecoder`] for a given number of rows per input (the
/// `expand` of [`crate::model::Seq2Seq::decoder`]); it is called once, with the beam count
/// this search runs (`cfg.num_beams`, validated to be at least 1), so the decoder's rows always match the
/// search's. Returns, per input, `cfg.num_return_sequences` hypotheses, best first.
///
/// Errors: an invalid configuration (see [`GenerationConfig::validate`], checked before
/// `decoder` is called), a model error, or [`Error::NonFinite`] when a step's logits hold NaN
/// or +inf (damaged weights; transformers would carry on and emit garbage or nothing).
pub fn generate<'a>(
    decoder: impl FnOnce(usize) -> Result<Box<dyn StepDecoder + 'a>>,
    batch: usize,
    cfg: &GenerationConfig,
) -> Result<Vec<Vec<Hypothesis>>> {
    let rows: Vec<u64> = (0..batch as u64).collect();
    generate_rows(decoder, &rows, cfg)
}

/// [`generate`] over `rows.len()` inputs, where `rows[i]` is input `i`'s index in the whole
/// input (of which this batch is a part): with `cfg.do_sample`, it numbers the input's random
/// stream (seeded by `cfg.seed`, else [`DEFAULT_SEED`]), so what an input samples does not
/// depend on which batch it is decoded in. Greedy and beam search ignore it.
///
/// Errors: as [`generate`].
pub fn generate_rows<'a>(
    decoder: impl FnOnce(usize) -> Result<Box<dyn StepDecoder + 'a>>,
    rows: &[u64],
    cfg: &GenerationConfig,
) -> Result<Vec<Vec<Hypothesis>>> {
    cfg.validate()?;
    let beams = cfg.num_beams;
    let mut decoder = decoder(beams)?;
    if beams == 1 {
        greedy::search(decoder.as_mut(), rows, cfg)
    } else {
        beam::search(decoder.as_mut(), rows.len(), cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder over a 4-token vocabulary that always prefers token 3 then EOS (2), and
    /// records the rows it was built with and fed.
    struct Scripted {
        rows: usize,
        steps: usize,
        fed: Vec<usize>,
    }

    impl StepDecoder for Scripted {
        fn step(&mut self, tokens: &[u32]) -> Result<Tensor> {
            assert_eq!(tokens.len(), self.rows);
            self.fed.push(tokens.len());
            let best = if self.steps == 0 { 3 } else { 2 };
            self.steps += 1;
            let row: Vec<f32> = (0..4).map(|t| if t == best { 0.0 } else { -5.0 }).collect();
            let logits: Vec<f32> = row.repeat(self.rows);
            Ok(Tensor::from_vec(
                logits,
                (self.rows, 4),
                &candle_core::Device::Cpu,
            )?)
        }

        fn reorder(&mut self, indices: &[u32]) -> Result<()> {
            assert_eq!(indices.len(), self.rows);
            Ok(())
        }
    }

    /// A hypothesis cut by the length limit says so, greedy and beam alike; one that chose
    /// EOS does not; an EOS forced at the limit counts as the limit.
    #[test]
    fn finish_reason_tells_eos_from_the_length_limit() {
        for beams in [1, 3] {
            let run = |max_length: usize, forced_eos: Option<u32>| {
                let cfg = GenerationConfig {
                    num_beams: beams,
                    eos_token_ids: vec![2],
                    forced_eos_token_id: forced_eos,
                    max_length,
                    max_length_set: true,
                    ..GenerationConfig::default()
                };
                let out = generate(
                    |expand| {
                        Ok(Box::new(Scripted {
                            rows: expand,
                            steps: 0,
                            fed: Vec::new(),
                        }) as Box<dyn StepDecoder>)
                    },
                    1,
                    &cfg,
                )
                .unwrap();
                let h = out[0][0].clone();
                (h.tokens.clone(), h.finish_reason(&cfg))
            };
            assert_eq!(run(2, None), (vec![0, 3], FinishReason::Length), "{beams}");
            assert_eq!(run(5, None), (vec![0, 3, 2], FinishReason::Eos), "{beams}");
            // The model's own EOS at the last position, and an EOS forced there.
            assert_eq!(run(3, None), (vec![0, 3, 2], FinishReason::Eos), "{beams}");
            assert_eq!(
                run(2, Some(2)),
                (vec![0, 2], FinishReason::Length),
                "{beams}"
            );
        }
        assert_eq!(
            serde_json::to_string(&FinishReason::Length).unwrap(),
            "\"length\""
        );
        assert_eq!(FinishReason::Eos.as_str(), "eos");
    }

    /// A NaN or +inf in a step's logits stops the search with [`Error::NonFinite`], greedy
    /// and beam alike; -inf (a mask) does not.
    #[test]
    fn non_finite_logits_are_an_error() {
        assert_eq!(non_finite(&[0.0, f32::NEG_INFINITY, -3.0]), None);
        assert_eq!(non_finite(&[0.0, f32::NAN]), Some("NaN"));
        assert_eq!(non_finite(&[f32::INFINITY, f32::NAN]), Some("infinity"));
        struct Poisoned(f32);
        impl StepDecoder for Poisoned {
            fn step(&mut self, tokens: &[u32]) -> Result<Tensor> {
                let row = [0.0, self.0, -1.0, -2.0].repeat(tokens.len());
                Ok(Tensor::from_vec(
                    row,
                    (tokens.len(), 4),
                    &candle_core::Device::Cpu,
                )?)
            }
            fn reorder(&mut self, _: &[u32]) -> Result<()> {
                Ok(())
            }
        }
        for beams in [1, 2] {
            for (bad, name) in [(f32::NAN, "NaN"), (f32::INFINITY, "infinity")] {
                let cfg = GenerationConfig {
                    num_beams: beams,
                    eos_token_ids: vec![2],
                    max_length: 5,
                    max_length_set: true,
                    ..GenerationConfig::default()
                };
                let err = generate(
                    |_| Ok(Box::new(Poisoned(bad)) as Box<dyn StepDecoder>),
                    1,
                    &cfg,
                )
                .unwrap_err();
                assert!(
                    matches!(err, Error::NonFinite { model: None, value, step: 1 } if value == name),
                    "{beams} beams: {err}"
                );
                assert_eq!(
                    err.to_string(),
                    format!(
                        "the model produced non-finite scores ({name}) at decoding step 1; \
                         its weights may be damaged"
                    )
                );
            }
        }
    }

    /// The factory is called once with the search's beam count, greedy and beam alike, and
    /// an invalid configuration fails before any decoder is built.
    #[test]
    fn generate_builds_the_decoder_with_the_searchs_beam_count() {
        for beams in [1, 3] {
            let cfg = GenerationConfig {
                num_beams: beams,
                eos_token_ids: vec![2],
                max_length: 5,
                max_length_set: true,
                ..GenerationConfig::default()
            };
            let mut built = Vec::new();
            let out = generate(
                |expand| {
                    built.push(expand);
                    Ok(Box::new(Scripted {
                        rows: 2 * expand,
                        steps: 0,
                        fed: Vec::new(),
                    }) as Box<dyn StepDecoder>)
                },
                2,
                &cfg,
            )
            .unwrap();
            assert_eq!(built, [beams]);
            assert_eq!(out.len(), 2);
            for hyps in out {
                assert_eq!(hyps.len(), 1);
                assert_eq!(hyps[0].tokens, [0, 3, 2], "{beams} beams");
            }
        }
        let bad = GenerationConfig {
            num_beams: 0,
            ..GenerationConfig::default()
        };
        let mut called = false;
        let err = generate(
            |_| {
                called = true;
                unreachable!()
            },
            1,
            &bad,
        );
        assert!(err.is_err());
        assert!(!called);
    }
}
