//! `tarjama summarize`: a text in, a one-paragraph summary out.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::progress::StageProgress;

use super::common::{
    empty_note, json_record, min_input_tokens, parsed, print_generation_warnings, print_stats,
    read_text_input, DecodeArgs, InputArgs, ModelArgs, OutputArgs, SummaryDecodeArgs,
};
use super::warn::Warnings;
use serde::Serialize;
use tarjama::hub::DEFAULT_SUMMARIZER;
use tarjama::pipeline::stats::Stats;
use tarjama::pipeline::summarize::{
    summarize_with_progress, Strategy, SummarizeSettings, SummaryRecord,
};
use tarjama::pipeline::summarizer;

/// Output formats of `summarize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The summary as one paragraph.
    Text,
    /// A JSON object: the input and its summary with model, settings, token counts, chunks,
    /// time and `stopped` (eos or length), and the `warnings` printed (docs/json.md).
    Json,
}

/// Language of the text to summarize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// English (passed to the model unchanged).
    En,
    /// Arabic (normalized as `translate --normalize default` does), e.g. for mt5-xlsum.
    Ar,
}

/// The summarizer's flags that `summarize` and `batch` share: `--lang`, `--prompt`,
/// `--strategy`, `--max-input-tokens` (batch words their help for its `--task`).
#[derive(Debug, Clone, Args)]
pub struct SummarizerArgs {
    /// Language of the input text (default: the preset's source language, else en).
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
    /// A prompt template file with a {text} placeholder (overrides the model's).
    #[arg(long)]
    pub prompt: Option<PathBuf>,
    /// For texts longer than the model's input limit: map-reduce (summarize chunks, then the
    /// joined chunk summaries) or truncate (cut at the limit, with a notice on stderr).
    #[arg(long, default_value = "map-reduce", value_parser = parsed::<Strategy>)]
    pub strategy: Strategy,
    /// Input limit in tokens (default: the model's).
    #[arg(long, value_parser = min_input_tokens)]
    pub max_input_tokens: Option<usize>,
}

/// Flags of `tarjama summarize`.
#[derive(Debug, Args)]
#[command(
    mut_arg("output", |a| a.help("Write the summary to this file (atomically) instead of standard output")),
    mut_arg("model", |a| crate::with_default(a, DEFAULT_SUMMARIZER)),
    // The --summary- decoding flags of `run` are parsed only to be refused with a pointer to
    // the plain ones (SummarizeArgs::check): hidden from the help.
    mut_args(|a| {
        let hide = a.get_id().as_str().starts_with("summary_");
        a.hide(hide)
    }),
    after_help = "\
Examples:
  tarjama summarize article.en.txt
  tarjama summarize article.ar.txt --model mt5-xlsum --lang ar
  tarjama summarize report.en.txt --model bart-large-cnn --format json -o report.json"
)]
pub struct SummarizeArgs {
    /// Input file; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub input_args: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub summary: SummarizerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print timings, token counts and peak memory as one JSON line on stderr when done.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// `run`'s `--summary-` decoding flags: refused here ([`SummarizeArgs::check`]).
    #[command(flatten)]
    pub summary_decode: SummaryDecodeArgs,
}

impl SummarizeArgs {
    /// Checks the flags together: `--model NAME@A` with `--revision B`, minimum above maximum
    /// length, and `run`'s `--summary-` decoding flags, refused (summarize has one model,
    /// decoded by the plain flags). Errors: a message naming the flag.
    pub fn check(&self) -> Result<(), String> {
        if let Some(flag) = self.summary_decode.given() {
            return Err(format!(
                "{flag}: summarize has one model, decoded by the plain flags: use --{} (the \
                 --summary- flags are for run and batch --task run)",
                flag.trim_start_matches("--summary-")
            ));
        }
        self.model.check().and_then(|()| self.decode.check())
    }
}

impl From<Lang> for summarizer::Lang {
    fn from(l: Lang) -> Self {
        match l {
            Lang::En => summarizer::Lang::En,
            Lang::Ar => summarizer::Lang::Ar,
        }
    }
}

