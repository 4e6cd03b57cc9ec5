//! Progress events of `translate`, `summarize` and `run`: what the model has done so far, and
//! a way for the caller to stop between padded batches. The library only reports; drawing (a
//! bar on a terminal) is the caller's.

/// What the model is working on when a [`Progress`] event comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Translating segments; units are segments.
    Translate,
    /// Summarizing; units are the inputs of one summarization pass: the chunks of a
    /// map-reduce round, or the one (joined or truncated) text of the final pass.
    Summarize,
}

impl Stage {
    /// The stage's name as it is shown to users (`translate`, `summarize`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Translate => "translate",
            Stage::Summarize => "summarize",
        }
    }
}

/// Receives progress: `done` of `total` units of a [`Stage`] are finished. Called with
/// `done == 0` before the first padded batch of a pass and after every batch; `total` is the
/// pass's count (for [`Stage::Translate`]: every segment of every document).
pub trait Progress {
    /// `done` of `total` units of `stage` are finished.
    fn advance(&mut self, _stage: Stage, _done: usize, _total: usize) {}
    /// Asked before each padded batch goes to the model: `true` stops the work there (the
    /// function returns without the rest; see each function for what it returns then).
    fn cancelled(&mut self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything and never stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
