//! Run statistics for `--stats`: where the time went, how much was processed, peak memory.

use std::collections::BTreeMap;

use serde::Serialize;

use super::progress::Stage;

/// Totals of one command run. Printed by `--stats` as one JSON line on stderr.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Seconds spent resolving and loading models (weights, tokenizers, configs), and
    /// quantizing them (`--quantize`).
    pub load_seconds: f64,
    /// `load_seconds` per model, by role (`translator`, `summarizer`), for commands that load
    /// more than one (`run`); empty, and not printed, otherwise.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub model_load_seconds: BTreeMap<String, f64>,
    /// Seconds spent normalizing, segmenting, tokenizing and detokenizing.
    pub tokenize_seconds: f64,
    /// Seconds spent in the model: encoder and decoder, search included.
    pub generate_seconds: f64,
    /// Seconds spent writing outputs.
    pub write_seconds: f64,
    /// Segments (model inputs) processed.
    pub segments: usize,
    /// Source tokens, special tokens included.
    pub source_tokens: usize,
    /// Generated tokens, not counting the decoder start token.
    pub target_tokens: usize,
    /// Peak resident memory of the process in MiB (Linux `VmHWM`; `null` elsewhere).
    pub peak_rss_mb: Option<f64>,
    /// Per stage of `run`, by name (`translate`, `summarize`): what it did (see
    /// [`StageStats`]); empty, and not printed, for other commands.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stages: BTreeMap<String, StageStats>,
}

/// One stage of a run (`--stats`' `stages.translate`, `stages.summarize`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StageStats {
    /// Wall-clock seconds of the stage (tokenizing and generating; not loading).
    pub seconds: f64,
    /// Segments the stage's model decoded (the summary counts as one).
    pub segments: usize,
    /// Source tokens of those segments, special tokens included.
    pub source_tokens: usize,
    /// Tokens they generated, not counting decoder start tokens.
    pub target_tokens: usize,
    /// The process's peak resident memory in MiB when the stage ended (Linux `VmHWM`, which
    /// never falls: the peak so far, loads included; `null` elsewhere).
    pub peak_rss_mb: Option<f64>,
}

impl Stats {
    /// Records the stage `stage` that took `seconds` (wall clock): the segments and tokens
    /// added since `before` (a copy of these stats taken when it began) and the peak resident
    /// memory now. A stage recorded again adds to its entry.
    pub fn record_stage(&mut self, stage: Stage, before: &Stats, seconds: f64) {
        let e = self.stages.entry(stage.as_str().to_string()).or_default();
        e.seconds += seconds;
        e.segments += self.segments - before.segments;
        e.source_tokens += self.source_tokens - before.source_tokens;
        e.target_tokens += self.target_tokens - before.target_tokens;
        e.peak_rss_mb = peak_rss_mib();
    }

    /// Counts one translated segment and its source and target tokens.
    pub fn add_segment(&mut self, seg: &super::translate::SegmentTranslation) {
        self.segments += 1;
        self.source_tokens += seg.source_tokens;
        self.target_tokens += seg.target_tokens;
    }

    /// Fills in the peak resident memory measured now.
    pub fn finish(&mut self) {
        self.peak_rss_mb = peak_rss_mib();
    }
}

/// [`peak_rss_bytes`] in MiB.
fn peak_rss_mib() -> Option<f64> {
    peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0))
}

/// The process's peak resident set size in bytes, from `/proc/self/status` (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let b = super::peak_rss_bytes().unwrap();
            assert!(b > 1024 * 1024, "{b}");
        }
    }
}
