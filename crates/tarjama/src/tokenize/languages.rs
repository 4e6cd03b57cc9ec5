//! Language codes of the multilingual translators (NLLB-200, M2M100): which codes exist, which
//! token each one is, and which source language a tokenizer currently encodes.
//!
//! NLLB writes codes as `arb_Arab` (ISO 639-3 + script) and its tokens are the codes themselves;
//! M2M100 writes `ar` and its tokens are `__ar__`. Both place the source code in the encoder
//! input and force the target code as the first generated token (`forced_bos_token_id`).

use std::fmt;

use crate::{Error, Result};

/// How a multilingual tokenizer writes and places language codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanguageScheme {
    /// NLLB-200: codes such as `arb_Arab`, tokens equal to the codes.
    Nllb,
    /// M2M100: codes such as `ar`, tokens `__ar__`.
    M2m100,
}

impl LanguageScheme {
    /// tarjama's default direction for the scheme: Arabic to English.
    pub fn default_pair(self) -> (&'static str, &'static str) {
        match self {
            LanguageScheme::Nllb => ("arb_Arab", "eng_Latn"),
            LanguageScheme::M2m100 => ("ar", "en"),
        }
    }

    /// The token that stands for `code` (`arb_Arab` → `arb_Arab`, `ar` → `__ar__`).
    pub fn token(self, code: &str) -> String {
        match self {
            LanguageScheme::Nllb => code.to_string(),
            LanguageScheme::M2m100 => format!("__{code}__"),
        }
    }

    /// The scheme's name as users know it.
    pub fn name(self) -> &'static str {
        match self {
            LanguageScheme::Nllb => "NLLB-200",
            LanguageScheme::M2m100 => "M2M100",
        }
    }
}

impl fmt::Display for LanguageScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The language codes one tokenizer knows, each with its token id, and the source language it
/// currently encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Languages {
    scheme: LanguageScheme,
    /// `(code, token id)` in the tokenizer's order.
    codes: Vec<(String, u32)>,
    source: String,
}

impl Languages {
    /// Codes and ids as the tokenizer defines them; `source` must be one of `codes`.
    pub fn new(scheme: LanguageScheme, codes: Vec<(String, u32)>, source: &str) -> Result<Self> {
        let mut langs = Languages {
            scheme,
            codes,
            source: String::new(),
        };
        langs.source = langs.resolve(source)?.0.to_string();
        Ok(langs)
    }

    /// NLLB or M2M100.
    pub fn scheme(&self) -> LanguageScheme {
        self.scheme
    }

    /// Every known code, in the tokenizer's order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(|(c, _)| c.as_str())
    }

    /// Number of known codes.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether no code is known (never true for a loaded tokenizer).
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The source language encoding uses now.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn set_source(&mut self, code: &str) -> Result<u32> {
        let (code, id) = self.resolve(code)?;
        self.source = code.to_string();
        Ok(id)
    }

    /// The token id of the source language.
    pub fn source_id(&self) -> u32 {
        self.resolve(&self.source).map(|(_, id)| id).unwrap_or(0)
    }

    /// The token id of `code`: the id a translation forces as the first generated token for
    /// that target language. M2M100 accepts `en` and `__en__`.
    ///
    /// Errors: a code the tokenizer does not know (the message suggests similar codes).
    pub fn token_id(&self, code: &str) -> Result<u32> {
        self.resolve(code).map(|(_, id)| id)
    }

    /// The code whose token is `id`, if any.
    pub fn code_of(&self, id: u32) -> Option<&str> {
        self.codes
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(c, _)| c.as_str())
    }

    fn resolve(&self, code: &str) -> Result<(&str, u32)> {
        let wanted = code.trim();
        let bare = match self.scheme {
            LanguageScheme::M2m100 => wanted
                .strip_prefix("__")
                .and_then(|c| c.strip_suffix("__"))
                .unwrap_or(wanted),
            LanguageScheme::Nllb => wanted,
        };
        if let Some((c, id)) = self.codes.iter().find(|(c, _)| c == bare) {
            return Ok((c.as_str(), *id));
        }
        let lower = bare.to_ascii_lowercase();
        let prefix: String = lower.chars().take(2).collect();
        let similar: Vec<&str> = self
            .codes()
            .filter(|c| {
                let c = c.to_ascii_lowercase();
                c == lower || (!prefix.is_empty() && c.starts_with(&prefix))
            })
            .take(12)
            .collect();
        let (src, tgt) = self.scheme.default_pair();
        let hint = if similar.is_empty() {
            format!("codes look like {src} or {tgt}")
        } else {
            format!("similar: {}", similar.join(", "))
        };
        Err(Error::Config(format!(
            "unknown {} language code {code:?} ({} codes; {hint}; `tarjama models show` lists them)",
            self.scheme,
            self.codes.len()
        )))
    }
}

