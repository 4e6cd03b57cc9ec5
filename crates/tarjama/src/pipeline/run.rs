//! Translate-then-summarize, the main job (`tarjama run`, and `batch --task run` per input):
//! an Arabic text is translated into English and its summary is made, either of the
//! translation or (`summarize_first`) of the Arabic text, then translated. [`RunSettings`] holds
//! both models' settings and the order; [`run`] does the work; [`RunRecord`] is the record
//! `tarjama run --format json` prints.

use std::time::Instant;

use serde::Serialize;

use super::progress::{NoProgress, Progress, Stage};
use super::stats::Stats;
use super::summarize::{summarize_with_progress, SummarizeSettings, Summary, SummaryRecord};
use super::summarizer::Lang;
use super::translate::{
    translate_documents_with_progress, translate_documents_with_stats, DocumentTranslation,
    TranslateSettings,
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
/// `stats`, and with `summarize_first` also the segments and tokens of the summary's
/// translation.
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
    summarize_translated_with_progress(
        translator,
        summarizer,
        text,
        translation,
        settings,
        stats,
        &mut NoProgress,
    )
}

/// [`summarize_translated`], reporting progress to `progress` (see
/// [`summarize_with_progress`]).
fn summarize_translated_with_progress(
    translator: &Seq2SeqPipeline,
    summarizer: &Seq2SeqPipeline,
    text: &str,
    translation: &str,
    settings: &RunSettings,
    stats: &mut Stats,
    progress: &mut dyn Progress,
) -> Result<RunSummary> {
    if !settings.summarize_first {
        return summarize_english(
            summarizer,
            translation,
            &settings.summarize,
            stats,
            progress,
        );
    }
    let t0 = Instant::now();
    let s = summarize_with_progress(summarizer, text, &settings.summarize, progress)?;
    // The summary's translation counts as segments and tokens too; its time is in the
    // wall clock below.
    let mut translated = Stats::default();
    let en = translate_documents_with_stats(
        translator,
        std::slice::from_ref(&s.text),
        &settings.translate,
        &mut translated,
    )?
    .remove(0)
    .text;
    stats.segments += translated.segments;
    stats.source_tokens += translated.source_tokens;
    stats.target_tokens += translated.target_tokens;
    Ok(count_summary(stats, s, en.trim().to_string(), t0))
}

/// The summary of the English `translation` (a run without `summarize_first`): adds its time
/// (wall clock), one segment and its token counts to `stats`.
fn summarize_english(
    summarizer: &Seq2SeqPipeline,
    translation: &str,
    settings: &SummarizeSettings,
    stats: &mut Stats,
    progress: &mut dyn Progress,
) -> Result<RunSummary> {
    let t0 = Instant::now();
    let s = summarize_with_progress(summarizer, translation, settings, progress)?;
    let english = s.text.clone();
    Ok(count_summary(stats, s, english, t0))
}

/// Adds the summary half begun at `t0` to `stats`: its wall-clock seconds (as generation
/// time), one segment and the summary's input and output tokens.
fn count_summary(stats: &mut Stats, summary: Summary, english: String, t0: Instant) -> RunSummary {
    let seconds = t0.elapsed().as_secs_f64();
    stats.generate_seconds += seconds;
    stats.segments += 1;
    stats.source_tokens += summary.input_tokens;
    stats.target_tokens += summary.summary_tokens;
    RunSummary {
        summary,
        english,
        seconds,
    }
}

/// The translation half of a run, for a caller that loads the summarizer only after it (see
/// [`summarize_translation_with_progress`]): the Arabic `text` translated by `translator` with
/// `settings`, and its wall-clock seconds. Adds its segments, tokens and times to `stats` and
/// records them as the stage `translate` ([`Stats::stages`]); reports [`Stage::Translate`]
/// progress to `progress`.
///
/// Errors: a tokenizer or model error of the translator.
pub fn translate_text_with_progress(
    translator: &Seq2SeqPipeline,
    text: &str,
    settings: &TranslateSettings,
    stats: &mut Stats,
    progress: &mut dyn Progress,
) -> Result<(DocumentTranslation, f64)> {
    let before = stats.clone();
    let t0 = Instant::now();
    let translation = translate_documents_with_progress(
        translator,
        &[text.to_string()],
        settings,
        stats,
        progress,
    )?
    .remove(0);
    let seconds = t0.elapsed().as_secs_f64();
    stats.record_stage(Stage::Translate, &before, seconds);
    Ok((translation, seconds))
}

/// The summary half of a run without `summarize_first`, which needs no translator (so a
/// caller may free the translator before loading the summarizer): the summary of the English
/// `translation` by `summarizer` with `settings`. Adds its time (wall clock), one segment and
/// its token counts to `stats` and records them as the stage `summarize`; reports
/// [`Stage::Summarize`] progress to `progress` (see [`summarize_with_progress`]).
///
/// Errors: a tokenizer or model error of the summarizer.
pub fn summarize_translation_with_progress(
    summarizer: &Seq2SeqPipeline,
    translation: &str,
    settings: &SummarizeSettings,
    stats: &mut Stats,
    progress: &mut dyn Progress,
) -> Result<RunSummary> {
    let before = stats.clone();
    let summary = summarize_english(summarizer, translation, settings, stats, progress)?;
    stats.record_stage(Stage::Summarize, &before, summary.seconds);
    Ok(summary)
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
    run_with_progress(
        translator,
        summarizer,
        text,
        settings,
        stats,
        &mut NoProgress,
    )
}

