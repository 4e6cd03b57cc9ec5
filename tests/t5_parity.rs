//! Token-exact parity with transformers' `generate()` on the tiny random T5 and mT5 fixtures, and
//! tokenizer parity for both tokenizer paths (`tokenizer.json`, and `spiece.model` alone).
//!
//! `tests/fixtures/{t5-tiny,mt5-tiny}/golden.json` (written by `scripts/make_fixtures_t5.py`)
//! hold summarization-style inputs (Tatoeba paragraphs with the `summarize: ` prefix; for mT5
//! also Arabic paragraphs) as ids, and transformers 4.57's float64 outputs for greedy search,
//! beam search with t5-small's summarization settings, and beam search with the defaults. The
//! model parity runs without `../shared`; the text-to-ids path is checked when it is present.

mod common;

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use common::{
    check_setting, fixture, golden, ids, load_dir, pipeline, read_json, setting_config, sha,
    tokenizer_golden,
};
use serde_json::Value;
use tarjama::model::t5::relative_position_bucket;
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::tokenize::{T5Tokenizer, Tokenizer};

macro_rules! parity_tests {
    ($model:literal, $($test:ident: $setting:literal, $batch:literal;)*) => {
        $(
            #[test]
            fn $test() {
                check_setting($model, $setting, $batch);
            }
        )*
    };
}

parity_tests! {"t5-tiny",
    t5_greedy_one_by_one: "greedy", 1;
    t5_greedy_batched: "greedy", 8;
    t5_beam4_summarize_one_by_one: "beam4_summarize", 1;
    t5_beam4_summarize_batched: "beam4_summarize", 8;
    t5_beam4_defaults_one_by_one: "beam4", 1;
    t5_beam4_defaults_batched: "beam4", 8;
}

parity_tests! {"mt5-tiny",
    mt5_greedy_one_by_one: "greedy", 1;
    mt5_greedy_batched: "greedy", 8;
    mt5_beam4_summarize_one_by_one: "beam4_summarize", 1;
    mt5_beam4_summarize_batched: "beam4_summarize", 8;
    mt5_beam4_defaults_one_by_one: "beam4", 1;
    mt5_beam4_defaults_batched: "beam4", 8;
}

/// Our relative position buckets equal transformers' `_relative_position_bucket` (computed in
/// float32 there) for relative positions -300..=300, both directions.
#[test]
fn relative_position_buckets_match_transformers() {
    let g = golden("t5-tiny");
    let table = &g["relative_buckets"];
    for (key, bidirectional) in [("bidirectional", true), ("causal", false)] {
        let expected = ids(&table[key]);
        let got: Vec<u32> = (-300i64..=300)
            .map(|r| relative_position_bucket(r, bidirectional, 32, 128))
            .collect();
        assert_eq!(got, expected, "{key}");
    }
}

