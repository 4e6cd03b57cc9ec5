//! Token-exact parity with transformers on the tiny random NLLB-200 and M2M100 fixtures, and the
//! language flags and `tarjama models` commands that go with them.
//!
//! `tests/fixtures/{nllb-tiny,m2m100-tiny}/golden.json` (written by
//! `scripts/make_fixtures_m2m.py`) hold, for every sentence of the seed article and the first 100
//! Tatoeba lines, the input ids (source language code included) and transformers 4.57's float64
//! `generate()` outputs with the target language forced as the first token.
//! `tokenizer_golden.json` holds `NllbTokenizerFast` / `M2M100Tokenizer` ids and decodings.

mod common;

use std::path::Path;
use std::process::Output;

use common::{fixture, golden, ids, pipeline, read_json, setting_config};
use tarjama::pipeline::translate::{translate_document, TranslateSettings};
use tarjama::text::Normalization;
use tarjama::tokenize::{
    LanguageScheme, M2m100Tokenizer, NllbTokenizer, Tokenizer, TokenizerFiles,
};

const NLLB: &str = "nllb-tiny";
const M2M: &str = "m2m100-tiny";

/// The golden-parity check of `setting`, which must force the target language as BOS.
fn check_setting(fixture_name: &str, setting: &str, batch_size: usize) {
    let g = golden(fixture_name);
    let pipe = pipeline(fixture_name);
    let cfg = setting_config(&pipe, &g["settings"][setting]);
    assert!(
        cfg.forced_bos_token_id.is_some(),
        "{setting}: no forced BOS"
    );
    common::check_with(&pipe, &g, fixture_name, setting, batch_size, usize::MAX);
}

#[test]
fn nllb_greedy_one_by_one() {
    check_setting(NLLB, "greedy", 1);
}

#[test]
fn nllb_greedy_batched() {
    check_setting(NLLB, "greedy", 8);
}

#[test]
fn nllb_beam4_one_by_one() {
    check_setting(NLLB, "beam4", 1);
}

#[test]
fn nllb_beam4_batched() {
    check_setting(NLLB, "beam4", 8);
}

#[test]
fn nllb_other_target_language_and_more_settings() {
    check_setting(NLLB, "greedy_tgt_fr", 8);
    check_setting(NLLB, "beam4_lp06_nr3", 8);
    check_setting(NLLB, "beam4_ret2", 4);
}

#[test]
fn m2m100_greedy_one_by_one() {
    check_setting(M2M, "greedy", 1);
}

#[test]
fn m2m100_greedy_batched() {
    check_setting(M2M, "greedy", 8);
}

#[test]
fn m2m100_beam4_one_by_one() {
    check_setting(M2M, "beam4", 1);
}

#[test]
fn m2m100_beam4_batched() {
    check_setting(M2M, "beam4", 8);
}

#[test]
fn m2m100_other_target_language_and_more_settings() {
    check_setting(M2M, "greedy_tgt_fr", 8);
    check_setting(M2M, "beam4_lp06_nr3", 8);
    check_setting(M2M, "beam4_ret2", 4);
}

// ------------------------------------------------------------------------------------------
// tokenizers

