//! `tarjama batch`: translate and/or summarize every file of a folder, with progress, resume,
//! atomic outputs and sharding. The work is [`tarjama::pipeline::batch`]; this file parses flags
//! and loads the models; [`super::progress::BatchProgress`] draws the progress.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::common::{
    batch_size_value, files_per_group_value, fraction, max_batch_tokens_value, parsed, print_stats,
    shard_value, DecodeArgs, InputArgs, LanguageArgs, ModelArgs, SummaryDecodeArgs, Usage,
};
use super::progress::BatchProgress;
use super::summarize::{load_summarizer, SummarizerArgs};
use super::warn::Warnings;
use tarjama::hub::DEFAULT_TRANSLATOR;
use tarjama::pipeline::batch::{
    self, BatchSettings, ManifestEntry, Mode, Models, OutDirLock, OutputFormat, Progress, Shard,
    Task, Totals,
};
use tarjama::pipeline::run::RunSettings;
use tarjama::pipeline::stats::Stats;
use tarjama::pipeline::summarizer;
use tarjama::pipeline::translate::TranslateSettings;
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::text::Normalization;

/// Exit code when the run finished but some inputs failed (see the manifest).
pub const EXIT_SOME_FAILED: i32 = 3;

const EXIT_CODES: &str = "\
Exit codes:
  0  every input was processed or deliberately skipped (empty, too large, not Arabic, ...)
  1  fatal error: nothing or only part was done (model flags that do not fit --task,
     unreadable INPUT_DIR, outputs of an earlier run without --resume/--overwrite, a model that
     fails to load, a full disk); what was recorded in the manifest stays valid, so --resume
     continues from there; also when another tarjama batch is running on OUT_DIR
  2  bad usage (unknown flag, missing argument, bad flag value such as --shard 4/3)
  3  the run finished but some inputs failed (unreadable, binary, invalid UTF-8, model error):
     see the records with \"status\":\"failed\" in the manifest
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM: the group in flight was finished and
     recorded; rerun with --resume to do the rest (a second Ctrl-C stops at once)";

/// `--task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    /// Translate Arabic into English: a/b.txt gives a/b.en.txt.
    Translate,
    /// Summarize each text as it is: a/b.txt gives a/b.summary.txt.
    Summarize,
    /// Translate, then summarize the translation (as `tarjama run`): a/b.en.txt and
    /// a/b.summary.en.txt.
    Run,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A tree of text files mirroring the input tree.
    Text,
    /// One record per input in OUT_DIR/results.jsonl.
    Jsonl,
}

/// The examples at the end of `tarjama batch --help`.
const BATCH_EXAMPLES: &str = "\
Examples:
  tarjama batch corpus/ -o out/
  tarjama batch corpus/ -o out/ --task run --resume
  tarjama batch corpus/ -o out/ --glob '**/*.txt' --shard 1/4";

