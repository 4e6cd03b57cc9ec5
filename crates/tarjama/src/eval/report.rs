//! The data of `--report` (behind `tarjama eval` and `tarjama compare`): corpus scores with
//! their signatures, the paired test's intervals and p-values, and every segment's
//! sentence-level chrF and BLEU, its change against the baseline and its word differences
//! from the first reference. The command line renders it as HTML or Markdown; nothing here
//! formats or prints.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use super::input::Segments;
use super::{
    evaluate_sentences, BleuConfig, Comparison, Confidence, EvalSettings, MetricKind,
    PairedOutcome, ScoreLine,
};
use crate::text::script::{arabic_ratio, MOSTLY_ARABIC};
use crate::{Error, Result};

/// The largest p-value marked significant (`*`), as `compare`'s table marks it.
pub const SIGNIFICANCE_LEVEL: f64 = 0.05;

/// The number of bins of each [`Histogram`].
pub const HISTOGRAM_BINS: usize = 20;

/// Everything a report shows. Serialized as the JSON embedded in the HTML report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The systems' names (paths), in input order; with two or more, the first is the
    /// baseline.
    pub systems: Vec<String>,
    /// The paired test, when systems were compared.
    pub test: Option<TestSummary>,
    /// Corpus scores, one entry per figure.
    pub metrics: Vec<MetricSummary>,
    /// For each system after the baseline, the histogram of its per-segment chrF deltas.
    pub histograms: Vec<Histogram>,
    /// Every segment, in input order.
    pub segments: Vec<SegmentRow>,
    /// The signature of the sentence-level chrF of [`SystemSegment::chrf`].
    pub chrf_signature: String,
    /// The signature of the sentence-level BLEU of [`SystemSegment::bleu`] (effective order).
    pub bleu_signature: String,
}

/// Which paired test produced the p-values and how it was run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TestSummary {
    /// `paired bootstrap resampling` or `paired approximate randomization`.
    pub name: String,
    /// What `count` counts: `resamples` or `trials`.
    pub unit: String,
    /// The number of resamples or trials.
    pub count: usize,
    /// The seed of numpy's `default_rng`.
    pub seed: u64,
}

/// One figure (BLEU, chrF2, ...) for every system.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Figure name as sacrebleu prints it.
    pub name: String,
    /// sacrebleu's signature (with the test's fields when there is one).
    pub signature: String,
    /// One entry per system, in input order.
    pub results: Vec<SystemScore>,
}

/// One system's corpus score for one figure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SystemScore {
    /// The corpus score (0-100).
    pub score: f64,
    /// Mean of the bootstrap resamples, when estimated.
    pub mean: Option<f64>,
    /// Half-width of the 95% confidence interval of the resamples, when estimated.
    pub ci: Option<f64>,
    /// p-value against the baseline; `None` for the baseline and for a single system.
    pub p_value: Option<f64>,
    /// `p_value <= 0.05` ([`SIGNIFICANCE_LEVEL`]).
    pub significant: bool,
}

impl SystemScore {
    fn new(score: f64, interval: Option<(f64, f64)>, p_value: Option<f64>) -> Self {
        SystemScore {
            score,
            mean: interval.map(|(m, _)| m),
            ci: interval.map(|(_, c)| c),
            p_value,
            significant: p_value.is_some_and(|p| p <= SIGNIFICANCE_LEVEL),
        }
    }
}

impl MetricSummary {
    /// The summary of one figure of a paired test ([`super::compare_with`]).
    pub fn from_comparison<R: PairedOutcome>(c: &Comparison<R>) -> Self {
        MetricSummary {
            name: c.name.clone(),
            signature: c.signature.clone(),
            results: c
                .results
                .iter()
                .map(|r| SystemScore::new(r.score(), r.interval(), r.p_value()))
                .collect(),
        }
    }

    /// The summary of one figure of a single system ([`super::evaluate`] or
    /// [`super::evaluate_with_confidence`]); a bootstrap estimate gives the interval.
    pub fn from_line(line: &ScoreLine, confidence: Option<&Confidence>) -> Self {
        MetricSummary {
            name: line.name.clone(),
            signature: line.signature.clone(),
            results: vec![SystemScore::new(
                line.score,
                confidence.map(|c| (c.mean, c.ci)),
                None,
            )],
        }
    }
}

