//! `--report` of `tarjama eval` and `tarjama compare`.
//!
//! The Markdown reports of the team-written texts in `tests/fixtures/eval/report/` must equal,
//! byte for byte, the golden files `scripts/make_report_golden.py` renders from sacrebleu
//! 2.6.0's figures (corpus scores, paired bootstrap, sentence-level chrF and BLEU). The HTML
//! report is opened in Debian's headless Chromium (`tests/common/browser.rs`): its charts,
//! table, sorting, filtering, right-to-left source, escaping of hostile text and a
//! 20,000-segment page are checked in the browser. Bad `--report` and `--source` values are
//! one-line errors that write nothing.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::run_tarjama;
use serde_json::json;
use tarjama::eval::{self, EvalSettings, MetricKind};

const DIR: &str = "tests/fixtures/eval/report";

fn fixture(name: &str) -> String {
    format!("{DIR}/{name}")
}

fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(str::to_string)
        .collect()
}

fn run(args: &[&str]) -> Output {
    run_tarjama(args, None, &[])
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "tarjama failed: {}", stderr(o));
}

/// A one-line error with exit code `code` that contains every one of `parts`.
fn one_line_error(o: &Output, code: i32, parts: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for p in parts {
        assert!(err.contains(p), "{p:?} missing from: {err}");
    }
}

fn compare_args<'a>(report: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["compare", "--ref", "tests/fixtures/eval/report/ref.en"];
    args.extend(extra);
    args.extend([
        "tests/fixtures/eval/report/baseline.en",
        "tests/fixtures/eval/report/system.en",
        "--metrics",
        "bleu,chrf,ter",
        "--report",
        report,
    ]);
    args
}

/// The files of `dir` whose names start with tarjama's temporary-file prefix.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tarjama")
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Markdown against sacrebleu's figures

#[test]
fn compare_markdown_report_is_the_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("compare.md");
    let report_s = report.to_str().unwrap();
    let with = run(&compare_args(
        report_s,
        &["--source", "tests/fixtures/eval/report/source.ar"],
    ));
    ok(&with);
    let golden = std::fs::read_to_string(fixture("compare.md")).unwrap();
    let got = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        got, golden,
        "the Markdown report differs from {DIR}/compare.md"
    );
    // The report does not change what compare prints.
    let mut plain = compare_args("", &[]);
    plain.truncate(plain.len() - 2);
    let without = run(&plain);
    ok(&without);
    assert_eq!(stdout(&with), stdout(&without));
    assert!(temporaries(dir.path()).is_empty());
}

#[test]
fn eval_markdown_report_is_the_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("eval.md");
    let o = run(&[
        "eval",
        "--ref",
        "tests/fixtures/eval/report/ref.en",
        "tests/fixtures/eval/report/system.en",
        "--metrics",
        "bleu,chrf,ter",
        "--confidence",
        "--report",
        report.to_str().unwrap(),
    ]);
    ok(&o);
    let golden = std::fs::read_to_string(fixture("eval.md")).unwrap();
    assert_eq!(std::fs::read_to_string(&report).unwrap(), golden);
}

#[test]
fn eval_sentence_report_has_the_corpus_scores() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("sentence.md");
    let o = run(&[
        "eval",
        "--ref",
        &fixture("ref.en"),
        &fixture("system.en"),
        "--metrics",
        "bleu,chrf,ter",
        "--sentence",
        "--report",
        report.to_str().unwrap(),
    ]);
    ok(&o);
    assert!(stdout(&o).starts_with("# BLEU|nrefs:1|case:mixed|eff:yes|"));
    // Without --confidence, no interval column; the scores are eval.md's (sacrebleu's).
    let text = std::fs::read_to_string(&report).unwrap();
    let golden = std::fs::read_to_string(fixture("eval.md")).unwrap();
    let scores: Vec<Vec<String>> = markdown_score_rows(&golden)
        .into_iter()
        .map(|r| r[..3].to_vec())
        .collect();
    assert_eq!(markdown_score_rows(&text), scores);
    assert!(text.contains("| metric | system | score |\n"), "{text}");
}

// ------------------------------------------------------------------------------------------
// bad values

