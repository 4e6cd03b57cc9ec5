//! The files a batch run keeps in OUT_DIR besides its outputs: the manifest ([`ManifestEntry`]),
//! the results file of `--format jsonl` ([`ResultRecord`]) and the journal of pending outputs
//! ([`Pending`]); the one tolerant JSONL reader they are all read with ([`read_jsonl`]) and the
//! one appender they are all written with ([`Appender`]).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Status, Task};
use crate::error::{Error, Result};

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
    /// The input's path relative to INPUT_DIR, with `/` separators; names that are not UTF-8
    /// are escaped (see [`super::escape_name`]).
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
    /// Output files relative to OUT_DIR (`--format text`; a name over 255 bytes shortened, see
    /// [`super::output_names`]), or the results file (`jsonl`).
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

/// One line of the journal of pending outputs (see [`super::Plan::pending`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The input's path relative to INPUT_DIR.
    pub path: String,
    /// The outputs about to be written for it, relative to OUT_DIR.
    pub outputs: Vec<String>,
}

/// One record of `results.jsonl` (`--format jsonl`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultRecord {
    /// The input's path relative to INPUT_DIR, with `/` separators.
    pub path: String,
    /// SHA-256 of the input's bytes (hex).
    pub sha256: String,
    /// The task.
    pub task: Task,
    /// The translation (`translate`, `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation: Option<String>,
    /// The summary (`summarize`, `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A JSONL file as read back by [`read_jsonl`]: its valid records in file order.
#[derive(Debug, Clone)]
pub struct Jsonl<T> {
    /// Every line that parsed, in file order.
    pub entries: Vec<T>,
    /// The raw text of those lines (to rewrite the file without the bad ones).
    pub lines: Vec<String>,
    /// Lines that did not parse (a torn last line after a kill, or damage).
    pub bad_lines: usize,
    /// The file does not end with a newline (a write cut short after the JSON but before its
    /// newline): the next record must not be appended to that line.
    pub torn_end: bool,
    /// Whether the file reads as one tarjama wrote: every complete line is a record, and an
    /// unfinished last line is at most a record torn by a kill. An empty or missing file
    /// qualifies.
    pub ours: bool,
}

impl<T> Default for Jsonl<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            lines: Vec::new(),
            bad_lines: 0,
            torn_end: false,
            ours: true,
        }
    }
}

/// A manifest as read back: its valid records in file order.
pub type Manifest = Jsonl<ManifestEntry>;

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

#[cfg(test)]
thread_local! {
    /// Files [`read_jsonl`] read on this thread (tests count the reads of a resumed run).
    pub(super) static READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Reads a JSONL file of `T` records tolerantly: a missing file is an empty one, and lines
/// that do not parse as `T` (such as a line torn by a kill) are counted and left out. Blank
/// lines are passed over. Invalid UTF-8 is read lossily (and then fails to parse).
///
/// Errors: the file exists but cannot be read.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Jsonl<T>> {
    #[cfg(test)]
    READS.with(|r| r.set(r.get() + 1));
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Jsonl::default()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut m = Jsonl {
        torn_end: !text.is_empty() && !text.ends_with('\n'),
        ..Jsonl::default()
    };
    // The last piece after the last newline is unfinished (empty when the file ends with one).
    let (complete, tail) = match text.rfind('\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => ("", &text[..]),
    };
    let mut bad_complete = 0;
    let pieces = complete.split('\n').map(|l| (l, false));
    for (line, is_tail) in pieces.chain([(tail, true)]) {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(line) {
            Ok(e) => {
                m.entries.push(e);
                m.lines.push(line.to_string());
            }
            Err(_) => {
                m.bad_lines += 1;
                bad_complete += usize::from(!is_tail);
            }
        }
    }
    let tail_ok = tail.trim().is_empty() || m.bad_lines == bad_complete;
    let complete_records = m.entries.len() - usize::from(!tail.trim().is_empty() && tail_ok);
    m.ours = bad_complete == 0 && (tail_ok || complete_records > 0 || tail.starts_with('{'));
    Ok(m)
}

/// Reads a manifest ([`read_jsonl`] of [`ManifestEntry`]).
///
/// Errors: the file exists but cannot be read.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    read_jsonl(path)
}

/// An append-only JSONL file (the manifest, the results file, the journal): one `write` per
/// line, synced per group.
pub struct Appender {
    file: File,
    path: PathBuf,
}

impl Appender {
    /// Opens `path` for appending, creating it if missing.
    ///
    /// Errors: it cannot be opened.
    pub fn open(path: &Path) -> Result<Self> {
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

    /// Appends `line` and a newline in one write (not synced).
    ///
    /// Errors: the write fails.
    pub fn append(&mut self, line: &str) -> Result<()> {
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        self.file
            .write_all(buf.as_bytes())
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Flushes and syncs what was appended.
    ///
    /// Errors: the sync fails.
    pub fn sync(&mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::io(&self.path, e))?;
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }
}

/// An `ok` record of `a.txt` for `translate` with settings hash `ff`, for tests.
#[cfg(test)]
pub(super) fn sample_entry(sha256: &str, bytes: u64, output: &str) -> ManifestEntry {
    ManifestEntry {
        path: "a.txt".into(),
        sha256: Some(sha256.into()),
        bytes: Some(bytes),
        status: Status::Ok,
        reason: None,
        task: Task::Translate,
        outputs: vec![output.into()],
        settings_sha256: "ff".into(),
        settings: serde_json::Value::Null,
        models: serde_json::Value::Null,
        segments: 1,
        tokens: TokenCounts::default(),
        seconds: 0.1,
        finished_at: 1.0,
        shard: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_manifest_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.jsonl");
        let entry = sample_entry("00", 1, "a.en.txt");
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

    #[test]
    fn a_file_reads_as_ours_unless_a_complete_line_is_foreign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let record = r#"{"path":"a.txt","sha256":"00","task":"translate","translation":"Hi"}"#;
        let read = |text: &str| {
            fs::write(&path, text).unwrap();
            let r = read_jsonl::<ResultRecord>(&path).unwrap();
            (r.entries.len(), r.bad_lines, r.torn_end, r.ours)
        };
        assert_eq!(read(""), (0, 0, false, true));
        assert_eq!(read(&format!("{record}\n")), (1, 0, false, true));
        // A torn last record after a complete one: still ours, the torn line dropped.
        assert_eq!(
            read(&format!("{record}\n{}", &record[..20])),
            (1, 1, true, true)
        );
        // Only a torn record (it starts like one): ours.
        assert_eq!(read(&record[..20]), (0, 1, true, true));
        // A complete line that is not a record: not ours.
        assert_eq!(read(&format!("hello\n{record}\n")), (1, 1, false, false));
        // A lone unfinished line that is not a record: not ours.
        assert_eq!(read("hello"), (0, 1, true, false));
        // A manifest line is not a results record.
        assert_eq!(
            read("{\"path\":\"a.txt\",\"status\":\"ok\"}\n"),
            (0, 1, false, false)
        );
        assert!(
            read_jsonl::<ResultRecord>(&dir.path().join("none"))
                .unwrap()
                .ours
        );
    }
}
