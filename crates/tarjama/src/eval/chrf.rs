//! chrF and chrF++ as sacrebleu 2.6.0 computes them (`sacrebleu.metrics.chrf.CHRF`).

use std::collections::HashMap;

use super::py::{py, py_split, Num};
use super::{CorpusMetric, SACREBLEU_VERSION};

/// chrF settings. [`ChrfConfig::chrf`] and [`ChrfConfig::chrf_plus_plus`] give sacrebleu's
/// defaults for chrF (character order 6, beta 2) and chrF++ (plus word order 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChrfConfig {
    /// Character n-gram order (`CHRF.CHAR_ORDER`, 6).
    pub char_order: usize,
    /// Word n-gram order: 0 for chrF, 2 for chrF++.
    pub word_order: usize,
    /// Recall weight (`CHRF.BETA`, 2).
    pub beta: u32,
    /// Lowercase before extracting n-grams.
    pub lowercase: bool,
    /// Keep whitespace inside character n-grams.
    pub whitespace: bool,
    /// chrF++.py-style epsilon smoothing instead of sacrebleu's effective order.
    pub eps_smoothing: bool,
}

impl ChrfConfig {
    /// sacrebleu's chrF defaults.
    pub fn chrf() -> Self {
        ChrfConfig {
            char_order: 6,
            word_order: 0,
            beta: 2,
            lowercase: false,
            whitespace: false,
            eps_smoothing: false,
        }
    }

    /// sacrebleu's chrF++ defaults (`--chrf-word-order 2`).
    pub fn chrf_plus_plus() -> Self {
        ChrfConfig {
            word_order: 2,
            ..Self::chrf()
        }
    }
}

impl Default for ChrfConfig {
    fn default() -> Self {
        Self::chrf()
    }
}

/// chrF / chrF++ scorer (`sacrebleu.metrics.chrf.CHRF`).
#[derive(Clone, Debug, Default)]
pub struct Chrf {
    /// Settings.
    pub config: ChrfConfig,
}

/// `string.punctuation`, which `CHRF._remove_punctuation` splits off word edges.
fn is_ascii_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

type Counts = HashMap<String, u64>;

/// `helpers.extract_all_char_ngrams`: character n-grams of orders 1..=max_order.
fn char_ngrams(line: &str, max_order: usize, include_whitespace: bool) -> Vec<Counts> {
    let chars: Vec<char> = if include_whitespace {
        line.chars().collect()
    } else {
        py_split(line).flat_map(str::chars).collect()
    };
    (1..=max_order)
        .map(|n| {
            let mut c = Counts::new();
            if chars.len() >= n {
                for w in chars.windows(n) {
                    *c.entry(w.iter().collect()).or_insert(0) += 1;
                }
            }
            c
        })
        .collect()
}

/// `helpers.extract_word_ngrams`: word n-grams joined by spaces.
fn word_ngrams(tokens: &[String], n: usize) -> Counts {
    let mut c = Counts::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *c.entry(w.join(" ")).or_insert(0) += 1;
        }
    }
    c
}

/// `CHRF._remove_punctuation`: splits one ASCII punctuation mark off the end of a word, or
/// else off its start.
fn remove_punctuation(sent: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in py_split(sent) {
        let chars: Vec<char> = w.chars().collect();
        if chars.len() == 1 {
            out.push(w.to_string());
        } else if is_ascii_punct(chars[chars.len() - 1]) {
            out.push(chars[..chars.len() - 1].iter().collect());
            out.push(chars[chars.len() - 1].to_string());
        } else if is_ascii_punct(chars[0]) {
            out.push(chars[0].to_string());
            out.push(chars[1..].iter().collect());
        } else {
            out.push(w.to_string());
        }
    }
    out
}

/// `CHRF._get_match_statistics`: `[hyp count (0 without reference n-grams), ref count, matches]`.
fn match_stats(hyp: &Counts, reference: &Counts) -> [u64; 3] {
    let mut matches = 0;
    let mut hyp_count = 0;
    for (g, &c) in hyp {
        hyp_count += c;
        if let Some(&r) = reference.get(g) {
            matches += c.min(r);
        }
    }
    [
        if reference.is_empty() { 0 } else { hyp_count },
        reference.values().sum(),
        matches,
    ]
}

impl Chrf {
    /// A scorer with the given settings.
    pub fn new(config: ChrfConfig) -> Self {
        Chrf { config }
    }

    fn order(&self) -> usize {
        self.config.char_order + self.config.word_order
    }

    fn preprocess(&self, sent: &str) -> String {
        if self.config.lowercase {
            sent.to_lowercase()
        } else {
            sent.to_string()
        }
    }

    fn ngrams(&self, sent: &str) -> Vec<Counts> {
        let mut all = char_ngrams(sent, self.config.char_order, self.config.whitespace);
        if self.config.word_order > 0 {
            let words = remove_punctuation(sent);
            for n in 1..=self.config.word_order {
                all.push(word_ngrams(&words, n));
            }
        }
        all
    }

