//! Token ids for MT engineers: `tarjama tokenize` against transformers' tokenizers (the
//! fixtures' `tokenizer_golden.json`), `translate --format jsonl --ids` against transformers'
//! `generate()` (the fixtures' `golden.json`), and `--max-batch-tokens` leaving outputs
//! byte-identical.

mod common;

use std::process::Output;

use serde_json::Value;

use common::{cases_in_set, fixture, golden, ids, sha, shared_data, tokenizer_golden};

fn tarjama(args: &[&str], stdin: Option<&str>) -> Output {
    common::run_tarjama(args, stdin, &[])
}

/// Runs tarjama, which must exit 0; its stdout.
fn tarjama_ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = tarjama(args, stdin);
    assert!(
        out.status.success(),
        "tarjama {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn dir(name: &str) -> String {
    fixture(name).to_str().unwrap().to_string()
}

/// The golden encode cases that are one non-blank line each (the input `tokenize` reads line
/// by line), with their ids (`ids_key`).
fn one_line_cases<'a>(g: &'a Value, ids_key: &str) -> Vec<(&'a str, Vec<u32>, &'a Value)> {
    g["encode"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let text = c["text"].as_str()?;
            let one_line = !text.contains(['\n', '\r']) && !text.trim().is_empty();
            one_line.then(|| (text, ids(&c[ids_key]), c))
        })
        .collect()
}

/// `tokenize --format jsonl --normalize none` of `cases`, one per line; checks each record's
/// line number, text and ids, and returns the records.
fn tokenize_cases(model: &str, cases: &[(&str, Vec<u32>, &Value)]) -> Vec<Value> {
    let input: String = cases.iter().map(|(t, _, _)| format!("{t}\n")).collect();
    let out = tarjama_ok(
        &[
            "tokenize",
            "--model",
            model,
            "--normalize",
            "none",
            "--format",
            "jsonl",
        ],
        Some(&input),
    );
    let records = jsonl(&out);
    assert_eq!(records.len(), cases.len());
    for (i, (rec, (text, want, _))) in records.iter().zip(cases).enumerate() {
        assert_eq!(rec["line"], i, "{text:?}");
        assert_eq!(rec["text"], *text);
        assert_eq!(ids(&rec["ids"]), *want, "{text:?}");
    }
    records
}

