//! Token-exact parity with transformers' `generate()` and `BartTokenizerFast` on the tiny random
//! BART fixture (`tests/fixtures/bart-tiny`, written by `scripts/make_fixtures_bart.py`).
//!
//! `golden.json` holds, for 24 English paragraphs made of consecutive Tatoeba lines, the input
//! ids and transformers 4.57's float64 output sequences under bart-large-cnn-style settings
//! (4 beams, length penalty 2.0, no-repeat 3, `min_length`, `early_stopping`, forced BOS/EOS)
//! and greedy variants. The inputs are stored as ids, so the parity runs without `../shared`;
//! the text-to-ids path is checked too when `../shared` is present. `tokenizer_golden.json` holds
//! encode and decode results, including byte sequences that are not valid UTF-8.

mod common;

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use common::{golden, ids, load_dir, pipeline, read_json, sha, tokenizer_golden};
use serde_json::Value;
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::tokenize::{self, load_byte_level_bpe, Tokenizer, TokenizerFiles};

const BART: &str = "bart-tiny";

fn fixture() -> PathBuf {
    common::fixture(BART)
}

/// Runs `setting` over the golden cases through `pipe` (`limit` cases at most) and checks ids
/// and beam scores.
fn check_with(pipe: &Seq2SeqPipeline, setting: &str, batch_size: usize, limit: usize) {
    common::check_with(pipe, &golden(BART), BART, setting, batch_size, limit);
}

fn check_setting(setting: &str, batch_size: usize) {
    common::check_setting(BART, setting, batch_size);
}

#[test]
fn greedy_one_by_one() {
    check_setting("greedy", 1);
}

#[test]
fn greedy_batched() {
    check_setting("greedy", 8);
}

#[test]
fn beam4_defaults_one_by_one() {
    check_setting("beam4", 1);
}

#[test]
fn beam4_defaults_batched() {
    check_setting("beam4", 8);
}

#[test]
fn beam4_early_stopping_false_one_by_one() {
    check_setting("beam4_es_false", 1);
}

#[test]
fn beam4_early_stopping_false_batched() {
    check_setting("beam4_es_false", 8);
}

#[test]
fn beam1_no_repeat_min_length_one_by_one() {
    check_setting("beam1_nr3_min", 1);
}

#[test]
fn beam1_no_repeat_min_length_batched() {
    check_setting("beam1_nr3_min", 8);
}

#[test]
fn fixture_defaults_come_from_generation_config() {
    let pipe = pipeline(BART);
    let cfg = &pipe.generation;
    assert_eq!(cfg.num_beams, 4);
    assert_eq!(cfg.length_penalty, 2.0);
    assert_eq!(cfg.no_repeat_ngram_size, 3);
    assert_eq!(cfg.min_length, 18);
    assert_eq!(cfg.effective_max_length(), 48);
    assert_eq!(cfg.early_stopping, tarjama::decoding::EarlyStopping::True);
    assert_eq!(cfg.decoder_start_token_id, 2);
    assert_eq!(cfg.forced_bos_token_id, Some(0));
    assert_eq!(cfg.forced_eos_token_id, Some(2));
    assert_eq!(cfg.pad_token_id, 1);
    let sp = pipe.model.special_tokens();
    assert_eq!((sp.pad, sp.eos, sp.decoder_start), (1, 2, 2));
    assert_eq!(pipe.tokenizer.pad_id(), 1);
    assert_eq!(pipe.tokenizer.eos_id(), 2);
    assert_eq!(pipe.tokenizer.unk_id(), Some(3));
    assert_eq!(pipe.tokenizer.vocab_size(), 500);
    assert_eq!(pipe.model.vocab_size(), 500);
    assert_eq!(pipe.model.max_input_tokens(), 256);
}

// ------------------------------------------------------------------------------------------
// Weight layouts: the tied embedding stored under one name or several.

