//! The summarizer policy shared by `summarize`, `run` and `batch`: which language a summarizer
//! is given ([`Lang`], [`summarizer_lang`]), the settings it runs with ([`summarizer_settings`]:
//! the model's own, the user's generation overrides, strategy and prompt, and Arabic
//! normalization for Arabic text), and the notes a caller shows the user ([`Note`]), returned
//! as data.

use std::path::Path;

use super::prompt::Prompt;
use super::summarize::{Strategy, SummarizeSettings, Summary};
use super::Seq2SeqPipeline;
use crate::decoding::{ChosenBy, GenerationPatch};
use crate::error::Result;
use crate::text::Normalization;

/// Language of the text given to a summarizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (passed to the model unchanged).
    En,
    /// Arabic (normalized as `translate --normalize default` does), e.g. for mt5-xlsum.
    Ar,
}

impl Lang {
    /// The language code: `en` or `ar`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }
}

/// Something the user should know about a summary or its summarizer; `Display` gives the text
/// the CLI prints after `note: `.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The summarizer's preset reads another language than the text it is given.
    LanguageMismatch {
        /// The preset's name.
        summarizer: String,
        /// The language its preset reads.
        reads: String,
        /// The language of the text it is given.
        given: Lang,
    },
    /// The input was cut to the summarizer's input limit.
    Truncated {
        /// Tokens of the input.
        tokens: usize,
        /// The limit, in tokens.
        limit: usize,
        /// The strategy that was used.
        strategy: Strategy,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::LanguageMismatch {
                summarizer,
                reads,
                given,
            } => write!(
                f,
                "the summarizer {summarizer} reads {reads} text, but it is given {} text",
                given.code()
            ),
            Note::Truncated {
                tokens,
                limit,
                strategy,
            } => {
                let hint = match strategy {
                    Strategy::Truncate => " (use --strategy map-reduce to summarize all of it)",
                    Strategy::MapReduce => {
                        " (the chunk summaries did not get shorter than the limit)"
                    }
                };
                write!(
                    f,
                    "the input has {tokens} tokens; it was cut to the summarizer's limit of \
                     {limit}{hint}"
                )
            }
        }
    }
}

/// The language the summarizer `pipe` is given: `asked`, else its preset's source language
/// when that is Arabic, else English; with a [`Note::LanguageMismatch`] when its preset reads
/// another language than that.
pub fn summarizer_lang(pipe: &Seq2SeqPipeline, asked: Option<Lang>) -> (Lang, Option<Note>) {
    let preset = pipe.files.preset.as_ref();
    let preset_lang = preset.map(|p| p.source_lang.as_str());
    let lang = asked.unwrap_or(match preset_lang {
        Some("ar") => Lang::Ar,
        _ => Lang::En,
    });
    let note = match (preset, preset_lang) {
        (Some(preset), Some(src)) if src != lang.code() => Some(Note::LanguageMismatch {
            summarizer: preset.name.clone(),
            reads: src.to_string(),
            given: lang,
        }),
        _ => None,
    };
    (lang, note)
}

/// Whether the summarizer `pipe`, given text as `lang` ([`summarizer_lang`]), reads Arabic: by
/// its preset's `source_lang` when it has a preset, else by `lang`.
pub fn reads_arabic(pipe: &Seq2SeqPipeline, lang: Lang) -> bool {
    match pipe.files.preset.as_ref() {
        Some(p) => crate::text::script::arabic_script_code(&p.source_lang),
        None => lang == Lang::Ar,
    }
}

/// The settings the summarizer `pipe` runs with: its own ([`SummarizeSettings::for_model`]),
/// then the user's generation settings (`patch`, applied as [`ChosenBy::User`]), `strategy` and `prompt` file (a template with a
/// `{text}` placeholder, replacing the model's); Arabic text (`lang`) is normalized with
/// [`Normalization::default`].
///
/// Errors: the model's `config.json` cannot be read, or the prompt file cannot be read or has
/// no placeholder.
pub fn summarizer_settings(
    pipe: &Seq2SeqPipeline,
    lang: Lang,
    patch: &GenerationPatch,
    strategy: Strategy,
    prompt: Option<&Path>,
) -> Result<SummarizeSettings> {
    let mut settings = SummarizeSettings::for_model(pipe)?;
    settings.generation.apply(patch, ChosenBy::User);
    settings.strategy = strategy;
    if let Some(p) = prompt {
        settings.prompt = Some(Prompt::from_file(p)?);
    }
    if lang == Lang::Ar {
        settings.normalization = Normalization::default();
    }
    settings.lang = lang;
    Ok(settings)
}

/// The [`Note::Truncated`] a summary made with `strategy` calls for, if it was cut.
pub fn truncation_note(summary: &Summary, strategy: Strategy) -> Option<Note> {
    summary.truncated.map(|(tokens, limit)| Note::Truncated {
        tokens,
        limit,
        strategy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_as_the_cli_prints_them() {
        let n = Note::LanguageMismatch {
            summarizer: "mt5-xlsum".into(),
            reads: "ar".into(),
            given: Lang::En,
        };
        assert_eq!(
            n.to_string(),
            "the summarizer mt5-xlsum reads ar text, but it is given en text"
        );
        let n = Note::Truncated {
            tokens: 1500,
            limit: 1024,
            strategy: Strategy::Truncate,
        };
        assert_eq!(
            n.to_string(),
            "the input has 1500 tokens; it was cut to the summarizer's limit of 1024 \
             (use --strategy map-reduce to summarize all of it)"
        );
        let n = Note::Truncated {
            tokens: 9,
            limit: 8,
            strategy: Strategy::MapReduce,
        };
        assert!(n
            .to_string()
            .ends_with("of 8 (the chunk summaries did not get shorter than the limit)"));
    }
}
