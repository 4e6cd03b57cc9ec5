//! Batch processing of a folder (`tarjama batch`): walk `INPUT_DIR`, keep this shard's inputs,
//! check each input, translate and/or summarize the good ones in groups (the segments of all
//! files of a group batched together, sorted by length), write every output atomically, and
//! record every input in a crash-safe manifest so that an interrupted run can resume.
//!
//! The stages are small functions a test can call alone, one module each:
//!
//! - this module: the types ([`Task`], [`Shard`], [`BatchSettings`], [`Status`], [`Models`],
//!   [`BatchReport`]);
//! - [`plan`](mod@plan): walk INPUT_DIR, filter by `--glob`, shard, name outputs, refuse to
//!   overwrite, and fingerprint the settings; reads nothing but directory entries, and with
//!   `--resume` the earlier run's files once ([`EarlierRun`]), and writes nothing;
//! - [`manifest`]: the manifest and results schema, one tolerant JSONL reader ([`read_jsonl`],
//!   a torn last line is left out) and one appender;
//! - [`run`](mod@run): the work, reporting to a [`Progress`] the caller implements, which may
//!   also stop it between groups ([`Progress::cancelled`]);
//! - [`lock`]: the lock on OUT_DIR ([`OutDirLock`]), one run at a time.
//!
//! Whether an input is usable text is [`crate::text::classify`]; atomic writes are
//! [`crate::fsio`]. Nothing here prints.
//!
//! # Layout of `OUT_DIR`
//!
//! - `--format text`: the input tree mirrored; `a/b.txt` gives `a/b.en.txt` (translation) and/or
//!   `a/b.summary.en.txt` (summary of the translation, `--task run`) or `a/b.summary.txt`
//!   (`--task summarize`). A `.txt` extension is replaced; any other name keeps its extension
//!   (`a/b.md` gives `a/b.md.en.txt`). A name longer than 255 bytes is shortened with a hash
//!   of the path (see [`output_names`]); a file name that is not UTF-8 is escaped (see
//!   [`escape_name`]), in the output names and in the manifest's `path`.
//! - `--format jsonl`: one `results.jsonl` with one record per successful input.
//! - `manifest.jsonl`: one record per input and attempt (see [`ManifestEntry`]); the latest
//!   record of a path wins. With `--shard K/N` the files are `manifest-K-of-N.jsonl` and
//!   `results-K-of-N.jsonl`, so shards can share one `OUT_DIR`.
//!
//! # Crash safety
//!
//! Outputs go to a temporary file in their own directory, are synced, then renamed into place;
//! a killed run leaves either the old file, the new file, or no file, never a partial one.
//! Per group, the outputs about to be written are first appended to a journal
//! (`.tarjama-pending-all.jsonl` or `-K-of-N`, synced), then the outputs are written, then the
//! group's manifest records are appended and synced. A kill between the two only makes `--resume`
//! redo that group; the journal tells it that the outputs already there are its own to replace
//! (`--resume` replaces no other existing file). A kill during an append leaves a torn last
//! line, which [`read_manifest`] ignores; resuming rewrites the manifest (atomically) without it
//! before appending. A run that finishes removes the journal.
//!
//! Every file is created with the mode any program's new file gets (0666 less the umask), and a
//! replaced file keeps its mode: see [`crate::fsio::output_permissions`].

use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::run::RunSettings;
use super::summarize::SummarizeSettings;
use super::translate::TranslateSettings;
use super::Seq2SeqPipeline;
use crate::error::{Error, Result};

pub mod lock;
pub mod manifest;
pub mod plan;
pub mod run;

pub use lock::{lock_file, OutDirLock};
pub use manifest::{read_jsonl, read_manifest, Jsonl, Manifest, ManifestEntry, TokenCounts};
pub use plan::{check_glob, escape_name, output_names, plan, EarlierRun, Input, Plan};
pub use run::{run, NoProgress, Progress, Totals};

/// Default `--max-bytes`: inputs larger than 10 MiB are skipped.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Default `--min-arabic`: for `translate` and `run`, at least 20% of an input's letters must be
/// in the Arabic script (see [`crate::text::arabic_ratio`]), otherwise it is skipped.
pub const DEFAULT_MIN_ARABIC: f64 = 0.2;