#[test]
fn unknown_report_extension_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("scores.pdf");
    let o = run(&compare_args(report.to_str().unwrap(), &[]));
    one_line_error(&o, 2, &["--report", "scores.pdf", ".html, .htm or .md"]);
    assert!(!report.exists());
    assert!(
        stdout(&o).is_empty(),
        "nothing is scored before the flags are checked"
    );
}

#[test]
fn a_report_never_replaces_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let refs = dir.path().join("ref.md");
    let hyp = dir.path().join("hyp.md");
    let src = dir.path().join("src.md");
    std::fs::write(&refs, "a b c\n").unwrap();
    std::fs::write(&hyp, "a b d\n").unwrap();
    std::fs::write(&src, "أ ب ج\n").unwrap();
    let (r, h, s) = (
        refs.to_str().unwrap(),
        hyp.to_str().unwrap(),
        src.to_str().unwrap(),
    );
    for (report, source) in [(h, None), (r, None), (s, Some(s))] {
        let mut args = vec!["eval", "--ref", r, h, "--report", report];
        if let Some(s) = source {
            args.extend(["--source", s]);
        }
        let o = run(&args);
        one_line_error(&o, 2, &["--report", report, "is also an input"]);
    }
    // The same file by another name.
    let other = format!("{}/./hyp.md", dir.path().display());
    let o = run(&["eval", "--ref", r, h, "--report", &other]);
    one_line_error(&o, 2, &["is also an input"]);
    assert_eq!(std::fs::read_to_string(&refs).unwrap(), "a b c\n");
    assert_eq!(std::fs::read_to_string(&hyp).unwrap(), "a b d\n");
    assert_eq!(std::fs::read_to_string(&src).unwrap(), "أ ب ج\n");
}

/// `--spm-model` is an input too: a report named like it is refused and the model is kept.
#[test]
fn a_report_never_replaces_the_spm_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("spm.md");
    std::fs::copy("tests/fixtures/nllb-tiny/sentencepiece.bpe.model", &model).unwrap();
    let before = std::fs::read(&model).unwrap();
    let m = model.to_str().unwrap();
    let o = run(&[
        "eval",
        "--ref",
        "tests/fixtures/eval/report/ref.en",
        "tests/fixtures/eval/report/system.en",
        "--metrics",
        "bleu",
        "--tokenize",
        "flores200",
        "--spm-model",
        m,
        "--report",
        m,
    ]);
    one_line_error(&o, 2, &["--report", m, "is also an input"]);
    assert_eq!(std::fs::read(&model).unwrap(), before);
}

/// A report path that is a folder is an error before anything is scored (nothing on stdout).
#[test]
fn a_report_path_that_is_a_folder_is_an_error_before_scoring() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("r.html");
    std::fs::create_dir(&folder).unwrap();
    let f = folder.to_str().unwrap();
    let o = run(&compare_args(f, &[]));
    one_line_error(&o, 1, &["--report", f, "is a directory"]);
    assert!(stdout(&o).is_empty(), "scored first: {}", stdout(&o));
}

/// Markdown cells escape `&`, so an entity in a segment shows as written (`\&amp;`).
#[test]
fn markdown_cells_show_entities_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (r, h) = (dir.path().join("ref.en"), dir.path().join("hyp.en"));
    std::fs::write(&r, "fish &amp; chips\n").unwrap();
    std::fs::write(&h, "fish & chips &amp; peas\n").unwrap();
    let md = dir.path().join("r.md");
    let o = run(&[
        "eval",
        "--ref",
        r.to_str().unwrap(),
        h.to_str().unwrap(),
        "--report",
        md.to_str().unwrap(),
    ]);
    ok(&o);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("fish \\& chips \\&amp; peas"), "{text}");
    assert!(text.contains("fish \\&amp; chips"), "{text}");
}

