//! `tarjama run`: the main job. An Arabic article in; its English summary, then its full
//! English translation, out.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::common::{
    batch_size_value, empty_note, for_flag, json_record, max_batch_tokens_value, model_name,
    parsed, print_stats, read_text_input, typed, DecodeArgs, DeviceArgs, InputArgs, LanguageArgs,
    ModelArgs, OutputArgs, SummaryDecodeArgs, Typed,
};
use super::progress::StageProgress;
use super::summarize::{load_summarizer, notice};
use super::warn::Warnings;
use tarjama::decoding::GenerationConfig;
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
    /// A JSON object: the input, the summary and the translation, each with its model,
    /// settings, token counts and timings, and the `warnings` printed (docs/json.md).
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
Decoding flags: the plain ones (--beams, --max-new-tokens, ...) decode the translator; the same
flags with summary- after the -- (--summary-beams, --summary-max-new-tokens, ...) decode the
summarizer.

Examples:
  tarjama run examples/sample.ar.txt
  cat article.ar.txt | tarjama run --format markdown -o article.md --beams 1
  tarjama run article.ar.txt --summarize-first --summary-beams 2 --summary-max-new-tokens 60",
    mut_arg("threads", |a| a.help(
        "CPU threads for the models (default: all cores, or RAYON_NUM_THREADS)"
    ))
)]
pub struct RunArgs {
    /// The Arabic article; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
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
    /// No download progress, progress bar or Hub notes on stderr (errors and other notes
    /// still print).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Summarize the Arabic text first (with an Arabic summarizer such as mt5-xlsum), then
    /// translate the summary; the full translation is still produced.
    #[arg(long)]
    pub summarize_first: bool,
    #[command(flatten)]
    pub languages: LanguageArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Quantize both models' projection weights (q8_0, int8, q6k, q4k, q4_0).
    #[arg(long, value_parser = typed::<tarjama::model::linear::Quantization>)]
    pub quantize: Option<Typed<tarjama::model::linear::Quantization>>,
    /// Print timings, token counts and peak memory as one JSON line on stderr when done.
    #[arg(long)]
    pub stats: bool,
    /// Segments per translation batch.
    #[arg(long, default_value_t = 8, value_parser = batch_size_value)]
    pub batch_size: usize,
    /// Also cut translation batches at N padded source tokens (segments × the longest one's
    /// tokens; a longer segment is a batch alone); output is unchanged. At most 67108864.
    #[arg(long, value_name = "N", value_parser = max_batch_tokens_value)]
    pub max_batch_tokens: Option<usize>,
    /// Normalization of the Arabic text (default, none, strip-diacritics).
    #[arg(long, default_value = "default", value_parser = typed::<Normalization>)]
    pub normalize: Typed<Normalization>,
    /// Long-input strategy of the summarizer (map-reduce or truncate).
    #[arg(long, default_value = "map-reduce", value_parser = parsed::<Strategy>)]
    pub strategy: Strategy,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten, next_help_heading = "Translator decoding")]
    pub decode: DecodeArgs,
    #[command(flatten, next_help_heading = "Summarizer decoding")]
    pub summary_decode: SummaryDecodeArgs,
}

