//! `tarjama eval` and `tarjama compare`: flags are parsed into [`EvalSettings`], the library
//! in [`tarjama::eval`] computes everything, and this module prints it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::builder::{PossibleValuesParser, RangedU64ValueParser, TypedValueParser};
use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::report::{ReportArgs, Target};

use tarjama::eval::input::{
    check_line_counts, read_segments, read_stdin_segments, InputFormat, Segments, STDIN, STDIN_NAME,
};
use tarjama::eval::report::{MetricSummary, TestSummary};
use tarjama::eval::{
    self, BleuConfig, BleuTokenizer, BootstrapSettings, Comparison, Confidence, EvalSettings,
    Flores, MetricKind, PairedOutcome, PairedTest, RandomizationSettings, RougeBootstrapSettings,
    RougeConfig, RougeInterval, RougeScore, RougeTokenizer, ScoreDetail, ScoreLine, SpmTokenizer,
    XlsumLang, MAX_RESAMPLES,
};

use crate::common::Usage;

/// The most decimals `--width` accepts (an `f64` score has about 17 significant digits).
const MAX_WIDTH: u64 = 20;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// sacrebleu-style lines (eval) or a table (compare).
    Text,
    /// JSON on stdout.
    Json,
}

/// Metric and input flags shared by `eval` and `compare`.
#[derive(Debug, Args)]
pub struct MetricArgs {
    /// Metrics to compute, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        ignore_case = true,
        value_parser = one_of::<MetricKind>(&["bleu", "chrf", "chrf++", "ter", "rouge"]),
        default_value = "bleu,chrf,chrf++,ter,rouge"
    )]
    pub metrics: Vec<MetricKind>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// BLEU tokenizer (sacrebleu's names); flores101 and flores200 (spBLEU: BLEU over
    /// SentencePiece pieces) need --spm-model.
    #[arg(
        long,
        value_parser = PossibleValuesParser::new(
            ["13a", "intl", "char", "none", "flores101", "flores200"]
        ),
        default_value = "13a"
    )]
    pub tokenize: String,
    /// With --tokenize flores101|flores200: the SentencePiece model sacrebleu uses for it
    /// (sacrebleu downloads it into ~/.sacrebleu/models/; tarjama never downloads).
    #[arg(long = "spm-model", value_name = "PATH")]
    pub spm_model: Option<PathBuf>,
    /// Lowercase before computing BLEU (sacrebleu's -lc; chrF and TER keep their defaults).
    #[arg(long)]
    pub lowercase: bool,
    /// ROUGE: stem words longer than 3 characters, as rouge-score's use_stemmer (Porter; with
    /// `--rouge-tokenize xlsum --lang ar`, NLTK's Snowball Arabic stemmer, as XL-Sum's scorer).
    #[arg(long, alias = "rouge-stem")]
    pub stem: bool,
    /// ROUGE tokenizer: rouge-score's `default` (ASCII letters and digits only; non-Latin text
    /// scores near 0), `unicode` (Unicode letters, marks and numbers; for Arabic), or `xlsum`
    /// (XL-Sum's multilingual ROUGE scorer, exactly; needs --lang).
    #[arg(
        long = "rouge-tokenize",
        value_parser = PossibleValuesParser::new(["default", "unicode", "xlsum"]),
        default_value = "default"
    )]
    pub rouge_tokenize: String,
    /// With --rouge-tokenize xlsum: the scorer's language, `ar` (XL-Sum's `lang="arabic"`:
    /// with --stem, NLTK's Snowball Arabic stemmer).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// Read every hypothesis / system file as JSON Lines, taking this string field.
    #[arg(long = "jsonl-field", value_name = "FIELD")]
    pub jsonl_field: Option<String>,
    /// With --jsonl-field: join consecutive records with the same value of this field (and
    /// the same `file`, when records have one) into one segment, their texts joined with a
    /// space; `--jsonl-join line` scores tarjama translate's JSONL per input line.
    #[arg(long = "jsonl-join", value_name = "FIELD", requires = "jsonl_field")]
    pub jsonl_join: Option<String>,
    /// Read every --ref file as JSON Lines, taking this string field.
    #[arg(long = "ref-jsonl-field", value_name = "FIELD")]
    pub ref_jsonl_field: Option<String>,
    /// Decimals printed for scores, 0 to 20 (sacrebleu's --width; its command line defaults
    /// to 1).
    #[arg(
        short = 'w',
        long,
        default_value_t = 2,
        value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_WIDTH)
    )]
    pub width: usize,
}

/// Flags of `tarjama eval`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tarjama eval --ref ref.en out.en --confidence
  tarjama eval --ref ref.en out.jsonl --jsonl-field translation --jsonl-join line
  tarjama eval --ref ref.en out.en --metrics bleu,chrf --sentence")]