/// A copy of the fixture whose weights hold the tied embedding under `names` only (the other
/// tensors unchanged), without `tokenizer.json` when `bpe_only`.
fn fixture_copy(names: &[&str], bpe_only: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name == "model.safetensors" || (bpe_only && name == "tokenizer.json") {
            continue;
        }
        std::fs::copy(&p, dir.path().join(&name)).unwrap();
    }
    let mut tensors =
        candle_core::safetensors::load(fixture().join("model.safetensors"), &Device::Cpu).unwrap();
    let shared: Tensor = tensors
        .remove("model.shared.weight")
        .expect("the fixture stores the tied embedding as model.shared.weight");
    for n in names {
        tensors.insert(n.to_string(), shared.clone());
    }
    candle_core::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    dir
}

#[test]
fn tied_embedding_under_every_name_loads() {
    let layouts: &[&[&str]] = &[
        // older checkpoints (pytorch_model.bin converted): every alias stored
        &[
            "model.shared.weight",
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
            "lm_head.weight",
        ],
        // per-module embeddings, no shared tensor, head tied implicitly
        &[
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
        ],
        // only the encoder's alias
        &["model.encoder.embed_tokens.weight"],
        // only the output projection
        &["lm_head.weight"],
    ];
    for names in layouts {
        let dir = fixture_copy(names, false);
        let pipe = load_dir(dir.path());
        check_with(&pipe, "greedy", 4, 4);
        check_with(&pipe, "beam4", 4, 4);
    }
}

// ------------------------------------------------------------------------------------------
// Tokenizer: tokenizer.json and vocab.json + merges.txt give transformers' ids and strings.

