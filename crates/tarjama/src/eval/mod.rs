//! Evaluation metrics: BLEU, chrF, chrF++ and TER equal to sacrebleu 2.6.0, ROUGE equal to
//! rouge-score 0.1.2, and sacrebleu's paired tests (bootstrap resampling, approximate
//! randomization).
//!
//! Every figure is computed the way the Python reference computes it (same tokenization, same
//! order of floating-point operations, same random numbers for resampling), so printed values
//! agree digit for digit. Each metric lives in its own module; this module holds the settings
//! and the two entry points behind `tarjama eval` ([`evaluate`], [`evaluate_sentences`]) and
//! `tarjama compare` ([`compare`]). Nothing here prints.

pub mod bleu;
pub mod bootstrap;
pub mod chrf;
pub mod input;
mod py;
pub mod randomization;
pub mod report;
pub mod rouge;
pub mod rouge_bootstrap;
pub mod spm;
pub mod stem;
pub mod ter;
pub mod tokenizers;
pub mod xlsum;

use std::str::FromStr;

pub use bleu::{Bleu, BleuConfig, BleuScore};
pub use bootstrap::{
    BootstrapResult, Confidence, Resamples, DEFAULT_RESAMPLES, DEFAULT_SEED, MAX_RESAMPLES,
};
pub use chrf::{Chrf, ChrfConfig};
pub use py::Num;
pub use randomization::{RandomizationResult, DEFAULT_TRIALS, MAX_TRIALS};
pub use rouge::{RougeConfig, RougeScore, RougeTokenizer, RougeType};
pub use rouge_bootstrap::{RougeBootstrapSettings, RougeInterval};
pub use spm::{Flores, SpmTokenizer};
pub use ter::{Ter, TerScore};
pub use tokenizers::BleuTokenizer;
pub use xlsum::XlsumLang;

use crate::{Error, Result};

/// The sacrebleu version whose results these metrics reproduce; it ends every signature.
pub const SACREBLEU_VERSION: &str = "2.6.0";

/// A metric computed from per-segment sufficient statistics that add up over a corpus, as
/// sacrebleu's `Metric` classes are (BLEU, chrF, TER). Bootstrap resampling works on these.
pub trait CorpusMetric {
    /// The name sacrebleu prints (`BLEU`, `chrF2`, `chrF2++`, `TER`).
    fn name(&self) -> String;
    /// sacrebleu's signature string for these settings and this many references.
    fn signature(&self, nrefs: usize) -> String;
    /// Statistics of every segment (`Metric._extract_corpus_statistics`). `refs[k][i]` is
    /// reference stream `k`, line `i`.
    fn segment_stats(&self, hyps: &[String], refs: &[Vec<String>]) -> Vec<Vec<f64>>;
    /// The score from summed statistics (`Metric._compute_score_from_stats`), in the number
    /// types sacrebleu would use for them.
    fn score_from_stats(&self, stats: &[Num]) -> Num;
}

/// `utils.sum_of_lists`: element-wise sum of segment statistics, in order.
pub(crate) fn sum_stats(stats: &[Vec<f64>]) -> Vec<f64> {
    let k = stats.first().map_or(0, Vec::len);
    let mut total = vec![0.0; k];
    for s in stats {
        for (t, &x) in total.iter_mut().zip(s) {
            *t += x;
        }
    }
    total
}

/// The metrics `tarjama eval` and `tarjama compare` can report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// BLEU.
    Bleu,
    /// chrF (character 6-grams, beta 2).
    Chrf,
    /// chrF++ (chrF plus word 1- and 2-grams).
    ChrfPlusPlus,
    /// TER.
    Ter,
    /// ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum.
    Rouge,
}

impl MetricKind {
    /// All metrics, in output order.
    pub const ALL: [MetricKind; 5] = [
        MetricKind::Bleu,
        MetricKind::Chrf,
        MetricKind::ChrfPlusPlus,
        MetricKind::Ter,
        MetricKind::Rouge,
    ];
}

impl FromStr for MetricKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bleu" => Ok(MetricKind::Bleu),
            "chrf" => Ok(MetricKind::Chrf),
            "chrf++" => Ok(MetricKind::ChrfPlusPlus),
            "ter" => Ok(MetricKind::Ter),
            "rouge" => Ok(MetricKind::Rouge),
            other => Err(format!(
                "unknown metric {other:?} (expected bleu, chrf, chrf++, ter or rouge)"
            )),
        }
    }
}

