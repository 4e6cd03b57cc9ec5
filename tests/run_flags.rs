//! `tarjama run` reads standard input like the other commands, and takes decoding flags per
//! stage: the plain ones decode the translator, the `--summary-` ones the summarizer (also in
//! `batch --task run`); `summarize` refuses the `--summary-` ones.

mod common;

use std::process::Output;

use serde_json::Value;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sample.ar.txt");

fn sample() -> String {
    std::fs::read_to_string(SAMPLE).unwrap()
}

fn fixture(name: &str) -> String {
    common::fixture(name).to_str().unwrap().to_string()
}

fn ok(o: &Output) -> &Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// `tarjama run INPUT --translator marian-tiny --summarizer distilbart-tiny EXTRA...`, with
/// `stdin` as standard input.
fn run(input: Option<&str>, stdin: Option<&str>, extra: &[&str]) -> Output {
    let translator = fixture("marian-tiny");
    let summarizer = fixture("distilbart-tiny");
    let mut args = vec!["run"];
    args.extend(input);
    args.extend(["--translator", &translator, "--summarizer", &summarizer]);
    args.extend(extra);
    common::run_tarjama(&args, stdin, &[])
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&ok(o).stdout).unwrap()
}

/// `v` without its timings (`seconds` objects and `total_seconds`), to compare two runs.
fn untimed(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("seconds");
        m.remove("total_seconds");
        for (_, x) in m.iter_mut() {
            *x = untimed(x.take());
        }
    }
    v
}

#[test]
fn run_reads_standard_input_as_it_reads_a_file() {
    let path = SAMPLE;
    let text = sample();
    for format in ["text", "markdown"] {
        let from_file = run(Some(path), None, &["--format", format]);
        let want = &ok(&from_file).stdout;
        assert!(!want.is_empty());
        for input in [Some("-"), None] {
            let from_stdin = run(input, Some(&text), &["--format", format]);
            assert_eq!(&ok(&from_stdin).stdout, want, "{format} {input:?}");
            assert_eq!(from_stdin.stderr, from_file.stderr, "{format} {input:?}");
        }
    }
    // The JSON record names standard input `-`, and is otherwise the same.
    let mut from_file = untimed(json(&run(Some(path), None, &["--format", "json"])));
    let from_stdin = untimed(json(&run(None, Some(&text), &["--format", "json"])));
    assert_eq!(from_stdin["input"], "-");
    from_file["input"] = "-".into();
    assert_eq!(from_stdin, from_file);
    // Messages about standard input call it <stdin>.
    let o = run(None, Some(" \n\t\n"), &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "note: <stdin>: empty input (nothing to translate)\n"
    );
}

