//! Model resolution (`tarjama::hub`), offline: local directories, a fake Hugging Face cache,
//! an unreachable Hub. Downloads from a test Hub are in `tests/hub_server.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tarjama::hub::{
    preset, preset_names, presets, resolve_with, HubOptions, ModelFiles, ModelSource, ModelSpec,
    Silent, Weights, DEFAULT_TRANSLATOR,
};
use tarjama::tokenize::TokenizerFiles;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const MARIAN: &[&str] = &["config.json", "source.spm", "target.spm", "vocab.json"];

fn write_files(dir: &Path, names: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for name in names {
        std::fs::write(dir.join(name), format!("dummy {name}")).unwrap();
    }
}

/// A model directory with the given files (dummy contents: resolution does not read them).
fn model_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), names);
    dir
}

/// A fake hf-hub cache holding `repo` at commit [`SHA`] under `refs/main`.
fn fake_cache(repo: &str, names: &[&str]) -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    let repo_dir = cache
        .path()
        .join(format!("models--{}", repo.replace('/', "--")));
    std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
    std::fs::write(repo_dir.join("refs/main"), SHA).unwrap();
    write_files(&repo_dir.join("snapshots").join(SHA), names);
    cache
}

fn options(cache: &Path, offline: bool, endpoint: &str) -> HubOptions {
    let mut opts = HubOptions::new(cache, endpoint);
    opts.offline = offline;
    opts.observer = Arc::new(Silent);
    opts
}

fn err_of(result: tarjama::Result<ModelFiles>) -> String {
    let msg = result.expect_err("expected an error").to_string();
    assert!(!msg.contains('\n'), "error is not one line: {msg}");
    msg
}

fn local_err(names: &[&str]) -> (tempfile::TempDir, String) {
    let dir = model_dir(names);
    let msg = err_of(ModelFiles::from_dir(dir.path()));
    (dir, msg)
}

// ---- presets ----

#[test]
fn presets_parse_and_name_their_repos() {
    let p = preset("opus-mt-ar-en").expect("opus-mt-ar-en preset");
    assert_eq!(p.repo, "Helsinki-NLP/opus-mt-ar-en");
    assert_eq!(p.revision, "main");
    assert_eq!(p.family, "marian");
    assert_eq!(p.task, "translation");
    assert_eq!(
        (p.source_lang.as_str(), p.target_lang.as_str()),
        ("ar", "en")
    );
    assert_eq!(p.license, "cc-by-4.0");
    assert!(p.prompt.is_none() && p.generation.is_empty());

    let big = preset(DEFAULT_TRANSLATOR).expect("default translator preset");
    assert_eq!(big.repo, "Helsinki-NLP/opus-mt-tc-big-ar-en");
    assert!(big.approx_parameters > p.approx_parameters);
    assert!(preset("no-such-preset").is_none());
    assert!(presets().iter().all(|p| !p.description.is_empty()));
}

#[test]
fn every_preset_file_is_embedded() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, preset_names());
}

