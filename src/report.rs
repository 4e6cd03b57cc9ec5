//! `--report PATH` of `tarjama eval` and `tarjama compare`: renders the library's
//! [`Report`] as one self-contained HTML page (inline CSS, JavaScript and SVG; the data
//! embedded as JSON) or as Markdown, and writes it atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use tarjama::eval::input::{read_segments, InputFormat, Segments, STDIN};
use tarjama::eval::report::{self, most_changed, MetricSummary, Report, TestSummary};
use tarjama::eval::EvalSettings;

use crate::common::Usage;

/// How many segments the Markdown report lists each way.
pub const MARKDOWN_SEGMENTS: usize = 20;

/// The report flags of `eval` and `compare`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Also write a report to PATH: `.html`/`.htm` (one self-contained page that needs no
    /// network: scores, interval chart, histogram of per-segment deltas, a sortable and
    /// filterable table of segments with sentence-level chrF and BLEU and word differences) or
    /// `.md` (the summary tables and the 20 segments that changed most each way). Stdout is
    /// unchanged.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// With --report: the source file (one segment per line) shown beside each segment;
    /// Arabic is shown right to left.
    #[arg(long, value_name = "FILE", requires = "report")]
    pub source: Option<PathBuf>,
}

/// A report's file format, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// `.html` or `.htm`.
    Html,
    /// `.md`.
    Markdown,
}

/// A report to write: where, in which format, and the `--source` lines.
#[derive(Debug)]
pub struct Target {
    path: PathBuf,
    format: ReportFormat,
    source: Option<Segments>,
}

impl ReportArgs {
    /// Checks the report flags before anything is scored and reads `--source`; `None` without
    /// `--report`. `inputs` are the references, systems and `--spm-model` (`-` for standard
    /// input).
    ///
    /// Errors: a [`Usage`] error (exit 2) naming the flag for an extension other than `.html`,
    /// `.htm` or `.md`, for a report path that is also an input or the source (a report never
    /// overwrites an input), or for `--source -`; an error (exit 1) for a report path that is
    /// a folder (missing folders above it are created when it is written, as for `-o`); an
    /// input error naming
    /// the source file when it cannot be read.
    pub fn target(&self, inputs: &[PathBuf]) -> anyhow::Result<Option<Target>> {
        let Some(path) = &self.report else {
            return Ok(None);
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let format = match ext.as_deref() {
            Some("html" | "htm") => ReportFormat::Html,
            Some("md") => ReportFormat::Markdown,
            _ => {
                return Err(Usage(format!(
                    "--report {}: unknown report format (the name must end in .html, .htm or .md)",
                    path.display()
                ))
                .into())
            }
        };
        let same = |p: &Path| match (std::fs::canonicalize(p), std::fs::canonicalize(path)) {
            (Ok(a), Ok(b)) => a == b,
            _ => p == path.as_path(),
        };
        let all = inputs.iter().chain(&self.source);
        if let Some(p) = all.filter(|p| p.as_os_str() != STDIN).find(|p| same(p)) {
            return Err(Usage(format!(
                "--report {}: is also an input ({}); choose another file",
                path.display(),
                p.display()
            ))
            .into());
        }
        if path.is_dir() {
            anyhow::bail!("--report {}: is a directory; name a file", path.display());
        }
        let source = match &self.source {
            Some(p) if p.as_os_str() == STDIN => {
                return Err(Usage(
                    "--source -: the source must be a file (standard input is for a system)".into(),
                )
                .into())
            }
            Some(p) => Some(read_segments(p, &InputFormat::Lines)?),
            None => None,
        };
        Ok(Some(Target {
            path: path.clone(),
            format,
            source,
        }))
    }
}

impl Target {
    /// Checks, before the scoring, that the source has `n` lines ([`report::check_source`]).
    pub fn check_source(&self, n: usize, first: &str) -> tarjama::Result<()> {
        match &self.source {
            Some(src) => report::check_source(src, n, first),
            None => Ok(()),
        }
    }

