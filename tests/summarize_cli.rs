//! `tarjama summarize` and `tarjama run` with the tiny fixtures: long inputs (map-reduce and
//! truncate), prompts, task-specific defaults, and the main job's output formats.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tarjama::pipeline::prompt::Prompt;
use tarjama::pipeline::summarize::{summarize, Strategy, SummarizeSettings};
use tarjama::pipeline::Seq2SeqPipeline;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    common::fixture(name).to_str().unwrap().to_string()
}

fn tarjama(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .output()
        .expect("run tarjama")
}

/// `tarjama run ARTICLE --translator marian-tiny --summarizer SUMMARIZER EXTRA...`.
fn run(article: &Path, summarizer: &str, extra: &[&str]) -> Output {
    let translator = fixture("marian-tiny");
    let summarizer = fixture(summarizer);
    let args = [
        "run",
        article.to_str().unwrap(),
        "--translator",
        &translator,
        "--summarizer",
        &summarizer,
    ];
    tarjama(&[&args[..], extra].concat())
}

/// Over 5,000 English words in 460 team-written sentences.
fn long_english() -> String {
    let sentences = [
        "The ministry said the new budget would focus on schools and hospitals.",
        "Officials expect the talks to resume next week in the capital.",
        "Heavy rain flooded several roads in the northern districts on Monday.",
        "The central bank kept interest rates unchanged for the third month.",
        "Farmers reported a strong wheat harvest after a wet winter.",
        "The national team won the final after a tense second half.",
        "A new museum opened in the old city with thousands of artifacts.",
        "Analysts said exports rose faster than imports in the last quarter.",
    ];
    (0..460)
        .map(|i| sentences[i % sentences.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn bart() -> Seq2SeqPipeline {
    common::pipeline("bart-tiny")
}

#[test]
fn long_input_goes_through_map_reduce() {
    let pipe = bart();
    let mut settings = SummarizeSettings::for_model(&pipe).unwrap();
    settings.generation.num_beams = 1;
    let text = long_english();
    let words = text.split_whitespace().count();
    assert!(words >= 5_000, "{words} words");
    let s = summarize(&pipe, &text, &settings).unwrap();
    assert!(s.input_tokens > pipe.model.max_input_tokens());
    assert!(s.chunks > 1, "{} chunks", s.chunks);
    assert!(s.rounds >= 1);
    assert_eq!(s.truncated, None);
    assert!(!s.text.contains('\n'));
}

#[test]
fn long_input_truncates_with_a_report() {
    let pipe = bart();
    let mut settings = SummarizeSettings::for_model(&pipe).unwrap();
    settings.generation.num_beams = 1;
    settings.strategy = Strategy::Truncate;
    let s = summarize(&pipe, &long_english(), &settings).unwrap();
    let limit = pipe.model.max_input_tokens();
    assert_eq!(s.truncated, Some((s.input_tokens, limit)));
    assert_eq!(s.chunks, 0);
}

#[test]
fn truncated_input_equals_tokenizer_truncation() {
    // Truncating keeps the first limit-1 ids and the final </s>: the same ids as summarizing
    // exactly that prefix of the token sequence.
    let pipe = bart();
    let mut settings = SummarizeSettings::for_model(&pipe).unwrap();
    settings.generation.num_beams = 1;
    settings.strategy = Strategy::Truncate;
    settings.max_input_tokens = Some(40);
    let text = long_english();
    let ids = pipe.tokenizer.encode(&text).unwrap();
    let mut cut: Vec<u32> = ids[..39].to_vec();
    cut.push(*ids.last().unwrap());
    let direct = pipe.generate(&[cut], &settings.generation, 1).unwrap();
    let expected = pipe.tokenizer.decode(&direct[0].0[0].tokens, true).unwrap();
    let s = summarize(&pipe, &text, &settings).unwrap();
    assert_eq!(
        s.text,
        expected.split_whitespace().collect::<Vec<_>>().join(" ")
    );
}

#[test]
fn cli_truncate_says_so_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.en.txt");
    std::fs::write(&input, long_english()).unwrap();
    let o = tarjama(&[
        "summarize",
        input.to_str().unwrap(),
        "--model",
        &fixture("bart-tiny"),
        "--strategy",
        "truncate",
        "--beams",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("was cut to the summarizer's limit of 256"),
        "{err}"
    );
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 1, "one paragraph: {out:?}");
}

#[test]
fn cli_map_reduce_json_reports_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("long.en.txt");
    std::fs::write(&input, long_english()).unwrap();
    let o = tarjama(&[
        "summarize",
        input.to_str().unwrap(),
        "--model",
        &fixture("bart-tiny"),
        "--format",
        "json",
        "--beams",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // bart-tiny has bart-large-cnn's summarization settings (length_penalty 2.0,
    // early_stopping true), which one beam ignores: transformers' warning, nothing else.
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "warning: The following generation flags are not valid and may be ignored: \
         ['early_stopping', 'length_penalty']. `num_beams` is set to 1: they are only used in \
         beam-based generation modes.\n"
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["summary"]["chunks"].as_u64().unwrap() > 1);
    assert_eq!(v["summary"]["settings"]["strategy"], "map-reduce");
    assert_eq!(v["summary"]["settings"]["generation"]["num_beams"], 1);
    assert!(v["summary"]["truncated"].is_null());
}

#[test]
fn prompt_file_overrides_and_needs_a_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "no placeholder here").unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "The talks resumed on Monday.").unwrap();
    let o = tarjama(&[
        "summarize",
        input.to_str().unwrap(),
        "--model",
        &fixture("bart-tiny"),
        "--prompt",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bad.txt: prompt has no {text} placeholder")
    );
    assert_eq!(
        Prompt::from_file(&root().join("prompts/summarize.t5.txt"))
            .unwrap()
            .apply("x"),
        "summarize: x"
    );
}

