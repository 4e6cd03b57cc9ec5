//! Hub requests and file downloads, written into hf-hub's (and `huggingface_hub`'s) cache layout.
//!
//! hf-hub 0.4.3 keeps the layout and the folder names; the requests are tarjama's own ureq calls,
//! made the way `huggingface_hub.file_download` makes them:
//!
//! - `GET {endpoint}/api/models/{repo}/revision/{revision}`: the commit (`sha`) and file list
//!   (`siblings[].rfilename`);
//! - `HEAD {endpoint}/{repo}/resolve/{commit}/{file}` with `Accept-Encoding: identity`, following
//!   only relative redirects (renamed repos): the `X-Repo-Commit`, the `X-Linked-Etag` (SHA-256
//!   of an LFS file) or `ETag` (git blob id of a small file), the `X-Linked-Size` or
//!   `Content-Length`, and for LFS files the `Location` of the content (a signed CDN address);
//! - `GET` of that location, with `Range: bytes=N-` to resume a partial file.
//!
//! A file goes to `blobs/<etag>.incomplete`, then is checked (size; SHA-256 for LFS files) and
//! renamed to `blobs/<etag>`; `snapshots/<commit>/<file>` is a relative symlink to it and
//! `refs/<revision>` holds the commit. One process at a time downloads a blob: the others wait on
//! `.locks/models--owner--name/<etag>.lock`, the lock file `huggingface_hub` uses.
//!
//! Every read has a timeout ([`HubOptions::timeout`]): no byte for that long and the transfer is
//! retried ([`HubOptions::retries`] times), resuming where it stopped.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::remote::HubOptions;
use crate::error::{DownloadError, DownloadKind};
use crate::{Error, Result};

/// `n` bytes in binary units, as `ls -h` would: `512 B`, `1.5 KiB`, `302 MiB`, `1.2 GiB`.
pub fn format_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// Why a request failed, sorted by what the user can do about it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No answer in time, no connection, or the Hub is down or throttling (5xx, 429): a cached
    /// copy may still serve, and a transfer is worth retrying.
    Unreachable(String),
    /// The Hub answered with an error status.
    Status {
        /// The HTTP status.
        code: u16,
        /// `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`).
        error_code: Option<String>,
        /// `X-Error-Message`, the Hub's own words, on one line.
        message: Option<String>,
    },
    /// Anything else (an answer tarjama cannot read).
    Other(String),
}

/// The revision's commit and file list, from `/api/models/{repo}/revision/{revision}`.
pub(crate) struct RepoInfo {
    pub sha: String,
    pub files: Vec<String>,
}

/// What `HEAD .../resolve/{commit}/{file}` says about a file.
struct FileMeta {
    /// The normalized `X-Linked-Etag` or `ETag`: the blob's name in the cache.
    etag: String,
    /// `X-Linked-Size` or `Content-Length`.
    size: Option<u64>,
    /// Where the content is: the CDN address of an LFS file, else the resolve address.
    url: String,
    /// What the etag says of the content, when it is a checksum.
    checksum: Checksum,
}

/// The checksum a file's etag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checksum {
    /// An LFS file's `X-Linked-Etag`: the SHA-256 of the content (64 hex digits).
    Sha256,
    /// A small git file's `ETag`: its git blob id, the SHA-1 of `blob {len}\0` and the content
    /// (40 hex digits), as `git hash-object` computes it.
    GitBlobSha1,
    /// Anything else: only the size is checked.
    None,
}

/// A Hub client for one [`HubOptions`].
pub(crate) struct Client<'a> {
    agent: ureq::Agent,
    opts: &'a HubOptions,
}