#[test]
fn model_spec_tells_presets_repos_and_paths_apart() {
    match ModelSpec::parse("opus-mt-ar-en", None).unwrap() {
        ModelSpec::Preset { preset, revision } => {
            assert_eq!(preset.repo, "Helsinki-NLP/opus-mt-ar-en");
            assert_eq!(revision, "main");
        }
        other => panic!("{other:?}"),
    }
    match ModelSpec::parse("opus-mt-ar-en", Some("v2")).unwrap() {
        ModelSpec::Preset { revision, .. } => assert_eq!(revision, "v2"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ModelSpec::parse("someone/model", None).unwrap(),
        ModelSpec::Hub {
            repo: "someone/model".into(),
            revision: "main".into()
        }
    );
    let dir = model_dir(&[]);
    let d = dir.path().to_str().unwrap();
    assert_eq!(
        ModelSpec::parse(d, None).unwrap(),
        ModelSpec::Local(dir.path().to_path_buf())
    );
    let err = ModelSpec::parse(d, Some("main")).unwrap_err().to_string();
    assert!(
        err.contains("--revision main applies to Hub repos"),
        "{err}"
    );
    let err = ModelSpec::parse("someone/model", Some("../x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a valid revision"), "{err}");
    let err = ModelSpec::parse("not a model!", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("opus-mt-ar-en"), "lists the presets: {err}");
}

// ---- local directories ----

#[test]
fn local_marian_directory_resolves() {
    let dir = model_dir(&[
        "config.json",
        "generation_config.json",
        "tokenizer_config.json",
        "source.spm",
        "target.spm",
        "vocab.json",
        "model.safetensors",
        "pytorch_model.bin",
    ]);
    let opts = options(Path::new("/nonexistent-cache"), true, "http://127.0.0.1:9");
    let files = resolve_with(dir.path().to_str().unwrap(), None, &opts).unwrap();
    let d = dir.path();
    assert_eq!(files.source, ModelSource::Local(d.to_path_buf()));
    assert_eq!(files.dir, d);
    assert_eq!(files.config, d.join("config.json"));
    assert_eq!(
        files.generation_config,
        Some(d.join("generation_config.json"))
    );
    assert_eq!(
        files.tokenizer_config,
        Some(d.join("tokenizer_config.json"))
    );
    // safetensors wins over pytorch_model.bin
    assert_eq!(
        files.weights,
        Weights::Safetensors(vec![d.join("model.safetensors")])
    );
    assert_eq!(
        files.tokenizer,
        TokenizerFiles::Marian {
            source_spm: d.join("source.spm"),
            target_spm: d.join("target.spm"),
            vocab_json: d.join("vocab.json"),
        }
    );
    assert!(files.preset.is_none() && files.revision.is_none());
}

#[test]
fn local_layouts_are_detected() {
    let dir = model_dir(&["config.json", "pytorch_model.bin", "spiece.model"]);
    let f = ModelFiles::from_dir(dir.path()).unwrap();
    assert_eq!(
        f.weights,
        Weights::PytorchBin(vec![dir.path().join("pytorch_model.bin")])
    );
    assert_eq!(
        f.tokenizer,
        TokenizerFiles::Spiece(dir.path().join("spiece.model"))
    );
    assert_eq!(f.generation_config, None);

    let dir = model_dir(&[
        "config.json",
        "model.safetensors",
        "vocab.json",
        "merges.txt",
    ]);
    let f = ModelFiles::from_dir(dir.path()).unwrap();
    assert_eq!(
        f.tokenizer,
        TokenizerFiles::Bpe {
            vocab_json: dir.path().join("vocab.json"),
            merges_txt: dir.path().join("merges.txt"),
        }
    );

    // tokenizer.json is preferred wherever a repo has one.
    let mut names = MARIAN.to_vec();
    names.extend(["tokenizer.json", "model.safetensors"]);
    let dir = model_dir(&names);
    let f = ModelFiles::from_dir(dir.path()).unwrap();
    assert_eq!(
        f.tokenizer,
        TokenizerFiles::TokenizerJson(dir.path().join("tokenizer.json"))
    );
}

#[test]
fn sharded_safetensors_collect_unique_shards() {
    let dir = model_dir(&[
        "config.json",
        "tokenizer.json",
        "model-00002-of-00002.safetensors",
        "model-00001-of-00002.safetensors",
    ]);
    let index = r#"{"metadata": {"total_size": 8}, "weight_map": {
        "a": "model-00002-of-00002.safetensors",
        "b": "model-00001-of-00002.safetensors",
        "c": "model-00002-of-00002.safetensors"}}"#;
    std::fs::write(dir.path().join("model.safetensors.index.json"), index).unwrap();
    let f = ModelFiles::from_dir(dir.path()).unwrap();
    assert_eq!(
        f.weights,
        Weights::Safetensors(vec![
            dir.path().join("model-00001-of-00002.safetensors"),
            dir.path().join("model-00002-of-00002.safetensors"),
        ])
    );
}

