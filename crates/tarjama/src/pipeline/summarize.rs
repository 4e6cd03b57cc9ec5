//! Summarization: prompt → tokenize → generate → decode, as transformers'
//! `pipeline("summarization")` does it for an input that fits, with a map-reduce strategy for
//! texts longer than the summarizer's input limit (never a silent truncation).

use std::cell::RefCell;
use std::ops::ControlFlow;

use super::progress::{NoProgress, Progress, Stage};
use std::str::FromStr;
use std::time::Instant;

use serde::Serialize;

use super::prompt::Prompt;
use super::summarizer::Lang;
use super::{ModelInfo, Seq2SeqPipeline};
use crate::decoding::{ChosenBy, FinishReason, GenerationConfig, GenerationPatch, Hypothesis};
use crate::error::{Error, Result};
use crate::text::{split_document, Normalization, SentenceSplitter};

/// What to do with a text longer than the summarizer's input limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Summarize sentence-aligned chunks that fit, then summarize the joined chunk summaries
    /// (repeating while they are still too long).
    #[default]
    MapReduce,
    /// Cut the input at the limit (as `tokenizer(..., truncation=True)` does) and report it.
    Truncate,
}

impl FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "map-reduce" => Ok(Strategy::MapReduce),
            "truncate" => Ok(Strategy::Truncate),
            _ => Err(Error::Config(format!(
                "bad strategy {s:?} (map-reduce or truncate)"
            ))),
        }
    }
}

/// Settings of a summarization run.
#[derive(Debug, Clone)]
pub struct SummarizeSettings {
    /// The prompt wrapped around every input (`None`: the text as it is).
    pub prompt: Option<Prompt>,
    /// Decoding settings.
    pub generation: GenerationConfig,
    /// Long-input strategy.
    pub strategy: Strategy,
    /// Chunks per padded batch in the map step.
    pub batch_size: usize,
    /// Input limit in tokens (prompt and special tokens included); `None`: the model's.
    pub max_input_tokens: Option<usize>,
    /// Normalization of the input text.
    pub normalization: Normalization,
    /// The language of the input text (what the summarizer reads): it chose `normalization`.
    pub lang: Lang,
}

impl SummarizeSettings {
    /// The settings a summarizer's files ask for, as transformers'
    /// `pipeline("summarization")` (`SummarizationPipeline`, 4.57) derives them, then the
    /// preset's:
    /// - the pipeline's own defaults (`num_beams` 4, `max_new_tokens` 256), where the model's
    ///   generation settings keep transformers' global defaults; `max_new_tokens` is dropped
    ///   when the model sets a `max_length` other than 20 (distilbart-cnn: 142);
    /// - `task_specific_params["summarization"]` over them (t5-small: 4 beams, min 30, ...);
    /// - the prompt: the config's top-level `prefix` (bart-large-cnn and distilbart-cnn: `" "`),
    ///   replaced by the task's `prefix` where it has one (T5: `"summarize: "`), then the
    ///   preset's prompt;
    /// - the preset's generation settings last (a `max_length` there replaces the pipeline's
    ///   default `max_new_tokens`, as a flag does).
    ///
    /// Errors: an unknown preset prompt.
    pub fn for_model(pipe: &Seq2SeqPipeline) -> Result<Self> {
        let mut generation = pipe.generation.clone();
        pipeline_defaults(&mut generation);
        let mut prefix = pipe.config_prefix();
        if let Some(tsp) = pipe.task_specific_params("summarization") {
            generation.apply(&GenerationPatch::lenient(tsp), ChosenBy::Model);
            if let Some(p) = tsp.get("prefix").and_then(|p| p.as_str()) {
                prefix = Some(p);
            }
        }
        let mut prompt = prefix.filter(|p| !p.is_empty()).map(Prompt::prefix);
        if let Some(preset) = &pipe.files.preset {
            // A preset's max_length is tarjama's choice, given like a generate() argument: it
            // replaces the pipeline's default max_new_tokens (which would otherwise win).
            generation.apply(&preset.generation, ChosenBy::Preset);
            if let Some(name) = &preset.prompt {
                prompt = Some(Prompt::embedded(name)?);
            }
        }
        Ok(Self {
            prompt,
            generation,
            strategy: Strategy::MapReduce,
            batch_size: 8,
            max_input_tokens: None,
            normalization: Normalization::none(),
            lang: Lang::En,
        })
    }
}

