//! Normalization: the first text stage, applied to source text before tokenization.
//!
//! Four independent steps, applied in this order:
//!
//! 1. **NFC** (Unicode canonical composition). On by default. It runs first so that a decomposed
//!    letter such as alef + combining hamza above (U+0627 U+0654) becomes the precomposed `أ`
//!    (U+0623) before any mark is removed.
//! 2. **Tatweel removal**: deletes every ARABIC TATWEEL (kashida, U+0640), a purely typographic
//!    stretching character (`كـتـاب` → `كتاب`). On by default.
//! 3. **Bidi control removal**: deletes the invisible characters listed in
//!    [`is_bidi_control`]: the embedding and override controls (U+202A–U+202E), the isolates
//!    (U+2066–U+2069) and the directional marks (LRM U+200E, RLM U+200F, ALM U+061C). On by
//!    default. They only steer how a text is displayed, and right-to-left text copied from web
//!    pages and word processors is full of them; the tokenizer gives them pieces of their own
//!    (one line went from 6 to 10 source tokens with a U+202B…U+202C pair), which changes the
//!    translation.
//! 4. **Diacritics removal**: deletes the Arabic marks listed in [`is_arabic_diacritic`]. Off by
//!    default, because the translation models were trained on text that keeps whatever marks
//!    the writer used.
//!
//! The default keeps ZERO WIDTH NON-JOINER (U+200C) and ZERO WIDTH JOINER (U+200D): they are
//! invisible too, but they change how Arabic and Persian letters join (`می‌خواهم` is not
//! `میخواهم`), so they are part of the spelling, not of the layout.
//!
//! [`Normalization::none`] leaves the text byte for byte unchanged, so the tokenizer sees exactly
//! what transformers' tokenizer would see.

use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

use crate::error::Error;

/// ARABIC TATWEEL (kashida), U+0640.
pub const TATWEEL: char = '\u{0640}';

/// Whether `c` is one of the Arabic diacritics removed by `remove_diacritics`.
///
/// Exactly these code points (inclusive ranges):
/// - U+064B–U+065F: harakat and related combining marks (fathatan, dammatan, kasratan, fatha,
///   damma, kasra, shadda, sukun, maddah above, hamza above/below, subscript alef, and the other
///   marks of that block);
/// - U+0670: ARABIC LETTER SUPERSCRIPT ALEF (dagger alef);
/// - U+06D6–U+06ED: Quranic annotation marks (small high ligatures, end of ayah U+06DD, rub el
///   hizb U+06DE, small waw/yeh U+06E5–U+06E6, place of sajdah U+06E9, and the small low/high
///   marks up to U+06ED).
///
/// Note: hamza above/below (U+0654/U+0655) and maddah (U+0653) are in the first range. With NFC
/// on they are normally already composed into letters (`أ` `إ` `آ` `ؤ` `ئ`) and are kept; with NFC
/// off, a decomposed hamza is removed along with the other marks.
pub fn is_arabic_diacritic(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}')
}

/// Whether `c` is one of the bidirectional formatting characters removed by
/// `remove_bidi_controls`: exactly U+202A–U+202E (LRE, RLE, PDF, LRO, RLO), U+2066–U+2069
/// (LRI, RLI, FSI, PDI), U+200E (LRM), U+200F (RLM) and U+061C (ARABIC LETTER MARK).
/// ZWNJ (U+200C) and ZWJ (U+200D) are not: they change letter joining.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Which normalization steps to apply to source text before tokenization.
///
/// The [`Default`] is: `nfc: true`, `remove_tatweel: true`, `remove_bidi_controls: true`,
/// `remove_diacritics: false`.
/// CLI values parse with [`FromStr`]: `default`, `none`, `strip-diacritics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Normalization {
    /// Apply Unicode NFC (canonical composition) first. Default: on.
    pub nfc: bool,
    /// Remove ARABIC TATWEEL (U+0640). Default: on.
    pub remove_tatweel: bool,
    /// Remove the bidi controls and directional marks listed in [`is_bidi_control`]. Default: on.
    pub remove_bidi_controls: bool,
    /// Remove the Arabic diacritics listed in [`is_arabic_diacritic`]. Default: off.
    pub remove_diacritics: bool,
}

impl Default for Normalization {
    /// NFC on, tatweel and bidi control removal on, diacritics removal off.
    fn default() -> Self {
        Normalization {
            nfc: true,
            remove_tatweel: true,
            remove_bidi_controls: true,
            remove_diacritics: false,
        }
    }
}

impl Normalization {
    /// No normalization at all: [`Normalization::normalize`] returns the text unchanged, as
    /// transformers would feed it to the tokenizer (`--normalize none`).
    pub fn none() -> Self {
        Normalization {
            nfc: false,
            remove_tatweel: false,
            remove_bidi_controls: false,
            remove_diacritics: false,
        }
    }

    /// The default plus diacritics removal (`--normalize strip-diacritics`).
    pub fn strip_diacritics() -> Self {
        Normalization {
            remove_diacritics: true,
            ..Normalization::default()
        }
    }