impl<'a> Client<'a> {
    /// A client with `opts`' timeout on connecting and on every read, following no redirects
    /// by itself.
    pub fn new(opts: &'a HubOptions) -> Client<'a> {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(opts.timeout)
            .timeout_read(opts.timeout)
            .timeout_write(opts.timeout)
            .redirects(0)
            .user_agent(concat!("tarjama/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent, opts }
    }

    fn request(&self, method: &str, url: &str) -> ureq::Request {
        let mut req = self.agent.request(method, url);
        // The token goes to the Hub only, never to the CDN a file is redirected to.
        if let Some(token) = &self.opts.token {
            if url.starts_with(&format!("{}/", self.opts.endpoint)) {
                req = req.set("Authorization", &format!("Bearer {token}"));
            }
        }
        req
    }

    /// `GET /api/models/{repo}/revision/{revision}`.
    pub fn repo_info(&self, repo: &str, revision: &str) -> std::result::Result<RepoInfo, Failure> {
        #[derive(serde::Deserialize)]
        struct Sibling {
            rfilename: String,
        }
        #[derive(serde::Deserialize)]
        struct Info {
            sha: String,
            #[serde(default)]
            siblings: Vec<Sibling>,
        }
        let url = format!(
            "{}/api/models/{repo}/revision/{}",
            self.opts.endpoint,
            quote(revision)
        );
        let mut url = url;
        let mut resp = self
            .request("GET", &url)
            .call()
            .map_err(|e| self.failure(e))?;
        // A renamed repo answers with a relative redirect to its new name.
        for _ in 0..5 {
            match resp.header("location") {
                Some(loc) if (300..400).contains(&resp.status()) && loc.starts_with('/') => {
                    url = format!("{}{loc}", origin(&self.opts.endpoint));
                    resp = self
                        .request("GET", &url)
                        .call()
                        .map_err(|e| self.failure(e))?;
                }
                _ => break,
            }
        }
        if resp.status() != 200 {
            return Err(Failure::Other(format!(
                "the Hub answered {} to the repo info request",
                resp.status()
            )));
        }
        let info: Info = resp.into_json().map_err(|e| {
            if is_timeout(&e) {
                Failure::Unreachable(self.no_answer())
            } else {
                Failure::Other(format!("unreadable repo info from the Hub: {e}"))
            }
        })?;
        if !super::remote::is_commit(&info.sha) {
            return Err(Failure::Other(format!(
                "the Hub's repo info has no commit id (sha {:?})",
                info.sha
            )));
        }
        Ok(RepoInfo {
            sha: info.sha,
            files: info.siblings.into_iter().map(|s| s.rfilename).collect(),
        })
    }

    /// `HEAD /{repo}/resolve/{commit}/{file}`, following relative redirects only.
    fn file_meta(
        &self,
        repo: &str,
        commit: &str,
        file: &str,
    ) -> std::result::Result<FileMeta, Failure> {
        let mut url = format!(
            "{}/{repo}/resolve/{commit}/{}",
            self.opts.endpoint,
            quote_path(file)
        );
        for _ in 0..5 {
            let resp = self
                .request("HEAD", &url)
                .set("Accept-Encoding", "identity")
                .call()
                .map_err(|e| self.failure(e))?;
            let status = resp.status();
            let location = resp.header("location").map(str::to_string);
            if (300..400).contains(&status) {
                let Some(location) = location else {
                    return Err(Failure::Other(format!(
                        "the Hub answered {status} without a Location"
                    )));
                };
                if location.starts_with('/') {
                    url = format!("{}{location}", origin(&self.opts.endpoint));
                    continue;
                }
                return meta_from(&resp, location);
            }
            return meta_from(&resp, url);
        }
        Err(Failure::Other("too many redirects".into()))
    }

    /// A ureq error, sorted; never with the request's address (it may be a signed CDN one).
    fn failure(&self, e: ureq::Error) -> Failure {
        match e {
            ureq::Error::Status(code, resp) => {
                let error_code = resp.header("x-error-code").map(one_line);
                let message = resp.header("x-error-message").map(one_line);
                if code >= 500 || code == 429 {
                    let mut msg = format!("the Hub answered {code}");
                    if let Some(m) = &message {
                        msg.push_str(&format!(" ({m})"));
                    }
                    return Failure::Unreachable(msg);
                }
                Failure::Status {
                    code,
                    error_code,
                    message,
                }
            }
            ureq::Error::Transport(t) => {
                if is_timeout(&t) {
                    return Failure::Unreachable(self.no_answer());
                }
                let what = match t.kind() {
                    ureq::ErrorKind::Dns => "DNS lookup failed",
                    ureq::ErrorKind::ConnectionFailed => "cannot connect",
                    ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => {
                        return Failure::Other(format!(
                            "bad Hub address {} (HF_ENDPOINT)",
                            without_credentials(&self.opts.endpoint)
                        ))
                    }
                    _ => "network error",
                };
                let detail = std::error::Error::source(&t)
                    .map(|s| format!(": {s}"))
                    .or_else(|| t.message().map(|m| format!(": {m}")))
                    .unwrap_or_default();
                Failure::Unreachable(scrub_urls(&format!("{what}{}", one_line(&detail))))
            }
        }
    }

    fn no_answer(&self) -> String {
        format!("no answer within {}", seconds(self.opts.timeout))
    }

    /// The local path of `file` of `repo` at `commit`, downloaded into the cache at `repo_dir`
    /// if it is not there yet. `name` names the model in messages.
    ///
    /// Errors (one line each): the Hub's refusal (with its `X-Error-Message`), a transfer that
    /// failed `retries + 1` times (naming the partial file that the next run resumes), a size or
    /// SHA-256 mismatch (the download is deleted), a disk error.
    pub fn fetch(
        &self,
        name: &str,
        repo: &str,
        commit: &str,
        file: &str,
        repo_dir: &Path,
    ) -> Result<PathBuf> {
        if file
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
            || file.contains('\\')
        {
            return Err(Error::Model(format!(
                "{name}: the Hub lists an unusable file name {file:?}"
            )));
        }
        let pointer = repo_dir.join("snapshots").join(commit).join(file);
        let meta = self.with_retries(name, file, || self.file_meta(repo, commit, file))?;
        let blobs = repo_dir.join("blobs");
        let blob = blobs.join(&meta.etag);
        if blob.is_file() {
            link(&blob, &pointer, file)?;
            return Ok(pointer);
        }
        std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
        let _lock = self.lock(repo_dir, &meta.etag, name, file)?;
        // Another process may have finished it while this one waited.
        if !blob.is_file() {
            self.download(name, repo, commit, file, meta, &blob)?;
        }
        link(&blob, &pointer, file)?;
        Ok(pointer)
    }

    /// Runs `f` until it succeeds, fails for good, or fails as unreachable `retries + 1` times.
    fn with_retries<T>(
        &self,
        name: &str,
        file: &str,
        mut f: impl FnMut() -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let mut tries = 0;
        loop {
            tries += 1;
            match f() {
                Ok(v) => return Ok(v),
                Err(Failure::Unreachable(reason)) if tries <= self.opts.retries => {
                    self.note(&format!(
                        "{name}: {file}: {reason}; trying again ({} of {})",
                        tries + 1,
                        self.opts.retries + 1
                    ));
                    std::thread::sleep(backoff(tries));
                }
                Err(e) => return Err(self.explain(name, Some(file), e, tries)),
            }
        }
    }

    /// Takes the blob's lock, waiting (and saying so) while another process holds it.
    fn lock(&self, repo_dir: &Path, etag: &str, name: &str, file: &str) -> Result<File> {
        let folder = repo_dir.file_name().unwrap_or_default();
        let cache = repo_dir.parent().unwrap_or(repo_dir);
        let dir = cache.join(".locks").join(folder);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join(format!("{etag}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                self.note(&format!(
                    "{name}: {file}: another process is downloading it; waiting for it \
                     (lock file {})",
                    path.display()
                ));
                lock.lock().map_err(|e| Error::io(&path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        Ok(lock)
    }

    /// Downloads the blob (the caller holds its lock), resuming and retrying, then checks it.
    fn download(
        &self,
        name: &str,
        repo: &str,
        commit: &str,
        file: &str,
        mut meta: FileMeta,
        blob: &Path,
    ) -> Result<()> {
        let partial = PathBuf::from(format!("{}.incomplete", blob.display()));
        let mut out = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&partial)
            .map_err(|e| Error::io(&partial, e))?;
        let mut have = hash_file(&mut out).map_err(|e| Error::io(&partial, e))?;
        let label = format!("{name} {file}");
        let observer = &self.opts.observer;
        let start = Instant::now();
        observer.started(&label, meta.size, have.1);
        let mut tries = 0;
        loop {
            tries += 1;
            match self.transfer(&meta, &mut out, &mut have, &label) {
                Ok(()) => break,
                Err(Failure::Unreachable(reason)) if tries <= self.opts.retries => {
                    observer.note(&format!(
                        "{label}: {reason} after {} of {}; trying again from there ({} of {})",
                        format_size(have.1),
                        meta.size.map_or_else(|| "?".into(), format_size),
                        tries + 1,
                        self.opts.retries + 1
                    ));
                    std::thread::sleep(backoff(tries));
                    // A signed CDN address expires: ask for a fresh one.
                    if let Ok(fresh) = self.file_meta(repo, commit, file) {
                        if fresh.etag == meta.etag {
                            meta = fresh;
                        }
                    }
                }
                Err(Failure::Unreachable(reason)) => {
                    observer.stopped(&label);
                    return Err(Error::Download(Box::new(DownloadError {
                        name: name.to_string(),
                        file: file.to_string(),
                        partial,
                        kind: DownloadKind::Failed {
                            tries,
                            reason,
                            received: have.1,
                            total: meta.size,
                        },
                    })));
                }
                Err(e) => {
                    observer.stopped(&label);
                    return Err(self.explain(name, Some(file), e, tries));
                }
            }
        }
        observer.stopped(&label);
        out.sync_all().map_err(|e| Error::io(&partial, e))?;
        drop(out);
        let bad = |problem: String| {
            let kept = std::fs::remove_file(&partial).err().map(|e| e.to_string());
            Error::Download(Box::new(DownloadError {
                name: name.to_string(),
                file: file.to_string(),
                partial: partial.clone(),
                kind: DownloadKind::Corrupt { problem, kept },
            }))
        };
        if let Some(size) = meta.size {
            if have.1 != size {
                return Err(bad(format!(
                    "received {} bytes, the Hub announced {size}",
                    have.1
                )));
            }
        }
        match meta.checksum {
            Checksum::Sha256 => {
                let got = format!("{:x}", have.0.clone().finalize());
                if got != meta.etag {
                    return Err(bad(format!(
                        "checksum mismatch: SHA-256 {got}, the Hub's is {}",
                        meta.etag
                    )));
                }
            }
            Checksum::GitBlobSha1 => {
                // Small files only (LFS holds the large ones): read back and hashed once.
                let bytes = std::fs::read(&partial).map_err(|e| Error::io(&partial, e))?;
                let got = git_blob_id(&bytes);
                if got != meta.etag {
                    return Err(bad(format!(
                        "checksum mismatch: git blob id {got}, the Hub's is {}",
                        meta.etag
                    )));
                }
            }
            Checksum::None => {}
        }
        std::fs::rename(&partial, blob).map_err(|e| Error::io(blob, e))?;
        observer.finished(&label, have.1, start.elapsed().as_secs_f64());
        Ok(())
    }

    /// One GET of the file from `have.1` on, appended to `out` and hashed into `have.0`; the
    /// observer hears the bytes so far under `label`.
    fn transfer(
        &self,
        meta: &FileMeta,
        out: &mut File,
        have: &mut (Sha256, u64),
        label: &str,
    ) -> std::result::Result<(), Failure> {
        if meta.size.is_some_and(|s| have.1 == s) {
            return Ok(());
        }
        if meta.size.is_some_and(|s| have.1 > s) {
            restart(out, have)?;
        }
        let mut req = self
            .request("GET", &meta.url)
            .set("Accept-Encoding", "identity");
        if have.1 > 0 {
            req = req.set("Range", &format!("bytes={}-", have.1));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(416, _)) => {
                // The partial file does not fit the content: start over.
                restart(out, have)?;
                return Err(Failure::Unreachable("the partial file did not fit".into()));
            }
            Err(e) => {
                return Err(match self.failure(e) {
                    // An error status from the content address (the CDN an LFS file redirects
                    // to) says nothing of the repo or the token: most often the signed address
                    // expired. Retried with a fresh address.
                    Failure::Status { code, .. } if !meta.url.starts_with(&self.opts.endpoint) => {
                        Failure::Unreachable(format!(
                            "the file's download address (CDN) answered HTTP {code}"
                        ))
                    }
                    f => f,
                });
            }
        };
        match resp.status() {
            206 => {
                let start = resp
                    .header("content-range")
                    .and_then(|r| r.strip_prefix("bytes "))
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.trim().parse::<u64>().ok());
                if start != Some(have.1) {
                    restart(out, have)?;
                    return Err(Failure::Unreachable(
                        "the server resumed at another offset".into(),
                    ));
                }
            }
            200 => {
                if have.1 > 0 {
                    // The server ignored the range: take the whole content again.
                    restart(out, have)?;
                }
            }
            s => {
                return Err(Failure::Other(format!(
                    "the download answered {s} instead of the file"
                )))
            }
        }
        let mut body = resp.into_reader();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if is_io_timeout(&e) => {
                    return Err(Failure::Unreachable(format!(
                        "no data for {}",
                        seconds(self.opts.timeout)
                    )))
                }
                Err(e) => {
                    return Err(Failure::Unreachable(format!(
                        "the connection broke ({})",
                        one_line(&e.to_string())
                    )))
                }
            };
            out.write_all(&buf[..n])
                .map_err(|e| Failure::Other(format!("cannot write the download: {e}")))?;
            have.0.update(&buf[..n]);
            have.1 += n as u64;
            self.opts.observer.progress(label, have.1);
        }
        match meta.size {
            Some(size) if have.1 < size => Err(Failure::Unreachable(
                "the connection closed early".to_string(),
            )),
            _ => Ok(()),
        }
    }