/// `Text2TextGenerationPipeline._default_generation_config` (`max_new_tokens=256,
/// num_beams=4`) merged with the model's settings as `Pipeline.__init__` does through
/// `_prepare_generation_config(..., use_model_defaults=True)`: a model value replaces a
/// pipeline value only where the pipeline's equals transformers' global default, so both
/// pipeline values stay (a model's own `num_beams` or `max_new_tokens` does not reach the
/// pipeline); then `max_new_tokens` is dropped when the model's `max_length` is not the
/// global default 20.
fn pipeline_defaults(generation: &mut GenerationConfig) {
    generation.num_beams = 4;
    generation.max_new_tokens = (generation.max_length == 20).then_some(256);
}

/// A summary and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The summary: for an input that fits, exactly the pipeline's `summary_text` (no
    /// whitespace changed); after map-reduce, the summary of the chunk summaries (each
    /// collapsed to one paragraph before they are joined).
    pub text: String,
    /// Tokens of the prompted input (before any chunking or truncation).
    pub input_tokens: usize,
    /// Generated tokens of the final summary (decoder start token not counted).
    pub summary_tokens: usize,
    /// Chunks summarized in the first map step (0: the input fit as it was).
    pub chunks: usize,
    /// Map-reduce rounds (0: none).
    pub rounds: usize,
    /// `Some((input_tokens, limit))` when the input was cut at the limit.
    pub truncated: Option<(usize, usize)>,
    /// Why the final summary ended: [`FinishReason::Length`] when the length limit
    /// (`max_length` / `max_new_tokens`) cut it before EOS.
    pub stopped: FinishReason,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// A summary as every JSON output prints it: `summarize --format json`'s `summary`, and the
/// `summary` of `run --format json` (documented field by field in docs/json.md). Printed
/// through [`serde_json::Value`], whose maps sort their keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRecord {
    /// The summary: the summarizer's output, or with `run --summarize-first` its English
    /// translation.
    pub text: String,
    /// The summarizer's own output when `text` is its translation (`run --summarize-first`);
    /// `None` otherwise.
    pub translated_from: Option<String>,
    /// The language of the text the summarizer read (`en` or `ar`).
    pub language: &'static str,
    /// The summarizer.
    pub model: ModelInfo,
    /// How the summary was made.
    pub settings: SummaryRecordSettings,
    /// Tokens of the prompted input, before any chunking or truncation.
    pub input_tokens: usize,
    /// Generated tokens of the final summary (decoder start token not counted; before any
    /// translation).
    pub summary_tokens: usize,
    /// Chunks summarized in the first map step (0: the input fit).
    pub chunks: usize,
    /// Map-reduce rounds (0: none).
    pub rounds: usize,
    /// Set when the input was cut at the limit (`--strategy truncate`).
    pub truncated: Option<Truncated>,
    /// Why the final summary ended: `"eos"`, or `"length"` when the length limit cut it.
    pub stopped: FinishReason,
    /// Timings in seconds.
    pub seconds: SummarySeconds,
}

/// The settings of a [`SummaryRecord`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRecordSettings {
    /// The summarizer's generation settings.
    pub generation: GenerationConfig,
    /// The long-input strategy.
    pub strategy: Strategy,
    /// The input limit in tokens (the flag's, else the model's).
    pub max_input_tokens: usize,
}

/// How far an input was cut ([`Summary::truncated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Truncated {
    /// Tokens of the whole prompted input.
    pub input_tokens: usize,
    /// The limit it was cut at.
    pub limit: usize,
}

/// The timings of a [`SummaryRecord`], in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SummarySeconds {
    /// Loading the summarizer.
    pub load: f64,
    /// Summarizing (with `run --summarize-first`, translating the summary too).
    pub summarize: f64,
}

