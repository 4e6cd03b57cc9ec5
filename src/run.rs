//! `tarjama run`: the main job. An Arabic article in; its English summary, then its full
//! English translation, out.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::common::{
    batch_size_value, empty_note, model_name, parsed, print_generation_warnings, print_stats,
    read_text_input, typed, DecodeArgs, DeviceArgs, InputArgs, ModelArgs, OutputArgs, Typed,
};
use super::summarize::{load_summarizer, notice};
use super::warn::Warnings;
use tarjama::hub::DEFAULT_TRANSLATOR;
use tarjama::pipeline;
use tarjama::pipeline::run::{RunRecord, RunSettings};
use tarjama::pipeline::stats::Stats;
use tarjama::pipeline::summarize::Strategy;
use tarjama::pipeline::translate::TranslateSettings;
use tarjama::text::Normalization;

/// Output formats of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The summary, a blank line, then the translation.
    Text,
    /// A JSON object with both texts, the models and revisions, settings, timings, token
    /// counts, `summary_stopped`, `segments_stopped_at_length` and `warnings`.
    Json,
    /// `## Summary` and `## Translation` sections.
    Markdown,
}

/// Flags of `tarjama run`. The device flags are [`DeviceArgs`], with the help saying "models".
#[derive(Debug, Args)]
#[command(
    mut_arg("output", |a| a.help("Write the result to this file (atomically) instead of standard output")),
    mut_arg("dtype", |a| a.help("f32, f16 or bf16")),
    after_help = "\
Examples:
  tarjama run examples/sample.ar.txt
  tarjama run article.ar.txt --format markdown -o article.md
  tarjama run article.ar.txt --summarize-first --translator opus-mt-ar-en",
    mut_arg("threads", |a| a.help(
        "CPU threads for the models (default: all cores, or RAYON_NUM_THREADS)"
    ))
)]
pub struct RunArgs {
    /// The Arabic article (`-` for standard input).
    pub input: PathBuf,
    #[command(flatten)]
    pub input_args: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Translation model (preset, Hub repo id or local directory; a preset or repo id may end
    /// in @REVISION, e.g. owner/name@v1.0).
    #[arg(long, default_value = DEFAULT_TRANSLATOR, value_parser = model_name)]
    pub translator: String,
    /// Summarization model (default: distilbart-cnn-12-6; mt5-xlsum with --summarize-first),
    /// optionally NAME@REVISION.
    #[arg(long, value_parser = model_name)]
    pub summarizer: Option<String>,
    /// No download progress or Hub notes on stderr (errors and other notes still print).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Summarize the Arabic text first (with an Arabic summarizer such as mt5-xlsum), then
    /// translate the summary; the full translation is still produced.
    #[arg(long)]
    pub summarize_first: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Quantize both models' projection weights (q8_0, q6k, q4k, q4_0).
    #[arg(long, value_parser = typed::<tarjama::model::linear::Quantization>)]
    pub quantize: Option<Typed<tarjama::model::linear::Quantization>>,
    /// Print timings, token counts and peak memory as one JSON line on stderr when done.
    #[arg(long)]
    pub stats: bool,
    /// Segments per translation batch.
    #[arg(long, default_value_t = 8, value_parser = batch_size_value)]
    pub batch_size: usize,
    /// Normalization of the Arabic text (default, none, strip-diacritics).
    #[arg(long, default_value = "default", value_parser = typed::<Normalization>)]
    pub normalize: Typed<Normalization>,
    /// Long-input strategy of the summarizer (map-reduce or truncate).
    #[arg(long, default_value = "map-reduce", value_parser = parsed::<Strategy>)]
    pub strategy: Strategy,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `tarjama run`.
pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    let t_start = Instant::now();
    let output = args.output.open(std::slice::from_ref(&args.input))?;
    let text = read_text_input(&args.input, args.input_args.encoding)?;
    if empty_note(&args.input, &text, "translate") {
        // No model is loaded: empty output, or a record with empty texts.
        let out = match args.format {
            Format::Text | Format::Markdown => String::new(),
            Format::Json => {
                let v = serde_json::json!({
                    "input": args.input.display().to_string(),
                    "summary": "",
                    "translation": "",
                });
                format!("{}\n", serde_json::to_string_pretty(&v)?)
            }
        };
        output.write(&out)?;
        return Ok(0);
    }
    let normalization = args.normalize.value;
    let model_args = |name: Option<String>, flag: &'static str| ModelArgs {
        model: name,
        revision: None,
        device: args.device.clone(),
        quantize: args.quantize.clone(),
        quiet: args.quiet,
        flag: Some(flag),
    };
    let translator_args = model_args(Some(args.translator.clone()), "--translator");
    let translator = translator_args.load(DEFAULT_TRANSLATOR)?;
    let tsettings = TranslateSettings {
        normalization,
        generation: translator.generation.clone(),
        batch_size: args.batch_size.max(1),
    };
    let mut warnings = Warnings::default();
    warnings.keep(print_generation_warnings(&tsettings.generation));
    if translator.reads_arabic_script() {
        warnings.not_arabic(&args.input, &text, &translator.info.name);
    }
    // Summarizing the Arabic first needs an Arabic summarizer.
    let summarizer_name = args
        .summarizer
        .clone()
        .unwrap_or_else(|| RunSettings::default_summarizer(args.summarize_first).to_string());
    let (summarizer, ssettings) = load_summarizer(
        &model_args(Some(summarizer_name), "--summarizer"),
        &DecodeArgs::default(),
        None,
        args.strategy,
        Some(RunSettings::summarizer_lang(args.summarize_first)),
    )?;
    warnings.keep(ssettings.generation.warnings());
    let settings = RunSettings {
        translate: tsettings,
        summarize: ssettings,
        summarize_first: args.summarize_first,
    };

    let mut stats = Stats {
        load_seconds: translator.load_seconds + summarizer.load_seconds,
        ..Stats::default()
    };
    let result = pipeline::run::run(&translator, &summarizer, &text, &settings, &mut stats)?;
    notice(&result.summary.summary, settings.summarize.strategy);
    warnings.length_limit(&args.input, &result.translation.segments, "");
    warnings.summary_length_limit(&args.input, &result.summary.summary, "");

    let summary_en = &result.summary.english;
    let translation = &result.translation;
    let out = match args.format {
        Format::Text => format!("{summary_en}\n\n{}", ensure_newline(&translation.text)),
        Format::Markdown => format!(
            "## Summary\n\n{summary_en}\n\n## Translation\n\n{}",
            ensure_newline(&translation.text)
        ),
        Format::Json => {
            let mut record = RunRecord::new(
                args.input.display().to_string(),
                &result,
                &translator,
                &summarizer,
                &settings,
                args.normalize.text.clone(),
                t_start.elapsed().as_secs_f64(),
            );
            record.warnings = warnings.lines().to_vec();
            // Through a JSON value: its maps sort their keys, the order `run` has always printed.
            let v = serde_json::to_value(&record)?;
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
    };
    let t_write = Instant::now();
    output.write(&out)?;
    stats.write_seconds = t_write.elapsed().as_secs_f64();
    if args.stats {
        print_stats(&mut stats);
    }
    Ok(0)
}

fn ensure_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}