    /// A note (a retry, a wait) for the observer.
    fn note(&self, msg: &str) {
        self.opts.observer.note(msg);
    }

    /// The one-line error for a failed request about `name` (and `file`).
    pub fn explain(&self, name: &str, file: Option<&str>, e: Failure, tries: u32) -> Error {
        let what = match file {
            Some(f) => format!("{name}: {f}"),
            None => name.to_string(),
        };
        match e {
            Failure::Unreachable(reason) => {
                let times = if tries > 1 {
                    format!(" ({tries} tries)")
                } else {
                    String::new()
                };
                Error::Model(format!(
                    "{what}: cannot reach the Hugging Face Hub{times}: {reason}"
                ))
            }
            Failure::Other(msg) => Error::Model(format!("{what}: {}", self.scrub(&msg))),
            Failure::Status {
                code,
                error_code,
                message,
            } => {
                let says = message
                    .map(|m| format!(" (the Hub says: {})", self.scrub(&m)))
                    .unwrap_or_default();
                let endpoint = without_credentials(&self.opts.endpoint);
                let repo_page = format!("{endpoint}/{}", repo_of(name));
                let token = self.opts.token.is_some();
                let text = match (error_code.as_deref(), code) {
                    (Some("GatedRepo"), _) if token => format!(
                        "{name} is a gated repo and the token in use (HF_TOKEN) has no access to \
                         it yet: request access on {repo_page}"
                    ),
                    (Some("GatedRepo"), _) => format!(
                        "{name} is a gated repo: accept its conditions on {repo_page}, then set \
                         HF_TOKEN to a token of that account"
                    ),
                    (Some("EntryNotFound"), _) => {
                        format!("{what}: the Hub has no such file at this revision")
                    }
                    (Some("RevisionNotFound"), _) => {
                        format!("{name}: no such revision on the Hub ({endpoint})")
                    }
                    (_, 404) => {
                        format!("{name}: no such model or revision on the Hub ({endpoint})")
                    }
                    (_, 401 | 403) if token => format!(
                        "{name}: not found on the Hub, or the token in use (HF_TOKEN) has no \
                         access to it"
                    ),
                    (_, 401 | 403) => format!(
                        "{name}: not found on the Hub, or private or gated: if you have access, \
                         set HF_TOKEN"
                    ),
                    (_, code) => format!("{what}: the Hub answered {code}"),
                };
                Error::Model(format!("{text}{says}"))
            }
        }
    }