/// Everything that decides the scores of `tarjama eval` / `tarjama compare`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalSettings {
    /// Metrics to compute, in this order.
    pub metrics: Vec<MetricKind>,
    /// BLEU tokenizer and casing (`effective_order` is set for sentence scores).
    pub bleu: BleuConfig,
    /// ROUGE tokenizer and stemming.
    pub rouge: RougeConfig,
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings {
            metrics: MetricKind::ALL.to_vec(),
            bleu: BleuConfig::default(),
            rouge: RougeConfig::default(),
        }
    }
}

/// Metric-specific details of a [`ScoreLine`].
#[derive(Clone, Debug, PartialEq)]
pub enum ScoreDetail {
    /// chrF and chrF++ have none.
    None,
    /// n-gram precisions, brevity penalty, lengths.
    Bleu(BleuScore),
    /// Edit and length totals.
    Ter(TerScore),
    /// Precision, recall and F1 (0..=1).
    Rouge(RougeScore),
}

/// One reported figure: a metric, its signature and its score.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreLine {
    /// `BLEU`, `chrF2`, `chrF2++`, `TER`, `ROUGE-1`, `ROUGE-2`, `ROUGE-L`, `ROUGE-Lsum`.
    pub name: String,
    /// The settings that produced it, sacrebleu-style (`nrefs:1|case:mixed|...`).
    pub signature: String,
    /// The score on a 0-100 scale (for ROUGE, 100 × the mean F1).
    pub score: f64,
    /// Metric-specific details.
    pub detail: ScoreDetail,
}

impl ScoreLine {
    /// The text after the score: BLEU's verbose part (`Score.format`), ROUGE's precision and
    /// recall (×100 at `width` decimals); empty for chrF and TER.
    pub fn verbose(&self, width: usize) -> String {
        match &self.detail {
            ScoreDetail::Bleu(b) => b.verbose(),
            ScoreDetail::Rouge(r) => format!(
                "(P = {:.w$} R = {:.w$})",
                100.0 * r.precision,
                100.0 * r.recall,
                w = width
            ),
            ScoreDetail::None | ScoreDetail::Ter(_) => String::new(),
        }
    }

    /// The line sacrebleu prints (`Score.format(width, signature=...)`), e.g.
    /// `chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 55.23`.
    pub fn format(&self, width: usize) -> String {
        self.format_with(width, None)
    }

    /// The score as `-b/--score-only` prints it: `{score:.width$}`, followed by ` (μ = mean ±
    /// ci)` when a bootstrap estimate is given and its mean is above 0 (sacrebleu's rule).
    pub fn score_text(&self, width: usize, confidence: Option<&Confidence>) -> String {
        let mut s = format!("{:.w$}", self.score, w = width);
        if let Some(c) = confidence.filter(|c| c.mean > 0.0) {
            s.push_str(&format!(" (μ = {:.w$} ± {:.w$})", c.mean, c.ci, w = width));
        }
        s
    }

    /// [`ScoreLine::format`] with sacrebleu's `--confidence` estimate after the score
    /// (`Score.format` after `estimate_ci`), e.g. `chrF2|nrefs:1|bs:1000|seed:12345|... = 55.38
    /// (μ = 55.39 ± 9.39)`; nothing is added when the mean is 0.
    pub fn format_with(&self, width: usize, confidence: Option<&Confidence>) -> String {
        let mut s = format!(
            "{}|{} = {}",
            self.name,
            self.signature,
            self.score_text(width, confidence)
        );
        let v = self.verbose(width);
        if !v.is_empty() {
            s.push(' ');
            s.push_str(&v);
        }
        s
    }
}

fn check_shapes(hyps: &[String], refs: &[Vec<String>]) -> Result<()> {
    if refs.is_empty() {
        return Err(Error::Config("at least one reference is needed".into()));
    }
    if hyps.is_empty() {
        return Err(Error::Config("there are no segments to score".into()));
    }
    for (k, r) in refs.iter().enumerate() {
        if r.len() != hyps.len() {
            return Err(Error::Config(format!(
                "reference {} has {} segments but the hypothesis has {}",
                k + 1,
                r.len(),
                hyps.len()
            )));
        }
    }
    Ok(())
}