/// Flags of `tarjama batch`.
#[derive(Debug, Args)]
#[command(
    after_help = format!("{EXIT_CODES}\n\n{BATCH_EXAMPLES}"),
    mut_arg("model", |a| crate::with_default(
        a,
        "opus-mt-tc-big-ar-en; distilbart-cnn-12-6 with --task summarize"
    )),
    mut_arg("lang", |a| a.help(
        "With --task summarize: language of the texts (default: the preset's, else en)"
    )),
    mut_arg("prompt", |a| a.help(
        "A prompt template file with a {text} placeholder for the summarizer"
    )),
    mut_arg("strategy", |a| a.help("Summarizer strategy for long texts: map-reduce or truncate")),
    mut_arg("max_input_tokens", |a| a.help(
        "Summarizer input limit in tokens (default: the model's)"
    ))
)]
pub struct BatchArgs {
    /// The folder of input files (read recursively; names starting with '.' are left out).
    pub input_dir: PathBuf,
    /// The output folder (created if missing). It may lie inside INPUT_DIR; it is not read.
    #[arg(short = 'o', long = "output", value_name = "OUT_DIR")]
    pub output_dir: PathBuf,
    /// What to do with each file.
    #[arg(long, value_enum, default_value_t = TaskArg::Translate)]
    pub task: TaskArg,
    /// Only files matching this glob: without '/', matched against the file name ('*.txt'),
    /// with '/', against the path relative to INPUT_DIR ('2024/**/*.txt'). Default: every file.
    #[arg(long, value_name = "PATTERN", value_parser = glob_value)]
    pub glob: Option<String>,
    /// Continue an earlier run: skip inputs whose manifest record is ok with the same content
    /// hash, settings and model revisions, and redo the rest. Replaces only outputs the manifest
    /// records; refuses, like a run without it, when another file is in an output's place.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Redo every input, replacing the outputs of an earlier run.
    #[arg(long)]
    pub overwrite: bool,
    /// Only the inputs of shard K of N (1-based), chosen by a hash of each relative path, so N
    /// processes given 1/N .. N/N cover the folder exactly once.
    #[arg(long, value_name = "K/N", value_parser = shard_value)]
    pub shard: Option<Shard>,
    /// Segments per model batch.
    #[arg(long, default_value_t = 8, value_parser = batch_size_value)]
    pub batch_size: usize,
    /// Also cut translation batches at N padded source tokens (segments × the longest one's
    /// tokens; a longer segment is a batch alone); output is unchanged. At most 67108864.
    #[arg(long, value_name = "N", value_parser = max_batch_tokens_value)]
    pub max_batch_tokens: Option<usize>,
    /// Files whose segments are batched together before their outputs and manifest records are
    /// written (larger: better batches; smaller: progress and manifest advance more often);
    /// 1 to 100000.
    #[arg(long, default_value_t = batch::DEFAULT_FILES_PER_GROUP, value_parser = files_per_group_value)]
    pub files_per_group: usize,
    /// Output layout.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Skip inputs larger than this many bytes.
    #[arg(long, default_value_t = batch::DEFAULT_MAX_BYTES)]
    pub max_bytes: u64,
    /// For translate and run: skip inputs in which less than this share (0 to 1) of the letters
    /// are Arabic script (digits, punctuation and spaces do not count).
    #[arg(
        long,
        default_value_t = batch::DEFAULT_MIN_ARABIC,
        value_parser = fraction,
        allow_hyphen_values = true
    )]
    pub min_arabic: f64,
    /// Print timings, token counts and peak memory as one JSON line on stderr when done.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// With --task run: the translation model (default: opus-mt-tc-big-ar-en), optionally
    /// NAME@REVISION.
    #[arg(long)]
    pub translator: Option<String>,
    /// With --task run: the summarization model (default: distilbart-cnn-12-6), optionally
    /// NAME@REVISION.
    #[arg(long)]
    pub summarizer: Option<String>,
    #[command(flatten)]
    pub languages: LanguageArgs,
    /// Normalization of the Arabic text (default, none, strip-diacritics).
    #[arg(long, default_value = "default", value_parser = parsed::<Normalization>)]
    pub normalize: Normalization,
    #[command(flatten)]
    pub summary: SummarizerArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    #[command(flatten, next_help_heading = "Summarizer decoding (--task run)")]
    pub summary_decode: SummaryDecodeArgs,
}

impl BatchArgs {
    /// The library's settings.
    fn settings(&self) -> anyhow::Result<BatchSettings> {
        let task = match self.task {
            TaskArg::Translate => Task::Translate,
            TaskArg::Summarize => Task::Summarize,
            TaskArg::Run => Task::Run,
        };
        let mut s = BatchSettings::new(&self.input_dir, &self.output_dir, task);
        s.glob = self.glob.clone();
        s.mode = if self.resume {
            Mode::Resume
        } else if self.overwrite {
            Mode::Overwrite
        } else {
            Mode::Fresh
        };
        s.shard = self.shard;
        s.format = match self.format {
            FormatArg::Text => OutputFormat::Text,
            FormatArg::Jsonl => OutputFormat::Jsonl,
        };
        s.max_bytes = self.max_bytes;
        s.min_arabic = self.min_arabic;
        s.encoding = self.input.encoding;
        s.files_per_group = self.files_per_group;
        Ok(s)
    }

