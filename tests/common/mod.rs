//! Helpers shared by the integration tests: fixture paths, golden files, the golden-parity
//! harness (case selection, the near-tie rule, one-by-one and batched comparison), `../shared`
//! data and running the `tarjama` binary.
//!
//! Each test crate uses only some of these, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use candle_core::{DType, Device};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tarjama::decoding::{ChosenBy, GenerationConfig, GenerationPatch};
use tarjama::pipeline::Seq2SeqPipeline;

// ------------------------------------------------------------------------------------------
// fixtures and golden files

/// `tests/fixtures/<name>` (e.g. `marian-tiny`).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A JSON file, with the path (and the scripts that write the fixtures) named on failure.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/make_fixtures*.py)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture's `golden.json` (transformers' `generate()` outputs).
pub fn golden(name: &str) -> Value {
    read_json(&fixture(name).join("golden.json"))
}

/// The fixture's `tokenizer_golden.json` (transformers' tokenizer outputs).
pub fn tokenizer_golden(name: &str) -> Value {
    read_json(&fixture(name).join("tokenizer_golden.json"))
}

/// A float32 CPU pipeline from a model directory.
pub fn load_dir(dir: &Path) -> Seq2SeqPipeline {
    Seq2SeqPipeline::load(dir.to_str().unwrap(), None, &Device::Cpu, DType::F32)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// A float32 CPU pipeline for the fixture `name`.
pub fn pipeline(name: &str) -> Seq2SeqPipeline {
    load_dir(&fixture(name))
}

/// A JSON list of token ids.
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an id list, got {v}"))
        .iter()
        .map(|x| u32::try_from(x.as_u64().expect("id")).expect("u32 id"))
        .collect()
}

/// The model defaults with a setting's `generate()` kwargs applied, as transformers does.
pub fn setting_config(pipe: &Seq2SeqPipeline, kwargs: &Value) -> GenerationConfig {
    let mut cfg = pipe.generation.clone();
    cfg.apply(&GenerationPatch::lenient(kwargs), ChosenBy::Model);
    if kwargs.get("max_length").is_some() {
        cfg.max_length_set = true;
    }
    cfg
}

// ------------------------------------------------------------------------------------------
// golden parity

pub struct Case {
    pub name: String,
    pub input: Vec<u32>,
    pub expected: Vec<Vec<u32>>,
    pub scores: Option<Vec<f64>>,
    /// The closest call transformers' float64 search made on this case (see golden.json meta).
    pub margin: f64,
}

/// Below this margin the reference itself sits on a near-tie that float32 arithmetic (ours or
/// PyTorch's) may settle either way; a differing output there is reported, not failed, within
/// [`MAX_NEAR_TIE_DIFFS`]. Every case with a larger margin must match exactly.
pub const NEAR_TIE: f64 = 1e-4;

/// At most this share of a setting's cases may differ, and only on near-ties.
pub const MAX_NEAR_TIE_DIFFS: f64 = 0.03;

/// The cases of one setting whose float32 reference run agreed with float64, and how many did
/// not (those sit on near-ties float32 arithmetic cannot settle; the golden records them).
/// Cases without an output for `setting` are left out.
pub fn cases(g: &Value, setting: &str) -> (Vec<Case>, usize) {
    let mut out = Vec::new();
    let mut fragile = 0;
    for c in g["cases"].as_array().unwrap() {
        let Some(o) = c["outputs"].get(setting) else {
            continue;
        };
        if o["f32_agrees"] != Value::Bool(true) {
            fragile += 1;
            continue;
        }
        out.push(Case {
            name: format!("{}[{}]", c["set"].as_str().unwrap(), c["index"]),
            input: ids(&c["input_ids"]),
            expected: o["sequences"].as_array().unwrap().iter().map(ids).collect(),
            margin: o["min_margin"].as_f64().unwrap_or(f64::INFINITY),
            scores: o.get("sequences_scores").map(|s| {
                s.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            }),
        });
    }
    (out, fragile)
}

