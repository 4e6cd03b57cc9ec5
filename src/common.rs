//! Flags and file handling shared by the model-running commands (`translate`, and later
//! `summarize`, `run`, `batch`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use tarjama::decoding::{EarlyStopping, GenerationOverrides};
use tarjama::pipeline::{parse_dtype, DeviceChoice, Seq2SeqPipeline};
use tarjama::Error;

/// Which model to load and where to run it.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Model: a preset name (see models/), a Hugging Face Hub repo id (owner/name), either
    /// optionally with @REVISION (owner/name@v1.0), or a local directory in the Hub's layout.
    #[arg(long, short = 'm', value_parser = model_name)]
    pub model: Option<String>,
    /// Hub revision (branch, tag or commit) for a repo id; the same as --model NAME@REVISION.
    #[arg(long, value_parser = revision_value)]
    pub revision: Option<String>,
    /// No download progress or Hub notes on stderr (errors and other notes still print); for
    /// batch, also no progress or final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// cpu, cuda[:N], metal or auto.
    #[arg(long, default_value = "cpu", value_parser = valid::<DeviceChoice>)]
    pub device: String,
    /// f32, f16 or bf16 (f16/bf16 are meant for GPUs).
    #[arg(long, default_value = "f32", value_parser = dtype_value)]
    pub dtype: String,
    /// CPU threads for the model (default: all cores, or RAYON_NUM_THREADS).
    #[arg(long, value_parser = positive)]
    pub threads: Option<usize>,
    /// Quantize the projection weights: q8_0 (smallest drift), q6k, q4k, q4_0 (CPU int8/int4
    /// kernels; outputs drift slightly from float32).
    #[arg(long, value_parser = valid::<tarjama::model::linear::Quantization>)]
    pub quantize: Option<String>,
    /// The flag that names the model, for messages (`--model` when `None`; `tarjama run` sets
    /// `--translator` or `--summarizer`).
    #[arg(skip)]
    pub flag: Option<&'static str>,
}

impl ModelArgs {
    /// Checks what the value parsers cannot see alone: `--model NAME@A` with `--revision B`.
    /// Errors: a message naming both.
    pub fn check(&self) -> Result<(), String> {
        match &self.model {
            Some(model) => tarjama::hub::revision_conflict(model, self.revision.as_deref())
                .map_or(Ok(()), |msg| Err(format!("--model {msg}"))),
            None => Ok(()),
        }
    }

    /// Resolves and loads the model (`--model`, else `default`) on `--device` in `--dtype`,
    /// with `--threads` and `--quantize` applied; downloads show progress unless `--quiet`.
    pub fn load(&self, default: &str) -> tarjama::Result<tarjama::pipeline::Seq2SeqPipeline> {
        tarjama::hub::set_quiet(self.quiet);
        let quantize = self
            .quantize
            .as_deref()
            .map(str::parse::<tarjama::model::linear::Quantization>)
            .transpose()?;
        let (device, dtype) = self.device_and_dtype()?;
        let name = self.model.as_deref().unwrap_or(default);
        let flag = self.flag.unwrap_or("--model");
        let mut pipe = load_pipeline(name, flag, self.revision.as_deref(), &device, dtype)?;
        if let (Some(q), Some(typed)) = (quantize, self.quantize.as_deref()) {
            pipe.quantize(q)
                .map_err(|e| quantize_error(e, typed, &pipe))?;
        }
        Ok(pipe)
    }

    /// Parses `--device` and `--dtype`, and applies `--threads`.
    pub fn device_and_dtype(&self) -> tarjama::Result<(candle_core::Device, candle_core::DType)> {
        if let Some(n) = self.threads {
            set_threads(n)?;
        }
        let device = self.device.parse::<DeviceChoice>()?.open()?;
        Ok((device, parse_dtype(&self.dtype)?))
    }
}

