//! Running a batch plan: inputs read and checked in groups, the models run over each group
//! (translation batched across its files), outputs written atomically, the journal and the
//! manifest appended, and progress reported to a [`Progress`].

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::manifest::{Appender, ManifestEntry, Pending, ResultRecord, TokenCounts};
use super::plan::{EarlierRun, Fingerprint, Input, Plan};
use super::{sha256_hex, BatchReport, Mode, Models, Status, Verdict};
use crate::error::{Error, Result};
use crate::fsio::{
    remove_file_if_there, remove_stale_temps, rewrite_lines, sync_dir, write_atomic,
};
use crate::pipeline::run::summarize_translated;
use crate::pipeline::stats::Stats;
use crate::pipeline::summarize::{summarize, Summary};
use crate::pipeline::translate::{
    translate_documents_with_stats, DocumentTranslation, TranslateSettings,
};
use crate::pipeline::Seq2SeqPipeline;
use crate::text::{classify, Encoding};

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
    /// Asked before each group: `true` stops the run there (nothing is left half-written; the
    /// report says [`BatchReport::interrupted`]). A signal handler's flag, for example.
    fn cancelled(&mut self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {}

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
    fingerprint: Fingerprint,
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
    let fingerprint = models.fingerprint(s.format, s.encoding);
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
            let read;
            let earlier = match &plan.earlier {
                Some(e) => e,
                None => {
                    read = EarlierRun::read(plan)?;
                    &read
                }
            };
            (done, dropped) = resume(plan, earlier, &fingerprint.sha256)?;
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
        fingerprint,
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
    let mut interrupted = false;
    for group in todo.chunks(s.files_per_group) {
        if runner.progress.cancelled() {
            interrupted = true;
            break;
        }
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
        interrupted,
    })
}

/// What `--resume` leaves alone: the inputs whose latest manifest record in `earlier` is ok
/// for this task with this fingerprint (`settings_sha256`), whose outputs are there and whose
/// content has the recorded hash. Rewrites the manifest without its torn lines and the results
/// file with the kept inputs' records only (both atomically). Reads no earlier file again.
///
/// Returns the inputs done and the count of torn manifest lines dropped.
///
/// Errors: the manifest or results file cannot be rewritten.
fn resume(
    plan: &Plan,
    earlier: &EarlierRun,
    settings_sha256: &str,
) -> Result<(HashSet<String>, usize)> {
    let s = &plan.settings;
    let prefix = plan.temp_prefix();
    let manifest = &earlier.manifest;
    let dropped = manifest.bad_lines;
    if dropped > 0 || manifest.torn_end {
        rewrite_lines(&plan.manifest, &manifest.lines, &prefix)?;
    }
    let latest = manifest.latest();
    let results = earlier.results_by_path();
    let mut done = HashSet::new();
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
        let outputs_there = match &plan.results {
            Some(_) => results
                .get(input.rel.as_str())
                .is_some_and(|(sha, _)| prev.sha256.as_deref() == Some(*sha)),
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
    if let Some(path) = &plan.results {
        let mut keep: Vec<String> = results
            .iter()
            .filter(|(p, _)| done.contains(**p))
            .map(|(_, (_, line))| line.to_string())
            .collect();
        keep.sort();
        rewrite_lines(path, &keep, &prefix)?;
    }
    Ok((done, dropped))
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
                read_input(index, &input.path, s.max_bytes, s.encoding, min_arabic)
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
                summarizer,
                settings,
            } => self
                .translate(translator, &settings.translate, texts)
                .into_iter()
                .zip(texts)
                .map(|(t, text)| {
                    let t = t?;
                    let s = summarize_translated(
                        translator, summarizer, text, &t.text, settings, self.stats,
                    )?;
                    Ok(Produced {
                        seconds: t.segments.iter().map(|s| s.seconds).sum::<f64>() + s.seconds,
                        translation: Some(t),
                        summary: Some(s.summary),
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
            settings_sha256: self.fingerprint.sha256.clone(),
            settings: self.fingerprint.settings.clone(),
            models: self.fingerprint.models.clone(),
            segments,
            tokens,
            seconds: p.seconds,
            finished_at: now_unix(),
            shard: self.plan.settings.shard.map(|s| s.to_string()),
        }
    }
}

/// Reads and checks one input.
fn read_input(
    index: usize,
    path: &Path,
    max_bytes: u64,
    encoding: Encoding,
    min_arabic: Option<f64>,
) -> Loaded {
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
        text: classify(&bytes, encoding, min_arabic).map_err(Verdict::from),
    }
}

fn with_newline(s: &str) -> String {
    if s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}\n")
    }
}

