//! The library's translate-then-summarize ([`tarjama::pipeline::run`]) with the tiny fixtures:
//! the same texts as `tarjama run`, both orders, its statistics, and its JSON record.

mod common;

use std::path::PathBuf;

use tarjama::decoding::GenerationPatch;
use tarjama::pipeline::run::{run, RunRecord, RunSettings};
use tarjama::pipeline::stats::Stats;
use tarjama::pipeline::summarize::{summarize, Strategy};
use tarjama::pipeline::summarizer::{summarizer_lang, summarizer_settings, Lang};
use tarjama::pipeline::translate::{translate_documents, TranslateSettings};
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::text::Normalization;

fn sample() -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample.ar.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// Settings as `tarjama run` builds them without flags.
fn settings(
    translator: &Seq2SeqPipeline,
    summarizer: &Seq2SeqPipeline,
    summarize_first: bool,
) -> RunSettings {
    let (lang, note) = summarizer_lang(
        summarizer,
        Some(RunSettings::summarizer_lang(summarize_first)),
    );
    // A model directory has no preset, so no language note.
    assert_eq!(note, None);
    RunSettings {
        translate: TranslateSettings {
            normalization: Normalization::default(),
            generation: translator.generation.clone(),
            batch_size: 8,
            max_batch_tokens: None,
        },
        summarize: summarizer_settings(
            summarizer,
            lang,
            &GenerationPatch::default(),
            Strategy::MapReduce,
            None,
        )
        .unwrap(),
        summarize_first,
    }
}

#[test]
fn the_library_run_is_what_tarjama_run_prints() {
    let (path, text) = sample();
    let translator = common::pipeline("marian-tiny");
    let summarizer = common::pipeline("bart-tiny");
    let settings = settings(&translator, &summarizer, false);
    let mut stats = Stats::default();
    let out = run(&translator, &summarizer, &text, &settings, &mut stats).unwrap();

    // The parts, each made alone.
    let translation = translate_documents(
        &translator,
        std::slice::from_ref(&text),
        &settings.translate,
    )
    .unwrap()
    .remove(0);
    assert_eq!(out.translation.text, translation.text);
    let texts = |d: &tarjama::pipeline::translate::DocumentTranslation| -> Vec<String> {
        d.segments.iter().map(|s| s.translation.clone()).collect()
    };
    assert_eq!(texts(&out.translation), texts(&translation));
    let summary = summarize(&summarizer, &translation.text, &settings.summarize).unwrap();
    assert_eq!(out.summary.summary.text, summary.text);
    assert_eq!(out.summary.english, summary.text);
    assert_eq!(stats.segments, translation.segments.len() + 1);
    let source: usize = translation.segments.iter().map(|s| s.source_tokens).sum();
    assert_eq!(stats.source_tokens, source + summary.input_tokens);

    // The binary prints the same texts, and the record has the binary's keys.
    let translator_dir = common::fixture("marian-tiny");
    let summarizer_dir = common::fixture("bart-tiny");
    let cli = common::run_tarjama(
        &[
            "run",
            path.to_str().unwrap(),
            "--translator",
            translator_dir.to_str().unwrap(),
            "--summarizer",
            summarizer_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
        &[],
    );
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    let record = RunRecord::new(
        path.display().to_string(),
        &out,
        &translator.info,
        translator.load_seconds,
        &summarizer,
        &settings,
        "default".into(),
        1.0,
    );
    let record = serde_json::to_value(&record).unwrap();
    // Everything but the timings.
    for part in ["summary", "translation"] {
        for key in ["text", "settings", "model"] {
            assert_eq!(record[part][key], printed[part][key], "{part}.{key}");
        }
    }
    for key in [
        "input_tokens",
        "summary_tokens",
        "chunks",
        "rounds",
        "truncated",
        "translated_from",
        "language",
    ] {
        assert_eq!(
            record["summary"][key], printed["summary"][key],
            "summary.{key}"
        );
    }
    for key in ["segments", "source_tokens", "target_tokens"] {
        assert_eq!(
            record["translation"][key], printed["translation"][key],
            "translation.{key}"
        );
    }
    assert_eq!(record["summary"]["text"], summary.text.as_str());
    assert_eq!(record["summary"]["language"], "en");
    assert_eq!(record["summary"]["input_tokens"], summary.input_tokens);
    assert_eq!(record["translation"]["source_tokens"], source);
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&record), keys(&printed));
    for part in ["summary", "translation"] {
        assert_eq!(keys(&record[part]), keys(&printed[part]));
        assert_eq!(
            keys(&record[part]["seconds"]),
            keys(&printed[part]["seconds"])
        );
    }
}

#[test]
fn summarize_first_translates_the_arabic_summary() {
    let (_, text) = sample();
    let translator = common::pipeline("marian-tiny");
    let summarizer = common::pipeline("mt5-tiny");
    let settings = settings(&translator, &summarizer, true);
    assert_eq!(settings.summarize.normalization, Normalization::default());
    let mut stats = Stats::default();
    let out = run(&translator, &summarizer, &text, &settings, &mut stats).unwrap();
    let arabic = summarize(&summarizer, &text, &settings.summarize).unwrap();
    assert_eq!(out.summary.summary.text, arabic.text);
    let english = translate_documents(
        &translator,
        std::slice::from_ref(&arabic.text),
        &settings.translate,
    )
    .unwrap()
    .remove(0);
    assert_eq!(out.summary.english, english.text.trim());
    // --stats counts the text's segments, the summary and the summary's translation.
    let full = translate_documents(
        &translator,
        std::slice::from_ref(&text),
        &settings.translate,
    )
    .unwrap()
    .remove(0);
    let sum = |d: &tarjama::pipeline::translate::DocumentTranslation, source: bool| -> usize {
        d.segments
            .iter()
            .map(|s| {
                if source {
                    s.source_tokens
                } else {
                    s.target_tokens
                }
            })
            .sum()
    };
    assert!(!english.segments.is_empty());
    assert_eq!(
        stats.segments,
        full.segments.len() + 1 + english.segments.len()
    );
    assert_eq!(
        stats.source_tokens,
        sum(&full, true) + arabic.input_tokens + sum(&english, true)
    );
    assert_eq!(
        stats.target_tokens,
        sum(&full, false) + arabic.summary_tokens + sum(&english, false)
    );
    // Its stages: the text's translation, then the summary with its translation.
    let stage = |name: &str| &stats.stages[name];
    assert_eq!(
        stats.stages.keys().collect::<Vec<_>>(),
        ["summarize", "translate"]
    );
    assert_eq!(stage("translate").segments, full.segments.len());
    assert_eq!(stage("translate").source_tokens, sum(&full, true));
    assert_eq!(stage("translate").target_tokens, sum(&full, false));
    assert_eq!(stage("translate").seconds, out.translate_seconds);
    assert_eq!(stage("summarize").segments, 1 + english.segments.len());
    assert_eq!(
        stage("summarize").source_tokens,
        arabic.input_tokens + sum(&english, true)
    );
    assert_eq!(
        stage("summarize").target_tokens,
        arabic.summary_tokens + sum(&english, false)
    );
    assert_eq!(stage("summarize").seconds, out.summary.seconds);
    assert_eq!(
        RunSettings::default_summarizer(true),
        tarjama::hub::DEFAULT_ARABIC_SUMMARIZER
    );
    assert_eq!(RunSettings::summarizer_lang(true), Lang::Ar);
}