/// [`run`], reporting [`Stage::Translate`] and then [`Stage::Summarize`] progress to
/// `progress` (whose [`Progress::cancelled`] is not asked: a run's output needs both), and
/// recording both stages in `stats` ([`Stats::stages`]).
pub fn run_with_progress(
    translator: &Seq2SeqPipeline,
    summarizer: &Seq2SeqPipeline,
    text: &str,
    settings: &RunSettings,
    stats: &mut Stats,
    progress: &mut dyn Progress,
) -> Result<RunOutput> {
    let (translation, translate_seconds) =
        translate_text_with_progress(translator, text, &settings.translate, stats, progress)?;
    let before = stats.clone();
    let summary = summarize_translated_with_progress(
        translator,
        summarizer,
        text,
        &translation.text,
        settings,
        stats,
        progress,
    )?;
    stats.record_stage(Stage::Summarize, &before, summary.seconds);
    Ok(RunOutput {
        translation,
        summary,
        translate_seconds,
    })
}

/// `tarjama run --format json` (documented field by field in docs/json.md): the summary, as
/// every JSON output prints one ([`SummaryRecord`]), and the translation, each with its model,
/// settings, token counts and timings.
///
/// Printed through [`serde_json::Value`] (`to_value`, then `to_string_pretty`), whose maps
/// keep their keys sorted.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// The input path as given (`-` for standard input).
    pub input: String,
    /// Whether the Arabic text was summarized first (then the summary translated).
    pub summarize_first: bool,
    /// The summary (its `text` is English).
    pub summary: SummaryRecord,
    /// The full translation.
    pub translation: TranslationRecord,
    /// Seconds of the whole command.
    pub total_seconds: f64,
    /// The warnings the caller printed (the CLI's `warning:` lines, without the prefix);
    /// [`RunRecord::new`] leaves it empty.
    pub warnings: Vec<String>,
}

/// The translation half of a [`RunRecord`].
#[derive(Debug, Clone, Serialize)]
pub struct TranslationRecord {
    /// The translation, keeping the input's paragraphs and lines.
    pub text: String,
    /// The translator.
    pub model: ModelInfo,
    /// How it was made.
    pub settings: TranslationRecordSettings,
    /// Translated segments.
    pub segments: usize,
    /// Source tokens of all segments (special tokens included).
    pub source_tokens: usize,
    /// Generated tokens of all segments (decoder start token not counted).
    pub target_tokens: usize,
    /// Translated segments the length limit cut (their
    /// [`super::translate::SegmentTranslation::stopped`] is `"length"`).
    pub segments_stopped_at_length: usize,
    /// Timings in seconds.
    pub seconds: TranslationSeconds,
}

/// The settings of a [`TranslationRecord`].
#[derive(Debug, Clone, Serialize)]
pub struct TranslationRecordSettings {
    /// The translator's generation settings.
    pub generation: GenerationConfig,
    /// `--normalize` as given.
    pub normalize: String,
}

/// The timings of a [`TranslationRecord`], in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct TranslationSeconds {
    /// Loading the translator.
    pub load: f64,
    /// Translating the text (not the summary).
    pub translate: f64,
}

impl RunRecord {
    /// The record of `output`, made from `input` (the path as given) by the translator whose
    /// [`Seq2SeqPipeline::info`] is `translator` and [`Seq2SeqPipeline::load_seconds`]
    /// `translator_load` (`tarjama run` frees it before the summarizer loads) and by
    /// `summarizer`, with `settings`; `normalize` is `--normalize` as given and `total` the
    /// command's seconds so far.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: String,
        output: &RunOutput,
        translator: &ModelInfo,
        translator_load: f64,
        summarizer: &Seq2SeqPipeline,
        settings: &RunSettings,
        normalize: String,
        total: f64,
    ) -> Self {
        let segments = &output.translation.segments;
        let mut summary =
            SummaryRecord::new(&output.summary.summary, summarizer, &settings.summarize);
        if settings.summarize_first {
            summary.translated_from = Some(std::mem::take(&mut summary.text));
        }
        summary.text = output.summary.english.clone();
        summary.seconds.summarize = output.summary.seconds;
        Self {
            input,
            summarize_first: settings.summarize_first,
            summary,
            translation: TranslationRecord {
                text: output.translation.text.clone(),
                model: translator.clone(),
                settings: TranslationRecordSettings {
                    generation: settings.translate.generation.clone(),
                    normalize,
                },
                segments: segments.len(),
                source_tokens: segments.iter().map(|s| s.source_tokens).sum(),
                target_tokens: segments.iter().map(|s| s.target_tokens).sum(),
                segments_stopped_at_length: segments
                    .iter()
                    .filter(|s| s.stopped == FinishReason::Length)
                    .count(),
                seconds: TranslationSeconds {
                    load: translator_load,
                    translate: output.translate_seconds,
                },
            },
            total_seconds: total,
            warnings: Vec::new(),
        }
    }
}
