//! The core the slow tokenizers share (transformers' `PreTrainedTokenizer` in
//! `tokenization_utils.py`): a base vocabulary ([`BaseVocab`]) under the added and special
//! tokens ([`Vocab`]: their ids, splitting the input around them with their strip rules, and
//! decoding a token sequence that contains them), and [`SlowTokenizer`], through which each
//! family (Marian, T5, M2M100) is a [`Tokenizer`] by giving only its own rules: segmentation,
//! special tokens around the ids, and `convert_tokens_to_string`.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::languages::Languages;
use super::{clean_up_tokenization, py_lstrip, py_rstrip, Tokenizer};
use crate::Result;

/// An added token, as transformers' `AddedToken` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedTok {
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

/// The `added_tokens_decoder` of a `tokenizer_config.json` (id → `AddedToken` object or
/// string), empty where it has none. Errors (worded by `err`): a key that is not an id, or an
/// entry that is no token.
pub(super) fn saved_added_tokens(
    cfg: &serde_json::Map<String, Value>,
    err: impl Fn(String) -> crate::Error,
) -> Result<HashMap<u32, AddedTok>> {
    let mut added = HashMap::new();
    if let Some(Value::Object(saved)) = cfg.get("added_tokens_decoder") {
        for (k, v) in saved {
            let id: u32 = k
                .parse()
                .map_err(|_| err(format!("added_tokens_decoder: bad id {k:?}")))?;
            let t = AddedTok::from_json(v)
                .ok_or_else(|| err(format!("added_tokens_decoder: bad token {k}")))?;
            added.insert(id, t);
        }
    }
    Ok(added)
}