pub struct EvalArgs {
    /// Reference file, one segment per line; repeat for several references.
    #[arg(short = 'r', long = "ref", value_name = "REF", required = true)]
    pub refs: Vec<PathBuf>,
    /// Hypothesis file (system output), one segment per line; `-` reads standard input.
    pub hyp: PathBuf,
    /// Print a score for every line instead of corpus scores (sacrebleu's --sentence-level).
    #[arg(long, alias = "sentence-level")]
    pub sentence: bool,
    /// Add sacrebleu's bootstrap estimate to each corpus score: `(μ = MEAN ± CI)`, the mean
    /// and 95% confidence half-width of 1000 resamples (seed 12345); sacrebleu's --confidence.
    #[arg(long, conflicts_with = "sentence")]
    pub confidence: bool,
    /// With --confidence: number of resamples, 1 to 1,000,000 (default 1000; sacrebleu's
    /// --confidence-n; 1, as there, prints the scores without intervals).
    #[arg(
        long = "confidence-n",
        value_name = "N",
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_RESAMPLES as u64)
    )]
    pub confidence_n: Option<usize>,
    /// Add rouge-score's bootstrap intervals to each ROUGE figure (its
    /// `scoring.BootstrapAggregator`, 1000 samples, 95%): the low, mid (median) and high
    /// percentiles of the resampled mean precision, recall and F1. Equal to rouge-score after
    /// `numpy.random.seed(12345)` (or --rouge-seed).
    #[arg(long = "rouge-bootstrap", conflicts_with_all = ["sentence", "confidence"])]
    pub rouge_bootstrap: bool,
    /// With --rouge-bootstrap: number of samples, 1 to 1,000,000 (rouge-score's n_samples,
    /// default 1000).
    #[arg(
        long = "rouge-bootstrap-n",
        value_name = "N",
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_RESAMPLES as u64)
    )]
    pub rouge_bootstrap_n: Option<usize>,
    /// With --rouge-bootstrap: the seed of numpy's legacy generator, 0 to 4294967295
    /// (`numpy.random.seed`; default 12345).
    #[arg(long = "rouge-seed", value_name = "SEED")]
    pub rouge_seed: Option<u32>,
    /// Print only the scores, one per line (sacrebleu's -b/--score-only); with --sentence,
    /// one line of tab-separated scores per segment, without signatures or header.
    #[arg(short = 'b', long = "score-only")]
    pub score_only: bool,
    #[command(flatten)]
    pub metric: MetricArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Flags of `tarjama compare`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  tarjama compare --ref ref.en baseline.en system.en
  tarjama compare --ref ref.en a.en b.en --source src.ar --report report.html
  tarjama compare --ref ref.en baseline.en system.en --paired-ar --metrics bleu,chrf")]
pub struct CompareArgs {
    /// Reference file, one segment per line; repeat for several references.
    #[arg(short = 'r', long = "ref", value_name = "REF", required = true)]
    pub refs: Vec<PathBuf>,
    /// System output files; the first is the baseline. One of them may be `-` (standard
    /// input).
    #[arg(required = true, num_args = 2..)]
    pub systems: Vec<PathBuf>,
    /// Paired bootstrap resampling (sacrebleu's --paired-bs): the default test.
    #[arg(long = "paired-bs")]
    pub paired_bs: bool,
    /// Paired approximate randomization instead (sacrebleu's --paired-ar): p-values only,
    /// no means or confidence intervals.
    #[arg(long = "paired-ar", conflicts_with_all = ["paired_bs", "resamples"])]
    pub paired_ar: bool,
    /// With --paired-ar: number of trials, 1 to 1,000,000 (sacrebleu's --paired-ar-n,
    /// default 10000).
    #[arg(
        long = "ar-trials",
        alias = "paired-ar-n",
        value_name = "N",
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=eval::MAX_TRIALS as u64)
    )]
    pub ar_trials: Option<usize>,
    /// Number of bootstrap resamples, 1 to 1,000,000 (default: sacrebleu's; its
    /// --paired-bs-n).
    #[arg(
        long,
        alias = "paired-bs-n",
        default_value_t = eval::DEFAULT_RESAMPLES,
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_RESAMPLES as u64)
    )]
    pub resamples: usize,
    /// Seed of the resampling or of the randomization trials (sacrebleu's default
    /// SACREBLEU_SEED).
    #[arg(long, default_value_t = eval::DEFAULT_SEED)]
    pub seed: u64,
    #[command(flatten)]
    pub metric: MetricArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Clap value parser for a flag that takes one of `names` (listed in `--help` as its possible
/// values), parsed into `T`.
fn one_of<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: std::str::FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|s| s.parse::<T>())
}