#[test]
fn sharded_index_with_a_missing_shard_names_it() {
    let dir = model_dir(&[
        "config.json",
        "tokenizer.json",
        "model-00001-of-00002.safetensors",
    ]);
    let index = r#"{"weight_map": {"a": "model-00001-of-00002.safetensors",
                                   "b": "model-00002-of-00002.safetensors"}}"#;
    std::fs::write(dir.path().join("model.safetensors.index.json"), index).unwrap();
    let msg = err_of(ModelFiles::from_dir(dir.path()));
    assert_eq!(
        msg,
        format!(
            "{}: shard listed in model.safetensors.index.json missing: \
             model-00002-of-00002.safetensors",
            dir.path().display()
        )
    );

    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        r#"{"weight_map": {"a": "../elsewhere.safetensors"}}"#,
    )
    .unwrap();
    let msg = err_of(ModelFiles::from_dir(dir.path()));
    assert!(
        msg.contains("is not a file name in the same directory"),
        "{msg}"
    );
}

#[test]
fn local_directory_without_weights_says_so() {
    let (dir, msg) = local_err(MARIAN);
    assert_eq!(
        msg,
        format!(
            "{}: no model weights (model.safetensors, model.safetensors.index.json, \
             pytorch_model.bin or pytorch_model.bin.index.json)",
            dir.path().display()
        )
    );
}

#[test]
fn local_directory_without_tokenizer_says_so() {
    let (dir, msg) = local_err(&["config.json", "model.safetensors"]);
    assert!(
        msg.starts_with(&format!("{}: no tokenizer files (", dir.path().display())),
        "{msg}"
    );
    let (_dir, msg) = local_err(&["config.json", "model.safetensors", "source.spm"]);
    assert!(
        msg.ends_with("incomplete Marian tokenizer: target.spm, vocab.json missing"),
        "{msg}"
    );
}

#[test]
fn local_directory_without_config_says_so() {
    let (dir, msg) = local_err(&["model.safetensors", "tokenizer.json"]);
    assert_eq!(msg, format!("{}: no config.json", dir.path().display()));
}

#[test]
fn paths_that_are_not_directories_are_named() {
    let opts = options(Path::new("/nonexistent-cache"), true, "http://127.0.0.1:9");
    let dir = model_dir(&["article.txt"]);
    let file = dir.path().join("article.txt");
    let msg = err_of(resolve_with(file.to_str().unwrap(), None, &opts));
    assert!(
        msg.starts_with(&format!("{}: not a directory", file.display())),
        "{msg}"
    );

    for missing in ["./no-such-model-dir", "/no/such/model/dir", "a/b/c"] {
        let msg = err_of(resolve_with(missing, None, &opts));
        assert!(
            msg.starts_with(&format!("{missing}: no such directory")),
            "{msg}"
        );
    }
}

// ---- the Hugging Face cache, offline ----

#[test]
fn offline_resolution_from_the_cache() {
    let mut names = MARIAN.to_vec();
    names.push("model.safetensors");
    let cache = fake_cache("someone/tiny-marian", &names);
    // The endpoint is a closed port: any network use would fail the test.
    let opts = options(cache.path(), true, "http://127.0.0.1:9");
    let files = resolve_with("someone/tiny-marian", None, &opts).unwrap();
    let snapshot = cache
        .path()
        .join("models--someone--tiny-marian/snapshots")
        .join(SHA);
    assert_eq!(
        files.source,
        ModelSource::Hub {
            repo: "someone/tiny-marian".into(),
            revision: "main".into()
        }
    );
    assert_eq!(files.dir, snapshot);
    assert_eq!(files.revision.as_deref(), Some(SHA));
    assert_eq!(files.config, snapshot.join("config.json"));
    assert_eq!(
        files.weights,
        Weights::Safetensors(vec![snapshot.join("model.safetensors")])
    );
    assert!(matches!(files.tokenizer, TokenizerFiles::Marian { .. }));

    // A commit as revision finds its snapshot directly.
    let by_commit = resolve_with("someone/tiny-marian", Some(SHA), &opts).unwrap();
    assert_eq!(by_commit.dir, snapshot);

    // A snapshot passed as a local directory records its commit.
    let local = ModelFiles::from_dir(&snapshot).unwrap();
    assert_eq!(local.revision.as_deref(), Some(SHA));
}