/// The `additional_special_tokens` list of a `tokenizer_config.json`, `None` where it is absent
/// or null. Errors (worded by `err`): not a list, or an entry that is no token.
pub(super) fn additional_special_tokens(
    cfg: &serde_json::Map<String, Value>,
    err: impl Fn(String) -> crate::Error,
) -> Result<Option<Vec<AddedTok>>> {
    match cfg.get("additional_special_tokens") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                AddedTok::from_json(v).ok_or_else(|| {
                    err("additional_special_tokens: expected strings or AddedTokens".into())
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(err("additional_special_tokens: expected a list".into())),
    }
}

/// `all_special_tokens` order: the first of each content kept.
pub(super) fn dedup_tokens(tokens: &mut Vec<AddedTok>) {
    let mut seen = HashSet::new();
    tokens.retain(|t| seen.insert(t.content.clone()));
}

/// The tokens decoded on their own: the added tokens that are not special, and the
/// `additional` special tokens above the base vocabulary (ids from `base_len` on, by `id`).
pub(super) fn legacy_added<'a>(
    added: &HashMap<String, u32>,
    special_tokens: &HashSet<String>,
    additional: impl IntoIterator<Item = &'a AddedTok>,
    id: impl Fn(&str) -> u32,
    base_len: usize,
) -> HashSet<String> {
    let mut legacy: HashSet<String> = added
        .keys()
        .filter(|t| !special_tokens.contains(*t))
        .cloned()
        .collect();
    legacy.extend(
        additional
            .into_iter()
            .filter(|t| id(&t.content) as usize >= base_len)
            .map(|t| t.content.clone()),
    );
    legacy
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

/// A tokenizer's own vocabulary (pieces ↔ ids), below the added tokens.
pub trait BaseVocab: Send + Sync {
    /// Number of ids (transformers' `vocab_size`, added tokens not counted).
    fn len(&self) -> usize;
    /// The id of exactly `token`, or `None` where the vocabulary lacks it.
    fn id_of(&self, token: &str) -> Option<u32>;
    /// The token of `id`, or `None` where the vocabulary has no such id.
    fn token_of(&self, id: u32) -> Option<&str>;
    /// The id encoding gives `token` (`_convert_token_to_id`); `None` falls back to the
    /// tokenizer's `<unk>` id. The exact lookup unless the family says otherwise.
    fn encode_id(&self, token: &str) -> Option<u32> {
        self.id_of(token)
    }
}

/// A `vocab.json` vocabulary (Marian, M2M100): token → id, and back.
#[derive(Debug, Clone)]
pub struct JsonVocab {
    encoder: HashMap<String, u32>,
    decoder: HashMap<u32, String>,
}

impl JsonVocab {
    /// The vocabulary of the token → id map `encoder`.
    pub fn new(encoder: HashMap<String, u32>) -> Self {
        let decoder = encoder.iter().map(|(t, &id)| (id, t.clone())).collect();
        JsonVocab { encoder, decoder }
    }

    /// Whether `token` is in the vocabulary.
    pub fn contains(&self, token: &str) -> bool {
        self.encoder.contains_key(token)
    }
}

impl BaseVocab for JsonVocab {
    fn len(&self) -> usize {
        self.encoder.len()
    }

    fn id_of(&self, token: &str) -> Option<u32> {
        self.encoder.get(token).copied()
    }

    fn token_of(&self, id: u32) -> Option<&str> {
        self.decoder.get(&id).map(String::as_str)
    }
}

/// A slow tokenizer's vocabulary: the base vocabulary `V` and, above it, the added tokens
/// (transformers' `added_tokens_encoder` / `added_tokens_decoder`) and the special ones.
#[derive(Debug, Clone)]
pub struct Vocab<V> {
    /// The family's own vocabulary.
    pub base: V,
    /// Added-token content → id (looked up before the base vocabulary).
    pub added_encoder: HashMap<String, u32>,
    /// Id → added token, with its strip rules.
    pub added_decoder: HashMap<u32, AddedTok>,
    /// Added-token contents, longest first, for splitting the input ([`split_tokens`]).
    pub split_tokens: Vec<String>,
    /// `all_special_tokens`.
    pub special_tokens: HashSet<String>,
    /// `all_special_ids`.
    pub special_ids: HashSet<u32>,
    /// Tokens decoded on their own, joined with spaces (see [`decode_tokens`]).
    pub legacy_added: HashSet<String>,
    /// `unk_token`.
    pub unk_token: String,
    /// Its id.
    pub unk_id: u32,
    /// `eos_token`'s id.
    pub eos_id: u32,
    /// `pad_token`'s id.
    pub pad_id: u32,
    /// `clean_up_tokenization_spaces` of `tokenizer_config.json` (default off).
    pub clean_up_spaces: bool,
    /// `split_special_tokens`: added tokens in the input are segmented as text.
    pub split_special_tokens: bool,
}

impl<V: BaseVocab> Vocab<V> {
    /// The id of `token` for encoding: an added token's, else the base vocabulary's, else
    /// `<unk>`'s (`convert_tokens_to_ids`).
    pub fn token_id(&self, token: &str) -> u32 {
        self.added_encoder
            .get(token)
            .copied()
            .or_else(|| self.base.encode_id(token))
            .unwrap_or(self.unk_id)
    }

    /// The id of exactly `token` (added or base), without the `<unk>` fallback.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.added_encoder
            .get(token)
            .copied()
            .or_else(|| self.base.id_of(token))
    }

    /// The token of `id` (added or base), `None` where neither has it.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.added_decoder
            .get(&id)
            .map(|t| t.content.clone())
            .or_else(|| self.base.token_of(id).map(str::to_string))
    }

    /// `PreTrainedTokenizer.tokenize`: splits `text` on the added tokens (unless
    /// `split_special_tokens`), applies their `lstrip` / `rstrip` / `single_word` rules to the
    /// neighbouring chunks, keeps each added token whole and segments every other non-empty
    /// chunk with `segment` (the family's `_tokenize`).
    pub fn tokenize(
        &self,
        text: &str,
        mut segment: impl FnMut(&str) -> Vec<String>,
    ) -> Vec<String> {
        if self.split_special_tokens {
            return if text.is_empty() {
                Vec::new()
            } else {
                segment(text)
            };
        }
        let mut chunks: Vec<String> = split_on_added(&self.split_tokens, text)
            .into_iter()
            .map(str::to_string)
            .collect();
        for i in 0..chunks.len() {
            let Some(id) = self.added_encoder.get(&chunks[i]) else {
                continue;
            };
            let tok = &self.added_decoder[id];
            // Python keeps the unstripped neighbours in `left` / `right`.
            let left = (i > 0)
                .then(|| chunks[i - 1].clone())
                .filter(|s| !s.is_empty());
            let right = chunks.get(i + 1).cloned().filter(|s| !s.is_empty());
            if let (true, Some(r)) = (tok.rstrip, &right) {
                chunks[i + 1] = py_lstrip(r).to_string();
            }
            if let (true, Some(l)) = (tok.lstrip, &left) {
                chunks[i - 1] = py_rstrip(l).to_string();
            }
            if tok.single_word && left.as_ref().is_some_and(|l| !l.ends_with(' ')) {
                // `tokens[i - 1] += token; tokens[i] = ""`
                let t = std::mem::take(&mut chunks[i]);
                chunks[i - 1].push_str(&t);
            } else if tok.single_word && right.as_ref().is_some_and(|r| !r.starts_with(' ')) {
                // `tokens[i] += right; tokens[i + 1] = ""`
                let t = std::mem::take(&mut chunks[i + 1]);
                chunks[i].push_str(&t);
            }
        }
        let mut tokens = Vec::new();
        for chunk in chunks {
            if chunk.is_empty() {
                continue;
            }
            if self.added_encoder.contains_key(&chunk) {
                tokens.push(chunk);
            } else {
                tokens.extend(segment(&chunk));
            }
        }
        tokens
    }

    /// `PreTrainedTokenizer._decode`: the tokens of `ids` (special ids dropped where
    /// `skip_special_tokens`; an id neither vocabulary has becomes `missing(id)`), decoded by
    /// [`decode_tokens`] with the family's `tokens_to_string`; `clean_up` overrides
    /// `clean_up_spaces` where given. Errors: those of `missing`.
    pub fn decode(
        &self,
        ids: &[u32],
        skip_special_tokens: bool,
        clean_up: Option<bool>,
        missing: impl Fn(u32) -> Result<String>,
        tokens_to_string: impl Fn(&[String]) -> String,
    ) -> Result<String> {
        let mut tokens = Vec::with_capacity(ids.len());
        for &id in ids {
            if skip_special_tokens && self.special_ids.contains(&id) {
                continue;
            }
            tokens.push(match self.id_to_token(id) {
                Some(t) => t,
                None => missing(id)?,
            });
        }
        Ok(decode_tokens(
            tokens,
            skip_special_tokens,
            &self.special_tokens,
            &self.legacy_added,
            clean_up.unwrap_or(self.clean_up_spaces),
            tokens_to_string,
        ))
    }
}