/// Runs `setting` of the golden `g` (of the fixture `label`) through `pipe`, `batch_size`
/// inputs at a time and `limit` cases at most (at least `min(limit, 20)` must be usable), and
/// checks the ids of every case and the beam scores (within 1e-3) where the golden has them.
/// Differences are allowed only on near-ties ([`NEAR_TIE`]), for at most
/// [`MAX_NEAR_TIE_DIFFS`] of the cases.
pub fn check_with(
    pipe: &Seq2SeqPipeline,
    g: &Value,
    label: &str,
    setting: &str,
    batch_size: usize,
    limit: usize,
) {
    let cfg = setting_config(pipe, &g["settings"][setting]);
    let (mut cases, fragile) = cases(g, setting);
    cases.truncate(limit);
    assert!(
        cases.len() >= limit.min(20),
        "{label} {setting}: only {} cases",
        cases.len()
    );
    let inputs: Vec<Vec<u32>> = cases.iter().map(|c| c.input.clone()).collect();
    let got = pipe.generate(&inputs, &cfg, batch_size).unwrap();
    let mut mismatches = Vec::new();
    let mut near_tie_diffs = Vec::new();
    for (case, (hyps, _)) in cases.iter().zip(&got) {
        let tokens: Vec<Vec<u32>> = hyps.iter().map(|h| h.tokens.clone()).collect();
        if tokens != case.expected {
            let msg = format!(
                "{} (margin {:.1e}): expected {:?}, got {:?}",
                case.name, case.margin, case.expected, tokens
            );
            if case.margin < NEAR_TIE {
                near_tie_diffs.push(msg);
            } else {
                mismatches.push(msg);
            }
            continue;
        }
        if let Some(scores) = &case.scores {
            for (h, s) in hyps.iter().zip(scores) {
                let ours = h.score.unwrap() as f64;
                assert!(
                    (ours - s).abs() < 1e-3,
                    "{label} {setting} {}: score {ours} vs transformers {s}",
                    case.name
                );
            }
        }
    }
    for d in &near_tie_diffs {
        eprintln!("{label} {setting} (batch {batch_size}) differs on a near-tie: {d}");
    }
    assert!(
        (near_tie_diffs.len() as f64) <= MAX_NEAR_TIE_DIFFS * cases.len() as f64,
        "{label} {setting}: {} near-tie differences of {} cases:\n{}",
        near_tie_diffs.len(),
        cases.len(),
        near_tie_diffs.join("\n")
    );
    assert!(
        mismatches.is_empty(),
        "{label} {setting} (batch {batch_size}): {} of {} cases differ ({fragile} fragile \
         skipped):\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

/// [`check_with`] on the fixture `name`'s own pipeline and golden, every case.
pub fn check_setting(name: &str, setting: &str, batch_size: usize) {
    check_with(
        &pipeline(name),
        &golden(name),
        name,
        setting,
        batch_size,
        usize::MAX,
    );
}

/// The golden cases of one set (`seed`, `tatoeba`, ...), in order.
pub fn cases_in_set<'a>(g: &'a Value, set: &str) -> Vec<&'a Value> {
    g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["set"] == set)
        .collect()
}

// ------------------------------------------------------------------------------------------
// ../shared data

/// `../shared/data`, where the team's evaluation data lives when it is checked out.
pub fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

/// A file of `../shared/data`, or `None` with a message when it is absent.
pub fn shared(rel: &str) -> Option<String> {
    let p = shared_data().join(rel);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("skipping: {} is absent", p.display());
            None
        }
    }
}

