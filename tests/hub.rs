//! Model resolution (`tarjama::hub`), offline: local directories, a fake Hugging Face cache,
//! an unreachable Hub, and a small local HTTP server that answers like the Hub.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tarjama::hub::{
    preset, preset_names, presets, resolve_with, HubOptions, ModelFiles, ModelSource, ModelSpec,
    TokenizerFiles, Weights, DEFAULT_TRANSLATOR,
};

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
    HubOptions {
        cache_dir: cache.to_path_buf(),
        offline,
        token: None,
        endpoint: endpoint.to_string(),
    }
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

// ---- a local server that answers like the Hub ----

/// A minimal Hub: repo info at `/api/models/<repo>/revision/<rev>` and files at
/// `/<repo>/resolve/<rev>/<file>` with the headers hf-hub reads. Records each request.
struct MockHub {
    endpoint: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl MockHub {
    /// Serves `repo` at commit [`SHA`] with `files`; answers `status` to everything if not 200.
    fn start(repo: &str, files: &[(&str, &[u8])], status: u16) -> MockHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let files: BTreeMap<String, Vec<u8>> = files
            .iter()
            .map(|(n, b)| (n.to_string(), b.to_vec()))
            .collect();
        let (repo, log) = (repo.to_string(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let head = read_head(&mut stream);
                let mut lines = head.lines();
                let path = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .unwrap_or("")
                    .to_string();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                    })
                };
                let auth = header("authorization").unwrap_or_default();
                log.lock()
                    .unwrap()
                    .push(format!("{path} {auth}").trim().to_string());
                let response = if status != 200 {
                    respond(status, &[], b"{\"error\": \"mock\"}")
                } else {
                    answer(&repo, &files, &path, header("range"))
                };
                let _ = stream.write_all(&response);
            }
        });
        MockHub { endpoint, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_head(stream: &mut std::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn respond(status: u16, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Mock\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn answer(
    repo: &str,
    files: &BTreeMap<String, Vec<u8>>,
    path: &str,
    range: Option<String>,
) -> Vec<u8> {
    if path.starts_with(&format!("/api/models/{repo}/revision/")) {
        let siblings: Vec<_> = files
            .keys()
            .map(|f| serde_json::json!({ "rfilename": f }))
            .collect();
        let body = serde_json::json!({ "sha": SHA, "siblings": siblings }).to_string();
        return respond(200, &[], body.as_bytes());
    }
    let prefix = format!("/{repo}/resolve/");
    let Some(file) = path
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, file)| file)
    else {
        return respond(404, &[], b"not found");
    };
    let Some(bytes) = files.get(file) else {
        return respond(404, &[("x-error-code", "EntryNotFound".into())], b"");
    };
    let start: usize = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let end = match range.as_deref() {
        Some("bytes=0-0") => 0,
        _ => bytes.len() - 1,
    };
    let etag = format!("\"{:x}\"", Sha256::digest(bytes));
    respond(
        206,
        &[
            ("x-repo-commit", SHA.into()),
            ("etag", etag),
            (
                "Content-Range",
                format!("bytes {start}-{end}/{}", bytes.len()),
            ),
        ],
        &bytes[start..=end],
    )
}

fn marian_repo_files() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("README.md", b"# card"),
        ("config.json", b"{\"model_type\": \"marian\"}"),
        ("generation_config.json", b"{\"num_beams\": 4}"),
        ("tokenizer_config.json", b"{}"),
        ("source.spm", b"source sentencepiece"),
        ("target.spm", b"target sentencepiece"),
        ("vocab.json", b"{\"</s>\": 0}"),
        ("model.safetensors", b"safetensors bytes"),
        ("pytorch_model.bin", b"pickle bytes"),
    ]
}

