//! Batch processing of a folder (`tarjama batch`): walk `INPUT_DIR`, keep this shard's inputs,
//! check each input, translate and/or summarize the good ones in groups (the segments of all
//! files of a group batched together, sorted by length), write every output atomically, and
//! record every input in a crash-safe manifest so that an interrupted run can resume.
//!
//! The stages are small functions a test can call alone: [`plan`] (walk, shard, name outputs,
//! refuse to overwrite; reads nothing but directory entries, and with `--resume` the manifest
//! and journal of OUT_DIR, and writes nothing), [`classify`]
//! (is this input usable?), [`read_manifest`] (tolerant of a torn last line), and [`run`]
//! (the work). Nothing here prints: progress goes to a [`Progress`] the caller implements.
//!
//! # Layout of `OUT_DIR`
//!
//! - `--format text`: the input tree mirrored; `a/b.txt` gives `a/b.en.txt` (translation) and/or
//!   `a/b.summary.en.txt` (summary of the translation, `--task run`) or `a/b.summary.txt`
//!   (`--task summarize`). A `.txt` extension is replaced; any other name keeps its extension
//!   (`a/b.md` gives `a/b.md.en.txt`).
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
//! replaced file keeps its mode: see [`output_permissions`].

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::stats::Stats;
use super::summarize::{summarize, SummarizeSettings, Summary};
use super::translate::{translate_documents_with_stats, DocumentTranslation, TranslateSettings};
use super::Seq2SeqPipeline;
use crate::error::{Error, Result};
use crate::text::Normalization;

/// Default `--max-bytes`: inputs larger than 10 MiB are skipped.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Default `--min-arabic`: for `translate` and `run`, at least 20% of an input's letters must be
/// in the Arabic script (see [`arabic_ratio`]), otherwise it is skipped.
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
    /// is not one the manifest records for its input (see [`plan`]).
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
    /// For `translate` and `run`: inputs whose [`arabic_ratio`] is below this are skipped.
    pub min_arabic: f64,
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

/// Token counts of one input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Source tokens of all translated segments (special tokens included).
    #[serde(default)]
    pub source: usize,
    /// Generated translation tokens.
    #[serde(default)]
    pub translation: usize,
    /// Tokens of the summarizer's (prompted) input.
    #[serde(default)]
    pub summary_input: usize,
    /// Generated summary tokens.
    #[serde(default)]
    pub summary: usize,
}

/// One line of `manifest.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The input's path relative to INPUT_DIR, with `/` separators.
    pub path: String,
    /// SHA-256 of the input's bytes (hex); `None` when it could not be read.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Size in bytes, when known.
    #[serde(default)]
    pub bytes: Option<u64>,
    /// `ok`, `failed` or `skipped`.
    pub status: Status,
    /// Why it failed or was skipped.
    #[serde(default)]
    pub reason: Option<String>,
    /// The task.
    pub task: Task,
    /// Output files relative to OUT_DIR (`--format text`), or the results file (`jsonl`).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// SHA-256 of the canonical JSON of `settings` and `models`: what `--resume` compares.
    pub settings_sha256: String,
    /// Decoding and text settings of the run.
    #[serde(default)]
    pub settings: serde_json::Value,
    /// The models: name, Hub repo and resolved revision.
    #[serde(default)]
    pub models: serde_json::Value,
    /// Translated segments (1 per summarized text for `summarize`).
    #[serde(default)]
    pub segments: usize,
    /// Token counts.
    #[serde(default)]
    pub tokens: TokenCounts,
    /// Seconds of model time spent on this input (its share of its batches).
    #[serde(default)]
    pub seconds: f64,
    /// When the record was written, in seconds since the Unix epoch.
    #[serde(default)]
    pub finished_at: f64,
    /// `K/N` when run with `--shard`.
    #[serde(default)]
    pub shard: Option<String>,
}

/// A manifest as read back: its valid records in file order.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Every line that parsed, in file order.
    pub entries: Vec<ManifestEntry>,
    /// The raw text of those lines (to rewrite the file without the bad ones).
    pub lines: Vec<String>,
    /// Lines that did not parse (a torn last line after a kill, or damage).
    pub bad_lines: usize,
    /// The file does not end with a newline (a write cut short after the JSON but before its
    /// newline): the next record must not be appended to that line.
    pub torn_end: bool,
}

impl Manifest {
    /// The latest record of every path.
    pub fn latest(&self) -> HashMap<&str, &ManifestEntry> {
        let mut map = HashMap::new();
        for e in &self.entries {
            map.insert(e.path.as_str(), e);
        }
        map
    }
}

/// Reads a manifest tolerantly: a missing file is an empty manifest, and lines that do not
/// parse (such as a line torn by a kill) are counted and left out.
///
/// Errors: the file exists but cannot be read.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut m = Manifest {
        torn_end: !text.is_empty() && !text.ends_with('\n'),
        ..Manifest::default()
    };
    for line in text.split('\n') {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<ManifestEntry>(line) {
            Ok(e) => {
                m.entries.push(e);
                m.lines.push(line.to_string());
            }
            Err(_) => m.bad_lines += 1,
        }
    }
    Ok(m)
}

/// Whether `c` is in one of the Unicode blocks of the Arabic script: Arabic, Arabic
/// Supplement, Arabic Extended-B and -A, Arabic Presentation Forms-A and -B.
pub fn is_arabic_script(c: char) -> bool {
    matches!(
        c as u32,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF
    )
}