fn check_tokenizer_goldens(name: &str, tok: &mut dyn Tokenizer) {
    let g = read_json(&fixture(name).join("tokenizer_golden.json"));
    let original = tok.languages().unwrap().source().to_string();
    let mut n = 0;
    for case in g["encode"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        tok.set_source_language(case["src_lang"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            tok.encode(text).unwrap(),
            ids(&case["input_ids"]),
            "{name}: encode {text:?} from {}",
            case["src_lang"]
        );
        assert_eq!(
            tok.token_count(text),
            case["input_ids"].as_array().unwrap().len()
        );
        n += 1;
    }
    assert!(n >= 50, "{name}: {n} encode cases");
    tok.set_source_language(&original).unwrap();
    for case in g["decode"].as_array().unwrap() {
        let ids = ids(&case["ids"]);
        for (skip, key) in [
            (true, "skip_special_tokens_true"),
            (false, "skip_special_tokens_false"),
        ] {
            assert_eq!(
                tok.decode(&ids, skip).unwrap(),
                case[key].as_str().unwrap(),
                "{name}: decode {} {ids:?} skip={skip}",
                case["label"]
            );
        }
    }
}

fn nllb_tokenizer() -> NllbTokenizer {
    let dir = fixture(NLLB);
    NllbTokenizer::from_files(
        &dir.join("tokenizer.json"),
        Some(&dir.join("tokenizer_config.json")),
    )
    .unwrap()
}

fn m2m_tokenizer() -> M2m100Tokenizer {
    let dir = fixture(M2M);
    M2m100Tokenizer::from_files(
        &dir.join("sentencepiece.bpe.model"),
        &dir.join("vocab.json"),
        Some(&dir.join("tokenizer_config.json")),
    )
    .unwrap()
}

#[test]
fn nllb_tokenizer_matches_nllb_tokenizer_fast() {
    let mut tok = nllb_tokenizer();
    // As transformers: without a src_lang argument the config's (here eng_Latn) applies.
    assert_eq!(tok.languages().unwrap().source(), "eng_Latn");
    assert_eq!(tok.languages().unwrap().len(), 202);
    assert_eq!(tok.languages().unwrap().scheme(), LanguageScheme::Nllb);
    check_tokenizer_goldens(NLLB, &mut tok);
}

#[test]
fn nllb_legacy_behaviour_puts_the_code_last() {
    let g = read_json(&fixture(NLLB).join("tokenizer_golden.json"));
    let mut tok = nllb_tokenizer();
    assert!(!tok.legacy_behaviour());
    tok.set_legacy_behaviour(true).unwrap();
    let cases = g["encode_legacy_behaviour"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        tok.set_source_language(case["src_lang"].as_str().unwrap())
            .unwrap();
        let expected = ids(&case["input_ids"]);
        assert_eq!(tok.encode(text).unwrap(), expected, "{text:?}");
        let lang = tok.token_to_id(case["src_lang"].as_str().unwrap()).unwrap();
        assert_eq!(expected.last(), Some(&lang));
    }
}

#[test]
fn m2m100_tokenizer_matches_m2m100_tokenizer() {
    let mut tok = m2m_tokenizer();
    let langs = tok.languages().unwrap();
    assert_eq!(langs.scheme(), LanguageScheme::M2m100);
    assert_eq!(langs.len(), 100);
    // Language tokens follow vocab.json: ids len(vocab.json) + i.
    let vocab = read_json(&fixture(M2M).join("vocab.json"));
    let n = vocab.as_object().unwrap().len() as u32;
    assert_eq!(langs.token_id("af").unwrap(), n);
    assert_eq!(
        langs.token_id("__en__").unwrap(),
        langs.token_id("en").unwrap()
    );
    assert_eq!(tok.vocab_size(), n as usize);
    // vocab.json is in frequency order: its ids are not the SentencePiece ids.
    assert_eq!(tok.token_to_id("</s>"), Some(2));
    check_tokenizer_goldens(M2M, &mut tok);
}

#[test]
fn unknown_language_codes_are_errors_that_suggest() {
    let mut tok = nllb_tokenizer();
    let err = tok.set_source_language("arb_Latn").unwrap_err().to_string();
    assert!(
        err.contains("unknown NLLB-200 language code \"arb_Latn\""),
        "{err}"
    );
    assert!(err.contains("arb_Arab"), "{err}");
    assert_eq!(tok.languages().unwrap().source(), "eng_Latn");
    let mut tok = m2m_tokenizer();
    let err = tok.set_source_language("eng_Latn").unwrap_err().to_string();
    assert!(err.contains("M2M100") && err.contains("en"), "{err}");
}

#[test]
fn tokenizer_load_picks_the_multilingual_tokenizers() {
    let dir = fixture(NLLB);
    let tok = tarjama::tokenize::load(
        &TokenizerFiles::TokenizerJson(dir.join("tokenizer.json")),
        Some(&dir.join("tokenizer_config.json")),
    )
    .unwrap();
    assert_eq!(tok.languages().unwrap().scheme(), LanguageScheme::Nllb);
    // The Marian fixture has no language codes.
    let marian = pipeline("marian-tiny");
    assert!(marian.tokenizer.languages().is_none());
}

// ------------------------------------------------------------------------------------------
// pipeline: files, default languages, switching

#[test]
fn pipelines_find_their_tokenizers_and_default_to_arabic_english() {
    let nllb = pipeline(NLLB);
    // NLLB repos ship sentencepiece.bpe.model too; tokenizer.json wins.
    assert!(matches!(
        nllb.files.tokenizer,
        TokenizerFiles::TokenizerJson(_)
    ));
    assert_eq!(
        nllb.languages(),
        Some(("arb_Arab".to_string(), "eng_Latn".to_string()))
    );
    let eng = nllb.tokenizer.token_to_id("eng_Latn").unwrap();
    assert_eq!(nllb.generation.forced_bos_token_id, Some(eng));
    assert_eq!(nllb.generation.decoder_start_token_id, 2);

    let m2m = pipeline(M2M);
    assert!(matches!(m2m.files.tokenizer, TokenizerFiles::M2m100 { .. }));
    assert_eq!(m2m.languages(), Some(("ar".to_string(), "en".to_string())));
    // generation_config.json of m2m100_418M: num_beams 5, early_stopping true.
    assert_eq!(m2m.generation.num_beams, 5);
}

#[test]
fn set_languages_switches_source_and_target() {
    let mut pipe = pipeline(NLLB);
    let ar = pipe.tokenizer.encode("مرحبا").unwrap();
    assert_eq!(ar[0], pipe.tokenizer.token_to_id("arb_Arab").unwrap());
    let now = pipe
        .set_languages(Some("eng_Latn"), Some("fra_Latn"))
        .unwrap();
    assert_eq!(now, Some(("eng_Latn".into(), "fra_Latn".into())));
    assert_eq!(
        pipe.tokenizer.encode("hello").unwrap()[0],
        pipe.tokenizer.token_to_id("eng_Latn").unwrap()
    );
    assert_eq!(
        pipe.generation.forced_bos_token_id,
        pipe.tokenizer.token_to_id("fra_Latn")
    );
    // None keeps the current choice; a bad code changes nothing.
    assert!(pipe.set_languages(None, Some("xx")).is_err());
    assert_eq!(
        pipe.set_languages(None, None).unwrap(),
        Some(("eng_Latn".into(), "fra_Latn".into()))
    );

    let mut marian = pipeline("marian-tiny");
    let before = marian.generation.clone();
    assert_eq!(marian.set_languages(Some("ar"), Some("en")).unwrap(), None);
    assert_eq!(marian.generation, before);
}

/// The seed article through the whole text path (segmentation, tokenization with the source
/// code, greedy search with the forced target code, detokenization).
fn seed_article_end_to_end(name: &str) {
    common::seed_article_end_to_end(name, "greedy", |pipe, g| {
        let generation = setting_config(pipe, &g["settings"]["greedy"]);
        // The golden setting forces exactly the pipeline's default target.
        assert_eq!(
            generation.forced_bos_token_id,
            pipe.generation.forced_bos_token_id
        );
        generation
    });
}

#[test]
fn nllb_seed_article_end_to_end() {
    seed_article_end_to_end(NLLB);
}

#[test]
fn m2m100_seed_article_end_to_end() {
    seed_article_end_to_end(M2M);
}

fn tatoeba_from_text(name: &str) {
    common::tatoeba_encodings(&pipeline(name), &golden(name));
}

#[test]
fn tatoeba_lines_tokenize_as_transformers() {
    tatoeba_from_text(NLLB);
    tatoeba_from_text(M2M);
}

// ------------------------------------------------------------------------------------------
// CLI

fn tarjama(args: &[&str], stdin: Option<&str>, hub_cache: &Path) -> Output {
    common::run_tarjama(
        args,
        stdin,
        &[
            ("HF_HUB_CACHE", hub_cache.as_os_str()),
            ("HF_HUB_OFFLINE", "1".as_ref()),
        ],
    )
}

const TEXT: &str = "أعلنت الحكومة اليوم خطة جديدة لدعم المزارعين.\nهل ستمطر غدًا؟\n";

/// What the library gives for [`TEXT`] with `tgt` as the target language and greedy search.
fn library_translation(name: &str, tgt: &str) -> String {
    let mut pipe = pipeline(name);
    pipe.set_languages(None, Some(tgt)).unwrap();
    let mut generation = pipe.generation.clone();
    generation.num_beams = 1;
    let settings = TranslateSettings {
        normalization: Normalization::none(),
        generation,
        batch_size: 8,
        max_batch_tokens: None,
    };
    translate_document(&pipe, TEXT, &settings).unwrap().text
}

#[test]
fn cli_translate_takes_language_flags() {
    let cache = tempfile::tempdir().unwrap();
    for (name, src, tgt, default_tgt) in [
        (NLLB, "arb_Arab", "fra_Latn", "eng_Latn"),
        (M2M, "ar", "fr", "en"),
    ] {
        let dir = fixture(name);
        let dir = dir.to_str().unwrap();
        let base = [
            "translate",
            "--model",
            dir,
            "--beams",
            "1",
            "--normalize",
            "none",
        ];
        let run = |extra: &[&str]| {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            let out = tarjama(&args, Some(TEXT), cache.path());
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let french = run(&["--src-lang", src, "--tgt-lang", tgt]);
        assert_eq!(french, library_translation(name, tgt), "{name}");
        let english = run(&[]);
        assert_eq!(english, library_translation(name, default_tgt), "{name}");
        assert_ne!(
            english, french,
            "{name}: the target language changes nothing"
        );

        let out = tarjama(
            &[&base[..], &["--tgt-lang", "klingon"]].concat(),
            Some(TEXT),
            cache.path(),
        );
        // A usage error naming the flag (exit 2).
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: --tgt-lang klingon: unknown"),
            "{err}"
        );
    }
    // Models without language codes ignore the flags, with a note.
    let marian = fixture("marian-tiny");
    let out = tarjama(
        &[
            "translate",
            "--model",
            marian.to_str().unwrap(),
            "--tgt-lang",
            "en",
        ],
        Some("مرحبا"),
        cache.path(),
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tgt-lang ignored"), "{err}");
}

#[test]
fn cli_models_list_and_show() {
    let cache = tempfile::tempdir().unwrap();
    // Put the M2M100 fixture in the cache as if facebook/m2m100_418M had been downloaded.
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let repo = cache.path().join("models--facebook--m2m100_418M");
    let snap = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap).unwrap();
    for e in std::fs::read_dir(fixture(M2M)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), snap.join(e.file_name())).unwrap();
    }
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();

    let out = tarjama(&["models", "list"], None, cache.path());
    assert!(out.status.success());
    let list = String::from_utf8(out.stdout).unwrap();
    let line = |name: &str| -> String {
        list.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{list}"))
            .to_string()
    };
    let nllb = line("nllb-200-distilled-600M");
    for part in [
        "nllb",
        "615M",
        "translation",
        "arb_Arab → eng_Latn",
        "cc-by-nc-4.0",
    ] {
        assert!(nllb.contains(part), "{part}: {nllb}");
    }
    assert!(nllb.trim_end().ends_with("no"), "{nllb}");
    assert!(line("nllb-200-distilled-1.3B").contains("1.4B"));
    let m2m = line("m2m100_418M");
    assert!(
        m2m.contains("ar → en (100 codes)") && m2m.contains("mit"),
        "{m2m}"
    );
    // CACHED gives the snapshot's size on disk.
    let bytes: u64 = std::fs::read_dir(&snap)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let cached = format!("yes ({})", tarjama::hub::format_size(bytes));
    assert!(m2m.trim_end().ends_with(&cached), "{m2m}");
    assert!(line("opus-mt-ar-en").contains("marian"));

    let out = tarjama(
        &["models", "show", "nllb-200-distilled-1.3B"],
        None,
        cache.path(),
    );
    assert!(out.status.success());
    let show = String::from_utf8(out.stdout).unwrap();
    for part in [
        "repo:        facebook/nllb-200-distilled-1.3B",
        "family:      nllb (model_type m2m_100)",
        "licence:     cc-by-nc-4.0 (non-commercial use only)",
        "arb_Arab → eng_Latn by default",
        "202 NLLB-200 codes",
        "zul_Latn",
        "cached:      no",
    ] {
        assert!(show.contains(part), "{part}:\n{show}");
    }
    let out = tarjama(&["models", "show", "m2m100_418M"], None, cache.path());
    let show = String::from_utf8(out.stdout).unwrap();
    assert!(
        show.contains(&format!("cached:      yes ({}", snap.display())),
        "{show}"
    );
    assert!(show.contains("licence:     mit\n"), "{show}");

    let out = tarjama(&["models", "show", "nllb"], None, cache.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no preset \"nllb\"") && err.contains("m2m100_418M"),
        "{err}"
    );
}
