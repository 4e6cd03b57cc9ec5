//! Flags and file handling shared by the model-running commands (`translate`, `summarize`,
//! `run`, `batch`): the flag groups ([`ModelArgs`], [`DeviceArgs`], [`LanguageArgs`],
//! [`DecodeArgs`]), the value parsers that turn flag text into typed values once, model loading
//! with the CLI's wording of resolve errors, and input/output files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use tarjama::decoding::{EarlyStopping, GenerationPatch};
use tarjama::fsio::{self, WriteStep};
use tarjama::model::linear::Quantization;
use tarjama::pipeline::{DeviceChoice, Seq2SeqPipeline};
use tarjama::text::script::{decode, Encoding};
use tarjama::Error;

/// Where models run: `--device`, `--dtype`, `--threads`.
#[derive(Debug, Clone, Args)]
pub struct DeviceArgs {
    /// cpu, cuda[:N], metal or auto.
    #[arg(long, default_value = "cpu", value_parser = parsed::<DeviceChoice>)]
    pub device: DeviceChoice,
    /// f32, f16 or bf16 (f16/bf16 are meant for GPUs).
    #[arg(long, default_value = "f32", value_parser = dtype_value)]
    pub dtype: candle_core::DType,
    /// CPU threads for the model (default: all cores, or RAYON_NUM_THREADS; at most 1024).
    #[arg(long, value_parser = threads_value)]
    pub threads: Option<usize>,
}

impl DeviceArgs {
    /// Applies `--threads` and opens `--device`; returns it with `--dtype`.
    ///
    /// Errors: a device this build or machine lacks (`--device cuda` without CUDA).
    pub fn open(&self) -> tarjama::Result<(candle_core::Device, candle_core::DType)> {
        if let Some(n) = self.threads {
            set_threads(n)?;
        }
        Ok((self.device.open()?, self.dtype))
    }
}

/// A flag value parsed once by its value parser ([`typed`]), with the text as typed, for the
/// messages that quote it (`--quantize Q8_0`) and the outputs that echo it (`run`'s JSON
/// `normalize`).
#[derive(Debug, Clone)]
pub struct Typed<T> {
    /// The parsed value.
    pub value: T,
    /// The flag's text as given.
    pub text: String,
}

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
    /// No download progress or Hub notes on stderr (errors and other notes still print); no
    /// progress bar for translate and summarize; for batch, also no final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Quantize the projection weights: q8_0 (smallest drift), int8 (integer dot products,
    /// VNNI where the CPU has it; CPU only), q6k, q4k, q4_0 (CPU int8/int4 kernels; outputs
    /// drift slightly from float32).
    #[arg(long, value_parser = typed::<Quantization>)]
    pub quantize: Option<Typed<Quantization>>,
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
        super::progress::install(self.quiet);
        let (device, dtype) = self.device.open()?;
        let name = self.model.as_deref().unwrap_or(default);
        let flag = self.flag.unwrap_or("--model");
        let mut pipe = load_pipeline(name, flag, self.revision.as_deref(), &device, dtype)?;
        if let Some(q) = &self.quantize {
            let t0 = std::time::Instant::now();
            pipe.quantize(q.value)
                .map_err(|e| quantize_error(e, &q.text, &pipe))?;
            // Quantizing is part of getting the model ready: `--stats` counts it as loading.
            pipe.load_seconds += t0.elapsed().as_secs_f64();
        }
        Ok(pipe)
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
    let pipe =
        Seq2SeqPipeline::load(name, revision, device, dtype).map_err(|e| for_flag(e, flag))?;
    warn_cpu_kernel();
    Ok(pipe)
}

/// `err` worded for the flag that named the model: a resolve error says `flag` (`--model`,
/// `--translator`, `--summarizer`) where it tells what to pass instead; other errors are
/// returned unchanged.
pub fn for_flag(err: Error, flag: &str) -> Error {
    match err {
        Error::Resolve(e) => Error::Model(e.message(flag)),
        e => e,
    }
}

