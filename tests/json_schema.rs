//! One JSON schema for summaries: `summarize --format json` and `run --format json` print the
//! same summary object, and every JSON output's keys are the ones docs/json.md lists.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;

/// The field names of the table after `<!-- schema: NAME -->` in docs/json.md.
fn documented(name: &str) -> BTreeSet<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let marker = format!("<!-- schema: {name} -->\n");
    let (_, table) = doc
        .split_once(&marker)
        .unwrap_or_else(|| panic!("{marker}"));
    let table = table.split("\n\n").next().unwrap();
    let fields: BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| l.split_once('`').unwrap().0.to_string())
        .collect();
    assert!(fields.len() > 1, "{name}: {table}");
    fields
}

/// The keys of `v`, with those of nested objects as `outer.inner`; the objects at `opaque`
/// keys (documented elsewhere or not key by key) are not opened.
fn keys(v: &Value, opaque: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (k, x) in v.as_object().unwrap() {
        out.insert(k.clone());
        if let (Some(_), false) = (x.as_object(), opaque.contains(&k.as_str())) {
            for inner in keys(x, opaque) {
                out.insert(format!("{k}.{inner}"));
            }
        }
    }
    out
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

const OPAQUE: &[&str] = &["model", "generation", "summary", "translation"];

#[test]
fn summarize_and_run_print_one_summary_schema_the_one_docs_json_md_lists() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sample.ar.txt"
    ))
    .unwrap();
    let marian = common::fixture("marian-tiny");
    let bart = common::fixture("distilbart-tiny");
    let (marian, bart) = (marian.to_str().unwrap(), bart.to_str().unwrap());
    // A cut input, so that `truncated` is an object.
    let english = "The talks resumed on Monday in the capital after a long pause. ".repeat(8);
    let summarize = json(&common::run_tarjama(
        &[
            "summarize",
            "--model",
            bart,
            "--format",
            "json",
            "--strategy",
            "truncate",
            "--max-input-tokens",
            "16",
            "--beams",
            "1",
        ],
        Some(&english),
        &[],
    ));
    let run = json(&common::run_tarjama(
        &[
            "run",
            "--translator",
            marian,
            "--summarizer",
            bart,
            "--format",
            "json",
            "--strategy",
            "truncate",
        ],
        Some(&text),
        &[],
    ));

    let summary_keys = set(&[
        "text",
        "translated_from",
        "language",
        "model",
        "settings",
        "settings.generation",
        "settings.strategy",
        "settings.max_input_tokens",
        "input_tokens",
        "summary_tokens",
        "chunks",
        "rounds",
        "truncated",
        "truncated.input_tokens",
        "truncated.limit",
        "stopped",
        "seconds",
        "seconds.load",
        "seconds.summarize",
    ]);
    assert_eq!(keys(&summarize["summary"], OPAQUE), summary_keys);
    assert_eq!(summarize["summary"]["truncated"]["limit"], 16);
    assert_eq!(summarize["summary"]["settings"]["max_input_tokens"], 16);
    // run's fit: its truncated is null, every other key is there.
    let mut run_summary = keys(&run["summary"], OPAQUE);
    assert!(run["summary"]["truncated"].is_null());
    run_summary.extend(["truncated.input_tokens".into(), "truncated.limit".into()]);
    assert_eq!(run_summary, summary_keys);
    assert_eq!(summary_keys, documented("summary"));

    assert_eq!(
        keys(&summarize, OPAQUE),
        set(&["input", "summary", "warnings"])
    );
    assert_eq!(keys(&summarize, OPAQUE), documented("summarize"));
    assert_eq!(summarize["input"], "-");
    assert_eq!(
        keys(&run, OPAQUE),
        set(&[
            "input",
            "summarize_first",
            "summary",
            "translation",
            "total_seconds",
            "warnings"
        ])
    );
    assert_eq!(keys(&run, OPAQUE), documented("run"));
    assert_eq!(keys(&run["translation"], OPAQUE), documented("translation"));
    let model = documented("model");
    for m in [
        &summarize["summary"]["model"],
        &run["summary"]["model"],
        &run["translation"]["model"],
    ] {
        assert_eq!(keys(m, &[]), model);
    }
    assert_eq!(run["summary"]["model"]["name"], bart);
    assert_eq!(run["translation"]["model"]["name"], marian);
    assert_eq!(run["summary"]["language"], "en");
    assert!(run["summary"]["translated_from"].is_null());

    // translate --format jsonl: every line has the documented keys.
    let jsonl = common::run_tarjama(
        &["translate", "--model", marian, "--format", "jsonl"],
        Some(&text),
        &[],
    );
    assert!(jsonl.status.success());
    let lines = String::from_utf8(jsonl.stdout).unwrap();
    assert_eq!(lines.lines().count(), 5);
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(keys(&v, &[]), documented("segment"), "{line}");
    }
}