#[test]
fn plain_decoding_flags_reach_only_the_translator() {
    let text = sample();
    let default = json(&run(None, Some(&text), &["--format", "json"]));
    let greedy = json(&run(
        None,
        Some(&text),
        &["--format", "json", "--beams", "1"],
    ));
    // The summary is made as before (of whatever the translator gave).
    assert_eq!(
        default["translation"]["settings"]["generation"]["num_beams"],
        4
    );
    assert_eq!(
        greedy["translation"]["settings"]["generation"]["num_beams"],
        1
    );
    assert_eq!(
        greedy["summary"]["settings"],
        default["summary"]["settings"]
    );
    // The translation is translate --beams 1's, segment for segment.
    let marian = fixture("marian-tiny");
    let t = common::run_tarjama(
        &[
            "translate",
            "--model",
            &marian,
            "--beams",
            "1",
            "--format",
            "jsonl",
        ],
        Some(&text),
        &[],
    );
    let segments: Vec<Value> = String::from_utf8(ok(&t).stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(greedy["translation"]["segments"], segments.len());
    let target: u64 = segments
        .iter()
        .map(|s| s["target_tokens"].as_u64().unwrap())
        .sum();
    assert_eq!(greedy["translation"]["target_tokens"], target);
    let t = common::run_tarjama(
        &["translate", "--model", &marian, "--beams", "1"],
        Some(&text),
        &[],
    );
    let translated = String::from_utf8(ok(&t).stdout.clone()).unwrap();
    let run_text = greedy["translation"]["text"].as_str().unwrap();
    assert_eq!(translated.trim_end(), run_text.trim_end());
    // The summary is of that translation: summarize gives the same on it.
    let bart = fixture("distilbart-tiny");
    let s = common::run_tarjama(
        &["summarize", "--model", &bart, "--format", "json"],
        Some(run_text),
        &[],
    );
    let s = json(&s);
    assert_eq!(s["summary"]["text"], greedy["summary"]["text"]);
}

#[test]
fn summary_decoding_flags_reach_only_the_summarizer() {
    let text = sample();
    let default = json(&run(None, Some(&text), &["--format", "json"]));
    let flags = ["--summary-beams", "1", "--summary-max-new-tokens", "5"];
    let o = run(
        None,
        Some(&text),
        &[&["--format", "json"][..], &flags].concat(),
    );
    let short = json(&o);
    // The translation is untouched.
    assert_eq!(
        untimed(short["translation"].clone()),
        untimed(default["translation"].clone())
    );
    let generation = &short["summary"]["settings"]["generation"];
    assert_eq!(generation["num_beams"], 1);
    assert_eq!(generation["max_new_tokens"], 5);
    assert_eq!(short["summary"]["summary_tokens"], 5);
    assert_ne!(short["summary"]["text"], default["summary"]["text"]);
    // The summary is summarize --beams 1 --max-new-tokens 5's on the same translation, with
    // the same transformers warnings.
    let bart = fixture("distilbart-tiny");
    let s = common::run_tarjama(
        &[
            "summarize",
            "--model",
            &bart,
            "--format",
            "json",
            "--beams",
            "1",
            "--max-new-tokens",
            "5",
        ],
        Some(short["translation"]["text"].as_str().unwrap()),
        &[],
    );
    let summarized = json(&s);
    assert_eq!(
        untimed(summarized["summary"].clone()),
        untimed(short["summary"].clone())
    );
    assert!(!s.stderr.is_empty());
    // The same warnings; run's length-limit hint names its own flag.
    assert_eq!(
        String::from_utf8_lossy(&s.stderr)
            .replace("raise --max-new-tokens", "raise --summary-max-new-tokens"),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn usage_error(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty());
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn summary_decoding_flags_have_the_plain_flags_bounds() {
    // A file, not standard input: a refused flag ends the process before it reads any.
    let path = Some(SAMPLE);
    let err = usage_error(&run(path, None, &["--summary-beams", "65"]));
    assert!(
        err.starts_with(
            "error: invalid value '65' for '--summary-beams <BEAMS>': must be at most 64 \
             (each beam keeps its own decoder cache"
        ),
        "{err}"
    );
    let err = usage_error(&run(path, None, &["--summary-length-penalty", "nan"]));
    assert!(
        err.contains("'--summary-length-penalty <LENGTH_PENALTY>'"),
        "{err}"
    );
    // Flags that contradict each other are named with their prefix.
    let err = usage_error(&run(
        path,
        None,
        &[
            "--summary-min-new-tokens",
            "9",
            "--summary-max-new-tokens",
            "5",
        ],
    ));
    assert!(
        err.starts_with(
            "error: --summary-min-new-tokens 9 is above --summary-max-new-tokens 5: no output \
             can satisfy both"
        ),
        "{err}"
    );
    // The summarizer's positions are checked once it loads (distilbart-tiny has 1024).
    let err = usage_error(&run(path, None, &["--summary-max-new-tokens", "2000"]));
    assert_eq!(
        err,
        format!(
            "error: --summary-max-new-tokens 2000: the model {} has 1024 positions\n",
            fixture("distilbart-tiny")
        )
    );
    // The translator's with the plain flag (marian-tiny has 512).
    let err = usage_error(&run(path, None, &["--max-length", "600"]));
    assert!(
        err.starts_with(&format!(
            "error: --max-length 600: the model {} has 512 positions",
            fixture("marian-tiny")
        )),
        "{err}"
    );
}

#[test]
fn summarize_refuses_the_summary_flags_and_batch_takes_them_with_task_run() {
    let bart = fixture("distilbart-tiny");
    let o = common::run_tarjama(
        &[
            "summarize",
            SAMPLE,
            "--model",
            &bart,
            "--summary-beams",
            "2",
        ],
        None,
        &[],
    );
    let err = usage_error(&o);
    assert!(
        err.starts_with(
            "error: --summary-beams: summarize has one model, decoded by the plain flags: use \
             --beams (the --summary- flags are for run and batch --task run)\n"
        ),
        "{err}"
    );
    let help = common::run_tarjama(&["summarize", "--help"], None, &[]);
    assert!(!String::from_utf8_lossy(&ok(&help).stdout).contains("--summary-"));
    let help = common::run_tarjama(&["run", "--help"], None, &[]);
    let help = String::from_utf8_lossy(&ok(&help).stdout).to_string();
    let (translator, summarizer) = help.split_once("\nSummarizer decoding:\n").unwrap();
    let translator = translator.split_once("\nTranslator decoding:\n").unwrap().1;
    assert!(translator.contains("      --beams <BEAMS>\n"), "{help}");
    assert!(
        summarizer.contains("      --summary-beams <BEAMS>\n"),
        "{help}"
    );
    assert!(!summarizer.contains("      --beams"), "{help}");
    assert!(
        summarizer.contains("wins over --summary-max-length;"),
        "{help}"
    );
    assert!(!summarizer.contains("wins over --max-length"), "{help}");
    assert!(translator.contains("wins over --max-length;"), "{help}");

    // batch --task run: the same split as run; its summaries are run's.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.txt"), sample()).unwrap();
    let out = dir.path().join("out");
    let marian = fixture("marian-tiny");
    let flags = [
        "--beams",
        "1",
        "--summary-beams",
        "1",
        "--summary-max-new-tokens",
        "5",
    ];
    let args = [
        "batch",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--task",
        "run",
        "--translator",
        &marian,
        "--summarizer",
        &bart,
        "--quiet",
    ];
    ok(&common::run_tarjama(
        &[&args[..], &flags].concat(),
        None,
        &[],
    ));
    let r = run(
        None,
        Some(&sample()),
        &[&["--format", "json"][..], &flags].concat(),
    );
    let r = json(&r);
    let summary = std::fs::read_to_string(out.join("a.summary.en.txt")).unwrap();
    assert_eq!(
        summary,
        format!("{}\n", r["summary"]["text"].as_str().unwrap())
    );
    let translation = std::fs::read_to_string(out.join("a.en.txt")).unwrap();
    assert_eq!(
        translation.trim_end(),
        r["translation"]["text"].as_str().unwrap().trim_end()
    );
    // Other tasks refuse them (exit 1, as batch's other flags that do not fit --task).
    let o = common::run_tarjama(
        &[
            "batch",
            input.to_str().unwrap(),
            "-o",
            dir.path().join("out2").to_str().unwrap(),
            "--task",
            "summarize",
            "--summary-beams",
            "2",
        ],
        None,
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: --summary-beams applies to --task run (with --task translate or summarize the \
         plain decoding flags, --beams, ..., decode the one model)\n"
    );
}

/// `run --src-lang/--tgt-lang` set the translator's direction as `translate`'s do: the
/// translation equals `translate` with the same flags, and the forced first token is the
/// target's code.
#[test]
fn run_takes_the_translators_language_flags() {
    let nllb = fixture("nllb-tiny");
    let summarizer = fixture("distilbart-tiny");
    let langs = [
        "--src-lang",
        "arb_Arab",
        "--tgt-lang",
        "fra_Latn",
        "--beams",
        "1",
    ];
    let args = [
        &[
            "run",
            SAMPLE,
            "--translator",
            &nllb,
            "--summarizer",
            &summarizer,
        ][..],
        &langs,
        &["--format", "json"],
    ]
    .concat();
    let v = json(&common::run_tarjama(&args, None, &[]));
    let translate = [&["translate", SAMPLE, "--model", &nllb][..], &langs].concat();
    let t = common::run_tarjama(&translate, None, &[]);
    assert_eq!(
        v["translation"]["text"].as_str().unwrap(),
        String::from_utf8(ok(&t).stdout.clone()).unwrap()
    );
    let fra = v["translation"]["settings"]["generation"]["forced_bos_token_id"].clone();
    let eng = {
        let a = [
            &args[..args.len() - 6],
            &["--beams", "1", "--format", "json"],
        ]
        .concat();
        json(&common::run_tarjama(&a, None, &[]))["translation"]["settings"]["generation"]
            ["forced_bos_token_id"]
            .clone()
    };
    assert!(fra.is_u64() && eng.is_u64(), "{fra} {eng}");
    assert_ne!(fra, eng);
}