/// `--rouge-tokenize` with its `--lang`. Errors: a [`Usage`] error (exit 2) for `xlsum`
/// without `--lang`, for a language XL-Sum's scorer is not supported in here, or for `--lang`
/// with another tokenizer.
fn rouge_tokenizer(args: &MetricArgs) -> Result<RougeTokenizer, Usage> {
    match (args.rouge_tokenize.as_str(), &args.lang) {
        ("xlsum", Some(code)) => code
            .parse::<XlsumLang>()
            .map(RougeTokenizer::Xlsum)
            .map_err(|e| Usage(format!("--lang {code}: {e}"))),
        ("xlsum", None) => Err(Usage(
            "--rouge-tokenize xlsum needs --lang: the language XL-Sum's scorer tokenizes and \
             stems for (supported: ar)"
                .into(),
        )),
        (name, Some(code)) => Err(Usage(format!(
            "--lang {code} is the language of --rouge-tokenize xlsum, not of --rouge-tokenize \
             {name}"
        ))),
        (name, None) => name.parse::<RougeTokenizer>().map_err(Usage),
    }
}

fn settings(args: &MetricArgs) -> anyhow::Result<EvalSettings> {
    let tokenizer = rouge_tokenizer(args)?;
    let mut metrics = Vec::new();
    for &kind in &args.metrics {
        if !metrics.contains(&kind) {
            metrics.push(kind);
        }
    }
    Ok(EvalSettings {
        metrics,
        bleu: BleuConfig {
            tokenize: bleu_tokenizer(args)?,
            lowercase: args.lowercase,
            effective_order: false,
        },
        rouge: RougeConfig {
            tokenizer,
            use_stemmer: args.stem,
        },
    })
}

/// The BLEU tokenizer of `--tokenize`, with `--spm-model`'s SentencePiece model for
/// flores101/flores200. Errors: a [`Usage`] error when one of the two flags lacks the other,
/// saying which file sacrebleu uses and where it comes from; the library's error naming the
/// file when it is not a SentencePiece model.
fn bleu_tokenizer(args: &MetricArgs) -> anyhow::Result<BleuTokenizer> {
    let name = args.tokenize.as_str();
    match (name.parse::<Flores>(), &args.spm_model) {
        (Ok(flores), Some(path)) => Ok(BleuTokenizer::Spm(SpmTokenizer::load(flores, path)?)),
        (Ok(flores), None) => Err(Usage(format!(
            "--tokenize {name} needs --spm-model PATH, the SentencePiece model sacrebleu uses: \
             {} (sacrebleu keeps it as ~/.sacrebleu/{}); tarjama does not download it",
            flores.url(),
            flores.sacrebleu_path()
        ))
        .into()),
        (Err(_), Some(_)) => Err(Usage(format!(
            "--spm-model is the SentencePiece model of --tokenize flores101 or flores200, not \
             --tokenize {name}"
        ))
        .into()),
        (Err(_), None) => name.parse::<BleuTokenizer>().map_err(anyhow::Error::msg),
    }
}

fn format_of(field: &Option<String>, join: &Option<String>) -> InputFormat {
    match (field, join) {
        (Some(f), Some(j)) => InputFormat::JsonlJoined {
            field: f.clone(),
            join: j.clone(),
        },
        (Some(f), None) => InputFormat::JsonlField(f.clone()),
        (None, _) => InputFormat::Lines,
    }
}

