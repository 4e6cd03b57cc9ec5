//! transformers' `NllbTokenizerFast`: NLLB-200's `tokenizer.json` with the source-language code
//! placed as transformers places it.
//!
//! `NllbTokenizerFast` replaces the post-processor of `tokenizer.json` whenever the source
//! language is set: `arb_Arab … </s>` (the default), or `… </s> arb_Arab` when
//! `legacy_behaviour` is true in `tokenizer_config.json`. Without a `src_lang` the source is
//! `eng_Latn`, as in transformers; tarjama's pipeline sets Arabic. Decoding is the
//! `tokenizer.json` decoder's: the language codes are special tokens, dropped with
//! `skip_special_tokens`.

use std::path::Path;

use serde_json::Value;
use tokenizers::processors::template::TemplateProcessing;

use super::files::{load_json, tok_err};
use super::languages::{LanguageScheme, Languages, NLLB_CODES};
use super::{HfTokenizer, Tokenizer};
use crate::{Error, Result};

/// `NllbTokenizerFast`: a [`HfTokenizer`] whose post-processor follows the source language.
#[derive(Debug)]
pub struct NllbTokenizer {
    /// `tokenizer.json` as loaded (its own post-processor is replaced on every change).
    base: tokenizers::Tokenizer,
    /// The tokenizer with the current source language's post-processor.
    current: HfTokenizer,
    languages: Languages,
    legacy_behaviour: bool,
    clean_up_spaces: bool,
}

fn read_config(path: Option<&Path>) -> Result<serde_json::Map<String, Value>> {
    let Some(p) = path else {
        return Ok(serde_json::Map::new());
    };
    match load_json(p)? {
        Value::Object(o) => Ok(o),
        _ => Err(tok_err(p, "expected a JSON object")),
    }
}

