//! BLEU as sacrebleu 2.6.0 computes it (`sacrebleu.metrics.bleu.BLEU`).

use std::collections::HashMap;

use super::py::{py, py_rstrip, py_split, Num};
use super::tokenizers::BleuTokenizer;
use super::{CorpusMetric, SACREBLEU_VERSION};

/// Highest n-gram order (sacrebleu's `MAX_NGRAM_ORDER`).
pub const MAX_NGRAM_ORDER: usize = 4;

/// The value sacrebleu's `my_log` returns for `log(0)`.
const LOG_ZERO: f64 = -9_999_999_999.0;

/// BLEU settings. The defaults are sacrebleu's: 13a, mixed case, exponential smoothing, no
/// effective order (sacrebleu turns effective order on for sentence-level scores).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BleuConfig {
    /// Tokenizer applied after optional lowercasing.
    pub tokenize: BleuTokenizer,
    /// Lowercase hypotheses and references first (`case:lc`).
    pub lowercase: bool,
    /// Stop at the highest n-gram order that has any hypothesis n-grams (`eff:yes`).
    pub effective_order: bool,
}

/// A BLEU score with the details sacrebleu prints (`sacrebleu.metrics.bleu.BLEUScore`).
#[derive(Clone, Debug, PartialEq)]
pub struct BleuScore {
    /// BLEU, 0 to 100.
    pub score: f64,
    /// Matched n-grams per order.
    pub counts: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order.
    pub totals: [u64; MAX_NGRAM_ORDER],
    /// Smoothed n-gram precisions in percent.
    pub precisions: [f64; MAX_NGRAM_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis length in tokens.
    pub sys_len: u64,
    /// Effective reference length in tokens.
    pub ref_len: u64,
}

impl BleuScore {
    /// `sys_len / ref_len`, 0 when there is no reference token.
    pub fn ratio(&self) -> f64 {
        if self.ref_len == 0 {
            0.0
        } else {
            self.sys_len as f64 / self.ref_len as f64
        }
    }

    /// The part sacrebleu prints after the score:
    /// `58.1/30.5/18.6/11.6 (BP = 1.000 ratio = 1.012 hyp_len = 5012 ref_len = 4951)`.
    pub fn verbose(&self) -> String {
        let prec: Vec<String> = self.precisions.iter().map(|p| format!("{p:.1}")).collect();
        format!(
            "{} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            prec.join("/"),
            self.bp,
            self.ratio(),
            self.sys_len,
            self.ref_len
        )
    }
}

/// BLEU scorer (`sacrebleu.metrics.bleu.BLEU`).
#[derive(Clone, Debug, Default)]
pub struct Bleu {
    /// Settings.
    pub config: BleuConfig,
}

/// Reference n-gram counts (max over references) and reference lengths for one segment,
/// as `BLEU._extract_reference_info` keeps them.
struct RefInfo {
    ngrams: HashMap<String, u64>,
    lens: Vec<u64>,
}

/// Counts all n-grams of orders 1..=4 of a tokenized line (`helpers.extract_all_word_ngrams`).
fn extract_ngrams(line: &str) -> (HashMap<String, u64>, u64) {
    let tokens: Vec<&str> = py_split(line).collect();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for n in 1..=MAX_NGRAM_ORDER {
        if tokens.len() < n {
            break;
        }
        for w in tokens.windows(n) {
            *counts.entry(w.join(" ")).or_insert(0) += 1;
        }
    }
    (counts, tokens.len() as u64)
}

/// `BLEU._get_closest_ref_len`: the reference length closest to the hypothesis length,
/// the shorter one on ties.
fn closest_ref_len(hyp_len: u64, ref_lens: &[u64]) -> u64 {
    let mut best: Option<(u64, u64)> = None; // (diff, len)
    for &r in ref_lens {
        let diff = hyp_len.abs_diff(r);
        match best {
            None => best = Some((diff, r)),
            Some((d, l)) => {
                if diff < d || (diff == d && r < l) {
                    best = Some((diff, r));
                }
            }
        }
    }
    best.map(|(_, l)| l).unwrap_or(0)
}

/// The result of `BLEU.compute_bleu` in sacrebleu's own number types.
pub(crate) struct BleuParts {
    pub score: Num,
    pub precisions: [Num; MAX_NGRAM_ORDER],
    pub bp: f64,
}

/// `BLEU.compute_bleu` with exponential smoothing, written over [`Num`] so that the same code
/// gives the corpus score (Python numbers) and bootstrap scores (`float32` statistics).
pub(crate) fn compute_bleu(
    correct: &[Num; MAX_NGRAM_ORDER],
    total: &[Num; MAX_NGRAM_ORDER],
    sys_len: i64,
    ref_len: i64,
    effective_order: bool,
) -> BleuParts {
    let mut bp = 1.0;
    if sys_len < ref_len {
        bp = if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        };
    }
    let mut precisions = [py(0.0); MAX_NGRAM_ORDER];
    if correct.iter().all(|c| c.is_zero()) {
        return BleuParts {
            score: py(0.0),
            precisions,
            bp,
        };
    }
    let mut smooth_mteval = py(1.0);
    let mut eff_order = MAX_NGRAM_ORDER;
    for n in 0..MAX_NGRAM_ORDER {
        if total[n].is_zero() {
            break;
        }
        if effective_order {
            eff_order = n + 1;
        }
        if correct[n].is_zero() {
            smooth_mteval = smooth_mteval * py(2.0);
            precisions[n] = py(100.0) / (smooth_mteval * total[n]);
        } else {
            precisions[n] = py(100.0) * correct[n] / total[n];
        }
    }
    let mut log_sum = 0.0f64;
    for p in &precisions[..eff_order] {
        let v = p.value();
        log_sum += if v == 0.0 { LOG_ZERO } else { v.ln() };
    }
    let score = bp * (log_sum / eff_order as f64).exp();
    BleuParts {
        score: py(score),
        precisions,
        bp,
    }
}