/// Prints the library's warning about a bad `TARJAMA_CPU_KERNEL` once, after the first model
/// has loaded (the kernel is chosen while its weights load).
fn warn_cpu_kernel() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Some(warning) = tarjama::model::cpu_kernel_warning() {
            eprintln!("{warning}");
        }
    });
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
    /// with a warning (`--src-lang ignored: MODEL has no language codes`).
    ///
    /// Errors: a [`Usage`] error (exit 2) naming the flag for a code the model does not know
    /// (the message lists similar ones).
    pub fn apply(
        &self,
        pipe: &mut Seq2SeqPipeline,
        warnings: &mut crate::warn::Warnings,
    ) -> Result<(), Usage> {
        if let Some(langs) = pipe.tokenizer.languages() {
            for (flag, code) in [
                ("--src-lang", &self.src_lang),
                ("--tgt-lang", &self.tgt_lang),
            ] {
                if let Some(code) = code {
                    langs
                        .token_id(code)
                        .map_err(|e| Usage(format!("{flag} {code}: {e}")))?;
                }
            }
        }
        let set = pipe
            .set_languages(self.src_lang.as_deref(), self.tgt_lang.as_deref())
            .map_err(|e| Usage(e.to_string()))?;
        if set.is_none() {
            warnings.no_effect(
                &self.given(),
                &format!("{} has no language codes", pipe.info.name),
            );
        }
        Ok(())
    }

    /// The flags with whether each was given, for [`crate::warn::Warnings::no_effect`].
    pub fn given(&self) -> [(&'static str, bool); 2] {
        [
            ("--src-lang", self.src_lang.is_some()),
            ("--tgt-lang", self.tgt_lang.is_some()),
        ]
    }
}

/// Defines [`DecodeArgs`] and [`SummaryDecodeArgs`] from one list of decoding flags: the same
/// fields, help and value parsers, with the second struct's flags (and clap ids) prefixed
/// `summary-`. Each field is `Option<T>`, `None` when the flag is not given.
macro_rules! decode_flags {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ty, $long:literal, $value_name:literal, [$($attr:tt)*];
    )*) => {
        /// Decoding flags; each means exactly what the same-named transformers `generate()`
        /// argument means. Unset flags keep the model's defaults (its generation_config.json).
        /// `run` and `batch --task run` give these to the translator, and
        /// [`SummaryDecodeArgs`] to the summarizer.
        #[derive(Debug, Clone, Default, Args)]
        pub struct DecodeArgs {
            $(
                $(#[doc = $doc])*
                #[arg(long = $long, value_name = $value_name, $($attr)*)]
                pub $field: Option<$ty>,
            )*
            /// What the flags' names start with after `--`, for messages: empty for these
            /// flags, `summary-` for those of [`SummaryDecodeArgs::decode`].
            #[arg(skip)]
            pub flag_prefix: &'static str,
        }

        /// The summarizer's decoding flags of `run` and `batch --task run`: the flags of
        /// [`DecodeArgs`] with `summary-` after the `--` (`--summary-beams`,
        /// `--summary-max-new-tokens`, ...), with the same meanings and bounds.
        #[derive(Debug, Clone, Default, Args)]
        // The one help text that names another flag names the summarizer's.
        #[command(mut_arg("summary_max_new_tokens", |a| {
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            a.help(help.replace("--max-length", "--summary-max-length"))
        }))]
        pub struct SummaryDecodeArgs {
            $(
                $(#[doc = $doc])*
                #[arg(
                    long = concat!("summary-", $long),
                    id = concat!("summary_", stringify!($field)),
                    value_name = $value_name,
                    $($attr)*
                )]
                pub $field: Option<$ty>,
            )*
        }

        impl SummaryDecodeArgs {
            /// The first of these flags given (`--summary-beams`), if any: for the commands
            /// that take them only with some `--task`.
            pub fn given(&self) -> Option<&'static str> {
                $(
                    if self.$field.is_some() {
                        return Some(concat!("--summary-", $long));
                    }
                )*
                None
            }

            /// The flags as [`DecodeArgs`], whose checks name them `--summary-...`.
            pub fn decode(&self) -> DecodeArgs {
                DecodeArgs {
                    $($field: self.$field.clone(),)*
                    flag_prefix: "summary-",
                }
            }
        }
    };
}

