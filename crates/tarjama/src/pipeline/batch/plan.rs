//! Planning a batch run before any model is loaded: the walk of INPUT_DIR (by name,
//! hidden names and OUT_DIR left out, symlinks judged), the `--glob` filter, sharding,
//! output names ([`output_names`]), the refusal to replace files that are not the run's own
//! ([`plan`]), the earlier run's files read once for `--resume` ([`EarlierRun`]), and the
//! fingerprint of the settings and models that `--resume` compares ([`Fingerprint`]).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::manifest::{read_jsonl, Jsonl, Manifest, Pending, ResultRecord};
use super::{sha256_hex, BatchSettings, Mode, Models, OutputFormat, Status, Task, Verdict};
use crate::decoding::GenerationConfig;
use crate::error::{Error, Result};
use crate::pipeline::summarize::{Strategy, SummarizeSettings};
use crate::pipeline::translate::TranslateSettings;
use crate::pipeline::Seq2SeqPipeline;
use crate::text::Normalization;

/// The longest file name (bytes) an output may have: Linux's `NAME_MAX`.
pub const NAME_MAX: usize = 255;

/// The output files of the input at `rel` for `task`, relative to OUT_DIR.
///
/// A name (or folder name) that would be longer than [`NAME_MAX`] bytes is shortened: cut on a
/// character boundary and ended with `~` and the first 6 hex digits of the SHA-256 of the input's
/// path up to that part, before the suffix (`…~3f2a9c.en.txt`), so it stays unique.
pub fn output_names(rel: &str, task: Task) -> Vec<String> {
    let stem = rel.strip_suffix(".txt").unwrap_or(rel);
    let suffixes: &[&str] = match task {
        Task::Translate => &[".en.txt"],
        Task::Summarize => &[".summary.txt"],
        Task::Run => &[".en.txt", ".summary.en.txt"],
    };
    suffixes.iter().map(|suffix| fit(stem, suffix)).collect()
}

/// `{stem}{suffix}` with every `/`-separated part shortened to fit [`NAME_MAX`] (see
/// [`output_names`]).
fn fit(stem: &str, suffix: &str) -> String {
    let parts: Vec<&str> = stem.split('/').collect();
    let mut out = String::with_capacity(stem.len() + suffix.len());
    let mut so_far = 0;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let tail = if last { suffix } else { "" };
        so_far += part.len() + usize::from(i > 0);
        if part.len() + tail.len() <= NAME_MAX {
            out.push_str(part);
        } else {
            let hash = &sha256_hex(&stem.as_bytes()[..so_far])[..6];
            let mut keep = NAME_MAX - tail.len() - 1 - hash.len();
            while !part.is_char_boundary(keep) {
                keep -= 1;
            }
            out.push_str(&part[..keep]);
            out.push('~');
            out.push_str(hash);
        }
        out.push_str(if last { tail } else { "/" });
    }
    out
}