impl Bleu {
    /// A scorer with the given settings.
    pub fn new(config: BleuConfig) -> Self {
        Bleu { config }
    }

    /// `BLEU._preprocess_segment`: optional lowercasing, then the tokenizer on the
    /// right-stripped line.
    pub fn preprocess(&self, sent: &str) -> String {
        if self.config.lowercase {
            self.config
                .tokenize
                .tokenize(py_rstrip(&sent.to_lowercase()))
        } else {
            self.config.tokenize.tokenize(py_rstrip(sent))
        }
    }

    fn reference_info(&self, refs: &[&str]) -> RefInfo {
        let mut ngrams: HashMap<String, u64> = HashMap::new();
        let mut lens = Vec::with_capacity(refs.len());
        for (k, r) in refs.iter().enumerate() {
            let (counts, len) = extract_ngrams(&self.preprocess(r));
            lens.push(len);
            if k == 0 {
                ngrams = counts;
            } else {
                for (g, c) in counts {
                    let e = ngrams.entry(g).or_insert(0);
                    *e = (*e).max(c);
                }
            }
        }
        RefInfo { ngrams, lens }
    }

    /// `BLEU._compute_segment_statistics`: `[hyp_len, ref_len, correct.., total..]`.
    fn segment(&self, hyp: &str, info: &RefInfo) -> Vec<f64> {
        let (hyp_ngrams, hyp_len) = extract_ngrams(&self.preprocess(hyp));
        let ref_len = closest_ref_len(hyp_len, &info.lens);
        let mut correct = [0u64; MAX_NGRAM_ORDER];
        let mut total = [0u64; MAX_NGRAM_ORDER];
        for (g, c) in &hyp_ngrams {
            let n = g.split(' ').count() - 1;
            total[n] += c;
            if let Some(r) = info.ngrams.get(g) {
                correct[n] += (*c).min(*r);
            }
        }
        let mut v = Vec::with_capacity(2 + 2 * MAX_NGRAM_ORDER);
        v.push(hyp_len as f64);
        v.push(ref_len as f64);
        v.extend(correct.iter().map(|&c| c as f64));
        v.extend(total.iter().map(|&c| c as f64));
        v
    }

