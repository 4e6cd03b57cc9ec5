//! tarjama: translate Arabic documents into English and summarize them with open
//! encoder-decoder (seq2seq) models on candle, token-exact with Hugging Face transformers.
//!
//! The text path is a pipeline of small stages, each its own module:
//! normalize and segment ([`text`]) → tokenize ([`tokenize`]) → encode/decode with a model
//! family ([`model`]) driven by a search ([`decoding`]) → detokenize and join ([`pipeline`]).
//! [`hub`] resolves presets, Hub repos and local directories; [`eval`] scores outputs
//! (BLEU, chrF, TER, ROUGE). The `tarjama` command-line tool is a separate crate over this
//! library (the repository's root package); the library never prints.

pub mod decoding;
pub mod error;
pub mod eval;
pub mod hub;
pub mod model;
pub mod pipeline;
mod simd;
pub mod text;
pub mod tokenize;

pub use error::{Error, Result};