/// Whether the `tokenizer.json` of a repo is an NLLB tokenizer: `tokenizer_config.json` names
/// an `Nllb…` class, or, without a class, the vocabulary has the NLLB codes `eng_Latn` and
/// `arb_Arab`.
pub(crate) fn is_nllb(tokenizer: &tokenizers::Tokenizer, tokenizer_config: Option<&Path>) -> bool {
    let class = read_config(tokenizer_config).ok().and_then(|c| {
        c.get("tokenizer_class")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    match class {
        Some(c) => c.starts_with("Nllb"),
        None => ["eng_Latn", "arb_Arab"]
            .iter()
            .all(|t| tokenizer.token_to_id(t).is_some()),
    }
}

impl NllbTokenizer {
    /// Loads `tokenizer.json` and `tokenizer_config.json` (special tokens, `src_lang`,
    /// `legacy_behaviour`, `additional_special_tokens`, `clean_up_tokenization_spaces`). The
    /// language codes are the config's `additional_special_tokens`, else NLLB's 202 codes, each
    /// kept where the vocabulary has it.
    ///
    /// Errors: those of [`HfTokenizer::from_files`], or a vocabulary without language codes.
    pub fn from_files(tokenizer_json: &Path, tokenizer_config: Option<&Path>) -> Result<Self> {
        let hf = HfTokenizer::from_files(tokenizer_json, tokenizer_config)?;
        Self::from_hf(hf, tokenizer_json, tokenizer_config)
    }

    /// [`NllbTokenizer::from_files`] for an already loaded `tokenizer.json`.
    pub fn from_hf(
        hf: HfTokenizer,
        tokenizer_json: &Path,
        tokenizer_config: Option<&Path>,
    ) -> Result<Self> {
        let cfg = read_config(tokenizer_config)?;
        let base = hf.inner().clone();
        let listed: Vec<String> = match cfg.get("additional_special_tokens") {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("content").and_then(Value::as_str).map(String::from),
                    _ => None,
                })
                .collect(),
            _ => NLLB_CODES.iter().map(|s| s.to_string()).collect(),
        };
        let codes: Vec<(String, u32)> = listed
            .into_iter()
            .filter_map(|c| base.token_to_id(&c).map(|id| (c, id)))
            .collect();
        if codes.is_empty() {
            return Err(Error::Tokenizer(format!(
                "{}: no NLLB language codes (such as eng_Latn) in the vocabulary",
                tokenizer_json.display()
            )));
        }
        let src = cfg
            .get("src_lang")
            .and_then(Value::as_str)
            .filter(|s| codes.iter().any(|(c, _)| c == s))
            .unwrap_or(if codes.iter().any(|(c, _)| c == "eng_Latn") {
                "eng_Latn"
            } else {
                &codes[0].0
            })
            .to_string();
        let languages = Languages::new(LanguageScheme::Nllb, codes, &src)?;
        let legacy_behaviour = cfg
            .get("legacy_behaviour")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let clean_up_spaces = cfg
            .get("clean_up_tokenization_spaces")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut tok = NllbTokenizer {
            base,
            current: hf,
            languages,
            legacy_behaviour,
            clean_up_spaces,
        };
        tok.rebuild()?;
        Ok(tok)
    }

    /// Switches `legacy_behaviour` (source code after `</s>` instead of first), as the
    /// `NllbTokenizerFast(legacy_behaviour=...)` argument does.
    pub fn set_legacy_behaviour(&mut self, legacy: bool) -> Result<()> {
        self.legacy_behaviour = legacy;
        self.rebuild()
    }

    /// Whether the source code goes after `</s>` (`legacy_behaviour`).
    pub fn legacy_behaviour(&self) -> bool {
        self.legacy_behaviour
    }

    /// `set_src_lang_special_tokens`: a `TemplateProcessing` with the source code first
    /// (`lang $A </s>`), or last in legacy mode (`$A </s> lang`).
    fn rebuild(&mut self) -> Result<()> {
        let lang = self.languages.source().to_string();
        let lang_id = self.languages.source_id();
        let eos_id = self.current.eos_id();
        let eos = self
            .base
            .id_to_token(eos_id)
            .ok_or_else(|| Error::Tokenizer(format!("end-of-sequence id {eos_id} has no token")))?;
        let (single, pair) = if self.legacy_behaviour {
            (
                vec!["$A".to_string(), eos.clone(), lang.clone()],
                vec!["$A".to_string(), "$B".into(), eos.clone(), lang.clone()],
            )
        } else {
            (
                vec![lang.clone(), "$A".into(), eos.clone()],
                vec![lang.clone(), "$A".into(), "$B".into(), eos.clone()],
            )
        };
        let err = |e: String| Error::Tokenizer(format!("building the NLLB post-processor: {e}"));
        let pp = TemplateProcessing::builder()
            .try_single(single)
            .map_err(|e| err(e.to_string()))?
            .try_pair(pair)
            .map_err(|e| err(e.to_string()))?
            .special_tokens(vec![(lang, lang_id), (eos, eos_id)])
            .build()
            .map_err(|e| err(e.to_string()))?;
        let mut inner = self.base.clone();
        inner.with_post_processor(Some(pp));
        self.current = HfTokenizer::from_tokenizer(
            inner,
            self.current.pad_id(),
            eos_id,
            self.current.unk_id(),
            self.clean_up_spaces,
        );
        Ok(())
    }
}

impl Tokenizer for NllbTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.current.encode(text)
    }

    fn decode_with(
        &self,
        ids: &[u32],
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: Option<bool>,
    ) -> Result<String> {
        self.current
            .decode_with(ids, skip_special_tokens, clean_up_tokenization_spaces)
    }

    fn token_count(&self, text: &str) -> usize {
        self.current.token_count(text)
    }

    fn pad_id(&self) -> u32 {
        self.current.pad_id()
    }

    fn eos_id(&self) -> u32 {
        self.current.eos_id()
    }

    fn unk_id(&self) -> Option<u32> {
        self.current.unk_id()
    }

    fn vocab_size(&self) -> usize {
        self.current.vocab_size()
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.current.id_to_token(id)
    }

    fn token_to_id(&self, t: &str) -> Option<u32> {
        self.current.token_to_id(t)
    }

    fn languages(&self) -> Option<&Languages> {
        Some(&self.languages)
    }

    fn set_source_language(&mut self, code: &str) -> Result<()> {
        let previous = self.languages.source().to_string();
        self.languages.set_source(code)?;
        if let Err(e) = self.rebuild() {
            let _ = self.languages.set_source(&previous);
            return Err(e);
        }
        Ok(())
    }
}