    /// `CHRF._compute_f_score` over [`Num`], shared by corpus and bootstrap scoring.
    pub(crate) fn f_score(&self, stats: &[Num]) -> Num {
        let eps = py(1e-16);
        let factor = py(f64::from(self.config.beta * self.config.beta));
        let mut score = py(0.0);
        let mut effective_order = 0u32;
        let mut avg_prec = py(0.0);
        let mut avg_rec = py(0.0);
        for i in 0..self.order() {
            let (n_hyp, n_ref, n_match) = (stats[3 * i], stats[3 * i + 1], stats[3 * i + 2]);
            let prec = if n_hyp.value() > 0.0 {
                n_match / n_hyp
            } else {
                eps
            };
            let rec = if n_ref.value() > 0.0 {
                n_match / n_ref
            } else {
                eps
            };
            let denom = factor * prec + rec;
            score = score
                + if denom.value() > 0.0 {
                    (py(1.0) + factor) * prec * rec / denom
                } else {
                    eps
                };
            if n_hyp.value() > 0.0 && n_ref.value() > 0.0 {
                avg_prec = avg_prec + prec;
                avg_rec = avg_rec + rec;
                effective_order += 1;
            }
        }
        if self.config.eps_smoothing {
            return py(100.0) * score / py(self.order() as f64);
        }
        if effective_order == 0 {
            avg_prec = py(0.0);
            avg_rec = py(0.0);
        } else {
            avg_prec = avg_prec / py(f64::from(effective_order));
            avg_rec = avg_rec / py(f64::from(effective_order));
        }
        if !(avg_prec + avg_rec).is_zero() {
            let mut s = (py(1.0) + factor) * avg_prec * avg_rec;
            s = s / ((factor * avg_prec) + avg_rec);
            py(100.0) * s
        } else {
            py(0.0)
        }
    }

    /// `CHRF._compute_segment_statistics`: statistics against the reference with the best
    /// sentence-level F score (the first one on ties).
    fn segment(&self, hyp: &str, ref_ngrams: &[Vec<Counts>]) -> Vec<f64> {
        let hyp_ngrams = self.ngrams(&self.preprocess(hyp));
        let mut best: Vec<f64> = Vec::new();
        let mut best_f = -1.0;
        for r in ref_ngrams {
            let mut stats = Vec::with_capacity(3 * self.order());
            for (h, rr) in hyp_ngrams.iter().zip(r) {
                stats.extend(match_stats(h, rr).iter().map(|&x| x as f64));
            }
            let nums: Vec<Num> = stats.iter().map(|&x| py(x)).collect();
            let f = self.f_score(&nums).value();
            if f > best_f {
                best_f = f;
                best = stats;
            }
        }
        best
    }

    /// Corpus chrF (`CHRF.corpus_score`). `refs[k][i]` is reference stream `k`, line `i`.
    pub fn corpus_score(&self, hyps: &[String], refs: &[Vec<String>]) -> f64 {
        let stats = self.segment_stats(hyps, refs);
        let sums = super::sum_stats(&stats);
        let nums: Vec<Num> = sums.iter().map(|&x| py(x)).collect();
        self.f_score(&nums).value()
    }

    /// Sentence chrF (`CHRF.sentence_score`).
    pub fn sentence_score(&self, hyp: &str, refs: &[&str]) -> f64 {
        let ref_ngrams: Vec<Vec<Counts>> = refs
            .iter()
            .map(|r| self.ngrams(&self.preprocess(r)))
            .collect();
        let stats = self.segment(hyp, &ref_ngrams);
        let nums: Vec<Num> = stats.iter().map(|&x| py(x)).collect();
        self.f_score(&nums).value()
    }
}

impl CorpusMetric for Chrf {
    /// `chrF2`, `chrF2++`.
    fn name(&self) -> String {
        format!(
            "chrF{}{}",
            self.config.beta,
            "+".repeat(self.config.word_order)
        )
    }

    /// `CHRFSignature`, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0`.
    fn signature(&self, nrefs: usize) -> String {
        format!(
            "nrefs:{nrefs}|case:{}|eff:{}|nc:{}|nw:{}|space:{}|version:{SACREBLEU_VERSION}",
            if self.config.lowercase { "lc" } else { "mixed" },
            if self.config.eps_smoothing {
                "no"
            } else {
                "yes"
            },
            self.config.char_order,
            self.config.word_order,
            if self.config.whitespace { "yes" } else { "no" },
        )
    }

    fn segment_stats(&self, hyps: &[String], refs: &[Vec<String>]) -> Vec<Vec<f64>> {
        hyps.iter()
            .enumerate()
            .map(|(i, h)| {
                let ref_ngrams: Vec<Vec<Counts>> = refs
                    .iter()
                    .map(|r| self.ngrams(&self.preprocess(&r[i])))
                    .collect();
                self.segment(h, &ref_ngrams)
            })
            .collect()
    }

    fn score_from_stats(&self, stats: &[Num]) -> Num {
        self.f_score(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_split() {
        assert_eq!(
            remove_punctuation("(hi) there, !"),
            ["(hi", ")", "there", ",", "!"]
        );
    }

    #[test]
    fn identical_is_100() {
        let c = Chrf::new(ChrfConfig::chrf_plus_plus());
        assert!((c.sentence_score("a small test.", &["a small test."]) - 100.0).abs() < 1e-9);
    }
}