    /// `s` without query strings of addresses (signed CDN links) or the token.
    fn scrub(&self, s: &str) -> String {
        let mut out = scrub_urls(s);
        if let Some(token) = self.opts.token.as_deref().filter(|t| !t.is_empty()) {
            out = out.replace(token, "<token>");
        }
        out
    }
}

/// The repo id in a display name (`owner/name@rev` → `owner/name`).
fn repo_of(name: &str) -> &str {
    name.split('@').next().unwrap_or(name)
}

/// Words of `s` that are addresses lose their query string (`?X-Amz-Signature=...`) and any
/// `user:password@`.
pub(crate) fn scrub_urls(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if !w.contains("://") {
                return w.to_string();
            }
            let w = without_credentials(w);
            match w.find('?') {
                Some(q) => format!("{}?…", &w[..q]),
                None => w,
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn meta_from(resp: &ureq::Response, url: String) -> std::result::Result<FileMeta, Failure> {
    let raw = resp
        .header("x-linked-etag")
        .or_else(|| resp.header("etag"))
        .ok_or_else(|| Failure::Other("the Hub sent no ETag for the file".into()))?;
    let etag = raw
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string();
    if etag.is_empty()
        || !etag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        || etag.starts_with('.')
    {
        return Err(Failure::Other(format!(
            "the Hub sent an unusable ETag {raw:?}"
        )));
    }
    let size = resp
        .header("x-linked-size")
        .or_else(|| resp.header("content-length"))
        .and_then(|s| s.trim().parse::<u64>().ok());
    let hex = etag.bytes().all(|b| b.is_ascii_hexdigit());
    let checksum = match etag.len() {
        64 if hex => Checksum::Sha256,
        40 if hex => Checksum::GitBlobSha1,
        _ => Checksum::None,
    };
    Ok(FileMeta {
        etag: etag.to_ascii_lowercase(),
        size,
        url,
        checksum,
    })
}

/// The git blob id of `bytes` (`git hash-object`): SHA-1 of `blob {len}\0` then the bytes, in
/// lowercase hex.
pub(crate) fn git_blob_id(bytes: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    format!("{:x}", h.finalize())
}

/// Truncates the partial file and resets its hash.
fn restart(out: &mut File, have: &mut (Sha256, u64)) -> std::result::Result<(), Failure> {
    out.set_len(0)
        .and_then(|_| out.seek(SeekFrom::Start(0)).map(|_| ()))
        .map_err(|e| Failure::Other(format!("cannot truncate the partial download: {e}")))?;
    *have = (Sha256::new(), 0);
    Ok(())
}

/// The SHA-256 state and length of what `f` holds, leaving it positioned at its end.
fn hash_file(f: &mut File) -> std::io::Result<(Sha256, u64)> {
    f.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let n = std::io::copy(f, &mut hasher)?;
    f.seek(SeekFrom::End(0))?;
    Ok((hasher, n))
}

/// Points `pointer` (`snapshots/<commit>/<file>`) at `blob` (`blobs/<etag>`) with a relative
/// symlink (`../../blobs/<etag>`, one more `../` per directory in `file`), replacing whatever is
/// there in one rename. Without symlinks (Windows), the pointer is a copy.
fn link(blob: &Path, pointer: &Path, file: &str) -> Result<()> {
    let dir = pointer.parent().unwrap_or(pointer);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tarjama-{}",
        pointer.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    {
        let etag = blob.file_name().unwrap_or_default().to_string_lossy();
        let depth = file.split('/').count() + 1;
        let target = format!("{}blobs/{etag}", "../".repeat(depth));
        std::os::unix::fs::symlink(&target, &tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        std::fs::copy(blob, &tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, pointer).map_err(|e| Error::io(pointer, e))
}

fn backoff(tries: u32) -> Duration {
    Duration::from_millis(250 * u64::from(tries.min(8)))
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_io_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// Whether an error, or any of its causes, is a read or connect timeout.
fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if is_io_timeout(io) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// `scheme://host[:port]` of an address.
/// `url` without the `user:password@` a user may have written into `HF_ENDPOINT`, for messages.
fn without_credentials(url: &str) -> String {
    let head = origin(url);
    let after = head.find("://").map_or(0, |i| i + 3);
    match head[after..].rfind('@') {
        Some(at) => format!("{}{}", &head[..after], &url[after + at + 1..]),
        None => url.to_string(),
    }
}

fn origin(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(i) => &url[..after + i],
        None => url,
    }
}

/// Percent-encodes everything but unreserved characters (as `urllib.parse.quote(s, safe="")`).
fn quote(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// [`quote`] per path segment, keeping the `/`s.
fn quote_path(s: &str) -> String {
    s.split('/').map(quote).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_lose_their_credentials_in_messages() {
        assert_eq!(
            without_credentials("http://user:pa55@127.0.0.1:8/x@y"),
            "http://127.0.0.1:8/x@y"
        );
        assert_eq!(
            without_credentials("https://huggingface.co"),
            "https://huggingface.co"
        );
        assert_eq!(
            scrub_urls("GET http://u:p@h/a/b?X-Amz-Signature=s: refused"),
            "GET http://h/a/b?… refused"
        );
    }

    #[test]
    fn git_blob_ids_equal_git_hash_object() {
        // `printf hello | git hash-object --stdin` and `git hash-object /dev/null`.
        assert_eq!(
            git_blob_id(b"hello"),
            "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
        );
        assert_eq!(git_blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn sizes_and_addresses() {
        assert_eq!(format_size(512), "512 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(302 * 1024 * 1024 + 5), "302 MiB");
        assert_eq!(format_size(1_288_490_189), "1.2 GiB");
        assert_eq!(origin("http://127.0.0.1:8/x/y"), "http://127.0.0.1:8");
        assert_eq!(origin("https://huggingface.co"), "https://huggingface.co");
        assert_eq!(quote("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(quote_path("a b/c.json"), "a%20b/c.json");
        assert_eq!(
            scrub_urls("at https://cdn.x/blob?X-Amz-Signature=abc failed"),
            "at https://cdn.x/blob?… failed"
        );
    }
}