fn read_refs(paths: &[PathBuf], args: &MetricArgs) -> anyhow::Result<Vec<Segments>> {
    let fmt = format_of(&args.ref_jsonl_field, &None);
    Ok(paths
        .iter()
        .map(|p| read_segments(p, &fmt))
        .collect::<tarjama::Result<Vec<_>>>()?)
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// How a hypothesis or system is named in reports: its path, or `<stdin>` for `-`.
fn input_name(path: &Path) -> String {
    if is_stdin(path) {
        STDIN_NAME.to_string()
    } else {
        path.display().to_string()
    }
}

fn read_system(path: &Path, refs: &[Segments], args: &MetricArgs) -> anyhow::Result<Vec<String>> {
    let fmt = format_of(&args.jsonl_field, &args.jsonl_join);
    let hyp = if is_stdin(path) {
        read_stdin_segments(&fmt)?
    } else {
        read_segments(path, &fmt)?
    };
    if let Err(e) = check_line_counts(&hyp, refs) {
        if matches!(fmt, InputFormat::JsonlField(_))
            && refs.iter().any(|r| r.lines.len() < hyp.lines.len())
        {
            anyhow::bail!(
                "{e} (tarjama translate's JSONL has one record per sentence: add \
                 --jsonl-join line to score one segment per input line)"
            );
        }
        return Err(e.into());
    }
    Ok(hyp.lines)
}

/// Checks where `-` (standard input) appears: at most once, and never as a reference. On a
/// misuse, prints the one-line error and gives the usage exit code (2), as clap does.
fn check_stdin_use(refs: &[PathBuf], inputs: &[PathBuf]) -> Option<i32> {
    let msg = if refs.iter().any(|p| is_stdin(p)) {
        "--ref -: references must be files; only the hypothesis (or one compared system) can \
         be read from standard input"
    } else if inputs.iter().filter(|p| is_stdin(p)).count() > 1 {
        "standard input (-) can be given only once"
    } else {
        return None;
    };
    eprintln!("error: {msg}");
    Some(2)
}

/// On stderr: a hint when default-tokenized ROUGE meets text whose letters are mostly not
/// ASCII, which rouge-score's tokenizer drops (the scores are near 0).
fn rouge_hint(settings: &EvalSettings, systems: &[Vec<String>], refs: &[Vec<String>]) {
    if !settings.metrics.contains(&MetricKind::Rouge)
        || settings.rouge.tokenizer != RougeTokenizer::Default
    {
        return;
    }
    let texts = systems.iter().chain(refs).flatten().map(String::as_str);
    if eval::rouge::mostly_non_ascii_letters(texts) {
        eprintln!(
            "hint: most letters in these inputs are not ASCII; the default ROUGE tokenizer \
             (rouge-score's) drops them, so ROUGE is near 0: use --rouge-tokenize unicode"
        );
    }
}

/// A score rounded to the printed precision (sacrebleu's JSON does this); `None` when it does
/// not parse back (never for a finite score), printed as `null`.
fn rounded(x: f64, width: usize) -> Option<f64> {
    format!("{x:.width$}").parse::<f64>().ok()
}

/// The raw values behind a score line (`exact`).
#[derive(Serialize)]
#[serde(untagged)]
enum Exact<'a> {
    Bleu {
        score: f64,
        counts: &'a [u64],
        totals: &'a [u64],
        precisions: &'a [f64],
        bp: f64,
        ratio: f64,
        sys_len: u64,
        ref_len: u64,
    },
    Ter {
        score: f64,
        num_edits: f64,
        ref_length: f64,
    },
    Rouge {
        precision: f64,
        recall: f64,
        fmeasure: f64,
    },
    Score {
        score: f64,
    },
}

impl<'a> Exact<'a> {
    fn of(line: &'a ScoreLine) -> Self {
        match &line.detail {
            ScoreDetail::Bleu(b) => Exact::Bleu {
                score: b.score,
                counts: &b.counts,
                totals: &b.totals,
                precisions: &b.precisions,
                bp: b.bp,
                ratio: b.ratio(),
                sys_len: b.sys_len,
                ref_len: b.ref_len,
            },
            ScoreDetail::Ter(t) => Exact::Ter {
                score: t.score,
                num_edits: t.num_edits,
                ref_length: t.ref_length,
            },
            ScoreDetail::Rouge(r) => Exact::Rouge {
                precision: r.precision,
                recall: r.recall,
                fmeasure: r.fmeasure,
            },
            ScoreDetail::None => Exact::Score { score: line.score },
        }
    }
}

/// One score line as sacrebleu's JSON object (name, rounded score, signature and its fields),
/// plus the unrounded values under `exact`. A signature field of the same name as another key
/// wins over it, except over `exact`.
#[derive(Serialize)]
struct LineRecord<'a> {
    name: &'a str,
    score: Option<f64>,
    signature: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    verbose_score: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    precision: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recall: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence_mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence_var: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rouge_bootstrap: Option<IntervalRecord>,
    #[serde(flatten)]
    fields: BTreeMap<&'a str, &'a str>,
    exact: Exact<'a>,
}

/// `--rouge-bootstrap`'s interval of one ROUGE figure in JSON: low, mid and high precision,
/// recall and F1 (× 100, rounded to the printed precision), and the unrounded values (0..=1)
/// under `exact`.
#[derive(Serialize)]
struct IntervalRecord {
    #[serde(flatten)]
    rounded: Bounds<Prf<Option<f64>>>,
    exact: Bounds<Prf<f64>>,
}

/// The low, mid and high bounds of a [`RougeInterval`].
#[derive(Serialize)]
struct Bounds<T> {
    low: T,
    mid: T,
    high: T,
}

/// Precision, recall and F1.
#[derive(Serialize)]
struct Prf<T> {
    precision: T,
    recall: T,
    fmeasure: T,
}

impl IntervalRecord {
    fn of(iv: &RougeInterval, w: usize) -> Self {
        fn bounds<T>(iv: &RougeInterval, f: impl Fn(f64) -> T) -> Bounds<Prf<T>> {
            let prf = |s: &RougeScore| Prf {
                precision: f(s.precision),
                recall: f(s.recall),
                fmeasure: f(s.fmeasure),
            };
            Bounds {
                low: prf(&iv.low),
                mid: prf(&iv.mid),
                high: prf(&iv.high),
            }
        }
        IntervalRecord {
            rounded: bounds(iv, |x| rounded(100.0 * x, w)),
            exact: bounds(iv, |x| x),
        }
    }
}