fn rouge_lines(docs: &[rouge::RougeDoc], settings: &EvalSettings, nrefs: usize) -> Vec<ScoreLine> {
    let mean = rouge::mean_scores(docs);
    let signature = rouge::signature(&settings.rouge, nrefs);
    RougeType::ALL
        .iter()
        .zip(mean)
        .map(|(t, s)| ScoreLine {
            name: t.name().to_string(),
            signature: signature.clone(),
            score: 100.0 * s.fmeasure,
            detail: ScoreDetail::Rouge(s),
        })
        .collect()
}

/// Corpus-level scores of one hypothesis against one or more references, one line per
/// figure (four for ROUGE). `refs[k][i]` is reference stream `k`, line `i`.
///
/// BLEU, chrF and TER are `corpus_score` of sacrebleu's `BLEU`, `CHRF` and `TER`; ROUGE is the
/// mean over documents of rouge-score's `RougeScorer.score` (`score_multi` with several
/// references).
pub fn evaluate(
    settings: &EvalSettings,
    hyps: &[String],
    refs: &[Vec<String>],
) -> Result<Vec<ScoreLine>> {
    check_shapes(hyps, refs)?;
    let nrefs = refs.len();
    let mut out = Vec::new();
    for kind in &settings.metrics {
        match kind {
            MetricKind::Bleu => {
                let m = Bleu::new(settings.bleu.clone());
                let s = m.corpus_score(hyps, refs);
                out.push(ScoreLine {
                    name: m.name(),
                    signature: m.signature(nrefs),
                    score: s.score,
                    detail: ScoreDetail::Bleu(s),
                });
            }
            MetricKind::Chrf | MetricKind::ChrfPlusPlus => {
                let m = Chrf::new(chrf_config(*kind));
                out.push(ScoreLine {
                    name: m.name(),
                    signature: m.signature(nrefs),
                    score: m.corpus_score(hyps, refs),
                    detail: ScoreDetail::None,
                });
            }
            MetricKind::Ter => {
                let m = Ter::default();
                let s = m.corpus_score(hyps, refs);
                out.push(ScoreLine {
                    name: m.name(),
                    signature: m.signature(nrefs),
                    score: s.score,
                    detail: ScoreDetail::Ter(s),
                });
            }
            MetricKind::Rouge => {
                let docs = rouge::document_scores(hyps, refs, &settings.rouge);
                out.extend(rouge_lines(&docs, settings, nrefs));
            }
        }
    }
    Ok(out)
}

/// Corpus scores with sacrebleu's single-system bootstrap estimate (`sacrebleu --confidence
/// --confidence-n N`, i.e. `corpus_score(..., n_bootstrap=N)`): the lines of [`evaluate`],
/// their signatures with `bs:N|seed:S` inserted as sacrebleu prints them, and each line's
/// [`Confidence`]. BLEU, chrF and TER equal sacrebleu's; ROUGE (which sacrebleu lacks) gets
/// the mean and interval of the same resamples' mean F1. Errors as [`evaluate`], and when
/// `bs.resamples` is 0 or above [`MAX_RESAMPLES`].
pub fn evaluate_with_confidence(
    settings: &EvalSettings,
    hyps: &[String],
    refs: &[Vec<String>],
    bs: &BootstrapSettings,
) -> Result<Vec<(ScoreLine, Confidence)>> {
    let lines = evaluate(settings, hyps, refs)?;
    let resamples =
        bootstrap::Resamples::new(bs.seed, bs.resamples, hyps.len()).map_err(Error::Config)?;
    let mut conf = Vec::new();
    for kind in &settings.metrics {
        let one = |m: &dyn CorpusMetric| {
            bootstrap::confidence(m, &m.segment_stats(hyps, refs), &resamples)
        };
        match kind {
            MetricKind::Bleu => conf.push(one(&Bleu::new(settings.bleu.clone()))),
            MetricKind::Chrf | MetricKind::ChrfPlusPlus => {
                conf.push(one(&Chrf::new(chrf_config(*kind))))
            }
            MetricKind::Ter => conf.push(one(&Ter::default())),
            MetricKind::Rouge => {
                let sys = [hyps.to_vec()];
                for f in rouge_f1s(settings, &sys, refs) {
                    let r = &bootstrap::paired_bootstrap_means(&f, &resamples)[0];
                    conf.push(Confidence {
                        mean: 100.0 * r.mean,
                        ci: 100.0 * r.ci,
                    });
                }
            }
        }
    }
    Ok(lines
        .into_iter()
        .zip(conf)
        .map(|(mut l, c)| {
            l.signature = test_signature(&l.signature, bs);
            (l, c)
        })
        .collect())
}