/// Loads the model `name` (see [`Seq2SeqPipeline::load`]), which the user gave with `flag`
/// (`--model`, `--translator` or `--summarizer`). Errors that suggest passing a local directory
/// name that flag; weight errors name the weights file (the library locates them).
pub fn load_pipeline(
    name: &str,
    flag: &str,
    revision: Option<&str>,
    device: &candle_core::Device,
    dtype: candle_core::DType,
) -> tarjama::Result<Seq2SeqPipeline> {
    Seq2SeqPipeline::load(name, revision, device, dtype).map_err(|e| e.for_flag(flag))
}

/// A `--quantize` error, with the value as the user typed it and the model named.
fn quantize_error(err: Error, typed: &str, pipe: &Seq2SeqPipeline) -> Error {
    Error::Model(format!("{}: --quantize {typed}: {err}", pipe.info.name))
}

/// Translation direction of multilingual translators (NLLB-200, M2M100).
#[derive(Debug, Clone, Default, Args)]
pub struct LanguageArgs {
    /// Source language code of a multilingual model: arb_Arab for NLLB, ar for M2M100
    /// (default: the preset's, else Arabic). Models without language codes ignore it.
    #[arg(long, value_name = "CODE")]
    pub src_lang: Option<String>,
    /// Target language code, forced as the first generated token: eng_Latn for NLLB, en for
    /// M2M100 (default: the preset's, else English). Models without language codes ignore it.
    #[arg(long, value_name = "CODE")]
    pub tgt_lang: Option<String>,
}