    /// Whether this setting leaves every text unchanged.
    pub fn is_identity(&self) -> bool {
        !(self.nfc || self.remove_tatweel || self.remove_bidi_controls || self.remove_diacritics)
    }

    /// Applies the enabled steps to `text` (NFC, then tatweel, bidi control and diacritics
    /// removal) and returns
    /// the result. Line breaks and all other characters are kept.
    pub fn normalize(&self, text: &str) -> String {
        let composed: String = if self.nfc {
            text.nfc().collect()
        } else {
            text.to_owned()
        };
        if !(self.remove_tatweel || self.remove_bidi_controls || self.remove_diacritics) {
            return composed;
        }
        composed
            .chars()
            .filter(|&c| {
                !((self.remove_tatweel && c == TATWEEL)
                    || (self.remove_bidi_controls && is_bidi_control(c))
                    || (self.remove_diacritics && is_arabic_diacritic(c)))
            })
            .collect()
    }
}

impl FromStr for Normalization {
    type Err = Error;

    /// Parses a CLI value: `default`, `none` or `strip-diacritics` (case-insensitive).
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad value and the accepted ones.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Ok(Normalization::default()),
            "none" => Ok(Normalization::none()),
            "strip-diacritics" => Ok(Normalization::strip_diacritics()),
            _ => Err(Error::Config(format!(
                "unknown normalization `{s}`: expected one of `default` (NFC + tatweel and bidi \
                 control removal), \
                 `none` (text unchanged), `strip-diacritics` (default + Arabic diacritics removal)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ" fully vowelled, with a dagger alef (U+0670).
    const VOWELLED: &str = "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ";

    #[test]
    fn defaults_are_documented_values() {
        let n = Normalization::default();
        assert!(n.nfc && n.remove_tatweel && !n.remove_diacritics);
        assert!(Normalization::none().is_identity());
        assert!(!n.is_identity());
    }

    #[test]
    fn vowelled_text_passes_with_and_without_diacritics_removal() {
        assert_eq!(Normalization::default().normalize(VOWELLED), VOWELLED);
        assert_eq!(Normalization::none().normalize(VOWELLED), VOWELLED);
        assert_eq!(
            Normalization::strip_diacritics().normalize(VOWELLED),
            "بسم الله الرحمن الرحيم"
        );
    }

    #[test]
    fn tatweel_removed_by_default_only() {
        let t = "كـــتـاب";
        assert_eq!(Normalization::default().normalize(t), "كتاب");
        assert_eq!(Normalization::none().normalize(t), t);
    }

    #[test]
    fn bidi_controls_removed_by_default_zwnj_and_zwj_kept() {
        let controls = [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        for c in controls {
            assert!(is_bidi_control(c), "{c:?}");
            let t = format!("كتاب{c} جديد");
            assert_eq!(Normalization::default().normalize(&t), "كتاب جديد", "{c:?}");
            assert_eq!(Normalization::strip_diacritics().normalize(&t), "كتاب جديد");
            assert_eq!(Normalization::none().normalize(&t), t);
        }
        // ZWNJ and ZWJ change letter joining: kept.
        for c in [
            '\u{200C}', '\u{200D}', '\u{2029}', '\u{2065}', '\u{202F}', '\u{061B}',
        ] {
            assert!(!is_bidi_control(c), "{c:?}");
        }
        let persian = "می\u{200C}خواهم \u{202B}ع\u{200D}\u{202C}";
        assert_eq!(
            Normalization::default().normalize(persian),
            "می\u{200C}خواهم ع\u{200D}"
        );
    }

    #[test]
    fn nfc_composes_hamza_before_mark_removal() {
        // alef + combining hamza above + fatha
        let decomposed = "\u{0627}\u{0654}\u{064E}";
        assert_eq!(
            Normalization::default().normalize(decomposed),
            "\u{0623}\u{064E}"
        );
        assert_eq!(
            Normalization::strip_diacritics().normalize(decomposed),
            "\u{0623}"
        );
        assert_eq!(Normalization::none().normalize(decomposed), decomposed);
    }

    #[test]
    fn quranic_marks_and_superscript_alef_are_diacritics() {
        for c in ['\u{064B}', '\u{065F}', '\u{0670}', '\u{06D6}', '\u{06ED}'] {
            assert!(is_arabic_diacritic(c), "{c:?}");
        }
        for c in [
            '\u{064A}', '\u{0660}', '\u{06D5}', '\u{06EE}', '\u{0640}', '،',
        ] {
            assert!(!is_arabic_diacritic(c), "{c:?}");
        }
    }

    #[test]
    fn parses_cli_values() {
        assert_eq!(
            "default".parse::<Normalization>().unwrap(),
            Normalization::default()
        );
        assert_eq!(
            "none".parse::<Normalization>().unwrap(),
            Normalization::none()
        );
        assert_eq!(
            "Strip-Diacritics".parse::<Normalization>().unwrap(),
            Normalization::strip_diacritics()
        );
        let err = "nfkc".parse::<Normalization>().unwrap_err().to_string();
        assert!(
            err.contains("nfkc") && err.contains("strip-diacritics"),
            "{err}"
        );
    }
}