/// Default `--files-per-group`: files whose segments are batched together before their outputs
/// and manifest records are written.
pub const DEFAULT_FILES_PER_GROUP: usize = 16;

/// What a batch run does with each input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Translate Arabic into English (`a/b.en.txt`).
    Translate,
    /// Summarize the text as it is (`a/b.summary.txt`).
    Summarize,
    /// Translate, then summarize the translation (`a/b.en.txt` and `a/b.summary.en.txt`), as
    /// `tarjama run` does.
    Run,
}

impl Task {
    /// The name used on the command line and in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Translate => "translate",
            Task::Summarize => "summarize",
            Task::Run => "run",
        }
    }

    /// Whether inputs must be Arabic text (see [`DEFAULT_MIN_ARABIC`]).
    pub fn needs_arabic(self) -> bool {
        matches!(self, Task::Translate | Task::Run)
    }
}

impl FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "translate" => Ok(Task::Translate),
            "summarize" => Ok(Task::Summarize),
            "run" => Ok(Task::Run),
            _ => Err(Error::Config(format!(
                "bad task {s:?} (translate, summarize or run)"
            ))),
        }
    }
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// One text file per output, in a tree mirroring the input tree.
    Text,
    /// One JSON record per input in `results.jsonl`.
    Jsonl,
}

/// What to do about the outputs of an earlier run in `OUT_DIR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse (before any work) when the manifest or any output already exists.
    Fresh,
    /// Skip inputs whose manifest record is `ok` with the same content hash, settings and models
    /// and whose outputs exist; redo the rest. Refuse (before any work) when an existing output
    /// is not one the manifest records for its input (see [`plan()`]).
    Resume,
    /// Redo every input, replacing outputs and starting a new manifest.
    Overwrite,
}

/// `--shard K/N`: this process handles the inputs whose relative path falls in shard `K` of `N`.
///
/// The shard of a path is `1 + (u64 from the first 8 bytes, big-endian, of the SHA-256 of the
/// path relative to INPUT_DIR as UTF-8 with `/` separators) mod N`, so it depends on the path
/// alone: N processes given `1/N` … `N/N` cover every input exactly once, on any machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// `K`, from 1 to `count`.
    pub index: usize,
    /// `N`.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Config(format!(
                "bad --shard {s:?}: expected K/N with 1 <= K <= N (e.g. 2/8)"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the input at `rel` (relative to INPUT_DIR, `/` separators) is in this shard.
    pub fn contains(&self, rel: &str) -> bool {
        shard_of(rel, self.count) == self.index
    }
}

/// The shard (1 to `count`) of the relative path `rel`; see [`Shard`].
pub fn shard_of(rel: &str, count: usize) -> usize {
    let digest = Sha256::digest(rel.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    1 + (u64::from_be_bytes(first) % count.max(1) as u64) as usize
}

/// Settings of a batch run (built by the CLI or directly by tests).
#[derive(Debug, Clone)]
pub struct BatchSettings {
    /// The folder to read.
    pub input_dir: PathBuf,
    /// The folder to write (created if missing). It may lie inside `input_dir`; it is then not
    /// read as input. It may not be `input_dir` or contain it.
    pub output_dir: PathBuf,
    /// What to do with each input.
    pub task: Task,
    /// Only inputs matching this glob. A pattern without `/` is matched against the file name
    /// (`*.txt`), one with `/` against the path relative to `input_dir` (`2024/**/*.txt`).
    /// `None`: every file. Names starting with `.` (files and folders) are always left out.
    pub glob: Option<String>,
    /// What to do about an earlier run's outputs.
    pub mode: Mode,
    /// Only this shard's inputs.
    pub shard: Option<Shard>,
    /// Output layout.
    pub format: OutputFormat,
    /// Inputs larger than this (bytes) are skipped.
    pub max_bytes: u64,
    /// For `translate` and `run`: inputs whose [`crate::text::arabic_ratio`] is below this are skipped.
    pub min_arabic: f64,
    /// The inputs' character encoding (`--encoding`); recorded in the manifest's settings.
    pub encoding: crate::text::Encoding,
    /// Files per group (see [`DEFAULT_FILES_PER_GROUP`]).
    pub files_per_group: usize,
}

impl BatchSettings {
    /// Settings with the defaults: every file, a fresh run, no shard, text outputs.
    pub fn new(input_dir: impl Into<PathBuf>, output_dir: impl Into<PathBuf>, task: Task) -> Self {
        Self {
            input_dir: input_dir.into(),
            output_dir: output_dir.into(),
            task,
            glob: None,
            mode: Mode::Fresh,
            shard: None,
            format: OutputFormat::Text,
            max_bytes: DEFAULT_MAX_BYTES,
            min_arabic: DEFAULT_MIN_ARABIC,
            encoding: crate::text::Encoding::Auto,
            files_per_group: DEFAULT_FILES_PER_GROUP,
        }
    }
}

/// The outcome of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Processed; its outputs are written.
    Ok,
    /// Could not be processed: unreadable, binary, invalid UTF-8, an output name clash, or a
    /// model error. Counts towards exit code 3.
    Failed,
    /// Deliberately not processed: empty, larger than `--max-bytes`, almost no Arabic script,
    /// a symlink leading outside INPUT_DIR, or not a regular file.
    Skipped,
}

