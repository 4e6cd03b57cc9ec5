//! Translate-then-summarize, the main job (`tarjama run`, and `batch --task run` per input):
//! an Arabic text is translated into English and its summary is made, either of the
//! translation or (`summarize_first`) of the Arabic text, then translated. [`RunSettings`] holds
//! both models' settings and the order; [`run`] does the work; [`RunRecord`] is the record
//! `tarjama run --format json` prints.

use std::time::Instant;

use serde::Serialize;

use super::stats::Stats;
use super::summarize::{summarize, Strategy, SummarizeSettings, Summary};
use super::summarizer::Lang;
use super::translate::{
    translate_documents, translate_documents_with_stats, DocumentTranslation, TranslateSettings,
};
use super::{ModelInfo, Seq2SeqPipeline};
use crate::decoding::{FinishReason, GenerationConfig};
use crate::error::Result;
use crate::hub::{DEFAULT_ARABIC_SUMMARIZER, DEFAULT_SUMMARIZER};

/// Settings of a translate-then-summarize run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The translator's settings.
    pub translate: TranslateSettings,
    /// The summarizer's settings.
    pub summarize: SummarizeSettings,
    /// Summarize the Arabic text (with an Arabic summarizer), then translate the summary,
    /// instead of summarizing the translation.
    pub summarize_first: bool,
}

impl RunSettings {
    /// The language the summarizer is given: Arabic with `summarize_first`, else English.
    pub fn summarizer_lang(summarize_first: bool) -> Lang {
        if summarize_first {
            Lang::Ar
        } else {
            Lang::En
        }
    }

    /// The summarizer used when none is named: [`DEFAULT_ARABIC_SUMMARIZER`] with
    /// `summarize_first` (it reads Arabic), else [`DEFAULT_SUMMARIZER`].
    pub fn default_summarizer(summarize_first: bool) -> &'static str {
        if summarize_first {
            DEFAULT_ARABIC_SUMMARIZER
        } else {
            DEFAULT_SUMMARIZER
        }
    }
}

/// The summary half of a run (see [`summarize_translated`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The summary as the summarizer made it (English, or Arabic with `summarize_first`).
    pub summary: Summary,
    /// The English summary: the summary itself, or its translation (trimmed) with
    /// `summarize_first`.
    pub english: String,
    /// Wall-clock seconds of this half (summarizing, and translating the summary).
    pub seconds: f64,
}

/// What [`run`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// The full translation.
    pub translation: DocumentTranslation,
    /// The summary.
    pub summary: RunSummary,
    /// Wall-clock seconds of the translation.
    pub translate_seconds: f64,
}

/// The summary half of a run over `text` (Arabic) already translated as `translation`: the
/// summary of `translation`, or with `summarize_first` the English translation of the summary
/// of `text`. Adds the summary's time (wall clock), one segment and its token counts to
/// `stats`.
///
/// Errors: a tokenizer or model error of either model.
pub fn summarize_translated(
    translator: &Seq2SeqPipeline,
    summarizer: &Seq2SeqPipeline,
    text: &str,
    translation: &str,
    settings: &RunSettings,
    stats: &mut Stats,
) -> Result<RunSummary> {
    let t0 = Instant::now();
    let (summary, english) = if settings.summarize_first {
        let s = summarize(summarizer, text, &settings.summarize)?;
        let en = translate_documents(
            translator,
            std::slice::from_ref(&s.text),
            &settings.translate,
        )?
        .remove(0)
        .text;
        (s, en.trim().to_string())
    } else {
        let s = summarize(summarizer, translation, &settings.summarize)?;
        let en = s.text.clone();
        (s, en)
    };
    let seconds = t0.elapsed().as_secs_f64();
    stats.generate_seconds += seconds;
    stats.segments += 1;
    stats.source_tokens += summary.input_tokens;
    stats.target_tokens += summary.summary_tokens;
    Ok(RunSummary {
        summary,
        english,
        seconds,
    })
}

/// Translates the Arabic `text` with `translator`, then summarizes it with `summarizer` (see
/// [`summarize_translated`]), adding times and token counts to `stats`.
///
/// Errors: a tokenizer or model error of either model.
pub fn run(
    translator: &Seq2SeqPipeline,
    summarizer: &Seq2SeqPipeline,
    text: &str,
    settings: &RunSettings,
    stats: &mut Stats,
) -> Result<RunOutput> {
    let t0 = Instant::now();
    let translation = translate_documents_with_stats(
        translator,
        &[text.to_string()],
        &settings.translate,
        stats,
    )?
    .remove(0);
    let translate_seconds = t0.elapsed().as_secs_f64();
    let summary = summarize_translated(
        translator,
        summarizer,
        text,
        &translation.text,
        settings,
        stats,
    )?;
    Ok(RunOutput {
        translation,
        summary,
        translate_seconds,
    })
}