impl SummaryRecord {
    /// The record of `summary`, made by `pipe` with `settings`; `text` is the summary's own
    /// text and `seconds.summarize` its time (see [`SummaryRecord::translated`]).
    pub fn new(summary: &Summary, pipe: &Seq2SeqPipeline, settings: &SummarizeSettings) -> Self {
        Self {
            text: summary.text.clone(),
            translated_from: None,
            language: settings.lang.code(),
            model: pipe.info.clone(),
            settings: SummaryRecordSettings {
                generation: settings.generation.clone(),
                strategy: settings.strategy,
                max_input_tokens: settings
                    .max_input_tokens
                    .unwrap_or_else(|| pipe.model.max_input_tokens()),
            },
            input_tokens: summary.input_tokens,
            summary_tokens: summary.summary_tokens,
            chunks: summary.chunks,
            rounds: summary.rounds,
            stopped: summary.stopped,
            truncated: summary.truncated.map(|(input_tokens, limit)| Truncated {
                input_tokens,
                limit,
            }),
            seconds: SummarySeconds {
                load: pipe.load_seconds,
                summarize: summary.seconds,
            },
        }
    }
}

/// Collapses all whitespace (newlines included) to single spaces.
fn one_paragraph(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Run<'a> {
    pipe: &'a Seq2SeqPipeline,
    settings: &'a SummarizeSettings,
    limit: usize,
    progress: RefCell<&'a mut dyn Progress>,
}

impl Run<'_> {
    fn prompted(&self, text: &str) -> String {
        let text = self.settings.normalization.normalize(text);
        match &self.settings.prompt {
            Some(p) => p.apply(&text),
            None => text,
        }
    }

    fn count(&self, text: &str) -> usize {
        self.pipe.tokenizer.token_count(&self.prompted(text))
    }

    /// Summarizes inputs that fit; returns (summary, generated tokens, why it ended) per input.
    fn generate(&self, texts: &[String]) -> Result<Vec<(String, usize, FinishReason)>> {
        let inputs = texts
            .iter()
            .map(|t| self.pipe.tokenizer.encode(&self.prompted(t)))
            .collect::<Result<Vec<_>>>()?;
        self.decode(&inputs)
    }

    fn decode(&self, inputs: &[Vec<u32>]) -> Result<Vec<(String, usize, FinishReason)>> {
        let total = inputs.len();
        let mut progress = self.progress.borrow_mut();
        let mut report = |done: usize| {
            progress.advance(Stage::Summarize, done, total);
            ControlFlow::Continue(())
        };
        let out = match self.pipe.generate_with(
            inputs,
            None,
            &self.settings.generation,
            self.settings.batch_size,
            None,
            &mut report,
        )? {
            ControlFlow::Continue(out) => out,
            ControlFlow::Break(()) => unreachable!("the callback never stops"),
        };
        progress.advance(Stage::Summarize, total, total);
        out.into_iter()
            .map(|(hyps, _)| {
                let best = hyps.into_iter().next().unwrap_or(Hypothesis {
                    tokens: Vec::new(),
                    score: None,
                });
                let stopped = best.finish_reason(&self.settings.generation);
                let best = best.tokens;
                // SummarizationPipeline.postprocess: decode(skip_special_tokens=True,
                // clean_up_tokenization_spaces=False), the text kept as it is.
                let text = self.pipe.tokenizer.decode_with(&best, true, Some(false))?;
                Ok((text, best.len().saturating_sub(1), stopped))
            })
            .collect()
    }

    /// Sentence-aligned chunks of `text`, each within the limit once prompted.
    fn chunks(&self, text: &str) -> Vec<String> {
        let splitter = SentenceSplitter::new().with_max_len(self.limit, |s: &str| self.count(s));
        let doc = split_document(text, &splitter);
        let mut chunks: Vec<String> = Vec::new();
        let mut current = String::new();
        for seg in doc.segments() {
            let candidate = if current.is_empty() {
                seg.text.clone()
            } else {
                format!("{current} {}", seg.text)
            };
            if current.is_empty() || self.count(&candidate) <= self.limit {
                current = candidate;
            } else {
                chunks.push(std::mem::replace(&mut current, seg.text.clone()));
            }
        }
        if !current.is_empty() {
            chunks.push(current);
        }
        chunks
    }
}