/// Runs `tarjama run`.
pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    let t_start = Instant::now();
    let input = args.input.clone().unwrap_or_else(|| PathBuf::from("-"));
    let output = args.output.open(std::slice::from_ref(&input))?;
    let text = read_text_input(&input, args.input_args.encoding)?;
    if empty_note(&input, &text, "translate") {
        // No model is loaded: empty output, or a record without a summary or translation.
        let out = match args.format {
            Format::Text | Format::Markdown => String::new(),
            Format::Json => json_record(&serde_json::json!({
                "input": input.display().to_string(),
                "summarize_first": args.summarize_first,
                "summary": null,
                "translation": null,
                "warnings": [],
            }))?,
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
    let mut translator = translator_args.load(DEFAULT_TRANSLATOR)?;
    let mut warnings = Warnings::default();
    // The translator's direction (NLLB, M2M100) before its generation settings: the target
    // language is the forced first token.
    args.languages.apply(&mut translator, &mut warnings)?;
    let tsettings = TranslateSettings {
        normalization,
        generation: args.decode.generation_for(&translator)?,
        batch_size: args.batch_size.max(1),
        max_batch_tokens: args.max_batch_tokens,
    };
    warnings.keep(tsettings.generation.warnings());
    if translator.reads_arabic_script() {
        warnings.not_arabic(&input, &text, &translator.info.name);
    }
    // Summarizing the Arabic first needs an Arabic summarizer.
    let summarizer_name = args
        .summarizer
        .clone()
        .unwrap_or_else(|| RunSettings::default_summarizer(args.summarize_first).to_string());
    let summarizer_args = model_args(Some(summarizer_name.clone()), "--summarizer");
    let load_summarizer = |warnings: &mut Warnings| {
        let (summarizer, ssettings) = load_summarizer(
            &summarizer_args,
            &args.summary_decode.decode(),
            None,
            args.strategy,
            Some(RunSettings::summarizer_lang(args.summarize_first)),
        )?;
        warnings.keep(ssettings.generation.warnings());
        anyhow::Ok((summarizer, ssettings))
    };
    let mut stats = Stats::default();
    let mut bar = StageProgress::new(args.quiet);
    let (result, summarizer, ssettings, translator_info, translator_load) = if args.summarize_first
    {
        // The summary is translated too: both models stay loaded.
        let (summarizer, ssettings) = load_summarizer(&mut warnings)?;
        let settings = RunSettings {
            translate: tsettings.clone(),
            summarize: ssettings,
            summarize_first: true,
        };
        let result = pipeline::run::run_with_progress(
            &translator,
            &summarizer,
            &text,
            &settings,
            &mut stats,
            &mut bar,
        )?;
        let info = translator.info.clone();
        (
            result,
            summarizer,
            settings.summarize,
            info,
            translator.load_seconds,
        )
    } else {
        // Translate, free the translator, then load the summarizer: the two models are never
        // in memory together. The summarizer is resolved (found, or downloaded) and the
        // summary length flags checked against its positions first, so that a missing model
        // or a bad flag fails before the translation is done.
        let files = tarjama::hub::resolve(&summarizer_name, None)
            .map_err(|e| for_flag(e, "--summarizer"))?;
        let config = std::fs::read_to_string(&files.config)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        args.summary_decode.decode().check_positions(
            &summarizer_name,
            config.as_ref().and_then(GenerationConfig::positions),
        )?;
        let (translation, translate_seconds) = pipeline::run::translate_text_with_progress(
            &translator,
            &text,
            &tsettings,
            &mut stats,
            &mut bar,
        )?;
        bar.finish();
        let (info, load) = (translator.info.clone(), translator.load_seconds);
        drop(translator);
        let (summarizer, ssettings) = load_summarizer(&mut warnings)?;
        let summary = pipeline::run::summarize_translation_with_progress(
            &summarizer,
            &translation.text,
            &ssettings,
            &mut stats,
            &mut bar,
        )?;
        let result = pipeline::run::RunOutput {
            translation,
            summary,
            translate_seconds,
        };
        (result, summarizer, ssettings, info, load)
    };
    stats.load_seconds = translator_load + summarizer.load_seconds;
    stats.model_load_seconds = [
        ("summarizer", summarizer.load_seconds),
        ("translator", translator_load),
    ]
    .into_iter()
    .map(|(role, s)| (role.to_string(), s))
    .collect();
    let settings = RunSettings {
        translate: tsettings,
        summarize: ssettings,
        summarize_first: args.summarize_first,
    };
    bar.finish();
    notice(&result.summary.summary, settings.summarize.strategy);
    warnings.length_limit(
        &input,
        &result.translation.segments,
        &args.decode.length_hint(),
    );
    warnings.summary_length_limit(
        &input,
        &result.summary.summary,
        &args.summary_decode.decode().length_hint(),
    );

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
                input.display().to_string(),
                &result,
                &translator_info,
                translator_load,
                &summarizer,
                &settings,
                args.normalize.text.clone(),
                t_start.elapsed().as_secs_f64(),
            );
            record.warnings = warnings.lines().to_vec();
            json_record(&record)?
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
