//! PyTorch `pytorch_model.bin` checkpoints written by torch itself
//! (`scripts/make_weight_fixtures.py`, `tests/fixtures/weights/`): both formats, every dtype the
//! presets use, aliases, views, shards, refused globals, broken files, and translations equal to
//! the safetensors copy of the same model.

mod common;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::var_builder::SimpleBackend;
use serde_json::Value;
use tarjama::hub::{ModelFiles, Weights};
use tarjama::model::weights::PthWeights;

fn weights_fixture(name: &str) -> PathBuf {
    common::fixture("weights").join(name)
}

fn expected() -> Value {
    common::read_json(&weights_fixture("expected.json"))
}

fn open(paths: &[PathBuf]) -> PthWeights {
    PthWeights::open(paths).unwrap_or_else(|e| panic!("{e}"))
}

fn dtype_of(name: &str) -> DType {
    match name {
        "float32" => DType::F32,
        "float16" => DType::F16,
        "bfloat16" => DType::BF16,
        "float64" => DType::F64,
        "int64" => DType::I64,
        other => panic!("dtype {other} in expected.json"),
    }
}

/// Checks every tensor `expected` lists: stored dtype, shape and exact values.
fn check_values(w: &PthWeights, expected: &serde_json::Map<String, Value>, label: &str) {
    let mut names: Vec<&str> = expected.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(w.tensor_names(), names, "{label}");
    for (name, e) in expected {
        let dtype = dtype_of(e["dtype"].as_str().unwrap());
        let t = w.get_unchecked(name, dtype, &Device::Cpu).unwrap();
        assert_eq!(t.dtype(), dtype, "{label} {name}");
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(t.dims(), shape.as_slice(), "{label} {name}");
        let flat = t.flatten_all().unwrap();
        if dtype == DType::I64 {
            let want: Vec<i64> = e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(flat.to_vec1::<i64>().unwrap(), want, "{label} {name}");
        } else {
            let want: Vec<f64> = e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let got = flat.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
            if dtype == DType::F64 {
                // serde_json's float parsing may be one unit in the last place off.
                assert_eq!(got.len(), want.len(), "{label} {name}");
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 2.0 * f64::EPSILON * w.abs(),
                        "{label} {name}"
                    );
                }
            } else {
                // float16/bfloat16/float32 values are float32 numbers: equality in float32
                // (where a parsing error of one float64 unit vanishes), not closeness.
                let got: Vec<f32> = got.iter().map(|&v| v as f32).collect();
                let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
                assert_eq!(got, want, "{label} {name}");
            }
        }
    }
}

#[test]
fn both_formats_read_every_dtype_view_and_alias_exactly() {
    let e = expected();
    let e = e["tensors"].as_object().unwrap();
    for format in ["zip", "legacy"] {
        let w = open(&[weights_fixture(&format!("tensors-{format}.bin"))]);
        check_values(&w, e, format);
    }
}

#[test]
fn sharded_checkpoint_reads_both_shards() {
    let e = expected();
    let dir = weights_fixture("sharded");
    let files = [
        dir.join("pytorch_model-00001-of-00002.bin"),
        dir.join("pytorch_model-00002-of-00002.bin"),
    ];
    check_values(&open(&files), e["sharded"].as_object().unwrap(), "sharded");
}

/// Bytes the distinct storages of `tensors-*.bin` hold: every name but the aliases and the
/// views of `base` owns one storage, viewed whole.
fn storage_bytes(e: &serde_json::Map<String, Value>) -> u64 {
    let views = ["tied.a", "tied.b", "base.rows", "base.column", "base.t"];
    e.iter()
        .filter(|(n, _)| !views.contains(&n.as_str()))
        .map(|(_, t)| {
            let n: u64 = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .product();
            n * dtype_of(t["dtype"].as_str().unwrap()).size_in_bytes() as u64
        })
        .sum()
}

