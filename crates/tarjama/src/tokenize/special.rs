//! Added and special tokens as transformers' slow tokenizers (`tokenization_utils.py`) handle
//! them: their description in `tokenizer_config.json`, splitting the input around them, and
//! decoding a token sequence that contains them.

use std::collections::HashSet;

use serde_json::Value;

use super::clean_up_tokenization;

/// An added token, as transformers' `AddedToken` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AddedTok {
    pub content: String,
    pub lstrip: bool,
    pub rstrip: bool,
    pub single_word: bool,
}

impl AddedTok {
    pub fn plain(content: &str) -> Self {
        AddedTok {
            content: content.to_string(),
            lstrip: false,
            rstrip: false,
            single_word: false,
        }
    }

    /// A token given in `tokenizer_config.json`: a string or an `AddedToken` object.
    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(AddedTok::plain(s)),
            Value::Object(o) => {
                let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
                Some(AddedTok {
                    content: o.get("content")?.as_str()?.to_string(),
                    lstrip: flag("lstrip"),
                    rstrip: flag("rstrip"),
                    single_word: flag("single_word"),
                })
            }
            _ => None,
        }
    }
}

/// The content of a special-token entry of `tokenizer_config.json` (a string or an
/// `AddedToken` object).
pub(super) fn token_content(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("content").and_then(Value::as_str),
        _ => None,
    }
}

/// The non-empty added-token contents, longest first (ties in byte order), for
/// [`split_on_added`].
pub(super) fn split_tokens<'a>(added: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut tokens: Vec<String> = added
        .into_iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    tokens.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    tokens
}

/// `Trie.split`: cuts `text` around the added tokens `split_tokens` (longest first, see
/// [`split_tokens`]), leftmost and then longest first.
pub(super) fn split_on_added<'a>(split_tokens: &[String], text: &'a str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(t) = split_tokens.iter().find(|t| rest.starts_with(t.as_str())) {
            if i > start {
                out.push(&text[start..i]);
            }
            out.push(&text[i..i + t.len()]);
            i += t.len();
            start = i;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    if start < text.len() || out.is_empty() {
        out.push(&text[start..]);
    }
    out
}

/// What `PreTrainedTokenizer._decode` does with the tokens of the ids (the special ids already
/// dropped where `skip_special_tokens`): drops the special tokens too where
/// `skip_special_tokens`, decodes each run of ordinary tokens with `tokens_to_string` (the
/// tokenizer's `convert_tokens_to_string`), keeps the `legacy_added` tokens apart, joins the
/// parts with spaces and applies `clean_up_tokenization` where `clean_up_spaces`.
pub(super) fn decode_tokens(
    tokens: impl IntoIterator<Item = String>,
    skip_special_tokens: bool,
    special_tokens: &HashSet<String>,
    legacy_added: &HashSet<String>,
    clean_up_spaces: bool,
    tokens_to_string: impl Fn(&[String]) -> String,
) -> String {
    let mut sub_texts: Vec<String> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for token in tokens {
        if skip_special_tokens && special_tokens.contains(&token) {
            continue;
        }
        if legacy_added.contains(&token) {
            if !current.is_empty() {
                let s = tokens_to_string(&current);
                if !s.is_empty() {
                    sub_texts.push(s);
                }
                current.clear();
            }
            sub_texts.push(token);
        } else {
            current.push(token);
        }
    }
    if !current.is_empty() {
        sub_texts.push(tokens_to_string(&current));
    }
    let text = sub_texts.join(" ");
    if clean_up_spaces {
        clean_up_tokenization(&text)
    } else {
        text
    }
}
