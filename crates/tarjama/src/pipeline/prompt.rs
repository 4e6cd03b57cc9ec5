//! Prompt templates: text with a `{text}` placeholder that wraps a model's input (T5's
//! `summarize: {text}`). The templates in `prompts/` are embedded in the binary; a preset names
//! one, and `--prompt FILE` overrides it.

use std::path::Path;

use crate::error::{Error, Result};

/// The templates shipped in `prompts/`: (file name, text).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "summarize.t5.txt",
        include_str!("../../../../prompts/summarize.t5.txt"),
    ),
    (
        "summarize.flan-t5.txt",
        include_str!("../../../../prompts/summarize.flan-t5.txt"),
    ),
];

/// A prompt template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    template: String,
}

impl Prompt {
    /// A template from its text. Errors when it lacks the `{text}` placeholder.
    pub fn new(template: impl Into<String>) -> Result<Self> {
        let template = template.into();
        if !template.contains("{text}") {
            return Err(Error::Config(format!(
                "prompt {template:?} has no {{text}} placeholder"
            )));
        }
        Ok(Self { template })
    }

    /// The embedded template `name` (a file name under `prompts/`).
    pub fn embedded(name: &str) -> Result<Self> {
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| Prompt::new(*t))
            .unwrap_or_else(|| {
                Err(Error::Config(format!(
                    "no prompt named {name:?} (shipped: {})",
                    EMBEDDED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            })
    }

    /// Reads a template file (`--prompt FILE`). Errors name the file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Prompt::new(text).map_err(|_| Error::input(path, "prompt has no {text} placeholder"))
    }

    /// A prefix prompt (`prefix{text}`), as transformers' `task_specific_params` give.
    pub fn prefix(prefix: &str) -> Self {
        Self {
            template: format!("{prefix}{{text}}"),
        }
    }

    /// The template applied to `text`.
    pub fn apply(&self, text: &str) -> String {
        self.template.replace("{text}", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t5_prompt_prefixes_the_text() {
        let p = Prompt::embedded("summarize.t5.txt").unwrap();
        assert_eq!(p.apply("The cat sat."), "summarize: The cat sat.");
        assert!(Prompt::new("no placeholder").is_err());
        assert_eq!(Prompt::prefix("summarize: ").apply("x"), "summarize: x");
    }
}
