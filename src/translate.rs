//! `tarjama translate`: Arabic text in, English text (or JSONL records) out.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::{
    batch_size_value, beams_value, empty_note, parsed, print_generation_warnings, print_stats,
    read_text_input, DecodeArgs, InputArgs, LanguageArgs, ModelArgs, OutputArgs, Usage,
};
use tarjama::decoding::ChosenBy;
use tarjama::hub::DEFAULT_TRANSLATOR;
use tarjama::pipeline::stats::Stats;
use tarjama::pipeline::translate::{
    translate_documents_with_stats, Alternative, TranslateSettings,
};
use tarjama::text::Normalization;

/// Output formats of `translate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The translation, keeping the input's paragraphs and lines.
    Text,
    /// One JSON object per segment: file, paragraph, source, translation, token counts, time.
    Jsonl,
}

/// One line of `translate --format jsonl`: a segment. Printed through [`serde_json::Value`],
/// whose maps keep their keys sorted (the order this output has always had; the score, an
/// `f32`, is printed as the `f64` it widens to).
#[derive(Serialize)]
struct SegmentRecord<'a> {
    file: String,
    segment: usize,
    paragraph: usize,
    line: usize,
    source: &'a str,
    translation: &'a str,
    source_tokens: usize,
    target_tokens: usize,
    split: &'static str,
    score: Option<f32>,
    seconds: f64,
    model: &'a str,
    revision: Option<&'a str>,
    /// `--num-return-sequences` above 1: the n-best list, best first (absent otherwise).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    alternatives: &'a [Alternative],
}

/// Flags of `tarjama translate`.
#[derive(Debug, Args)]
#[command(
    mut_arg("model", |a| crate::with_default(a, DEFAULT_TRANSLATOR)),
    after_help = "\
Examples:
  tarjama translate examples/sample.ar.txt
  tarjama translate article.ar.txt -o article.en.txt --model opus-mt-ar-en --beams 1
  cat article.ar.txt | tarjama translate --format jsonl --model nllb-200-distilled-600M"
)]
pub struct TranslateArgs {
    /// Input files; `-` or nothing reads standard input.
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub languages: LanguageArgs,
    /// Segments per batch.
    #[arg(long, default_value_t = 8, value_parser = batch_size_value)]
    pub batch_size: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Text normalization before tokenization: default (NFC, tatweel and bidi controls removed), none (text goes
    /// to the tokenizer unchanged, as transformers would), strip-diacritics (default plus
    /// Arabic diacritics removed).
    #[arg(long, default_value = "default", value_parser = parsed::<Normalization>)]
    pub normalize: Normalization,
    /// Print timings, token counts and peak memory as one JSON line on stderr when done.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Hypotheses per segment (num_return_sequences; at most the beam count and 64): with
    /// --format jsonl, each record gets `alternatives`, the n-best list [{translation, score}]
    /// best first. Needs --format jsonl when above 1.
    #[arg(long, value_parser = beams_value)]
    pub num_return_sequences: Option<usize>,
}

impl TranslateArgs {
    /// Checks the flags that contradict each other: an n-best list with `--format text`, or
    /// above `--beams`. Errors: a message naming the flags.
    pub fn check(&self) -> Result<(), String> {
        let Some(n) = self.num_return_sequences.filter(|&n| n > 1) else {
            return Ok(());
        };
        if self.format == Format::Text {
            return Err(format!(
                "--num-return-sequences {n} needs --format jsonl (the text output holds one \
                 translation per segment; jsonl records list the n-best as `alternatives`)"
            ));
        }
        match self.decode.beams {
            Some(b) if b < n => Err(format!(
                "--num-return-sequences {n} is above --beams {b}: beam search returns at most one \
                 hypothesis per beam"
            )),
            _ => Ok(()),
        }
    }
}

/// Runs `tarjama translate`; returns the exit code (1 when an input could not be read).
pub fn run(args: TranslateArgs) -> anyhow::Result<i32> {
    let inputs = if args.inputs.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.inputs.clone()
    };
    let normalization = args.normalize;
    let output = args.output.open(&inputs)?;
    if args.batch_size == 0 {
        anyhow::bail!("--batch-size must be at least 1");
    }

    // Read every input first; a bad one is reported and the rest go on. An empty one gives
    // no output, with a note.
    let mut failed = 0;
    let mut docs: Vec<(PathBuf, String)> = Vec::new();
    for path in &inputs {
        match read_text_input(path, args.input.encoding) {
            Ok(text) if empty_note(path, &text, "translate") => {}
            Ok(text) => docs.push((path.clone(), text)),
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    if docs.is_empty() {
        if failed > 0 {
            return Ok(1);
        }
        output.write("")?;
        return Ok(0);
    }

    let mut pipe = args.model.load(DEFAULT_TRANSLATOR)?;
    args.languages.apply(&mut pipe)?;
    args.decode
        .check_positions(&pipe.info.name, pipe.generation.max_position_embeddings)?;
    let mut generation = pipe.generation.clone();
    let mut patch = args.decode.patch();
    patch.num_return_sequences = args.num_return_sequences;
    generation.apply(&patch, ChosenBy::User);
    args.decode.check_sampling(&pipe.info.name, &generation)?;
    if generation.num_return_sequences > generation.num_beams {
        return Err(Usage(format!(
            "--num-return-sequences {}: the model {} defaults to {} beams (add --beams {})",
            generation.num_return_sequences,
            pipe.info.name,
            generation.num_beams,
            generation.num_return_sequences
        ))
        .into());
    }
    print_generation_warnings(&generation);
    let settings = TranslateSettings {
        normalization,
        generation,
        batch_size: args.batch_size,
    };
    let texts: Vec<String> = docs.iter().map(|(_, t)| t.clone()).collect();
    let mut stats = Stats {
        load_seconds: pipe.load_seconds,
        ..Stats::default()
    };
    let translated = translate_documents_with_stats(&pipe, &texts, &settings, &mut stats)?;

    let mut out = String::new();
    for (i, ((path, _), doc)) in docs.iter().zip(&translated).enumerate() {
        match args.format {
            Format::Text => {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&doc.text);
                if !doc.text.ends_with('\n') {
                    out.push('\n');
                }
            }
            Format::Jsonl => {
                for (si, seg) in doc.segments.iter().enumerate() {
                    let record = SegmentRecord {
                        file: path.display().to_string(),
                        segment: si,
                        paragraph: seg.paragraph,
                        line: seg.line,
                        source: &seg.source,
                        translation: &seg.translation,
                        source_tokens: seg.source_tokens,
                        target_tokens: seg.target_tokens,
                        split: seg.split,
                        score: seg.score,
                        seconds: seg.seconds,
                        model: &pipe.info.name,
                        revision: pipe.info.revision.as_deref(),
                        alternatives: &seg.alternatives,
                    };
                    let record = serde_json::to_value(&record)?;
                    out.push_str(&record.to_string());
                    out.push('\n');
                }
            }
        }
    }
    let t_write = Instant::now();
    output.write(&out)?;
    stats.write_seconds = t_write.elapsed().as_secs_f64();
    if args.stats {
        print_stats(&mut stats);
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