/// Corpus scores with rouge-score's bootstrap intervals on the ROUGE figures
/// (`scoring.BootstrapAggregator(confidence_interval, n_samples)` over every document's
/// `RougeScorer.score` / `score_multi`, after `np.random.seed(seed)`; see [`rouge_bootstrap`]):
/// the lines of [`evaluate`], each ROUGE line with its [`RougeInterval`] (values in 0..=1) and
/// `rbs:N|ci:C|seed:S` inserted into its signature; other lines unchanged and without one.
/// Errors as [`evaluate`], and for the settings [`rouge_bootstrap::aggregate`] rejects.
pub fn evaluate_with_rouge_intervals(
    settings: &EvalSettings,
    hyps: &[String],
    refs: &[Vec<String>],
    rbs: &RougeBootstrapSettings,
) -> Result<Vec<(ScoreLine, Option<RougeInterval>)>> {
    let lines = evaluate(settings, hyps, refs)?;
    let intervals = if settings.metrics.contains(&MetricKind::Rouge) {
        let docs = rouge::document_scores(hyps, refs, &settings.rouge);
        Some(rouge_bootstrap::aggregate(&docs, rbs).map_err(Error::Config)?)
    } else {
        None
    };
    Ok(lines
        .into_iter()
        .map(|mut l| {
            let k = RougeType::ALL.iter().position(|t| t.name() == l.name);
            match (k, &intervals) {
                (Some(k), Some(iv)) => {
                    l.signature = insert_fields(&l.signature, &rbs.signature_fields());
                    (l, Some(iv[k]))
                }
                _ => (l, None),
            }
        })
        .collect())
}

fn chrf_config(kind: MetricKind) -> ChrfConfig {
    if kind == MetricKind::ChrfPlusPlus {
        ChrfConfig::chrf_plus_plus()
    } else {
        ChrfConfig::chrf()
    }
}

/// Sentence-level scores: for every segment, the same figures as [`evaluate`] computed on
/// that segment alone (`sentence_score` in sacrebleu, which turns on BLEU's effective order as
/// its command line does). ROUGE goes through one [`rouge::RougeScorer`] in segment order, so
/// each segment's ROUGE is the one it has in the corpus score (XL-Sum's Arabic stemmer keeps a
/// state from word to word).
pub fn evaluate_sentences(
    settings: &EvalSettings,
    hyps: &[String],
    refs: &[Vec<String>],
) -> Result<Vec<Vec<ScoreLine>>> {
    check_shapes(hyps, refs)?;
    let nrefs = refs.len();
    let bleu = Bleu::new(BleuConfig {
        effective_order: true,
        ..settings.bleu.clone()
    });
    let chrf = Chrf::new(ChrfConfig::chrf());
    let chrfpp = Chrf::new(ChrfConfig::chrf_plus_plus());
    let ter = Ter::default();
    let mut rouge_scorer = rouge::RougeScorer::new(settings.rouge);
    let mut out = Vec::with_capacity(hyps.len());
    for (i, h) in hyps.iter().enumerate() {
        let seg_refs: Vec<&str> = refs.iter().map(|r| r[i].as_str()).collect();
        let mut lines = Vec::new();
        for kind in &settings.metrics {
            match kind {
                MetricKind::Bleu => {
                    let s = bleu.sentence_score(h, &seg_refs);
                    lines.push(ScoreLine {
                        name: bleu.name(),
                        signature: bleu.signature(nrefs),
                        score: s.score,
                        detail: ScoreDetail::Bleu(s),
                    });
                }
                MetricKind::Chrf | MetricKind::ChrfPlusPlus => {
                    let m = if *kind == MetricKind::Chrf {
                        &chrf
                    } else {
                        &chrfpp
                    };
                    lines.push(ScoreLine {
                        name: m.name(),
                        signature: m.signature(nrefs),
                        score: m.sentence_score(h, &seg_refs),
                        detail: ScoreDetail::None,
                    });
                }
                MetricKind::Ter => {
                    let s = ter.sentence_score(h, &seg_refs);
                    lines.push(ScoreLine {
                        name: ter.name(),
                        signature: ter.signature(nrefs),
                        score: s.score,
                        detail: ScoreDetail::Ter(s),
                    });
                }
                MetricKind::Rouge => {
                    let doc = if seg_refs.len() == 1 {
                        rouge_scorer.score(seg_refs[0], h)
                    } else {
                        rouge_scorer.score_multi(&seg_refs, h)
                    };
                    lines.extend(rouge_lines(&[doc], settings, nrefs));
                }
            }
        }
        out.push(lines);
    }
    Ok(out)
}

