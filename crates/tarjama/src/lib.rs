//! tarjama: translate Arabic documents into English and summarize them with open
//! encoder-decoder (seq2seq) models on candle, token-exact with Hugging Face transformers.
//!
//! The text path is a pipeline of small stages, each its own module:
//! normalize and segment ([`text`]) → tokenize ([`tokenize`]) → encode/decode with a model
//! family ([`model`]) driven by a search ([`decoding`]) → detokenize and join ([`pipeline`]).
//! [`hub`] resolves presets, Hub repos and local directories; [`eval`] scores outputs
//! (BLEU, chrF, TER, ROUGE); [`fsio`] writes files atomically.
//!
//! The `tarjama` command-line tool is a separate crate over this library (the repository's
//! root package, `tarjama-cli`). The library never prints: progress and notes come back as data
//! or through observers, errors as [`Error`].

pub mod decoding;
pub mod error;
pub mod eval;
pub mod fsio;
pub mod hub;
pub mod model;
pub mod pipeline;
mod simd;
pub mod text;
pub mod tokenize;

pub use error::{Error, Result};