#[test]
fn run_prints_summary_then_translation() {
    let article = root().join("examples/sample.ar.txt");
    let o = run(&article, "bart-tiny", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let (summary, translation) = out.split_once("\n\n").unwrap();
    assert!(!summary.contains('\n'));
    // The sample has two paragraphs: the translation keeps them.
    assert_eq!(translation.trim_end().split("\n\n").count(), 2);
}

#[test]
fn run_json_names_both_models() {
    let article = root().join("examples/sample.ar.txt");
    let o = run(&article, "bart-tiny", &["--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["translation"]["model"]["name"], fixture("marian-tiny"));
    assert_eq!(v["summary"]["model"]["name"], fixture("bart-tiny"));
    assert!(v["translation"]["source_tokens"].as_u64().unwrap() > 10);
    assert_eq!(v["translation"]["segments"], 5);
    assert_eq!(v["translation"]["settings"]["generation"]["num_beams"], 4);
    assert!(v["total_seconds"].as_f64().unwrap() > 0.0);
    let md = run(&article, "bart-tiny", &["--format", "markdown"]);
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("## Summary\n\n"));
    assert!(md.contains("\n\n## Translation\n\n"));
}

#[test]
fn run_on_the_seed_article() {
    let p = common::shared_data().join("seed/article.ar.txt");
    if !p.exists() {
        eprintln!("skipping: {} is absent", p.display());
        return;
    }
    let o = run(&p, "bart-tiny", &["--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["translation"]["segments"], 23);
    assert_eq!(
        v["translation"]["text"].as_str().unwrap().lines().count(),
        14
    );
}

#[test]
fn run_summarize_first_translates_an_arabic_summary() {
    let article = root().join("examples/sample.ar.txt");
    let o = run(
        &article,
        "mt5-tiny",
        &["--summarize-first", "--format", "json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["language"], "ar");
    assert_eq!(v["summary"]["model"]["name"], fixture("mt5-tiny"));
    assert!(!v["summary"]["text"].as_str().unwrap().is_empty());
    assert!(!v["summary"]["translated_from"].as_str().unwrap().is_empty());
    assert!(v["summary"]["summary_tokens"].as_u64().unwrap() > 0);
}

#[test]
fn t5_summarizer_uses_its_task_prefix() {
    let pipe = common::pipeline("t5-tiny");
    let settings = SummarizeSettings::for_model(&pipe).unwrap();
    let prompt = settings.prompt.expect("t5 has a summarization prefix");
    assert_eq!(prompt.apply("A cat."), "summarize: A cat.");
    // task_specific_params["summarization"] of the fixture: beams 4, no-repeat 3, lp 2.0.
    assert_eq!(settings.generation.num_beams, 4);
    assert_eq!(settings.generation.no_repeat_ngram_size, 3);
    assert_eq!(settings.generation.length_penalty, 2.0);
}

#[test]
fn a_final_newline_does_not_change_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let text = "The ministry said the new budget would focus on schools and hospitals. \
                Officials expect the talks to resume next week in the capital.";
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&a, text).unwrap();
    std::fs::write(&b, format!("\n{text}\n\n")).unwrap();
    let model = fixture("bart-tiny");
    let sa = tarjama(&["summarize", a.to_str().unwrap(), "--model", &model]);
    let sb = tarjama(&["summarize", b.to_str().unwrap(), "--model", &model]);
    assert!(sa.status.success() && sb.status.success());
    assert_eq!(sa.stdout, sb.stdout);
}