/// Per-segment differences of one system's sentence-level chrF from the baseline's, in
/// [`HISTOGRAM_BINS`] equal bins spanning their range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    /// Index of the system in [`Report::systems`] (1 or more).
    pub system: usize,
    /// Lower edge of the first bin (chrF points).
    pub min: f64,
    /// Width of each bin (chrF points; 1 when every delta is the same).
    pub width: f64,
    /// Segments per bin; they add up to the number of segments. The last bin includes its
    /// upper edge.
    pub counts: Vec<usize>,
}

/// One segment: its line, source, references and every system's output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentRow {
    /// 1-based line number.
    pub line: usize,
    /// The source text, when given.
    pub source: Option<String>,
    /// Whether the source is mostly Arabic script ([`MOSTLY_ARABIC`]; shown right to left).
    pub source_rtl: bool,
    /// The references, one per reference stream.
    pub refs: Vec<String>,
    /// One entry per system.
    pub systems: Vec<SystemSegment>,
}

/// One system's output for one segment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemSegment {
    /// The output. Not serialized: the kept and inserted runs of `diff` spell it.
    #[serde(skip)]
    pub text: String,
    /// Sentence-level chrF2 (sacrebleu's `CHRF().sentence_score`).
    pub chrf: f64,
    /// Sentence-level BLEU with effective order (sacrebleu's `BLEU().sentence_score`).
    pub bleu: f64,
    /// `chrf` minus the baseline's; `None` for the baseline and a single system.
    pub delta_chrf: Option<f64>,
    /// `bleu` minus the baseline's; `None` for the baseline and a single system.
    pub delta_bleu: Option<f64>,
    /// Word differences of the output from the first reference.
    pub diff: Vec<DiffOp>,
}

/// What a [`DiffOp`] does to the reference's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffKind {
    /// In both.
    Equal,
    /// Only in the reference.
    Delete,
    /// Only in the output.
    Insert,
}

/// A run of words (with the whitespace between them) that one [`DiffKind`] applies to.
/// Serialized compactly, as a large report holds many: `["=", text]` (kept), `["-", text]`
/// (only in the reference) or `["+", text]` (only in the output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffOp {
    /// Kept, deleted from the reference or inserted by the output.
    pub op: DiffKind,
    /// The text of the run.
    pub text: String,
}

impl Serialize for DiffOp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let code = match self.op {
            DiffKind::Equal => "=",
            DiffKind::Delete => "-",
            DiffKind::Insert => "+",
        };
        (code, &self.text).serialize(s)
    }
}

/// Word differences turning `reference` into `output` (Myers' diff over words and the
/// whitespace between them, from the `similar` crate), consecutive changes of one kind merged.
pub fn word_diff(reference: &str, output: &str) -> Vec<DiffOp> {
    let diff = TextDiff::from_words(reference, output);
    let mut ops: Vec<DiffOp> = Vec::new();
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            ChangeTag::Equal => DiffKind::Equal,
            ChangeTag::Delete => DiffKind::Delete,
            ChangeTag::Insert => DiffKind::Insert,
        };
        match ops.last_mut() {
            Some(last) if last.op == op => last.text.push_str(change.value()),
            _ => ops.push(DiffOp {
                op,
                text: change.value().to_string(),
            }),
        }
    }
    ops
}

/// One system's sentence-level scores: `(bleu, chrf)` per segment, and the signatures.
struct SentenceScores {
    scores: Vec<(f64, f64)>,
    bleu_signature: String,
    chrf_signature: String,
}

/// The sentence-level BLEU and chrF of every segment of `hyps`, as `eval --sentence` computes
/// them ([`evaluate_sentences`]).
fn sentence_scores(
    bleu: BleuConfig,
    hyps: &[String],
    refs: &[Vec<String>],
) -> Result<SentenceScores> {
    let settings = EvalSettings {
        metrics: vec![MetricKind::Bleu, MetricKind::Chrf],
        bleu,
        ..EvalSettings::default()
    };
    let rows = evaluate_sentences(&settings, hyps, refs)?;
    let signature = |k: usize| {
        rows.first()
            .map(|r: &Vec<ScoreLine>| r[k].signature.clone())
            .unwrap_or_default()
    };
    Ok(SentenceScores {
        bleu_signature: signature(0),
        chrf_signature: signature(1),
        scores: rows.iter().map(|r| (r[0].score, r[1].score)).collect(),
    })
}