/// Seconds since the Unix epoch.
fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{sample_entry, READS};
    use super::super::{plan, BatchSettings, OutputFormat, Task};
    use super::*;

    /// An earlier `--format jsonl` run that did `a.txt` and left a torn manifest line.
    fn earlier_run(dir: &Path) -> BatchSettings {
        let input = dir.join("in");
        let out = dir.join("out");
        fs::create_dir_all(&input).unwrap();
        fs::create_dir_all(&out).unwrap();
        let text = "وصل الوفد إلى العاصمة.\n";
        fs::write(input.join("a.txt"), text).unwrap();
        fs::write(input.join("b.txt"), text).unwrap();
        let sha = sha256_hex(text.as_bytes());
        let entry = sample_entry(&sha, text.len() as u64, "results.jsonl");
        let line = serde_json::to_string(&entry).unwrap();
        fs::write(
            out.join("manifest.jsonl"),
            format!("{line}\n{}", &line[..line.len() / 2]),
        )
        .unwrap();
        let record = ResultRecord {
            path: "a.txt".into(),
            sha256: sha,
            task: Task::Translate,
            translation: Some("The delegation arrived.".into()),
            summary: None,
        };
        let other = ResultRecord {
            path: "b.txt".into(),
            ..record.clone()
        };
        fs::write(
            out.join("results.jsonl"),
            format!(
                "{}\n{}\n",
                serde_json::to_string(&record).unwrap(),
                serde_json::to_string(&other).unwrap()
            ),
        )
        .unwrap();
        let mut settings = BatchSettings::new(&input, &out, Task::Translate);
        settings.mode = Mode::Resume;
        settings.format = OutputFormat::Jsonl;
        settings
    }

    #[test]
    fn a_resumed_run_reads_the_earlier_files_once() {
        let dir = tempfile::tempdir().unwrap();
        let settings = earlier_run(dir.path());
        READS.with(|r| r.set(0));
        let plan = plan(&settings).unwrap();
        // The manifest, the journal (missing) and the results file: one read each.
        assert_eq!(READS.with(|r| r.get()), 3);
        let earlier = plan.earlier.as_ref().unwrap();
        assert_eq!(earlier.manifest.entries.len(), 1);
        assert_eq!(earlier.manifest.bad_lines, 1);

        let (done, dropped) = resume(&plan, earlier, "ff").unwrap();
        assert_eq!(READS.with(|r| r.get()), 3, "resume reads nothing again");
        assert_eq!(done, HashSet::from(["a.txt".to_string()]));
        assert_eq!(dropped, 1);
        // The manifest lost its torn line; the results file kept a.txt's record only.
        let manifest = fs::read_to_string(&plan.manifest).unwrap();
        assert_eq!(manifest, format!("{}\n", earlier.manifest.lines[0]));
        let results = fs::read_to_string(plan.results.as_ref().unwrap()).unwrap();
        assert_eq!(results.lines().count(), 1);
        assert!(results.starts_with(r#"{"path":"a.txt","#), "{results}");

        // Other settings: nothing is done, but the files are still cleaned.
        let (done, _) = resume(&plan, earlier, "00").unwrap();
        assert!(done.is_empty());
    }
}
