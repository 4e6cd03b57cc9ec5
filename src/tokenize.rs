//! `tarjama tokenize`: each input line's encoder input ids and pieces, as the model's tokenizer
//! encodes it for the encoder (after tarjama's normalization, special tokens included); with
//! `--decode`, ids in and text out. Only the tokenizer is loaded, never the weights.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::{
    empty_note, for_flag, input_name, model_name, parsed, read_text_input, revision_value,
    InputArgs, OutputArgs, Usage,
};
use tarjama::hub::DEFAULT_TRANSLATOR;
use tarjama::text::Normalization;
use tarjama::tokenize::Tokenizer;

/// Output formats of `tokenize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One tab-separated line per non-blank input line: the line number, the ids, the pieces
    /// (ids and pieces each joined by spaces); with --decode: the line number and the text.
    Text,
    /// One JSON object per non-blank input line: line, text, ids, pieces (--decode: line,
    /// ids, text).
    Jsonl,
}

/// One line of `tokenize --format jsonl`.
#[derive(Serialize)]
struct TokensRecord<'a> {
    line: usize,
    text: &'a str,
    ids: &'a [u32],
    #[serde(skip_serializing_if = "Option::is_none")]
    pieces: Option<Vec<String>>,
}

/// Flags of `tarjama tokenize`.
#[derive(Debug, Args)]
#[command(
    mut_arg("model", |a| crate::with_default(a, DEFAULT_TRANSLATOR)),
    after_help = "\
Examples:
  tarjama tokenize --model opus-mt-ar-en article.ar.txt
  echo 'مرحبا بالعالم' | tarjama tokenize --model nllb-200-distilled-600M --format jsonl
  tarjama tokenize -m opus-mt-ar-en article.ar.txt | cut -f2 | tarjama tokenize -m opus-mt-ar-en --decode"
)]
pub struct TokenizeArgs {
    /// Input file; `-` or nothing reads standard input.
    pub input: Option<PathBuf>,
    /// Model whose tokenizer is used: a preset, a Hub repo id (optionally @REVISION) or a
    /// local directory. Its weights are not loaded.
    #[arg(long, short = 'm', value_parser = model_name)]
    pub model: Option<String>,
    /// Hub revision (branch, tag or commit) for a repo id; the same as --model NAME@REVISION.
    #[arg(long, value_parser = revision_value)]
    pub revision: Option<String>,
    /// No download progress or Hub notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Source language code of a multilingual model (arb_Arab for NLLB, ar for M2M100), whose
    /// code the ids include (default: the preset's, else Arabic).
    #[arg(long, value_name = "CODE")]
    pub src_lang: Option<String>,
    /// Text normalization before tokenization, as translate's: default, none, strip-diacritics.
    #[arg(long, default_value = "default", value_parser = parsed::<Normalization>)]
    pub normalize: Normalization,
    /// Ids in, text out: each line holds token ids separated by spaces, printed decoded as
    /// translate decodes its outputs (special tokens skipped).
    #[arg(long)]
    pub decode: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub encoding: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl TokenizeArgs {
    /// Checks `--model NAME@A` with `--revision B`. Errors: a message naming both.
    pub fn check(&self) -> Result<(), String> {
        match &self.model {
            Some(model) => tarjama::hub::revision_conflict(model, self.revision.as_deref())
                .map_or(Ok(()), |msg| Err(format!("--model {msg}"))),
            None => Ok(()),
        }
    }
}

/// Runs `tarjama tokenize`; returns the exit code.
pub fn run(args: TokenizeArgs) -> anyhow::Result<i32> {
    let path = args.input.clone().unwrap_or_else(|| PathBuf::from("-"));
    let output = args.output.open(std::slice::from_ref(&path))?;
    let text = read_text_input(&path, args.encoding.encoding)?;
    let what = if args.decode { "decode" } else { "tokenize" };
    if empty_note(&path, &text, what) {
        output.write("")?;
        return Ok(0);
    }
    super::progress::install(args.quiet);
    let name = args.model.as_deref().unwrap_or(DEFAULT_TRANSLATOR);
    let (mut tok, _) = tarjama::pipeline::load_tokenizer(name, args.revision.as_deref())
        .map_err(|e| for_flag(e, "--model"))?;
    if let Some(code) = &args.src_lang {
        if tok.languages().is_some() {
            tok.set_source_language(code)
                .map_err(|e| Usage(format!("--src-lang {code}: {e}")))?;
        } else {
            eprintln!("warning: --src-lang ignored: {name} has no language codes");
        }
    }
    let out = if args.decode {
        decode_lines(tok.as_ref(), &path, &text, args.format)?
    } else {
        encode_lines(tok.as_ref(), &text, args.normalize, args.format)?
    };
    output.write(&out)?;
    Ok(0)
}

/// The non-blank lines of `text` with their 0-based line numbers (blank lines counted).
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
}

/// The token of each id (`tokenizer.convert_ids_to_tokens`); `<unk:ID>` for an id outside the
/// vocabulary (none that `encode` gives).
fn pieces(tok: &dyn Tokenizer, ids: &[u32]) -> Vec<String> {
    ids.iter()
        .map(|&id| tok.id_to_token(id).unwrap_or_else(|| format!("<unk:{id}>")))
        .collect()
}

/// Ids joined by spaces.
fn join_ids(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

/// Encodes each non-blank line of `text` after `norm` (what translate gives the encoder).
fn encode_lines(
    tok: &dyn Tokenizer,
    text: &str,
    norm: Normalization,
    format: Format,
) -> anyhow::Result<String> {
    let mut out = String::new();
    for (li, line) in numbered_lines(text) {
        let ids = tok.encode(&norm.normalize(line))?;
        let pieces = pieces(tok, &ids);
        match format {
            Format::Text => {
                out.push_str(&format!("{li}\t{}\t{}\n", join_ids(&ids), pieces.join(" ")));
            }
            Format::Jsonl => {
                let record = TokensRecord {
                    line: li,
                    text: line,
                    ids: &ids,
                    pieces: Some(pieces),
                };
                out.push_str(&serde_json::to_value(&record)?.to_string());
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Decodes each non-blank line of `text`, token ids separated by whitespace.
///
/// Errors: `FILE:LINE: ...` for a word that is not an id, or an id outside the vocabulary.
fn decode_lines(
    tok: &dyn Tokenizer,
    path: &Path,
    text: &str,
    format: Format,
) -> anyhow::Result<String> {
    let name = input_name(path);
    let mut out = String::new();
    for (li, line) in numbered_lines(text) {
        let ids = line
            .split_whitespace()
            .map(|w| {
                let id = w
                    .parse::<u32>()
                    .ok()
                    .filter(|&id| tok.id_to_token(id).is_some());
                id.ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}:{}: {w:?} is not a token id of this tokenizer",
                        name.display(),
                        li + 1
                    )
                })
            })
            .collect::<anyhow::Result<Vec<u32>>>()?;
        let decoded = tok.decode(&ids, true)?;
        match format {
            Format::Text => out.push_str(&format!("{li}\t{decoded}\n")),
            Format::Jsonl => {
                let record = TokensRecord {
                    line: li,
                    text: &decoded,
                    ids: &ids,
                    pieces: None,
                };
                out.push_str(&serde_json::to_value(&record)?.to_string());
                out.push('\n');
            }
        }
    }
    Ok(out)
}