/// Encoder output and the first two steps' logits equal transformers' (float64 reference),
/// so a parity break can be located before it shows in the generated ids.
#[test]
fn intermediate_tensors_match() {
    for model in ["t5-tiny", "mt5-tiny"] {
        let g = golden(model);
        let p = &g["layer_probe"];
        let pipe = pipeline(model);
        let input = ids(&p["input_ids"]);
        let n = input.len();
        let x = Tensor::from_vec(input.clone(), (1, n), &Device::Cpu).unwrap();
        let mask = Tensor::ones((1, n), DType::U8, &Device::Cpu).unwrap();
        let enc = pipe.model.encode(&x, &mask).unwrap();
        let close = |ours: &[f32], theirs: &Value, what: &str| {
            for (a, b) in ours.iter().zip(theirs.as_array().unwrap()) {
                let b = b.as_f64().unwrap();
                assert!(
                    (*a as f64 - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{model} {what}: {ours:?} vs {theirs}"
                );
            }
        };
        let hidden = enc.hidden.squeeze(0).unwrap();
        let first: Vec<f32> = hidden.get(0).unwrap().to_vec1().unwrap();
        let last: Vec<f32> = hidden.get(n - 1).unwrap().to_vec1().unwrap();
        close(&first, &p["encoder_hidden_first_row"], "encoder row 0");
        close(&last, &p["encoder_hidden_last_row"], "encoder last row");
        let sum: f32 = hidden.sum_all().unwrap().to_scalar().unwrap();
        let want = p["encoder_hidden_sum"].as_f64().unwrap();
        assert!((sum as f64 - want).abs() < 1e-3 * (1.0 + want.abs()));
        let mut dec = pipe.model.decoder(&enc, 1).unwrap();
        let dec_ids = ids(&p["decoder_input_ids"]);
        for (step, &tok) in dec_ids.iter().enumerate() {
            let logits: Vec<f32> = dec
                .step(&[tok])
                .unwrap()
                .squeeze(0)
                .unwrap()
                .to_vec1()
                .unwrap();
            close(
                &logits[..8],
                &p[format!("logits_step{step}_first8")],
                "logits",
            );
            if step == 1 {
                let argmax = logits
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap()
                    .0;
                assert_eq!(argmax as u64, p["logits_step1_argmax"].as_u64().unwrap());
            }
        }
    }
}

#[test]
fn fixture_defaults_come_from_the_model_files() {
    for model in ["t5-tiny", "mt5-tiny"] {
        let pipe = pipeline(model);
        let cfg = &pipe.generation;
        assert_eq!(cfg.decoder_start_token_id, 0);
        assert_eq!(cfg.pad_token_id, 0);
        assert_eq!(cfg.eos_token_ids, vec![1]);
        assert_eq!(cfg.num_beams, 1);
        // No max_position_embeddings in a T5 config: the default is 20 new tokens.
        assert_eq!(cfg.effective_max_length(), 21);
        let special = pipe.model.special_tokens();
        assert_eq!((special.pad, special.eos, special.decoder_start), (0, 1, 0));
        assert_eq!(pipe.model.max_input_tokens(), 512);
        assert_eq!((pipe.tokenizer.pad_id(), pipe.tokenizer.eos_id()), (0, 1));
        let config = read_json(&fixture(model).join("config.json"));
        let summ = &config["task_specific_params"]["summarization"];
        assert_eq!(summ["prefix"], "summarize: ");
        assert_eq!(summ["num_beams"], 4);
    }
}

/// The golden inputs rebuilt from `../shared` (paragraphs of consecutive Tatoeba lines, as
/// `make_fixtures_t5.py` builds them), or `None` with a message when it is absent.
fn golden_texts(model: &str) -> Option<Vec<String>> {
    let data = common::shared_data().join("tatoeba-ara-eng");
    let read = |f: &str| match std::fs::read_to_string(data.join(f)) {
        Ok(t) => Some(t.lines().map(|l| l.trim().to_string()).collect::<Vec<_>>()),
        Err(_) => {
            eprintln!("skipping: {} is absent", data.join(f).display());
            None
        }
    };
    let paragraphs = |lines: &[String], start: usize, n: usize, prefix: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut i = start;
        for k in 0..n {
            let size = 5 + (k * 3) % 8;
            out.push(format!("{prefix}{}", lines[i..i + size].join(" ")));
            i += size;
        }
        out
    };
    let mut texts = paragraphs(&read("sample500.en")?, 0, 24, "summarize: ");
    if model == "mt5-tiny" {
        texts.extend(paragraphs(&read("sample500.ar")?, 300, 8, ""));
    }
    Some(texts)
}

/// A fresh temporary directory, unique per test (`tag`) and process.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tarjama-t5-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of a fixture without `tokenizer.json`, so that the hub layout picks `spiece.model`.
fn spiece_only_copy(model: &str, tag: &str) -> PathBuf {
    let dir = temp_dir(&format!("{tag}-{model}"));
    for entry in std::fs::read_dir(fixture(model)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name != "tokenizer.json" && !name.to_string_lossy().contains("golden") {
            std::fs::copy(&path, dir.join(name)).unwrap();
        }
    }
    dir
}

fn slow_tokenizer(model: &str) -> T5Tokenizer {
    let dir = fixture(model);
    T5Tokenizer::from_files(
        &dir.join("spiece.model"),
        Some(&dir.join("tokenizer_config.json")),
    )
    .unwrap()
}

