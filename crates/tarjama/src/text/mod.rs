//! The text stages before tokenization, each usable on its own:
//!
//! - [`normalize`]: Unicode NFC, tatweel removal and optional Arabic diacritics removal
//!   ([`Normalization`]);
//! - [`segment`]: paragraphs, lines and sentences ([`split_document`], [`Document`]), with a length
//!   fallback that keeps every segment within the model's input limit ([`SentenceSplitter`]).
//!
//! Output is rebuilt from per-segment translations with [`Document::join`].

pub mod normalize;
pub mod segment;

pub use normalize::Normalization;
pub use segment::{
    split_document, Document, Line, Paragraph, Segment, SentenceSplitter, SplitLevel,
};
