//! Byte-level BPE tokenizers shipped as `vocab.json` + `merges.txt` only (BART, RoBERTa, GPT-2
//! style repos without a `tokenizer.json`).
//!
//! transformers builds the fast tokenizer of such a repo with its `RobertaConverter`
//! (`convert_slow_tokenizer.py`): a BPE model from the two files (no unknown token, empty
//! subword prefix and suffix), a ByteLevel pre-tokenizer and decoder, and a RobertaProcessing
//! post-processor that wraps a sequence as `<s> … </s>`; `BartTokenizerFast` then adds the special
//! tokens, `<mask>` stripping the space on its left. [`load_byte_level_bpe`] builds the same
//! `tokenizers::Tokenizer` here, so it encodes and decodes exactly as the `tokenizer.json` that
//! transformers would write for the repo.

use std::path::Path;

use serde_json::Value;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::AddedToken;

use super::HfTokenizer;
use crate::{Error, Result};

/// The special tokens of a BART-style byte-level BPE, with transformers' `BartTokenizer` defaults.
struct Specials {
    bos: String,
    eos: String,
    sep: String,
    cls: String,
    unk: String,
    pad: String,
    mask: String,
}

impl Default for Specials {
    fn default() -> Self {
        Specials {
            bos: "<s>".into(),
            eos: "</s>".into(),
            sep: "</s>".into(),
            cls: "<s>".into(),
            unk: "<unk>".into(),
            pad: "<pad>".into(),
            mask: "<mask>".into(),
        }
    }
}

/// The content of a special-token entry of `tokenizer_config.json` (a string or an
/// `AddedToken` object).
fn token_content(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("content").and_then(Value::as_str),
        _ => None,
    }
}

fn read_config(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Tokenizer(format!("{}: invalid JSON: {e}", path.display())))
}

/// The added-token flags transformers gives `content`: those of its `added_tokens_decoder`
/// entry in `tokenizer_config.json` where there is one, else `BartTokenizerFast`'s (special,
/// normalized; `<mask>` also strips on the left).
fn added_token(content: &str, is_mask: bool, config: Option<&Value>) -> AddedToken {
    let entry = config
        .and_then(|c| c.get("added_tokens_decoder"))
        .and_then(Value::as_object)
        .and_then(|m| {
            m.values()
                .find(|e| e.get("content").and_then(Value::as_str) == Some(content))
        });
    let flag = |key: &str, default: bool| {
        entry
            .and_then(|e| e.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    AddedToken::from(content.to_string(), flag("special", true))
        .single_word(flag("single_word", false))
        .lstrip(flag("lstrip", is_mask))
        .rstrip(flag("rstrip", false))
        .normalized(flag("normalized", true))
}

/// Builds the tokenizer transformers' `BartTokenizerFast` (`RobertaConverter`) makes from
/// `vocab.json` and `merges.txt`, with `tokenizer_config.json` when the repo has one: it may
/// rename the special tokens, set `add_prefix_space` (default false) and `trim_offsets`
/// (default true), give the added tokens' flags (`added_tokens_decoder`) and switch on
/// `clean_up_tokenization_spaces` (default false).
///
/// Errors: unreadable or malformed files (naming them), or special tokens that `vocab.json`
/// lacks.
pub fn load_byte_level_bpe(
    vocab_json: &Path,
    merges_txt: &Path,
    tokenizer_config: Option<&Path>,
) -> Result<HfTokenizer> {
    for p in [vocab_json, merges_txt] {
        std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
    }
    let config = tokenizer_config.map(read_config).transpose()?;
    let mut sp = Specials::default();
    if let Some(c) = &config {
        for (key, slot) in [
            ("bos_token", &mut sp.bos),
            ("eos_token", &mut sp.eos),
            ("sep_token", &mut sp.sep),
            ("cls_token", &mut sp.cls),
            ("unk_token", &mut sp.unk),
            ("pad_token", &mut sp.pad),
            ("mask_token", &mut sp.mask),
        ] {
            if let Some(s) = c.get(key).and_then(token_content) {
                *slot = s.to_string();
            }
        }
    }
    let flag = |key: &str, default: bool| {
        config
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    let add_prefix_space = flag("add_prefix_space", false);
    let trim_offsets = flag("trim_offsets", true);
    let clean_up = flag("clean_up_tokenization_spaces", false);

    let files = format!("{} + {}", vocab_json.display(), merges_txt.display());
    let model = BPE::from_file(&vocab_json.to_string_lossy(), &merges_txt.to_string_lossy())
        .continuing_subword_prefix(String::new())
        .end_of_word_suffix(String::new())
        .fuse_unk(false)
        .build()
        .map_err(|e| Error::Tokenizer(format!("{files}: not a usable byte-level BPE: {e}")))?;
    let mut inner = tokenizers::Tokenizer::new(model);
    inner.with_pre_tokenizer(Some(ByteLevel::new(add_prefix_space, trim_offsets, true)));
    inner.with_decoder(Some(ByteLevelDecoder::default()));

    let id = |t: &str| -> Result<u32> {
        inner.token_to_id(t).ok_or_else(|| {
            Error::Tokenizer(format!(
                "{}: special token {t:?} is not in the vocabulary",
                vocab_json.display()
            ))
        })
    };
    let (cls, sep) = (id(&sp.cls)?, id(&sp.sep)?);
    let (eos, pad) = (id(&sp.eos)?, id(&sp.pad)?);
    let unk = inner.token_to_id(&sp.unk);
    inner.with_post_processor(Some(
        RobertaProcessing::new((sp.sep.clone(), sep), (sp.cls.clone(), cls))
            .trim_offsets(trim_offsets)
            .add_prefix_space(add_prefix_space),
    ));
    // transformers adds the special tokens in the order bos, eos, unk, sep, pad, cls, mask;
    // each is added once and keeps its vocab.json id.
    let mut seen: Vec<&str> = Vec::new();
    let mut tokens = Vec::new();
    for t in [
        &sp.bos, &sp.eos, &sp.unk, &sp.sep, &sp.pad, &sp.cls, &sp.mask,
    ] {
        if seen.contains(&t.as_str()) || inner.token_to_id(t).is_none() {
            continue;
        }
        seen.push(t);
        tokens.push(added_token(t, *t == sp.mask, config.as_ref()));
    }
    inner.add_special_tokens(&tokens);
    Ok(HfTokenizer::from_tokenizer(inner, pad, eos, unk, clean_up))
}