    /// Builds the report ([`report::build`]: sentence-level chrF and BLEU with `settings`'s
    /// BLEU tokenizer and casing, word differences) of `systems` named `names` against `refs`,
    /// with the corpus figures `metrics` and the paired `test`, renders it and writes it
    /// atomically (a temporary file in the same folder, then renamed over the path).
    ///
    /// Errors: the source's line count ([`report::check_source`]), or the file cannot be
    /// written (naming it).
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &self,
        settings: &EvalSettings,
        names: &[String],
        systems: &[Vec<String>],
        refs: &[Vec<String>],
        metrics: Vec<MetricSummary>,
        test: Option<TestSummary>,
        width: usize,
    ) -> anyhow::Result<()> {
        let report = report::build(
            settings.bleu.clone(),
            names,
            systems,
            refs,
            self.source.as_ref(),
            metrics,
            test,
        )?;
        let text = match self.format {
            ReportFormat::Html => html(&report, width)?,
            ReportFormat::Markdown => markdown(&report, width)?,
        };
        tarjama::fsio::write_atomic(&self.path, text.as_bytes(), ".tarjama-report-")?;
        Ok(())
    }
}

/// The page: the report as JSON, with the title and the number of decimals beside it.
#[derive(Serialize)]
struct Page<'a> {
    title: String,
    width: usize,
    report: &'a Report,
}

const TEMPLATE: &str = include_str!("report.html");

/// Where the JSON goes in [`TEMPLATE`] (its only placeholder).
const DATA: &str = "{{DATA}}";

/// `json` made safe inside a `<script>` element: `<`, `>` and `&` (so no text can end the
/// element or open a comment) and U+2028/U+2029 (line terminators to older JavaScript) as
/// `\uXXXX` escapes. They occur only inside JSON strings, where the escape means the same.
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML page: [`TEMPLATE`] with the [`Page`] JSON ([`script_safe`]) in its one
/// `<script type="application/json">` element. The page's script sets every text through
/// `textContent` (never `innerHTML`), so segment text is never parsed as HTML.
fn html(report: &Report, width: usize) -> anyhow::Result<String> {
    let title = if report.systems.len() > 1 {
        format!("tarjama compare: {}", report.systems.join(" vs "))
    } else {
        format!("tarjama eval: {}", report.systems.join(""))
    };
    let json = serde_json::to_string(&Page {
        title,
        width,
        report,
    })?;
    let (head, tail) = TEMPLATE
        .split_once(DATA)
        .expect("report.html has a {{DATA}} placeholder");
    Ok(format!("{head}{}{tail}", script_safe(&json)))
}