decode_flags! {
    /// Beam width (num_beams); 1 is greedy search; at most 64.
    beams: usize, "beams", "BEAMS", [value_parser = beams_value];
    /// Longest output in tokens, counting the decoder start token (max_length; at least 2, at
    /// most the model's positions + 1).
    max_length: usize, "max-length", "MAX_LENGTH", [value_parser = max_length_value];
    /// Most new tokens, not counting the decoder start token (max_new_tokens; wins over
    /// --max-length; at most the model's positions).
    max_new_tokens: usize, "max-new-tokens", "MAX_NEW_TOKENS", [value_parser = tokens_value];
    /// Shortest output in tokens, counting the decoder start token (min_length).
    min_length: usize, "min-length", "MIN_LENGTH", [value_parser = length_value];
    /// Fewest new tokens (min_new_tokens).
    min_new_tokens: usize, "min-new-tokens", "MIN_NEW_TOKENS", [value_parser = length_value];
    /// Beam score = log-probability / length^P (length_penalty).
    length_penalty: f32, "length-penalty", "LENGTH_PENALTY", [value_parser = finite, allow_hyphen_values = true];
    /// Forbid repeating any n-gram of this size (no_repeat_ngram_size).
    no_repeat_ngram_size: usize, "no-repeat-ngram-size", "NO_REPEAT_NGRAM_SIZE", [value_parser = length_value];
    /// Penalize tokens already generated (repetition_penalty, above 0; 1.0 = off).
    repetition_penalty: f32, "repetition-penalty", "REPETITION_PENALTY",
        [value_parser = positive_finite, allow_hyphen_values = true];
    /// Beam-search stopping rule: true, false or never (early_stopping).
    early_stopping: EarlyStopping, "early-stopping", "EARLY_STOPPING",
        [value_parser = |s: &str| s.parse::<EarlyStopping>().map_err(|e| e.to_string())];
    /// Sample each next token from the model's distribution instead of taking the most likely
    /// (do_sample; one beam only: add --beams 1 for models that default to beam search).
    /// Warpers in transformers' order: --temperature, --top-k, --top-p.
    do_sample: bool, "do-sample", "DO_SAMPLE", [num_args = 0, default_missing_value = "true"];
    /// Divide the scores by T before top-k and top-p when sampling (temperature; above 0).
    temperature: f32, "temperature", "TEMPERATURE", [value_parser = positive_finite];
    /// Sample only among the K most likely tokens (top_k; at least 1; 50 when sampling without
    /// it).
    top_k: usize, "top-k", "TOP_K", [value_parser = positive];
    /// Sample only among the smallest set of most likely tokens whose probabilities add up to
    /// at least P (top_p; above 0, at most 1).
    top_p: f32, "top-p", "TOP_P", [value_parser = top_p_value];
    /// Seed of the sampling (default 0, so runs repeat): each segment draws from its own
    /// stream, numbered by its place in its own file, whatever the batch size or other files.
    seed: u64, "seed", "SEED", [];
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
            (Some(n), _) => Some(("min-new-tokens", n, n.saturating_add(1))),
            (None, Some(n)) => Some(("min-length", n, n)),
            (None, None) => None,
        };
        let max = match (self.max_new_tokens, self.max_length) {
            (Some(n), _) => Some(("max-new-tokens", n, n.saturating_add(1))),
            (None, Some(n)) => Some(("max-length", n, n)),
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
            let flag = self.flag(flag);
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

    /// The flag called `name` (`max-length`) as the user typed it: `--max-length`, or
    /// `--summary-max-length` for [`SummaryDecodeArgs`].
    pub fn flag(&self, name: &str) -> String {
        format!("--{}{name}", self.flag_prefix)
    }

    /// What follows a length-limit warning: `; raise --max-length` when that flag set the
    /// limit (and `--max-new-tokens` was not given), else `; raise --max-new-tokens` (with
    /// this group's prefix: `--summary-max-new-tokens`).
    pub fn length_hint(&self) -> String {
        let flag = if self.max_new_tokens.is_none() && self.max_length.is_some() {
            "max-length"
        } else {
            "max-new-tokens"
        };
        format!("; raise {}", self.flag(flag))
    }

    /// Checks the length flags against the loaded model's decoder positions (`positions`, the
    /// `max_position_embeddings` of `model`; `None` for models with relative positions such as
    /// T5, which have no such limit), right after the model loads and before any input is
    /// translated. The decoder is fed the start token and every new token but the last, so
    /// `--max-new-tokens`/`--min-new-tokens` may be at most `positions`, and
    /// `--max-length`/`--min-length` (which count the start token) `positions + 1`.
    ///
    /// Errors: a [`Usage`] error (exit 2) naming the flag, its value, the model and its
    /// positions.
    pub fn check_positions(&self, model: &str, positions: Option<usize>) -> Result<(), Usage> {
        let Some(p) = positions else {
            return Ok(());
        };
        let flags = [
            ("max-new-tokens", self.max_new_tokens, p),
            ("min-new-tokens", self.min_new_tokens, p),
            ("max-length", self.max_length, p + 1),
            ("min-length", self.min_length, p + 1),
        ];
        for (flag, value, limit) in flags {
            if let Some(n) = value.filter(|&n| n > limit) {
                let start = if limit > p {
                    format!(" (at most {limit} counting the decoder start token)")
                } else {
                    String::new()
                };
                return Err(Usage(format!(
                    "{} {n}: the model {model} has {p} positions{start}",
                    self.flag(flag)
                )));
            }
        }
        Ok(())
    }

    /// The generation settings of a translator `pipe` under these flags: the model's, with the
    /// flags applied as the user's; checks the flags against its positions first
    /// ([`DecodeArgs::check_positions`]) and prints transformers' warnings about the result
    /// ([`print_generation_warnings`]).
    ///
    /// Errors: a [`Usage`] error from [`DecodeArgs::check_positions`].
    pub fn generation_for(
        &self,
        pipe: &Seq2SeqPipeline,
    ) -> Result<tarjama::decoding::GenerationConfig, Usage> {
        self.check_positions(&pipe.info.name, pipe.generation.max_position_embeddings)?;
        let mut generation = pipe.generation.clone();
        generation.apply(&self.patch(), tarjama::decoding::ChosenBy::User);
        self.check_sampling(&pipe.info.name, &generation)?;
        print_generation_warnings(&generation);
        Ok(generation)
    }

    /// The settings these flags ask for, to apply as the user's
    /// ([`tarjama::decoding::ChosenBy::User`]).
    pub fn patch(&self) -> GenerationPatch {
        GenerationPatch {
            num_beams: self.beams,
            max_length: self.max_length,
            max_new_tokens: self.max_new_tokens,
            min_length: self.min_length,
            min_new_tokens: self.min_new_tokens,
            length_penalty: self.length_penalty.map(f64::from),
            no_repeat_ngram_size: self.no_repeat_ngram_size,
            repetition_penalty: self.repetition_penalty.map(f64::from),
            early_stopping: self.early_stopping,
            do_sample: self.do_sample.filter(|&d| d),
            temperature: self.temperature.map(f64::from),
            top_k: self.top_k,
            top_p: self.top_p.map(f64::from),
            seed: self.seed,
            ..GenerationPatch::default()
        }
    }

    /// Checks the settings these flags lead to with the loaded model's defaults (`generation`,
    /// after [`Self::patch`] was applied): sampling with more than one beam (transformers' beam
    /// sampling, which tarjama does not implement) is refused, naming where the beams came
    /// from.
    ///
    /// Errors: a [`Usage`] error (exit 2) that says to add `--beams 1`.
    pub fn check_sampling(
        &self,
        model: &str,
        generation: &tarjama::decoding::GenerationConfig,
    ) -> Result<(), Usage> {
        if !generation.do_sample || generation.num_beams == 1 {
            return Ok(());
        }
        let n = generation.num_beams;
        let beams = match self.beams {
            Some(_) => format!("--{}beams {n}", self.flag_prefix),
            None => format!("the model {model} defaults to {n} beams"),
        };
        let flag = format!("--{}do-sample", self.flag_prefix);
        let sample = if self.do_sample == Some(true) {
            flag.as_str()
        } else {
            "do_sample (from the model's files)"
        };
        Err(Usage(format!(
            "{sample}: sampling with more than one beam (beam sampling) is not supported \
             ({beams}); add --{}beams 1",
            self.flag_prefix
        )))
    }
}