#[test]
fn nothing_is_read_twice_and_aliases_are_one_tensor() {
    let e = expected();
    let e = e["tensors"].as_object().unwrap();
    for format in ["zip", "legacy"] {
        let w = open(&[weights_fixture(&format!("tensors-{format}.bin"))]);
        // Opening and asking what exists reads no tensor data.
        assert!(w.contains_tensor("tied.b") && !w.contains_tensor("tied.c"));
        assert_eq!(w.bytes_read(), 0, "{format}");
        let a = w.get_unchecked("tied.a", DType::F16, &Device::Cpu).unwrap();
        let f16 = w.get_unchecked("f16", DType::F16, &Device::Cpu).unwrap();
        let b = w.get_unchecked("tied.b", DType::F16, &Device::Cpu).unwrap();
        // The same candle tensor (one Arc), not three copies.
        assert_eq!(a.id(), f16.id(), "{format}");
        assert_eq!(a.id(), b.id(), "{format}");
        assert_eq!(w.bytes_read(), 12 * 2, "{format}: the f16 storage once");
        let all: Vec<Tensor> = w
            .tensor_names()
            .iter()
            .filter(|n| !n.starts_with("tied.") && **n != "f16")
            .map(|n| w.get_unchecked(n, DType::F32, &Device::Cpu).unwrap())
            .collect();
        assert_eq!(all.len(), e.len() - 3);
        let reads = w.storage_reads();
        assert_eq!(reads.len(), 7, "{format}: storages {reads:?}");
        assert!(reads.iter().all(|&r| r == 1), "{format}: reads {reads:?}");
        assert_eq!(w.bytes_read(), storage_bytes(e), "{format}");
    }
}

#[test]
fn loaded_in_another_dtype_the_values_convert() {
    let w = open(&[weights_fixture("tensors-zip.bin")]);
    let e = expected();
    let want: Vec<f64> = e["tensors"]["bf16"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let t = w.get_unchecked("bf16", DType::F32, &Device::Cpu).unwrap();
    assert_eq!(t.dtype(), DType::F32);
    let got: Vec<f64> = t
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
    let got: Vec<f32> = got.iter().map(|&v| v as f32).collect();
    assert_eq!(got, want);
    let err = w
        .get(
            (5, 2).into(),
            "bf16",
            candle_nn::Init::Const(0.),
            DType::F32,
            &Device::Cpu,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("shape mismatch for bf16"), "{err}");
}

const MARKER: &str = "tarjama-pickle-marker";

#[test]
fn a_foreign_global_is_refused_and_never_run() {
    for format in ["zip", "legacy"] {
        let path = weights_fixture(&format!("evil-{format}.bin"));
        let err = PthWeights::open(std::slice::from_ref(&path))
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains("global posix.system"), "{err}");
        assert!(err.contains("refused"), "{err}");
    }
    // Through the command line too: one line, exit 1, nothing run.
    let dir = tempfile::tempdir().unwrap();
    let model = marian_copy(
        dir.path(),
        "evil",
        Some(&weights_fixture("evil-legacy.bin")),
    );
    let out = common::run_tarjama(
        &["translate", "--model", model.to_str().unwrap(), "-"],
        Some("مرحبا"),
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("posix.system"), "{stderr}");
    for place in [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        std::env::current_dir().unwrap(),
        model.clone(),
    ] {
        assert!(!place.join(MARKER).exists(), "{}", place.display());
    }
}