/// Escapes text for a Markdown table cell: characters with a Markdown meaning get a
/// backslash (`|` would end the cell, `&` would start an entity), and a line break becomes a
/// space.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '~' | '!' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown report: the scores with signatures, intervals, p-values and marks; then, for
/// each system after the baseline, the [`MARKDOWN_SEGMENTS`] segments whose sentence-level
/// chrF improved most and worsened most (for `eval`, those that scored lowest).
fn markdown(report: &Report, w: usize) -> anyhow::Result<String> {
    let mut out = String::new();
    let compared = report.systems.len() > 1;
    writeln!(
        out,
        "# tarjama {} report\n",
        if compared { "compare" } else { "eval" }
    )?;
    let names: Vec<String> = report.systems.iter().map(|s| md(s)).collect();
    if let Some(t) = &report.test {
        writeln!(
            out,
            "Baseline {}; {}: {} {}, seed {}; {} segments. * marks p <= 0.05.\n",
            names[0],
            t.name,
            t.count,
            t.unit,
            t.seed,
            report.segments.len()
        )?;
    } else {
        writeln!(
            out,
            "System {}; {} segments.\n",
            names[0],
            report.segments.len()
        )?;
    }
    let with_ci = report
        .metrics
        .iter()
        .flat_map(|m| &m.results)
        .any(|r| r.ci.is_some());
    writeln!(out, "## Corpus scores\n")?;
    let mut header = vec!["metric", "system", "score"];
    if with_ci {
        header.push("mean ± 95% CI");
    }
    if compared {
        header.push("p");
    }
    writeln!(out, "| {} |", header.join(" | "))?;
    let align: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(k, _)| if k < 2 { "---" } else { "---:" })
        .collect();
    writeln!(out, "| {} |", align.join(" | "))?;
    for m in &report.metrics {
        for (name, r) in names.iter().zip(&m.results) {
            let mut cells = vec![md(&m.name), name.clone(), format!("{:.w$}", r.score)];
            if with_ci {
                cells.push(match (r.mean, r.ci) {
                    (Some(mean), Some(ci)) => format!("{mean:.w$} ± {ci:.w$}"),
                    _ => String::new(),
                });
            }
            if compared {
                cells.push(md(&crate::eval::p_cell(r.p_value)));
            }
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
    }
    writeln!(out, "\n## Signatures\n")?;
    writeln!(out, "| metric | signature |\n| --- | --- |")?;
    for m in &report.metrics {
        writeln!(out, "| {} | {} |", md(&m.name), md(&m.signature))?;
    }
    writeln!(
        out,
        "| sentence chrF | {} |\n| sentence BLEU | {} |",
        md(&report.chrf_signature),
        md(&report.bleu_signature)
    )?;
    if compared {
        for s in 1..report.systems.len() {
            let (up, down) = most_changed(report, s, MARKDOWN_SEGMENTS);
            for (title, lines) in [("improved most", up), ("worsened most", down)] {
                writeln!(
                    out,
                    "\n## {}: segments whose chrF {title} against {}\n",
                    names[s], names[0]
                )?;
                segment_table(&mut out, report, &lines, s, w)?;
            }
        }
    } else {
        let mut lines: Vec<(f64, usize)> = report
            .segments
            .iter()
            .map(|r| (r.systems[0].chrf, r.line))
            .collect();
        lines.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let lines: Vec<usize> = lines
            .into_iter()
            .take(MARKDOWN_SEGMENTS)
            .map(|(_, l)| l)
            .collect();
        writeln!(out, "\n## Segments with the lowest chrF\n")?;
        segment_table(&mut out, report, &lines, 0, w)?;
    }
    Ok(out)
}

/// A Markdown table of the segments at `lines` (1-based) for system `s` (and the baseline's
/// output beside it when `s` > 0).
fn segment_table(
    out: &mut String,
    report: &Report,
    lines: &[usize],
    s: usize,
    w: usize,
) -> std::fmt::Result {
    if lines.is_empty() {
        return writeln!(out, "None.");
    }
    let has_source = report.segments.iter().any(|r| r.source.is_some());
    let mut header = vec!["line"];
    if s > 0 {
        header.extend(["Δ chrF", "Δ BLEU"]);
    }
    header.extend(["chrF", "BLEU"]);
    if has_source {
        header.push("source");
    }
    header.push("reference");
    if s > 0 {
        header.push("baseline");
    }
    header.push("output");
    writeln!(out, "| {} |", header.join(" | "))?;
    let align: Vec<&str> = header
        .iter()
        .map(|h| match *h {
            "line" | "Δ chrF" | "Δ BLEU" | "chrF" | "BLEU" => "---:",
            _ => "---",
        })
        .collect();
    writeln!(out, "| {} |", align.join(" | "))?;
    for &line in lines {
        let row = &report.segments[line - 1];
        let sys = &row.systems[s];
        let mut cells = vec![line.to_string()];
        if s > 0 {
            cells.push(format!("{:+.w$}", sys.delta_chrf.unwrap_or(0.0)));
            cells.push(format!("{:+.w$}", sys.delta_bleu.unwrap_or(0.0)));
        }
        cells.push(format!("{:.w$}", sys.chrf));
        cells.push(format!("{:.w$}", sys.bleu));
        if has_source {
            cells.push(md(row.source.as_deref().unwrap_or("")));
        }
        cells.push(md(&row.refs.join(" / ")));
        if s > 0 {
            cells.push(md(&row.systems[0].text));
        }
        cells.push(md(&sys.text));
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}