/// A usage error found after the model loaded (a flag beyond what the model can do, see
/// [`DecodeArgs::check_positions`]): reported like the other usage errors, with exit 2, though
/// the model was loaded first (no input has been processed yet).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Prints the warnings transformers would give about `generation` (see
/// [`tarjama::decoding::GenerationConfig::warnings`]) on stderr, one `warning:` line each,
/// and returns them (for a JSON output's `warnings`).
pub fn print_generation_warnings(generation: &tarjama::decoding::GenerationConfig) -> Vec<String> {
    let warnings = generation.warnings();
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    warnings
}

/// How inputs are read: `--encoding`.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Character encoding of the inputs: auto (a BOM decides, UTF-8 without one), utf-8,
    /// utf-16, cp1256 (Windows Arabic) or iso-8859-6.
    #[arg(long, default_value = "auto", value_parser = parsed::<Encoding>)]
    pub encoding: Encoding,
}

/// The name of an input in messages: `<stdin>` for `-`.
pub fn input_name(path: &Path) -> PathBuf {
    if path == Path::new("-") {
        PathBuf::from("<stdin>")
    } else {
        path.to_path_buf()
    }
}

/// Reads one input (`-` = stdin) as text in `encoding` ([`tarjama::text::script::decode`]).
/// Whitespace-only text is returned as it is: the commands give empty output for it, with
/// [`empty_note`].
///
/// Errors (naming the path): missing or unreadable file, a directory, bytes not valid in the
/// encoding (with the byte offset and, under `auto`, the likely encoding), or a NUL byte.
pub fn read_text_input(path: &Path, encoding: Encoding) -> tarjama::Result<String> {
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
    decode(&bytes, encoding).map_err(|e| Error::input(input_name(path), e.to_string()))
}