/// A file or folder name as the manifest records it, always UTF-8 and reversible: a name that
/// is valid UTF-8 is kept, except that a `%` followed by two hex digits becomes `%25`; each byte
/// of a name that is not UTF-8 (a CP1256 name from a Windows zip) becomes `%XX` (upper-case hex).
/// Two different names never give the same string.
pub fn escape_name(name: &std::ffi::OsStr) -> String {
    let mut out = String::new();
    // The raw bytes on Unix (WTF-8 on Windows, where names are UTF-16).
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        let valid = chunk.valid();
        for (i, c) in valid.char_indices() {
            let next = valid.as_bytes().get(i + 1..i + 3);
            if c == '%' && next.is_some_and(|n| n.iter().all(u8::is_ascii_hexdigit)) {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    /// With [`Mode::Resume`]: the earlier run's files, read once here and used again by
    /// [`run`](super::run()).
    pub earlier: Option<EarlierRun>,
}

impl Plan {
    /// The name tag of this shard's files: `all`, or `K-of-N`.
    pub(super) fn tag(&self) -> String {
        match self.settings.shard {
            Some(s) => format!("{}-of-{}", s.index, s.count),
            None => "all".into(),
        }
    }

    /// The prefix of this run's temporary files.
    pub(super) fn temp_prefix(&self) -> String {
        format!(".tarjama-tmp-{}-", self.tag())
    }

    /// The journal of outputs about to be written (`--format text`): before a group's outputs
    /// are renamed into place, one line per input names them, so that a run killed before the
    /// group's manifest records are appended still knows, on `--resume`, that it wrote them.
    /// Removed when a run finishes.
    pub fn pending(&self) -> PathBuf {
        self.output_root
            .join(format!(".tarjama-pending-{}.jsonl", self.tag()))
    }
}

/// What an earlier run left in OUT_DIR, read once by [`plan`] with [`Mode::Resume`] and carried
/// in the [`Plan`] to [`run`](super::run()): its manifest, its journal of pending outputs, and
/// (`--format jsonl`) its results file.
#[derive(Debug, Clone, Default)]
pub struct EarlierRun {
    /// The manifest (empty when there is none).
    pub manifest: Manifest,
    /// The journal of outputs a killed run was about to write (see [`Plan::pending`]).
    pub pending: Jsonl<Pending>,
    /// The results file, with `--format jsonl` (empty when there is none or it is not a file).
    pub results: Option<Jsonl<ResultRecord>>,
}

impl EarlierRun {
    /// Reads the plan's manifest, journal and results file, in that order, each once.
    ///
    /// Errors: one exists but cannot be read.
    pub fn read(plan: &Plan) -> Result<Self> {
        let manifest = read_jsonl(&plan.manifest)?;
        let pending = read_jsonl(&plan.pending())?;
        let results = match &plan.results {
            Some(r) if r.is_file() => Some(read_jsonl(r)?),
            Some(_) => Some(Jsonl::default()),
            None => None,
        };
        Ok(Self {
            manifest,
            pending,
            results,
        })
    }

    /// The outputs the earlier run wrote or was about to write, by input: those of each
    /// input's latest manifest record, and those of the journal of pending outputs.
    pub fn outputs(&self) -> HashMap<String, HashSet<String>> {
        let mut ours: HashMap<String, HashSet<String>> = HashMap::new();
        for (path, e) in self.manifest.latest() {
            ours.entry(path.to_string())
                .or_default()
                .extend(e.outputs.iter().cloned());
        }
        for p in &self.pending.entries {
            ours.entry(p.path.clone())
                .or_default()
                .extend(p.outputs.iter().cloned());
        }
        ours
    }

    /// The results file's records by input path: (sha256, raw line); the latest record of a
    /// path wins. Empty without a results file.
    pub fn results_by_path(&self) -> HashMap<&str, (&str, &str)> {
        let mut map = HashMap::new();
        if let Some(r) = &self.results {
            for (record, line) in r.entries.iter().zip(&r.lines) {
                map.insert(
                    record.path.as_str(),
                    (record.sha256.as_str(), line.as_str()),
                );
            }
        }
        map
    }
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
        let name = escape_name(&entry.file_name());
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
    let mut plan = Plan {
        settings: settings.clone(),
        earlier: None,
        manifest: output_root.join(manifest_name),
        results: (settings.format == OutputFormat::Jsonl).then(|| output_root.join(results_name)),
        input_root,
        output_root,
        inputs,
        found,
    };
    // What a run may replace: with --overwrite everything; with --resume only what the earlier
    // run in OUT_DIR recorded as its own; otherwise nothing.
    if settings.mode == Mode::Overwrite {
        return Ok(plan);
    }
    if settings.mode == Mode::Resume {
        if settings.shard.is_none() && fs::symlink_metadata(&plan.manifest).is_err() {
            let shards = sharded_manifests(&plan.output_root);
            if let Some(&(_, count)) = shards.first() {
                let flags: Vec<String> = shards
                    .iter()
                    .filter(|s| s.1 == count)
                    .map(|(k, n)| format!("--shard {k}/{n}"))
                    .collect();
                return Err(Error::input(
                    &plan.manifest,
                    format!(
                        "not found: the earlier run here was sharded; resume each shard with \
                         its own --shard ({})",
                        flags.join(", ")
                    ),
                ));
            }
        }
        plan.earlier = Some(EarlierRun::read(&plan)?);
    }
    let ours = plan.earlier.as_ref().map(EarlierRun::outputs);
    let mut existing: Vec<PathBuf> = Vec::new();
    // With --resume, the manifest and results file may be replaced when they read as ones
    // tarjama wrote.
    let manifest_ours = plan.earlier.as_ref().is_some_and(|e| e.manifest.ours);
    let results_ours = plan
        .earlier
        .as_ref()
        .is_some_and(|e| e.results.as_ref().is_some_and(|r| r.ours));
    for (p, reads_as_ours) in [
        (Some(&plan.manifest), manifest_ours),
        (plan.results.as_ref(), results_ours),
    ] {
        let Some(p) = p else { continue };
        if fs::symlink_metadata(p).is_ok() && !(p.is_file() && reads_as_ours) {
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

/// The shards `(K, N)` whose manifests (`manifest-K-of-N.jsonl`) are in `dir`, sorted.
fn sharded_manifests(dir: &Path) -> Vec<(usize, usize)> {
    let mut found: Vec<(usize, usize)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (k, n) = name
                .strip_prefix("manifest-")?
                .strip_suffix(".jsonl")?
                .split_once("-of-")?;
            Some((k.parse().ok()?, n.parse().ok()?))
        })
        .collect();
    found.sort();
    found
}

/// A model as the manifest records it.
#[derive(Serialize)]
struct ModelRecord<'a> {
    name: &'a str,
    repo: Option<&'a str>,
    revision: Option<&'a str>,
    dtype: &'a str,
    quantization: Option<&'a str>,
}

impl<'a> ModelRecord<'a> {
    fn of(pipe: &'a Seq2SeqPipeline) -> Self {
        let info = &pipe.info;
        Self {
            name: &info.name,
            repo: info.repo.as_deref(),
            revision: info.revision.as_deref(),
            dtype: &info.dtype,
            quantization: info.quantization.as_deref(),
        }
    }
}

/// A [`Normalization`] as the manifest records it.
#[derive(Serialize)]
struct NormalizationRecord {
    nfc: bool,
    remove_tatweel: bool,
    remove_bidi_controls: bool,
    remove_diacritics: bool,
}

impl From<&Normalization> for NormalizationRecord {
    fn from(n: &Normalization) -> Self {
        Self {
            nfc: n.nfc,
            remove_tatweel: n.remove_tatweel,
            remove_bidi_controls: n.remove_bidi_controls,
            remove_diacritics: n.remove_diacritics,
        }
    }
}

/// The translation settings as the manifest records them.
#[derive(Serialize)]
struct TranslateRecord<'a> {
    normalization: NormalizationRecord,
    generation: &'a GenerationConfig,
}

impl<'a> TranslateRecord<'a> {
    fn of(s: &'a TranslateSettings) -> Self {
        Self {
            normalization: (&s.normalization).into(),
            generation: &s.generation,
        }
    }
}

/// The summarization settings as the manifest records them.
#[derive(Serialize)]
struct SummarizeRecord<'a> {
    /// The template itself: its `{text}` placeholder filled with `{text}`.
    prompt: Option<String>,
    generation: &'a GenerationConfig,
    strategy: Strategy,
    max_input_tokens: usize,
    normalization: NormalizationRecord,
}