#[test]
fn bad_source_files_are_one_line_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.html");
    let rep = report.to_str().unwrap();
    let short = dir.path().join("short.ar");
    std::fs::write(&short, "سطر واحد\n").unwrap();
    let o = run(&compare_args(rep, &["--source", short.to_str().unwrap()]));
    one_line_error(&o, 1, &["short.ar", "has 1 line but", "12 segments"]);
    assert!(stdout(&o).is_empty(), "checked before the paired test runs");
    let missing = dir.path().join("missing.ar");
    let o = run(&compare_args(rep, &["--source", missing.to_str().unwrap()]));
    one_line_error(&o, 1, &["missing.ar"]);
    let o = run(&compare_args(rep, &["--source", "-"]));
    one_line_error(&o, 2, &["--source -"]);
    assert!(!report.exists());
    assert!(temporaries(dir.path()).is_empty());
    // --source needs --report (clap's usage error).
    let o = run(&[
        "eval",
        "--ref",
        &fixture("ref.en"),
        &fixture("system.en"),
        "--source",
        &fixture("source.ar"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--report"), "{}", stderr(&o));
}

#[test]
fn an_existing_report_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("old.md");
    std::fs::write(
        &report,
        "an older report, much longer than nothing ".repeat(500),
    )
    .unwrap();
    ok(&run(&[
        "eval",
        "--ref",
        &fixture("ref.en"),
        &fixture("system.en"),
        "--metrics",
        "bleu",
        "--report",
        report.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.starts_with("# tarjama eval report\n"), "{text}");
    assert!(!text.contains("an older report"));
    assert!(temporaries(dir.path()).is_empty());
}

// ------------------------------------------------------------------------------------------
// HTML in Chromium

/// Text no report may let run as HTML or script: it closes the data's `<script>`, opens an
/// image whose error handler would set `window.pwned`, and holds `&`, `>` and U+2028/U+2029.
const HOSTILE: &str =
    "</script><img src=x onerror=\"window.pwned=1\"> & <!-- \u{2028}x\u{2029} > <b>bold</b>";

/// The sentence-level chrF of every segment of `hyps`, as `eval --sentence` computes it (its
/// values equal sacrebleu's: the golden Markdown above checks them).
fn sentence_chrf(hyps: &[String], refs: &[String]) -> Vec<f64> {
    let settings = EvalSettings {
        metrics: vec![MetricKind::Chrf],
        ..EvalSettings::default()
    };
    eval::evaluate_sentences(&settings, hyps, &[refs.to_vec()])
        .unwrap()
        .iter()
        .map(|r| r[0].score)
        .collect()
}

/// Line numbers (from 1) ordered by `delta` ascending, ties by line.
fn order_by(delta: &[f64]) -> Vec<u64> {
    let mut idx: Vec<usize> = (0..delta.len()).collect();
    idx.sort_by(|&a, &b| delta[a].total_cmp(&delta[b]).then(a.cmp(&b)));
    idx.into_iter().map(|i| i as u64 + 1).collect()
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("report-screenshots")
}

/// The rows of the Markdown table that follows `## Corpus scores` in `md`, as cells.
fn markdown_score_rows(md: &str) -> Vec<Vec<String>> {
    let body = md.split("## Corpus scores\n\n").nth(1).unwrap();
    body.lines()
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().replace("\\*", "*"))
                .collect()
        })
        .collect()
}

const ROW_LINES: &str =
    "[...document.querySelectorAll('#segments tbody tr')].map(tr => Number(tr.dataset.line))";