/// Whether an input has nothing but whitespace; then prints `note: FILE: empty input (nothing
/// to WHAT)` on stderr.
pub fn empty_note(path: &Path, text: &str, what: &str) -> bool {
    let empty = text.trim().is_empty();
    if empty {
        eprintln!(
            "note: {}: empty input (nothing to {what})",
            input_name(path).display()
        );
    }
    empty
}

/// Where a command's result goes: `-o`/`--output` and `--force`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Write the output to this file (atomically) instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

impl OutputArgs {
    /// The output, checked before any work against `inputs` (see [`Output::new`]).
    pub fn open(&self, inputs: &[PathBuf]) -> anyhow::Result<Output> {
        Output::new(self.output.as_deref(), inputs, self.force)
    }
}

/// Where results go: stdout, a file written atomically, or a device or FIFO written straight.
pub enum Output {
    /// Standard output.
    Stdout,
    /// A regular file (or a new one): written to a temporary file in the same directory, then
    /// renamed over `path`. `-o` through a symlink gives the link's target here, so the link
    /// stays.
    File(PathBuf),
    /// A character device, a FIFO or an open descriptor (`/dev/null`, a named pipe,
    /// `/dev/stdout`): written straight, never replaced.
    Stream(PathBuf),
}

impl Output {
    /// Checks `-o PATH` before any work, through symlinks ([`fsio::output_target`]): a
    /// directory, socket or other non-regular file is refused; an existing regular file may not
    /// be one of the inputs, and is replaced only with `force`. Devices and FIFOs need neither.
    pub fn new(path: Option<&Path>, inputs: &[PathBuf], force: bool) -> anyhow::Result<Output> {
        let Some(path) = path else {
            return Ok(Output::Stdout);
        };
        if path == Path::new("-") {
            return Ok(Output::Stdout);
        }
        let target = match fsio::output_target(path)? {
            fsio::OutputTarget::Stream(p) => return Ok(Output::Stream(p)),
            fsio::OutputTarget::File(p) => p,
        };
        if target.exists() {
            let canon = std::fs::canonicalize(&target).ok();
            let is_input = canon.is_some()
                && inputs
                    .iter()
                    .any(|i| std::fs::canonicalize(i).ok() == canon);
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
        Ok(Output::File(target))
    }

    /// Writes `content` (atomically for files).
    pub fn write(&self, content: &str) -> anyhow::Result<()> {
        match self {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                match out.write_all(content.as_bytes()).and_then(|_| out.flush()) {
                    // The reader went away (`tarjama ... | head`): nothing more to do.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    Err(e) => Err(Error::io("<stdout>", e).into()),
                    Ok(()) => Ok(()),
                }
            }
            Output::File(path) => write_atomic(path, content.as_bytes()),
            Output::Stream(path) => match fsio::write_stream(path, content.as_bytes()) {
                // As for stdout: the pipe's reader went away.
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::BrokenPipe =>
                {
                    Ok(())
                }
                other => Ok(other?),
            },
        }
    }
}

impl Output {
    /// A writer that takes the output piece by piece ([`OutputWriter`]).
    pub fn writer(&self) -> OutputWriter<'_> {
        OutputWriter {
            output: self,
            stream: None,
            buffer: Vec::new(),
            closed: false,
        }
    }
}