impl LanguageArgs {
    /// Applies the flags to a loaded pipeline. A model without language codes ignores them,
    /// with a note on stderr.
    pub fn apply(&self, pipe: &mut Seq2SeqPipeline) -> tarjama::Result<()> {
        let given: Vec<&str> = [
            self.src_lang.as_ref().map(|_| "--src-lang"),
            self.tgt_lang.as_ref().map(|_| "--tgt-lang"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let set = pipe.set_languages(self.src_lang.as_deref(), self.tgt_lang.as_deref())?;
        if set.is_none() && !given.is_empty() {
            eprintln!(
                "note: {} ignored: {} has no language codes",
                given.join(" and "),
                pipe.info.name
            );
        }
        Ok(())
    }
}

/// Decoding flags; each means exactly what the same-named transformers `generate()` argument
/// means. Unset flags keep the model's defaults (its generation_config.json).
#[derive(Debug, Clone, Default, Args)]
pub struct DecodeArgs {
    /// Beam width (num_beams); 1 is greedy search.
    #[arg(long, value_parser = positive)]
    pub beams: Option<usize>,
    /// Longest output in tokens, counting the decoder start token (max_length; at least 2).
    #[arg(long, value_parser = max_length_value)]
    pub max_length: Option<usize>,
    /// Most new tokens, not counting the decoder start token (max_new_tokens; wins over
    /// --max-length).
    #[arg(long, value_parser = positive)]
    pub max_new_tokens: Option<usize>,
    /// Shortest output in tokens, counting the decoder start token (min_length).
    #[arg(long)]
    pub min_length: Option<usize>,
    /// Fewest new tokens (min_new_tokens).
    #[arg(long)]
    pub min_new_tokens: Option<usize>,
    /// Beam score = log-probability / length^P (length_penalty).
    #[arg(long, value_parser = finite, allow_hyphen_values = true)]
    pub length_penalty: Option<f32>,
    /// Forbid repeating any n-gram of this size (no_repeat_ngram_size).
    #[arg(long)]
    pub no_repeat_ngram_size: Option<usize>,
    /// Penalize tokens already generated (repetition_penalty, above 0; 1.0 = off).
    #[arg(long, value_parser = positive_finite, allow_hyphen_values = true)]
    pub repetition_penalty: Option<f32>,
    /// Beam-search stopping rule: true, false or never (early_stopping).
    #[arg(long, value_parser = valid::<EarlyStopping>)]
    pub early_stopping: Option<String>,
}

impl DecodeArgs {
    /// Checks what no single flag's value parser can see: a minimum length above the maximum
    /// length. transformers only warns and stops at the maximum; here it is a usage error, since
    /// the minimum can never be met. Both limits count the decoder start token, except
    /// `--min-new-tokens`/`--max-new-tokens`, which win over the other two when given.
    ///
    /// Errors: a message naming both flags.
    pub fn check(&self) -> Result<(), String> {
        let min = match (self.min_new_tokens, self.min_length) {
            (Some(n), _) => Some(("--min-new-tokens", n, n.saturating_add(1))),
            (None, Some(n)) => Some(("--min-length", n, n)),
            (None, None) => None,
        };
        let max = match (self.max_new_tokens, self.max_length) {
            (Some(n), _) => Some(("--max-new-tokens", n, n.saturating_add(1))),
            (None, Some(n)) => Some(("--max-length", n, n)),
            (None, None) => None,
        };
        let (Some((min_flag, min, min_total)), Some((max_flag, max, max_total))) = (min, max)
        else {
            return Ok(());
        };
        if min_total <= max_total {
            return Ok(());
        }
        // Mixing the two kinds: say what the new-token count comes to.
        let mixed = min_flag.ends_with("new-tokens") != max_flag.ends_with("new-tokens");
        let describe = |flag: &str, n: usize, total: usize| {
            if mixed && flag.ends_with("new-tokens") {
                format!("{flag} {n} ({total} tokens with the decoder start token)")
            } else {
                format!("{flag} {n}")
            }
        };
        Err(format!(
            "{} is above {}: no output can satisfy both",
            describe(min_flag, min, min_total),
            describe(max_flag, max, max_total)
        ))
    }

    /// The overrides these flags ask for.
    pub fn overrides(&self) -> tarjama::Result<GenerationOverrides> {
        Ok(GenerationOverrides {
            num_beams: self.beams,
            max_length: self.max_length,
            max_new_tokens: self.max_new_tokens,
            min_length: self.min_length,
            min_new_tokens: self.min_new_tokens,
            length_penalty: self.length_penalty,
            no_repeat_ngram_size: self.no_repeat_ngram_size,
            repetition_penalty: self.repetition_penalty,
            early_stopping: self
                .early_stopping
                .as_deref()
                .map(str::parse::<EarlyStopping>)
                .transpose()?,
        })
    }
}

/// Reads one input (`-` = stdin) as UTF-8 text.
///
/// Errors (naming the path): missing or unreadable file, a directory, invalid UTF-8 (with the
/// byte offset), or no text at all.
pub fn read_text_input(path: &Path) -> tarjama::Result<String> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("<stdin>", e))?;
        buf
    } else {
        if path.is_dir() {
            return Err(Error::input(path, "is a directory, not a text file"));
        }
        std::fs::read(path).map_err(|e| Error::io(path, e))?
    };
    let name = if path == Path::new("-") {
        PathBuf::from("<stdin>")
    } else {
        path.to_path_buf()
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            &name,
            format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        )
    })?;
    if text.trim().is_empty() {
        return Err(Error::input(&name, "empty input (no text to process)"));
    }
    Ok(text)
}

/// Where results go: stdout, or a file written atomically.
pub enum Output {
    /// Standard output.
    Stdout,
    /// A file: written to a temporary file in the same directory, then renamed over `path`.
    File(PathBuf),
}

