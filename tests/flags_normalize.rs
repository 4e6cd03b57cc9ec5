//! Issue 13 items 2 and 10: every numeric flag is bounded (exit 2, naming the flag and the
//! limit; the length flags against the loaded model's positions), the settings transformers
//! warns about get its warning, and the default normalization removes bidi controls.

mod common;

use std::process::Output;

fn marian() -> String {
    common::fixture("marian-tiny").to_str().unwrap().to_string()
}

fn translate(extra: &[&str], stdin: &str) -> Output {
    let model = marian();
    let mut args = vec!["translate", "--model", &model];
    args.extend_from_slice(extra);
    common::run_tarjama(&args, Some(stdin), &[])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const LINE: &str = "مرحبا بكم في المدينة\n";

#[test]
fn numeric_flags_beyond_their_caps_are_usage_errors_before_any_work() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--beams", "1000000"],
            "error: invalid value '1000000' for '--beams <BEAMS>': must be at most 64 (each beam \
             keeps its own decoder cache: memory grows with beams × batch size)\n",
        ),
        (
            &["--threads", "5000"],
            "error: invalid value '5000' for '--threads <THREADS>': must be at most 1024\n",
        ),
        (
            &["--batch-size", "100000"],
            "error: invalid value '100000' for '--batch-size <BATCH_SIZE>': must be at most \
             1024\n",
        ),
        (
            &["--max-new-tokens", "100000"],
            "error: invalid value '100000' for '--max-new-tokens <MAX_NEW_TOKENS>': must be at \
             most 65536\n",
        ),
        (
            &["--min-length", "70000"],
            "error: invalid value '70000' for '--min-length <MIN_LENGTH>': must be at most 65536\n",
        ),
        (
            &["--no-repeat-ngram-size", "70000"],
            "error: invalid value '70000' for '--no-repeat-ngram-size <NO_REPEAT_NGRAM_SIZE>': \
             must be at most 65536\n",
        ),
    ];
    for (flags, first_line) in cases {
        // A model that does not exist: the flag is refused before anything is loaded.
        let mut args = vec!["translate", "--model", "/nonexistent/model"];
        args.extend_from_slice(flags);
        let out = common::run_tarjama(&args, None, &[]);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
        let err = stderr(&out);
        assert!(err.starts_with(first_line), "{flags:?}: {err}");
    }
    // The caps themselves are accepted (beams 64 on the model: a quick search).
    let out = translate(&["--beams", "64", "--max-new-tokens", "3"], LINE);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn length_flags_beyond_the_models_positions_are_usage_errors_after_loading() {
    let model = marian();
    let cases = [
        (
            vec!["--max-new-tokens", "600"],
            format!("error: --max-new-tokens 600: the model {model} has 512 positions\n"),
        ),
        (
            vec!["--min-new-tokens", "513"],
            format!("error: --min-new-tokens 513: the model {model} has 512 positions\n"),
        ),
        (
            vec!["--max-length", "514"],
            format!(
                "error: --max-length 514: the model {model} has 512 positions (at most 513 \
                 counting the decoder start token)\n"
            ),
        ),
    ];
    for (flags, expected) in cases {
        let out = translate(&flags, LINE);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
        assert_eq!(stderr(&out), expected);
        // summarize checks its model the same way.
        let mut args = vec!["summarize", "--model", &model];
        args.extend(flags.iter().copied());
        let out = common::run_tarjama(&args, Some(LINE), &[]);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), expected);
    }
    // Exactly the positions: accepted (the decoder is fed 512 tokens at most).
    let out = translate(
        &[
            "--beams",
            "1",
            "--max-new-tokens",
            "512",
            "--min-new-tokens",
            "511",
        ],
        LINE,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // --min-new-tokens 511 holds EOS off until the limit: the length-limit warning.
    assert_eq!(
        stderr(&out),
        "warning: <stdin>: paragraph 1 line 1: the translation stopped at the length limit (512 \
         tokens); raise --max-new-tokens\n"
    );
}

#[test]
fn settings_transformers_warns_about_get_its_warning_on_stderr() {
    // transformers 4.57.6 on this model, generate(num_beams=1, length_penalty=2.0) and
    // generate(min_length=80) (its generation_config.json has max_length 64).
    let out = translate(&["--beams", "1", "--length-penalty", "2"], LINE);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stderr(&out),
        "warning: The following generation flags are not valid and may be ignored: \
         ['length_penalty']. `num_beams` is set to 1: they are only used in beam-based \
         generation modes.\n"
    );
    let out = translate(&["--min-length", "80"], LINE);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stderr(&out),
        "warning: Unfeasible length constraints: `min_length` (80) is larger than the maximum \
         possible length (64). Generation will stop at the defined maximum length. You should \
         decrease the minimum length and/or increase the maximum length. Note that \
         `max_length` is set to 64, its default value.\nwarning: <stdin>: paragraph 1 line 1: \
         the translation stopped at the length limit (63 tokens); raise --max-new-tokens\n"
    );
    // The model's own settings with no flags: no warning.
    let out = translate(&[], LINE);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

fn jsonl(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn bidi_controls_do_not_change_tokens_or_translation_zwnj_is_kept() {
    let plain = "أعلنت الوزارة عن خطة جديدة\n";
    // RLE … PDF around the line, an RLM and an isolate inside it.
    let with_controls = "\u{202B}أعلنت الوزارة\u{200F} عن \u{2067}خطة\u{2069} جديدة\u{202C}\n";
    let a = translate(&["--format", "jsonl"], plain);
    let b = translate(&["--format", "jsonl"], with_controls);
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    let (a, b) = (jsonl(&a), jsonl(&b));
    assert_eq!(a.len(), 1);
    assert_eq!(b.len(), 1);
    for key in ["source_tokens", "target_tokens", "translation", "score"] {
        assert_eq!(a[0][key], b[0][key], "{key}");
    }
    // Unnormalized, the controls are tokens of their own (what the default now prevents).
    let raw = jsonl(&translate(
        &["--format", "jsonl", "--normalize", "none"],
        with_controls,
    ));
    assert!(
        raw[0]["source_tokens"].as_u64() > a[0]["source_tokens"].as_u64(),
        "{} vs {}",
        raw[0]["source_tokens"],
        a[0]["source_tokens"]
    );
    // ZWNJ is kept (`Normalization`'s unit tests check the text): the default gives what the
    // text unchanged gives.
    let zwnj = "می\u{200C}خواهم الوزارة\n";
    let default = translate(&["--format", "jsonl"], zwnj);
    let none = translate(&["--format", "jsonl", "--normalize", "none"], zwnj);
    let (default, none) = (jsonl(&default), jsonl(&none));
    for key in ["source_tokens", "translation"] {
        assert_eq!(default[0][key], none[0][key], "{key}");
    }
}

#[test]
fn batch_checks_the_positions_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.txt"), LINE).unwrap();
    let out_dir = dir.path().join("out");
    let model = marian();
    let out = common::run_tarjama(
        &[
            "batch",
            input.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
            "--model",
            &model,
            "--max-new-tokens",
            "600",
            "--quiet",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("error: --max-new-tokens 600: the model {model} has 512 positions\n")
    );
    assert!(!out_dir.exists(), "nothing written");
}