/// Writes an [`Output`] as it is produced: each piece goes to stdout, a device or a FIFO at
/// once (flushed), while a file's pieces are kept and written atomically by
/// [`OutputWriter::finish`]. When the reader of stdout or a FIFO goes away (EPIPE:
/// `tarjama translate big.txt | head -1`), the writer is [closed](OutputWriter::is_closed)
/// and drops what comes after; that is not an error.
pub struct OutputWriter<'a> {
    output: &'a Output,
    /// The device or FIFO of [`Output::Stream`], opened at the first piece.
    stream: Option<std::fs::File>,
    /// [`Output::File`]'s pieces so far.
    buffer: Vec<u8>,
    closed: bool,
}

impl OutputWriter<'_> {
    /// Writes `piece` (for stdout and streams: now, flushed). A closed pipe is not an error:
    /// the writer is closed and the piece dropped.
    pub fn write(&mut self, piece: &str) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = match self.output {
            Output::File(_) => {
                self.buffer.extend_from_slice(piece.as_bytes());
                return Ok(());
            }
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(piece.as_bytes()).and_then(|_| out.flush())
            }
            Output::Stream(path) => {
                if self.stream.is_none() {
                    self.stream = Some(fsio::open_stream(path)?);
                }
                let f = self.stream.as_mut().expect("opened above");
                match f.write_all(piece.as_bytes()).and_then(|_| f.flush()) {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                        return Err(Error::io(path, e).into())
                    }
                    other => other,
                }
            }
        };
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            // Only stdout's errors come here unnamed (a stream's are named above).
            Err(e) => Err(Error::io("<stdout>", e).into()),
            Ok(()) => Ok(()),
        }
    }

    /// Whether the reader of stdout or of the FIFO has gone away: a write met EPIPE, or (on
    /// Unix) the descriptor polls as broken (`POLLERR`, which Linux reports on a pipe without
    /// readers), so the caller can stop before it writes again. Never for files.
    pub fn is_closed(&mut self) -> bool {
        if !self.closed {
            let fd = match (self.output, &self.stream) {
                (Output::Stdout, _) => Some(1),
                #[cfg(unix)]
                (Output::Stream(_), Some(f)) => Some(std::os::fd::AsRawFd::as_raw_fd(f)),
                _ => None,
            };
            self.closed = fd.is_some_and(reader_gone);
        }
        self.closed
    }

    /// Finishes the output: writes a file's pieces atomically ([`write_atomic`]).
    pub fn finish(self) -> anyhow::Result<()> {
        match self.output {
            Output::File(path) => write_atomic(path, &self.buffer),
            Output::Stdout | Output::Stream(_) => Ok(()),
        }
    }
}

/// Whether descriptor `fd` is a pipe whose reader has gone away (it polls with `POLLERR`).
#[cfg(unix)]
fn reader_gone(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd for the duration of the call; a timeout of 0 never blocks.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & libc::POLLERR != 0
}

/// Without `poll`, a closed pipe is seen at the next write.
#[cfg(not(unix))]
fn reader_gone(_fd: i32) -> bool {
    false
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename
/// ([`tarjama::fsio::replace`]), so `path` never holds a partial result. A replaced file keeps
/// its mode; a new one gets 0666 less the umask (the rule `batch` follows too).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        anyhow::bail!("{}: no such directory", dir.display());
    }
    fsio::replace(&dir, path, bytes, ".tarjama-", "").map_err(|e| {
        let what = match e.step {
            WriteStep::CreateTemp => {
                format!("{}: cannot create a file in this directory", dir.display())
            }
            WriteStep::Write => format!("{}: write failed", path.display()),
            WriteStep::Sync => format!("{}: sync failed", path.display()),
            WriteStep::Persist => {
                return anyhow::anyhow!(
                    "{}: cannot move the output into place: {}",
                    path.display(),
                    e.source
                )
            }
        };
        anyhow::Error::new(e.source).context(what)
    })
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

/// `record` as pretty-printed JSON with a final newline, through [`serde_json::Value`], whose
/// maps sort their keys (the order the JSON outputs of `summarize` and `run` print).
pub fn json_record<T: serde::Serialize>(record: &T) -> anyhow::Result<String> {
    let v = serde_json::to_value(record)?;
    Ok(format!("{}\n", serde_json::to_string_pretty(&v)?))
}

