//! Typed errors for the tarjama library: [`Error`], and [`ResolveError`] for a model name that
//! cannot be resolved or fetched (what failed, with the name and its data).
//!
//! Every variant that concerns a file names it, so the CLI can print one line such as
//! `error: article.txt: invalid UTF-8 at byte 17` and exit non-zero.

use std::fmt;
use std::path::PathBuf;

/// The library's error type. The binary converts it to a one-line message at its edge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A user-supplied input (text file, flag value, reference file) is unusable.
    #[error("{}: {msg}", path.display())]
    Input { path: PathBuf, msg: String },
    /// A bad flag or setting that is not tied to a file.
    #[error("{0}")]
    Config(String),
    /// A model directory, Hub repo or preset could not be resolved or loaded.
    #[error("{0}")]
    Model(String),
    /// A model name that cannot be resolved or fetched: what failed, with the name and data.
    /// Displayed as for `--model`; [`ResolveError::message`] names another flag.
    #[error("{0}")]
    Resolve(ResolveError),
    /// A Hub download that failed for good, or whose content does not match what the Hub
    /// announced; names the partial file (boxed: [`Error`] stays small).
    #[error("{0}")]
    Download(Box<DownloadError>),
    /// Tokenizer files are missing or malformed, or a tokenizer call failed.
    #[error("{0}")]
    Tokenizer(String),
    /// A decoding step's logits held NaN or +infinity (`value`: `"NaN"` or `"infinity"`):
    /// the model's weights are most likely damaged. Decoding stops rather than emit an empty
    /// or garbage output. `model` is the model's name (added by the pipeline); `step` counts
    /// decoding steps from 1 (the step that feeds the decoder start token).
    #[error("{}the model produced non-finite scores ({value}) at decoding step {step}; its weights may be damaged", model.as_deref().map(|m| format!("{m}: ")).unwrap_or_default())]
    NonFinite {
        model: Option<String>,
        value: &'static str,
        step: usize,
    },
    /// An error from candle (tensor shape, dtype, device), with the context where it happened.
    /// Displayed without the backtrace candle attaches when `RUST_BACKTRACE` is set.
    #[error("{context}: {}", candle_message(.source))]
    Tensor {
        context: String,
        #[source]
        source: candle_core::Error,
    },
}

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Input`].
    pub fn input(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

/// A file of a Hub repo that could not be downloaded into the cache ([`Error::Download`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadError {
    /// The model, as named (`owner/name`, or `owner/name@rev`).
    pub name: String,
    /// The file in the repo (`model.safetensors`).
    pub file: String,
    /// The partial file in the cache, `blobs/<etag>.incomplete`.
    pub partial: PathBuf,
    /// What went wrong.
    pub kind: DownloadKind,
}

/// What went wrong in a [`DownloadError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadKind {
    /// The transfer failed `tries` times (no data in time, a broken connection, 5xx); the partial
    /// file is kept and the next run resumes it.
    Failed {
        /// How many transfers were tried.
        tries: u32,
        /// Why the last one failed, on one line (`no data for 30 s`).
        reason: String,
        /// Bytes in the partial file.
        received: u64,
        /// The size the Hub announced, if it did.
        total: Option<u64>,
    },
    /// The content does not match what the Hub announced (size, SHA-256 or git blob id); the
    /// partial file was deleted, unless `kept` says why it could not be.
    Corrupt {
        /// What does not match (`checksum mismatch: SHA-256 ..., the Hub's is ...`).
        problem: String,
        /// Why the partial file could not be deleted, when it could not.
        kept: Option<String>,
    },
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, file, partial) = (&self.name, &self.file, self.partial.display());
        match &self.kind {
            DownloadKind::Failed {
                tries,
                reason,
                received,
                total,
            } => write!(
                f,
                "{name}: downloading {file} failed {tries} times ({reason}); the partial file \
                 {partial} ({} of {}) is kept and the next run resumes it; delete it to start over",
                crate::hub::format_size(*received),
                total.map_or_else(|| "?".into(), crate::hub::format_size)
            ),
            DownloadKind::Corrupt { problem, kept } => {
                let removed = match kept {
                    None => "the download was deleted".to_string(),
                    Some(e) => format!("delete {partial} ({e})"),
                };
                write!(
                    f,
                    "{name}: {file}: {problem}; {removed}; run again, and if it happens again the \
                     file on the Hub or a proxy in between is broken"
                )
            }
        }
    }
}