/// Why an input is not processed: its status and a reason.
pub type Verdict = (Status, String);

impl From<crate::text::Unusable> for Verdict {
    fn from(u: crate::text::Unusable) -> Self {
        let status = if u.is_damage() {
            Status::Failed
        } else {
            Status::Skipped
        };
        (status, u.to_string())
    }
}

/// The loaded models of a run and their settings.
pub enum Models<'a> {
    /// `--task translate`.
    Translate {
        /// The translator.
        pipe: &'a Seq2SeqPipeline,
        /// Its settings.
        settings: &'a TranslateSettings,
    },
    /// `--task summarize`.
    Summarize {
        /// The summarizer.
        pipe: &'a Seq2SeqPipeline,
        /// Its settings.
        settings: &'a SummarizeSettings,
    },
    /// `--task run`.
    Run {
        /// The translator.
        translator: &'a Seq2SeqPipeline,
        /// The summarizer.
        summarizer: &'a Seq2SeqPipeline,
        /// Both models' settings.
        settings: &'a RunSettings,
    },
}

impl Models<'_> {
    /// The task these models do.
    pub fn task(&self) -> Task {
        match self {
            Models::Translate { .. } => Task::Translate,
            Models::Summarize { .. } => Task::Summarize,
            Models::Run { .. } => Task::Run,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct BatchReport {
    /// Final totals.
    pub totals: Totals,
    /// The manifest file.
    pub manifest: PathBuf,
    /// The results file (`--format jsonl`).
    pub results: Option<PathBuf>,
    /// Bad lines dropped from an earlier manifest when resuming (a torn last line).
    pub dropped_manifest_lines: usize,
    /// Whether the run stopped early because [`Progress::cancelled`] said so (every input
    /// done so far is recorded; `--resume` does the rest).
    pub interrupted: bool,
}

impl BatchReport {
    /// Whether no input failed (skipped inputs are not failures).
    pub fn all_ok(&self) -> bool {
        self.totals.failed == 0
    }
}

/// SHA-256 of `bytes`, as lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/3", "4/3", "1/0", "x/2", "3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let paths: Vec<String> = (0..200).map(|i| format!("d{}/f{i}.txt", i % 7)).collect();
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { index: k, count: 3 }).collect();
        for p in &paths {
            assert_eq!(shards.iter().filter(|s| s.contains(p)).count(), 1, "{p}");
        }
        // Fixed values (as Python computes them: see docs/batch.md), the same on every
        // machine and in every run.
        assert_eq!(shard_of("a/b.txt", 1), 1);
        assert_eq!(shard_of("a/b.txt", 3), 3);
        assert_eq!(shard_of("a/b.txt", 1000), 592);
        assert_eq!(shard_of("news/2024/article-00.txt", 8), 5);
    }
}