/// The language codes a preset family supports, for listing before a model is downloaded:
/// `nllb` → [`NLLB_CODES`], `m2m100` → [`M2M100_CODES`]; `None` for other families.
pub fn family_codes(family: &str) -> Option<(LanguageScheme, &'static [&'static str])> {
    match family {
        "nllb" => Some((LanguageScheme::Nllb, NLLB_CODES)),
        "m2m100" | "m2m_100" => Some((LanguageScheme::M2m100, M2M100_CODES)),
        _ => None,
    }
}

/// NLLB-200's 202 language codes (transformers' `tokenization_nllb.FAIRSEQ_LANGUAGE_CODES`),
/// in token order.
pub const NLLB_CODES: &[&str] = &[
    "ace_Arab", "ace_Latn", "acm_Arab", "acq_Arab", "aeb_Arab", "afr_Latn", "ajp_Arab", "aka_Latn",
    "amh_Ethi", "apc_Arab", "arb_Arab", "ars_Arab", "ary_Arab", "arz_Arab", "asm_Beng", "ast_Latn",
    "awa_Deva", "ayr_Latn", "azb_Arab", "azj_Latn", "bak_Cyrl", "bam_Latn", "ban_Latn", "bel_Cyrl",
    "bem_Latn", "ben_Beng", "bho_Deva", "bjn_Arab", "bjn_Latn", "bod_Tibt", "bos_Latn", "bug_Latn",
    "bul_Cyrl", "cat_Latn", "ceb_Latn", "ces_Latn", "cjk_Latn", "ckb_Arab", "crh_Latn", "cym_Latn",
    "dan_Latn", "deu_Latn", "dik_Latn", "dyu_Latn", "dzo_Tibt", "ell_Grek", "eng_Latn", "epo_Latn",
    "est_Latn", "eus_Latn", "ewe_Latn", "fao_Latn", "pes_Arab", "fij_Latn", "fin_Latn", "fon_Latn",
    "fra_Latn", "fur_Latn", "fuv_Latn", "gla_Latn", "gle_Latn", "glg_Latn", "grn_Latn", "guj_Gujr",
    "hat_Latn", "hau_Latn", "heb_Hebr", "hin_Deva", "hne_Deva", "hrv_Latn", "hun_Latn", "hye_Armn",
    "ibo_Latn", "ilo_Latn", "ind_Latn", "isl_Latn", "ita_Latn", "jav_Latn", "jpn_Jpan", "kab_Latn",
    "kac_Latn", "kam_Latn", "kan_Knda", "kas_Arab", "kas_Deva", "kat_Geor", "knc_Arab", "knc_Latn",
    "kaz_Cyrl", "kbp_Latn", "kea_Latn", "khm_Khmr", "kik_Latn", "kin_Latn", "kir_Cyrl", "kmb_Latn",
    "kon_Latn", "kor_Hang", "kmr_Latn", "lao_Laoo", "lvs_Latn", "lij_Latn", "lim_Latn", "lin_Latn",
    "lit_Latn", "lmo_Latn", "ltg_Latn", "ltz_Latn", "lua_Latn", "lug_Latn", "luo_Latn", "lus_Latn",
    "mag_Deva", "mai_Deva", "mal_Mlym", "mar_Deva", "min_Latn", "mkd_Cyrl", "plt_Latn", "mlt_Latn",
    "mni_Beng", "khk_Cyrl", "mos_Latn", "mri_Latn", "zsm_Latn", "mya_Mymr", "nld_Latn", "nno_Latn",
    "nob_Latn", "npi_Deva", "nso_Latn", "nus_Latn", "nya_Latn", "oci_Latn", "gaz_Latn", "ory_Orya",
    "pag_Latn", "pan_Guru", "pap_Latn", "pol_Latn", "por_Latn", "prs_Arab", "pbt_Arab", "quy_Latn",
    "ron_Latn", "run_Latn", "rus_Cyrl", "sag_Latn", "san_Deva", "sat_Beng", "scn_Latn", "shn_Mymr",
    "sin_Sinh", "slk_Latn", "slv_Latn", "smo_Latn", "sna_Latn", "snd_Arab", "som_Latn", "sot_Latn",
    "spa_Latn", "als_Latn", "srd_Latn", "srp_Cyrl", "ssw_Latn", "sun_Latn", "swe_Latn", "swh_Latn",
    "szl_Latn", "tam_Taml", "tat_Cyrl", "tel_Telu", "tgk_Cyrl", "tgl_Latn", "tha_Thai", "tir_Ethi",
    "taq_Latn", "taq_Tfng", "tpi_Latn", "tsn_Latn", "tso_Latn", "tuk_Latn", "tum_Latn", "tur_Latn",
    "twi_Latn", "tzm_Tfng", "uig_Arab", "ukr_Cyrl", "umb_Latn", "urd_Arab", "uzn_Latn", "vec_Latn",
    "vie_Latn", "war_Latn", "wol_Latn", "xho_Latn", "ydd_Hebr", "yor_Latn", "yue_Hant", "zho_Hans",
    "zho_Hant", "zul_Latn",
];

