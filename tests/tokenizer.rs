//! Tokenizer parity: our `MarianTokenizer` against transformers' on the committed fixture
//! (`tests/fixtures/marian-tiny`, made by `scripts/make_fixtures.py`), on the seed article and
//! Tatoeba sentences of `../shared/data` (skipped, with a message, where that is absent), and
//! `HfTokenizer` on a small `tokenizer.json`.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::{ids, read_json, sha, shared_data};
use tarjama::tokenize::protobuf::ModelProto;
use tarjama::tokenize::sentencepiece::SentencePieceModel;
use tarjama::tokenize::{load, HfTokenizer, MarianTokenizer, Tokenizer, TokenizerFiles};

fn fixture_dir() -> PathBuf {
    common::fixture("marian-tiny")
}

fn marian_source() -> (TokenizerFiles, PathBuf) {
    let d = fixture_dir();
    (
        TokenizerFiles::Marian {
            source_spm: d.join("source.spm"),
            target_spm: d.join("target.spm"),
            vocab_json: d.join("vocab.json"),
        },
        d.join("tokenizer_config.json"),
    )
}

fn marian() -> Box<dyn Tokenizer> {
    let (files, config) = marian_source();
    load(&files, Some(&config)).expect("fixture tokenizer loads")
}

/// Python's `str.isspace`.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.splitlines()` (without keepends).
fn py_splitlines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let boundary = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if boundary {
            out.push(&text[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = chars.peek() {
                    chars.next();
                    end = j + 1;
                }
            }
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// `re.split(r'(?<=[.!?؟…])\s+', line)` with empty parts dropped.
fn split_sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    let mut iter = line.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if py_space(c) && prev.is_some_and(|p| ".!?؟…".contains(p)) {
            out.push(&line[start..i]);
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = iter.peek() {
                if !py_space(d) {
                    break;
                }
                end = j + d.len_utf8();
                iter.next();
            }
            start = end;
            prev = None;
            continue;
        }
        prev = Some(c);
    }
    out.push(&line[start..]);
    out.retain(|s| !s.is_empty());
    out
}

#[test]
fn sentence_split_matches_python_rule() {
    assert_eq!(
        split_sentences("أ. ب؟  ج… د!\tهـ.و x"),
        vec!["أ.", "ب؟", "ج…", "د!", "هـ.و x"]
    );
    assert_eq!(split_sentences("a. "), vec!["a."]);
    assert_eq!(
        py_splitlines("a\r\nb\u{2028}c\n\nd"),
        vec!["a", "b", "c", "", "d"]
    );
}