/// Clap value parser for a flag whose value the library parses: parsed once, so a bad value is a
/// usage error (exit 2) before any work.
pub fn parsed<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| e.to_string())
}

/// [`parsed`], keeping the text as typed.
pub fn typed<T>(s: &str) -> Result<Typed<T>, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    Ok(Typed {
        value: parsed(s)?,
        text: s.to_string(),
    })
}

/// Clap value parser for a count that must be at least 1.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The most beams `--beams` takes. transformers has no cap, but memory has one: beam search
/// keeps a decoder cache (keys and values of every layer, for the whole output) per beam and
/// input, so memory grows with beams × batch size, and `--beams 1000000` runs a machine out of
/// memory before the first token. 64 is 16 times the 4 beams opus-mt and BART-CNN ship with.
pub const MAX_BEAMS: usize = 64;

/// The most segments `--batch-size` takes (each costs a cache per beam, as [`MAX_BEAMS`] says).
pub const MAX_BATCH_SIZE: usize = 1024;

/// The most padded tokens `--max-batch-tokens` takes: [`MAX_BATCH_SIZE`] rows of
/// [`MAX_TOKENS`] tokens each (67,108,864), a bound no batch `--batch-size` allows can pass.
pub const MAX_BATCH_TOKENS: usize = MAX_BATCH_SIZE * MAX_TOKENS;

/// The most threads `--threads` takes.
pub const MAX_THREADS: usize = 1024;

/// The longest length a length flag takes before the model is known (the model's positions
/// are checked after it loads, [`DecodeArgs::check_positions`]; models with relative positions,
/// T5, have none).
pub const MAX_TOKENS: usize = 65_536;

/// A count between `min` and `max`; `why` follows the message of a value above `max`.
fn bounded(s: &str, min: usize, max: usize, why: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n < min => Err(format!("must be at least {min}")),
        Ok(n) if n > max => Err(format!("must be at most {max}{why}")),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Clap value parser for `--beams`: 1 to [`MAX_BEAMS`].
pub fn beams_value(s: &str) -> Result<usize, String> {
    bounded(
        s,
        1,
        MAX_BEAMS,
        " (each beam keeps its own decoder cache: memory grows with beams × batch size)",
    )
}

/// Clap value parser for `--batch-size`: 1 to [`MAX_BATCH_SIZE`].
pub fn batch_size_value(s: &str) -> Result<usize, String> {
    bounded(s, 1, MAX_BATCH_SIZE, "")
}

/// Most files `batch --files-per-group` takes (their texts are held in memory together).
pub const MAX_FILES_PER_GROUP: usize = 100_000;

/// Clap value parser for `batch --files-per-group`: 1 to [`MAX_FILES_PER_GROUP`].
pub fn files_per_group_value(s: &str) -> Result<usize, String> {
    bounded(s, 1, MAX_FILES_PER_GROUP, "")
}

/// Clap value parser for `--max-batch-tokens`: 1 to [`MAX_BATCH_TOKENS`].
pub fn max_batch_tokens_value(s: &str) -> Result<usize, String> {
    bounded(s, 1, MAX_BATCH_TOKENS, "")
}

/// Clap value parser for `--threads`: 1 to [`MAX_THREADS`].
pub fn threads_value(s: &str) -> Result<usize, String> {
    bounded(s, 1, MAX_THREADS, "")
}

/// Clap value parser for `--max-new-tokens`: 1 to [`MAX_TOKENS`].
pub fn tokens_value(s: &str) -> Result<usize, String> {
    bounded(s, 1, MAX_TOKENS, "")
}

/// Clap value parser for `--min-length`, `--min-new-tokens`, `--no-repeat-ngram-size`: 0 to
/// [`MAX_TOKENS`].
pub fn length_value(s: &str) -> Result<usize, String> {
    bounded(s, 0, MAX_TOKENS, "")
}

/// Clap value parser for `--max-length`, which counts the decoder start token: at least 2
/// leaves room for one new token; at most [`MAX_TOKENS`].
pub fn max_length_value(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n < 2 => Err(
            "must be at least 2 (it counts the decoder start token; --max-new-tokens does not)"
                .into(),
        ),
        _ => bounded(s, 2, MAX_TOKENS, ""),
    }
}