impl std::error::Error for DownloadError {}

/// A model name (a preset, a Hub repo id or a local directory, as `--model` takes it) that could
/// not be resolved: [`crate::hub::ModelSpec::parse`] and [`crate::hub::resolve_with`] return it
/// in [`Error::Resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// The name: as given for the kinds about the name itself ([`ResolveKind::Empty`] to
    /// [`ResolveKind::BadName`]), else the Hub repo at its revision (`owner/name`, or
    /// `owner/name@rev` for a revision other than `main`).
    pub name: String,
    /// What failed.
    pub kind: ResolveKind,
    /// The name was one word that is no preset and was tried as a Hub repo id: the message
    /// lists the presets, since a mistyped preset is the likelier mistake.
    pub not_a_preset: bool,
}

/// What failed in a [`ResolveError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveKind {
    /// The name is empty (or only spaces).
    Empty,
    /// `NAME@REV` where `REV` is no usable revision (a branch, tag, `refs/pr/N` or commit).
    BadRevision {
        /// The text after the `@`.
        revision: String,
    },
    /// A revision was given (`--revision`) for a local directory.
    RevisionForDirectory {
        /// The revision given.
        revision: String,
    },
    /// The name is a path that exists but is no directory.
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Neither an existing directory, a preset nor a Hub repo id.
    BadName,
    /// `HF_HUB_OFFLINE` is set and the repo is not in the cache.
    NotCached {
        /// The Hugging Face cache directory searched.
        cache_dir: PathBuf,
    },
    /// The Hub cannot be reached (no answer in time, no connection, 5xx) and the repo is not in
    /// the cache.
    Unreachable {
        /// Why, on one line (`no answer within 30 s`).
        reason: String,
        /// The Hugging Face cache directory searched.
        cache_dir: PathBuf,
    },
    /// Offline or unreachable, and the cached snapshot lacks files the model needs.
    PartlyCached {
        /// The snapshot directory (`.../snapshots/<commit>`).
        snapshot: PathBuf,
        /// What is missing (`no tokenizer files (...)`).
        missing: String,
    },
}

impl ResolveError {
    /// An error of `kind` about `name`.
    pub fn new(name: impl Into<String>, kind: ResolveKind) -> ResolveError {
        ResolveError {
            name: name.into(),
            kind,
            not_a_preset: false,
        }
    }

