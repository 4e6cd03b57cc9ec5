//! The input stage before normalization: is a file's content text a model can use? Arabic-script
//! detection ([`is_arabic_script`], [`arabic_ratio`]), the decoding of an input's bytes in an
//! [`Encoding`] ([`decode`], through `encoding_rs`) and their classification ([`classify`],
//! [`decode_text`]) into its text or why it is unusable ([`Unusable`]).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

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

/// The [`arabic_ratio`] at and above which a text counts as mostly Arabic: at least half of its
/// letters are Arabic script. `translate` and `run` warn about an input below it (an Arabic
/// reader given another script), `summarize` about an input at or above it given to an English
/// summarizer, and below it given to an Arabic one. (`batch` skips inputs below its own
/// `--min-arabic`, 0.2 by default.)
pub const MOSTLY_ARABIC: f64 = 0.5;

/// Whether the language code `code` names a language written in the Arabic script: NLLB-200's
/// `xxx_Arab` codes (`arb_Arab`, `pes_Arab`, `urd_Arab`, ...), and the ISO 639-1 codes M2M100
/// uses for Arabic, Persian, Urdu, Pashto, Sindhi and Uyghur (`ar`, `fa`, `ur`, `ps`, `sd`,
/// `ug`).
pub fn arabic_script_code(code: &str) -> bool {
    code.ends_with("_Arab") || matches!(code, "ar" | "fa" | "ur" | "ps" | "sd" | "ug")
}

/// The character encoding of an input (`--encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Encoding {
    /// A byte-order mark (UTF-8, UTF-16LE, UTF-16BE) decides; without one the bytes must be
    /// UTF-8. BOM-less UTF-16 and NUL bytes are refused, with a hint at the likely encoding.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// UTF-8 (a leading BOM is dropped).
    #[serde(rename = "utf-8")]
    Utf8,
    /// UTF-16: the byte order of the BOM, else the one the bytes look like (little-endian
    /// unless the high bytes come first).
    #[serde(rename = "utf-16")]
    Utf16,
    /// Windows-1256 (Windows Arabic).
    #[serde(rename = "cp1256")]
    Cp1256,
    /// ISO-8859-6 (ISO Arabic).
    #[serde(rename = "iso-8859-6")]
    Iso8859_6,
}

impl Encoding {
    /// Whether this is [`Encoding::Auto`], the default.
    pub fn is_auto(&self) -> bool {
        *self == Encoding::Auto
    }
}

impl Encoding {
    /// The flag value: `auto`, `utf-8`, `utf-16`, `cp1256`, `iso-8859-6`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
            Encoding::Cp1256 => "cp1256",
            Encoding::Iso8859_6 => "iso-8859-6",
        }
    }

    /// How a hint describes a file in this encoding.
    fn describe(self) -> &'static str {
        match self {
            Encoding::Auto | Encoding::Utf8 => "UTF-8",
            Encoding::Utf16 => "UTF-16 without a byte-order mark",
            Encoding::Cp1256 => "cp1256 (Windows Arabic)",
            Encoding::Iso8859_6 => "iso-8859-6 (ISO Arabic)",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Encoding::Auto),
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "utf-16" | "utf16" => Ok(Encoding::Utf16),
            "cp1256" | "windows-1256" => Ok(Encoding::Cp1256),
            "iso-8859-6" | "iso8859-6" => Ok(Encoding::Iso8859_6),
            _ => Err(format!(
                "unknown encoding {s:?} (expected auto, utf-8, utf-16, cp1256 or iso-8859-6)"
            )),
        }
    }
}