/// The results of every system for one figure under a paired test: [`MetricComparison`]
/// (bootstrap) or [`RandomizationComparison`] (approximate randomization).
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison<R> {
    /// Figure name (`BLEU`, `ROUGE-L`, ...).
    pub name: String,
    /// Signature including the test settings (`nrefs:1|bs:1000|seed:12345|...` or
    /// `nrefs:1|ar:10000|seed:12345|...`), as sacrebleu prints it.
    pub signature: String,
    /// One result per system, in input order; the first is the baseline (no p-value).
    pub results: Vec<R>,
}

/// Paired bootstrap results of every system for one figure.
pub type MetricComparison = Comparison<BootstrapResult>;

/// Approximate randomization results of every system for one figure.
pub type RandomizationComparison = Comparison<RandomizationResult>;

/// What every paired test reports for one system: its score, optionally a resampled mean and
/// 95% confidence half-width, and the p-value against the baseline.
pub trait PairedOutcome {
    /// The actual corpus score (0-100).
    fn score(&self) -> f64;
    /// The resampled mean and 95% confidence half-width, when the test estimates them
    /// (bootstrap does, approximate randomization does not).
    fn interval(&self) -> Option<(f64, f64)>;
    /// p-value of the difference from the baseline; `None` for the baseline itself.
    fn p_value(&self) -> Option<f64>;
}

impl PairedOutcome for BootstrapResult {
    fn score(&self) -> f64 {
        self.score
    }
    fn interval(&self) -> Option<(f64, f64)> {
        Some((self.mean, self.ci))
    }
    fn p_value(&self) -> Option<f64> {
        self.p_value
    }
}

impl PairedOutcome for RandomizationResult {
    fn score(&self) -> f64 {
        self.score
    }
    fn interval(&self) -> Option<(f64, f64)> {
        None
    }
    fn p_value(&self) -> Option<f64> {
        self.p_value
    }
}

/// A paired significance test of sacrebleu's `PairedTest`: bootstrap resampling
/// ([`BootstrapSettings`], `test_type='bs'`) or approximate randomization
/// ([`RandomizationSettings`], `test_type='ar'`). [`compare_with`] runs any of them.
pub trait PairedTest {
    /// One system's result.
    type Outcome: PairedOutcome;
    /// What is prepared once for all metrics of a run on `n` segments (the resampling plan).
    type Plan;
    /// The signature fields the test adds after `nrefs:N`: `bs:1000|seed:12345` or
    /// `ar:10000|seed:12345`.
    fn signature_fields(&self) -> String;
    /// Checks the settings and prepares the run on `n` segments; errors when the number of
    /// resamples or trials is 0 or above its maximum.
    fn plan(&self, n: usize) -> Result<Self::Plan>;
    /// The test on one corpus metric; `stats[s]` are system `s`'s segment statistics.
    fn run_metric(
        &self,
        plan: &Self::Plan,
        metric: &dyn CorpusMetric,
        stats: &[Vec<Vec<f64>>],
    ) -> Vec<Self::Outcome>;
    /// The test on per-document values whose corpus score is their mean (ROUGE F1, 0..=1),
    /// with scores scaled to 0-100.
    fn run_means(&self, plan: &Self::Plan, values: &[Vec<f64>]) -> Vec<Self::Outcome>;
}