    /// The one-line message, naming `flag` as the flag that gave the name (`--model`, or
    /// `tarjama run`'s `--translator` and `--summarizer`) where it says what to pass instead.
    pub fn message(&self, flag: &str) -> String {
        let name = &self.name;
        let mut msg = match &self.kind {
            ResolveKind::Empty => format!("{flag} is empty"),
            ResolveKind::BadRevision { revision } => format!(
                "{flag} {name}: {revision:?} is not a valid revision (a branch, tag, refs/pr/N or \
                 commit)"
            ),
            ResolveKind::RevisionForDirectory { revision } => format!(
                "--revision {revision} applies to Hub repos, but {flag} {name} is a local directory"
            ),
            ResolveKind::NotADirectory { path } => format!(
                "{}: not a directory: {flag} takes a model directory (config.json, weights, \
                 tokenizer files), a preset name or a Hub repo id",
                path.display()
            ),
            ResolveKind::BadName => format!(
                "{flag} {name:?} is not a local directory, a preset ({}) or a Hub repo id \
                 (owner/name)",
                crate::hub::preset_names().join(", ")
            ),
            ResolveKind::NotCached { cache_dir } => format!(
                "HF_HUB_OFFLINE is set and {name} is not in the Hugging Face cache ({}); \
                 download it with the network on, or pass {flag} /path/to/dir",
                cache_dir.display()
            ),
            ResolveKind::Unreachable { reason, cache_dir } => format!(
                "cannot reach the Hugging Face Hub ({reason}) to fetch {name} and it is not in the \
                 cache ({}); download it elsewhere and pass {flag} /path/to/dir, or set \
                 HF_HUB_OFFLINE=1 with a filled cache",
                cache_dir.display()
            ),
            ResolveKind::PartlyCached { snapshot, missing } => format!(
                "{name} is only partly in the Hugging Face cache ({}): {missing}; fetch it with \
                 the network on, or pass {flag} /path/to/dir",
                snapshot.display()
            ),
        };
        if self.not_a_preset {
            msg.push_str(&not_a_preset_hint());
        }
        msg
    }
}

/// What a one-word name that is no preset adds to its error: ` (it is not a preset either:
/// presets are ...)`.
pub(crate) fn not_a_preset_hint() -> String {
    format!(
        " (it is not a preset either: presets are {})",
        crate::hub::preset_names().join(", ")
    )
}

/// [`ResolveError::message`] for `--model`.
impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("--model"))
    }
}

impl std::error::Error for ResolveError {}

impl From<ResolveError> for Error {
    fn from(e: ResolveError) -> Self {
        Error::Resolve(e)
    }
}

/// A candle error on one line-friendly string: without the backtrace candle adds to its errors
/// when `RUST_BACKTRACE` is set (`WithBacktrace` displays it), and with its context and path
/// wrappers joined by `: `.
pub fn candle_message(err: &candle_core::Error) -> String {
    use candle_core::Error as E;
    match err {
        E::WithBacktrace { inner, .. } => candle_message(inner),
        E::Context { inner, context } => format!("{context}: {}", candle_message(inner)),
        E::WithPath { inner, path } => format!("{}: {}", path.display(), candle_message(inner)),
        other => other.to_string(),
    }
}

/// The error a candle error wraps, without its backtrace, context and path wrappers.
pub fn candle_root(err: &candle_core::Error) -> &candle_core::Error {
    use candle_core::Error as E;
    match err {
        E::WithBacktrace { inner, .. } | E::Context { inner, .. } | E::WithPath { inner, .. } => {
            candle_root(inner)
        }
        other => other,
    }
}

impl From<candle_core::Error> for Error {
    fn from(source: candle_core::Error) -> Self {
        Error::Tensor {
            context: "tensor operation".into(),
            source,
        }
    }
}

/// Adds context to candle results: `x.matmul(&w).ctx("decoder layer 3 fc1")?`.
pub trait TensorContext<T> {
    /// Wraps a candle error with a description of where it happened.
    fn ctx(self, context: impl Into<String>) -> Result<T>;
}

impl<T> TensorContext<T> for std::result::Result<T, candle_core::Error> {
    fn ctx(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Tensor {
            context: context.into(),
            source,
        })
    }
}

