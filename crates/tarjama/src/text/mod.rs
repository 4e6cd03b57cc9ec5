//! The text stages before tokenization, each usable on its own:
//!
//! - [`normalize`]: Unicode NFC, tatweel removal and optional Arabic diacritics removal
//!   ([`Normalization`]);
//! - [`segment`]: paragraphs, lines and sentences ([`split_document`], [`Document`]), with a length
//!   fallback that keeps every segment within the model's input limit ([`SentenceSplitter`]);
//! - [`script`]: is an input usable text, and how much of it is Arabic script ([`classify`],
//!   [`arabic_ratio`]).
//!
//! Output is rebuilt from per-segment translations with [`Document::join`].

pub mod normalize;
pub mod script;
pub mod segment;

pub use normalize::Normalization;
pub use script::{arabic_ratio, classify, is_arabic_script, Encoding, Unusable};
pub use segment::{
    split_document, Document, Line, Paragraph, Segment, SentenceSplitter, SplitLevel,
};