fn line_json(line: &ScoreLine, width: usize) -> LineRecord<'_> {
    let rouge = match &line.detail {
        ScoreDetail::Rouge(r) => Some(r),
        _ => None,
    };
    LineRecord {
        name: &line.name,
        score: rounded(line.score, width),
        signature: &line.signature,
        verbose_score: line.verbose(width),
        precision: rouge.map(|r| rounded(100.0 * r.precision, width)),
        recall: rouge.map(|r| rounded(100.0 * r.recall, width)),
        confidence_mean: None,
        confidence_var: None,
        confidence: None,
        rouge_bootstrap: None,
        fields: line
            .signature
            .split('|')
            .filter_map(|f| f.split_once(':'))
            .collect(),
        exact: Exact::of(line),
    }
}

/// Writes the whole report to stdout at once; a closed pipe (`| head`) is not an error.
fn emit(out: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `record` as pretty JSON and a newline. Through a [`serde_json::Value`]: its maps sort their keys, the
/// order these reports have always had (and a later key of the same name replaces an earlier).
fn json_text(record: &impl Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(&serde_json::to_value(record)?)? + "\n")
}

/// `eval --sentence --format json`.
#[derive(Serialize)]
struct SentencesRecord<'a> {
    signatures: BTreeMap<&'a str, &'a str>,
    sentences: Vec<SentenceRecord<'a>>,
}

/// One line's scores in [`SentencesRecord`].
#[derive(Serialize)]
struct SentenceRecord<'a> {
    line: usize,
    scores: Vec<LineRecord<'a>>,
}

/// `compare --format json` (either paired test).
#[derive(Serialize)]
struct CompareRecord<'a> {
    test: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resamples: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trials: Option<usize>,
    seed: u64,
    baseline: &'a str,
    systems: &'a [String],
    metrics: Vec<MetricRecord<'a>>,
}

/// One metric of [`CompareRecord`].
#[derive(Serialize)]
struct MetricRecord<'a> {
    name: &'a str,
    signature: &'a str,
    results: Vec<SystemRecord<'a>>,
}

/// One system's result in [`MetricRecord`]: rounded, and exact. The mean and CI are absent
/// for approximate randomization.
#[derive(Serialize)]
struct SystemRecord<'a> {
    system: &'a str,
    score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ci: Option<Option<f64>>,
    p_value: Option<Option<f64>>,
    exact: SystemExact,
}

#[derive(Serialize)]
struct SystemExact {
    score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ci: Option<f64>,
    p_value: Option<f64>,
}