/// Both tokenizer paths give transformers' input ids for the golden inputs.
#[test]
fn golden_inputs_tokenize_on_both_paths() {
    for model in ["t5-tiny", "mt5-tiny"] {
        let Some(texts) = golden_texts(model) else {
            return;
        };
        let g = golden(model);
        let cases = g["cases"].as_array().unwrap();
        assert_eq!(texts.len(), cases.len());
        let fast = pipeline(model);
        let slow = slow_tokenizer(model);
        for (text, case) in texts.iter().zip(cases) {
            assert_eq!(sha(text), case["sha256"].as_str().unwrap());
            let want = ids(&case["input_ids"]);
            assert_eq!(fast.tokenizer.encode(text).unwrap(), want, "{model} fast");
            assert_eq!(slow.encode(text).unwrap(), want, "{model} slow");
            assert_eq!(slow.token_count(text), want.len());
        }
    }
}

/// The team-written texts: `tokenizer.json` gives the fast tokenizer's ids and decodings,
/// `spiece.model` the slow `T5Tokenizer`'s (they differ where a text ends with `</s>`: the slow
/// tokenizer does not add a second one).
#[test]
fn team_texts_match_transformers() {
    for model in ["t5-tiny", "mt5-tiny"] {
        let tg = tokenizer_golden(model);
        let fast = pipeline(model);
        let slow = slow_tokenizer(model);
        for e in tg["encode"].as_array().unwrap() {
            let text = e["text"].as_str().unwrap();
            assert_eq!(
                fast.tokenizer.encode(text).unwrap(),
                ids(&e["fast_ids"]),
                "{model} fast {text:?}"
            );
            assert_eq!(
                slow.encode(text).unwrap(),
                ids(&e["slow_ids"]),
                "{model} slow {text:?}"
            );
            let tokens: Vec<String> = e["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            assert_eq!(slow.tokenize(text), tokens, "{model} tokens {text:?}");
        }
        for d in tg["decode"].as_array().unwrap() {
            let label = d["label"].as_str().unwrap();
            let seq = ids(&d["ids"]);
            for (skip, key) in [(true, "skip_true"), (false, "skip_false")] {
                assert_eq!(
                    slow.decode(&seq, skip).unwrap(),
                    d[format!("slow_{key}")].as_str().unwrap(),
                    "{model} slow decode {label} skip={skip}"
                );
                assert_eq!(
                    fast.tokenizer.decode(&seq, skip).unwrap(),
                    d[format!("fast_{key}")].as_str().unwrap(),
                    "{model} fast decode {label} skip={skip}"
                );
            }
        }
        assert_eq!(
            slow.vocab_size(),
            tg["meta"]["slow_vocab_size"].as_u64().unwrap() as usize
        );
    }
}

/// `legacy: false` in `tokenizer_config.json` switches to the non-legacy encoding (no extra `▁`
/// after a sentinel).
#[test]
fn non_legacy_tokenizer_config() {
    for model in ["t5-tiny", "mt5-tiny"] {
        let dir = spiece_only_copy(model, "nonlegacy");
        let config_path = dir.join("tokenizer_config.json");
        let mut config = read_json(&config_path);
        config["legacy"] = Value::Bool(false);
        std::fs::write(&config_path, config.to_string()).unwrap();
        let tok = T5Tokenizer::from_files(&dir.join("spiece.model"), Some(&config_path)).unwrap();
        let tg = tokenizer_golden(model);
        for e in tg["encode"].as_array().unwrap() {
            let text = e["text"].as_str().unwrap();
            assert_eq!(
                tok.encode(text).unwrap(),
                ids(&e["slow_nonlegacy_ids"]),
                "{model} non-legacy {text:?}"
            );
        }
        for d in tg["decode"].as_array().unwrap() {
            assert_eq!(
                tok.decode(&ids(&d["ids"]), true).unwrap(),
                d["slow_nonlegacy_skip_true"].as_str().unwrap()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// `pipe` generates the golden greedy output of case `index` of the fixture `model`.
fn assert_generates_golden_greedy(pipe: &Seq2SeqPipeline, model: &str, index: usize) {
    let g = golden(model);
    let cfg = setting_config(pipe, &g["settings"]["greedy"]);
    let case = &g["cases"][index];
    let out = pipe.generate(&[ids(&case["input_ids"])], &cfg, 1).unwrap();
    assert_eq!(
        out[0].0[0].tokens,
        ids(&case["outputs"]["greedy"]["sequences"][0])
    );
}

/// A repo with `spiece.model` and no `tokenizer.json` loads through the pipeline with the slow
/// tokenizer and generates the golden outputs.
#[test]
fn spiece_only_repo_loads_and_generates() {
    for model in ["t5-tiny", "mt5-tiny"] {
        let dir = spiece_only_copy(model, "spiece-only");
        let pipe = load_dir(&dir);
        let tg = tokenizer_golden(model);
        for e in tg["encode"].as_array().unwrap() {
            let text = e["text"].as_str().unwrap();
            assert_eq!(pipe.tokenizer.encode(text).unwrap(), ids(&e["slow_ids"]));
        }
        assert_generates_golden_greedy(&pipe, model, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The same weights load when a checkpoint stores the tied embedding under every name
/// (`shared.weight`, `encoder.embed_tokens.weight`, `decoder.embed_tokens.weight`,
/// `lm_head.weight`), as older Hub checkpoints do.
#[test]
fn all_embedding_names_layout_loads() {
    let src = fixture("t5-tiny");
    let dir = temp_dir("all-names");
    for f in [
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let tensors =
        candle_core::safetensors::load(src.join("model.safetensors"), &Device::Cpu).unwrap();
    let mut tensors: std::collections::HashMap<String, Tensor> = tensors.into_iter().collect();
    let shared = tensors["shared.weight"].clone();
    for name in [
        "encoder.embed_tokens.weight",
        "decoder.embed_tokens.weight",
        "lm_head.weight",
    ] {
        tensors.insert(name.to_string(), shared.clone());
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    let pipe = load_dir(&dir);
    assert_generates_golden_greedy(&pipe, "t5-tiny", 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The half-precision paths (float32 layer norm and softmax, float16 clamping, the dtype's own
/// mask minimum) run, and their first-step logits stay as close to float32's as transformers'
/// own (max differences there: 0.022 in float16, 0.26 in bfloat16). Not token-exact:
/// transformers' own bfloat16 run already picks other tokens on this fixture's near-ties.
#[test]
fn half_precision_runs() {
    let g = golden("mt5-tiny");
    let cases = &g["cases"].as_array().unwrap()[..4];
    let inputs: Vec<Vec<u32>> = cases.iter().map(|c| ids(&c["input_ids"])).collect();
    let first_logits = |pipe: &Seq2SeqPipeline| -> Vec<f32> {
        let n = inputs[0].len();
        let x = Tensor::from_vec(inputs[0].clone(), (1, n), &Device::Cpu).unwrap();
        let mask = Tensor::ones((1, n), DType::U8, &Device::Cpu).unwrap();
        let enc = pipe.model.encode(&x, &mask).unwrap();
        let mut dec = pipe.model.decoder(&enc, 1).unwrap();
        dec.step(&[0])
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    let reference = first_logits(&pipeline("mt5-tiny"));
    for (dtype, tolerance) in [(DType::F16, 0.05), (DType::BF16, 0.5)] {
        let dir = fixture("mt5-tiny");
        let pipe = Seq2SeqPipeline::load(dir.to_str().unwrap(), None, &Device::Cpu, dtype).unwrap();
        let logits = first_logits(&pipe);
        let worst = logits
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst < tolerance, "{dtype:?}: logits differ by {worst}");
        let cfg = setting_config(&pipe, &g["settings"]["beam4_summarize"]);
        for (hyps, _) in pipe.generate(&inputs, &cfg, 4).unwrap() {
            let got = &hyps[0].tokens;
            assert!(got.len() > 10 && got[0] == 0, "{dtype:?}: {got:?}");
            assert!(hyps[0].score.unwrap().is_finite());
        }
    }
}