#[test]
fn tokenize_marian_prints_transformers_ids_and_pieces() {
    let g = tokenizer_golden("marian-tiny");
    let cases = one_line_cases(&g, "input_ids");
    assert!(cases.len() >= 30, "{} one-line cases", cases.len());
    let records = tokenize_cases(&dir("marian-tiny"), &cases);
    // convert_ids_to_tokens: the SentencePiece pieces, `<unk>` (id 1) for those the vocabulary
    // lacks, then `</s>`.
    for (rec, (text, want, case)) in records.iter().zip(&cases) {
        let mut pieces: Vec<String> = case["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .zip(want)
            .map(|(p, &id)| match id {
                1 => "<unk>".to_string(),
                _ => p.as_str().unwrap().to_string(),
            })
            .collect();
        pieces.push("</s>".into());
        let got: Vec<&str> = rec["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(got, pieces, "{text:?}");
    }
}

#[test]
fn tokenize_bart_pieces_are_transformers_tokens() {
    let g = tokenizer_golden("bart-tiny");
    let cases = one_line_cases(&g, "input_ids");
    assert!(cases.len() >= 15, "{} one-line cases", cases.len());
    let records = tokenize_cases(&dir("bart-tiny"), &cases);
    for (rec, (text, _, case)) in records.iter().zip(&cases) {
        assert_eq!(rec["pieces"], case["tokens"], "{text:?}");
    }
}

#[test]
fn tokenize_nllb_includes_the_source_language_code() {
    let g = tokenizer_golden("nllb-tiny");
    let cases: Vec<_> = one_line_cases(&g, "input_ids")
        .into_iter()
        .filter(|(_, _, c)| c["src_lang"] == "arb_Arab")
        .collect();
    assert!(cases.len() >= 30, "{} one-line cases", cases.len());
    let records = tokenize_cases(&dir("nllb-tiny"), &cases);
    for rec in &records {
        // arb_Arab first (id 511), `</s>` (id 2) last.
        assert_eq!(rec["ids"][0], 511);
        assert_eq!(rec["pieces"][0], "arb_Arab");
        assert_eq!(rec["pieces"].as_array().unwrap().last().unwrap(), "</s>");
    }
}

#[test]
fn tokenize_text_format_is_line_ids_pieces_tab_separated() {
    // Line 1 is blank: no output line, but it is counted.
    let input = "أعلنت الحكومة اليوم خطة جديدة لدعم المزارعين.\n\nقال الوزير\n";
    let out = tarjama_ok(&["tokenize", "-m", &dir("marian-tiny")], Some(input));
    assert_eq!(
        out,
        "0\t110 6 49 4 7 32 15 115 82 3 230 3 57 24 33 15 18 55 58 33 22 5 0\t\
         ▁أعلن ت ▁الحكومة ▁ال ي و م ▁خ ط ة ▁جديد ة ▁ل د ع م ▁الم ز ار ع ين . </s>\n\
         2\t62 4 280 0\t▁قال ▁ال وزير </s>\n"
    );
}

#[test]
fn tokenize_src_lang_changes_the_language_code() {
    let g = tokenizer_golden("nllb-tiny");
    let eng = g["encode"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["src_lang"] == "eng_Latn" && !c["text"].as_str().unwrap().contains('\n'))
        .expect("an eng_Latn case");
    let text = eng["text"].as_str().unwrap();
    let out = tarjama_ok(
        &[
            "tokenize",
            "-m",
            &dir("nllb-tiny"),
            "--src-lang",
            "eng_Latn",
            "--normalize",
            "none",
            "--format",
            "jsonl",
        ],
        Some(&format!("{text}\n")),
    );
    assert_eq!(ids(&jsonl(&out)[0]["ids"]), ids(&eng["input_ids"]));
}

#[test]
fn tokenize_decode_matches_transformers_decode() {
    let g = tokenizer_golden("marian-tiny");
    let cases: Vec<&Value> = g["decode"].as_array().unwrap().iter().take(6).collect();
    let input: String = cases
        .iter()
        .map(|c| {
            let ids: Vec<String> = ids(&c["ids"]).iter().map(u32::to_string).collect();
            format!("{}\n", ids.join(" "))
        })
        .collect();
    let out = tarjama_ok(
        &[
            "tokenize",
            "-m",
            &dir("marian-tiny"),
            "--decode",
            "--format",
            "jsonl",
        ],
        Some(&input),
    );
    let records = jsonl(&out);
    assert_eq!(records.len(), cases.len());
    for (rec, case) in records.iter().zip(&cases) {
        assert_eq!(
            rec["text"], case["skip_special_tokens_true"],
            "{}",
            case["label"]
        );
        assert_eq!(rec["ids"], case["ids"]);
    }
}

#[test]
fn tokenize_decode_refuses_a_word_that_is_no_id() {
    for bad in ["110 x 0", "110 99999 0"] {
        let out = tarjama(
            &["tokenize", "-m", &dir("marian-tiny"), "--decode"],
            Some(&format!("0\n{bad}\n")),
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("error: <stdin>:2: "), "{err}");
        assert!(err.contains("is not a token id of this tokenizer"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn tokenize_loads_no_weights() {
    // A copy of the fixture without its weights tokenizes as the fixture does.
    let tmp = std::env::temp_dir().join(format!("tarjama-t9a-noweights-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for entry in std::fs::read_dir(fixture("marian-tiny")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
    }
    // The layout needs a weights file to exist; an empty one cannot be loaded as weights.
    std::fs::write(tmp.join("model.safetensors"), b"").unwrap();
    let input = "قال الوزير\n";
    let got = tarjama_ok(&["tokenize", "-m", tmp.to_str().unwrap()], Some(input));
    assert_eq!(got, "0\t62 4 280 0\t▁قال ▁ال وزير </s>\n");
    // translate does load them, and says the file is bad.
    let out = tarjama(&["translate", "-m", tmp.to_str().unwrap()], Some(input));
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn ids_needs_format_jsonl() {
    let out = tarjama(
        &["translate", "-m", &dir("marian-tiny"), "--ids"],
        Some("قال الوزير\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: --ids needs --format jsonl"),
        "{err}"
    );
}

#[test]
fn max_batch_tokens_is_bounded() {
    for (value, msg) in [
        ("0", "must be at least 1"),
        ("67108865", "must be at most 67108864"),
        ("x", "invalid digit"),
    ] {
        for cmd in ["translate", "run", "batch"] {
            let out = tarjama(&[cmd, "--max-batch-tokens", value, "in"], None);
            assert_eq!(out.status.code(), Some(2), "{cmd} {value}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert!(
                err.contains(&format!(
                    "invalid value '{value}' for '--max-batch-tokens <N>'"
                )) && err.contains(msg),
                "{cmd} {value}: {err}"
            );
        }
    }
}

#[test]
fn jsonl_ids_are_the_encoder_input_and_the_generated_sequence() {
    let g = tokenizer_golden("marian-tiny");
    let cases: Vec<_> = one_line_cases(&g, "input_ids")
        .into_iter()
        .filter(|(t, _, _)| !t.contains(['.', '!', '?', '؟', '…']))
        .take(8)
        .collect();
    assert_eq!(cases.len(), 8);
    let input: String = cases.iter().map(|(t, _, _)| format!("{t}\n")).collect();
    let out = tarjama_ok(
        &[
            "translate",
            "-m",
            &dir("marian-tiny"),
            "--format",
            "jsonl",
            "--ids",
            "--normalize",
            "none",
            "--beams",
            "1",
            "--min-new-tokens",
            "3",
            "--max-new-tokens",
            "4",
        ],
        Some(&input),
    );
    let records = jsonl(&out);
    assert_eq!(records.len(), cases.len());
    for (rec, (text, want, _)) in records.iter().zip(&cases) {
        assert_eq!(ids(&rec["source_ids"]), *want, "{text:?}");
        assert_eq!(rec["source_tokens"], want.len());
        let output = ids(&rec["output_ids"]);
        // The decoder start token (649) first; 4 new tokens: no EOS among the first 3, the 4th
        // forced to EOS (0) by the length limit (forced_eos_token_id).
        assert_eq!(output.len(), 5, "{text:?}");
        assert_eq!((output[0], output[4]), (649, 0));
        assert_eq!(rec["target_tokens"], 4);
    }
    // Without --ids the records have no ids.
    let plain = tarjama_ok(
        &[
            "translate",
            "-m",
            &dir("marian-tiny"),
            "--format",
            "jsonl",
            "--max-new-tokens",
            "4",
        ],
        Some(&input),
    );
    for rec in jsonl(&plain) {
        assert!(rec.get("source_ids").is_none() && rec.get("output_ids").is_none());
    }
}

#[test]
fn jsonl_ids_of_the_seed_article_equal_transformers_generate() {
    let path = shared_data().join("seed/article.ar.txt");
    let Ok(article) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} is absent", path.display());
        return;
    };
    let g = golden("marian-tiny");
    let seed = cases_in_set(&g, "seed");
    let out = tarjama_ok(
        &[
            "translate",
            "-m",
            &dir("marian-tiny"),
            "--format",
            "jsonl",
            "--ids",
            "--normalize",
            "none",
            "--beams",
            "1",
            path.to_str().unwrap(),
        ],
        None,
    );
    let records = jsonl(&out);
    assert_eq!(records.len(), 23);
    assert!(!article.is_empty());
    let mut compared = 0;
    for (rec, case) in records.iter().zip(&seed) {
        assert_eq!(sha(rec["source"].as_str().unwrap()), case["sha256"]);
        assert_eq!(ids(&rec["source_ids"]), ids(&case["input_ids"]));
        let o = &case["outputs"]["greedy"];
        if o["f32_agrees"] == Value::Bool(true) {
            assert_eq!(ids(&rec["output_ids"]), ids(&o["sequences"][0]));
            compared += 1;
        }
    }
    assert!(compared >= 20, "{compared} of 23 compared");
}

/// `translate` of `args` with and without `--max-batch-tokens N`: the text output byte for
/// byte; the jsonl records (with `--ids`) field for field but for `seconds` (a share of a batch's
/// time) and `score`, which other batch shapes change in its last float32 bits (as
/// `--batch-size` does: the sums run in another order), and so is compared to 1e-5.
fn check_max_batch_tokens_changes_nothing(args: &[&str], stdin: Option<&str>, n: &str) {
    let run = |format: &str, extra: &[&str]| {
        let mut all: Vec<&str> = vec!["translate", "--format", format];
        if format == "jsonl" {
            all.push("--ids");
        }
        all.extend_from_slice(args);
        all.extend_from_slice(extra);
        tarjama_ok(&all, stdin)
    };
    let plain = run("text", &[]);
    assert!(!plain.trim().is_empty());
    assert_eq!(run("text", &["--max-batch-tokens", n]), plain);

    let split = |s: &str| -> Vec<(Value, Option<f64>)> {
        jsonl(s)
            .into_iter()
            .map(|mut r| {
                let o = r.as_object_mut().unwrap();
                o.remove("seconds").unwrap();
                let score = o.remove("score").unwrap().as_f64();
                (r, score)
            })
            .collect()
    };
    let plain = split(&run("jsonl", &[]));
    let bounded = split(&run("jsonl", &["--max-batch-tokens", n]));
    assert_eq!(bounded.len(), plain.len());
    for ((b, bs), (p, ps)) in bounded.iter().zip(&plain) {
        assert_eq!(b, p);
        assert!(p["output_ids"].as_array().unwrap().len() >= 2);
        match (bs, ps) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-5 * y.abs(), "{x} vs {y}"),
            (x, y) => assert_eq!(x, y),
        }
    }
}

#[test]
fn max_batch_tokens_64_gives_the_default_output_on_the_seed_article() {
    let path = shared_data().join("seed/article.ar.txt");
    if !path.exists() {
        eprintln!("skipping: {} is absent", path.display());
        return;
    }
    // The seed article's segments are 26 to 78 tokens long: most batches hold one segment.
    check_max_batch_tokens_changes_nothing(
        &["-m", &dir("marian-tiny"), path.to_str().unwrap()],
        None,
        "64",
    );
}

#[test]
fn max_batch_tokens_gives_the_default_output_on_mixed_lengths() {
    let g = tokenizer_golden("nllb-tiny");
    let input: String = one_line_cases(&g, "input_ids")
        .iter()
        .map(|(t, _, _)| format!("{t}\n"))
        .take(20)
        .collect();
    check_max_batch_tokens_changes_nothing(
        &["-m", &dir("nllb-tiny"), "--max-new-tokens", "8"],
        Some(&input),
        "64",
    );
}

#[test]
fn tokenize_help_ends_with_examples() {
    let help = tarjama_ok(&["tokenize", "--help"], None);
    let (_, examples) = help.rsplit_once("\n\nExamples:\n").expect("examples");
    let lines: Vec<&str> = examples.lines().collect();
    assert_eq!(lines.len(), 3, "{examples}");
    assert!(
        lines.iter().all(|l| l.contains("tarjama tokenize")),
        "{examples}"
    );
    assert!(help.contains("[default: opus-mt-tc-big-ar-en]"), "{help}");
}