/// `tarjama eval`.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<i32> {
    if let Some(code) = check_stdin_use(&args.refs, std::slice::from_ref(&args.hyp)) {
        return Ok(code);
    }
    if args.confidence_n.is_some() && !args.confidence {
        eprintln!(
            "error: --confidence-n is the number of resamples of --confidence: add --confidence"
        );
        return Ok(2);
    }
    if !args.rouge_bootstrap {
        let flag = if args.rouge_bootstrap_n.is_some() {
            Some("--rouge-bootstrap-n")
        } else {
            args.rouge_seed.map(|_| "--rouge-seed")
        };
        if let Some(flag) = flag {
            eprintln!("error: {flag} is a setting of --rouge-bootstrap: add --rouge-bootstrap");
            return Ok(2);
        }
    }
    let m = &args.metric;
    if args.rouge_bootstrap && !m.metrics.contains(&MetricKind::Rouge) {
        eprintln!(
            "error: --rouge-bootstrap gives intervals of ROUGE, which --metrics leaves out: add \
             rouge to --metrics"
        );
        return Ok(2);
    }
    let inputs: Vec<PathBuf> = args
        .refs
        .iter()
        .chain([&args.hyp])
        .chain(&m.spm_model)
        .cloned()
        .collect();
    let target = args.report.target(&inputs)?;
    let settings = settings(m)?;
    let refs = read_refs(&args.refs, m)?;
    let hyps = read_system(&args.hyp, &refs, m)?;
    let name = input_name(&args.hyp);
    if let Some(t) = &target {
        t.check_source(hyps.len(), &name)?;
    }
    let ref_lines: Vec<Vec<String>> = refs.into_iter().map(|s| s.lines).collect();
    rouge_hint(&settings, std::slice::from_ref(&hyps), &ref_lines);
    let w = m.width;
    let mut out = String::new();
    if args.sentence {
        let rows = eval::evaluate_sentences(&settings, &hyps, &ref_lines)?;
        let first = rows.first().cloned().unwrap_or_default();
        match m.format {
            OutputFormat::Text if args.score_only => {
                for row in &rows {
                    let cells: Vec<String> =
                        row.iter().map(|l| format!("{:.w$}", l.score)).collect();
                    writeln!(out, "{}", cells.join("\t"))?;
                }
            }
            OutputFormat::Text => {
                for l in &first {
                    if l.name == "ROUGE-1" || !l.name.starts_with("ROUGE") {
                        let label = if l.name.starts_with("ROUGE") {
                            "ROUGE"
                        } else {
                            &l.name
                        };
                        writeln!(out, "# {label}|{}", l.signature)?;
                    }
                }
                let names: Vec<&str> = first.iter().map(|l| l.name.as_str()).collect();
                writeln!(out, "line\t{}", names.join("\t"))?;
                for (i, row) in rows.iter().enumerate() {
                    let cells: Vec<String> =
                        row.iter().map(|l| format!("{:.w$}", l.score)).collect();
                    writeln!(out, "{}\t{}", i + 1, cells.join("\t"))?;
                }
            }
            OutputFormat::Json => {
                let record = SentencesRecord {
                    signatures: first
                        .iter()
                        .map(|l| (l.name.as_str(), l.signature.as_str()))
                        .collect(),
                    sentences: rows
                        .iter()
                        .enumerate()
                        .map(|(i, row)| SentenceRecord {
                            line: i + 1,
                            scores: row.iter().map(|l| line_json(l, w)).collect(),
                        })
                        .collect(),
                };
                out = json_text(&record)?;
            }
        }
        emit(&out)?;
        if let Some(t) = &target {
            let lines = eval::evaluate(&settings, &hyps, &ref_lines)?;
            let metrics = lines
                .iter()
                .map(|l| MetricSummary::from_line(l, None))
                .collect();
            t.write(&settings, &[name], &[hyps], &ref_lines, metrics, None, w)?;
        }
        return Ok(0);
    }
    // sacrebleu resamples only when n > 1 (`Metric.corpus_score`): `--confidence-n 1` prints
    // the plain scores, as its --confidence-n 1 does.
    let resample = args.confidence && args.confidence_n != Some(1);
    let scored: Vec<(ScoreLine, Option<Confidence>, Option<RougeInterval>)> = if resample {
        let bs = BootstrapSettings {
            resamples: args.confidence_n.unwrap_or(eval::DEFAULT_RESAMPLES),
            seed: eval::DEFAULT_SEED,
        };
        eval::evaluate_with_confidence(&settings, &hyps, &ref_lines, &bs)?
            .into_iter()
            .map(|(l, c)| (l, Some(c), None))
            .collect()
    } else if args.rouge_bootstrap {
        let defaults = RougeBootstrapSettings::default();
        let rbs = RougeBootstrapSettings {
            samples: args.rouge_bootstrap_n.unwrap_or(defaults.samples),
            seed: args.rouge_seed.unwrap_or(defaults.seed),
            ..defaults
        };
        eval::evaluate_with_rouge_intervals(&settings, &hyps, &ref_lines, &rbs)?
            .into_iter()
            .map(|(l, iv)| (l, None, iv))
            .collect()
    } else {
        eval::evaluate(&settings, &hyps, &ref_lines)?
            .into_iter()
            .map(|l| (l, None, None))
            .collect()
    };
    match m.format {
        OutputFormat::Text => {
            for (l, c, iv) in &scored {
                let mut line = if args.score_only {
                    l.score_text(w, c.as_ref())
                } else {
                    l.format_with(w, c.as_ref())
                };
                if let Some(iv) = iv {
                    line.push(' ');
                    line.push_str(&iv.format(w));
                }
                writeln!(out, "{line}")?;
            }
        }
        OutputFormat::Json => {
            let records: Vec<LineRecord> = scored
                .iter()
                .map(|(l, c, iv)| {
                    let mut r = line_json(l, w);
                    if let Some(c) = c.filter(|c| c.mean > 0.0) {
                        r.confidence_mean = rounded(c.mean, w);
                        r.confidence_var = rounded(c.ci, w);
                        r.confidence = Some(format!("μ = {:.w$} ± {:.w$}", c.mean, c.ci));
                    }
                    r.rouge_bootstrap = iv.map(|iv| IntervalRecord::of(&iv, w));
                    r
                })
                .collect();
            out = json_text(&records)?;
        }
    }
    emit(&out)?;
    if let Some(t) = &target {
        let metrics = scored
            .iter()
            .map(|(l, c, _)| MetricSummary::from_line(l, c.as_ref()))
            .collect();
        t.write(&settings, &[name], &[hyps], &ref_lines, metrics, None, w)?;
    }
    Ok(0)
}