/// `run --stats` prints the keys docs/json.md lists: each stage's segments and tokens are the
/// ones the same run's `--format json` record reports for its translation and its summary,
/// they add up to the totals, both model loads are there, and (Linux) so is every peak RSS.
#[test]
fn run_stats_report_each_stage_and_each_load_as_docs_json_md_lists() {
    let marian = common::fixture("marian-tiny");
    let bart = common::fixture("distilbart-tiny");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sample.ar.txt"
    ))
    .unwrap();
    let out = common::run_tarjama(
        &[
            "run",
            "--translator",
            marian.to_str().unwrap(),
            "--summarizer",
            bart.to_str().unwrap(),
            "--format",
            "json",
            "--stats",
            "--summary-beams",
            "1",
            "--summary-max-new-tokens",
            "12",
            "--summary-min-new-tokens",
            "12",
        ],
        Some(&text),
        &[],
    );
    let record = json(&out);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = stderr.lines().rfind(|l| l.starts_with('{')).unwrap();
    let stats: Value = serde_json::from_str(line).unwrap();
    assert_eq!(keys(&stats, &[]), documented("stats-run"));
    let (t, s) = (&stats["stages"]["translate"], &stats["stages"]["summarize"]);
    let (tr, sr) = (&record["translation"], &record["summary"]);
    // The sample article is five segments.
    assert_eq!(t["segments"], 5, "{line}");
    for k in ["segments", "source_tokens", "target_tokens"] {
        assert_eq!(t[k], tr[k], "stages.translate.{k}: {line}");
    }
    // The summary: one segment of exactly 12 new tokens, its input the translation.
    assert_eq!(s["segments"], 1, "{line}");
    assert_eq!(s["target_tokens"], 12, "{line}");
    assert_eq!(s["target_tokens"], sr["summary_tokens"], "{line}");
    assert_eq!(s["source_tokens"], sr["input_tokens"], "{line}");
    for k in ["segments", "source_tokens", "target_tokens"] {
        assert_eq!(
            t[k].as_u64().unwrap() + s[k].as_u64().unwrap(),
            stats[k].as_u64().unwrap(),
            "{k}: {line}"
        );
    }
    assert_eq!(
        t["seconds"].as_f64().unwrap(),
        tr["seconds"]["translate"].as_f64().unwrap(),
        "{line}"
    );
    let loads = &stats["model_load_seconds"];
    assert_eq!(
        loads["translator"].as_f64().unwrap(),
        tr["seconds"]["load"].as_f64().unwrap(),
        "{line}"
    );
    let sum = loads["translator"].as_f64().unwrap() + loads["summarizer"].as_f64().unwrap();
    assert!(
        (sum - stats["load_seconds"].as_f64().unwrap()).abs() < 1e-9,
        "{line}"
    );
    if cfg!(target_os = "linux") {
        let peak = |v: &Value| v["peak_rss_mb"].as_f64().unwrap();
        assert!(peak(t) > 0.0, "{line}");
        // VmHWM never falls: each stage's peak is at most the next one's and the command's.
        assert!(peak(t) <= peak(s) && peak(s) <= peak(&stats), "{line}");
    }
}