/// Why an input's bytes are not text to process. `Display` gives the reason as `batch`
/// records it and the other commands print it.
#[derive(Debug, Clone, PartialEq)]
pub enum Unusable {
    /// A NUL byte: a binary file (or, with a `hint`, BOM-less UTF-16).
    Binary {
        /// Offset of the first NUL byte.
        offset: usize,
        /// The encoding the bytes look like, when a guess fits.
        hint: Option<Encoding>,
    },
    /// Not valid in the encoding (UTF-8 under [`Encoding::Auto`]).
    Invalid {
        /// The encoding asked for.
        encoding: Encoding,
        /// The offset of the first bad byte.
        offset: usize,
        /// The encoding the bytes look like, when a guess fits.
        hint: Option<Encoding>,
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
    /// Whether this is damage (binary, undecodable) rather than an input deliberately left
    /// out (empty, not Arabic): `batch` records the first as failed, the second as skipped.
    pub fn is_damage(&self) -> bool {
        matches!(self, Unusable::Binary { .. } | Unusable::Invalid { .. })
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = |f: &mut fmt::Formatter<'_>, hint: &Option<Encoding>| match hint {
            Some(e) => write!(
                f,
                "; the file looks like {}: pass --encoding {e}",
                e.describe()
            ),
            None => Ok(()),
        };
        match self {
            Unusable::Binary { offset, hint: h } => {
                write!(f, "binary file (NUL byte at offset {offset})")?;
                hint(f, h)
            }
            Unusable::Invalid {
                encoding,
                offset,
                hint: h,
            } => {
                let label = match encoding {
                    Encoding::Utf16 => "UTF-16",
                    e => e.describe(),
                };
                write!(f, "invalid {label} at byte {offset}")?;
                hint(f, h)
            }
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

/// `bytes` decoded strictly in `encoding` (no BOM handling): the text, or the offset of the
/// first malformed byte.
fn decode_strict(bytes: &[u8], encoding: &'static encoding_rs::Encoding) -> Result<String, usize> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let cap = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len() * 3 + 16);
    let mut text = String::with_capacity(cap);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok(text),
        encoding_rs::DecoderResult::Malformed(bad, after) => {
            Err(read - bad as usize - after as usize)
        }
        // The buffer is large enough for all of the input.
        encoding_rs::DecoderResult::OutputFull => Err(read),
    }
}

/// Whether the bytes look like BOM-less UTF-16 of Arabic or Latin text: the bytes at every
/// other position (odd: little-endian, even: big-endian) are almost all high bytes of the
/// Basic Latin or Arabic blocks (0x00, 0x06), some of them NUL. Returns the big-endian flag.
fn utf16_order(bytes: &[u8]) -> Option<bool> {
    if bytes.len() < 2 {
        return None;
    }
    let looks = |start: usize| {
        let high: Vec<u8> = bytes.iter().skip(start).step_by(2).copied().collect();
        let fits = high.iter().filter(|&&b| b == 0 || b == 6).count();
        high.contains(&0) && fits * 10 >= high.len() * 9
    };
    if looks(1) {
        Some(false)
    } else if looks(0) {
        Some(true)
    } else {
        None
    }
}

/// The single-byte Arabic encoding the bytes decode cleanly in with mostly (at least half)
/// Arabic letters, cp1256 before iso-8859-6 when both fit equally.
fn single_byte_guess(bytes: &[u8]) -> Option<Encoding> {
    let mut best: Option<(Encoding, f64)> = None;
    for (enc, rs) in [
        (Encoding::Cp1256, encoding_rs::WINDOWS_1256),
        (Encoding::Iso8859_6, encoding_rs::ISO_8859_6),
    ] {
        if let Ok(text) = decode_strict(bytes, rs) {
            let ratio = arabic_ratio(&text);
            if ratio >= 0.5 && best.is_none_or(|(_, r)| ratio > r) {
                best = Some((enc, ratio));
            }
        }
    }
    best.map(|(e, _)| e)
}

/// The bytes as text in `encoding`, with no NUL character (see [`Encoding`] for what `auto`
/// accepts). Whitespace-only text is returned as it is (see [`decode_text`]).
///
/// Errors: [`Unusable::Binary`] (a NUL, with a hint when the bytes look like BOM-less UTF-16)
/// or [`Unusable::Invalid`] (with the offset of the first bad byte, and under `auto` a hint
/// at the likely encoding: cp1256, iso-8859-6 or utf-16).
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, Unusable> {
    let bom = encoding_rs::Encoding::for_bom(bytes);
    let (rs, start): (&'static encoding_rs::Encoding, usize) = match (encoding, bom) {
        (Encoding::Auto | Encoding::Utf8 | Encoding::Utf16, Some((e, len)))
            if encoding != Encoding::Utf8 || e == encoding_rs::UTF_8 =>
        {
            (e, len)
        }
        (Encoding::Auto | Encoding::Utf8, _) => (encoding_rs::UTF_8, 0),
        (Encoding::Utf16, _) => match utf16_order(bytes) {
            Some(true) => (encoding_rs::UTF_16BE, 0),
            _ => (encoding_rs::UTF_16LE, 0),
        },
        (Encoding::Cp1256, _) => (encoding_rs::WINDOWS_1256, 0),
        (Encoding::Iso8859_6, _) => (encoding_rs::ISO_8859_6, 0),
    };
    let body = &bytes[start..];
    let utf16 = rs == encoding_rs::UTF_16LE || rs == encoding_rs::UTF_16BE;
    if !utf16 {
        if let Some(offset) = body.iter().position(|&b| b == 0) {
            let hint = (encoding == Encoding::Auto && utf16_order(bytes).is_some())
                .then_some(Encoding::Utf16);
            return Err(Unusable::Binary {
                offset: start + offset,
                hint,
            });
        }
    }
    let asked = if utf16 { Encoding::Utf16 } else { encoding };
    let text = decode_strict(body, rs).map_err(|offset| Unusable::Invalid {
        encoding: if encoding == Encoding::Auto && rs == encoding_rs::UTF_8 {
            Encoding::Utf8
        } else {
            asked
        },
        offset: start + offset,
        hint: (encoding == Encoding::Auto && start == 0)
            .then(|| single_byte_guess(bytes))
            .flatten(),
    })?;
    if let Some(pos) = text.find('\0') {
        let units = text[..pos].encode_utf16().count();
        return Err(Unusable::Binary {
            offset: start + 2 * units,
            hint: None,
        });
    }
    Ok(text)
}

/// The bytes as text in `encoding` ([`decode`]) with something besides whitespace.
///
/// Errors: those of [`decode`], or [`Unusable::Empty`].
pub fn decode_text(bytes: &[u8], encoding: Encoding) -> Result<String, Unusable> {
    let text = decode(bytes, encoding)?;
    if text.trim().is_empty() {
        return Err(Unusable::Empty);
    }
    Ok(text)
}

/// Checks an input file's bytes and returns its text, or why it cannot be used: binary (a NUL
/// byte), not decodable in `encoding`, empty (whitespace only), or, when `min_arabic` is
/// given, an [`arabic_ratio`] below it. The text is returned as decoded (as `tarjama translate
/// FILE` reads it).
pub fn classify(
    bytes: &[u8],
    encoding: Encoding,
    min_arabic: Option<f64>,
) -> Result<String, Unusable> {
    let text = decode_text(bytes, encoding)?;
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

    const WORDS: &str = "أعلنت وزارة الزراعة يوم الاثنين";

    fn reason(r: Result<String, Unusable>) -> (bool, String) {
        let e = r.unwrap_err();
        (e.is_damage(), e.to_string())
    }

    #[test]
    fn inputs_are_classified() {
        let auto = Encoding::Auto;
        assert_eq!(
            classify(b"\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", auto, Some(0.2)),
            Ok("مرحبا".to_string())
        );
        assert_eq!(
            reason(classify(b"ab\0c", auto, None)),
            (true, "binary file (NUL byte at offset 2)".into())
        );
        assert_eq!(
            reason(classify(b"ab\xffc", auto, None)),
            (true, "invalid UTF-8 at byte 2".into())
        );
        assert_eq!(
            reason(classify(b" \n ", auto, None)),
            (false, "empty (no text to process)".into())
        );
        assert_eq!(
            reason(classify(b"Hello world", auto, Some(0.2))),
            (
                false,
                "almost no Arabic script (0% of letters; --min-arabic is 20%)".into()
            )
        );
        assert!(classify(b"Hello world", auto, None).is_ok());
        assert_eq!(decode(b" \n", auto), Ok(" \n".to_string()));
        assert!((arabic_ratio("abc مرحبا") - 5.0 / 8.0).abs() < 1e-9);
        assert_eq!(arabic_ratio("123 ..."), 0.0);
    }

    fn utf16(text: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom
            .then_some(0xFEFFu16)
            .into_iter()
            .chain(text.encode_utf16());
        for u in units {
            out.extend(if big {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn every_encoding_decodes() {
        let text = format!("{WORDS}.\n");
        let cp1256 = encoding_rs::WINDOWS_1256.encode(&text).0.into_owned();
        let iso = encoding_rs::ISO_8859_6.encode(&text).0.into_owned();
        let bom8 = [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat();
        let cases: Vec<(Vec<u8>, Encoding)> = vec![
            (text.as_bytes().to_vec(), Encoding::Auto),
            (text.as_bytes().to_vec(), Encoding::Utf8),
            (bom8.clone(), Encoding::Auto),
            (bom8, Encoding::Utf8),
            (utf16(&text, false, true), Encoding::Auto),
            (utf16(&text, true, true), Encoding::Auto),
            (utf16(&text, false, true), Encoding::Utf16),
            (utf16(&text, true, true), Encoding::Utf16),
            (utf16(&text, false, false), Encoding::Utf16),
            (utf16(&text, true, false), Encoding::Utf16),
            (cp1256, Encoding::Cp1256),
            (iso, Encoding::Iso8859_6),
        ];
        for (bytes, enc) in cases {
            assert_eq!(decode(&bytes, enc).as_deref(), Ok(text.as_str()), "{enc}");
        }
    }

    #[test]
    fn wrong_encodings_are_named_with_a_hint() {
        let text = format!("{WORDS}.\n");
        let cp1256 = encoding_rs::WINDOWS_1256.encode(&text).0.into_owned();
        assert_eq!(
            reason(decode(&cp1256, Encoding::Auto)),
            (
                true,
                "invalid UTF-8 at byte 0; the file looks like cp1256 (Windows Arabic): \
                 pass --encoding cp1256"
                    .into()
            )
        );
        assert_eq!(
            reason(decode(&utf16(&text, false, false), Encoding::Auto)),
            (
                true,
                "binary file (NUL byte at offset 11); the file looks like UTF-16 without a \
                 byte-order mark: pass --encoding utf-16"
                    .into()
            )
        );
        assert_eq!(
            reason(decode(&utf16("ab c", false, false), Encoding::Auto)),
            (
                true,
                "binary file (NUL byte at offset 1); the file looks like UTF-16 without a \
                 byte-order mark: pass --encoding utf-16"
                    .into()
            )
        );
        // A UTF-8 BOM: the rest must be UTF-8, with no guess.
        assert_eq!(
            reason(decode(b"\xef\xbb\xbfab\xff", Encoding::Auto)),
            (true, "invalid UTF-8 at byte 5".into())
        );
        assert_eq!(
            reason(decode(&[0xFF, 0xFE, 0x00, 0xD8], Encoding::Auto)),
            (true, "invalid UTF-16 at byte 2".into())
        );
        // Explicit encodings name themselves; NUL characters are refused in each.
        assert_eq!(
            reason(decode(b"\xd9\x85\xff", Encoding::Iso8859_6)),
            (true, "invalid iso-8859-6 (ISO Arabic) at byte 2".into())
        );
        assert_eq!(
            reason(decode(&utf16("ab\0", false, true), Encoding::Utf16)),
            (true, "binary file (NUL byte at offset 6)".into())
        );
        assert_eq!(
            reason(decode(b"a\0", Encoding::Cp1256)),
            (true, "binary file (NUL byte at offset 1)".into())
        );
        assert_eq!("CP1256".parse::<Encoding>(), Ok(Encoding::Cp1256));
        assert!("latin1".parse::<Encoding>().is_err());
    }
}
