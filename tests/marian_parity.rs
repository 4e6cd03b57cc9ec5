//! Token-exact parity with transformers' `generate()` on the tiny random Marian fixture.
//!
//! `tests/fixtures/marian-tiny/golden.json` (written by `scripts/make_fixtures.py`) holds, for
//! every sentence of the seed article and the first 100 Tatoeba lines, the input ids and the
//! output sequences of transformers 4.57 in float64 for several decoding settings. The inputs are
//! stored as ids, so the model and decoding parity runs without `../shared`; the text-to-ids path
//! is checked too when `../shared` is present.

mod common;

use common::{check_setting, golden, ids, pipeline, tatoeba_encodings};

const MARIAN: &str = "marian-tiny";

#[test]
fn greedy_one_by_one() {
    check_setting(MARIAN, "greedy", 1);
}

#[test]
fn greedy_batched() {
    check_setting(MARIAN, "greedy", 8);
}

#[test]
fn beam4_one_by_one() {
    check_setting(MARIAN, "beam4", 1);
}

#[test]
fn beam4_batched() {
    check_setting(MARIAN, "beam4", 8);
}

#[test]
fn beam4_length_penalty_and_no_repeat_ngram() {
    check_setting(MARIAN, "beam4_lp06_nr3", 8);
}

#[test]
fn greedy_repetition_penalty_and_min_new_tokens() {
    check_setting(MARIAN, "greedy_rep13_min5", 8);
}

#[test]
fn beam4_early_stopping_true() {
    check_setting(MARIAN, "beam4_es_true", 8);
}

#[test]
fn beam4_early_stopping_never() {
    check_setting(MARIAN, "beam4_es_never", 8);
}

#[test]
fn beam3_min_length_max_new_tokens() {
    check_setting(MARIAN, "beam3_minlen8_maxnew20", 8);
}

#[test]
fn beam4_two_return_sequences() {
    check_setting(MARIAN, "beam4_ret2", 4);
}

#[test]
fn fixture_defaults_come_from_generation_config() {
    let pipe = pipeline(MARIAN);
    let cfg = &pipe.generation;
    assert_eq!(cfg.num_beams, 4);
    assert_eq!(cfg.bad_words_ids, vec![vec![pipe.tokenizer.pad_id()]]);
    assert_eq!(cfg.decoder_start_token_id, pipe.tokenizer.pad_id());
    assert!(cfg.renormalize_logits);
    assert_eq!(cfg.forced_eos_token_id, Some(0));
    assert_eq!(cfg.effective_max_length(), 64);
}

/// The seed article through the whole text path (segmentation, tokenization, beam search,
/// detokenization) gives transformers' outputs for each of its 23 sentences.
#[test]
fn seed_article_end_to_end() {
    common::seed_article_end_to_end(MARIAN, "beam4", |pipe, _| pipe.generation.clone());
}

/// The first 100 Tatoeba lines: our tokenizer gives the golden ids and greedy search the
/// golden outputs.
#[test]
fn tatoeba_lines_from_text() {
    let g = golden(MARIAN);
    let pipe = pipeline(MARIAN);
    let Some(inputs) = tatoeba_encodings(&pipe, &g) else {
        return;
    };
    let mut cfg = pipe.generation.clone();
    cfg.num_beams = 1;
    let got = pipe.generate(&inputs, &cfg, 16).unwrap();
    for (case, (hyps, _)) in common::cases_in_set(&g, "tatoeba").iter().zip(got) {
        let o = &case["outputs"]["greedy"];
        if o["f32_agrees"] == serde_json::Value::Bool(true) {
            assert_eq!(hyps[0].tokens, ids(&o["sequences"][0]));
        }
    }
}

/// `num_return_sequences = 4` with 4 beams: every hypothesis of transformers' n-best list
/// (`tests/fixtures/marian-tiny/nbest_golden.json`, written by `scripts/make_nbest_golden.py`),
/// ids exactly and `sequences_scores` within 1e-4, best first, one by one and batched.
#[test]
fn beam4_four_return_sequences_match_transformers_nbest() {
    let pipe = pipeline(MARIAN);
    let g = common::read_json(&common::fixture(MARIAN).join("nbest_golden.json"));
    for batch in [1, 8] {
        common::check_with(&pipe, &g, MARIAN, "beam4_ret4", batch, usize::MAX);
    }
    let cfg = common::setting_config(&pipe, &g["settings"]["beam4_ret4"]);
    assert_eq!((cfg.num_beams, cfg.num_return_sequences), (4, 4));
    let (cases, fragile) = common::cases(&g, "beam4_ret4");
    assert_eq!((cases.len(), fragile), (24, 0));
    let inputs: Vec<Vec<u32>> = cases.iter().map(|c| c.input.clone()).collect();
    let got = pipe.generate(&inputs, &cfg, 8).unwrap();
    for (case, (hyps, _)) in cases.iter().zip(&got) {
        assert_eq!(hyps.len(), 4, "{}", case.name);
        let tokens: Vec<Vec<u32>> = hyps.iter().map(|h| h.tokens.clone()).collect();
        assert_eq!(tokens, case.expected, "{}", case.name);
        for (h, s) in hyps.iter().zip(case.scores.as_ref().unwrap()) {
            let ours = h.score.unwrap() as f64;
            assert!((ours - s).abs() < 1e-4, "{}: {ours} vs {s}", case.name);
        }
    }
}