/// The p column of `compare`'s table: `baseline`, or p at 4 decimals with ` *` when it is at
/// most 0.05.
pub(crate) fn p_cell(p: Option<f64>) -> String {
    match p {
        None => "baseline".to_string(),
        Some(p) if p <= 0.05 => format!("{p:.4} *"),
        Some(p) => format!("{p:.4}"),
    }
}

/// The text report of a paired test: `intro` lines, a blank line, the table (`header` and
/// `rows`, columns padded to their widest cell, those in `right` aligned right), and the
/// signature of each metric (one for all ROUGE figures).
fn test_report<'a>(
    intro: &[String],
    header: &[&str],
    rows: &[Vec<String>],
    right: &[usize],
    signatures: impl Iterator<Item = (&'a str, &'a str)>,
) -> anyhow::Result<String> {
    let mut out = String::new();
    for l in intro {
        writeln!(out, "{l}")?;
    }
    writeln!(out)?;
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (k, cell) in r.iter().enumerate() {
            widths[k] = widths[k].max(cell.chars().count());
        }
    }
    let fmt_row = |cells: &[&str]| -> String {
        let mut s = String::new();
        for (k, cell) in cells.iter().enumerate() {
            let pad = widths[k] - cell.chars().count();
            let last = k + 1 == cells.len();
            if right.contains(&k) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                if !last {
                    s.push_str(&" ".repeat(pad));
                }
            }
            if !last {
                s.push_str("  ");
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", fmt_row(header))?;
    for r in rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        writeln!(out, "{}", fmt_row(&cells))?;
    }
    writeln!(out)?;
    writeln!(out, "signatures:")?;
    let mut seen: Vec<&str> = Vec::new();
    for (name, signature) in signatures {
        let label = if name.starts_with("ROUGE") {
            "ROUGE"
        } else {
            name
        };
        if !seen.contains(&label) {
            seen.push(label);
            writeln!(out, "  {label:<8} {signature}")?;
        }
    }
    Ok(out)
}

/// The line under a paired test's title that says how to read p.
const P_NOTE: &str = "p: chance of a difference from the baseline at least this large if both \
                      systems came from the same process; * marks p <= 0.05";

/// How `compare` names its paired test in the text and JSON reports.
struct TestInfo {
    /// The title of the text report (`Paired bootstrap resampling (sacrebleu --paired-bs)`).
    title: &'static str,
    /// `test` in the JSON report.
    json_name: &'static str,
    /// What is counted (`resamples`, `trials`): the intro's word and the JSON key.
    unit: &'static str,
    /// How many.
    count: usize,
    seed: u64,
}

/// `compare` as text for either paired test: the table has the mean ± 95% CI column only when
/// the test estimates them (bootstrap; sacrebleu computes none for randomization by default).
fn compare_text<R: PairedOutcome>(
    names: &[String],
    cmp: &[Comparison<R>],
    info: &TestInfo,
    w: usize,
) -> anyhow::Result<String> {
    let intro = [
        format!(
            "{}: {} {}, seed {}, baseline {}",
            info.title, info.count, info.unit, info.seed, names[0]
        ),
        P_NOTE.to_string(),
    ];
    let with_ci = cmp
        .iter()
        .flat_map(|c| &c.results)
        .any(|r| r.interval().is_some());
    let mut rows = Vec::new();
    for c in cmp {
        for (name, r) in names.iter().zip(&c.results) {
            let mut row = vec![c.name.clone(), name.clone(), format!("{:.w$}", r.score())];
            if let Some((mean, ci)) = r.interval() {
                row.push(format!("{mean:.w$} ± {ci:.w$}"));
            }
            row.push(p_cell(r.p_value()));
            rows.push(row);
        }
    }
    let (header, right): (&[&str], &[usize]) = if with_ci {
        (
            &["metric", "system", "score", "mean ± 95% CI", "p"],
            &[2, 3],
        )
    } else {
        (&["metric", "system", "score", "p"], &[2])
    };
    test_report(
        &intro,
        header,
        &rows,
        right,
        cmp.iter().map(|c| (c.name.as_str(), c.signature.as_str())),
    )
}