/// `tarjama run --format json`: the texts, models, settings, timings and token counts.
///
/// Printed through [`serde_json::Value`] (`to_value`, then `to_string_pretty`), whose maps
/// keep their keys sorted; that is the order `tarjama run` has always printed.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// The input path as given (`-` for standard input).
    pub input: String,
    /// The English summary.
    pub summary: String,
    /// The language the summary was made in: `en`, or `ar` with `summarize_first`.
    pub summary_source_language: &'static str,
    /// The full translation.
    pub translation: String,
    /// Both models.
    pub models: RunModels,
    /// The settings.
    pub settings: RunRecordSettings,
    /// Timings in seconds.
    pub seconds: RunSeconds,
    /// Token counts.
    pub tokens: RunTokens,
    /// Translated segments.
    pub segments: usize,
    /// Chunks the summarizer's input was split into.
    pub summary_chunks: usize,
    /// Whether the summarizer's input was cut at its limit.
    pub summary_truncated: bool,
    /// Why the summary (as the summarizer made it) ended: `"eos"`, or `"length"` when the
    /// length limit cut it.
    pub summary_stopped: FinishReason,
    /// Translated segments the length limit cut (their [`super::translate::SegmentTranslation::stopped`]
    /// is `"length"`).
    pub segments_stopped_at_length: usize,
    /// The warnings the caller printed (the CLI's `warning:` lines, without the prefix);
    /// [`RunRecord::new`] leaves it empty.
    pub warnings: Vec<String>,
}

/// The models of a [`RunRecord`].
#[derive(Debug, Clone, Serialize)]
pub struct RunModels {
    /// The translator.
    pub translator: ModelInfo,
    /// The summarizer.
    pub summarizer: ModelInfo,
}

/// The settings of a [`RunRecord`].
#[derive(Debug, Clone, Serialize)]
pub struct RunRecordSettings {
    /// The translator's generation settings.
    pub translator: GenerationConfig,
    /// The summarizer's generation settings.
    pub summarizer: GenerationConfig,
    /// The summarizer's long-input strategy.
    pub strategy: Strategy,
    /// `--normalize` as given.
    pub normalize: String,
    /// Whether the Arabic text was summarized first.
    pub summarize_first: bool,
}

/// The timings of a [`RunRecord`], in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct RunSeconds {
    /// Loading the translator.
    pub load_translator: f64,
    /// Loading the summarizer.
    pub load_summarizer: f64,
    /// Translating.
    pub translate: f64,
    /// Summarizing (and translating the summary with `summarize_first`).
    pub summarize: f64,
    /// The whole command.
    pub total: f64,
}

/// The token counts of a [`RunRecord`].
#[derive(Debug, Clone, Serialize)]
pub struct RunTokens {
    /// Source tokens of all translated segments.
    pub source: usize,
    /// Generated translation tokens.
    pub translation: usize,
    /// Tokens of the summarizer's (prompted) input.
    pub summary_input: usize,
    /// Generated summary tokens.
    pub summary: usize,
}

impl RunRecord {
    /// The record of `output`, made from `input` (the path as given) by `translator` and
    /// `summarizer` with `settings`; `normalize` is `--normalize` as given and `total` the
    /// command's seconds so far.
    pub fn new(
        input: String,
        output: &RunOutput,
        translator: &Seq2SeqPipeline,
        summarizer: &Seq2SeqPipeline,
        settings: &RunSettings,
        normalize: String,
        total: f64,
    ) -> Self {
        let segments = &output.translation.segments;
        let summary = &output.summary.summary;
        Self {
            input,
            summary: output.summary.english.clone(),
            summary_source_language: RunSettings::summarizer_lang(settings.summarize_first).code(),
            translation: output.translation.text.clone(),
            models: RunModels {
                translator: translator.info.clone(),
                summarizer: summarizer.info.clone(),
            },
            settings: RunRecordSettings {
                translator: settings.translate.generation.clone(),
                summarizer: settings.summarize.generation.clone(),
                strategy: settings.summarize.strategy,
                normalize,
                summarize_first: settings.summarize_first,
            },
            seconds: RunSeconds {
                load_translator: translator.load_seconds,
                load_summarizer: summarizer.load_seconds,
                translate: output.translate_seconds,
                summarize: output.summary.seconds,
                total,
            },
            tokens: RunTokens {
                source: segments.iter().map(|s| s.source_tokens).sum(),
                translation: segments.iter().map(|s| s.target_tokens).sum(),
                summary_input: summary.input_tokens,
                summary: summary.summary_tokens,
            },
            segments: segments.len(),
            summary_chunks: summary.chunks,
            summary_truncated: summary.truncated.is_some(),
            summary_stopped: summary.stopped,
            segments_stopped_at_length: segments
                .iter()
                .filter(|s| s.stopped == FinishReason::Length)
                .count(),
            warnings: Vec::new(),
        }
    }
}