/// The error for `bytes` written as `pytorch_model.bin` in a temp dir, and that file's path.
fn error_for(bytes: &[u8]) -> (String, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pytorch_model.bin");
    std::fs::write(&path, bytes).unwrap();
    let err = PthWeights::open(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    (err, path)
}

#[test]
fn broken_files_give_one_line_naming_the_file() {
    let (err, _) = error_for(b"");
    assert!(err.contains("empty file"), "{err}");
    let (err, _) = error_for(b"hello, this is not a checkpoint\n");
    assert!(err.contains("not a PyTorch checkpoint"), "{err}");
    let legacy = std::fs::read(weights_fixture("tensors-legacy.bin")).unwrap();
    // Cut inside the object pickle, then inside the storages.
    let (err, _) = error_for(&legacy[..300]);
    assert!(err.contains("truncated"), "{err}");
    let (err, _) = error_for(&legacy[..legacy.len() - 10]);
    assert!(err.contains("truncated: storage"), "{err}");
    let zip = std::fs::read(weights_fixture("tensors-zip.bin")).unwrap();
    let (err, _) = error_for(&zip[..zip.len() / 2]);
    assert!(err.contains("not a readable zip archive"), "{err}");
}

#[test]
fn crafted_pickles_cannot_crash_the_reader_or_exhaust_memory() {
    let legacy = std::fs::read(weights_fixture("tensors-legacy.bin")).unwrap();
    // The legacy magic-number pickle, then 150,000 nested lists where the protocol version
    // belongs: building, cloning and dropping such a tree recurses, which once overflowed the
    // main thread's stack (an abort no error names).
    let mut deep = legacy[..15].to_vec();
    deep.extend_from_slice(b"\x80\x02");
    deep.extend(std::iter::repeat_n(b']', 150_000));
    deep.extend(std::iter::repeat_n(b'a', 149_999));
    deep.push(b'.');
    let (err, path) = error_for(&deep);
    assert_eq!(
        err,
        format!(
            "{}: no protocol version after the legacy magic number: not a PyTorch checkpoint",
            path.display()
        )
    );
    // A pickle larger than any state dict's (a 9 MiB string) is cut off at 8 MiB.
    let mut big = legacy[..15].to_vec();
    big.extend_from_slice(b"\x80\x02X");
    big.extend_from_slice(&(9u32 << 20).to_le_bytes());
    big.resize(big.len() + (9 << 20), b'x');
    big.push(b'.');
    let (err, path) = error_for(&big);
    assert_eq!(
        err,
        format!(
            "{}: a pickle larger than 8 MiB: not a state dict",
            path.display()
        )
    );
    // A stride-0 view announcing 2^20 x 2^20 elements of a one-element storage: refused by its
    // shape before a byte is read (gathering it would allocate 4 TiB).
    let w = open(&[weights_fixture("expanded-zip.bin")]);
    let err = w
        .get(
            (650, 32).into(),
            "model.shared.weight",
            candle_nn::Init::Const(0.),
            DType::F32,
            &Device::Cpu,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shape mismatch for model.shared.weight"),
        "{err}"
    );
    assert_eq!(w.bytes_read(), 0);
}

/// A copy of `tests/fixtures/marian-tiny` in `root/name` without its weights, plus `weights`
/// as `pytorch_model.bin` (or the original `model.safetensors` when `None`).
fn marian_copy(root: &Path, name: &str, weights: Option<&Path>) -> PathBuf {
    let src = common::fixture("marian-tiny");
    let dst = root.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        let file = p.file_name().unwrap();
        if file != "model.safetensors" || weights.is_none() {
            std::fs::copy(&p, dst.join(file)).unwrap();
        }
    }
    if let Some(w) = weights {
        std::fs::copy(w, dst.join("pytorch_model.bin")).unwrap();
    }
    dst
}

#[test]
fn bin_copies_translate_exactly_like_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = [
        marian_copy(dir.path(), "safetensors", None),
        marian_copy(
            dir.path(),
            "zip",
            Some(&weights_fixture("marian-tiny-zip/pytorch_model.bin")),
        ),
        marian_copy(
            dir.path(),
            "legacy",
            Some(&weights_fixture("marian-tiny-legacy/pytorch_model.bin")),
        ),
    ];
    let files = ModelFiles::from_dir(&dirs[1]).unwrap();
    assert_eq!(
        files.weights,
        Weights::PytorchBin(vec![dirs[1].join("pytorch_model.bin")])
    );
    // Token ids and beam scores: transformers' goldens, through each copy.
    let g = common::golden("marian-tiny");
    for d in &dirs {
        let pipe = common::load_dir(d);
        common::check_with(&pipe, &g, &d.display().to_string(), "greedy", 8, 24);
        common::check_with(&pipe, &g, &d.display().to_string(), "beam4", 8, 24);
    }
    // The command's text output, byte for byte.
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample.ar.txt");
    let outputs: Vec<Vec<u8>> = dirs
        .iter()
        .map(|d| {
            let out = common::run_tarjama(
                &[
                    "translate",
                    sample.to_str().unwrap(),
                    "--model",
                    d.to_str().unwrap(),
                ],
                None,
                &[],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.stdout.is_empty());
            out.stdout
        })
        .collect();
    assert_eq!(outputs[0], outputs[1], "zip .bin differs from safetensors");
    assert_eq!(
        outputs[0], outputs[2],
        "legacy .bin differs from safetensors"
    );
}

#[test]
fn legacy_aliases_load_as_one_tensor() {
    let w = open(&[weights_fixture("marian-tiny-legacy/pytorch_model.bin")]);
    let names = [
        "model.shared.weight",
        "model.encoder.embed_tokens.weight",
        "model.decoder.embed_tokens.weight",
        "lm_head.weight",
    ];
    let ids: Vec<_> = names
        .iter()
        .map(|n| w.get_unchecked(n, DType::F32, &Device::Cpu).unwrap().id())
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert_eq!(w.bytes_read(), 650 * 32 * 4);
}

