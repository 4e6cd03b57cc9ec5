//! Hub downloads against a test Hub on 127.0.0.1: an HTTP server in this test binary that
//! answers the requests tarjama (and hf-hub / huggingface_hub) make, serves fixture
//! directories as repos, and misbehaves on request (cut and stalled transfers, wrong checksums,
//! error statuses, an API that never answers).
//!
//! Serving another directory is one line: `hub.add_dir("someone/name", &fixture("dir"))`, and
//! the main job on two more fixtures (say, `.bin`-only repos) is one call:
//! `main_job_from_the_hub_equals_local(&fixture("a"), &fixture("b"))`.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::fixture;
use sha2::{Digest, Sha256};
use tarjama::hub::{resolve_with, DownloadObserver, HubOptions, ModelFiles, Silent, Weights};

// ---- the test Hub ----

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    range: Option<String>,
    auth: Option<String>,
}

/// Misbehaviour, set per test.
#[derive(Debug, Clone)]
enum Fault {
    /// The next content GET of the file sends half of what it announces, then closes.
    CutOnce(String),
    /// The next content GET of the file sends half, then sends nothing for this long.
    StallOnce(String, Duration),
    /// Content GETs of the file take at least this long (sent in ten pieces).
    Slow(String, Duration),
    /// Every HEAD of the file announces a wrong `X-Linked-Etag`.
    WrongEtag(String),
    /// Every request whose path starts with the prefix gets this status and headers.
    Status(String, u16, Vec<(&'static str, &'static str)>),
    /// Requests to `/api/` are accepted and never answered.
    SilentApi,
    /// The repo was renamed: its requests get a relative 307 to the new name, as on the Hub.
    Renamed(String, String),
}

#[derive(Clone)]
struct HubRepo {
    commit: String,
    files: BTreeMap<String, Arc<Vec<u8>>>,
}

#[derive(Default)]
struct State {
    repos: Mutex<BTreeMap<String, HubRepo>>,
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<Request>>,
}

