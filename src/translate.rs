//! `tarjama translate`: Arabic text in, English text (or JSONL records) out.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::{
    batch_size_value, beams_value, empty_note, max_batch_tokens_value, parsed, print_stats,
    read_text_input, DecodeArgs, InputArgs, LanguageArgs, ModelArgs, OutputArgs, OutputWriter,
    Usage,
};
use super::progress::StageProgress;
use super::warn::Warnings;
use tarjama::decoding::{ChosenBy, FinishReason, GenerationPatch};
use tarjama::hub::DEFAULT_TRANSLATOR;
use tarjama::pipeline::progress::{Progress, Stage};
use tarjama::pipeline::stats::Stats;
use tarjama::pipeline::translate::{
    translate_streaming, Alternative, DocumentPart, SegmentTranslation, TranslateSettings, Window,
};
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::text::Normalization;

/// Output formats of `translate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The translation, keeping the input's paragraphs and lines.
    Text,
    /// One JSON object per segment: file, paragraph, source, translation, token counts, time,
    /// `stopped` (eos, or length when the length limit cut the translation).
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
    stopped: FinishReason,
    seconds: f64,
    model: &'a str,
    revision: Option<&'a str>,
    /// `--ids`: the encoder input ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ids: Option<&'a [u32]>,
    /// `--ids`: the generated ids, decoder start token first.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_ids: Option<&'a [u32]>,
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
    /// Also cut batches at N padded source tokens (segments × the longest one's tokens; a
    /// segment longer than N is a batch alone); --batch-size still bounds the rows. Output is
    /// unchanged, only memory and speed. At most 67108864.
    #[arg(long, value_name = "N", value_parser = max_batch_tokens_value)]
    pub max_batch_tokens: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// With --format jsonl: add each segment's token ids, `source_ids` (what the encoder got,
    /// `</s>` and language codes included) and `output_ids` (as transformers' generate()
    /// returns them: the decoder start token first, EOS last unless the length limit cut it).
    #[arg(long)]
    pub ids: bool,
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
    /// Checks the flags that contradict each other: `--ids` without `--format jsonl`, an
    /// n-best list with `--format text` or above `--beams`, then the model and decoding flags.
    /// Errors: a message naming the flags.
    pub fn check(&self) -> Result<(), String> {
        if self.ids && self.format != Format::Jsonl {
            return Err(
                "--ids needs --format jsonl (text output has no place for token ids)".into(),
            );
        }
        if let Some(n) = self.num_return_sequences.filter(|&n| n > 1) {
            if self.format == Format::Text {
                return Err(format!(
                    "--num-return-sequences {n} needs --format jsonl (the text output holds one \
                     translation per segment; jsonl records list the n-best as `alternatives`)"
                ));
            }
            if let Some(b) = self.decode.beams.filter(|&b| b < n) {
                return Err(format!(
                    "--num-return-sequences {n} is above --beams {b}: beam search returns at \
                     most one hypothesis per beam"
                ));
            }
        }
        self.model.check().and_then(|()| self.decode.check())
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
    let mut warnings = Warnings::default();
    args.languages.apply(&mut pipe, &mut warnings)?;
    if pipe.reads_arabic_script() {
        for (path, text) in &docs {
            warnings.not_arabic(path, text, &pipe.info.name);
        }
    }
    let mut generation = args.decode.generation_for(&pipe)?;
    if let Some(n) = args.num_return_sequences {
        let patch = GenerationPatch {
            num_return_sequences: Some(n),
            ..GenerationPatch::default()
        };
        generation.apply(&patch, ChosenBy::User);
    }
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
    let settings = TranslateSettings {
        normalization,
        generation,
        batch_size: args.batch_size,
        max_batch_tokens: args.max_batch_tokens,
    };
    let texts: Vec<String> = docs.iter().map(|(_, t)| t.clone()).collect();
    let mut stats = Stats {
        load_seconds: pipe.load_seconds,
        ..Stats::default()
    };
    let streamer = RefCell::new(Streamer {
        out: output.writer(),
        bar: StageProgress::new(args.model.quiet),
        error: None,
        write_seconds: 0.0,
        ends_with_newline: false,
        segment: 0,
    });
    // Segments the length limit cut, per document: warned about once the run is over (not
    // between the bar's redraws).
    let mut cut: Vec<Vec<SegmentTranslation>> = vec![Vec::new(); docs.len()];
    let mut sink = |part: DocumentPart| {
        cut[part.document].extend(
            part.segments
                .iter()
                .filter(|s| s.stopped == FinishReason::Length)
                .cloned(),
        );
        let piece = match args.format {
            Format::Text => Ok(streamer.borrow_mut().text_piece(&part)),
            Format::Jsonl => {
                let st = &mut *streamer.borrow_mut();
                jsonl_piece(
                    &part,
                    &docs[part.document].0,
                    &pipe,
                    args.ids,
                    &mut st.segment,
                )
            }
        };
        streamer.borrow_mut().write(piece)
    };
    // A stop (`Break`) came from `sink` or `Watch`: a write error, kept in the streamer, or
    // the output's reader went away, which ends the run quietly.
    let _stopped = translate_streaming(
        &pipe,
        &texts,
        &settings,
        Window::STREAM,
        &mut stats,
        &mut Watch(&streamer),
        &mut sink,
    )?;
    let mut st = streamer.into_inner();
    st.bar.finish();
    for ((path, _), segments) in docs.iter().zip(&cut) {
        warnings.length_limit(path, segments, &args.decode.length_hint());
    }
    if let Some(e) = st.error {
        return Err(e);
    }
    let t_write = Instant::now();
    st.out.finish()?;
    stats.write_seconds = st.write_seconds + t_write.elapsed().as_secs_f64();
    if args.stats {
        print_stats(&mut stats);
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// Writes `translate`'s output as the library hands out paragraphs, drawing the bar.
struct Streamer<'a> {
    out: OutputWriter<'a>,
    bar: StageProgress,
    /// The write error that stopped the run.
    error: Option<anyhow::Error>,
    write_seconds: f64,
    /// Text format: whether the current document's text so far ends with a line break.
    ends_with_newline: bool,
    /// Jsonl format: the next segment's index in its document.
    segment: usize,
}

impl Streamer<'_> {
    /// The text format's bytes for `part`: documents are separated by a blank line and each
    /// ends with a line break.
    fn text_piece(&mut self, part: &DocumentPart) -> String {
        let mut piece = String::new();
        if part.first {
            self.ends_with_newline = false;
            if part.document > 0 {
                piece.push('\n');
            }
        }
        piece.push_str(&part.text);
        if !part.text.is_empty() {
            self.ends_with_newline = part.text.ends_with('\n');
        }
        if part.last && !self.ends_with_newline {
            piece.push('\n');
        }
        piece
    }

    /// Writes `piece` (or keeps the error); `Break` stops the translation: an error, or the
    /// reader of stdout or the FIFO went away.
    fn write(&mut self, piece: Result<String, anyhow::Error>) -> ControlFlow<()> {
        let t = Instant::now();
        let written = piece.and_then(|p| self.bar.suspend(|| self.out.write(&p)));
        self.write_seconds += t.elapsed().as_secs_f64();
        if let Err(e) = written {
            self.error = Some(e);
            return ControlFlow::Break(());
        }
        if self.out.is_closed() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// The library's progress events for a [`Streamer`]: drawn on its bar; decoding stops before
/// the next batch once the output's reader has gone away.
struct Watch<'s, 'a>(&'s RefCell<Streamer<'a>>);

impl Progress for Watch<'_, '_> {
    fn advance(&mut self, stage: Stage, done: usize, total: usize) {
        self.0.borrow_mut().bar.advance(stage, done, total);
    }
    fn cancelled(&mut self) -> bool {
        self.0.borrow_mut().out.is_closed()
    }
}

/// The jsonl format's lines for `part` of the document read from `path`; `segment` is the
/// index of the part's first segment in its document (advanced past the part).
fn jsonl_piece(
    part: &DocumentPart,
    path: &Path,
    pipe: &Seq2SeqPipeline,
    ids: bool,
    segment: &mut usize,
) -> anyhow::Result<String> {
    if part.first {
        *segment = 0;
    }
    let mut out = String::new();
    for seg in &part.segments {
        let record = SegmentRecord {
            file: path.display().to_string(),
            segment: *segment,
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
            stopped: seg.stopped,
            source_ids: ids.then_some(seg.source_ids.as_slice()),
            output_ids: ids.then_some(seg.output_ids.as_slice()),
            alternatives: &seg.alternatives,
        };
        let record = serde_json::to_value(&record)?;
        out.push_str(&record.to_string());
        out.push('\n');
        *segment += 1;
    }
    Ok(out)
}