fn check_tokenizer(tok: &dyn Tokenizer, what: &str) {
    let g = tokenizer_golden(BART);
    let enc = g["encode"].as_array().unwrap();
    assert!(enc.len() >= 20);
    for e in enc {
        let text = e["text"].as_str().unwrap();
        assert_eq!(
            tok.encode(text).unwrap(),
            ids(&e["input_ids"]),
            "{what}: encode {text:?}"
        );
        assert_eq!(
            tok.token_count(text),
            e["input_ids"].as_array().unwrap().len()
        );
        let tokens: Vec<String> = ids(&e["input_ids"])
            .iter()
            .map(|&i| tok.id_to_token(i).unwrap())
            .collect();
        let expected: Vec<&str> = e["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(tokens, expected, "{what}: tokens of {text:?}");
    }
    let dec = g["decode"].as_array().unwrap();
    let mut replacement_chars = 0;
    for d in dec {
        let label = d["label"].as_str().unwrap();
        let seq = ids(&d["ids"]);
        for (skip, key) in [
            (true, "skip_special_tokens_true"),
            (false, "skip_special_tokens_false"),
        ] {
            let expected = d[key].as_str().unwrap();
            assert_eq!(
                tok.decode(&seq, skip).unwrap(),
                expected,
                "{what}: decode {label} (skip_special_tokens={skip})"
            );
            replacement_chars += expected.matches('\u{fffd}').count();
        }
    }
    assert!(
        replacement_chars >= 10,
        "the goldens exercise partial UTF-8 sequences"
    );
    assert_eq!(tok.vocab_size(), 500, "{what}");
    assert_eq!(tok.token_to_id("<mask>"), Some(499), "{what}");
    assert_eq!(tok.token_to_id("<s>"), Some(0), "{what}");
    assert_eq!((tok.pad_id(), tok.eos_id(), tok.unk_id()), (1, 2, Some(3)));
}

#[test]
fn tokenizer_json_matches_transformers() {
    let d = fixture();
    let tok = tokenize::load(
        &TokenizerFiles::TokenizerJson(d.join("tokenizer.json")),
        Some(&d.join("tokenizer_config.json")),
    )
    .unwrap();
    check_tokenizer(tok.as_ref(), "tokenizer.json");
}

#[test]
fn vocab_and_merges_match_transformers() {
    let d = fixture();
    for config in [Some(d.join("tokenizer_config.json")), None] {
        let tok = tokenize::load(
            &TokenizerFiles::Bpe {
                vocab_json: d.join("vocab.json"),
                merges_txt: d.join("merges.txt"),
            },
            config.as_deref(),
        )
        .unwrap();
        check_tokenizer(
            tok.as_ref(),
            &format!("vocab.json + merges.txt, config {config:?}"),
        );
    }
}

/// The tokenizer built from vocab.json + merges.txt is the one transformers' converter writes
/// to tokenizer.json, field for field.
#[test]
fn vocab_and_merges_build_the_same_tokenizer_json() {
    let d = fixture();
    let built = load_byte_level_bpe(
        &d.join("vocab.json"),
        &d.join("merges.txt"),
        Some(&d.join("tokenizer_config.json")),
    )
    .unwrap();
    let ours: Value = serde_json::from_str(&built.inner().to_string(false).unwrap()).unwrap();
    let theirs = read_json(&d.join("tokenizer.json"));
    for key in [
        "added_tokens",
        "normalizer",
        "pre_tokenizer",
        "post_processor",
        "decoder",
        "model",
    ] {
        assert_eq!(ours[key], theirs[key], "tokenizer.json field {key}");
    }
}

/// A repo without tokenizer.json (vocab.json + merges.txt only) loads through the pipeline and
/// gives the golden outputs.
#[test]
fn pipeline_loads_vocab_and_merges_layout() {
    let dir = fixture_copy(&["model.shared.weight"], true);
    assert!(!dir.path().join("tokenizer.json").exists());
    let pipe = load_dir(dir.path());
    check_tokenizer(pipe.tokenizer.as_ref(), "pipeline vocab.json + merges.txt");
    check_with(&pipe, "beam4", 8, 8);
}

#[test]
fn bad_bpe_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let vocab = dir.path().join("vocab.json");
    let merges = dir.path().join("merges.txt");
    let err = load_byte_level_bpe(&vocab, &merges, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("vocab.json"), "{err}");
    std::fs::write(&vocab, "{\"a\": 0, \"b\": 1}").unwrap();
    std::fs::write(&merges, "#version: 0.2\n").unwrap();
    let err = load_byte_level_bpe(&vocab, &merges, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("<s>") || err.contains("</s>"), "{err}");
    std::fs::write(&vocab, "not json").unwrap();
    let err = load_byte_level_bpe(&vocab, &merges, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("vocab.json"), "{err}");
}

// ------------------------------------------------------------------------------------------
// The text path, where ../shared is present.

/// The golden paragraphs rebuilt from `sample500.en` (as the script's `paragraphs()` does)
/// encode to the golden input ids, and their summaries decode as transformers decodes them.
#[test]
fn paragraphs_from_text() {
    let Some(text) = common::shared("tatoeba-ara-eng/sample500.en") else {
        return;
    };
    let g = golden(BART);
    let pipe = pipeline(BART);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let sizes = [5usize, 6, 7, 8, 9, 10, 11, 12];
    let mut start = 0;
    let cases = g["cases"].as_array().unwrap();
    let mut inputs = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let n = sizes[i % sizes.len()];
        let para = lines[start..start + n].join(" ");
        start += n;
        assert_eq!(
            sha(&para),
            case["sha256"].as_str().unwrap(),
            "paragraph {i}"
        );
        let enc = pipe.tokenizer.encode(&para).unwrap();
        assert_eq!(enc, ids(&case["input_ids"]), "paragraph {i}");
        inputs.push(enc);
    }
    let got = pipe.generate(&inputs, &pipe.generation, 8).unwrap();
    for (case, (hyps, _)) in cases.iter().zip(got) {
        let o = &case["outputs"]["beam4"];
        if o["f32_agrees"] == Value::Bool(true) {
            assert_eq!(hyps[0].tokens, ids(&o["sequences"][0]));
        }
    }
}