/// M2M100's 100 language codes (`FAIRSEQ_LANGUAGE_CODES["m2m100"]`), in token order.
pub const M2M100_CODES: &[&str] = &[
    "af", "am", "ar", "ast", "az", "ba", "be", "bg", "bn", "br", "bs", "ca", "ceb", "cs", "cy",
    "da", "de", "el", "en", "es", "et", "fa", "ff", "fi", "fr", "fy", "ga", "gd", "gl", "gu", "ha",
    "he", "hi", "hr", "ht", "hu", "hy", "id", "ig", "ilo", "is", "it", "ja", "jv", "ka", "kk",
    "km", "kn", "ko", "lb", "lg", "ln", "lo", "lt", "lv", "mg", "mk", "ml", "mn", "mr", "ms", "my",
    "ne", "nl", "no", "ns", "oc", "or", "pa", "pl", "ps", "pt", "ro", "ru", "sd", "si", "sk", "sl",
    "so", "sq", "sr", "ss", "su", "sv", "sw", "ta", "th", "tl", "tn", "tr", "uk", "ur", "uz", "vi",
    "wo", "xh", "yi", "yo", "zh", "zu",
];

/// The 8 codes of the WMT21 M2M100 models (`language_codes="wmt21"`), in token order.
pub const WMT21_CODES: &[&str] = &["en", "ha", "is", "ja", "cs", "ru", "zh", "de"];

#[cfg(test)]
mod tests {
    use super::*;

    fn m2m() -> Languages {
        let codes = M2M100_CODES
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), 100 + i as u32))
            .collect();
        Languages::new(LanguageScheme::M2m100, codes, "en").unwrap()
    }

    #[test]
    fn codes_resolve_and_unknown_ones_suggest() {
        assert_eq!(NLLB_CODES.len(), 202);
        assert_eq!(M2M100_CODES.len(), 100);
        let l = m2m();
        assert_eq!(l.token_id("ar").unwrap(), 102);
        assert_eq!(l.token_id("__ar__").unwrap(), 102);
        assert_eq!(l.code_of(102), Some("ar"));
        assert_eq!(l.source(), "en");
        let err = l.token_id("arb_Arab").unwrap_err().to_string();
        assert!(err.contains("similar: ar;"), "{err}");
        let err = l.token_id("qq").unwrap_err().to_string();
        assert!(err.contains("codes look like ar or en"), "{err}");
    }
}