/// Clap value parser for a finite number above 0.
pub fn positive_finite(s: &str) -> Result<f32, String> {
    match finite(s)? {
        x if x > 0.0 => Ok(x),
        _ => Err("must be a number above 0".into()),
    }
}

/// Clap value parser for `--top-p`: above 0, at most 1.
pub fn top_p_value(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(x) if x > 0.0 && x <= 1.0 => Ok(x),
        Ok(_) => Err("must be above 0 and at most 1".into()),
        Err(e) => Err(e.to_string()),
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
pub fn shard_value(s: &str) -> Result<tarjama::pipeline::batch::Shard, String> {
    s.parse()
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

/// Clap value parser for `--dtype`: f32, f16 or bf16.
pub fn dtype_value(s: &str) -> Result<candle_core::DType, String> {
    tarjama::pipeline::parse_dtype(s).map_err(|e| e.to_string())
}

/// Clap value parser for `--max-input-tokens`: room for at least one text token and `</s>`.
pub fn min_input_tokens(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n < 2 => Err("must be at least 2".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use tarjama::error::{ResolveError, ResolveKind};

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        decode: DecodeArgs,
    }

    fn flags(args: &[&str]) -> Result<DecodeArgs, String> {
        Flags::try_parse_from(std::iter::once("tarjama").chain(args.iter().copied()))
            .map(|f| f.decode)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn decode_flags_become_a_patch_of_typed_values() {
        let d = flags(&[
            "--beams",
            "3",
            "--max-length",
            "40",
            "--length-penalty",
            "-0.5",
            "--repetition-penalty",
            "1.25",
            "--early-stopping",
            "Never",
        ])
        .unwrap();
        assert_eq!(d.early_stopping, Some(EarlyStopping::Never));
        assert_eq!(
            d.patch(),
            GenerationPatch {
                num_beams: Some(3),
                max_length: Some(40),
                length_penalty: Some(-0.5),
                repetition_penalty: Some(1.25),
                early_stopping: Some(EarlyStopping::Never),
                ..GenerationPatch::default()
            }
        );
        assert!(flags(&[]).unwrap().patch().is_empty());
        let err = flags(&["--early-stopping", "sometimes"]).unwrap_err();
        assert!(
            err.contains(
                "invalid value 'sometimes' for '--early-stopping <EARLY_STOPPING>': \
                 early stopping must be true, false or never, not \"sometimes\""
            ),
            "{err}"
        );
    }

    #[test]
    fn resolve_errors_are_worded_for_the_flag_that_named_the_model() {
        let not_cached = ResolveError::new(
            "someone/x",
            ResolveKind::NotCached {
                cache_dir: "/cache".into(),
            },
        );
        for flag in ["--model", "--translator", "--summarizer"] {
            let e = for_flag(Error::Resolve(not_cached.clone()), flag);
            assert_eq!(
                e.to_string(),
                format!(
                    "HF_HUB_OFFLINE is set and someone/x is not in the Hugging Face cache \
                     (/cache); download it with the network on, or pass {flag} /path/to/dir"
                )
            );
            let e = for_flag(
                Error::Resolve(ResolveError::new("", ResolveKind::Empty)),
                flag,
            );
            assert_eq!(e.to_string(), format!("{flag} is empty"));
        }
        // Other errors keep their words.
        let e = for_flag(Error::Model("m: broken".into()), "--summarizer");
        assert_eq!(e.to_string(), "m: broken");
    }

    #[test]
    fn flag_values_are_parsed_once_and_keep_their_text() {
        let q = typed::<Quantization>("Q8_0").unwrap();
        assert_eq!(q.value, Quantization::Q8_0);
        assert_eq!(q.text, "Q8_0");
        assert_eq!(parsed::<DeviceChoice>("cpu").unwrap(), DeviceChoice::Cpu);
        assert!(parsed::<DeviceChoice>("tpu").unwrap_err().contains("tpu"));
        assert_eq!(dtype_value("bf16").unwrap(), candle_core::DType::BF16);
        assert!(dtype_value("f64").is_err());
        let shard = shard_value("2/8").unwrap();
        assert_eq!(shard, "2/8".parse().unwrap());
        assert_eq!(
            shard_value("4/3").unwrap_err(),
            "expected K/N with 1 <= K <= N (e.g. 2/8)"
        );
    }
}