    /// Turns summed statistics into a [`BleuScore`] (`BLEU._compute_score_from_stats`).
    pub fn score_from_totals(&self, stats: &[f64]) -> BleuScore {
        let nums: Vec<Num> = stats.iter().map(|&x| py(x)).collect();
        let (correct, total) = split_counts(&nums);
        let sys_len = stats[0] as i64;
        let ref_len = stats[1] as i64;
        let parts = compute_bleu(
            &correct,
            &total,
            sys_len,
            ref_len,
            self.config.effective_order,
        );
        let mut counts = [0u64; MAX_NGRAM_ORDER];
        let mut totals = [0u64; MAX_NGRAM_ORDER];
        for n in 0..MAX_NGRAM_ORDER {
            counts[n] = stats[2 + n] as u64;
            totals[n] = stats[2 + MAX_NGRAM_ORDER + n] as u64;
        }
        BleuScore {
            score: parts.score.value(),
            counts,
            totals,
            precisions: parts.precisions.map(Num::value),
            bp: parts.bp,
            sys_len: sys_len as u64,
            ref_len: ref_len as u64,
        }
    }

    /// Corpus BLEU (`BLEU.corpus_score`). `refs[k][i]` is reference stream `k`, line `i`.
    pub fn corpus_score(&self, hyps: &[String], refs: &[Vec<String>]) -> BleuScore {
        let stats = self.segment_stats(hyps, refs);
        self.score_from_totals(&super::sum_stats(&stats))
    }

    /// Sentence BLEU for one hypothesis (`BLEU.sentence_score`).
    pub fn sentence_score(&self, hyp: &str, refs: &[&str]) -> BleuScore {
        let info = self.reference_info(refs);
        self.score_from_totals(&self.segment(hyp, &info))
    }
}

fn split_counts(stats: &[Num]) -> ([Num; MAX_NGRAM_ORDER], [Num; MAX_NGRAM_ORDER]) {
    let mut correct = [py(0.0); MAX_NGRAM_ORDER];
    let mut total = [py(0.0); MAX_NGRAM_ORDER];
    correct.copy_from_slice(&stats[2..2 + MAX_NGRAM_ORDER]);
    total.copy_from_slice(&stats[2 + MAX_NGRAM_ORDER..2 + 2 * MAX_NGRAM_ORDER]);
    (correct, total)
}

impl CorpusMetric for Bleu {
    fn name(&self) -> String {
        "BLEU".to_string()
    }

    /// `BLEUSignature`, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    fn signature(&self, nrefs: usize) -> String {
        format!(
            "nrefs:{nrefs}|case:{}|eff:{}|tok:{}|smooth:exp|version:{SACREBLEU_VERSION}",
            if self.config.lowercase { "lc" } else { "mixed" },
            if self.config.effective_order {
                "yes"
            } else {
                "no"
            },
            self.config.tokenize.signature()
        )
    }

    fn segment_stats(&self, hyps: &[String], refs: &[Vec<String>]) -> Vec<Vec<f64>> {
        hyps.iter()
            .enumerate()
            .map(|(i, h)| {
                let seg_refs: Vec<&str> = refs.iter().map(|r| r[i].as_str()).collect();
                let info = self.reference_info(&seg_refs);
                self.segment(h, &info)
            })
            .collect()
    }

    fn score_from_stats(&self, stats: &[Num]) -> Num {
        let (correct, total) = split_counts(stats);
        compute_bleu(
            &correct,
            &total,
            stats[0].trunc_int(),
            stats[1].trunc_int(),
            self.config.effective_order,
        )
        .score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_ref_len_prefers_shorter_on_ties() {
        assert_eq!(closest_ref_len(5, &[4, 6]), 4);
        assert_eq!(closest_ref_len(5, &[7, 6]), 6);
    }

    #[test]
    fn perfect_match_is_100() {
        let b = Bleu::default();
        let s = b.corpus_score(
            &["the cat sat on the mat".to_string()],
            &[vec!["the cat sat on the mat".to_string()]],
        );
        assert!((s.score - 100.0).abs() < 1e-9);
        assert_eq!(
            s.verbose(),
            "100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)"
        );
    }
}