#[test]
fn html_compare_report_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let refs = lines(&fixture("ref.en"));
    let base = lines(&fixture("baseline.en"));
    let sys = lines(&fixture("system.en"));
    // A third system: the baseline with hostile text on line 3.
    let mut hostile = base.clone();
    hostile[2] = HOSTILE.to_string();
    let hostile_path = dir.path().join("hostile.en");
    std::fs::write(&hostile_path, hostile.join("\n") + "\n").unwrap();
    // In a folder that does not exist yet (it is created), with a space (a URL escape).
    let report = dir.path().join("new reports").join("compare.html");
    let args = vec![
        "compare",
        "--ref",
        "tests/fixtures/eval/report/ref.en",
        "tests/fixtures/eval/report/baseline.en",
        "tests/fixtures/eval/report/system.en",
        hostile_path.to_str().unwrap(),
        "--metrics",
        "bleu,chrf,ter",
        "--source",
        "tests/fixtures/eval/report/source.ar",
        "--report",
        report.to_str().unwrap(),
    ];
    ok(&run(&args));
    let html = std::fs::read_to_string(&report).unwrap();
    // Self-contained: nothing is fetched (the page's CSP forbids it too).
    for needle in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "the page refers to {needle:?}");
    }
    // The hostile text is in the page only escaped.
    assert!(!html.contains("</script><img"));
    assert!(!html.contains('\u{2028}') && !html.contains('\u{2029}'));
    assert!(html.contains("\\u003c/script\\u003e\\u003cimg"));

    let b = browser::Browser::launch();
    let page = b.open(&browser::file_url(&report));
    page.wait_for("body[data-ready='1']");

    // Summary: 3 metrics × 3 systems; the first two systems' cells are the golden's (sacrebleu's
    // scores, means, intervals and p-values: the third system changes none of them).
    let summary = page.eval(
        "[...document.querySelectorAll('#summary tbody tr')].map(tr => [...tr.cells].map(c => c.textContent))",
    );
    let summary = summary.as_array().unwrap();
    assert_eq!(summary.len(), 9);
    let golden = std::fs::read_to_string(fixture("compare.md")).unwrap();
    let expected = markdown_score_rows(&golden);
    assert_eq!(expected.len(), 6);
    let got: Vec<Vec<String>> = summary
        .iter()
        .filter(|r| r[1] != json!(hostile_path.to_str().unwrap()))
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(got, expected);
    // Signatures: one per metric and the two sentence-level ones.
    let sigs =
        page.eval("[...document.querySelectorAll('#signatures td.sig')].map(c => c.textContent)");
    assert_eq!(sigs.as_array().unwrap().len(), 5);
    assert!(
        sigs[0]
            .as_str()
            .unwrap()
            .starts_with("nrefs:1|bs:1000|seed:12345|"),
        "{sigs}"
    );

    // Interval chart: one per metric, an interval (line) and a score (dot) per system.
    let charts = page.eval(
        "[...document.querySelectorAll('svg.interval-chart')].map(s => [s.dataset.metric, \
         s.querySelectorAll('g.interval').length, s.querySelectorAll('g.interval line.ci').length, \
         s.querySelectorAll('g.interval circle').length])",
    );
    assert_eq!(
        charts,
        json!([["BLEU", 3, 3, 3], ["chrF2", 3, 3, 3], ["TER", 3, 3, 3]])
    );
    // Histograms of Δ chrF, one per system after the baseline: 20 bars counting 12 segments.
    let hist = page.eval(
        "[...document.querySelectorAll('svg.histogram')].map(s => { const bars = \
         [...s.querySelectorAll('rect.bar')]; return [Number(s.dataset.system), bars.length, \
         bars.reduce((n, b) => n + Number(b.dataset.count), 0)]; })",
    );
    assert_eq!(hist, json!([[1, 20, 12], [2, 20, 12]]));
    // hostile.en differs from the baseline on line 3 only (a drop): 11 unchanged segments in
    // the last bin, which holds 0 (grey), and one in the first (red).
    let hostile_bars = page.eval(
        "[...document.querySelectorAll('svg.histogram[data-system=\"2\"] rect.bar')].filter(b => b.dataset.count !== '0').map(b => [b.dataset.count, b.classList.value])",
    );
    assert_eq!(hostile_bars, json!([["1", "bar neg"], ["11", "bar zero"]]));

    page.screenshot(&screenshot_dir().join("compare-summary.png"));

    // The table: 12 rows in line order; the Arabic source right to left.
    assert_eq!(page.eval(ROW_LINES), json!((1..=12).collect::<Vec<_>>()));
    let dirs = page.eval(
        "[...document.querySelectorAll('#segments tbody td.src')].map(td => getComputedStyle(td).direction)",
    );
    assert_eq!(dirs, json!(vec!["rtl"; 12]));
    let src = page.eval("document.querySelector('#segments tbody tr td.src').textContent");
    assert_eq!(src, json!(lines(&fixture("source.ar"))[0]));
    // Word differences: line 1 of system.en replaces "city" and "garden" ... of the reference.
    let diff = page.eval(
        "(() => { const td = document.querySelector('#segments tbody tr[data-line=\"1\"] td.out[data-system=\"0\"]'); \
         return [[...td.querySelectorAll('del')].map(e => e.textContent), [...td.querySelectorAll('ins')].map(e => e.textContent)]; })()",
    );
    assert_eq!(diff, json!([["municipality", "park"], ["city", "garden"]]));

    // The hostile output is text: no image, no handler run, its characters shown as written.
    assert_eq!(
        page.eval("document.querySelectorAll('img, b').length"),
        json!(0)
    );
    assert_eq!(page.eval("window.pwned === undefined"), json!(true));
    let shown = page.eval(
        "(() => { const td = document.querySelector('#segments tbody tr[data-line=\"3\"] td.out[data-system=\"2\"]'); \
         return [...td.childNodes].filter(n => n.nodeName !== 'DEL' && n.nodeName !== 'DIV').map(n => n.textContent).join(''); })()",
    );
    assert_eq!(shown, json!(HOSTILE));

    // Sorting by Δ chrF of system.en: most worsened first, then (again) most improved first.
    let delta: Vec<f64> = sentence_chrf(&sys, &refs)
        .iter()
        .zip(sentence_chrf(&base, &refs))
        .map(|(s, b)| s - b)
        .collect();
    let ascending = order_by(&delta);
    page.click("#sort-delta-1");
    assert_eq!(page.eval(ROW_LINES), json!(ascending));
    let shown_deltas = page.eval(
        "[...document.querySelectorAll('#segments tbody td.out[data-system=\"1\"] .scores span')].map(s => Number(s.textContent.match(/Δ chrF ([-+0-9.]+)/)[1]))",
    );
    let shown_deltas: Vec<f64> = shown_deltas
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        shown_deltas.windows(2).all(|w| w[0] <= w[1]),
        "{shown_deltas:?}"
    );
    assert!(
        shown_deltas[0] < 0.0 && shown_deltas[11] > 0.0,
        "{shown_deltas:?}"
    );
    page.click("#sort-delta-1");
    let descending = page.eval(ROW_LINES);
    let mut by_desc = (0..12usize).collect::<Vec<_>>();
    by_desc.sort_by(|&a, &b| delta[b].total_cmp(&delta[a]).then(a.cmp(&b)));
    let by_desc: Vec<u64> = by_desc.into_iter().map(|i| i as u64 + 1).collect();
    assert_eq!(descending, json!(by_desc));
    // The baseline's header sorts by its own sentence chrF, lowest first.
    page.click("#sort-chrf-0");
    assert_eq!(
        page.eval(ROW_LINES),
        json!(order_by(&sentence_chrf(&base, &refs)))
    );
    page.screenshot(&screenshot_dir().join("compare.png"));

    // Filtering narrows the rows to those whose texts contain the words (any case).
    page.type_into("#filter", "Calligraphy");
    assert_eq!(page.eval(ROW_LINES), json!([7]));
    let count = page.eval("document.getElementById('row-count').textContent");
    assert_eq!(count, json!("rows 1–1 of 1 (filtered from 12)"));
    // The source is searched too.
    page.eval("(() => { const f = document.getElementById('filter'); f.value = 'المكتبة'; f.dispatchEvent(new Event('input')); })()");
    assert_eq!(page.eval(ROW_LINES), json!([8]));
    page.eval("(() => { const f = document.getElementById('filter'); f.value = 'no such words'; f.dispatchEvent(new Event('input')); })()");
    assert_eq!(page.eval(ROW_LINES), json!([]));

    // Approximate randomization estimates no intervals: dots only, and the p-values compare
    // prints (tests/eval.rs checks those against sacrebleu's).
    let ar_report = dir.path().join("ar.html");
    let ar_args = compare_args(
        ar_report.to_str().unwrap(),
        &["--paired-ar", "--ar-trials", "1000"],
    );
    let o = run(&ar_args);
    ok(&o);
    let printed_p: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with("BLEU ") || l.starts_with("chrF2 ") || l.starts_with("TER "))
        .map(
            |l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                [.., p, "*"] => format!("{p} *"),
                [.., p] => p.to_string(),
                [] => unreachable!(),
            },
        )
        .collect();
    assert_eq!(printed_p.len(), 6, "{}", stdout(&o));
    let page = b.open(&browser::file_url(&ar_report));
    page.wait_for("body[data-ready='1']");
    let charts = page.eval(
        "[...document.querySelectorAll('svg.interval-chart')].map(s => [s.querySelectorAll('line.ci').length, s.querySelectorAll('circle').length])",
    );
    assert_eq!(charts, json!([[0, 2], [0, 2], [0, 2]]));
    let head =
        page.eval("[...document.querySelectorAll('#summary thead th')].map(c => c.textContent)");
    assert_eq!(head, json!(["metric", "system", "score", "p"]));
    let p = page.eval(
        "[...document.querySelectorAll('#summary tbody tr')].map(tr => tr.cells[3].textContent)",
    );
    assert_eq!(p, json!(printed_p));
}

