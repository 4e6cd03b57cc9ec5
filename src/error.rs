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
    /// Tokenizer files are missing or malformed, or a tokenizer call failed.
    #[error("{0}")]
    Tokenizer(String),
    /// An error from candle (tensor shape, dtype, device), with the context where it happened.
    #[error("{context}: {source}")]
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
