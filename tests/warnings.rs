//! Warnings on stderr and in JSON outputs (issue 13 item 7): input in another script than the
//! model reads, output cut by the length limit, a model whose scores are NaN (an error), and
//! flags that have no effect.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

const ARABIC: &str = "أعلنت وزارة الزراعة يوم الاثنين عن خطة جديدة.\n";
const ENGLISH: &str = "The ministry said on Monday that exports rose.\n";

fn fixture(name: &str) -> String {
    common::fixture(name).to_str().unwrap().to_string()
}

fn tarjama(args: &[&str], stdin: Option<&str>) -> Output {
    common::run_tarjama(args, stdin, &[])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `warning:` lines of stderr.
fn warnings(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn english_input_to_translate_warns_and_arabic_does_not() {
    let m = fixture("marian-tiny");
    let o = tarjama(&["translate", "-m", &m, "--beams", "1"], Some(ENGLISH));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        warnings(&o),
        [format!(
            "warning: <stdin>: the input is not mostly Arabic (0% of its letters are Arabic \
             script); {m} translates from Arabic"
        )]
    );
    let o = tarjama(&["translate", "-m", &m, "--beams", "1"], Some(ARABIC));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(warnings(&o), Vec::<String>::new());
}

#[test]
fn a_translation_cut_by_the_length_limit_warns_and_says_so_in_jsonl() {
    let m = fixture("marian-tiny");
    let text = format!("{ARABIC}\nوصل الوفد إلى العاصمة صباح اليوم.\n");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ar.txt");
    std::fs::write(&input, &text).unwrap();
    let input = input.to_str().unwrap();
    // Greedy and beam search: Marian forces EOS at the limit, which still counts as the limit.
    for beams in ["1", "4"] {
        let o = tarjama(
            &[
                "translate",
                input,
                "-m",
                &m,
                "--beams",
                beams,
                "--max-new-tokens",
                "2",
                "--format",
                "jsonl",
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(
            warnings(&o),
            [
                format!(
                    "warning: {input}: paragraph 1 line 1: the translation stopped at the length \
                     limit (2 tokens); raise --max-new-tokens"
                ),
                format!(
                    "warning: {input}: paragraph 2 line 3: the translation stopped at the length \
                     limit (2 tokens); raise --max-new-tokens"
                ),
            ],
            "{beams} beams"
        );
        let records: Vec<Value> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 2);
        for r in &records {
            assert_eq!(r["stopped"], "length");
            assert_eq!(r["target_tokens"], 2);
        }
    }
    // A limit set by --max-length (3 tokens with the decoder start token: 2 new ones) is
    // named in the hint; --max-new-tokens wins when both are given.
    for (flags, hint) in [
        (&["--max-length", "3"][..], "--max-length"),
        (
            &["--max-length", "3", "--max-new-tokens", "2"][..],
            "--max-new-tokens",
        ),
    ] {
        let mut a = vec!["translate", input, "-m", &m, "--beams", "1"];
        a.extend_from_slice(flags);
        let o = tarjama(&a, None);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(
            warnings(&o)[0],
            format!(
                "warning: {input}: paragraph 1 line 1: the translation stopped at the length \
                 limit (2 tokens); raise {hint}"
            ),
            "{flags:?}"
        );
    }
    // Without the limit, the fixture's greedy translations end with their own EOS.
    let o = tarjama(
        &[
            "translate",
            input,
            "-m",
            &m,
            "--beams",
            "1",
            "--format",
            "jsonl",
        ],
        None,
    );
    assert_eq!(warnings(&o), Vec::<String>::new(), "{}", stderr(&o));
    for l in String::from_utf8(o.stdout).unwrap().lines() {
        let r: Value = serde_json::from_str(l).unwrap();
        assert_eq!(r["stopped"], "eos", "{l}");
    }
}

/// A copy of marian-tiny whose `final_logits_bias` is NaN: every step's logits are NaN.
fn nan_model(dir: &Path) -> String {
    let src = common::fixture("marian-tiny");
    let model = dir.join("nan-marian");
    std::fs::create_dir(&model).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, model.join(p.file_name().unwrap())).unwrap();
    }
    let weights = model.join("model.safetensors");
    let mut tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu).unwrap();
    let bias = tensors.get_mut("final_logits_bias").unwrap();
    *bias = (bias.ones_like().unwrap() * f64::NAN).unwrap();
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    model.to_str().unwrap().to_string()
}