/// Settings of the paired bootstrap test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootstrapSettings {
    /// Number of resamples (sacrebleu: 1000; 1 to [`MAX_RESAMPLES`]).
    pub resamples: usize,
    /// Seed of numpy's `default_rng` (sacrebleu: 12345, from `SACREBLEU_SEED`).
    pub seed: u64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        BootstrapSettings {
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
        }
    }
}

impl PairedTest for BootstrapSettings {
    type Outcome = BootstrapResult;
    type Plan = Resamples;
    fn signature_fields(&self) -> String {
        format!("bs:{}|seed:{}", self.resamples, self.seed)
    }
    fn plan(&self, n: usize) -> Result<Resamples> {
        Resamples::new(self.seed, self.resamples, n).map_err(Error::Config)
    }
    fn run_metric(
        &self,
        plan: &Resamples,
        metric: &dyn CorpusMetric,
        stats: &[Vec<Vec<f64>>],
    ) -> Vec<BootstrapResult> {
        bootstrap::paired_bootstrap(metric, stats, plan)
    }
    fn run_means(&self, plan: &Resamples, values: &[Vec<f64>]) -> Vec<BootstrapResult> {
        bootstrap::paired_bootstrap_means(values, plan)
            .into_iter()
            .map(|r| BootstrapResult {
                score: 100.0 * r.score,
                mean: 100.0 * r.mean,
                ci: 100.0 * r.ci,
                p_value: r.p_value,
            })
            .collect()
    }
}

/// Settings of the paired approximate randomization test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomizationSettings {
    /// Number of trials (sacrebleu: 10,000; 1 to [`MAX_TRIALS`]).
    pub trials: usize,
    /// Seed of numpy's `default_rng` (sacrebleu: 12345, from `SACREBLEU_SEED`).
    pub seed: u64,
}

impl Default for RandomizationSettings {
    fn default() -> Self {
        RandomizationSettings {
            trials: DEFAULT_TRIALS,
            seed: DEFAULT_SEED,
        }
    }
}

impl PairedTest for RandomizationSettings {
    type Outcome = RandomizationResult;
    type Plan = ();
    fn signature_fields(&self) -> String {
        format!("ar:{}|seed:{}", self.trials, self.seed)
    }
    fn plan(&self, _n: usize) -> Result<()> {
        if self.trials == 0 || self.trials > MAX_TRIALS {
            return Err(Error::Config(format!(
                "the number of randomization trials must be 1 to {MAX_TRIALS}, not {}",
                self.trials
            )));
        }
        Ok(())
    }
    fn run_metric(
        &self,
        _plan: &(),
        metric: &dyn CorpusMetric,
        stats: &[Vec<Vec<f64>>],
    ) -> Vec<RandomizationResult> {
        randomization::paired_randomization(metric, stats, self.trials, self.seed)
    }
    fn run_means(&self, _plan: &(), values: &[Vec<f64>]) -> Vec<RandomizationResult> {
        randomization::paired_randomization_means(values, self.trials, self.seed)
            .into_iter()
            .map(|r| RandomizationResult {
                score: 100.0 * r.score,
                p_value: r.p_value,
            })
            .collect()
    }
}

/// Adds a paired test's fields to a signature after `nrefs:N`, as sacrebleu prints them:
/// `nrefs:1|bs:1000|seed:12345|...` or `nrefs:1|ar:10000|seed:12345|...`.
fn test_signature(signature: &str, test: &impl PairedTest) -> String {
    insert_fields(signature, &test.signature_fields())
}

/// `fields` inserted into a signature after its first field (`nrefs:N`).
fn insert_fields(signature: &str, fields: &str) -> String {
    match signature.split_once('|') {
        Some((nrefs, rest)) => format!("{nrefs}|{fields}|{rest}"),
        None => signature.to_string(),
    }
}