#[test]
fn hub_download_fetches_only_needed_files_then_works_offline() {
    let hub = MockHub::start("someone/tiny", &marian_repo_files(), 200);
    let cache = tempfile::tempdir().unwrap();
    let mut opts = options(cache.path(), false, &hub.endpoint);
    opts.token = Some("hf_secret".into());

    let files = resolve_with("someone/tiny", None, &opts).unwrap();
    let snapshot = cache
        .path()
        .join("models--someone--tiny/snapshots")
        .join(SHA);
    assert_eq!(files.dir, snapshot);
    assert_eq!(files.revision.as_deref(), Some(SHA));
    assert_eq!(
        std::fs::read(&files.config).unwrap(),
        b"{\"model_type\": \"marian\"}"
    );
    assert_eq!(
        files.weights,
        Weights::Safetensors(vec![snapshot.join("model.safetensors")])
    );
    assert_eq!(
        std::fs::read(snapshot.join("model.safetensors")).unwrap(),
        b"safetensors bytes"
    );
    assert!(files.generation_config.is_some() && files.tokenizer_config.is_some());

    let requests = hub.requests();
    assert!(
        requests.iter().all(|r| r.ends_with("Bearer hf_secret")),
        "{requests:?}"
    );
    let fetched: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.split(' ').next()?.split("/resolve/main/").nth(1))
        .collect();
    for skipped in ["pytorch_model.bin", "README.md"] {
        assert!(
            !fetched.contains(&skipped),
            "{skipped} fetched: {requests:?}"
        );
    }
    assert!(fetched.contains(&"model.safetensors"), "{requests:?}");

    // Cached now: online again asks only for the repo info, offline needs nothing.
    let before = hub.requests().len();
    let again = resolve_with("someone/tiny", None, &opts).unwrap();
    assert_eq!(again, files);
    assert_eq!(hub.requests().len(), before + 1, "{:?}", hub.requests());
    let offline = options(cache.path(), true, "http://127.0.0.1:9");
    assert_eq!(resolve_with("someone/tiny", None, &offline).unwrap(), files);
}

#[test]
fn hub_repo_with_a_missing_shard_fails_before_downloading_weights() {
    let index = br#"{"weight_map": {"a": "model-00001-of-00002.safetensors",
                                    "b": "model-00002-of-00002.safetensors"}}"#;
    let files: Vec<(&str, &[u8])> = vec![
        ("config.json", b"{}"),
        ("tokenizer.json", b"{}"),
        ("model.safetensors.index.json", index),
        ("model-00001-of-00002.safetensors", b"shard one"),
    ];
    let hub = MockHub::start("someone/sharded", &files, 200);
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path(), false, &hub.endpoint);
    let msg = err_of(resolve_with("someone/sharded", None, &opts));
    assert!(
        msg.ends_with("shard listed in model.safetensors.index.json missing: model-00002-of-00002.safetensors"),
        "{msg}"
    );
    assert!(msg.starts_with("someone/sharded on the Hub"), "{msg}");
    assert!(
        !hub.requests().iter().any(|r| r.contains("00001-of")),
        "{:?}",
        hub.requests()
    );
}

#[test]
fn hub_errors_are_explained() {
    let cache = tempfile::tempdir().unwrap();

    let hub = MockHub::start("someone/x", &[], 404);
    let opts = options(cache.path(), false, &hub.endpoint);
    let msg = err_of(resolve_with("someone/missing", None, &opts));
    assert!(
        msg.contains("someone/missing: no such model or revision on the Hub"),
        "{msg}"
    );
    let msg = err_of(resolve_with("opus-mt-ar-e", None, &opts));
    assert!(
        msg.contains("presets are ") && msg.contains("opus-mt-ar-en"),
        "{msg}"
    );

    let hub = MockHub::start("someone/x", &[], 401);
    let opts = options(cache.path(), false, &hub.endpoint);
    let msg = err_of(resolve_with("someone/gated", None, &opts));
    assert!(msg.contains("set HF_TOKEN"), "{msg}");

    // A Hub that is down counts as unreachable.
    let hub = MockHub::start("someone/x", &[], 503);
    let opts = options(cache.path(), false, &hub.endpoint);
    let msg = err_of(resolve_with("someone/down", None, &opts));
    assert!(
        msg.starts_with("cannot reach the Hugging Face Hub"),
        "{msg}"
    );
}

#[test]
fn hub_repo_without_weights_is_reported_without_downloads() {
    let files: Vec<(&str, &[u8])> = vec![("config.json", b"{}"), ("tokenizer.json", b"{}")];
    let hub = MockHub::start("someone/noweights", &files, 200);
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path(), false, &hub.endpoint);
    let msg = err_of(resolve_with("someone/noweights", None, &opts));
    assert_eq!(
        msg,
        "someone/noweights on the Hub: no model weights (model.safetensors, \
         model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json)"
    );
    assert_eq!(hub.requests().len(), 1, "{:?}", hub.requests());
}