#[test]
fn html_report_of_20000_segments_pages_in_chromium() {
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let words = [
        "river", "park", "bridge", "school", "city", "market", "train", "garden",
    ];
    let mut refs = String::new();
    let mut hyps = String::new();
    let mut src = String::new();
    for i in 0..N {
        let w = |k: usize| words[(i * 7 + k * 3) % words.len()];
        refs.push_str(&format!(
            "seg{i} the {} is near the {} and the {}\n",
            w(0),
            w(1),
            w(2)
        ));
        hyps.push_str(&format!(
            "seg{i} a {} is by the {} and {}\n",
            w(0),
            w(2),
            w(1)
        ));
        src.push_str(&format!("الجملة {i} عن النهر والحديقة\n"));
    }
    let (r, h, s) = (
        dir.path().join("ref.en"),
        dir.path().join("hyp.en"),
        dir.path().join("src.ar"),
    );
    std::fs::write(&r, refs).unwrap();
    std::fs::write(&h, hyps).unwrap();
    std::fs::write(&s, src).unwrap();
    let report = dir.path().join("big.html");
    ok(&run(&[
        "eval",
        "--ref",
        r.to_str().unwrap(),
        h.to_str().unwrap(),
        "--metrics",
        "bleu",
        "--source",
        s.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]));
    let b = browser::Browser::launch();
    let page = b.open(&browser::file_url(&report));
    page.wait_for("body[data-ready='1']");
    // A sanity bound, not a benchmark: the first page was on screen within 10 s.
    let ms = page.eval("Number(document.body.dataset.renderMs)");
    let ms = ms.as_f64().unwrap();
    eprintln!("20,000-segment report: first page rendered {ms:.0} ms after navigation began");
    assert!(ms > 0.0 && ms < 10_000.0, "{ms} ms");
    // One page of 100 rows in the DOM; paging moves through all 200.
    assert_eq!(page.eval(ROW_LINES), json!((1..=100).collect::<Vec<_>>()));
    assert_eq!(
        page.eval("document.getElementById('page-info').textContent"),
        json!("page 1 of 200")
    );
    page.click("#next");
    assert_eq!(page.eval(ROW_LINES), json!((101..=200).collect::<Vec<_>>()));
    assert_eq!(
        page.eval("document.getElementById('page-info').textContent"),
        json!("page 2 of 200")
    );
    assert_eq!(
        page.eval("document.getElementById('prev').disabled"),
        json!(false)
    );
    page.click("#prev");
    assert_eq!(
        page.eval("document.getElementById('prev').disabled"),
        json!(true)
    );
    // Reversed line order, then a filter that leaves one segment of the 20,000.
    page.click("#sort-line");
    assert_eq!(page.eval(ROW_LINES)[0], json!(N));
    // eval's one system sorts by its sentence chrF, lowest first (checked on the shown values).
    page.click("#sort-chrf-0");
    let chrf = page.eval(
        "[...document.querySelectorAll('#segments tbody .scores')].map(d => Number(d.textContent.match(/chrF ([0-9.]+)/)[1]))",
    );
    let chrf: Vec<f64> = chrf
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(chrf.len(), 100);
    assert!(chrf.windows(2).all(|w| w[0] <= w[1]), "{chrf:?}");
    page.click("#sort-line");
    page.type_into("#filter", "seg12345 ");
    assert_eq!(page.eval(ROW_LINES), json!([12346]));
    assert_eq!(
        page.eval("document.getElementById('page-info').textContent"),
        json!("page 1 of 1")
    );
    page.screenshot(&screenshot_dir().join("eval-20000.png"));
}