impl<'a> SummarizeRecord<'a> {
    fn of(pipe: &Seq2SeqPipeline, s: &'a SummarizeSettings) -> Self {
        Self {
            prompt: s.prompt.as_ref().map(|p| p.apply("{text}")),
            generation: &s.generation,
            strategy: s.strategy,
            max_input_tokens: s
                .max_input_tokens
                .unwrap_or_else(|| pipe.model.max_input_tokens()),
            normalization: (&s.normalization).into(),
        }
    }
}

/// The `settings` of a manifest record.
#[derive(Serialize)]
struct SettingsRecord<'a> {
    task: Task,
    format: OutputFormat,
    /// Left out for `auto`, so manifests written before `--encoding` existed keep their
    /// fingerprint and `--resume` over them skips what they finished.
    #[serde(skip_serializing_if = "crate::text::Encoding::is_auto")]
    encoding: crate::text::Encoding,
    #[serde(skip_serializing_if = "Option::is_none")]
    translate: Option<TranslateRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summarize: Option<SummarizeRecord<'a>>,
}

/// The `models` of a manifest record.
#[derive(Serialize)]
struct ModelsRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    translator: Option<ModelRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summarizer: Option<ModelRecord<'a>>,
}

/// What `--resume` compares: the `settings` and `models` every manifest record of a run
/// carries, and the SHA-256 of their canonical JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// Decoding and text settings (task, format, normalization, generation, prompt, ...).
    pub settings: serde_json::Value,
    /// The models: name, Hub repo, resolved revision, dtype, quantization.
    pub models: serde_json::Value,
    /// SHA-256 (hex) of `{"models":…,"settings":…}` as compact JSON with sorted keys.
    pub sha256: String,
}