/// Lower-case hex SHA-256 of a text (the goldens identify their inputs by it).
pub fn sha(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ------------------------------------------------------------------------------------------
// the binary

/// Runs the `tarjama` binary with `args`, `stdin` (or an empty, closed stdin) and the extra
/// environment variables `envs`, and captures its output.
pub fn run_tarjama(args: &[&str], stdin: Option<&str>, envs: &[(&str, &OsStr)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tarjama");
    {
        use std::io::Write;
        let mut sin = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            // A command that refuses its flags exits without reading its input: the pipe is
            // closed then, which is not the test's failure (its exit code and stderr are).
            match sin.write_all(s.as_bytes()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r.unwrap(),
            }
        }
    }
    child.wait_with_output().unwrap()
}

// ------------------------------------------------------------------------------------------
// the text path on ../shared data

/// The seed article of `../shared` through the whole text path (segmentation, tokenization,
/// search with `generation(pipe, golden)`, detokenization) on the fixture `name`: its 23
/// segments are the golden `seed` cases (by sha256) and encode to their ids, and each
/// translation is the golden `setting` output decoded (where float32 agreed with float64).
/// The paragraph and line structure is kept. Skipped, with a message, when `../shared` is
/// absent.
pub fn seed_article_end_to_end(
    name: &str,
    setting: &str,
    generation: impl FnOnce(&Seq2SeqPipeline, &Value) -> GenerationConfig,
) {
    use tarjama::pipeline::translate::{translate_documents, TranslateSettings};
    use tarjama::text::{split_document, Normalization, SentenceSplitter};

    let Some(article) = shared("seed/article.ar.txt") else {
        return;
    };
    let g = golden(name);
    let pipe = pipeline(name);
    let doc = split_document(&article, &SentenceSplitter::new());
    let segments: Vec<String> = doc.segments().map(|s| s.text.clone()).collect();
    assert_eq!(segments.len(), 23);
    let seed = cases_in_set(&g, "seed");
    assert_eq!(seed.len(), 23);
    for (seg, case) in segments.iter().zip(&seed) {
        assert_eq!(
            sha(seg),
            case["sha256"].as_str().unwrap(),
            "segment {seg:?}"
        );
        assert_eq!(pipe.tokenizer.encode(seg).unwrap(), ids(&case["input_ids"]));
    }
    let settings = TranslateSettings {
        normalization: Normalization::none(),
        generation: generation(&pipe, &g),
        batch_size: 8,
        max_batch_tokens: None,
    };
    let out = translate_documents(&pipe, std::slice::from_ref(&article), &settings).unwrap();
    let out = &out[0];
    assert_eq!(out.segments.len(), 23);
    for (seg, case) in out.segments.iter().zip(&seed) {
        let o = &case["outputs"][setting];
        if o["f32_agrees"] != Value::Bool(true) {
            continue;
        }
        let expected = pipe
            .tokenizer
            .decode(&ids(&o["sequences"][0]), true)
            .unwrap();
        assert_eq!(seg.translation, expected);
    }
    // One output line per input line: the paragraph and line structure is kept.
    assert_eq!(out.text.lines().count(), article.lines().count());
}

/// The first 100 Tatoeba lines of `../shared` are the golden `tatoeba` cases of `g` (by
/// sha256) and `pipe` encodes them to the golden ids; the encodings, or `None` with a message
/// when `../shared` is absent.
pub fn tatoeba_encodings(pipe: &Seq2SeqPipeline, g: &Value) -> Option<Vec<Vec<u32>>> {
    let text = shared("tatoeba-ara-eng/sample500.ar")?;
    let tat = cases_in_set(g, "tatoeba");
    assert_eq!(tat.len(), 100);
    let mut inputs = Vec::new();
    for (line, case) in text.lines().take(100).map(str::trim).zip(&tat) {
        assert_eq!(sha(line), case["sha256"].as_str().unwrap());
        let enc = pipe.tokenizer.encode(line).unwrap();
        assert_eq!(enc, ids(&case["input_ids"]), "{line}");
        inputs.push(enc);
    }
    Some(inputs)
}
