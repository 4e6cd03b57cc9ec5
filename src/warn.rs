//! Warnings: things that did not stop a command but that the user should know (an input in
//! another script than the model reads, an output cut by the length limit, a flag that has no
//! effect). Each is printed as one `warning: ...` line on stderr as it is found, and kept, for
//! the `warnings` array of `summarize --format json` and `run --format json`.

use std::path::Path;

use tarjama::decoding::FinishReason;
use tarjama::pipeline::translate::SegmentTranslation;
use tarjama::text::script::{arabic_ratio, MOSTLY_ARABIC};

use super::common::input_name;

/// Segments of one input whose length-limit warnings are printed one by one; the rest are
/// counted in one more line.
pub const LENGTH_LIMIT_LINES: usize = 5;

/// The warnings of one command run, in the order they were printed.
#[derive(Debug, Default)]
pub struct Warnings {
    lines: Vec<String>,
}

impl Warnings {
    /// Prints `warning: {msg}` on stderr and keeps `msg`.
    pub fn warn(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        eprintln!("warning: {msg}");
        self.lines.push(msg);
    }

    /// Keeps `msg` without printing it (a warning printed elsewhere, such as the generation
    /// settings' [`tarjama::decoding::GenerationConfig::warnings`]).
    pub fn keep(&mut self, msgs: impl IntoIterator<Item = String>) {
        self.lines.extend(msgs);
    }

    /// The warnings, for a JSON output's `warnings` array.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// `FILE: the input is not mostly Arabic (...)`, when `text` is below [`MOSTLY_ARABIC`]
    /// and `model`, which reads Arabic script, translates it.
    pub fn not_arabic(&mut self, path: &Path, text: &str, model: &str) {
        let ratio = arabic_ratio(text);
        if ratio < MOSTLY_ARABIC {
            self.warn(format!(
                "{}: the input is not mostly Arabic ({}% of its letters are Arabic script); \
                 {model} translates from Arabic",
                input_name(path).display(),
                percent(ratio)
            ));
        }
    }

    /// The summarizer's counterpart of [`Self::not_arabic`]: `model` reads `arabic` (Arabic
    /// text) or English, and `text` is the other.
    pub fn summarizer_script(&mut self, path: &Path, text: &str, model: &str, arabic: bool) {
        let ratio = arabic_ratio(text);
        let name = input_name(path);
        if arabic && ratio < MOSTLY_ARABIC {
            self.warn(format!(
                "{}: the input is not mostly Arabic ({}% of its letters are Arabic script); \
                 the summarizer {model} reads Arabic",
                name.display(),
                percent(ratio)
            ));
        } else if !arabic && ratio >= MOSTLY_ARABIC {
            self.warn(format!(
                "{}: the input is mostly Arabic ({}% of its letters are Arabic script); the \
                 summarizer {model} reads English (use an Arabic summarizer such as mt5-xlsum \
                 with --lang ar)",
                name.display(),
                percent(ratio)
            ));
        }
    }

    /// One line per segment of `path` that the length limit cut (at most
    /// [`LENGTH_LIMIT_LINES`], then one line counting the rest); `hint` follows each (`; raise
    /// --max-new-tokens`). Paragraphs and lines are counted from 1 here.
    pub fn length_limit(&mut self, path: &Path, segments: &[SegmentTranslation], hint: &str) {
        let name = input_name(path);
        let cut: Vec<&SegmentTranslation> = segments
            .iter()
            .filter(|s| s.stopped == FinishReason::Length)
            .collect();
        for s in cut.iter().take(LENGTH_LIMIT_LINES) {
            self.warn(format!(
                "{}: paragraph {} line {}: the translation stopped at the length limit ({} \
                 tokens){hint}",
                name.display(),
                s.paragraph + 1,
                s.line + 1,
                s.target_tokens
            ));
        }
        if cut.len() > LENGTH_LIMIT_LINES {
            self.warn(format!(
                "{}: {} more segments stopped at the length limit{hint}",
                name.display(),
                cut.len() - LENGTH_LIMIT_LINES
            ));
        }
    }

    /// `FILE: the summary stopped at the length limit (N tokens)` when the length limit cut
    /// the summary; `hint` follows.
    pub fn summary_length_limit(
        &mut self,
        path: &Path,
        summary: &tarjama::pipeline::summarize::Summary,
        hint: &str,
    ) {
        if summary.stopped == FinishReason::Length {
            self.warn(format!(
                "{}: the summary stopped at the length limit ({} tokens){hint}",
                input_name(path).display(),
                summary.summary_tokens
            ));
        }
    }

    /// `FLAG and FLAG ignored: WHY` naming the flags of `given` that were set (`Some`/`true`):
    /// flags that have no effect here; nothing when none was set.
    pub fn no_effect(&mut self, given: &[(&str, bool)], why: &str) {
        let flags: Vec<&str> = given.iter().filter(|g| g.1).map(|g| g.0).collect();
        if !flags.is_empty() {
            self.warn(format!("{} ignored: {why}", flags.join(" and ")));
        }
    }
}

/// `ratio` as a whole percentage, rounded down (so 99.6% Arabic does not read as 100).
fn percent(ratio: f64) -> u32 {
    (ratio * 100.0).floor() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_warnings_follow_the_threshold() {
        let mut w = Warnings::default();
        w.not_arabic(Path::new("a.txt"), "أعلنت وزارة الزراعة", "m");
        assert!(w.lines().is_empty());
        w.not_arabic(Path::new("-"), "The ministry said", "opus");
        assert_eq!(
            w.lines(),
            [
                "<stdin>: the input is not mostly Arabic (0% of its letters are Arabic script); \
              opus translates from Arabic"
            ]
        );
        // Half Arabic letters is mostly Arabic: no warning for a translator, one for an
        // English summarizer.
        let mut w = Warnings::default();
        w.not_arabic(Path::new("b"), "ab جد", "m");
        w.summarizer_script(Path::new("b"), "ab جد", "m", true);
        assert!(w.lines().is_empty());
        w.summarizer_script(Path::new("b"), "ab جد", "bart", false);
        assert_eq!(w.lines().len(), 1);
        assert!(w.lines()[0].starts_with("b: the input is mostly Arabic (50% of"));
    }

    #[test]
    fn no_effect_names_every_flag_given() {
        let mut w = Warnings::default();
        w.no_effect(&[("--src-lang", false), ("--tgt-lang", false)], "x");
        assert!(w.lines().is_empty());
        w.no_effect(&[("--prompt", true)], "translate has no summarizer");
        w.no_effect(&[("--src-lang", true), ("--tgt-lang", true)], "why");
        assert_eq!(
            w.lines(),
            [
                "--prompt ignored: translate has no summarizer",
                "--src-lang and --tgt-lang ignored: why"
            ]
        );
    }
}
