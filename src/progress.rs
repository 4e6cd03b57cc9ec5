//! Progress on stderr: the library's events drawn for the user. [`Downloads`] draws Hub
//! downloads (the library's [`DownloadObserver`] events), [`BatchProgress`] draws `tarjama
//! batch` (the library's batch [`batch::Progress`] events). Both draw a bar on a terminal, lines
//! now and then otherwise, and nothing with `--quiet` ([`Mode::for_stderr`]).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tarjama::hub::{self, format_size, DownloadObserver};
use tarjama::pipeline::batch::{self, ManifestEntry, Status, Totals};
use tarjama::pipeline::progress as stage;

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar, drawn by indicatif (stderr is a terminal).
    Bar,
    /// Lines now and then (a log file, a batch system).
    Lines,
    /// Nothing (`--quiet`); errors are still printed.
    Off,
}

impl Mode {
    /// [`Mode::Off`] with `quiet`, else a bar when stderr is a terminal, else lines.
    pub fn for_stderr(quiet: bool) -> Mode {
        if quiet {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// Makes the library report Hub downloads and notes to a [`Downloads`] on stderr, or to nobody
/// with `quiet` (`--quiet`: no progress, no Hub notes).
pub fn install(quiet: bool) {
    let observer: Arc<dyn DownloadObserver> = match Mode::for_stderr(quiet) {
        Mode::Off => Arc::new(hub::Silent),
        mode => Arc::new(Downloads::new(mode)),
    };
    hub::set_observer(observer);
}

/// How often [`Mode::Lines`] prints a line during a long download.
pub const DOWNLOAD_LINE_EVERY: Duration = Duration::from_secs(5);

/// Draws Hub downloads on stderr: per file a bar (bytes, rate, ETA), or a line when it starts,
/// every [`DOWNLOAD_LINE_EVERY`] and when it is done; notes on their own line.
pub struct Downloads {
    mode: Mode,
    file: Mutex<Option<FileMeter>>,
}

impl Downloads {
    /// Draws in `mode` ([`Mode::Off`] draws nothing).
    pub fn new(mode: Mode) -> Downloads {
        Downloads {
            mode,
            file: Mutex::new(None),
        }
    }

    fn file(&self) -> std::sync::MutexGuard<'_, Option<FileMeter>> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One file's download, as drawn.
struct FileMeter {
    bar: Option<ProgressBar>,
    label: String,
    total: Option<u64>,
    start: Instant,
    first: u64,
    pos: u64,
    last_line: Instant,
}

impl FileMeter {
    fn new(label: &str, total: Option<u64>, pos: u64) -> FileMeter {
        FileMeter {
            bar: None,
            label: label.to_string(),
            total,
            start: Instant::now(),
            first: pos,
            pos,
            last_line: Instant::now(),
        }
    }

    /// Bytes per second since the start, not counting what was resumed.
    fn rate(&self) -> f64 {
        (self.pos - self.first.min(self.pos)) as f64 / self.start.elapsed().as_secs_f64().max(1e-3)
    }

    /// `120 MiB of 302 MiB (40%), 12 MiB/s, ETA 0:15`.
    fn progress_line(&self) -> String {
        let rate = self.rate();
        let mut line = format_size(self.pos);
        if let Some(t) = self.total.filter(|t| *t > 0) {
            line.push_str(&format!(
                " of {} ({:.0}%)",
                format_size(t),
                100.0 * self.pos as f64 / t as f64
            ));
        }
        line.push_str(&format!(", {}/s", format_size(rate as u64)));
        if let (Some(t), true) = (self.total, rate > 0.0) {
            let s = t.saturating_sub(self.pos) as f64 / rate;
            line.push_str(&format!(
                ", ETA {}:{:02}",
                (s / 60.0) as u64,
                (s % 60.0) as u64
            ));
        }
        line
    }
}

/// The bar of one download: bytes, total, rate and ETA, or a spinner when the size is unknown.
fn download_bar(label: &str, total: Option<u64>, pos: u64) -> ProgressBar {
    let (bar, template) = match total {
        Some(t) => (
            ProgressBar::new(t),
            "{prefix} {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec}, ETA {eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{prefix} {spinner} {bytes} {binary_bytes_per_sec}",
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(format!("downloading {label}"));
    bar.set_position(pos);
    bar.reset_eta();
    bar
}

impl DownloadObserver for Downloads {
    fn started(&self, label: &str, total: Option<u64>, resumed_at: u64) {
        let mut meter = FileMeter::new(label, total, resumed_at);
        match self.mode {
            Mode::Off => return,
            Mode::Bar => meter.bar = Some(download_bar(label, total, resumed_at)),
            Mode::Lines => {
                let size = total.map_or_else(|| "size unknown".into(), format_size);
                let from = if resumed_at > 0 {
                    format!(", resuming at {}", format_size(resumed_at))
                } else {
                    String::new()
                };
                eprintln!("downloading {label} ({size}{from})");
            }
        }
        *self.file() = Some(meter);
    }

    fn progress(&self, _label: &str, bytes: u64) {
        let mut file = self.file();
        let Some(meter) = file.as_mut() else {
            return;
        };
        meter.pos = bytes;
        match &meter.bar {
            Some(bar) => bar.set_position(bytes),
            None => {
                if meter.last_line.elapsed() >= DOWNLOAD_LINE_EVERY {
                    meter.last_line = Instant::now();
                    eprintln!("downloading {}: {}", meter.label, meter.progress_line());
                }
            }
        }
    }

    fn note(&self, msg: &str) {
        if self.mode == Mode::Off {
            return;
        }
        match self.file().as_ref().and_then(|m| m.bar.as_ref()) {
            Some(bar) => bar.println(msg),
            None => eprintln!("{msg}"),
        }
    }

    fn stopped(&self, _label: &str) {
        if let Some(meter) = self.file().as_mut() {
            if let Some(bar) = meter.bar.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn finished(&self, label: &str, bytes: u64, seconds: f64) {
        self.stopped(label);
        *self.file() = None;
        if self.mode == Mode::Off {
            return;
        }
        eprintln!(
            "downloaded {label} ({}) in {seconds:.1} s",
            format_size(bytes)
        );
    }
}

/// How often [`Mode::Lines`] prints a batch progress line.
const BATCH_LINE_EVERY: Duration = Duration::from_secs(10);

/// How batch progress is drawn.
enum View {
    /// `--quiet`.
    Nothing,
    /// A bar on a terminal.
    Bar(ProgressBar),
    /// A line every [`BATCH_LINE_EVERY`] when stderr is not a terminal.
    Lines { last: Option<Instant> },
}

/// Draws the library's batch progress on stderr.
pub struct BatchProgress {
    view: View,
}

fn counts(t: &Totals) -> String {
    format!(
        "{} ok, {} failed, {} skipped; {} segments, {:.1} tok/s",
        t.ok,
        t.failed,
        t.skipped,
        t.segments,
        t.tokens_per_second()
    )
}

/// [`counts`] for the bar, which has less room.
fn short_counts(t: &Totals) -> String {
    format!(
        "{} failed, {} skipped, {} seg, {:.0} tok/s",
        t.failed,
        t.skipped,
        t.segments,
        t.tokens_per_second()
    )
}

fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

impl BatchProgress {
    /// Progress for `tarjama batch`, in [`Mode::for_stderr`]'s mode.
    pub fn new(quiet: bool) -> Self {
        let view = match Mode::for_stderr(quiet) {
            Mode::Off => View::Nothing,
            Mode::Bar => {
                // Hidden until the models are loaded, so it does not fight with the download
                // bars.
                let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {pos}/{len} files {wide_bar} {msg}, ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                View::Bar(bar)
            }
            Mode::Lines => View::Lines { last: None },
        };
        Self { view }
    }

    fn line(t: &Totals) -> String {
        let eta = t
            .eta_seconds()
            .map(clock)
            .unwrap_or_else(|| "?".to_string());
        format!(
            "batch: {}/{} files ({}), ETA {eta}",
            t.done,
            t.todo,
            counts(t)
        )
    }

    /// Clears the bar and prints the run's summary line (unless `--quiet`).
    pub fn finish(&mut self, report: &batch::BatchReport) {
        let t = &report.totals;
        let mut msg = format!(
            "batch: done in {}: {} ok, {} failed, {} skipped, {} already done; {} segments, \
             {:.1} tok/s; manifest: {}",
            clock(t.elapsed_seconds),
            t.ok,
            t.failed,
            t.skipped,
            t.resumed,
            t.segments,
            t.tokens_per_second(),
            report.manifest.display()
        );
        if report.dropped_manifest_lines > 0 {
            msg.push_str(&format!(
                " ({} torn line(s) of the earlier manifest dropped)",
                report.dropped_manifest_lines
            ));
        }
        match &self.view {
            View::Nothing => {}
            View::Bar(bar) => {
                bar.finish_and_clear();
                eprintln!("{msg}");
            }
            View::Lines { .. } => eprintln!("{msg}"),
        }
    }
}

impl batch::Progress for BatchProgress {
    fn start(&mut self, t: &Totals) {
        match &mut self.view {
            View::Nothing => {}
            View::Bar(bar) => {
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(200));
                bar.set_length(t.todo as u64);
                bar.set_message(short_counts(t));
                if t.resumed > 0 {
                    bar.println(format!("batch: {} inputs already done", t.resumed));
                }
            }
            View::Lines { last } => {
                eprintln!(
                    "batch: {} files to process ({} already done)",
                    t.todo, t.resumed
                );
                *last = Some(Instant::now());
            }
        }
    }

    fn file_done(&mut self, entry: &ManifestEntry, t: &Totals) {
        let warning = (entry.status == Status::Failed).then(|| {
            format!(
                "warning: {}: failed: {}",
                entry.path,
                entry.reason.as_deref().unwrap_or("")
            )
        });
        match &mut self.view {
            View::Nothing => {}
            View::Bar(bar) => {
                if let Some(w) = warning {
                    bar.println(w);
                }
                bar.set_position(t.done as u64);
                bar.set_message(short_counts(t));
            }
            View::Lines { last } => {
                if let Some(w) = warning {
                    eprintln!("{w}");
                }
                let due = last.is_none_or(|l| l.elapsed() >= BATCH_LINE_EVERY);
                if due && t.done < t.todo {
                    eprintln!("{}", Self::line(t));
                    *last = Some(Instant::now());
                }
            }
        }
    }
}

/// Draws `translate`, `summarize` and `run` progress (the library's [`stage::Progress`]
/// events) on stderr: per stage a bar with the stage, units done of the total and an ETA on a
/// terminal; nothing otherwise, nor with `--quiet` (these commands print their result, or a
/// one-line `--stats`, and a log should not fill with progress lines).
pub struct StageProgress {
    /// Whether bars are drawn at all ([`Mode::Bar`]).
    draw: bool,
    /// The current stage's bar and what it counts.
    bar: Option<(ProgressBar, stage::Stage, usize)>,
}

impl StageProgress {
    /// Progress in [`Mode::for_stderr`]'s mode: bars only for [`Mode::Bar`].
    pub fn new(quiet: bool) -> Self {
        Self {
            draw: Mode::for_stderr(quiet) == Mode::Bar,
            bar: None,
        }
    }

    /// Runs `f` (a write to stdout) with the bar out of the way, so the two do not mix on a
    /// terminal.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some((bar, ..)) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if let Some((bar, ..)) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// A bar for `total` units of `stage`, set up before it is shown, so that its first
    /// drawing (which indicatif's rate limit never skips) is complete.
    fn stage_bar(stage: stage::Stage, total: usize) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} {pos}/{len} {msg} {wide_bar} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(stage.as_str());
        bar.set_message(match stage {
            stage::Stage::Translate => "segments",
            stage::Stage::Summarize => "chunks",
        });
        bar
    }
}

impl Drop for StageProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl stage::Progress for StageProgress {
    fn advance(&mut self, stage: stage::Stage, done: usize, total: usize) {
        if !self.draw {
            return;
        }
        if !matches!(&self.bar, Some((_, s, t)) if *s == stage && *t == total) {
            self.finish();
            let bar = Self::stage_bar(stage, total);
            bar.set_position(done as u64);
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some((bar, stage, total));
        }
        if let Some((bar, ..)) = &self.bar {
            bar.set_position(done as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_lines_give_size_rate_and_eta() {
        let mut m = FileMeter::new("x", Some(4 << 20), 0);
        m.pos = 1 << 20;
        m.start = Instant::now() - Duration::from_secs(2);
        assert_eq!(
            m.progress_line(),
            "1.0 MiB of 4.0 MiB (25%), 512 KiB/s, ETA 0:06"
        );
        // Resumed bytes do not count towards the rate; without a size there is no ETA.
        let mut m = FileMeter::new("x", None, 1 << 20);
        m.pos = 2 << 20;
        m.start = Instant::now() - Duration::from_secs(4);
        assert_eq!(m.progress_line(), "2.0 MiB, 256 KiB/s");
    }

    #[test]
    fn quiet_draws_nothing() {
        assert_eq!(Mode::for_stderr(true), Mode::Off);
        let d = Downloads::new(Mode::Off);
        d.started("x f", Some(10), 0);
        d.progress("x f", 5);
        assert!(d.file().is_none());
    }
}
