//! Run statistics for `--stats`: where the time went, how much was processed, peak memory.

use std::collections::BTreeMap;

use serde::Serialize;

/// Totals of one command run. Printed by `--stats` as one JSON line on stderr.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Seconds spent resolving and loading models (weights, tokenizers, configs).
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
}

impl Stats {
    /// Counts one translated segment and its source and target tokens.
    pub fn add_segment(&mut self, seg: &super::translate::SegmentTranslation) {
        self.segments += 1;
        self.source_tokens += seg.source_tokens;
        self.target_tokens += seg.target_tokens;
    }

    /// Fills in the peak resident memory measured now.
    pub fn finish(&mut self) {
        self.peak_rss_mb = peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0));
    }
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
