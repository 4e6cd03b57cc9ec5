//! The `tarjama` binary: the command-line front end over the `tarjama` library. Flags are
//! defined here, parsed with clap, turned into the library's settings structs, and results
//! printed. No model, decoding or metric logic lives here, and the library never prints.
//!
//! Exit codes: 0 success, 1 error (one line on stderr naming the file and the problem),
//! 2 bad usage, always reported by clap: an unknown flag or a bad flag value (each flag's
//! value parser checks it), or flags that contradict each other ([`Command::check`], run
//! right after parsing, before any work).
//! `batch` also exits 3 when the run finished but some inputs failed (see its manifest).

use clap::{CommandFactory, Parser, Subcommand};

mod batch;
mod common;
mod eval;
mod models;
mod progress;
mod report;
mod run;
mod serve;
mod summarize;
mod tokenize;
mod translate;
mod warn;

/// tarjama: translate Arabic documents into English and summarize them.
#[derive(Debug, Parser)]
#[command(name = "tarjama", version, about, long_about = None, after_help = "\
Examples:
  tarjama run examples/sample.ar.txt
  tarjama translate article.ar.txt -o article.en.txt --model opus-mt-ar-en
  tarjama models list")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Translate an Arabic article, then summarize the translation (the main job).
    Run(run::RunArgs),
    /// Translate Arabic text into English.
    Translate(translate::TranslateArgs),
    /// Summarize a text in one paragraph.
    Summarize(summarize::SummarizeArgs),
    /// Score a system output against references (BLEU, chrF, chrF++, TER, ROUGE).
    Eval(eval::EvalArgs),
    /// List the model presets, or show one (family, size, languages, licence, cached).
    Models(models::ModelsArgs),
    /// Compare systems against references with paired bootstrap resampling.
    Compare(eval::CompareArgs),
    /// Translate and/or summarize every file of a folder: progress, resume, sharding.
    Batch(batch::BatchArgs),
    /// Print each line's token ids and pieces as a model's tokenizer encodes it (or decode ids).
    Tokenize(tokenize::TokenizeArgs),
    /// Serve LibreTranslate's HTTP API (translate, detect, languages) on 127.0.0.1:5000.
    Serve(serve::ServeArgs),
}

impl Command {
    /// Checks the flags that no single value parser can judge alone: flags that contradict
    /// each other. Errors: a message naming the flags.
    fn check(&self) -> Result<(), String> {
        match self {
            Command::Translate(a) => a.check(),
            Command::Summarize(a) => a.check(),
            Command::Batch(a) => a
                .model
                .check()
                .and_then(|()| a.decode.check())
                .and_then(|()| a.summary_decode.decode().check()),
            Command::Run(a) => a
                .decode
                .check()
                .and_then(|()| a.summary_decode.decode().check()),
            Command::Tokenize(a) => a.check(),
            Command::Serve(a) => a.check(),
            Command::Eval(_) | Command::Compare(_) | Command::Models(_) => Ok(()),
        }
    }

    /// The subcommand's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Translate(_) => "translate",
            Command::Summarize(_) => "summarize",
            Command::Eval(_) => "eval",
            Command::Models(_) => "models",
            Command::Compare(_) => "compare",
            Command::Batch(_) => "batch",
            Command::Tokenize(_) => "tokenize",
            Command::Serve(_) => "serve",
        }
    }
}

/// `arg` with `[default: DEFAULT]` added to its help, for a flag whose default is applied
/// after parsing (so clap cannot show it), such as the default model of each command.
fn with_default(arg: clap::Arg, default: &str) -> clap::Arg {
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    arg.help(format!("{help} [default: {default}]"))
}

fn main() {
    std::process::exit(run());
}

/// Runs the CLI and returns the process exit code.
fn run() -> i32 {
    let cli = Cli::parse();
    if let Err(msg) = cli.command.check() {
        // Reported as clap reports bad flag values: exit 2, with the subcommand's usage.
        let mut cmd = Cli::command();
        cmd.build();
        let sub = cmd
            .find_subcommand_mut(cli.command.name())
            .expect("every subcommand is defined");
        sub.error(clap::error::ErrorKind::ArgumentConflict, msg)
            .exit();
    }
    default_threads();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Translate(args) => translate::run(args),
        Command::Summarize(args) => summarize::run(args),
        Command::Eval(args) => eval::run_eval(args),
        Command::Compare(args) => eval::run_compare(args),
        Command::Models(args) => models::run(args),
        Command::Batch(args) => batch::run(args),
        Command::Tokenize(args) => tokenize::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(code) => code,
        // A flag beyond what the loaded model can do: a usage error, found after loading.
        Err(err) if err.downcast_ref::<common::Usage>().is_some() => {
            eprintln!("error: {err}");
            2
        }
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            1
        }
    }
}

/// Formats an error and its causes on one line: `outer: inner: root`.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        // candle's errors carry a multi-line backtrace when RUST_BACKTRACE is set: leave it out.
        let s = match cause.downcast_ref::<candle_core::Error>() {
            Some(c) => tarjama::error::candle_message(c),
            None => cause.to_string(),
        };
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

/// Without `--threads` or `RAYON_NUM_THREADS`, candle sizes its thread pool from the CPU list it
/// reads from the system, which in containers can be the host's, far above the CPUs this
/// process may use. Use the CPUs actually available (affinity and cgroup quota) instead.
fn default_threads() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        if let Ok(n) = std::thread::available_parallelism() {
            std::env::set_var("RAYON_NUM_THREADS", n.get().to_string());
        }
    }
}