#[test]
fn a_model_with_nan_weights_is_an_error_not_an_empty_output() {
    let dir = tempfile::tempdir().unwrap();
    let m = nan_model(dir.path());
    for beams in ["1", "4"] {
        let o = tarjama(&["translate", "-m", &m, "--beams", beams], Some(ARABIC));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "error: {m}: the model produced non-finite scores (NaN) at decoding step 1; its \
                 weights may be damaged\n"
            )
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn language_flags_on_a_model_without_language_codes_warn() {
    let m = fixture("marian-tiny");
    let o = tarjama(
        &["translate", "-m", &m, "--src-lang", "ar", "--beams", "1"],
        Some(ARABIC),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        warnings(&o),
        [format!(
            "warning: --src-lang ignored: {m} has no language codes"
        )]
    );
}

/// A multilingual translator follows `--src-lang`: Arabic text read as French warns nothing
/// (the check is skipped for a source language in another script), English read as Arabic
/// warns.
#[test]
fn the_script_check_follows_the_source_language() {
    let m = fixture("nllb-tiny");
    let o = tarjama(
        &[
            "translate",
            "-m",
            &m,
            "--src-lang",
            "fra_Latn",
            "--beams",
            "1",
        ],
        Some(ENGLISH),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(warnings(&o), Vec::<String>::new());
    let o = tarjama(&["translate", "-m", &m, "--beams", "1"], Some(ENGLISH));
    assert_eq!(warnings(&o).len(), 1, "{}", stderr(&o));
    assert!(warnings(&o)[0].contains("the input is not mostly Arabic (0% of"));
}

#[test]
fn summarize_json_carries_its_warnings_and_why_the_summary_stopped() {
    let m = fixture("bart-tiny");
    let o = tarjama(
        &[
            "summarize",
            "-m",
            &m,
            "--format",
            "json",
            "--max-new-tokens",
            "3",
        ],
        Some(ARABIC),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mostly = format!(
        "<stdin>: the input is mostly Arabic (100% of its letters are Arabic script); the \
         summarizer {m} reads English (use an Arabic summarizer such as mt5-xlsum with --lang ar)"
    );
    let cut = "<stdin>: the summary stopped at the length limit (3 tokens); raise --max-new-tokens";
    // bart-tiny's min_length (18) is above the limit: transformers' warning comes first.
    let printed = warnings(&o);
    assert_eq!(printed.len(), 3, "{}", stderr(&o));
    assert!(printed[0].starts_with(
        "warning: Unfeasible length constraints: `min_length` (18) is larger than the maximum \
         possible length (4)."
    ));
    assert_eq!(
        printed[1..],
        [format!("warning: {mostly}"), format!("warning: {cut}")]
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let unprefixed: Vec<&str> = printed.iter().map(|w| &w["warning: ".len()..]).collect();
    assert_eq!(v["warnings"], serde_json::json!(unprefixed));
    assert_eq!(v["summary"]["stopped"], "length");
    assert_eq!(v["summary"]["summary_tokens"], 3);
    // English text to the English summarizer: no warnings.
    let o = tarjama(&["summarize", "-m", &m, "--format", "json"], Some(ENGLISH));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["warnings"], serde_json::json!([]), "{}", stderr(&o));
}

#[test]
fn run_json_carries_its_warnings() {
    let o = tarjama(
        &[
            "run",
            "-",
            "--translator",
            &fixture("marian-tiny"),
            "--summarizer",
            &fixture("bart-tiny"),
            "--format",
            "json",
        ],
        Some(ENGLISH),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let printed: Vec<String> = warnings(&o)
        .into_iter()
        .map(|w| w["warning: ".len()..].to_string())
        .collect();
    assert_eq!(v["warnings"], serde_json::json!(printed));
    assert_eq!(
        printed[0],
        format!(
            "<stdin>: the input is not mostly Arabic (0% of its letters are Arabic script); {} \
             translates from Arabic",
            fixture("marian-tiny")
        )
    );
    // The fixture translator's beam search runs the English sentence to its limit of 64.
    assert_eq!(
        printed[1..],
        ["<stdin>: paragraph 1 line 1: the translation stopped at the length limit (63 tokens); \
          raise --max-new-tokens"]
    );
    assert_eq!(v["translation"]["segments_stopped_at_length"], 1);
    assert_eq!(v["summary"]["stopped"], "eos");
}

fn corpus(dir: &Path) -> String {
    let input = dir.join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("one.txt"), ENGLISH).unwrap();
    input.to_str().unwrap().to_string()
}

#[test]
fn batch_summarize_with_language_flags_warns() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(dir.path());
    let out = dir.path().join("out");
    let o = tarjama(
        &[
            "batch",
            &input,
            "-o",
            out.to_str().unwrap(),
            "--task",
            "summarize",
            "--model",
            &fixture("bart-tiny"),
            "--src-lang",
            "ar",
            "-q",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        warnings(&o),
        ["warning: --src-lang ignored: --task summarize runs no translator"]
    );
    assert!(out.join("one.summary.txt").exists() || out.join("one.txt.summary.txt").exists());
}

#[test]
fn batch_translate_with_summarizer_flags_warns() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(dir.path());
    let out = dir.path().join("out");
    let o = tarjama(
        &[
            "batch",
            &input,
            "-o",
            out.to_str().unwrap(),
            "--model",
            &fixture("marian-tiny"),
            "--max-input-tokens",
            "100",
            "-q",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        warnings(&o),
        ["warning: --max-input-tokens ignored: --task translate runs no summarizer"]
    );
}

#[test]
fn a_glob_that_matches_nothing_warns_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(dir.path());
    let out = dir.path().join("out");
    let o = tarjama(
        &[
            "batch",
            &input,
            "-o",
            out.to_str().unwrap(),
            "--model",
            &fixture("marian-tiny"),
            "--glob",
            "*.nomatch",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        warnings(&o),
        [format!(
            "warning: --glob *.nomatch matches no file in {input}; nothing to do"
        )]
    );
}

/// transformers' own warning for `min_length` above the length limit is printed.
#[test]
fn min_length_above_max_length_warns() {
    let o = tarjama(
        &[
            "translate",
            "-m",
            &fixture("marian-tiny"),
            "--beams",
            "1",
            "--min-length",
            "80",
        ],
        Some(ARABIC),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        warnings(&o).iter().any(|w| w.starts_with(
            "warning: Unfeasible length constraints: `min_length` (80) is larger than the \
             maximum possible length (64)."
        )),
        "{}",
        stderr(&o)
    );
}