/// The share of `text`'s letters (alphabetic characters; digits, punctuation and spaces do
/// not count) that are in the Arabic script; 0 when it has no letters.
///
/// A news article in Arabic that quotes Latin-script names scores well above 0.9; English
/// text scores 0. Inputs below `--min-arabic` ([`DEFAULT_MIN_ARABIC`]) are skipped by
/// `translate` and `run`.
pub fn arabic_ratio(text: &str) -> f64 {
    let (mut letters, mut arabic) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if is_arabic_script(c) {
            arabic += 1;
        }
    }
    if letters == 0 {
        0.0
    } else {
        arabic as f64 / letters as f64
    }
}

/// Why an input is not processed: its status and a reason.
pub type Verdict = (Status, String);

/// Checks an input's bytes and returns its text, or why it cannot be used: binary (a NUL
/// byte), invalid UTF-8, empty (whitespace only), or, when `min_arabic` is given, too little
/// Arabic script. The text is returned unchanged (as `tarjama translate FILE` reads it).
pub fn classify(bytes: Vec<u8>, min_arabic: Option<f64>) -> std::result::Result<String, Verdict> {
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err((
            Status::Failed,
            format!("binary file (NUL byte at offset {pos})"),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        (
            Status::Failed,
            format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        )
    })?;
    if text.trim().is_empty() {
        return Err((Status::Skipped, "empty (no text to process)".into()));
    }
    if let Some(min) = min_arabic {
        let ratio = arabic_ratio(&text);
        if ratio < min {
            return Err((
                Status::Skipped,
                format!(
                    "almost no Arabic script ({:.0}% of letters; --min-arabic is {:.0}%)",
                    ratio * 100.0,
                    min * 100.0
                ),
            ));
        }
    }
    Ok(text)
}

/// The output files of the input at `rel` for `task`, relative to OUT_DIR.
pub fn output_names(rel: &str, task: Task) -> Vec<String> {
    let stem = rel.strip_suffix(".txt").unwrap_or(rel);
    match task {
        Task::Translate => vec![format!("{stem}.en.txt")],
        Task::Summarize => vec![format!("{stem}.summary.txt")],
        Task::Run => vec![format!("{stem}.en.txt"), format!("{stem}.summary.en.txt")],
    }
}

/// One input found under INPUT_DIR.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Path relative to INPUT_DIR with `/` separators (the manifest key).
    pub rel: String,
    /// Where it is read from.
    pub path: PathBuf,
    /// Its outputs relative to OUT_DIR (`--format text`; empty for JSONL).
    pub outputs: Vec<String>,
    /// Set when the walk already decided it is not processed.
    pub verdict: Option<Verdict>,
}

/// What a run will do, computed by [`plan`] before any model is loaded.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The settings.
    pub settings: BatchSettings,
    /// INPUT_DIR, canonical.
    pub input_root: PathBuf,
    /// OUT_DIR, absolute.
    pub output_root: PathBuf,
    /// This shard's inputs, sorted by relative path.
    pub inputs: Vec<Input>,
    /// Inputs found in all shards.
    pub found: usize,
    /// The manifest file.
    pub manifest: PathBuf,
    /// The results file (`--format jsonl`).
    pub results: Option<PathBuf>,
}

impl Plan {
    /// The name tag of this shard's files: `all`, or `K-of-N`.
    fn tag(&self) -> String {
        match self.settings.shard {
            Some(s) => format!("{}-of-{}", s.index, s.count),
            None => "all".into(),
        }
    }

    /// The prefix of this run's temporary files.
    fn temp_prefix(&self) -> String {
        format!(".tarjama-tmp-{}-", self.tag())
    }

    /// The journal of outputs about to be written (`--format text`): before a group's outputs
    /// are renamed into place, one line per input names them, so that a run killed before the
    /// group's manifest records are appended still knows, on `--resume`, that it wrote them.
    /// Removed when a run finishes.
    fn pending(&self) -> PathBuf {
        self.output_root
            .join(format!(".tarjama-pending-{}.jsonl", self.tag()))
    }
}

/// One line of the journal of pending outputs (see [`Plan::pending`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    path: String,
    outputs: Vec<String>,
}

/// The outputs an earlier run in OUT_DIR wrote or was about to write, by input: those of each
/// input's latest manifest record, and those of the journal of pending outputs.
fn earlier_outputs(plan: &Plan) -> Result<HashMap<String, HashSet<String>>> {
    let mut ours: HashMap<String, HashSet<String>> = HashMap::new();
    let manifest = read_manifest(&plan.manifest)?;
    for (path, e) in manifest.latest() {
        ours.entry(path.to_string())
            .or_default()
            .extend(e.outputs.iter().cloned());
    }
    let pending = plan.pending();
    let bytes = match fs::read(&pending) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(&pending, e)),
    };
    for line in String::from_utf8_lossy(&bytes).split('\n') {
        if let Ok(p) = serde_json::from_str::<Pending>(line) {
            ours.entry(p.path).or_default().extend(p.outputs);
        }
    }
    Ok(ours)
}

/// Whether the JSONL file at `path` reads as one tarjama wrote (a manifest when `T` is
/// [`ManifestEntry`], a results file otherwise): every complete line is a record, and an
/// unfinished last line is at most a record torn by a kill. An empty file qualifies.
fn reads_as_ours<T: serde::de::DeserializeOwned>(path: &Path) -> Result<bool> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let (complete, tail) = match text.rfind('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => ("", &text[..]),
    };
    let mut records = 0;
    for line in complete.split('\n').filter(|l| !l.trim().is_empty()) {
        if serde_json::from_str::<T>(line).is_err() {
            return Ok(false);
        }
        records += 1;
    }
    Ok(tail.trim().is_empty()
        || serde_json::from_str::<T>(tail).is_ok()
        || records > 0
        || tail.starts_with('{'))
}