/// A slow tokenizer family: the shared [`Vocab`] plus the family's own rules. Every
/// implementor is a [`Tokenizer`] (encode = `build_inputs_with_special_tokens` over the ids of
/// [`SlowTokenizer::tokens`]; decode, the accessors and the token count come from the vocab).
pub trait SlowTokenizer: Send + Sync {
    /// The family's base vocabulary.
    type Base: BaseVocab;

    /// The vocabulary with its added and special tokens.
    fn vocab(&self) -> &Vocab<Self::Base>;

    /// The tokens of `text`, without the special tokens the inputs get (`tokenize(text)`).
    fn tokens(&self, text: &str) -> Vec<String>;

    /// `build_inputs_with_special_tokens`: the model input from the ids of the tokens.
    fn with_special_tokens(&self, ids: Vec<u32>) -> Vec<u32>;

    /// `convert_tokens_to_string` over a run of tokens.
    fn tokens_to_string(&self, tokens: &[String]) -> String;

    /// The token decoding gives an id neither vocabulary has: `<unk>`, unless the family
    /// refuses such ids.
    fn missing_token(&self, _id: u32) -> Result<String> {
        Ok(self.vocab().unk_token.clone())
    }

    /// See [`Tokenizer::languages`].
    fn languages(&self) -> Option<&Languages> {
        None
    }

    /// See [`Tokenizer::set_source_language`].
    fn set_source_language(&mut self, code: &str) -> Result<()> {
        Err(super::no_languages(code))
    }
}