/// Compares systems against the first one with a paired test (sacrebleu's
/// `significance.PairedTest`): for each figure, every system's result. BLEU, chrF, chrF++ and
/// TER reproduce sacrebleu exactly; ROUGE runs the same procedure on per-document F1 (an
/// extension, as sacrebleu has no ROUGE). Errors when there are fewer than two systems, the
/// shapes differ, or the test's settings are out of range ([`PairedTest::plan`]).
pub fn compare_with<T: PairedTest>(
    settings: &EvalSettings,
    systems: &[Vec<String>],
    refs: &[Vec<String>],
    test: &T,
) -> Result<Vec<Comparison<T::Outcome>>> {
    if systems.len() < 2 {
        return Err(Error::Config(
            "compare needs at least two systems (the first is the baseline)".into(),
        ));
    }
    for s in systems {
        check_shapes(s, refs)?;
    }
    let plan = test.plan(systems[0].len())?;
    let nrefs = refs.len();
    let mut out = Vec::new();
    let run = |m: &dyn CorpusMetric| {
        let stats: Vec<Vec<Vec<f64>>> = systems.iter().map(|s| m.segment_stats(s, refs)).collect();
        Comparison {
            name: m.name(),
            signature: test_signature(&m.signature(nrefs), test),
            results: test.run_metric(&plan, m, &stats),
        }
    };
    for kind in &settings.metrics {
        match kind {
            MetricKind::Bleu => out.push(run(&Bleu::new(settings.bleu.clone()))),
            MetricKind::Chrf | MetricKind::ChrfPlusPlus => {
                out.push(run(&Chrf::new(chrf_config(*kind))))
            }
            MetricKind::Ter => out.push(run(&Ter::default())),
            MetricKind::Rouge => {
                let signature = test_signature(&rouge::signature(&settings.rouge, nrefs), test);
                for (t, f) in RougeType::ALL
                    .iter()
                    .zip(rouge_f1s(settings, systems, refs))
                {
                    out.push(Comparison {
                        name: t.name().to_string(),
                        signature: signature.clone(),
                        results: test.run_means(&plan, &f),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Compares systems with paired bootstrap resampling against the first one
/// (`sacrebleu.significance.PairedTest(..., test_type='bs')`, sacrebleu's `--paired-bs`): for
/// each figure, every system's score, the mean and 95% confidence half-width of its resampled
/// scores, and the p-value of its difference from the baseline. [`compare_with`] with
/// [`BootstrapSettings`].
pub fn compare(
    settings: &EvalSettings,
    systems: &[Vec<String>],
    refs: &[Vec<String>],
    bs: &BootstrapSettings,
) -> Result<Vec<MetricComparison>> {
    compare_with(settings, systems, refs, bs)
}

/// Compares systems with paired approximate randomization against the first one
/// (`sacrebleu.significance.PairedTest(..., test_type='ar')`, sacrebleu's `--paired-ar`): for
/// each figure, every system's score and the p-value of its difference from the baseline.
/// [`compare_with`] with [`RandomizationSettings`].
pub fn compare_randomization(
    settings: &EvalSettings,
    systems: &[Vec<String>],
    refs: &[Vec<String>],
    ar: &RandomizationSettings,
) -> Result<Vec<RandomizationComparison>> {
    compare_with(settings, systems, refs, ar)
}

/// Per-document ROUGE F1 of every system, one set per [`RougeType::ALL`] entry:
/// `out[type][system][document]`.
fn rouge_f1s(
    settings: &EvalSettings,
    systems: &[Vec<String>],
    refs: &[Vec<String>],
) -> Vec<Vec<Vec<f64>>> {
    let docs: Vec<Vec<rouge::RougeDoc>> = systems
        .iter()
        .map(|s| rouge::document_scores(s, refs, &settings.rouge))
        .collect();
    (0..RougeType::ALL.len())
        .map(|k| {
            docs.iter()
                .map(|d| d.iter().map(|x| x[k].fmeasure).collect())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_parse() {
        assert_eq!("chrF++".parse::<MetricKind>(), Ok(MetricKind::ChrfPlusPlus));
        assert!("meteor".parse::<MetricKind>().is_err());
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        let h = vec!["a".to_string()];
        let r = vec![vec!["a".to_string(), "b".to_string()]];
        assert!(evaluate(&EvalSettings::default(), &h, &r).is_err());
    }

    #[test]
    fn paired_signature_inserts_fields() {
        let bs = BootstrapSettings::default();
        assert_eq!(
            test_signature("nrefs:1|case:mixed|version:2.6.0", &bs),
            "nrefs:1|bs:1000|seed:12345|case:mixed|version:2.6.0"
        );
    }
}