impl Output {
    /// Checks `-o PATH` before any work: it may not be one of the inputs, and an existing file
    /// is replaced only with `force`.
    pub fn new(path: Option<&Path>, inputs: &[PathBuf], force: bool) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output::Stdout);
        };
        if path == Path::new("-") {
            return Ok(Output::Stdout);
        }
        if path.is_dir() {
            anyhow::bail!("{}: is a directory; -o takes a file path", path.display());
        }
        if path.exists() {
            let canon = std::fs::canonicalize(path).ok();
            let is_input = inputs.iter().any(|i| {
                std::fs::canonicalize(i).ok().is_some() && std::fs::canonicalize(i).ok() == canon
            });
            if is_input {
                anyhow::bail!(
                    "{}: is also an input; refusing to overwrite it",
                    path.display()
                );
            }
            if !force {
                anyhow::bail!(
                    "{}: already exists; pass --force to replace it",
                    path.display()
                );
            }
        }
        Ok(Output::File(path.to_path_buf()))
    }

    /// Writes `content` (atomically for files).
    pub fn write(&self, content: &str) -> anyhow::Result<()> {
        match self {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                match out.write_all(content.as_bytes()).and_then(|_| out.flush()) {
                    // The reader went away (`tarjama ... | head`): nothing more to do.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    other => Ok(other?),
                }
            }
            Output::File(path) => write_atomic(path, content.as_bytes()),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// `path` never holds a partial result.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        anyhow::bail!("{}: no such directory", dir.display());
    }
    let mut builder = tempfile::Builder::new();
    // A replaced file keeps its mode; a new one gets 0666 less the umask (the rule `batch`
    // follows too).
    if let Some(permissions) = tarjama::pipeline::batch::output_permissions(path) {
        builder.permissions(permissions);
    }
    let mut tmp = builder
        .prefix(".tarjama-")
        .tempfile_in(&dir)
        .with_context(|| format!("{}: cannot create a file in this directory", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("{}: write failed", path.display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("{}: sync failed", path.display()))?;
    tmp.persist(path).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot move the output into place: {}",
            path.display(),
            e.error
        )
    })?;
    Ok(())
}

/// Sets the number of CPU threads candle's kernels use (they follow `RAYON_NUM_THREADS`, read
/// when the first parallel kernel runs). Call before loading a model.
pub fn set_threads(n: usize) -> tarjama::Result<()> {
    if n == 0 {
        return Err(Error::Config("--threads must be at least 1".into()));
    }
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    Ok(())
}

/// `--stats`: prints the run's statistics as one JSON line on stderr.
pub fn print_stats(stats: &mut tarjama::pipeline::stats::Stats) {
    stats.finish();
    if let Ok(line) = serde_json::to_string(stats) {
        eprintln!("{line}");
    }
}

/// Clap value parser for a flag whose value the library parses later: checks it now, so a bad
/// value is a usage error (exit 2) before any work.
pub fn valid<T>(s: &str) -> Result<String, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// Clap value parser for a count that must be at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Clap value parser for `--max-length`, which counts the decoder start token: at least 2
/// leaves room for one new token.
pub fn max_length_value(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n < 2 => Err(
            "must be at least 2 (it counts the decoder start token; --max-new-tokens does not)"
                .into(),
        ),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Clap value parser for a finite number above 0.
pub fn positive_finite(s: &str) -> Result<f32, String> {
    match finite(s)? {
        x if x > 0.0 => Ok(x),
        _ => Err("must be a number above 0".into()),
    }
}

/// Clap value parser for a share between 0 and 1 (`--min-arabic`).
pub fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Clap value parser for `--shard K/N`.
pub fn shard_value(s: &str) -> Result<String, String> {
    s.parse::<tarjama::pipeline::batch::Shard>()
        .map(|_| s.to_string())
        .map_err(|_| "expected K/N with 1 <= K <= N (e.g. 2/8)".into())
}

/// Clap value parser for a model name (`--model`, `--translator`, `--summarizer`): not empty.
pub fn model_name(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("must name a preset, a Hub repo id or a model directory".into());
    }
    Ok(s.to_string())
}

/// Clap value parser for `--revision`: a branch, tag, `refs/pr/N` or commit.
pub fn revision_value(s: &str) -> Result<String, String> {
    if !tarjama::hub::is_revision(s) {
        return Err("not a valid revision (a branch, tag, refs/pr/N or commit)".into());
    }
    Ok(s.to_string())
}

/// Clap value parser for a finite number (no NaN or infinity).
pub fn finite(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err("must be a finite number".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// `--dtype` values.
pub fn dtype_value(s: &str) -> Result<String, String> {
    tarjama::pipeline::parse_dtype(s)
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// Clap value parser for `--max-input-tokens`: room for at least one text token and `</s>`.
pub fn min_input_tokens(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n < 2 => Err("must be at least 2".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