impl<T: SlowTokenizer> Tokenizer for T {
    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let vocab = self.vocab();
        let ids = self
            .tokens(text)
            .iter()
            .map(|t| vocab.token_id(t))
            .collect();
        Ok(self.with_special_tokens(ids))
    }

    fn decode_with(
        &self,
        ids: &[u32],
        skip_special_tokens: bool,
        clean_up_tokenization_spaces: Option<bool>,
    ) -> Result<String> {
        self.vocab().decode(
            ids,
            skip_special_tokens,
            clean_up_tokenization_spaces,
            |id| self.missing_token(id),
            |t| self.tokens_to_string(t),
        )
    }

    fn token_count(&self, text: &str) -> usize {
        self.encode(text).map_or(0, |ids| ids.len())
    }

    fn pad_id(&self) -> u32 {
        self.vocab().pad_id
    }

    fn eos_id(&self) -> u32 {
        self.vocab().eos_id
    }

    fn unk_id(&self) -> Option<u32> {
        Some(self.vocab().unk_id)
    }

    fn vocab_size(&self) -> usize {
        self.vocab().base.len()
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.vocab().id_to_token(id)
    }

    fn token_to_id(&self, t: &str) -> Option<u32> {
        self.vocab().token_to_id(t)
    }

    fn languages(&self) -> Option<&Languages> {
        SlowTokenizer::languages(self)
    }

    fn set_source_language(&mut self, code: &str) -> Result<()> {
        SlowTokenizer::set_source_language(self, code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base `a`=0, `b`=1, `<unk>`=2, `</s>`=3; added `</s>` (special), `<x>` (rstrip),
    /// `<w>` (single_word) at 4 and `<l>` (lstrip) at 5.
    fn vocab() -> Vocab<JsonVocab> {
        let base = JsonVocab::new(HashMap::from([
            ("a".to_string(), 0),
            ("b".to_string(), 1),
            ("<unk>".to_string(), 2),
            ("</s>".to_string(), 3),
        ]));
        let mut x = AddedTok::plain("<x>");
        x.rstrip = true;
        let mut w = AddedTok::plain("<w>");
        w.single_word = true;
        let mut l = AddedTok::plain("<l>");
        l.lstrip = true;
        let added_decoder = HashMap::from([(3, AddedTok::plain("</s>")), (4, x), (6, w), (5, l)]);
        let added_encoder: HashMap<String, u32> = added_decoder
            .iter()
            .map(|(&id, t)| (t.content.clone(), id))
            .collect();
        Vocab {
            base,
            split_tokens: split_tokens(added_encoder.keys()),
            added_encoder,
            added_decoder,
            special_tokens: HashSet::from(["</s>".to_string()]),
            special_ids: HashSet::from([3]),
            legacy_added: HashSet::from(["<x>".to_string()]),
            unk_token: "<unk>".into(),
            unk_id: 2,
            eos_id: 3,
            pad_id: 2,
            clean_up_spaces: false,
            split_special_tokens: false,
        }
    }

    #[test]
    fn ids_and_tokens_look_in_the_added_tokens_first() {
        let v = vocab();
        assert_eq!(v.token_id("<x>"), 4);
        assert_eq!(v.token_id("a"), 0);
        assert_eq!(v.token_id("zz"), 2);
        assert_eq!(v.token_to_id("zz"), None);
        assert_eq!(v.token_to_id("<l>"), Some(5));
        assert_eq!(v.id_to_token(1).as_deref(), Some("b"));
        assert_eq!(v.id_to_token(6).as_deref(), Some("<w>"));
        assert_eq!(v.id_to_token(9), None);
    }

    /// `PreTrainedTokenizer.tokenize`'s rules: rstrip eats the right neighbour's leading
    /// spaces, lstrip the left one's trailing spaces; a single_word token glued to a word is
    /// text (joined to its left neighbour, else its right one: `tokens[i] += right`).
    #[test]
    fn tokenize_splits_on_added_tokens_with_their_strip_rules() {
        let v = vocab();
        let words = |c: &str| vec![format!("[{c}]")];
        assert_eq!(v.tokenize("a <x>  b", words), ["[a ]", "<x>", "[b]"]);
        assert_eq!(v.tokenize("a  <l>b", words), ["[a]", "<l>", "[b]"]);
        assert_eq!(v.tokenize("a<w> b", words), ["[a<w>]", "[ b]"]);
        assert_eq!(v.tokenize("<w>b", words), ["[<w>b]"]);
        assert_eq!(v.tokenize("a <w> b", words), ["[a ]", "<w>", "[ b]"]);
        assert_eq!(v.tokenize("", words), Vec::<String>::new());
        let mut split = vocab();
        split.split_special_tokens = true;
        assert_eq!(split.tokenize("a <x>", words), ["[a <x>]"]);
    }

    #[test]
    fn decode_drops_special_ids_and_names_missing_ones() {
        let v = vocab();
        let join = |t: &[String]| t.concat();
        let unk = |_| Ok("<unk>".to_string());
        assert_eq!(
            v.decode(&[0, 4, 1, 3], false, None, unk, join).unwrap(),
            "a <x> b</s>"
        );
        assert_eq!(v.decode(&[0, 1, 3], true, None, unk, join).unwrap(), "ab");
        assert_eq!(v.decode(&[0, 9], true, None, unk, join).unwrap(), "a<unk>");
        let refuse = |id| Err(crate::Error::Tokenizer(format!("id {id}")));
        assert!(v.decode(&[9], true, None, refuse, join).is_err());
    }
}