#[test]
fn marian_encode_equals_transformers_goldens() {
    let tok = marian();
    let golden = read_json(&fixture_dir().join("tokenizer_golden.json"));
    let cases = golden["encode"].as_array().expect("encode cases");
    assert!(cases.len() >= 20, "only {} encode cases", cases.len());
    let mut failures = Vec::new();
    for c in cases {
        let text = c["text"].as_str().expect("text");
        let want = ids(&c["input_ids"]);
        let got = tok.encode(text).unwrap();
        if got != want {
            failures.push(format!("{text:?}\n   got  {got:?}\n   want {want:?}"));
        }
        assert_eq!(tok.token_count(text), want.len(), "token_count of {text:?}");
    }
    assert!(
        failures.is_empty(),
        "encode mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn marian_pieces_equal_transformers_tokenize() {
    let d = fixture_dir();
    let tok = MarianTokenizer::from_files(
        &d.join("source.spm"),
        &d.join("target.spm"),
        &d.join("vocab.json"),
        Some(&d.join("tokenizer_config.json")),
    )
    .unwrap();
    let golden = read_json(&d.join("tokenizer_golden.json"));
    for c in golden["encode"].as_array().unwrap() {
        let Some(pieces) = c["pieces"].as_array() else {
            continue;
        };
        let want: Vec<&str> = pieces.iter().map(|p| p.as_str().unwrap()).collect();
        let text = c["text"].as_str().unwrap();
        assert_eq!(tok.tokenize(text), want, "pieces of {text:?}");
    }
}

#[test]
fn marian_decode_equals_transformers_goldens() {
    let tok = marian();
    let golden = read_json(&fixture_dir().join("tokenizer_golden.json"));
    let cases = golden["decode"].as_array().expect("decode cases");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in cases {
        let label = c["label"].as_str().unwrap_or("?");
        let input = ids(&c["ids"]);
        for (skip, key) in [
            (true, "skip_special_tokens_true"),
            (false, "skip_special_tokens_false"),
        ] {
            let want = c[key]
                .as_str()
                .unwrap_or_else(|| panic!("{label}: no {key}"));
            let got = tok.decode(&input, skip).unwrap();
            if got != want {
                failures.push(format!(
                    "{label} (skip_special_tokens={skip}) {input:?}\n   got  {got:?}\n   want {want:?}"
                ));
            }
        }
        if let Some(tokens) = c["tokens"].as_array() {
            for (id, t) in input.iter().zip(tokens) {
                assert_eq!(
                    tok.id_to_token(*id).as_deref(),
                    t.as_str(),
                    "{label}: id {id}"
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "decode mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn marian_special_ids_follow_vocab_json() {
    let tok = marian();
    let vocab = read_json(&fixture_dir().join("vocab.json"));
    let vocab = vocab.as_object().unwrap();
    assert_eq!(tok.eos_id(), 0);
    assert_eq!(tok.unk_id(), Some(1));
    assert_eq!(tok.pad_id() as usize, vocab.len() - 1);
    assert_eq!(tok.vocab_size(), vocab.len());
    assert_eq!(tok.id_to_token(tok.pad_id()).as_deref(), Some("<pad>"));
    assert_eq!(tok.token_to_id("</s>"), Some(0));
    assert_eq!(tok.token_to_id("no such token"), None);
    assert_eq!(tok.id_to_token(u32::MAX), None);
    for (t, id) in vocab {
        let id = id.as_u64().unwrap() as u32;
        assert_eq!(tok.token_to_id(t), Some(id));
        assert_eq!(tok.id_to_token(id).as_deref(), Some(t.as_str()));
    }
    // An empty text is just </s>.
    assert_eq!(tok.encode("").unwrap(), vec![0]);
    assert_eq!(tok.encode("   ").unwrap(), vec![0]);
}

/// Golden `input_ids` by sha256 of the text, from `golden.json`.
fn golden_inputs() -> HashMap<String, (String, Vec<u32>)> {
    let golden = read_json(&fixture_dir().join("golden.json"));
    golden["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["sha256"].as_str().unwrap().to_string(),
                (
                    c["set"].as_str().unwrap_or("?").to_string(),
                    ids(&c["input_ids"]),
                ),
            )
        })
        .collect()
}

fn check_against_golden(set: &str, texts: &[String]) {
    let tok = marian();
    let golden = golden_inputs();
    let in_set = golden.values().filter(|(s, _)| s == set).count();
    assert_eq!(
        texts.len(),
        in_set,
        "{set}: {} texts here, {in_set} golden cases",
        texts.len()
    );
    let mut failures = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let Some((_, want)) = golden.get(&sha(text)) else {
            failures.push(format!("{set} {i}: no golden case with this text's sha256"));
            continue;
        };
        let got = tok.encode(text).unwrap();
        if &got != want {
            failures.push(format!("{set} {i}:\n   got  {got:?}\n   want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn marian_encodes_seed_article_like_transformers() {
    let path = shared_data().join("seed/article.ar.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} is absent", path.display());
        return;
    };
    let sentences: Vec<String> = py_splitlines(&text)
        .into_iter()
        .map(|l| l.trim_matches(py_space))
        .filter(|l| !l.is_empty())
        .flat_map(split_sentences)
        .map(str::to_string)
        .collect();
    assert_eq!(sentences.len(), 23, "the seed article has 23 sentences");
    check_against_golden("seed", &sentences);
}

#[test]
fn marian_encodes_tatoeba_like_transformers() {
    let path = shared_data().join("tatoeba-ara-eng/sample500.ar");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} is absent", path.display());
        return;
    };
    let lines: Vec<String> = py_splitlines(&text)
        .into_iter()
        .take(100)
        .map(|l| l.trim_matches(py_space).to_string())
        .collect();
    assert_eq!(lines.len(), 100);
    check_against_golden("tatoeba", &lines);
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = fixture_dir();
    let bogus = dir.path().join("source.spm");
    std::fs::write(&bogus, "this is not a protobuf file at all").unwrap();
    let err =
        MarianTokenizer::from_files(&bogus, &d.join("target.spm"), &d.join("vocab.json"), None)
            .unwrap_err()
            .to_string();
    assert!(err.starts_with(&bogus.display().to_string()), "{err}");
    assert!(err.contains("not a SentencePiece model"), "{err}");
    assert!(err.contains("at byte"), "{err}");

    let missing = dir.path().join("nope.spm");
    let err =
        MarianTokenizer::from_files(&d.join("source.spm"), &missing, &d.join("vocab.json"), None)
            .unwrap_err()
            .to_string();
    assert!(err.contains("nope.spm"), "{err}");

    let vocab = dir.path().join("vocab.json");
    std::fs::write(&vocab, r#"{"</s>": 0, "<pad>": 1}"#).unwrap();
    let err =
        MarianTokenizer::from_files(&d.join("source.spm"), &d.join("target.spm"), &vocab, None)
            .unwrap_err()
            .to_string();
    assert!(err.contains("vocab.json") && err.contains("<unk>"), "{err}");

    std::fs::write(&vocab, "[1, 2]").unwrap();
    let err =
        MarianTokenizer::from_files(&d.join("source.spm"), &d.join("target.spm"), &vocab, None)
            .unwrap_err()
            .to_string();
    assert!(err.contains("vocab.json"), "{err}");

    let err = HfTokenizer::from_files(&dir.path().join("tokenizer.json"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
}

#[test]
fn spm_files_parse_as_model_protos() {
    for name in ["source.spm", "target.spm"] {
        let bytes = std::fs::read(fixture_dir().join(name)).unwrap();
        let proto = ModelProto::parse(&bytes).unwrap();
        assert!(
            proto.pieces.len() > 100,
            "{name}: {} pieces",
            proto.pieces.len()
        );
        assert_eq!(proto.trainer_spec.model_type, 1, "{name}: unigram");
        assert_eq!(proto.normalizer_spec.name, "nmt_nfkc");
        assert!(!proto.normalizer_spec.precompiled_charsmap.is_empty());
        let n_pieces = proto.pieces.len();
        let model = SentencePieceModel::from_proto(proto).unwrap();
        assert_eq!(model.len(), n_pieces);
        // Fullwidth letters and an ideographic space are folded by nmt_nfkc.
        assert_eq!(model.normalize("ＡＢ\u{3000}c"), "▁AB▁c");
    }
}

const WORDLEVEL_JSON: &str = r#"{
  "version": "1.0",
  "truncation": {"direction": "Right", "max_length": 3, "strategy": "LongestFirst", "stride": 0},
  "padding": null,
  "added_tokens": [
    {"id": 0, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": null,
  "pre_tokenizer": {"type": "Whitespace"},
  "post_processor": {
    "type": "TemplateProcessing",
    "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}
  },
  "decoder": null,
  "model": {"type": "WordLevel", "vocab": {"<pad>": 0, "</s>": 1, "<unk>": 2, "hello": 3, "world": 4, ",": 5, ".": 6}, "unk_token": "<unk>"}
}"#;

#[test]
fn hf_tokenizer_json_encodes_and_decodes_like_transformers_fast() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("tokenizer.json");
    std::fs::write(&json, WORDLEVEL_JSON).unwrap();
    let tok = load(&TokenizerFiles::TokenizerJson(json.clone()), None).unwrap();
    // transformers switches tokenizer.json's truncation off unless asked.
    assert_eq!(
        tok.encode("hello, world. moon").unwrap(),
        vec![3, 5, 4, 6, 2, 1]
    );
    assert_eq!(tok.token_count("hello, world. moon"), 6);
    assert_eq!((tok.pad_id(), tok.eos_id(), tok.unk_id()), (0, 1, Some(2)));
    assert_eq!(tok.vocab_size(), 7);
    assert_eq!(tok.id_to_token(4).as_deref(), Some("world"));
    assert_eq!(tok.token_to_id("hello"), Some(3));
    let ids = [3, 5, 4, 6, 1, 0];
    assert_eq!(tok.decode(&ids, true).unwrap(), "hello , world .");
    assert_eq!(
        tok.decode(&ids, false).unwrap(),
        "hello , world . </s> <pad>"
    );

    // tokenizer_config.json may switch on clean_up_tokenization_spaces and rename specials.
    let config = dir.path().join("tokenizer_config.json");
    std::fs::write(
        &config,
        r#"{"clean_up_tokenization_spaces": true, "eos_token": {"content": "</s>"}, "pad_token": "<unk>"}"#,
    )
    .unwrap();
    let tok = HfTokenizer::from_files(&json, Some(&config)).unwrap();
    assert_eq!(tok.decode(&ids, true).unwrap(), "hello, world.");
    assert_eq!(tok.pad_id(), 2);
}