/// `path` made absolute and canonical as far as it exists (a missing tail is appended as is).
fn absolute(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(".", e))?
            .join(path)
    };
    let mut existing = abs.clone();
    let mut tail: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(c) = fs::canonicalize(&existing) {
            let mut out = c;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return Ok(out);
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                tail.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return Ok(abs),
        }
    }
}

/// Checks that `pattern` is a valid `--glob` (the CLI rejects a bad one as a usage error).
pub fn check_glob(pattern: &str) -> Result<()> {
    Filter::new(Some(pattern)).map(|_| ())
}

/// A compiled `--glob`.
struct Filter {
    matcher: Option<globset::GlobMatcher>,
    by_name: bool,
}

impl Filter {
    fn new(glob: Option<&str>) -> Result<Self> {
        let Some(pattern) = glob else {
            return Ok(Self {
                matcher: None,
                by_name: true,
            });
        };
        let g = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::Config(format!("bad --glob {pattern:?}: {e}")))?;
        Ok(Self {
            matcher: Some(g.compile_matcher()),
            by_name: !pattern.contains('/'),
        })
    }

    fn accepts(&self, rel: &str) -> bool {
        let Some(m) = &self.matcher else {
            return true;
        };
        if self.by_name {
            m.is_match(rel.rsplit('/').next().unwrap_or(rel))
        } else {
            m.is_match(rel)
        }
    }
}

/// Walks `dir` (sorted by name, hidden names left out, OUT_DIR left out, symlinked folders not
/// followed) and collects the candidate files.
fn walk(dir: &Path, rel: &str, root: &Path, out: &Path, found: &mut Vec<Input>) -> Result<()> {
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path == out {
            continue;
        }
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        let ft = meta.file_type();
        let verdict = if ft.is_dir() {
            walk(&path, &child_rel, root, out, found)?;
            continue;
        } else if ft.is_file() {
            None
        } else if ft.is_symlink() {
            match fs::canonicalize(&path) {
                Err(e) => Some((Status::Failed, format!("cannot read: broken symlink ({e})"))),
                Ok(t) if !t.starts_with(root) => Some((
                    Status::Skipped,
                    "symlink leads outside INPUT_DIR (not followed)".to_string(),
                )),
                Ok(t) if t.starts_with(out) => Some((
                    Status::Skipped,
                    "symlink leads into OUT_DIR (not followed)".to_string(),
                )),
                Ok(t) if t.is_dir() => Some((
                    Status::Skipped,
                    "symlink to a folder (not followed; its files are read at their own paths)"
                        .to_string(),
                )),
                Ok(t) if t.is_file() => None,
                Ok(_) => Some((Status::Skipped, "not a regular file".to_string())),
            }
        } else {
            Some((Status::Skipped, "not a regular file".to_string()))
        };
        found.push(Input {
            rel: child_rel,
            path,
            outputs: Vec::new(),
            verdict,
        });
    }
    Ok(())
}

