//! Fixtures shaped like the real Hub repos behind the presets (`scripts/make_fixtures_real.py`):
//! the real `config.json` / `generation_config.json` / tokenizer files with tiny dimensions, the
//! weights in the format each repo ships. Token-exact parity with transformers' `generate()`
//! (greedy and beam 4, one by one and in batches of 8), and for the summarizers with
//! `pipeline("summarization")` itself (its `summary_text` and ids), through the library and the
//! CLI.
//!
//! | fixture | real repo | weights |
//! |---|---|---|
//! | `tc-big-tiny` | Helsinki-NLP/opus-mt-tc-big-ar-en | float16, zip `pytorch_model.bin` |
//! | `opus-mt-ar-en-tiny` | Helsinki-NLP/opus-mt-ar-en | legacy (non-zip) `pytorch_model.bin` |
//! | `nllb-real-tiny` | facebook/nllb-200-distilled-600M | zip `.bin`, the tied aliases stored |
//! | `distilbart-tiny` | sshleifer/distilbart-cnn-12-6 | legacy `.bin`, no generation_config.json |
//! | `t5-small-tiny` | google-t5/t5-small | `model.safetensors`, the 2020 config |
//! | `mt5-xlsum-tiny` | csebuetnlp/mT5_multilingual_XLSum | zip `.bin`, untied head, spiece only |

mod common;

use common::{ids, load_dir, read_json, run_tarjama};
use serde_json::Value;
use tarjama::decoding::EarlyStopping;
use tarjama::pipeline::summarize::{summarize, SummarizeSettings};
use tarjama::pipeline::Seq2SeqPipeline;

/// The fixture `name` loaded from its committed directory, weights as the real repo holds them.
fn load(name: &str) -> Seq2SeqPipeline {
    load_dir(&common::fixture(name))
}

fn golden(name: &str) -> Value {
    common::golden(name)
}

fn pipeline_golden(name: &str) -> Value {
    read_json(&common::fixture(name).join("pipeline_golden.json"))
}

fn vocab(name: &str) -> Value {
    read_json(&common::fixture(name).join("vocab.json"))
}

/// `setting` of the fixture's golden.json, every case, `batch_size` inputs at a time.
fn parity(name: &str, setting: &str, batch_size: usize) {
    let pipe = load(name);
    let g = golden(name);
    let n = g["cases"].as_array().unwrap().len();
    common::check_with(&pipe, &g, name, setting, batch_size, n);
}

/// The golden cases whose text is stored (the summarizers' team-written paragraphs) encode to
/// their golden ids.
fn stored_texts_encode(pipe: &Seq2SeqPipeline, g: &Value) {
    for c in g["cases"].as_array().unwrap() {
        let text = c["text"].as_str().expect("text stored");
        assert_eq!(common::sha(text), c["sha256"].as_str().unwrap());
        assert_eq!(
            pipe.tokenizer.encode(text).unwrap(),
            ids(&c["input_ids"]),
            "{text:?}"
        );
    }
}