/// Loads the summarizer named by `model` (default preset when `None`) with the settings the
/// library's policy gives it ([`summarizer::summarizer_settings`]) and the user's overrides;
/// prints the library's language note, if any.
pub fn load_summarizer(
    model: &ModelArgs,
    decode: &DecodeArgs,
    prompt: Option<&std::path::Path>,
    strategy: Strategy,
    lang: Option<summarizer::Lang>,
) -> anyhow::Result<(tarjama::pipeline::Seq2SeqPipeline, SummarizeSettings)> {
    let pipe = model.load(DEFAULT_SUMMARIZER)?;
    decode.check_positions(&pipe.info.name, pipe.generation.max_position_embeddings)?;
    let (lang, note) = summarizer::summarizer_lang(&pipe, lang);
    if let Some(note) = note {
        eprintln!("note: {note}");
    }
    let settings = summarizer::summarizer_settings(&pipe, lang, &decode.patch(), strategy, prompt)?;
    decode.check_sampling(&pipe.info.name, &settings.generation)?;
    print_generation_warnings(&settings.generation);
    Ok((pipe, settings))
}

/// Prints the truncation notice a summary carries, if any.
pub fn notice(summary: &tarjama::pipeline::summarize::Summary, strategy: Strategy) {
    if let Some(note) = summarizer::truncation_note(summary, strategy) {
        eprintln!("note: {note}");
    }
}

/// `tarjama summarize --format json`: the input and its summary, in the one summary schema
/// (docs/json.md). Printed through [`serde_json::Value`], whose maps sort their keys.
#[derive(Serialize)]
struct SummarizeRecord<'a> {
    input: String,
    summary: Option<SummaryRecord>,
    warnings: &'a [String],
}

/// Runs `tarjama summarize`.
pub fn run(args: SummarizeArgs) -> anyhow::Result<i32> {
    let input = args.input.clone().unwrap_or_else(|| PathBuf::from("-"));
    let output = args.output.open(std::slice::from_ref(&input))?;
    let text = read_text_input(&input, args.input_args.encoding)?;
    if empty_note(&input, &text, "summarize") {
        // No model is loaded: empty output, or a record with an empty summary.
        let out = match args.format {
            Format::Text => String::new(),
            Format::Json => json_record(&SummarizeRecord {
                input: input.display().to_string(),
                summary: None,
                warnings: &[],
            })?,
        };
        output.write(&out)?;
        return Ok(0);
    }
    let (pipe, mut settings) = load_summarizer(
        &args.model,
        &args.decode,
        args.summary.prompt.as_deref(),
        args.summary.strategy,
        args.summary.lang.map(Into::into),
    )?;
    settings.max_input_tokens = args.summary.max_input_tokens;
    let mut warnings = Warnings::default();
    warnings.keep(settings.generation.warnings());
    let lang = summarizer::summarizer_lang(&pipe, args.summary.lang.map(Into::into)).0;
    warnings.summarizer_script(
        &input,
        &text,
        &pipe.info.name,
        summarizer::reads_arabic(&pipe, lang),
    );
    let mut bar = StageProgress::new(args.model.quiet);
    let summary = summarize_with_progress(&pipe, &text, &settings, &mut bar)?;
    bar.finish();
    notice(&summary, settings.strategy);
    warnings.summary_length_limit(&input, &summary, &args.decode.length_hint());
    let out = match args.format {
        Format::Text => format!("{}\n", summary.text),
        Format::Json => json_record(&SummarizeRecord {
            input: input.display().to_string(),
            summary: Some(SummaryRecord::new(&summary, &pipe, &settings)),
            warnings: warnings.lines(),
        })?,
    };
    let t_write = std::time::Instant::now();
    output.write(&out)?;
    if args.stats {
        let mut stats = Stats {
            load_seconds: pipe.load_seconds,
            generate_seconds: summary.seconds,
            write_seconds: t_write.elapsed().as_secs_f64(),
            segments: 1,
            source_tokens: summary.input_tokens,
            target_tokens: summary.summary_tokens,
            ..Stats::default()
        };
        print_stats(&mut stats);
    }
    Ok(0)
}