/// Finds this shard's inputs and names their outputs, and refuses when the run would replace a
/// file that is not its to replace. Writes nothing.
///
/// - [`Mode::Fresh`]: refuses when the manifest, the results file or any output already exists.
/// - [`Mode::Resume`]: refuses when an output exists that the latest manifest record of its
///   input does not list (nor the journal of pending outputs a killed run leaves,
///   `.tarjama-pending-….jsonl`), or when the existing manifest or results file does not read as one
///   tarjama wrote. With no manifest, that is every existing output, as in a fresh run.
/// - [`Mode::Overwrite`]: refuses nothing.
///
/// Errors: INPUT_DIR missing or not a folder; OUT_DIR equal to INPUT_DIR or containing it; a
/// bad `--glob`; a folder that cannot be listed; a file the run may not replace (the message
/// names one and says to pass `--overwrite`, and, for a fresh run, `--resume`).
pub fn plan(settings: &BatchSettings) -> Result<Plan> {
    let input_root =
        fs::canonicalize(&settings.input_dir).map_err(|e| Error::io(&settings.input_dir, e))?;
    if !input_root.is_dir() {
        return Err(Error::input(&settings.input_dir, "is not a folder"));
    }
    let output_root = absolute(&settings.output_dir)?;
    if output_root == input_root || input_root.starts_with(&output_root) {
        return Err(Error::input(
            &settings.output_dir,
            "OUT_DIR may not be INPUT_DIR or contain it; choose another output folder",
        ));
    }
    if output_root.exists() && !output_root.is_dir() {
        return Err(Error::input(
            &settings.output_dir,
            "exists and is not a folder",
        ));
    }
    if settings.files_per_group == 0 {
        return Err(Error::Config("--files-per-group must be at least 1".into()));
    }
    let filter = Filter::new(settings.glob.as_deref())?;
    let mut all = Vec::new();
    walk(&input_root, "", &input_root, &output_root, &mut all)?;
    all.retain(|i| filter.accepts(&i.rel));
    let found = all.len();
    all.sort_by(|a, b| a.rel.cmp(&b.rel));
    if settings.format == OutputFormat::Text {
        // Two inputs may ask for one output name (`a/b` and `a/b.txt`): the first in path
        // order keeps it, the other fails. Checked over all shards, so every shard agrees.
        let mut owner: HashMap<String, String> = HashMap::new();
        for input in &mut all {
            input.outputs = output_names(&input.rel, settings.task);
            if let Some(other) = input.outputs.iter().find_map(|o| owner.get(o)) {
                if input.verdict.is_none() {
                    input.verdict = Some((
                        Status::Failed,
                        format!("its output name is already used by {other}; rename one of them"),
                    ));
                }
                input.outputs.clear();
                continue;
            }
            for o in &input.outputs {
                owner.insert(o.clone(), input.rel.clone());
            }
        }
    }
    let inputs: Vec<Input> = all
        .into_iter()
        .filter(|i| settings.shard.is_none_or(|s| s.contains(&i.rel)))
        .collect();

    let (manifest_name, results_name) = match settings.shard {
        Some(s) => (
            format!("manifest-{}-of-{}.jsonl", s.index, s.count),
            format!("results-{}-of-{}.jsonl", s.index, s.count),
        ),
        None => ("manifest.jsonl".to_string(), "results.jsonl".to_string()),
    };
    let plan = Plan {
        settings: settings.clone(),
        manifest: output_root.join(manifest_name),
        results: (settings.format == OutputFormat::Jsonl).then(|| output_root.join(results_name)),
        input_root,
        output_root,
        inputs,
        found,
    };
    // What a run may replace: with --overwrite everything; with --resume only what the earlier
    // run in OUT_DIR recorded as its own; otherwise nothing.
    let ours = match settings.mode {
        Mode::Overwrite => return Ok(plan),
        Mode::Fresh => None,
        Mode::Resume => Some(earlier_outputs(&plan)?),
    };
    let mut existing: Vec<PathBuf> = Vec::new();
    let replaceable = |p: &Path, results: bool| -> Result<bool> {
        Ok(ours.is_some()
            && p.is_file()
            && if results {
                reads_as_ours::<ResultRecord>(p)?
            } else {
                reads_as_ours::<ManifestEntry>(p)?
            })
    };
    for (p, results) in [(Some(&plan.manifest), false), (plan.results.as_ref(), true)] {
        let Some(p) = p else { continue };
        if fs::symlink_metadata(p).is_ok() && !replaceable(p, results)? {
            existing.push(p.clone());
        }
    }
    for input in &plan.inputs {
        let recorded = ours.as_ref().and_then(|m| m.get(&input.rel));
        for o in &input.outputs {
            let p = plan.output_root.join(o);
            if fs::symlink_metadata(&p).is_ok() && !recorded.is_some_and(|r| r.contains(o)) {
                existing.push(p);
            }
        }
    }
    if let Some(first) = existing.first() {
        let more = match existing.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let hint = if ours.is_some() {
            let why = if Some(first) == plan.results.as_ref() || first == &plan.manifest {
                "it does not read as a file tarjama wrote".to_string()
            } else if plan.manifest.exists() {
                format!(
                    "{} does not record it as written by tarjama",
                    plan.manifest.display()
                )
            } else {
                format!(
                    "there is no manifest ({}) recording it as written by tarjama",
                    plan.manifest.display()
                )
            };
            format!(
                "{why}, and --resume replaces only what an earlier run recorded; move it away, \
                 or pass --overwrite to redo everything"
            )
        } else if plan.manifest.exists() {
            format!(
                "an earlier run wrote to {}; pass --resume to finish it or --overwrite to redo \
                 everything",
                plan.output_root.display()
            )
        } else {
            format!(
                "no tarjama manifest in {} records it; move it away, choose another output \
                 folder, or pass --overwrite to replace it",
                plan.output_root.display()
            )
        };
        return Err(Error::input(first, format!("already exists{more}: {hint}")));
    }
    Ok(plan)
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
        /// Translation settings.
        translate: &'a TranslateSettings,
        /// The summarizer.
        summarizer: &'a Seq2SeqPipeline,
        /// Summarization settings.
        summarize: &'a SummarizeSettings,
    },
}

fn model_json(pipe: &Seq2SeqPipeline) -> serde_json::Value {
    serde_json::json!({
        "name": pipe.info.name,
        "repo": pipe.info.repo,
        "revision": pipe.info.revision,
        "dtype": pipe.info.dtype,
        "quantization": pipe.info.quantization,
    })
}

fn normalization_json(n: &Normalization) -> serde_json::Value {
    serde_json::json!({
        "nfc": n.nfc,
        "remove_tatweel": n.remove_tatweel,
        "remove_diacritics": n.remove_diacritics,
    })
}

fn translate_json(s: &TranslateSettings) -> serde_json::Value {
    serde_json::json!({
        "normalization": normalization_json(&s.normalization),
        "generation": s.generation,
    })
}

fn summarize_json(pipe: &Seq2SeqPipeline, s: &SummarizeSettings) -> serde_json::Value {
    serde_json::json!({
        // The template itself: its `{text}` placeholder filled with `{text}`.
        "prompt": s.prompt.as_ref().map(|p| p.apply("{text}")),
        "generation": s.generation,
        "strategy": s.strategy,
        "max_input_tokens": s.max_input_tokens.unwrap_or_else(|| pipe.model.max_input_tokens()),
        "normalization": normalization_json(&s.normalization),
    })
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

    /// `(settings, models)` as recorded in the manifest.
    pub fn describe(&self, format: OutputFormat) -> (serde_json::Value, serde_json::Value) {
        match self {
            Models::Translate { pipe, settings } => (
                serde_json::json!({"task": "translate", "format": format,
                    "translate": translate_json(settings)}),
                serde_json::json!({"translator": model_json(pipe)}),
            ),
            Models::Summarize { pipe, settings } => (
                serde_json::json!({"task": "summarize", "format": format,
                    "summarize": summarize_json(pipe, settings)}),
                serde_json::json!({"summarizer": model_json(pipe)}),
            ),
            Models::Run {
                translator,
                translate,
                summarizer,
                summarize,
            } => (
                serde_json::json!({"task": "run", "format": format,
                    "translate": translate_json(translate),
                    "summarize": summarize_json(summarizer, summarize)}),
                serde_json::json!({"translator": model_json(translator),
                    "summarizer": model_json(summarizer)}),
            ),
        }
    }
}