fn histogram(system: usize, deltas: &[f64]) -> Histogram {
    let min = deltas.iter().copied().fold(f64::INFINITY, f64::min);
    let max = deltas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let width = if max > min {
        (max - min) / HISTOGRAM_BINS as f64
    } else {
        1.0
    };
    let mut counts = vec![0; HISTOGRAM_BINS];
    for &d in deltas {
        let k = (((d - min) / width) as usize).min(HISTOGRAM_BINS - 1);
        counts[k] += 1;
    }
    Histogram {
        system,
        min,
        width,
        counts,
    }
}

/// Checks that the source has `n` lines, one per segment of the systems (`first` names the
/// first system in the message).
///
/// Errors: [`Error::Input`] naming the source file and both counts.
pub fn check_source(source: &Segments, n: usize, first: &str) -> Result<()> {
    if source.lines.len() == n {
        return Ok(());
    }
    Err(Error::input(
        &source.path,
        format!(
            "the source has {} line{} but {first} has {n} segments; every line of the source \
             must pair with one segment",
            source.lines.len(),
            if source.lines.len() == 1 { "" } else { "s" }
        ),
    ))
}

/// Builds the report of `systems` named `names` (one for `eval`, two or more for `compare`,
/// the first the baseline) against `refs` (`refs[k][i]`: reference stream `k`, line `i`), with
/// the corpus figures already computed (`metrics`, from [`MetricSummary::from_comparison`] or
/// [`MetricSummary::from_line`]), the paired `test` and the optional `source`.
///
/// Sentence-level scores are those of `tarjama eval --sentence` ([`evaluate_sentences`]):
/// sacrebleu's `BLEU(effective_order=True).sentence_score` with `bleu`'s tokenizer and casing,
/// and `CHRF().sentence_score`. Word differences are against the first reference.
///
/// Errors: no system, or not one name per system ([`Error::Config`]); the shapes differ (as
/// [`evaluate_sentences`]); or the source has another number of lines ([`check_source`]).
pub fn build(
    bleu: BleuConfig,
    names: &[String],
    systems: &[Vec<String>],
    refs: &[Vec<String>],
    source: Option<&Segments>,
    metrics: Vec<MetricSummary>,
    test: Option<TestSummary>,
) -> Result<Report> {
    if systems.is_empty() || names.len() != systems.len() {
        return Err(Error::Config(format!(
            "a report needs one name per system and at least one system ({} names, {} systems)",
            names.len(),
            systems.len()
        )));
    }
    let n = systems[0].len();
    if let Some(src) = source {
        check_source(src, n, &names[0])?;
    }
    let source = source.map(|s| s.lines.as_slice());
    let per_system = systems
        .iter()
        .map(|hyps| sentence_scores(bleu.clone(), hyps, refs))
        .collect::<Result<Vec<_>>>()?;
    let scores: Vec<&[(f64, f64)]> = per_system.iter().map(|s| s.scores.as_slice()).collect();
    let segments: Vec<SegmentRow> = (0..n)
        .map(|i| {
            let src = source.map(|s| s[i].clone());
            SegmentRow {
                line: i + 1,
                source_rtl: src
                    .as_deref()
                    .is_some_and(|s| arabic_ratio(s) >= MOSTLY_ARABIC),
                source: src,
                refs: refs.iter().map(|r| r[i].clone()).collect(),
                systems: systems
                    .iter()
                    .zip(&scores)
                    .enumerate()
                    .map(|(s, (hyps, sc))| {
                        let (bleu, chrf) = sc[i];
                        let (base_bleu, base_chrf) = scores[0][i];
                        let compared = s > 0;
                        SystemSegment {
                            text: hyps[i].clone(),
                            chrf,
                            bleu,
                            delta_chrf: compared.then_some(chrf - base_chrf),
                            delta_bleu: compared.then_some(bleu - base_bleu),
                            diff: word_diff(&refs[0][i], &hyps[i]),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let histograms = (1..systems.len())
        .map(|s| {
            let deltas: Vec<f64> = segments
                .iter()
                .filter_map(|r| r.systems[s].delta_chrf)
                .collect();
            histogram(s, &deltas)
        })
        .collect();
    Ok(Report {
        systems: names.to_vec(),
        test,
        metrics,
        histograms,
        segments,
        bleu_signature: per_system[0].bleu_signature.clone(),
        chrf_signature: per_system[0].chrf_signature.clone(),
    })
}

/// The line numbers of the segments whose chrF changed most against the baseline for
/// system `system` (1 or more): up to `k` improved (largest delta first) and up to `k`
/// worsened (most negative first), ties by line number; unchanged segments are in neither.
pub fn most_changed(report: &Report, system: usize, k: usize) -> (Vec<usize>, Vec<usize>) {
    let mut deltas: Vec<(f64, usize)> = report
        .segments
        .iter()
        .filter_map(|r| Some((r.systems.get(system)?.delta_chrf?, r.line)))
        .collect();
    let pick = |deltas: &mut Vec<(f64, usize)>, up: bool| -> Vec<usize> {
        deltas.sort_by(|a, b| {
            let order = if up {
                b.0.total_cmp(&a.0)
            } else {
                a.0.total_cmp(&b.0)
            };
            order.then(a.1.cmp(&b.1))
        });
        deltas
            .iter()
            .filter(|(d, _)| if up { *d > 0.0 } else { *d < 0.0 })
            .take(k)
            .map(|&(_, line)| line)
            .collect()
    };
    let improved = pick(&mut deltas, true);
    let worsened = pick(&mut deltas, false);
    (improved, worsened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_merges_runs() {
        let ops = word_diff("the cat sat down", "the dog sat");
        let got: Vec<(DiffKind, &str)> = ops.iter().map(|o| (o.op, o.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (DiffKind::Equal, "the "),
                (DiffKind::Delete, "cat"),
                (DiffKind::Insert, "dog"),
                (DiffKind::Equal, " sat"),
                (DiffKind::Delete, " down"),
            ]
        );
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn diff_ops_serialize_as_code_and_text() {
        let json = serde_json::to_string(&word_diff("a b", "a c")).unwrap();
        assert_eq!(json, r#"[["=","a "],["-","b"],["+","c"]]"#);
    }

    /// Identical texts score 100 and texts without a character in common 0 (sacrebleu's
    /// sentence chrF), so the deltas here are -100, +100 and 0.
    #[test]
    fn deltas_most_changed_and_histogram() {
        let refs = vec![lines(&["a b c", "x y z", "p q r"])];
        let base = lines(&["a b c", "nothing", "p q r"]);
        let sys = lines(&["mmm", "x y z", "p q r"]);
        let names = lines(&["base", "sys"]);
        let src = Segments {
            path: "src.ar".into(),
            lines: lines(&["أ", "ب", "ج"]),
        };
        let r = build(
            BleuConfig::default(),
            &names,
            &[base, sys],
            &refs,
            Some(&src),
            Vec::new(),
            None,
        )
        .unwrap();
        let chrf: Vec<(f64, f64)> = r
            .segments
            .iter()
            .map(|s| (s.systems[0].chrf, s.systems[1].chrf))
            .collect();
        assert_eq!(chrf, [(100.0, 0.0), (0.0, 100.0), (100.0, 100.0)]);
        let deltas: Vec<Option<f64>> = r.segments.iter().map(|s| s.systems[1].delta_chrf).collect();
        assert_eq!(deltas, [Some(-100.0), Some(100.0), Some(0.0)]);
        assert!(r.segments.iter().all(|s| s.systems[0].delta_chrf.is_none()));
        assert!(r.segments.iter().all(|s| s.source_rtl));
        assert_eq!(most_changed(&r, 1, 1), (vec![2], vec![1]));
        assert_eq!(most_changed(&r, 1, 20), (vec![2], vec![1]));
        let h = &r.histograms[0];
        assert_eq!((h.system, h.min, h.width), (1, -100.0, 10.0));
        assert_eq!((h.counts[0], h.counts[10], h.counts[19]), (1, 1, 1));
        assert!(r
            .chrf_signature
            .starts_with("nrefs:1|case:mixed|eff:yes|nc:6"));
        assert!(r.bleu_signature.contains("eff:yes"));
        let short = Segments {
            lines: lines(&["أ"]),
            ..src
        };
        let err = check_source(&short, 3, "base").unwrap_err().to_string();
        assert_eq!(
            err,
            "src.ar: the source has 1 line but base has 3 segments; every line of the source \
             must pair with one segment"
        );
    }

    #[test]
    fn histogram_counts_every_delta() {
        let h = histogram(1, &[-10.0, 0.0, 0.0, 10.0]);
        assert_eq!(h.counts.iter().sum::<usize>(), 4);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[HISTOGRAM_BINS / 2], 2);
        assert_eq!(h.counts[HISTOGRAM_BINS - 1], 1);
        assert_eq!(histogram(1, &[3.0, 3.0]).counts[0], 2);
    }
}
