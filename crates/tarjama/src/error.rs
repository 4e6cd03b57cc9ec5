//! Typed errors for the tarjama library.
//!
//! Every variant that concerns a file names it, so the CLI can print one line such as
//! `error: article.txt: invalid UTF-8 at byte 17` and exit non-zero.

use std::path::PathBuf;

/// The library's error type. The binary converts it to a one-line message at its edge.
#[derive(Debug, thiserror::Error)]
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
    /// A model name that cannot be resolved or fetched, where the message refers to the flag
    /// that gave the name: `msg` holds [`FLAG`] where that flag belongs. It is `--model` unless
    /// the caller says otherwise with [`Error::for_flag`] (`tarjama run` names its models with
    /// `--translator` and `--summarizer`).
    #[error("{}", .msg.replace(FLAG, .flag))]
    Resolve { msg: String, flag: String },
    /// Tokenizer files are missing or malformed, or a tokenizer call failed.
    #[error("{0}")]
    Tokenizer(String),
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

    /// An [`Error::Resolve`] for `--model`; `msg` says [`FLAG`] where the flag belongs.
    pub fn resolve(msg: impl Into<String>) -> Self {
        Error::Resolve {
            msg: msg.into(),
            flag: "--model".into(),
        }
    }

    /// Makes an [`Error::Resolve`] name `flag` as the flag that gave the model name; other
    /// errors are returned unchanged.
    pub fn for_flag(self, flag: &str) -> Self {
        match self {
            Error::Resolve { msg, .. } => Error::Resolve {
                msg,
                flag: flag.to_string(),
            },
            other => other,
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

/// The placeholder for the model flag in [`Error::Resolve`] messages.
pub const FLAG: &str = "{flag}";

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
    fn resolve_errors_name_the_flag_given() {
        let e = Error::resolve(format!("x is not cached; pass {FLAG} /path/to/dir"));
        assert_eq!(e.to_string(), "x is not cached; pass --model /path/to/dir");
        let e = e.for_flag("--summarizer");
        assert_eq!(
            e.to_string(),
            "x is not cached; pass --summarizer /path/to/dir"
        );
        let other = Error::Model("m".into()).for_flag("--summarizer");
        assert_eq!(other.to_string(), "m");
    }
}