/// Running totals, passed to every [`Progress`] call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Inputs this run processes (this shard's, minus those already done).
    pub todo: usize,
    /// Inputs processed so far.
    pub done: usize,
    /// Of those: ok.
    pub ok: usize,
    /// Of those: failed.
    pub failed: usize,
    /// Of those: skipped.
    pub skipped: usize,
    /// Inputs left alone because an earlier run already did them (`--resume`).
    pub resumed: usize,
    /// Segments translated (plus one per summary).
    pub segments: usize,
    /// Source tokens read by the models.
    pub source_tokens: usize,
    /// Tokens generated (translations and summaries).
    pub generated_tokens: usize,
    /// Seconds since processing started (model loading not included).
    pub elapsed_seconds: f64,
}

impl Totals {
    /// Generated tokens per second so far.
    pub fn tokens_per_second(&self) -> f64 {
        if self.elapsed_seconds > 0.0 {
            self.generated_tokens as f64 / self.elapsed_seconds
        } else {
            0.0
        }
    }

    /// Estimated seconds left, from the average time per input so far.
    pub fn eta_seconds(&self) -> Option<f64> {
        (self.done > 0)
            .then(|| self.elapsed_seconds / self.done as f64 * (self.todo - self.done) as f64)
    }
}

/// Receives the progress of [`run`]. Every method has an empty default.
pub trait Progress {
    /// Called once before the first group.
    fn start(&mut self, _totals: &Totals) {}
    /// Called before a group of inputs goes to the model.
    fn group_started(&mut self, _files: usize, _totals: &Totals) {}
    /// Called once an input's record is in the manifest.
    fn file_done(&mut self, _entry: &ManifestEntry, _totals: &Totals) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {}

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
}