/// `compare --format json` for either paired test.
fn compare_json<R: PairedOutcome>(
    names: &[String],
    cmp: &[Comparison<R>],
    info: &TestInfo,
    w: usize,
) -> anyhow::Result<String> {
    let metrics = cmp
        .iter()
        .map(|c| MetricRecord {
            name: &c.name,
            signature: &c.signature,
            results: names
                .iter()
                .zip(&c.results)
                .map(|(n, r)| {
                    let interval = r.interval();
                    SystemRecord {
                        system: n,
                        score: rounded(r.score(), w),
                        mean: interval.map(|(m, _)| rounded(m, w)),
                        ci: interval.map(|(_, ci)| rounded(ci, w)),
                        p_value: r.p_value().map(|p| rounded(p, 4)),
                        exact: SystemExact {
                            score: r.score(),
                            mean: interval.map(|(m, _)| m),
                            ci: interval.map(|(_, ci)| ci),
                            p_value: r.p_value(),
                        },
                    }
                })
                .collect(),
        })
        .collect();
    let count = Some(info.count);
    json_text(&CompareRecord {
        test: info.json_name,
        resamples: count.filter(|_| info.unit == "resamples"),
        trials: count.filter(|_| info.unit == "trials"),
        seed: info.seed,
        baseline: &names[0],
        systems: names,
        metrics,
    })
}

/// Runs `test`, prints its report in the chosen format and writes the `--report`, if any.
fn run_paired<T: PairedTest>(
    inputs: &CompareInputs,
    test: &T,
    info: &TestInfo,
    m: &MetricArgs,
    target: Option<&Target>,
) -> anyhow::Result<()> {
    let cmp = eval::compare_with(&inputs.settings, &inputs.systems, &inputs.refs, test)?;
    let out = match m.format {
        OutputFormat::Text => compare_text(&inputs.names, &cmp, info, m.width)?,
        OutputFormat::Json => compare_json(&inputs.names, &cmp, info, m.width)?,
    };
    emit(&out)?;
    if let Some(t) = target {
        let summary = TestSummary {
            name: info.json_name.to_string(),
            unit: info.unit.to_string(),
            count: info.count,
            seed: info.seed,
        };
        t.write(
            &inputs.settings,
            &inputs.names,
            &inputs.systems,
            &inputs.refs,
            cmp.iter().map(MetricSummary::from_comparison).collect(),
            Some(summary),
            m.width,
        )?;
    }
    Ok(())
}

/// What `compare` has read: the settings, the systems' segments, the references' and the
/// systems' names.
struct CompareInputs {
    settings: EvalSettings,
    systems: Vec<Vec<String>>,
    refs: Vec<Vec<String>>,
    names: Vec<String>,
}

/// `tarjama compare`.
pub fn run_compare(args: CompareArgs) -> anyhow::Result<i32> {
    if let Some(code) = check_stdin_use(&args.refs, &args.systems) {
        return Ok(code);
    }
    if args.ar_trials.is_some() && !args.paired_ar {
        eprintln!("error: --ar-trials (--paired-ar-n) is the number of trials of --paired-ar: add --paired-ar");
        return Ok(2);
    }
    let m = &args.metric;
    let inputs: Vec<PathBuf> = args
        .refs
        .iter()
        .chain(&args.systems)
        .chain(&m.spm_model)
        .cloned()
        .collect();
    let target = args.report.target(&inputs)?;
    let settings = settings(m)?;
    let refs = read_refs(&args.refs, m)?;
    let systems = args
        .systems
        .iter()
        .map(|p| read_system(p, &refs, m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let names: Vec<String> = args.systems.iter().map(|p| input_name(p)).collect();
    if let Some(t) = &target {
        t.check_source(systems[0].len(), &names[0])?;
    }
    let ref_lines: Vec<Vec<String>> = refs.into_iter().map(|s| s.lines).collect();
    rouge_hint(&settings, &systems, &ref_lines);
    let inputs = CompareInputs {
        settings,
        systems,
        refs: ref_lines,
        names,
    };
    if args.paired_ar {
        let ar = RandomizationSettings {
            trials: args.ar_trials.unwrap_or(eval::DEFAULT_TRIALS),
            seed: args.seed,
        };
        for (name, sys) in inputs.names.iter().zip(&inputs.systems).skip(1) {
            if *sys == inputs.systems[0] {
                eprintln!(
                    "note: {name} is identical to the baseline: approximate randomization then \
                     gives its smallest p-value, (0+1)/({}+1) = {:.4}, as sacrebleu does (no \
                     trial differs by more than 0)",
                    ar.trials,
                    1.0 / (ar.trials as f64 + 1.0)
                );
            }
        }
        let info = TestInfo {
            title: "Paired approximate randomization (sacrebleu --paired-ar)",
            json_name: "paired approximate randomization",
            unit: "trials",
            count: ar.trials,
            seed: ar.seed,
        };
        run_paired(&inputs, &ar, &info, m, target.as_ref())?;
    } else {
        let bs = BootstrapSettings {
            resamples: args.resamples,
            seed: args.seed,
        };
        let info = TestInfo {
            title: "Paired bootstrap resampling (sacrebleu --paired-bs)",
            json_name: "paired bootstrap resampling",
            unit: "resamples",
            count: bs.resamples,
            seed: bs.seed,
        };
        run_paired(&inputs, &bs, &info, m, target.as_ref())?;
    }
    Ok(0)
}