    /// Checks that the model flags fit the task.
    fn check_model_flags(&self) -> Result<(), Usage> {
        let usage = |msg: &str| Err(Usage(msg.to_string()));
        match self.task {
            TaskArg::Run => {
                if self.model.model.is_some() {
                    return usage("--task run takes --translator and --summarizer, not --model");
                }
                if self.model.revision.is_some() {
                    return usage(
                        "--revision applies to --model; with --task run give each model's \
                         revision as --translator NAME@REVISION / --summarizer NAME@REVISION",
                    );
                }
            }
            TaskArg::Translate if self.summarizer.is_some() => {
                return usage("--summarizer needs --task run or summarize");
            }
            TaskArg::Summarize if self.translator.is_some() => {
                return usage("--translator needs --task run or translate");
            }
            TaskArg::Translate if self.model.model.is_some() && self.translator.is_some() => {
                return usage(
                    "--model and --translator both name the model of --task translate: give one",
                );
            }
            TaskArg::Summarize if self.model.model.is_some() && self.summarizer.is_some() => {
                return usage(
                    "--model and --summarizer both name the model of --task summarize: give one",
                );
            }
            _ => {}
        }
        if let Some(flag) = self
            .summary_decode
            .given()
            .filter(|_| self.task != TaskArg::Run)
        {
            return Err(Usage(format!(
                "{flag} applies to --task run (with --task translate or summarize the plain \
                 decoding flags, --beams, ..., decode the one model)"
            )));
        }
        if self.summary.lang.is_some() && self.task != TaskArg::Summarize {
            return usage("--lang applies to --task summarize (translate and run read Arabic)");
        }
        Ok(())
    }

    /// Warns about flags the chosen `--task` does not use (`--lang` outside summarize and
    /// `--summarizer`/`--translator` with the wrong task are errors, see
    /// [`Self::check_model_flags`]).
    fn warn_unused_flags(&self, warnings: &mut Warnings) {
        match self.task {
            TaskArg::Summarize => warnings.no_effect(
                &self.languages.given(),
                "--task summarize runs no translator",
            ),
            TaskArg::Translate => warnings.no_effect(
                &[
                    ("--prompt", self.summary.prompt.is_some()),
                    (
                        "--max-input-tokens",
                        self.summary.max_input_tokens.is_some(),
                    ),
                ],
                "--task translate runs no summarizer",
            ),
            TaskArg::Run => {}
        }
    }

    fn translate_settings(
        &self,
        pipe: &mut Seq2SeqPipeline,
        warnings: &mut Warnings,
    ) -> anyhow::Result<TranslateSettings> {
        self.languages.apply(pipe, warnings)?;
        Ok(TranslateSettings {
            normalization: self.normalize,
            generation: self.decode.generation_for(pipe)?,
            batch_size: self.batch_size,
            max_batch_tokens: self.max_batch_tokens,
        })
    }
}