/// Result alias used across the library.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candle_backtraces_are_left_out() {
        let inner = candle_core::Error::Msg("shape mismatch".into());
        let err = candle_core::Error::WithBacktrace {
            inner: Box::new(inner.context("loading x")),
            backtrace: Box::new(std::backtrace::Backtrace::force_capture()),
        };
        assert_eq!(candle_message(&err), "loading x: shape mismatch");
        assert!(matches!(candle_root(&err), candle_core::Error::Msg(_)));
        let ours = Error::from(err);
        assert_eq!(
            ours.to_string(),
            "tensor operation: loading x: shape mismatch"
        );
    }

    #[test]
    fn download_errors_name_the_partial_file() {
        let mut e = DownloadError {
            name: "o/m".into(),
            file: "model.safetensors".into(),
            partial: "/c/blobs/e.incomplete".into(),
            kind: DownloadKind::Failed {
                tries: 4,
                reason: "no data for 30 s".into(),
                received: 1536,
                total: None,
            },
        };
        assert_eq!(
            Error::Download(Box::new(e.clone())).to_string(),
            "o/m: downloading model.safetensors failed 4 times (no data for 30 s); the partial \
             file /c/blobs/e.incomplete (1.5 KiB of ?) is kept and the next run resumes it; \
             delete it to start over"
        );
        e.kind = DownloadKind::Corrupt {
            problem: "received 3 bytes, the Hub announced 4".into(),
            kept: Some("permission denied".into()),
        };
        assert_eq!(
            e.to_string(),
            "o/m: model.safetensors: received 3 bytes, the Hub announced 4; delete \
             /c/blobs/e.incomplete (permission denied); run again, and if it happens again the \
             file on the Hub or a proxy in between is broken"
        );
    }

    #[test]
    fn resolve_errors_name_the_flag_given() {
        let e = ResolveError::new(
            "x",
            ResolveKind::NotCached {
                cache_dir: "/c".into(),
            },
        );
        let text = |flag: &str| {
            format!(
                "HF_HUB_OFFLINE is set and x is not in the Hugging Face cache (/c); download it \
                 with the network on, or pass {flag} /path/to/dir"
            )
        };
        assert_eq!(Error::from(e.clone()).to_string(), text("--model"));
        for flag in ["--model", "--translator", "--summarizer"] {
            assert_eq!(e.message(flag), text(flag));
        }
    }

    #[test]
    fn every_resolve_kind_has_its_sentence() {
        let presets = crate::hub::preset_names().join(", ");
        let cases = [
            (ResolveKind::Empty, "--translator is empty".to_string()),
            (
                ResolveKind::BadRevision {
                    revision: "..".into(),
                },
                "--translator m@..: \"..\" is not a valid revision (a branch, tag, refs/pr/N or \
                 commit)"
                    .into(),
            ),
            (
                ResolveKind::RevisionForDirectory {
                    revision: "v1".into(),
                },
                "--revision v1 applies to Hub repos, but --translator m@.. is a local directory"
                    .into(),
            ),
            (
                ResolveKind::NotADirectory {
                    path: "a/file".into(),
                },
                "a/file: not a directory: --translator takes a model directory (config.json, \
                 weights, tokenizer files), a preset name or a Hub repo id"
                    .into(),
            ),
            (
                ResolveKind::BadName,
                format!(
                    "--translator \"m@..\" is not a local directory, a preset ({presets}) or a \
                     Hub repo id (owner/name)"
                ),
            ),
            (
                ResolveKind::Unreachable {
                    reason: "no answer within 1 s".into(),
                    cache_dir: "/c".into(),
                },
                "cannot reach the Hugging Face Hub (no answer within 1 s) to fetch m@.. and it \
                 is not in the cache (/c); download it elsewhere and pass --translator \
                 /path/to/dir, or set HF_HUB_OFFLINE=1 with a filled cache"
                    .into(),
            ),
            (
                ResolveKind::PartlyCached {
                    snapshot: "/c/s".into(),
                    missing: "no tokenizer files".into(),
                },
                "m@.. is only partly in the Hugging Face cache (/c/s): no tokenizer files; fetch \
                 it with the network on, or pass --translator /path/to/dir"
                    .into(),
            ),
        ];
        for (kind, want) in cases {
            let mut e = ResolveError::new("m@..", kind);
            assert_eq!(e.message("--translator"), want);
            e.not_a_preset = true;
            assert_eq!(
                e.message("--translator"),
                format!("{want} (it is not a preset either: presets are {presets})")
            );
        }
    }
}