#[test]
fn offline_preset_resolves_to_its_repo() {
    let mut names = MARIAN.to_vec();
    names.push("pytorch_model.bin");
    let cache = fake_cache("Helsinki-NLP/opus-mt-ar-en", &names);
    let opts = options(cache.path(), true, "http://127.0.0.1:9");
    let files = resolve_with("opus-mt-ar-en", None, &opts).unwrap();
    assert_eq!(
        files.source,
        ModelSource::Hub {
            repo: "Helsinki-NLP/opus-mt-ar-en".into(),
            revision: "main".into()
        }
    );
    assert_eq!(files.preset.unwrap().name, "opus-mt-ar-en");
    assert!(matches!(files.weights, Weights::PytorchBin(_)));
}

#[test]
fn offline_and_not_cached_says_so() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path(), true, "http://127.0.0.1:9");
    let msg = err_of(resolve_with("someone/absent", None, &opts));
    assert!(msg.contains("HF_HUB_OFFLINE is set"), "{msg}");
    assert!(msg.contains("someone/absent"), "{msg}");
    assert!(msg.contains(&cache.path().display().to_string()), "{msg}");
    let msg = err_of(resolve_with("someone/absent", Some("v1"), &opts));
    assert!(msg.contains("someone/absent@v1"), "{msg}");
}

#[test]
fn offline_and_partly_cached_says_what_is_missing() {
    let cache = fake_cache("someone/partial", &["config.json"]);
    let opts = options(cache.path(), true, "http://127.0.0.1:9");
    let msg = err_of(resolve_with("someone/partial", None, &opts));
    assert!(
        msg.contains("only partly in the Hugging Face cache"),
        "{msg}"
    );
    assert!(msg.contains("no tokenizer files"), "{msg}");
}

// ---- an unreachable Hub ----

#[test]
fn unreachable_hub_and_empty_cache_is_one_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path(), false, "http://127.0.0.1:9");
    let start = Instant::now();
    let msg = err_of(resolve_with("Helsinki-NLP/opus-mt-ar-en", None, &opts));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        msg.starts_with("cannot reach the Hugging Face Hub"),
        "{msg}"
    );
    assert!(msg.contains("to fetch Helsinki-NLP/opus-mt-ar-en"), "{msg}");
    assert!(msg.contains(&cache.path().display().to_string()), "{msg}");
    assert!(msg.contains("--model /path/to/dir"), "{msg}");
    assert!(msg.contains("HF_HUB_OFFLINE=1"), "{msg}");
}

#[test]
fn unreachable_hub_falls_back_to_the_cache() {
    let mut names = MARIAN.to_vec();
    names.push("model.safetensors");
    let cache = fake_cache("someone/cached", &names);
    let opts = options(cache.path(), false, "http://127.0.0.1:9");
    let files = resolve_with("someone/cached", None, &opts).unwrap();
    assert_eq!(files.revision.as_deref(), Some(SHA));
}

// ---- --model NAME@REV and --revision on the command line ----

#[test]
fn a_revision_given_twice_differently_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args([
            "translate",
            "examples/sample.ar.txt",
            "--model",
            "someone/x@v1",
            "--revision",
            "v2",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "--model someone/x@v1 names revision v1 but --revision says v2; give it once"
        ),
        "{stderr}"
    );
}