impl BatchReport {
    /// Whether no input failed (skipped inputs are not failures).
    pub fn all_ok(&self) -> bool {
        self.totals.failed == 0
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The permissions to give the temporary file that will replace `path` (unix): a replaced
/// file keeps its mode; a new one gets 0666 less the umask, like any file a program creates
/// (tempfile's own default would be 0600). `None` elsewhere. Shared by every atomic write
/// (`batch` outputs and manifest, `translate -o`, ...).
pub fn output_permissions(path: &Path) -> Option<fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o666);
        Some(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Writes `bytes` to `path` through a synced temporary file (named `prefix…`) in the same
/// folder and a rename, creating the folder if needed.
fn write_atomic(path: &Path, bytes: &[u8], prefix: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut builder = tempfile::Builder::new();
    if let Some(permissions) = output_permissions(path) {
        builder.permissions(permissions);
    }
    let mut tmp = builder
        .prefix(prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Removes the file at `path` if there is one.
fn remove_file_if_there(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// Syncs a folder so renames in it survive a power loss (best effort: not every file system
/// allows it).
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Removes this run's temporary files left by a killed run (they carry its shard's prefix, so
/// other shards' files in a shared OUT_DIR are left alone).
fn remove_stale_temps(dir: &Path, prefix: &str) -> Result<()> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            remove_stale_temps(&path, prefix)?;
        } else if ft.is_file() && entry.file_name().to_string_lossy().starts_with(prefix) {
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// An append-only JSONL file: one `write` per line, synced per group.
struct Appender {
    file: File,
    path: PathBuf,
}

impl Appender {
    fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    fn append(&mut self, line: &str) -> Result<()> {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        self.file
            .write_all(buf.as_bytes())
            .map_err(|e| Error::io(&self.path, e))
    }

    fn sync(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))?;
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

/// Rewrites a JSONL file atomically with `lines` only.
fn rewrite_lines(path: &Path, lines: &[String], prefix: &str) -> Result<()> {
    let mut text = String::new();
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes(), prefix)
}

/// One record of `results.jsonl` (`--format jsonl`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResultRecord {
    path: String,
    sha256: String,
    task: Task,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    translation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
}

/// An input of a group after reading.
struct Loaded {
    index: usize,
    sha256: Option<String>,
    bytes: Option<u64>,
    text: std::result::Result<String, Verdict>,
}

/// The model's results for one input.
#[derive(Default)]
struct Produced {
    translation: Option<DocumentTranslation>,
    summary: Option<Summary>,
    seconds: f64,
}

/// The run state shared by the groups.
struct Runner<'a, 'p> {
    plan: &'a Plan,
    models: &'a Models<'a>,
    progress: &'p mut dyn Progress,
    stats: &'a mut Stats,
    settings_json: serde_json::Value,
    models_json: serde_json::Value,
    settings_sha256: String,
    manifest: Appender,
    /// The journal of pending outputs, opened for the first group that writes any.
    pending: Option<Appender>,
    results: Option<Appender>,
    totals: Totals,
    t0: Instant,
}

/// Processes the plan's inputs with `models`, writing outputs and the manifest, and adding
/// time and token counts to `stats`. An input that cannot be processed is recorded as failed
/// or skipped and the run goes on.
///
/// Errors (fatal, the run stops; everything recorded so far stays valid): the models do not
/// match the plan's task, or OUT_DIR, an output or the manifest cannot be written.
pub fn run(
    plan: &Plan,
    models: &Models,
    progress: &mut dyn Progress,
    stats: &mut Stats,
) -> Result<BatchReport> {
    let s = &plan.settings;
    if models.task() != s.task {
        return Err(Error::Config(format!(
            "the models loaded are for {}, the plan is for {}",
            models.task().as_str(),
            s.task.as_str()
        )));
    }
    let (settings_json, models_json) = models.describe(s.format);
    let fingerprint = serde_json::json!({"settings": settings_json, "models": models_json});
    let settings_sha256 = sha256_hex(fingerprint.to_string().as_bytes());
    let prefix = plan.temp_prefix();
    fs::create_dir_all(&plan.output_root).map_err(|e| Error::io(&plan.output_root, e))?;

    // The earlier run: what it finished, with the manifest and results cleaned of torn lines.
    let mut dropped = 0;
    let mut done: HashSet<String> = HashSet::new();
    if s.mode != Mode::Resume {
        remove_file_if_there(&plan.pending())?;
    }
    match s.mode {
        Mode::Fresh => {}
        Mode::Overwrite => {
            remove_stale_temps(&plan.output_root, &prefix)?;
            rewrite_lines(&plan.manifest, &[], &prefix)?;
            if let Some(r) = &plan.results {
                rewrite_lines(r, &[], &prefix)?;
            }
        }
        Mode::Resume => {
            remove_stale_temps(&plan.output_root, &prefix)?;
            let manifest = read_manifest(&plan.manifest)?;
            dropped = manifest.bad_lines;
            if dropped > 0 || manifest.torn_end {
                rewrite_lines(&plan.manifest, &manifest.lines, &prefix)?;
            }
            let latest = manifest.latest();
            let results = match &plan.results {
                Some(r) => Some(read_results(r)?),
                None => None,
            };
            for input in plan.inputs.iter().filter(|i| i.verdict.is_none()) {
                let Some(prev) = latest.get(input.rel.as_str()) else {
                    continue;
                };
                if prev.status != Status::Ok
                    || prev.task != s.task
                    || prev.settings_sha256 != settings_sha256
                {
                    continue;
                }
                let outputs_there = match &results {
                    Some(r) => r
                        .get(&input.rel)
                        .is_some_and(|(sha, _)| prev.sha256.as_deref() == Some(sha.as_str())),
                    None => input
                        .outputs
                        .iter()
                        .all(|o| plan.output_root.join(o).is_file()),
                };
                if !outputs_there {
                    continue;
                }
                let Ok(bytes) = fs::read(&input.path) else {
                    continue;
                };
                if prev.sha256.as_deref() == Some(sha256_hex(&bytes).as_str()) {
                    done.insert(input.rel.clone());
                }
            }
            if let (Some(path), Some(results)) = (&plan.results, &results) {
                let mut keep: Vec<String> = results
                    .iter()
                    .filter(|(p, _)| done.contains(*p))
                    .map(|(_, (_, line))| line.clone())
                    .collect();
                keep.sort();
                rewrite_lines(path, &keep, &prefix)?;
            }
        }
    }

    let todo: Vec<usize> = (0..plan.inputs.len())
        .filter(|&i| !done.contains(&plan.inputs[i].rel))
        .collect();
    let mut runner = Runner {
        plan,
        models,
        progress,
        stats,
        settings_json,
        models_json,
        settings_sha256,
        manifest: Appender::open(&plan.manifest)?,
        pending: None,
        results: match &plan.results {
            Some(r) => Some(Appender::open(r)?),
            None => None,
        },
        totals: Totals {
            todo: todo.len(),
            resumed: done.len(),
            ..Totals::default()
        },
        t0: Instant::now(),
    };
    runner.progress.start(&runner.totals);
    for group in todo.chunks(s.files_per_group) {
        runner.group(group)?;
    }
    // Every output written is now in the manifest.
    drop(runner.pending.take());
    remove_file_if_there(&plan.pending())?;
    runner.totals.elapsed_seconds = runner.t0.elapsed().as_secs_f64();
    Ok(BatchReport {
        totals: runner.totals,
        manifest: plan.manifest.clone(),
        results: plan.results.clone(),
        dropped_manifest_lines: dropped,
    })
}

/// The valid records of a results file: path → (sha256, raw line); the latest record wins.
fn read_results(path: &Path) -> Result<HashMap<String, (String, String)>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut map = HashMap::new();
    for line in String::from_utf8_lossy(&bytes).split('\n') {
        if let Ok(r) = serde_json::from_str::<ResultRecord>(line) {
            map.insert(r.path, (r.sha256, line.to_string()));
        }
    }
    Ok(map)
}

impl Runner<'_, '_> {
    /// Reads, checks, processes and records one group of inputs (indices into the plan).
    fn group(&mut self, group: &[usize]) -> Result<()> {
        let s = &self.plan.settings;
        let min_arabic = s.task.needs_arabic().then_some(s.min_arabic);
        let loaded: Vec<Loaded> = group
            .iter()
            .map(|&index| {
                let input = &self.plan.inputs[index];
                if let Some(v) = &input.verdict {
                    return Loaded {
                        index,
                        sha256: None,
                        bytes: None,
                        text: Err(v.clone()),
                    };
                }
                read_input(index, &input.path, s.max_bytes, min_arabic)
            })
            .collect();
        self.progress.group_started(group.len(), &self.totals);

        let texts: Vec<String> = loaded
            .iter()
            .filter_map(|l| l.text.as_ref().ok().cloned())
            .collect();
        let mut produced = self.process(&texts).into_iter();
        let results: Vec<std::result::Result<Produced, Verdict>> = loaded
            .iter()
            .map(|l| match &l.text {
                Err(v) => Err(v.clone()),
                Ok(_) => match produced.next() {
                    Some(Ok(p)) => Ok(p),
                    Some(Err(e)) => Err((Status::Failed, format!("model error: {e}"))),
                    None => Err((Status::Failed, "model error: no result".into())),
                },
            })
            .collect();

        // The journal of the outputs about to be written, then the outputs, then the manifest.
        let pending: Vec<String> = loaded
            .iter()
            .zip(&results)
            .filter_map(|(l, r)| {
                let input = &self.plan.inputs[l.index];
                (r.is_ok() && !input.outputs.is_empty()).then(|| Pending {
                    path: input.rel.clone(),
                    outputs: input.outputs.clone(),
                })
            })
            .map(|p| serde_json::to_string(&p).map_err(|e| Error::Config(format!("journal: {e}"))))
            .collect::<Result<_>>()?;
        if !pending.is_empty() {
            let journal = match &mut self.pending {
                Some(j) => j,
                None => self.pending.insert(Appender::open(&self.plan.pending())?),
            };
            for line in &pending {
                journal.append(line)?;
            }
            journal.sync()?;
        }
        let mut entries = Vec::with_capacity(loaded.len());
        let mut dirs: HashSet<PathBuf> = HashSet::new();
        for (l, result) in loaded.iter().zip(results) {
            let input = &self.plan.inputs[l.index];
            let entry = match result {
                Ok(p) => {
                    let outputs = self.write_outputs(input, l, &p, &mut dirs)?;
                    self.entry(input, l, Status::Ok, None, outputs, &p)
                }
                Err((status, reason)) => {
                    self.remove_outputs(input)?;
                    self.entry(
                        input,
                        l,
                        status,
                        Some(reason),
                        Vec::new(),
                        &Produced::default(),
                    )
                }
            };
            entries.push(entry);
        }
        for d in &dirs {
            sync_dir(d);
        }
        if let Some(r) = &mut self.results {
            r.sync()?;
        }
        for e in &entries {
            let line = serde_json::to_string(e)
                .map_err(|err| Error::Config(format!("manifest record: {err}")))?;
            self.manifest.append(&line)?;
        }
        self.manifest.sync()?;
        for e in &entries {
            self.totals.done += 1;
            match e.status {
                Status::Ok => self.totals.ok += 1,
                Status::Failed => self.totals.failed += 1,
                Status::Skipped => self.totals.skipped += 1,
            }
            self.totals.segments += e.segments;
            self.totals.source_tokens += e.tokens.source + e.tokens.summary_input;
            self.totals.generated_tokens += e.tokens.translation + e.tokens.summary;
            self.totals.elapsed_seconds = self.t0.elapsed().as_secs_f64();
            self.progress.file_done(e, &self.totals);
        }
        Ok(())
    }

    /// Runs the models over the group's good texts: translation batched across all of them
    /// (each text alone again if the batch fails, to find the bad one), summaries one by one.
    fn process(&mut self, texts: &[String]) -> Vec<Result<Produced>> {
        let models = self.models;
        match models {
            Models::Translate { pipe, settings } => self
                .translate(pipe, settings, texts)
                .into_iter()
                .map(|t| {
                    t.map(|t| Produced {
                        seconds: t.segments.iter().map(|s| s.seconds).sum(),
                        translation: Some(t),
                        summary: None,
                    })
                })
                .collect(),
            Models::Summarize { pipe, settings } => texts
                .iter()
                .map(|t| {
                    let summary = summarize(pipe, t, settings)?;
                    self.count_summary(&summary);
                    Ok(Produced {
                        seconds: summary.seconds,
                        translation: None,
                        summary: Some(summary),
                    })
                })
                .collect(),
            Models::Run {
                translator,
                translate,
                summarizer,
                summarize: ssettings,
            } => self
                .translate(translator, translate, texts)
                .into_iter()
                .map(|t| {
                    let t = t?;
                    let summary = summarize(summarizer, &t.text, ssettings)?;
                    self.count_summary(&summary);
                    Ok(Produced {
                        seconds: t.segments.iter().map(|s| s.seconds).sum::<f64>()
                            + summary.seconds,
                        translation: Some(t),
                        summary: Some(summary),
                    })
                })
                .collect(),
        }
    }

    fn count_summary(&mut self, summary: &Summary) {
        self.stats.generate_seconds += summary.seconds;
        self.stats.segments += 1;
        self.stats.source_tokens += summary.input_tokens;
        self.stats.target_tokens += summary.summary_tokens;
    }

    fn translate(
        &mut self,
        pipe: &Seq2SeqPipeline,
        settings: &TranslateSettings,
        texts: &[String],
    ) -> Vec<Result<DocumentTranslation>> {
        if texts.is_empty() {
            return Vec::new();
        }
        match translate_documents_with_stats(pipe, texts, settings, self.stats) {
            Ok(docs) => docs.into_iter().map(Ok).collect(),
            Err(_) if texts.len() > 1 => texts
                .iter()
                .map(|t| {
                    translate_documents_with_stats(
                        pipe,
                        std::slice::from_ref(t),
                        settings,
                        self.stats,
                    )
                    .map(|mut d| d.remove(0))
                })
                .collect(),
            Err(e) => vec![Err(e)],
        }
    }

    /// Writes an input's outputs (atomically, or appended to the results file) and returns
    /// their names relative to OUT_DIR.
    fn write_outputs(
        &mut self,
        input: &Input,
        l: &Loaded,
        p: &Produced,
        dirs: &mut HashSet<PathBuf>,
    ) -> Result<Vec<String>> {
        let t0 = Instant::now();
        let prefix = self.plan.temp_prefix();
        let translation = p.translation.as_ref().map(|t| with_newline(&t.text));
        let summary = p.summary.as_ref().map(|s| format!("{}\n", s.text));
        let out = if let Some(results) = &mut self.results {
            let record = ResultRecord {
                path: input.rel.clone(),
                sha256: l.sha256.clone().unwrap_or_default(),
                task: self.plan.settings.task,
                translation: p.translation.as_ref().map(|t| t.text.clone()),
                summary: p.summary.as_ref().map(|s| s.text.clone()),
            };
            let line = serde_json::to_string(&record)
                .map_err(|e| Error::Config(format!("results record: {e}")))?;
            results.append(&line)?;
            let name = self
                .plan
                .results
                .as_ref()
                .and_then(|r| r.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            vec![name]
        } else {
            let contents: Vec<&String> = translation.iter().chain(summary.iter()).collect();
            for (name, content) in input.outputs.iter().zip(contents) {
                let path = self.plan.output_root.join(name);
                write_atomic(&path, content.as_bytes(), &prefix)?;
                if let Some(d) = path.parent() {
                    dirs.insert(d.to_path_buf());
                }
            }
            input.outputs.clone()
        };
        self.stats.write_seconds += t0.elapsed().as_secs_f64();
        Ok(out)
    }

    /// Removes outputs an earlier run left for an input that now fails or is skipped, so the
    /// output tree agrees with the manifest.
    fn remove_outputs(&self, input: &Input) -> Result<()> {
        for o in &input.outputs {
            let path = self.plan.output_root.join(o);
            if fs::symlink_metadata(&path).is_ok() {
                fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }

    fn entry(
        &self,
        input: &Input,
        l: &Loaded,
        status: Status,
        reason: Option<String>,
        outputs: Vec<String>,
        p: &Produced,
    ) -> ManifestEntry {
        let mut tokens = TokenCounts::default();
        let mut segments = 0;
        if let Some(t) = &p.translation {
            segments = t.segments.len();
            tokens.source = t.segments.iter().map(|s| s.source_tokens).sum();
            tokens.translation = t.segments.iter().map(|s| s.target_tokens).sum();
        }
        if let Some(s) = &p.summary {
            if p.translation.is_none() {
                segments = 1;
            }
            tokens.summary_input = s.input_tokens;
            tokens.summary = s.summary_tokens;
        }
        ManifestEntry {
            path: input.rel.clone(),
            sha256: l.sha256.clone(),
            bytes: l.bytes,
            status,
            reason,
            task: self.plan.settings.task,
            outputs,
            settings_sha256: self.settings_sha256.clone(),
            settings: self.settings_json.clone(),
            models: self.models_json.clone(),
            segments,
            tokens,
            seconds: p.seconds,
            finished_at: now_unix(),
            shard: self.plan.settings.shard.map(|s| s.to_string()),
        }
    }
}

/// Reads and checks one input.
fn read_input(index: usize, path: &Path, max_bytes: u64, min_arabic: Option<f64>) -> Loaded {
    let fail = |status, reason: String, bytes| Loaded {
        index,
        sha256: None,
        bytes,
        text: Err((status, reason)),
    };
    let size = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) => return fail(Status::Failed, format!("cannot read: {e}"), None),
    };
    if size > max_bytes {
        return fail(
            Status::Skipped,
            format!("larger than --max-bytes ({size} > {max_bytes} bytes)"),
            Some(size),
        );
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => return fail(Status::Failed, format!("cannot read: {e}"), Some(size)),
    };
    Loaded {
        index,
        sha256: Some(sha256_hex(&bytes)),
        bytes: Some(bytes.len() as u64),
        text: classify(bytes, min_arabic),
    }
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
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

    #[test]
    fn outputs_are_named_after_inputs() {
        assert_eq!(output_names("a/b.txt", Task::Translate), ["a/b.en.txt"]);
        assert_eq!(
            output_names("a/b.txt", Task::Run),
            ["a/b.en.txt", "a/b.summary.en.txt"]
        );
        assert_eq!(output_names("b.md", Task::Summarize), ["b.md.summary.txt"]);
    }

    #[test]
    fn inputs_are_classified() {
        assert_eq!(
            classify(
                b"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7".to_vec(),
                Some(0.2)
            ),
            Ok("مرحبا".to_string())
        );
        assert!(matches!(
            classify(b"ab\0c".to_vec(), None),
            Err((Status::Failed, r)) if r.contains("binary")
        ));
        assert!(matches!(
            classify(b"ab\xffc".to_vec(), None),
            Err((Status::Failed, r)) if r == "invalid UTF-8 at byte 2"
        ));
        assert!(matches!(
            classify(b" \n ".to_vec(), None),
            Err((Status::Skipped, r)) if r.contains("empty")
        ));
        assert!(matches!(
            classify(b"Hello world".to_vec(), Some(0.2)),
            Err((Status::Skipped, r)) if r.contains("Arabic")
        ));
        assert!(classify(b"Hello world".to_vec(), None).is_ok());
        assert!((arabic_ratio("abc مرحبا") - 5.0 / 8.0).abs() < 1e-9);
    }

    #[test]
    fn a_torn_manifest_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.jsonl");
        let entry = ManifestEntry {
            path: "a.txt".into(),
            sha256: Some("00".into()),
            bytes: Some(1),
            status: Status::Ok,
            reason: None,
            task: Task::Translate,
            outputs: vec!["a.en.txt".into()],
            settings_sha256: "ff".into(),
            settings: serde_json::Value::Null,
            models: serde_json::Value::Null,
            segments: 1,
            tokens: TokenCounts::default(),
            seconds: 0.1,
            finished_at: 1.0,
            shard: None,
        };
        let line = serde_json::to_string(&entry).unwrap();
        fs::write(&path, format!("{line}\n{}", &line[..line.len() / 2])).unwrap();
        let m = read_manifest(&path).unwrap();
        assert_eq!(m.entries, vec![entry]);
        assert_eq!(m.bad_lines, 1);
        assert!(m.torn_end);
        fs::write(&path, &line).unwrap();
        let m = read_manifest(&path).unwrap();
        assert_eq!((m.entries.len(), m.bad_lines, m.torn_end), (1, 0, true));
        assert!(read_manifest(&dir.path().join("none"))
            .unwrap()
            .entries
            .is_empty());
    }
}