/// Summarizes `text` with `pipe`.
///
/// Errors: tokenizer or model failures; an empty text.
pub fn summarize(
    pipe: &Seq2SeqPipeline,
    text: &str,
    settings: &SummarizeSettings,
) -> Result<Summary> {
    summarize_with_progress(pipe, text, settings, &mut NoProgress)
}

/// [`summarize`], reporting [`Stage::Summarize`] progress to `progress` for each pass (the
/// chunks of a map-reduce round, then the final text). A summary has no useful part, so
/// [`Progress::cancelled`] is not asked.
pub fn summarize_with_progress(
    pipe: &Seq2SeqPipeline,
    text: &str,
    settings: &SummarizeSettings,
    progress: &mut dyn Progress,
) -> Result<Summary> {
    let t0 = Instant::now();
    // Leading and trailing whitespace (a file's final newline) would reach byte-level BPE
    // tokenizers as tokens of their own; the text proper starts and ends at its first and last
    // visible character.
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Config(
            "nothing to summarize: the text is empty".into(),
        ));
    }
    let model_limit = pipe.model.max_input_tokens();
    let limit = settings.max_input_tokens.unwrap_or(model_limit);
    if limit > model_limit {
        return Err(Error::Config(format!(
            "the input limit of {limit} tokens exceeds the summarizer's {model_limit} positions"
        )));
    }
    let limit = limit.max(2);
    let run = Run {
        pipe,
        settings,
        limit,
        progress: RefCell::new(progress),
    };
    let input_tokens = run.count(text);
    let mut summary = Summary {
        text: String::new(),
        input_tokens,
        summary_tokens: 0,
        chunks: 0,
        rounds: 0,
        truncated: None,
        stopped: FinishReason::Eos,
        seconds: 0.0,
    };
    let (text_out, tokens, stopped) = if input_tokens <= limit {
        run.generate(&[text.to_string()])?.remove(0)
    } else {
        match settings.strategy {
            Strategy::Truncate => truncate(&run, text, &mut summary)?,
            Strategy::MapReduce => {
                let mut current = text.to_string();
                let mut current_tokens = input_tokens;
                loop {
                    let chunks = run.chunks(&current);
                    if summary.rounds == 0 {
                        summary.chunks = chunks.len();
                    }
                    summary.rounds += 1;
                    let partial: Vec<String> = run
                        .generate(&chunks)?
                        .into_iter()
                        .map(|(s, _, _)| one_paragraph(&s))
                        .collect();
                    let joined = partial.join(" ");
                    let joined_tokens = run.count(&joined);
                    if joined_tokens <= limit {
                        break run.generate(&[joined])?.remove(0);
                    }
                    if joined_tokens >= current_tokens || summary.rounds >= 8 {
                        // The summaries do not get shorter: cut, and say so.
                        break truncate(&run, &joined, &mut summary)?;
                    }
                    current = joined;
                    current_tokens = joined_tokens;
                }
            }
        }
    };
    summary.text = text_out;
    summary.summary_tokens = tokens;
    summary.stopped = stopped;
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

/// Cuts the prompted input to the limit, keeping its final special token (as
/// `tokenizer(text, truncation=True, max_length=limit)` does), and summarizes it.
fn truncate(run: &Run, text: &str, summary: &mut Summary) -> Result<(String, usize, FinishReason)> {
    let mut ids = run.pipe.tokenizer.encode(&run.prompted(text))?;
    if ids.len() > run.limit {
        summary.truncated = Some((ids.len(), run.limit));
        let last = *ids.last().unwrap_or(&run.pipe.tokenizer.eos_id());
        ids.truncate(run.limit - 1);
        ids.push(last);
    }
    Ok(run.decode(&[ids])?.remove(0))
}