#[test]
fn without_the_alias_cache_a_second_name_is_read_again() {
    let path = weights_fixture("tensors-legacy.bin");
    let w = open(std::slice::from_ref(&path)).with_alias_cache(false);
    let a = w.get_unchecked("tied.a", DType::F16, &Device::Cpu).unwrap();
    let b = w.get_unchecked("tied.b", DType::F16, &Device::Cpu).unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(w.bytes_read(), 2 * 12 * 2);
    let (a, b) = (
        a.to_vec2::<half::f16>().unwrap(),
        b.to_vec2::<half::f16>().unwrap(),
    );
    assert_eq!(a, b);
}

/// A model directory holding `files` (empty files; detection looks at names only, except for
/// the index, which gets `index`).
fn layout_dir(files: &[&str], index: Option<(&str, &str)>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::write(dir.path().join(f), b"").unwrap();
    }
    if let Some((name, text)) = index {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn layout_prefers_safetensors_then_single_files_then_bin_shards() {
    let tok = ["config.json", "spiece.model"];
    let bin_index = (
        "pytorch_model.bin.index.json",
        r#"{"weight_map": {"a": "pytorch_model-2.bin", "b": "pytorch_model-1.bin", "c": "pytorch_model-2.bin"}}"#,
    );
    let shards = ["pytorch_model-1.bin", "pytorch_model-2.bin"];
    let all: Vec<&str> = tok.iter().chain(&shards).copied().collect();
    let d = layout_dir(&all, Some(bin_index));
    assert_eq!(
        ModelFiles::from_dir(d.path()).unwrap().weights,
        Weights::PytorchBin(shards.iter().map(|s| d.path().join(s)).collect())
    );
    // A single pytorch_model.bin wins over a bin index; safetensors win over both.
    let with_bin: Vec<&str> = all.iter().copied().chain(["pytorch_model.bin"]).collect();
    let d = layout_dir(&with_bin, Some(bin_index));
    assert_eq!(
        ModelFiles::from_dir(d.path()).unwrap().weights,
        Weights::PytorchBin(vec![d.path().join("pytorch_model.bin")])
    );
    let with_st: Vec<&str> = with_bin
        .iter()
        .copied()
        .chain(["model.safetensors"])
        .collect();
    let d = layout_dir(&with_st, Some(bin_index));
    assert_eq!(
        ModelFiles::from_dir(d.path()).unwrap().weights,
        Weights::Safetensors(vec![d.path().join("model.safetensors")])
    );
    // A shard the index lists but the directory lacks is named.
    let d = layout_dir(&tok, Some(bin_index));
    let err = ModelFiles::from_dir(d.path()).unwrap_err().to_string();
    assert!(
        err.contains("listed in pytorch_model.bin.index.json missing: pytorch_model-1.bin"),
        "{err}"
    );
}

#[test]
fn float16_loads_of_the_bin_copies_equal_the_safetensors_one() {
    // In float16 nothing is repacked, so the reader keeps aliases: the legacy copy's four names
    // of the embedding come back as one tensor through the model's VarBuilder.
    let dir = tempfile::tempdir().unwrap();
    let dirs = [
        marian_copy(dir.path(), "safetensors", None),
        marian_copy(
            dir.path(),
            "legacy",
            Some(&weights_fixture("marian-tiny-legacy/pytorch_model.bin")),
        ),
        marian_copy(
            dir.path(),
            "zip",
            Some(&weights_fixture("marian-tiny-zip/pytorch_model.bin")),
        ),
    ];
    let g = common::golden("marian-tiny");
    let inputs: Vec<Vec<u32>> = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .take(12)
        .map(|c| common::ids(&c["input_ids"]))
        .collect();
    let outputs: Vec<Vec<(Vec<u32>, Option<f32>)>> = dirs
        .iter()
        .map(|d| {
            let pipe = tarjama::pipeline::Seq2SeqPipeline::load(
                d.to_str().unwrap(),
                None,
                &Device::Cpu,
                DType::F16,
            )
            .unwrap();
            let cfg = common::setting_config(&pipe, &g["settings"]["beam4"]);
            pipe.generate(&inputs, &cfg, 4)
                .unwrap()
                .into_iter()
                .map(|(hyps, _)| (hyps[0].tokens.clone(), hyps[0].score))
                .collect()
        })
        .collect();
    assert!(outputs[0].iter().all(|(t, _)| t.len() > 1));
    assert_eq!(outputs[0], outputs[1], "legacy .bin in float16");
    assert_eq!(outputs[0], outputs[2], "zip .bin in float16");
}