/// Runs `tarjama batch`; returns 0, or [`EXIT_SOME_FAILED`] when some inputs failed.
pub fn run(args: BatchArgs) -> anyhow::Result<i32> {
    args.check_model_flags()?;
    let settings = args.settings()?;
    // One run per OUT_DIR at a time; held until this function returns.
    let _lock = OutDirLock::take(&settings.output_dir, settings.shard)?;
    // Everything that can refuse does so here, before a model is loaded or a file written.
    let plan = batch::plan(&settings)?;
    let mut warnings = Warnings::default();
    args.warn_unused_flags(&mut warnings);
    if let (Some(glob), 0) = (&args.glob, plan.found) {
        warnings.warn(format!(
            "--glob {glob} matches no file in {}; nothing to do",
            args.input_dir.display()
        ));
    }

    let signal = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once; the first asks to stop between groups.
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stop))?;
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    let mut progress = Interruptible {
        inner: BatchProgress::new(args.model.quiet),
        stop: &stop,
    };
    let mut stats = Stats::default();
    let model_args = |name: Option<String>| ModelArgs {
        model: name,
        ..args.model.clone()
    };
    let report = match settings.task {
        Task::Translate => {
            let name = args
                .model
                .model
                .clone()
                .or_else(|| args.translator.clone())
                .unwrap_or_else(|| DEFAULT_TRANSLATOR.to_string());
            let flag = match (&args.model.model, &args.translator) {
                (None, Some(_)) => "--translator",
                _ => "--model",
            };
            let mut pipe = ModelArgs {
                flag: Some(flag),
                ..model_args(Some(name))
            }
            .load(DEFAULT_TRANSLATOR)?;
            stats.load_seconds += pipe.load_seconds;
            let tsettings = args.translate_settings(&mut pipe, &mut warnings)?;
            let models = Models::Translate {
                pipe: &pipe,
                settings: &tsettings,
            };
            batch::run(&plan, &models, &mut progress, &mut stats)?
        }
        Task::Summarize => {
            let name = args.model.model.clone().or_else(|| args.summarizer.clone());
            let flag = match (&args.model.model, &args.summarizer) {
                (None, Some(_)) => "--summarizer",
                _ => "--model",
            };
            let (pipe, mut ssettings) = load_summarizer(
                &ModelArgs {
                    flag: Some(flag),
                    ..model_args(name)
                },
                &args.decode,
                args.summary.prompt.as_deref(),
                args.summary.strategy,
                args.summary.lang.map(Into::into),
            )?;
            ssettings.max_input_tokens = args.summary.max_input_tokens;
            stats.load_seconds += pipe.load_seconds;
            let models = Models::Summarize {
                pipe: &pipe,
                settings: &ssettings,
            };
            batch::run(&plan, &models, &mut progress, &mut stats)?
        }
        Task::Run => {
            let name = args
                .translator
                .clone()
                .unwrap_or_else(|| DEFAULT_TRANSLATOR.to_string());
            let mut translator = ModelArgs {
                flag: Some("--translator"),
                revision: None,
                ..model_args(Some(name))
            }
            .load(DEFAULT_TRANSLATOR)?;
            let tsettings = args.translate_settings(&mut translator, &mut warnings)?;
            let (summarizer, mut ssettings) = load_summarizer(
                &ModelArgs {
                    flag: Some("--summarizer"),
                    ..model_args(args.summarizer.clone())
                },
                &args.summary_decode.decode(),
                args.summary.prompt.as_deref(),
                args.summary.strategy,
                Some(summarizer::Lang::En),
            )?;
            ssettings.max_input_tokens = args.summary.max_input_tokens;
            stats.load_seconds += translator.load_seconds + summarizer.load_seconds;
            let settings = RunSettings {
                translate: tsettings,
                summarize: ssettings,
                summarize_first: false,
            };
            let models = Models::Run {
                translator: &translator,
                summarizer: &summarizer,
                settings: &settings,
            };
            batch::run(&plan, &models, &mut progress, &mut stats)?
        }
    };
    progress.inner.finish(&report);
    if args.stats {
        print_stats(&mut stats);
    }
    if report.interrupted {
        let t = &report.totals;
        eprintln!(
            "batch: interrupted after {} of {} inputs; rerun with --resume",
            t.done, t.todo
        );
        return Ok(128 + signal.load(Ordering::SeqCst) as i32);
    }
    Ok(if report.all_ok() { 0 } else { EXIT_SOME_FAILED })
}

/// The batch progress, stopping the run between groups once a signal has set `stop`.
struct Interruptible<'a> {
    inner: BatchProgress,
    stop: &'a AtomicBool,
}

impl Progress for Interruptible<'_> {
    fn start(&mut self, totals: &Totals) {
        self.inner.start(totals)
    }
    fn group_started(&mut self, files: usize, totals: &Totals) {
        self.inner.group_started(files, totals)
    }
    fn file_done(&mut self, entry: &ManifestEntry, totals: &Totals) {
        self.inner.file_done(entry, totals)
    }
    fn cancelled(&mut self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Clap value parser for `--glob`: a pattern globset compiles.
fn glob_value(s: &str) -> Result<String, String> {
    tarjama::pipeline::batch::check_glob(s)
        .map(|()| s.to_string())
        .map_err(|e| e.to_string())
}
