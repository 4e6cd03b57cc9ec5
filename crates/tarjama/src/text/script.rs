//! The input stage before normalization: is a file's content text a model can use? Arabic-script
//! detection ([`is_arabic_script`], [`arabic_ratio`]) and the classification of an input's
//! bytes ([`classify`], [`decode_text`]) into its text or why it is unusable ([`Unusable`]).

/// Whether `c` is in one of the Unicode blocks of the Arabic script: Arabic, Arabic
/// Supplement, Arabic Extended-B and -A, Arabic Presentation Forms-A and -B.
pub fn is_arabic_script(c: char) -> bool {
    matches!(
        c as u32,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF
    )
}

/// The share of `text`'s letters (alphabetic characters; digits, punctuation and spaces do
/// not count) that are in the Arabic script; 0 when it has no letters.
///
/// A news article in Arabic that quotes Latin-script names scores well above 0.9; English
/// text scores 0. `batch` skips inputs below `--min-arabic` for `translate` and `run`.
pub fn arabic_ratio(text: &str) -> f64 {
    let (mut letters, mut arabic) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if is_arabic_script(c) {
            arabic += 1;
        }
    }
    if letters == 0 {
        0.0
    } else {
        arabic as f64 / letters as f64
    }
}

/// Why an input's bytes are not text to process. `Display` gives the reason as `batch`
/// records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Unusable {
    /// A NUL byte: a binary file.
    Binary {
        /// Offset of the first NUL byte.
        offset: usize,
    },
    /// Not valid UTF-8.
    InvalidUtf8 {
        /// Length of the valid prefix: the offset of the first bad byte.
        offset: usize,
    },
    /// Nothing but whitespace.
    Empty,
    /// Too few of the letters are in the Arabic script.
    NotArabic {
        /// The [`arabic_ratio`] of the text.
        ratio: f64,
        /// The least ratio asked for.
        min: f64,
    },
}

impl Unusable {
    /// Whether this is damage (binary, invalid UTF-8) rather than an input deliberately left
    /// out (empty, not Arabic): `batch` records the first as failed, the second as skipped.
    pub fn is_damage(&self) -> bool {
        matches!(self, Unusable::Binary { .. } | Unusable::InvalidUtf8 { .. })
    }
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Binary { offset } => write!(f, "binary file (NUL byte at offset {offset})"),
            Unusable::InvalidUtf8 { offset } => write!(f, "invalid UTF-8 at byte {offset}"),
            Unusable::Empty => write!(f, "empty (no text to process)"),
            Unusable::NotArabic { ratio, min } => write!(
                f,
                "almost no Arabic script ({:.0}% of letters; --min-arabic is {:.0}%)",
                ratio * 100.0,
                min * 100.0
            ),
        }
    }
}

/// The bytes as text: valid UTF-8 with something besides whitespace. NUL bytes are allowed
/// (see [`classify`] for files).
///
/// Errors: [`Unusable::InvalidUtf8`] or [`Unusable::Empty`].
pub fn decode_text(bytes: Vec<u8>) -> Result<String, Unusable> {
    let text = String::from_utf8(bytes).map_err(|e| Unusable::InvalidUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(Unusable::Empty);
    }
    Ok(text)
}

/// Checks an input file's bytes and returns its text, or why it cannot be used: binary (a NUL
/// byte), invalid UTF-8, empty (whitespace only), or, when `min_arabic` is given, an
/// [`arabic_ratio`] below it. The text is returned unchanged (as `tarjama translate FILE`
/// reads it).
pub fn classify(bytes: Vec<u8>, min_arabic: Option<f64>) -> Result<String, Unusable> {
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(Unusable::Binary { offset });
    }
    let text = decode_text(bytes)?;
    if let Some(min) = min_arabic {
        let ratio = arabic_ratio(&text);
        if ratio < min {
            return Err(Unusable::NotArabic { ratio, min });
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_classified() {
        assert_eq!(
            classify(
                b"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7".to_vec(),
                Some(0.2)
            ),
            Ok("مرحبا".to_string())
        );
        let reason = |r: Result<String, Unusable>| {
            let e = r.unwrap_err();
            (e.is_damage(), e.to_string())
        };
        assert_eq!(
            reason(classify(b"ab\0c".to_vec(), None)),
            (true, "binary file (NUL byte at offset 2)".into())
        );
        assert_eq!(
            reason(classify(b"ab\xffc".to_vec(), None)),
            (true, "invalid UTF-8 at byte 2".into())
        );
        assert_eq!(
            reason(classify(b" \n ".to_vec(), None)),
            (false, "empty (no text to process)".into())
        );
        assert_eq!(
            reason(classify(b"Hello world".to_vec(), Some(0.2))),
            (
                false,
                "almost no Arabic script (0% of letters; --min-arabic is 20%)".into()
            )
        );
        assert!(classify(b"Hello world".to_vec(), None).is_ok());
        assert_eq!(decode_text(b"a\0b".to_vec()), Ok("a\0b".to_string()));
        assert!((arabic_ratio("abc مرحبا") - 5.0 / 8.0).abs() < 1e-9);
        assert_eq!(arabic_ratio("123 ..."), 0.0);
    }
}