/// The translation goldens' inputs (seed article sentences and Tatoeba lines of `../shared`)
/// encode to their golden ids; skipped when `../shared` is absent.
fn shared_texts_encode(pipe: &Seq2SeqPipeline, g: &Value) {
    let (Some(article), Some(tatoeba)) = (
        common::shared("seed/article.ar.txt"),
        common::shared("tatoeba-ara-eng/sample500.ar"),
    ) else {
        return;
    };
    let splitter = regex_free_sentences(&article);
    let tat: Vec<&str> = tatoeba.lines().map(str::trim).collect();
    let mut checked = 0;
    for c in g["cases"].as_array().unwrap() {
        let i = c["index"].as_u64().unwrap() as usize;
        let text = match c["set"].as_str().unwrap() {
            "seed" => splitter[i].as_str(),
            _ => tat[i],
        };
        assert_eq!(common::sha(text), c["sha256"].as_str().unwrap());
        assert_eq!(
            pipe.tokenizer.encode(text).unwrap(),
            ids(&c["input_ids"]),
            "{text:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 48);
}

/// The seed article split as make_fixtures.py does: each non-empty stripped line, split after
/// `.` `!` `?` `؟` `…` followed by whitespace.
fn regex_free_sentences(article: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in article.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let chars: Vec<char> = line.chars().collect();
        let mut cur = String::new();
        let mut i = 0;
        while i < chars.len() {
            cur.push(chars[i]);
            if ".!?؟…".contains(chars[i]) && chars.get(i + 1).is_some_and(|c| c.is_whitespace())
            {
                out.push(std::mem::take(&mut cur));
                while chars.get(i + 1).is_some_and(|c| c.is_whitespace()) {
                    i += 1;
                }
            }
            i += 1;
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// `pipeline("summarization")` parity through the library: the settings
/// [`SummarizeSettings::for_model`] derives are the pipeline's (`meta.effective`), the prompted
/// text encodes to the pipeline's ids, generation gives its `summary_token_ids`, and
/// [`summarize`] returns its `summary_text` exactly.
fn pipeline_parity(name: &str) {
    let pipe = load(name);
    let g = pipeline_golden(name);
    let settings = SummarizeSettings::for_model(&pipe).unwrap();
    let eff = &g["meta"]["effective"];
    let gen = &settings.generation;
    assert_eq!(gen.num_beams as u64, eff["num_beams"].as_u64().unwrap());
    assert_eq!(
        gen.max_new_tokens.map(|x| x as u64),
        eff["max_new_tokens"].as_u64()
    );
    if gen.max_new_tokens.is_none() {
        assert_eq!(
            gen.effective_max_length() as u64,
            eff["max_length"].as_u64().unwrap()
        );
    }
    assert_eq!(gen.min_length as u64, eff["min_length"].as_u64().unwrap());
    assert_eq!(
        gen.length_penalty,
        eff["length_penalty"].as_f64().unwrap() as f32
    );
    assert_eq!(
        gen.no_repeat_ngram_size as u64,
        eff["no_repeat_ngram_size"].as_u64().unwrap()
    );
    let es = match &eff["early_stopping"] {
        Value::Bool(true) => EarlyStopping::True,
        Value::Bool(false) => EarlyStopping::False,
        _ => EarlyStopping::Never,
    };
    assert_eq!(gen.early_stopping, es);
    assert_eq!(
        gen.forced_bos_token_id.map(u64::from),
        eff["forced_bos_token_id"].as_u64()
    );
    assert_eq!(
        gen.forced_eos_token_id.map(u64::from),
        eff["forced_eos_token_id"].as_u64()
    );
    let prefix = g["meta"]["prefix"].as_str().unwrap_or("");
    let cases = g["cases"].as_array().unwrap();
    let mut compared = 0;
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let prompted = match &settings.prompt {
            Some(p) => p.apply(text),
            None => text.to_string(),
        };
        assert_eq!(prompted, format!("{prefix}{text}"));
        let input = pipe.tokenizer.encode(&prompted).unwrap();
        assert_eq!(input, ids(&c["input_ids"]), "{name} case {}", c["index"]);
        if c["f64_agrees"] != Value::Bool(true) {
            continue;
        }
        let hyps = pipe.generate(&[input], gen, 1).unwrap().remove(0).0;
        let expected = ids(&c["summary_token_ids"]);
        assert_eq!(hyps[0].tokens, expected, "{name} case {} ids", c["index"]);
        let s = summarize(&pipe, text, &settings).unwrap();
        assert_eq!(
            s.text,
            c["summary_text"].as_str().unwrap(),
            "{name} case {} text",
            c["index"]
        );
        assert_eq!(s.summary_tokens, expected.len() - 1);
        assert_eq!(s.chunks, 0);
        compared += 1;
    }
    assert!(
        compared >= cases.len() - 1,
        "{name}: {compared} cases compared"
    );
}

/// `tarjama summarize FILE --model DIR --format json` prints the pipeline's `summary_text` for
/// the first `n` cases.
fn pipeline_cli(name: &str, n: usize) {
    let dir = common::fixture(name);
    let g = pipeline_golden(name);
    let tmp = tempfile::tempdir().unwrap();
    for c in g["cases"].as_array().unwrap().iter().take(n) {
        let input = tmp.path().join("in.txt");
        std::fs::write(&input, c["text"].as_str().unwrap()).unwrap();
        let out = run_tarjama(
            &[
                "summarize",
                input.to_str().unwrap(),
                "--model",
                dir.to_str().unwrap(),
                "--format",
                "json",
            ],
            None,
            &[],
        );
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["summary"]["text"], c["summary_text"],
            "{name} case {}",
            c["index"]
        );
        let text = run_tarjama(
            &[
                "summarize",
                input.to_str().unwrap(),
                "--model",
                dir.to_str().unwrap(),
            ],
            None,
            &[],
        );
        assert!(text.status.success());
        assert_eq!(
            String::from_utf8(text.stdout).unwrap(),
            format!("{}\n", c["summary_text"].as_str().unwrap())
        );
    }
}

// ------------------------------------------------------------------------------------------
// tc-big-tiny: ReLU, alphabetical vocabulary, bos 0, float16 zip .bin

const TC_BIG: &str = "tc-big-tiny";

#[test]
fn tc_big_settings_and_ids_come_from_the_real_files() {
    let pipe = load(TC_BIG);
    let v = vocab(TC_BIG);
    let id = |t: &str| v[t].as_u64().unwrap() as u32;
    let n = v.as_object().unwrap().len() as u32;
    assert_eq!(id(">"), 0);
    let (eos, unk, pad) = (id("</s>"), id("<unk>"), id("<pad>"));
    assert!(eos > 500 && unk > 600 && pad == n - 1, "{eos} {unk} {pad}");
    let gen = &pipe.generation;
    assert_eq!(gen.eos_token_ids, vec![eos]);
    assert_eq!(gen.forced_eos_token_id, Some(eos));
    assert_eq!(gen.decoder_start_token_id, pad);
    assert_eq!(gen.pad_token_id, pad);
    assert_eq!(gen.bad_words_ids, vec![vec![pad]]);
    assert!(!gen.renormalize_logits);
    assert_eq!(gen.num_beams, 4);
    assert_eq!(gen.effective_max_length(), 512);
    let sp = pipe.model.special_tokens();
    assert_eq!((sp.pad, sp.eos, sp.decoder_start), (pad, eos, pad));
    assert_eq!(pipe.tokenizer.eos_id(), eos);
    assert_eq!(pipe.tokenizer.pad_id(), pad);
    assert_eq!(pipe.tokenizer.unk_id(), Some(unk));
    assert_eq!(pipe.model.vocab_size(), n as usize);
    assert_eq!(pipe.model.max_input_tokens(), 1024);
    // Inputs end with </s> at its alphabetical id.
    let enc = pipe.tokenizer.encode("قال الوزير").unwrap();
    assert_eq!(*enc.last().unwrap(), eos);
    shared_texts_encode(&pipe, &golden(TC_BIG));
}

#[test]
fn tc_big_greedy_one_by_one() {
    parity(TC_BIG, "greedy", 1);
}

#[test]
fn tc_big_greedy_batched() {
    parity(TC_BIG, "greedy", 8);
}

#[test]
fn tc_big_beam4_one_by_one() {
    parity(TC_BIG, "beam4", 1);
}

#[test]
fn tc_big_beam4_batched() {
    parity(TC_BIG, "beam4", 8);
}

/// The seed article through the whole text path (segmentation, tokenization with the
/// alphabetical ids, search, detokenization) gives the golden translations; skipped without
/// `../shared`.
#[test]
fn tc_big_seed_article_end_to_end() {
    common::seed_article_end_to_end(TC_BIG, "beam4", |pipe, g| {
        common::setting_config(pipe, &g["settings"]["beam4"])
    });
}

// ------------------------------------------------------------------------------------------
// opus-mt-ar-en-tiny: legacy .bin, the 2022 config, the old tokenizer_config.json

const OPUS: &str = "opus-mt-ar-en-tiny";

#[test]
fn opus_mt_settings_come_from_the_real_files() {
    let pipe = load(OPUS);
    let gen = &pipe.generation;
    assert_eq!(gen.eos_token_ids, vec![0]);
    assert_eq!(gen.forced_eos_token_id, Some(0));
    assert_eq!(gen.decoder_start_token_id, 649);
    assert_eq!(gen.bad_words_ids, vec![vec![649]]);
    assert!(gen.renormalize_logits);
    assert_eq!(gen.effective_max_length(), 512);
    assert_eq!(pipe.model.max_input_tokens(), 512);
    shared_texts_encode(&pipe, &golden(OPUS));
}

#[test]
fn opus_mt_greedy_one_by_one() {
    parity(OPUS, "greedy", 1);
}

#[test]
fn opus_mt_greedy_batched() {
    parity(OPUS, "greedy", 8);
}

#[test]
fn opus_mt_beam4_one_by_one() {
    parity(OPUS, "beam4", 1);
}

#[test]
fn opus_mt_beam4_batched() {
    parity(OPUS, "beam4", 8);
}

/// The legacy `.bin` holds marian-tiny's tensors (and the sinusoidal tables a 2020 conversion
/// stored): both give the same ids and beam scores, bit for bit.
#[test]
fn opus_mt_legacy_bin_equals_marian_tiny_safetensors() {
    let bin = load(OPUS);
    let st = common::pipeline("marian-tiny");
    same_outputs(&bin, &st, &golden(OPUS));
}

/// `a` and `b` (the same tensors in two files) give identical hypotheses and scores on the
/// golden inputs of `g`, greedy and beam 4.
fn same_outputs(a: &Seq2SeqPipeline, b: &Seq2SeqPipeline, g: &Value) {
    let inputs: Vec<Vec<u32>> = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| ids(&c["input_ids"]))
        .collect();
    for beams in [1, 4] {
        let mut cfg = a.generation.clone();
        cfg.num_beams = beams;
        let x = a.generate(&inputs, &cfg, 8).unwrap();
        let y = b.generate(&inputs, &cfg, 8).unwrap();
        for ((hx, _), (hy, _)) in x.iter().zip(&y) {
            assert_eq!(hx.len(), hy.len());
            for (p, q) in hx.iter().zip(hy) {
                assert_eq!(p.tokens, q.tokens);
                assert_eq!(p.score.map(f32::to_bits), q.score.map(f32::to_bits));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// nllb-real-tiny: the aliases of the tied embedding stored in a zip .bin

const NLLB: &str = "nllb-real-tiny";

#[test]
fn nllb_settings_come_from_the_real_files() {
    let pipe = load(NLLB);
    let gen = &pipe.generation;
    assert_eq!(gen.eos_token_ids, vec![2]);
    assert_eq!(gen.decoder_start_token_id, 2);
    assert_eq!(gen.num_beams, 1);
    assert_eq!(gen.effective_max_length(), 200);
    let eng = pipe.tokenizer.token_to_id("eng_Latn").unwrap();
    assert_eq!(gen.forced_bos_token_id, Some(eng));
    assert_eq!(pipe.languages().unwrap().0, "arb_Arab");
    shared_texts_encode(&pipe, &golden(NLLB));
}

#[test]
fn nllb_greedy_one_by_one() {
    parity(NLLB, "greedy", 1);
}

#[test]
fn nllb_greedy_batched() {
    parity(NLLB, "greedy", 8);
}

#[test]
fn nllb_beam4_one_by_one() {
    parity(NLLB, "beam4", 1);
}

#[test]
fn nllb_beam4_batched() {
    parity(NLLB, "beam4", 8);
}

#[test]
fn nllb_seed_article_end_to_end() {
    common::seed_article_end_to_end(NLLB, "greedy", |pipe, g| {
        common::setting_config(pipe, &g["settings"]["greedy"])
    });
}

/// The `.bin` with the four aliases holds nllb-tiny's tensors: identical outputs.
#[test]
fn nllb_bin_with_aliases_equals_nllb_tiny_safetensors() {
    let bin = load(NLLB);
    let st = common::pipeline("nllb-tiny");
    same_outputs(&bin, &st, &golden(NLLB));
}

// ------------------------------------------------------------------------------------------
// distilbart-tiny: legacy .bin, old config keys, no generation_config.json, no tokenizer.json

const DISTILBART: &str = "distilbart-tiny";

#[test]
fn distilbart_settings_come_from_the_old_config_keys() {
    let pipe = load(DISTILBART);
    // GenerationConfig.from_model_config of the old BartConfig: the top-level generation keys,
    // forced BOS from force_bos_token_to_be_generated, forced EOS from BartConfig's default.
    let gen = &pipe.generation;
    assert_eq!(gen.num_beams, 4);
    assert_eq!(gen.length_penalty, 2.0);
    assert_eq!(gen.min_length, 56);
    assert_eq!(gen.effective_max_length(), 142);
    assert_eq!(gen.no_repeat_ngram_size, 3);
    assert_eq!(gen.early_stopping, EarlyStopping::True);
    assert_eq!(gen.forced_bos_token_id, Some(0));
    assert_eq!(gen.forced_eos_token_id, Some(2));
    assert_eq!(gen.decoder_start_token_id, 2);
    // vocab_size 499: the tokenizer's <mask> (499) has no embedding row, as in bart-large-cnn.
    assert_eq!(pipe.model.vocab_size(), 499);
    assert_eq!(pipe.tokenizer.vocab_size(), 500);
    assert_eq!(pipe.model.max_input_tokens(), 1024);
    let settings = SummarizeSettings::for_model(&pipe).unwrap();
    assert_eq!(settings.prompt.unwrap().apply("The text."), " The text.");
    stored_texts_encode(&pipe, &golden(DISTILBART));
}

#[test]
fn distilbart_greedy_one_by_one() {
    parity(DISTILBART, "greedy", 1);
}

#[test]
fn distilbart_greedy_batched() {
    parity(DISTILBART, "greedy", 8);
}

#[test]
fn distilbart_beam4_one_by_one() {
    parity(DISTILBART, "beam4", 1);
}

#[test]
fn distilbart_beam4_batched() {
    parity(DISTILBART, "beam4", 8);
}

#[test]
fn distilbart_summaries_equal_the_summarization_pipeline() {
    pipeline_parity(DISTILBART);
}

#[test]
fn distilbart_cli_summaries_equal_the_summarization_pipeline() {
    pipeline_cli(DISTILBART, 3);
}

// ------------------------------------------------------------------------------------------
// t5-small-tiny: the 2020 config (transformers' defaults for the missing keys)

const T5_SMALL: &str = "t5-small-tiny";

#[test]
fn t5_small_old_config_gets_transformers_defaults() {
    let pipe = load(T5_SMALL);
    // Same weights as t5-tiny, whose config spells the defaults out: the same model.
    let spelled = common::pipeline("t5-tiny");
    same_outputs(&pipe, &spelled, &golden(T5_SMALL));
    let gen = &pipe.generation;
    assert_eq!(gen.num_beams, 1);
    assert_eq!(gen.effective_max_length(), 21);
    stored_texts_encode(&pipe, &golden(T5_SMALL));
}

#[test]
fn t5_small_greedy_one_by_one() {
    parity(T5_SMALL, "greedy", 1);
}

#[test]
fn t5_small_greedy_batched() {
    parity(T5_SMALL, "greedy", 8);
}

#[test]
fn t5_small_beam4_one_by_one() {
    parity(T5_SMALL, "beam4", 1);
}

#[test]
fn t5_small_beam4_batched() {
    parity(T5_SMALL, "beam4", 8);
}

#[test]
fn t5_small_summaries_equal_the_summarization_pipeline() {
    pipeline_parity(T5_SMALL);
}

#[test]
fn t5_small_cli_summaries_equal_the_summarization_pipeline() {
    pipeline_cli(T5_SMALL, 2);
}

// ------------------------------------------------------------------------------------------
// mt5-xlsum-tiny: untied head, spiece.model only, generation keys in config.json

const MT5: &str = "mt5-xlsum-tiny";

#[test]
fn mt5_xlsum_settings_come_from_config_json() {
    let pipe = load(MT5);
    let gen = &pipe.generation;
    assert_eq!(gen.num_beams, 4);
    assert_eq!(gen.effective_max_length(), 84);
    assert_eq!(gen.no_repeat_ngram_size, 2);
    assert!((gen.length_penalty - 0.6).abs() < 1e-6);
    stored_texts_encode(&pipe, &golden(MT5));
    let st = common::pipeline("mt5-tiny");
    same_outputs(&pipe, &st, &golden(MT5));
}

#[test]
fn mt5_xlsum_greedy_one_by_one() {
    parity(MT5, "greedy", 1);
}

#[test]
fn mt5_xlsum_greedy_batched() {
    parity(MT5, "greedy", 8);
}

#[test]
fn mt5_xlsum_beam4_one_by_one() {
    parity(MT5, "beam4", 1);
}

#[test]
fn mt5_xlsum_beam4_batched() {
    parity(MT5, "beam4", 8);
}

#[test]
fn mt5_xlsum_summaries_equal_the_summarization_pipeline() {
    pipeline_parity(MT5);
}

#[test]
fn mt5_xlsum_cli_summaries_equal_the_summarization_pipeline() {
    pipeline_cli(MT5, 2);
}