/// The test Hub. Stopped (its port closed) when dropped.
struct TestHub {
    endpoint: String,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// At most this many connections per server, and no handler lives longer than [`MAX_HOLD`].
const MAX_CONNECTIONS: usize = 2000;
const MAX_HOLD: Duration = Duration::from_secs(10);

/// Files the Hub stores in LFS (its default `.gitattributes`): resolved with a 302 to the CDN.
fn is_lfs(file: &str) -> bool {
    [".safetensors", ".bin", ".spm", ".model", ".msgpack", ".h5"]
        .iter()
        .any(|ext| file.ends_with(ext))
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// `git hash-object`: SHA-1 of `blob {len}\0` and the bytes.
fn git_blob_id(bytes: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    sha1::Digest::update(&mut h, format!("blob {}\0", bytes.len()).as_bytes());
    sha1::Digest::update(&mut h, bytes);
    format!("{:x}", sha1::Digest::finalize(h))
}

impl TestHub {
    /// Starts the Hub on one port and its CDN (where LFS files are redirected, as the real
    /// Hub redirects to another host) on another.
    fn start() -> TestHub {
        let bind = || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            let addr = format!("http://{}", l.local_addr().unwrap());
            (l, addr)
        };
        let (api, endpoint) = bind();
        let (cdn, cdn_endpoint) = bind();
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, halt) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut count = 0;
            while !halt.load(Ordering::Relaxed) && count < MAX_CONNECTIONS {
                let mut idle = true;
                for l in [&api, &cdn] {
                    if let Ok((stream, _)) = l.accept() {
                        idle = false;
                        count += 1;
                        let (st, halt, cdn) = (st.clone(), halt.clone(), cdn_endpoint.clone());
                        std::thread::spawn(move || handle(stream, &st, &halt, &cdn));
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        TestHub {
            endpoint,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// Serves the files of `dir` (not its subdirectories) as the repo `repo`.
    fn add_dir(&self, repo: &str, dir: &Path) {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let name = path.file_name().unwrap().to_str().unwrap().to_string();
                files.push((name, std::fs::read(&path).unwrap()));
            }
        }
        self.add_files(repo, files);
    }

    /// Serves `files` as the repo `repo`, at a commit derived from the repo id.
    fn add_files(&self, repo: &str, files: Vec<(String, Vec<u8>)>) {
        let commit = sha256_hex(repo.as_bytes())[..40].to_string();
        self.state.repos.lock().unwrap().insert(
            repo.to_string(),
            HubRepo {
                commit,
                files: files.into_iter().map(|(n, b)| (n, Arc::new(b))).collect(),
            },
        );
    }

    fn commit(&self, repo: &str) -> String {
        self.state.repos.lock().unwrap()[repo].commit.clone()
    }

    fn fault(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push(fault);
    }

    fn clear_faults(&self) {
        self.state.faults.lock().unwrap().clear();
    }

    fn requests(&self) -> Vec<Request> {
        self.state.log.lock().unwrap().clone()
    }

    /// The content GETs (CDN or resolve) of `file` so far.
    fn content_gets(&self, file: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| {
                let path = r.path.split('?').next().unwrap_or("");
                r.method == "GET" && path.ends_with(&format!("/{file}"))
            })
            .collect()
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn read_head(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && buf.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn head_bytes(status: u16, headers: &[(String, String)], length: usize) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Test\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    out.into_bytes()
}

fn h(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

fn handle(mut stream: TcpStream, state: &State, halt: &AtomicBool, cdn: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let head = read_head(&mut stream);
    let mut first = head.lines().next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let request = Request {
        method: method.clone(),
        path: path.clone(),
        range: header("range"),
        auth: header("authorization"),
    };
    state.log.lock().unwrap().push(request.clone());
    let faults = state.faults.lock().unwrap().clone();

    if path.starts_with("/api/") && faults.iter().any(|f| matches!(f, Fault::SilentApi)) {
        let until = Instant::now() + MAX_HOLD;
        while Instant::now() < until && !halt.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    for f in &faults {
        if let Fault::Status(prefix, status, headers) = f {
            if path.starts_with(prefix.as_str()) {
                let headers: Vec<_> = headers.iter().map(|(k, v)| h(k, *v)).collect();
                let _ = stream.write_all(&head_bytes(*status, &headers, 0));
                return;
            }
        }
    }
    for f in &faults {
        if let Fault::Renamed(from, to) = f {
            for (old, new) in [
                (format!("/api/models/{from}/"), format!("/api/models/{to}/")),
                (format!("/{from}/resolve/"), format!("/{to}/resolve/")),
            ] {
                if path.starts_with(&old) {
                    let location = path.replacen(&old, &new, 1);
                    let _ = stream.write_all(&head_bytes(307, &[h("Location", location)], 0));
                    return;
                }
            }
        }
    }
    let repos = state.repos.lock().unwrap().clone();
    let not_found = |code: &str, msg: &str| {
        head_bytes(
            404,
            &[h("X-Error-Code", code), h("X-Error-Message", msg)],
            0,
        )
    };

    // Repo info.
    if let Some(rest) = path.strip_prefix("/api/models/") {
        let Some((repo, rev)) = rest.split_once("/revision/") else {
            let _ = stream.write_all(&not_found("RepoNotFound", "Repository not found"));
            return;
        };
        let Some(r) = repos.get(repo) else {
            let _ = stream.write_all(&not_found("RepoNotFound", "Repository not found"));
            return;
        };
        if rev.starts_with("missing") {
            let _ = stream.write_all(&not_found(
                "RevisionNotFound",
                &format!("Invalid rev id: {rev}"),
            ));
            return;
        }
        let siblings: Vec<_> = r
            .files
            .keys()
            .map(|f| serde_json::json!({ "rfilename": f }))
            .collect();
        let body =
            serde_json::json!({ "id": repo, "sha": r.commit, "siblings": siblings }).to_string();
        let mut out = head_bytes(200, &[h("Content-Type", "application/json")], body.len());
        out.extend_from_slice(body.as_bytes());
        let _ = stream.write_all(&out);
        return;
    }

    // CDN content of LFS files: /cdn/<repo>/<file>?X-Amz-Signature=...
    if let Some(rest) = path.strip_prefix("/cdn/") {
        let rest = rest.split('?').next().unwrap_or("");
        let found = repos.iter().find_map(|(name, r)| {
            let file = rest.strip_prefix(&format!("{name}/"))?;
            r.files.get(file).map(|b| (file.to_string(), b.clone()))
        });
        match found {
            Some((file, bytes)) => send_content(&mut stream, state, &file, &bytes, &request),
            None => {
                let _ = stream.write_all(&head_bytes(403, &[], 0));
            }
        }
        return;
    }

    // /<repo>/resolve/<rev>/<file>
    let Some((repo, rest)) = path.trim_start_matches('/').split_once("/resolve/") else {
        let _ = stream.write_all(&head_bytes(404, &[], 0));
        return;
    };
    let Some(r) = repos.get(repo) else {
        let _ = stream.write_all(&not_found("RepoNotFound", "Repository not found"));
        return;
    };
    let Some((_rev, file)) = rest.split_once('/') else {
        let _ = stream.write_all(&head_bytes(404, &[], 0));
        return;
    };
    let Some(bytes) = r.files.get(file) else {
        let _ = stream.write_all(&not_found("EntryNotFound", "Entry not found"));
        return;
    };
    // A small file's ETag is its git blob id, as on the Hub (`git hash-object`).
    let wrong = faults
        .iter()
        .any(|f| matches!(f, Fault::WrongEtag(w) if w == file));
    let git_etag = if wrong {
        git_blob_id(b"something else")
    } else {
        git_blob_id(bytes)
    };
    let mut headers = vec![
        h("X-Repo-Commit", r.commit.clone()),
        h("ETag", format!("\"{git_etag}\"")),
    ];
    if is_lfs(file) {
        let sha = if wrong {
            sha256_hex(b"something else")
        } else {
            sha256_hex(bytes)
        };
        headers.push(h("X-Linked-Etag", format!("\"{sha}\"")));
        headers.push(h("X-Linked-Size", bytes.len().to_string()));
        headers.push(h(
            "Location",
            format!("{cdn}/cdn/{repo}/{file}?X-Amz-Signature=s3cr3t&Expires=9"),
        ));
        let _ = stream.write_all(&head_bytes(302, &headers, 0));
        return;
    }
    if method == "HEAD" {
        let _ = stream.write_all(&head_bytes(200, &headers, bytes.len()));
        return;
    }
    send_content(&mut stream, state, file, bytes, &request);
}

/// A file's bytes, from the requested `Range: bytes=N-` on, with the content faults applied.
fn send_content(
    stream: &mut TcpStream,
    state: &State,
    file: &str,
    bytes: &[u8],
    request: &Request,
) {
    let start: usize = request
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
        .min(bytes.len());
    let body = &bytes[start..];
    let head = if request.range.is_some() {
        head_bytes(
            206,
            &[h(
                "Content-Range",
                format!("bytes {start}-{}/{}", bytes.len().max(1) - 1, bytes.len()),
            )],
            body.len(),
        )
    } else {
        head_bytes(200, &[], body.len())
    };
    // One-shot faults are used up by this request.
    let mut cut = None;
    let mut slow = None;
    {
        let mut faults = state.faults.lock().unwrap();
        if let Some(i) = faults
            .iter()
            .position(|f| matches!(f, Fault::CutOnce(n) | Fault::StallOnce(n, _) if n == file))
        {
            cut = Some(faults.remove(i));
        }
        for f in faults.iter() {
            if let Fault::Slow(n, d) = f {
                if n == file {
                    slow = Some(*d);
                }
            }
        }
    }
    if stream.write_all(&head).is_err() {
        return;
    }
    match cut {
        Some(Fault::CutOnce(_)) => {
            let _ = stream.write_all(&body[..body.len() / 2]);
            let _ = stream.shutdown(Shutdown::Both);
        }
        Some(Fault::StallOnce(_, d)) => {
            let _ = stream.write_all(&body[..body.len() / 2]);
            let _ = stream.flush();
            std::thread::sleep(d.min(MAX_HOLD));
            let _ = stream.shutdown(Shutdown::Both);
        }
        _ => match slow {
            Some(d) => {
                let piece = body.len().div_ceil(10).max(1);
                for chunk in body.chunks(piece) {
                    std::thread::sleep(d / 10);
                    if stream.write_all(chunk).is_err() {
                        return;
                    }
                }
            }
            None => {
                let _ = stream.write_all(body);
            }
        },
    }
}

// ---- helpers ----

/// Options for `hub` with a 2 s timeout, 3 retries and no progress output.
fn options(cache: &Path, hub: &TestHub) -> HubOptions {
    let mut opts = HubOptions::new(cache, hub.endpoint.clone());
    opts.timeout = Duration::from_secs(2);
    opts.observer = Arc::new(Silent);
    opts
}

fn err_of(result: tarjama::Result<ModelFiles>) -> String {
    let msg = result.expect_err("expected an error").to_string();
    assert!(!msg.contains('\n'), "error is not one line: {msg}");
    assert!(!msg.contains("s3cr3t"), "signed address in: {msg}");
    msg
}

/// The `tarjama` binary with a clean Hub environment: cache `cache`, endpoint `endpoint`, a
/// 2 s timeout, and none of the caller's HF variables.
fn tarjama(cache: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tarjama"));
    for var in [
        "HF_HOME",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HUGGINGFACE_HUB_CACHE",
        "TARJAMA_HUB_RETRIES",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HF_HUB_CACHE", cache)
        .env("HF_HOME", cache.join("hf-home"))
        .env("HF_ENDPOINT", endpoint)
        .env("TARJAMA_HUB_TIMEOUT", "2")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("run tarjama")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn repo_dir(cache: &Path, repo: &str) -> PathBuf {
    cache.join(format!("models--{}", repo.replace('/', "--")))
}

/// Everything under `dir` whose name ends with `suffix`.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_ending(&p, suffix));
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out
}

const SAMPLE: &str = "examples/sample.ar.txt";

/// The files of the Marian fixture that resolution fetches (not its golden files).
const MARIAN_FILES: [&str; 7] = [
    "config.json",
    "generation_config.json",
    "tokenizer_config.json",
    "source.spm",
    "target.spm",
    "vocab.json",
    "model.safetensors",
];

/// A test Hub serving the Marian fixture as `someone/marian-tiny`, and an empty cache.
fn marian_hub() -> (TestHub, tempfile::TempDir) {
    let hub = TestHub::start();
    hub.add_dir("someone/marian-tiny", &fixture("marian-tiny"));
    (hub, tempfile::tempdir().unwrap())
}

/// The Marian fixture's weights file.
fn marian_weights() -> Vec<u8> {
    std::fs::read(fixture("marian-tiny").join("model.safetensors")).unwrap()
}

/// The bytes of a resolved model's (single) safetensors file.
fn weights_of(files: &ModelFiles) -> Vec<u8> {
    let Weights::Safetensors(w) = &files.weights else {
        panic!("{:?}", files.weights)
    };
    std::fs::read(&w[0]).unwrap()
}

// ---- the main job ----

/// `tarjama run` on the sample with the translator and summarizer directories served as Hub
/// repos (`someone/<dir name>`), from an empty cache: the output equals the same run on the
/// local directories; then, with the Hub stopped and `HF_HUB_OFFLINE=1`, again. Returns the
/// online run's stderr.
fn main_job_from_the_hub_equals_local(translator: &Path, summarizer: &Path) -> String {
    let local = output(
        tarjama(
            Path::new("/nonexistent-tarjama-cache"),
            "http://127.0.0.1:9",
        )
        .args([
            "run",
            SAMPLE,
            "--translator",
            translator.to_str().unwrap(),
            "--summarizer",
            summarizer.to_str().unwrap(),
        ]),
    );
    assert!(local.status.success(), "{}", text(&local.stderr));
    assert!(!local.stdout.is_empty());

    let hub = TestHub::start();
    let repo = |dir: &Path| format!("someone/{}", dir.file_name().unwrap().to_str().unwrap());
    let (t_repo, s_repo) = (repo(translator), repo(summarizer));
    hub.add_dir(&t_repo, translator);
    hub.add_dir(&s_repo, summarizer);
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "run",
        SAMPLE,
        "--translator",
        &t_repo,
        "--summarizer",
        &s_repo,
    ];
    let online = output(tarjama(cache.path(), &hub.endpoint).args(args));
    let stderr = text(&online.stderr);
    assert!(online.status.success(), "{stderr}");
    assert_eq!(text(&online.stdout), text(&local.stdout));
    assert!(files_ending(cache.path(), ".incomplete").is_empty());
    // Only what the models need was fetched.
    for r in hub.requests() {
        assert!(!r.path.contains("golden"), "{r:?}");
    }

    // The Hub is gone; offline, the cache alone serves.
    let endpoint = hub.endpoint.clone();
    drop(hub);
    let offline = output(
        tarjama(cache.path(), &endpoint)
            .env("HF_HUB_OFFLINE", "1")
            .args(args),
    );
    assert!(offline.status.success(), "{}", text(&offline.stderr));
    assert_eq!(text(&offline.stdout), text(&local.stdout));
    assert_eq!(text(&offline.stderr), text(&local.stderr));
    stderr
}

#[test]
fn main_job_from_an_empty_cache_then_offline_with_the_hub_gone() {
    let stderr = main_job_from_the_hub_equals_local(&fixture("marian-tiny"), &fixture("bart-tiny"));
    // Not a terminal: plain lines, one pair per file.
    assert!(
        stderr.contains("downloading someone/marian-tiny model.safetensors (260 KiB)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("downloaded someone/bart-tiny model.safetensors (306 KiB) in "),
        "{stderr}"
    );
}

/// The default models' shapes as their Hub repos hold them: `.bin` weights only (float16 zip for
/// tc-big, the legacy format for distilbart), no `generation_config.json` or `tokenizer.json`
/// for distilbart.
#[test]
fn main_job_with_bin_only_repos_shaped_like_the_default_models() {
    let stderr =
        main_job_from_the_hub_equals_local(&fixture("tc-big-tiny"), &fixture("distilbart-tiny"));
    assert!(
        stderr.contains("downloaded someone/tc-big-tiny pytorch_model.bin ("),
        "{stderr}"
    );
    assert!(
        stderr.contains("downloaded someone/distilbart-tiny pytorch_model.bin ("),
        "{stderr}"
    );
    assert!(!stderr.contains("safetensors"), "{stderr}");
}

#[test]
fn the_cache_is_in_huggingface_hubs_layout() {
    let (hub, cache) = marian_hub();
    resolve_with("someone/marian-tiny", None, &options(cache.path(), &hub)).unwrap();
    let commit = hub.commit("someone/marian-tiny");
    let dir = repo_dir(cache.path(), "someone/marian-tiny");
    assert_eq!(
        std::fs::read_to_string(dir.join("refs/main")).unwrap(),
        commit
    );
    let weights = marian_weights();
    let pointer = dir
        .join("snapshots")
        .join(&commit)
        .join("model.safetensors");
    assert_eq!(
        std::fs::read_link(&pointer).unwrap(),
        PathBuf::from(format!("../../blobs/{}", sha256_hex(&weights)))
    );
    assert_eq!(std::fs::read(&pointer).unwrap(), weights);
    assert!(cache
        .path()
        .join(".locks/models--someone--marian-tiny")
        .join(format!("{}.lock", sha256_hex(&weights)))
        .is_file());
}

// ---- transfers that go wrong ----

#[test]
fn a_transfer_cut_halfway_resumes_from_the_partial_file() {
    let (hub, cache) = marian_hub();
    hub.fault(Fault::CutOnce("model.safetensors".into()));
    let files = resolve_with("someone/marian-tiny", None, &options(cache.path(), &hub)).unwrap();
    let want = marian_weights();
    assert_eq!(weights_of(&files), want);
    let gets = hub.content_gets("model.safetensors");
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[0].range, None);
    assert_eq!(
        gets[1].range.as_deref(),
        Some(format!("bytes={}-", want.len() / 2).as_str())
    );
    // The token never goes to the CDN (here: no token at all; see the error test).
    assert!(gets.iter().all(|g| g.auth.is_none()));
}

/// Records what the Hub client reports, one string per event.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn push(&self, event: String) {
        self.0.lock().unwrap().push(event);
    }

    /// The events about `file`, with notes (which name it in their text).
    fn about(&self, file: &str) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| e.contains(file))
            .cloned()
            .collect()
    }
}

impl DownloadObserver for Recorder {
    fn started(&self, label: &str, total: Option<u64>, resumed_at: u64) {
        self.push(format!("started {label} {total:?} {resumed_at}"));
    }
    fn progress(&self, label: &str, bytes: u64) {
        self.push(format!("progress {label} {bytes}"));
    }
    fn note(&self, msg: &str) {
        self.push(format!("note {msg}"));
    }
    fn stopped(&self, label: &str) {
        self.push(format!("stopped {label}"));
    }
    fn finished(&self, label: &str, bytes: u64, seconds: f64) {
        assert!((0.0..60.0).contains(&seconds), "{seconds}");
        self.push(format!("finished {label} {bytes}"));
    }
}

#[test]
fn the_observer_hears_start_progress_retry_and_finish() {
    let (hub, cache) = marian_hub();
    hub.fault(Fault::CutOnce("model.safetensors".into()));
    let recorder = Arc::new(Recorder::default());
    let mut opts = options(cache.path(), &hub);
    opts.observer = recorder.clone();
    resolve_with("someone/marian-tiny", None, &opts).unwrap();
    let len = marian_weights().len() as u64;
    let label = "someone/marian-tiny model.safetensors";
    let events = recorder.about("model.safetensors");
    assert_eq!(events[0], format!("started {label} Some({len}) 0"));
    let note = events.iter().position(|e| e.starts_with("note ")).unwrap();
    assert_eq!(events[note - 1], format!("progress {label} {}", len / 2));
    assert!(
        events[note].starts_with(&format!("note {label}: ")),
        "{}",
        events[note]
    );
    assert!(
        events[note].ends_with("after 130 KiB of 260 KiB; trying again from there (2 of 4)"),
        "{}",
        events[note]
    );
    // Bytes only grow, to the whole file; then the transfer stops and the file is in place.
    let bytes: Vec<u64> = events[1..events.len() - 2]
        .iter()
        .filter_map(|e| e.strip_prefix(&format!("progress {label} ")))
        .map(|b| b.parse().unwrap())
        .collect();
    assert!(bytes.windows(2).all(|w| w[0] < w[1]), "{bytes:?}");
    assert_eq!(bytes.last(), Some(&len));
    assert_eq!(
        events[events.len() - 2..],
        [
            format!("stopped {label}"),
            format!("finished {label} {len}")
        ]
    );
    // A file already cached is not downloaded again: no events the second time.
    let again = Arc::new(Recorder::default());
    opts.observer = again.clone();
    resolve_with("someone/marian-tiny", None, &opts).unwrap();
    assert!(again.0.lock().unwrap().is_empty());
}

#[test]
fn the_observer_hears_where_a_resumed_file_starts() {
    let (hub, cache) = marian_hub();
    let want = marian_weights();
    let blobs = repo_dir(cache.path(), "someone/marian-tiny").join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(
        blobs.join(format!("{}.incomplete", sha256_hex(&want))),
        &want[..1000],
    )
    .unwrap();
    let recorder = Arc::new(Recorder::default());
    let mut opts = options(cache.path(), &hub);
    opts.observer = recorder.clone();
    resolve_with("someone/marian-tiny", None, &opts).unwrap();
    let events = recorder.about("model.safetensors");
    assert_eq!(
        events[0],
        format!(
            "started someone/marian-tiny model.safetensors Some({}) 1000",
            want.len()
        )
    );
}

#[test]
fn a_partial_file_left_by_an_earlier_process_is_resumed() {
    let (hub, cache) = marian_hub();
    let want = marian_weights();
    let blobs = repo_dir(cache.path(), "someone/marian-tiny").join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    let partial = blobs.join(format!("{}.incomplete", sha256_hex(&want)));
    std::fs::write(&partial, &want[..1000]).unwrap();
    let files = resolve_with("someone/marian-tiny", None, &options(cache.path(), &hub)).unwrap();
    assert_eq!(weights_of(&files), want);
    let gets = hub.content_gets("model.safetensors");
    assert_eq!(gets.len(), 1, "{gets:?}");
    assert_eq!(gets[0].range.as_deref(), Some("bytes=1000-"));
    assert!(!partial.exists());
}

#[test]
fn a_stalled_transfer_times_out_and_is_retried() {
    let (hub, cache) = marian_hub();
    hub.fault(Fault::StallOnce(
        "model.safetensors".into(),
        Duration::from_secs(4),
    ));
    let mut opts = options(cache.path(), &hub);
    opts.timeout = Duration::from_secs(1);
    let start = Instant::now();
    let files = resolve_with("someone/marian-tiny", None, &opts).unwrap();
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    let want = marian_weights();
    assert_eq!(weights_of(&files), want);
    let gets = hub.content_gets("model.safetensors");
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(
        gets[1].range.as_deref(),
        Some(format!("bytes={}-", want.len() / 2).as_str())
    );
}

#[test]
fn a_transfer_that_keeps_stalling_names_the_partial_file() {
    let (hub, cache) = marian_hub();
    for _ in 0..2 {
        hub.fault(Fault::StallOnce(
            "model.safetensors".into(),
            Duration::from_secs(3),
        ));
    }
    let mut opts = options(cache.path(), &hub);
    opts.timeout = Duration::from_secs(1);
    opts.retries = 1;
    let msg = err_of(resolve_with("someone/marian-tiny", None, &opts));
    let want = marian_weights();
    let partial = repo_dir(cache.path(), "someone/marian-tiny")
        .join("blobs")
        .join(format!("{}.incomplete", sha256_hex(&want)));
    assert!(
        msg.starts_with(
            "someone/marian-tiny: downloading model.safetensors failed 2 times (no data for 1 s)"
        ),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("the partial file {} (", partial.display())),
        "{msg}"
    );
    assert!(
        msg.ends_with("the next run resumes it; delete it to start over"),
        "{msg}"
    );
    // Half, then a quarter more (half of what was left).
    let len = want.len() as u64;
    assert_eq!(
        std::fs::metadata(&partial).unwrap().len(),
        len / 2 + (len - len / 2) / 2
    );
}

#[test]
fn a_wrong_checksum_deletes_the_download() {
    let (hub, cache) = marian_hub();
    hub.fault(Fault::WrongEtag("model.safetensors".into()));
    let msg = err_of(resolve_with(
        "someone/marian-tiny",
        None,
        &options(cache.path(), &hub),
    ));
    let want = marian_weights();
    assert_eq!(
        msg,
        format!(
            "someone/marian-tiny: model.safetensors: checksum mismatch: SHA-256 {}, the Hub's \
             is {}; the download was deleted; run again, and if it happens again the file on \
             the Hub or a proxy in between is broken",
            sha256_hex(&want),
            sha256_hex(b"something else")
        )
    );
    let blobs = repo_dir(cache.path(), "someone/marian-tiny").join("blobs");
    assert!(files_ending(&blobs, ".incomplete").is_empty());
    assert!(!blobs.join(sha256_hex(b"something else")).exists());
    assert!(!blobs.join(sha256_hex(&want)).exists());
}

#[test]
fn a_small_file_with_a_wrong_git_blob_id_is_deleted() {
    let (hub, cache) = marian_hub();
    hub.fault(Fault::WrongEtag("config.json".into()));
    let msg = err_of(resolve_with(
        "someone/marian-tiny",
        None,
        &options(cache.path(), &hub),
    ));
    let config = std::fs::read(fixture("marian-tiny").join("config.json")).unwrap();
    assert_eq!(
        msg,
        format!(
            "someone/marian-tiny: config.json: checksum mismatch: git blob id {}, the Hub's is \
             {}; the download was deleted; run again, and if it happens again the file on the \
             Hub or a proxy in between is broken",
            git_blob_id(&config),
            git_blob_id(b"something else")
        )
    );
    let blobs = repo_dir(cache.path(), "someone/marian-tiny").join("blobs");
    assert!(files_ending(&blobs, ".incomplete").is_empty());
    assert!(!blobs.join(git_blob_id(&config)).exists());
}

// ---- errors from the Hub ----

#[test]
fn hub_errors_are_one_clear_line() {
    let (hub, cache) = marian_hub();
    let opts = options(cache.path(), &hub);

    let msg = err_of(resolve_with("someone/absent", None, &opts));
    assert_eq!(
        msg,
        format!(
            "someone/absent: no such model or revision on the Hub ({}) (the Hub says: \
             Repository not found)",
            hub.endpoint
        )
    );
    let msg = err_of(resolve_with("someone/marian-tiny@missing-v9", None, &opts));
    assert_eq!(
        msg,
        format!(
            "someone/marian-tiny@missing-v9: no such revision on the Hub ({}) (the Hub says: \
             Invalid rev id: missing-v9)",
            hub.endpoint
        )
    );

    // A private repo without a token, then with a token that is refused.
    hub.fault(Fault::Status(
        "/api/models/someone/private/".into(),
        401,
        vec![("X-Error-Message", "Invalid username or password.")],
    ));
    let msg = err_of(resolve_with("someone/private", None, &opts));
    assert_eq!(
        msg,
        "someone/private: not found on the Hub, or private or gated: if you have access, set \
         HF_TOKEN (the Hub says: Invalid username or password.)"
    );
    let mut with_token = opts.clone();
    with_token.token = Some("hf_sekrit".into());
    let msg = err_of(resolve_with("someone/private", None, &with_token));
    assert_eq!(
        msg,
        "someone/private: not found on the Hub, or the token in use (HF_TOKEN) has no access \
         to it (the Hub says: Invalid username or password.)"
    );
    assert!(hub
        .requests()
        .iter()
        .any(|r| r.auth.as_deref() == Some("Bearer hf_sekrit")));

    // A gated repo: the info answers, the files do not.
    hub.add_dir("someone/gated", &fixture("marian-tiny"));
    hub.fault(Fault::Status(
        "/someone/gated/resolve/".into(),
        403,
        vec![
            ("X-Error-Code", "GatedRepo"),
            (
                "X-Error-Message",
                "Access to model someone/gated is restricted and you are not in the authorized \
                 list. Visit https://hf.example/someone/gated?token=hf_sekrit to ask for access.",
            ),
        ],
    ));
    let msg = err_of(resolve_with("someone/gated", None, &opts));
    assert_eq!(
        msg,
        format!(
            "someone/gated is a gated repo: accept its conditions on {}/someone/gated, then set \
             HF_TOKEN to a token of that account (the Hub says: Access to model someone/gated \
             is restricted and you are not in the authorized list. Visit \
             https://hf.example/someone/gated?… to ask for access.)",
            hub.endpoint
        )
    );
    let msg = err_of(resolve_with("someone/gated", None, &with_token));
    assert!(
        msg.starts_with(
            "someone/gated is a gated repo and the token in use (HF_TOKEN) has no access to it \
             yet: request access on "
        ),
        "{msg}"
    );
    assert!(!msg.contains("hf_sekrit"), "{msg}");

    // The binary: exit 1, one line.
    let out = output(tarjama(cache.path(), &hub.endpoint).args([
        "translate",
        SAMPLE,
        "--model",
        "someone/absent",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: someone/absent: no such model or revision on the Hub"),
        "{stderr}"
    );
}

// ---- several processes, an API that does not answer ----

#[test]
fn two_processes_on_one_cold_cache_wait_for_each_other() {
    let (hub, cache) = marian_hub();
    hub.fault(Fault::Slow(
        "model.safetensors".into(),
        Duration::from_secs(2),
    ));
    let children: Vec<_> = (0..2)
        .map(|_| {
            tarjama(cache.path(), &hub.endpoint)
                .args(["models", "download", "someone/marian-tiny"])
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let commit = hub.commit("someone/marian-tiny");
    let snapshot = repo_dir(cache.path(), "someone/marian-tiny")
        .join("snapshots")
        .join(&commit);
    for o in &outs {
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(
            text(&o.stdout),
            format!("someone/marian-tiny\t{commit}\t{}\n", snapshot.display())
        );
    }
    let waited = outs
        .iter()
        .filter(|o| text(&o.stderr).contains("another process is downloading it; waiting"))
        .count();
    assert!(waited >= 1, "{}", text(&outs[1].stderr));
    for file in MARIAN_FILES {
        assert_eq!(hub.content_gets(file).len(), 1, "{file}");
        assert_eq!(
            std::fs::read(snapshot.join(file)).unwrap(),
            std::fs::read(fixture("marian-tiny").join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn a_hub_that_does_not_answer_leaves_the_cached_model_running() {
    let (hub, cache) = marian_hub();
    let filled = resolve_with("someone/marian-tiny", None, &options(cache.path(), &hub)).unwrap();
    hub.fault(Fault::SilentApi);

    let mut opts = options(cache.path(), &hub);
    opts.timeout = Duration::from_secs(1);
    let start = Instant::now();
    let again = resolve_with("someone/marian-tiny", None, &opts).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(again, filled);

    let start = Instant::now();
    let out = output(
        tarjama(cache.path(), &hub.endpoint)
            .env("TARJAMA_HUB_TIMEOUT", "1")
            .args(["translate", SAMPLE, "--model", "someone/marian-tiny"]),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(!out.stdout.is_empty());
    assert!(
        stderr.contains(
            "note: cannot reach the Hugging Face Hub (no answer within 1 s); using the cached \
             someone/marian-tiny"
        ),
        "{stderr}"
    );

    // Empty cache: one error saying so, within the timeout.
    let empty = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let msg = err_of(resolve_with("someone/marian-tiny", None, &{
        let mut o = options(empty.path(), &hub);
        o.timeout = Duration::from_secs(1);
        o
    }));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(
        msg.starts_with(
            "cannot reach the Hugging Face Hub (no answer within 1 s) to fetch someone/marian-tiny"
        ),
        "{msg}"
    );
}

// ---- models download and list, revisions, --quiet ----

#[test]
fn models_download_a_preset_at_a_revision_quietly_then_list_shows_it() {
    let hub = TestHub::start();
    // A preset's repo, served with the tiny model's files.
    hub.add_dir("Helsinki-NLP/opus-mt-ar-en", &fixture("marian-tiny"));
    let cache = tempfile::tempdir().unwrap();
    let out = output(tarjama(cache.path(), &hub.endpoint).args([
        "models",
        "download",
        "opus-mt-ar-en@v1.0",
        "--quiet",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let commit = hub.commit("Helsinki-NLP/opus-mt-ar-en");
    let dir = repo_dir(cache.path(), "Helsinki-NLP/opus-mt-ar-en");
    let snapshot = dir.join("snapshots").join(&commit);
    assert_eq!(
        text(&out.stdout),
        format!("opus-mt-ar-en@v1.0\t{commit}\t{}\n", snapshot.display())
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("refs/v1.0")).unwrap(),
        commit
    );
    assert!(hub
        .requests()
        .iter()
        .any(|r| r.path == "/api/models/Helsinki-NLP/opus-mt-ar-en/revision/v1.0"));

    // `models list` looks at the preset's own revision (main): not cached yet.
    let list = |cache: &Path| {
        let out = output(tarjama(cache, "http://127.0.0.1:9").args(["models", "list"]));
        assert!(out.status.success());
        text(&out.stdout)
            .lines()
            .find(|l| l.starts_with("opus-mt-ar-en "))
            .unwrap()
            .to_string()
    };
    assert!(
        list(cache.path()).ends_with(" no"),
        "{}",
        list(cache.path())
    );
    let out = output(tarjama(cache.path(), &hub.endpoint).args([
        "models",
        "download",
        "opus-mt-ar-en",
        "-q",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes: u64 = MARIAN_FILES
        .iter()
        .map(|f| {
            std::fs::metadata(fixture("marian-tiny").join(f))
                .unwrap()
                .len()
        })
        .sum();
    let row = list(cache.path());
    assert!(
        row.ends_with(&format!(" yes ({})", tarjama::hub::format_size(bytes))),
        "{row}"
    );
}

#[test]
fn an_error_from_the_cdn_is_not_blamed_on_the_repo() {
    let (hub, cache) = marian_hub();
    hub.fault(Fault::Status("/cdn/".into(), 403, vec![]));
    let mut opts = options(cache.path(), &hub);
    opts.retries = 1;
    let msg = err_of(resolve_with("someone/marian-tiny", None, &opts));
    // The first LFS file fetched is the tokenizer's.
    let spm = std::fs::read(fixture("marian-tiny").join("source.spm")).unwrap();
    let partial = repo_dir(cache.path(), "someone/marian-tiny")
        .join("blobs")
        .join(format!("{}.incomplete", sha256_hex(&spm)));
    assert_eq!(
        msg,
        format!(
            "someone/marian-tiny: downloading source.spm failed 2 times (the file's download \
             address (CDN) answered HTTP 403); the partial file {} (0 B of {}) is kept and the \
             next run resumes it; delete it to start over",
            partial.display(),
            tarjama::hub::format_size(spm.len() as u64)
        )
    );
}

#[test]
fn models_download_goes_on_past_a_model_that_fails() {
    let (hub, cache) = marian_hub();
    hub.add_dir("someone/bart-tiny", &fixture("bart-tiny"));
    let out = output(tarjama(cache.path(), &hub.endpoint).args([
        "models",
        "download",
        "-q",
        "someone/marian-tiny",
        "someone/absent",
        "someone/bart-tiny",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let snapshot = |repo: &str| {
        repo_dir(cache.path(), repo)
            .join("snapshots")
            .join(hub.commit(repo))
            .display()
            .to_string()
    };
    assert_eq!(
        text(&out.stdout),
        format!(
            "someone/marian-tiny\t{}\t{}\nsomeone/bart-tiny\t{}\t{}\n",
            hub.commit("someone/marian-tiny"),
            snapshot("someone/marian-tiny"),
            hub.commit("someone/bart-tiny"),
            snapshot("someone/bart-tiny")
        )
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: someone/absent: no such model or revision on the Hub ({}) (the Hub says: \
             Repository not found)\n1 of 3 models could not be downloaded\n",
            hub.endpoint
        )
    );
}

#[test]
fn run_takes_a_revision_for_each_model() {
    let (hub, cache) = marian_hub();
    hub.add_dir("someone/bart-tiny", &fixture("bart-tiny"));
    let bart = hub.commit("someone/bart-tiny");
    let translator = "someone/marian-tiny@v2".to_string();
    let summarizer = format!("someone/bart-tiny@{bart}");
    let out = output(tarjama(cache.path(), &hub.endpoint).args([
        "run",
        SAMPLE,
        "--format",
        "json",
        "--quiet",
        "--translator",
        &translator,
        "--summarizer",
        &summarizer,
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["translation"]["model"]["repo"], "someone/marian-tiny");
    assert_eq!(
        v["translation"]["model"]["revision"],
        hub.commit("someone/marian-tiny").as_str()
    );
    assert_eq!(v["summary"]["model"]["revision"], bart.as_str());
    let paths: Vec<String> = hub.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&"/api/models/someone/marian-tiny/revision/v2".to_string()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!("/api/models/someone/bart-tiny/revision/{bart}")),
        "{paths:?}"
    );
}

// ---- what is fetched, and when nothing is ----

fn dummy_repo() -> Vec<(String, Vec<u8>)> {
    [
        ("README.md", "# card"),
        ("config.json", "{\"model_type\": \"marian\"}"),
        ("generation_config.json", "{\"num_beams\": 4}"),
        ("tokenizer_config.json", "{}"),
        ("source.spm", "source sentencepiece"),
        ("target.spm", "target sentencepiece"),
        ("vocab.json", "{\"</s>\": 0}"),
        ("model.safetensors", "safetensors bytes"),
        ("pytorch_model.bin", "pickle bytes"),
    ]
    .iter()
    .map(|(n, b)| (n.to_string(), b.as_bytes().to_vec()))
    .collect()
}

#[test]
fn only_needed_files_are_fetched_the_token_goes_to_the_hub_only_then_offline_works() {
    let hub = TestHub::start();
    hub.add_files("someone/tiny", dummy_repo());
    let commit = hub.commit("someone/tiny");
    let cache = tempfile::tempdir().unwrap();
    let mut opts = options(cache.path(), &hub);
    opts.token = Some("hf_secret".into());

    let files = resolve_with("someone/tiny", None, &opts).unwrap();
    let snapshot = repo_dir(cache.path(), "someone/tiny")
        .join("snapshots")
        .join(&commit);
    assert_eq!(files.dir, snapshot);
    assert_eq!(files.revision.as_deref(), Some(commit.as_str()));
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
    // A small (git) file is a symlink to its blob too, named by its ETag.
    assert!(std::fs::read_link(snapshot.join("config.json"))
        .unwrap()
        .starts_with("../../blobs/"));

    let requests = hub.requests();
    for r in &requests {
        let to_cdn = r.path.starts_with("/cdn/");
        assert_eq!(
            r.auth.as_deref(),
            (!to_cdn).then_some("Bearer hf_secret"),
            "{r:?}"
        );
    }
    for skipped in ["pytorch_model.bin", "README.md"] {
        assert!(
            !requests.iter().any(|r| r.path.contains(skipped)),
            "{skipped} fetched: {requests:?}"
        );
    }
    assert_eq!(hub.content_gets("model.safetensors").len(), 1);

    // Cached now: online again asks only for the repo info, offline needs nothing.
    let before = hub.requests().len();
    assert_eq!(resolve_with("someone/tiny", None, &opts).unwrap(), files);
    assert_eq!(hub.requests().len(), before + 1, "{:?}", hub.requests());
    // At a commit, a fully cached model needs no request at all.
    let at_commit = resolve_with(&format!("someone/tiny@{commit}"), None, &opts).unwrap();
    assert_eq!(
        (&at_commit.dir, &at_commit.weights),
        (&files.dir, &files.weights)
    );
    assert_eq!(hub.requests().len(), before + 1, "{:?}", hub.requests());
    let mut offline = options(cache.path(), &hub);
    offline.offline = true;
    offline.endpoint = "http://127.0.0.1:9".into();
    assert_eq!(resolve_with("someone/tiny", None, &offline).unwrap(), files);
}

#[test]
fn a_repo_with_a_missing_shard_fails_before_downloading_weights() {
    let index = r#"{"weight_map": {"a": "model-00001-of-00002.safetensors",
                                    "b": "model-00002-of-00002.safetensors"}}"#;
    let hub = TestHub::start();
    hub.add_files(
        "someone/sharded",
        [
            ("config.json", "{}"),
            ("tokenizer.json", "{}"),
            ("model.safetensors.index.json", index),
            ("model-00001-of-00002.safetensors", "shard one"),
        ]
        .iter()
        .map(|(n, b)| (n.to_string(), b.as_bytes().to_vec()))
        .collect(),
    );
    let cache = tempfile::tempdir().unwrap();
    let msg = err_of(resolve_with(
        "someone/sharded",
        None,
        &options(cache.path(), &hub),
    ));
    assert_eq!(
        msg,
        "someone/sharded on the Hub: shard listed in model.safetensors.index.json missing: \
         model-00002-of-00002.safetensors"
    );
    assert!(
        !hub.requests().iter().any(|r| r.path.contains("00001-of")),
        "{:?}",
        hub.requests()
    );
}

#[test]
fn a_repo_without_weights_is_reported_without_downloads() {
    let hub = TestHub::start();
    hub.add_files(
        "someone/noweights",
        vec![
            ("config.json".into(), b"{}".to_vec()),
            ("tokenizer.json".into(), b"{}".to_vec()),
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let msg = err_of(resolve_with(
        "someone/noweights",
        None,
        &options(cache.path(), &hub),
    ));
    assert_eq!(
        msg,
        "someone/noweights on the Hub: no model weights (model.safetensors, \
         model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json)"
    );
    assert_eq!(hub.requests().len(), 1, "{:?}", hub.requests());
}

#[test]
fn a_hub_that_is_down_counts_as_unreachable_and_a_mistyped_preset_is_named() {
    let hub = TestHub::start();
    hub.fault(Fault::Status("/api/".into(), 503, vec![]));
    let cache = tempfile::tempdir().unwrap();
    let opts = options(cache.path(), &hub);
    let msg = err_of(resolve_with("someone/down", None, &opts));
    assert!(
        msg.starts_with(
            "cannot reach the Hugging Face Hub (the Hub answered 503) to fetch someone/down"
        ),
        "{msg}"
    );
    hub.clear_faults();
    let msg = err_of(resolve_with("opus-mt-ar-e", None, &opts));
    assert!(
        msg.contains("no such model or revision on the Hub")
            && msg.contains("presets are ")
            && msg.contains("opus-mt-ar-en"),
        "{msg}"
    );
}

#[test]
fn a_renamed_repo_is_followed_to_its_new_name() {
    let hub = TestHub::start();
    hub.add_dir("someone/new-name", &fixture("marian-tiny"));
    hub.fault(Fault::Renamed(
        "someone/old-name".into(),
        "someone/new-name".into(),
    ));
    let cache = tempfile::tempdir().unwrap();
    let files = resolve_with("someone/old-name", None, &options(cache.path(), &hub)).unwrap();
    // Cached under the name asked for, as huggingface_hub does.
    let snapshot = repo_dir(cache.path(), "someone/old-name")
        .join("snapshots")
        .join(hub.commit("someone/new-name"));
    assert_eq!(files.dir, snapshot);
    assert_eq!(
        std::fs::read(snapshot.join("model.safetensors")).unwrap(),
        marian_weights()
    );
}