impl Fingerprint {
    /// The fingerprint of `settings` and `models`.
    pub fn new(settings: serde_json::Value, models: serde_json::Value) -> Self {
        // Keys in sorted order at every level (serde_json's map), so the hash does not depend
        // on the order fields are declared in.
        let canonical = serde_json::json!({"settings": settings, "models": models});
        let sha256 = sha256_hex(canonical.to_string().as_bytes());
        Self {
            settings,
            models,
            sha256,
        }
    }
}

/// `value` as a JSON value: maps with sorted keys, numbers as serde_json holds them.
fn to_value(value: impl Serialize) -> serde_json::Value {
    // Serializing these records (strings, numbers, booleans, maps with string keys) cannot fail.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl Models<'_> {
    /// The [`Fingerprint`] of these models and their settings, writing `format` from inputs
    /// read in `encoding`.
    pub fn fingerprint(
        &self,
        format: OutputFormat,
        encoding: crate::text::Encoding,
    ) -> Fingerprint {
        let (translate, summarize, translator, summarizer) = match self {
            Models::Translate { pipe, settings } => {
                (Some(TranslateRecord::of(settings)), None, Some(*pipe), None)
            }
            Models::Summarize { pipe, settings } => (
                None,
                Some(SummarizeRecord::of(pipe, settings)),
                None,
                Some(*pipe),
            ),
            Models::Run {
                translator,
                summarizer,
                settings,
            } => (
                Some(TranslateRecord::of(&settings.translate)),
                Some(SummarizeRecord::of(summarizer, &settings.summarize)),
                Some(*translator),
                Some(*summarizer),
            ),
        };
        let settings = SettingsRecord {
            task: self.task(),
            format,
            encoding,
            translate,
            summarize,
        };
        let models = ModelsRecord {
            translator: translator.map(ModelRecord::of),
            summarizer: summarizer.map(ModelRecord::of),
        };
        Fingerprint::new(to_value(settings), to_value(models))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn long_names_are_shortened_with_a_hash_of_the_path() {
        let long = "ب".repeat(130); // 260 bytes
        let rel = format!("d/{long}.txt");
        let names = output_names(&rel, Task::Run);
        let hash = &sha256_hex(format!("d/{long}").as_bytes())[..6];
        let keep = |suffix: &str| {
            let mut n = 255 - suffix.len() - 7;
            n -= n % 2; // two bytes a letter
            format!("d/{}~{hash}{suffix}", &long[..n])
        };
        assert_eq!(names, [keep(".en.txt"), keep(".summary.en.txt")]);
        for n in &names {
            assert!(n.rsplit('/').next().unwrap().len() <= NAME_MAX, "{n}");
        }
        // A name that fits is kept; one just over the limit is cut.
        let fits = "a".repeat(255 - 7);
        assert_eq!(
            output_names(&fits, Task::Translate),
            [format!("{fits}.en.txt")]
        );
        let over = format!("{fits}x");
        let got = &output_names(&over, Task::Translate)[0];
        assert_eq!(got.len(), 255);
        assert!(got.ends_with(&format!("~{}.en.txt", &sha256_hex(over.as_bytes())[..6])));
        // A long folder name is shortened the same way for every file in it.
        let dir = "c".repeat(300);
        let a = &output_names(&format!("{dir}/a.txt"), Task::Translate)[0];
        let b = &output_names(&format!("{dir}/b.txt"), Task::Translate)[0];
        assert_eq!(a.split('/').next(), b.split('/').next());
        assert_eq!(a.split('/').next().unwrap().len(), 255);
    }

    #[test]
    fn names_that_are_not_utf8_are_escaped_reversibly() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let e = |b: &[u8]| escape_name(OsStr::from_bytes(b));
        assert_eq!(e(b"\xe1\xe3.txt"), "%E1%E3.txt");
        assert_eq!(e(b"\xe1\xe4.txt"), "%E1%E4.txt");
        // A UTF-8 name that reads like an escape gets its `%` escaped; other `%`s stay.
        assert_eq!(e(b"%E1%E3.txt"), "%25E1%25E3.txt");
        assert_eq!(e("100% عربي.txt".as_bytes()), "100% عربي.txt");
        assert_eq!(e(b"a%\xe1"), "a%%E1");
        assert_eq!(e("مرحبا.txt".as_bytes()), "مرحبا.txt");
    }
}
