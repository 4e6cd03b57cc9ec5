//! Hugging Face Hub access through hf-hub's sync API and its on-disk cache.
//!
//! hf-hub 0.4.3's `ApiBuilder::from_env` reads only `HF_HOME` (cache at `$HF_HOME/hub`, token
//! file at `$HF_HOME/token`) and `HF_ENDPOINT`. tarjama reads the rest of the variables
//! `huggingface_hub` (Python) honours itself, in [`HubOptions::from_env`], and hands hf-hub an
//! explicit cache directory, endpoint and token.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{ApiBuilder, ApiError, ApiRepo};
use hf_hub::{Cache, Repo, RepoType};

use super::layout::{self, DirSource, FileSource, Layout};
use crate::error::FLAG;
use crate::{Error, Result};

/// The public Hugging Face Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How to reach the Hub and where its cache is. [`HubOptions::from_env`] builds it from the
/// environment; tests build it directly.
#[derive(Clone, PartialEq, Eq)]
pub struct HubOptions {
    /// The cache directory in hf-hub's (and `huggingface_hub`'s) layout:
    /// `models--owner--name/{refs,blobs,snapshots}`.
    pub cache_dir: PathBuf,
    /// Never touch the network; resolve from `cache_dir` only (`HF_HUB_OFFLINE=1`).
    pub offline: bool,
    /// Access token for private and gated repos (`HF_TOKEN`). Never printed by `Debug`.
    pub token: Option<String>,
    /// Hub base URL, without a trailing slash (`HF_ENDPOINT`, default [`DEFAULT_ENDPOINT`]).
    pub endpoint: String,
}

impl fmt::Debug for HubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubOptions")
            .field("cache_dir", &self.cache_dir)
            .field("offline", &self.offline)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl HubOptions {
    /// Reads the process environment, as `huggingface_hub` does:
    ///
    /// - cache: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, where
    ///   `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`;
    /// - offline: `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) set to 1, true, yes or on;
    /// - token: `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file at `HF_TOKEN_PATH`,
    ///   else `$HF_HOME/token` (written by `huggingface-cli login`);
    /// - endpoint: `HF_ENDPOINT`, else <https://huggingface.co>.
    pub fn from_env() -> HubOptions {
        HubOptions::from_lookup(|key| std::env::var(key).ok())
    }

    /// Like [`HubOptions::from_env`], with variables read through `var` (empty values count as
    /// unset). Reads the token file from disk when no token variable is set.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> HubOptions {
        let var = |key: &str| var(key).filter(|v| !v.trim().is_empty());
        let hf_home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let cache = var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
                let home = var("HOME")
                    .or_else(|| var("USERPROFILE"))
                    .unwrap_or_default();
                PathBuf::from(home).join(".cache")
            });
            cache.join("huggingface")
        });
        let cache_dir = var("HF_HUB_CACHE")
            .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let truthy = |key: &str| {
            var(key).is_some_and(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "on"
                )
            })
        };
        let offline = truthy("HF_HUB_OFFLINE") || truthy("TRANSFORMERS_OFFLINE");
        let token = var("HF_TOKEN")
            .or_else(|| var("HUGGING_FACE_HUB_TOKEN"))
            .or_else(|| {
                let path = var("HF_TOKEN_PATH")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| hf_home.join("token"));
                std::fs::read_to_string(path).ok()
            })
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let endpoint = var("HF_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        HubOptions {
            cache_dir,
            offline,
            token,
            endpoint,
        }
    }

    /// The cache directory of the model repo `repo` (`<cache_dir>/models--owner--name`).
    pub fn repo_cache_dir(&self, repo: &str) -> PathBuf {
        self.cache_dir
            .join(Repo::new(repo.to_string(), RepoType::Model).folder_name())
    }
}

/// A model resolved from the Hub or its cache.
pub(crate) struct HubModel {
    pub snapshot: PathBuf,
    pub commit: String,
    pub layout: Layout,
}

/// Resolves `repo` at `revision`: from the cache alone when offline; else asks the Hub for the
/// revision's commit and file list, downloads the files that are not cached yet, and falls back
/// to the cache when the Hub cannot be reached.
pub(crate) fn resolve_repo(repo: &str, revision: &str, opts: &HubOptions) -> Result<HubModel> {
    let name = display_name(repo, revision);
    if opts.offline {
        return match from_cache(repo, revision, opts)? {
            Some(model) => Ok(model),
            None => Err(Error::resolve(format!(
                "HF_HUB_OFFLINE is set and {name} is not in the Hugging Face cache ({}); \
                 download it with the network on, or pass {FLAG} /path/to/dir",
                opts.cache_dir.display()
            ))),
        };
    }

    let api = ApiBuilder::from_cache(Cache::new(opts.cache_dir.clone()))
        .with_endpoint(opts.endpoint.clone())
        .with_token(opts.token.clone())
        .with_progress(false)
        .build()
        .map_err(|e| Error::Model(format!("cannot set up the Hub client: {e}")))?;
    let api_repo = api.repo(Repo::with_revision(
        repo.to_string(),
        RepoType::Model,
        revision.to_string(),
    ));

    let info = match api_repo.info() {
        Ok(info) => info,
        Err(e) => {
            let e = classify(e);
            return match e {
                Failure::Unreachable(reason) => match from_cache(repo, revision, opts)? {
                    Some(model) => Ok(model),
                    None => Err(Error::resolve(format!(
                        "cannot reach the Hugging Face Hub ({reason}) to fetch {name} and it is \
                         not in the cache ({}); download it elsewhere and pass \
                         {FLAG} /path/to/dir, or set HF_HUB_OFFLINE=1 with a filled cache",
                        opts.cache_dir.display()
                    ))),
                },
                Failure::Status(404, _) => Err(Error::Model(format!(
                    "{name}: no such model or revision on the Hub ({})",
                    opts.endpoint
                ))),
                Failure::Status(401 | 403, _) if opts.token.is_none() => {
                    Err(Error::Model(format!(
                        "{name}: not found on the Hub, or private or gated: if you have access, \
                         set HF_TOKEN"
                    )))
                }
                Failure::Status(401 | 403, _) => Err(Error::Model(format!(
                    "{name}: not found on the Hub, or the token in use has no access to it"
                ))),
                Failure::Status(_, msg) | Failure::Other(msg) => {
                    Err(Error::Model(format!("{name}: Hub request failed: {msg}")))
                }
            };
        }
    };

    let commit = info.sha;
    let snapshot = opts.repo_cache_dir(repo).join("snapshots").join(&commit);
    let mut src = HubSource {
        api_repo,
        files: info.siblings.into_iter().map(|s| s.rfilename).collect(),
        snapshot: snapshot.clone(),
        name: name.clone(),
    };
    let layout = layout::detect(&mut src)?;
    // Point the branch at this commit even when nothing had to be downloaded, so a later
    // offline run finds it.
    if revision != commit {
        Cache::new(opts.cache_dir.clone())
            .repo(Repo::with_revision(
                repo.to_string(),
                RepoType::Model,
                revision.to_string(),
            ))
            .create_ref(&commit)
            .map_err(|e| Error::io(opts.repo_cache_dir(repo).join("refs").join(revision), e))?;
    }
    Ok(HubModel {
        snapshot,
        commit,
        layout,
    })
}

/// Resolves `repo` at `revision` from the cache only. `Ok(None)`: not cached at all.
fn from_cache(repo: &str, revision: &str, opts: &HubOptions) -> Result<Option<HubModel>> {
    let repo_dir = opts.repo_cache_dir(repo);
    let commit = if is_commit(revision) && repo_dir.join("snapshots").join(revision).is_dir() {
        revision.to_string()
    } else {
        match std::fs::read_to_string(repo_dir.join("refs").join(revision)) {
            Ok(c) if is_commit(c.trim()) => c.trim().to_string(),
            _ => return Ok(None),
        }
    };
    let snapshot = repo_dir.join("snapshots").join(&commit);
    if !snapshot.is_dir() {
        return Ok(None);
    }
    let name = display_name(repo, revision);
    let missing = |what: &str| {
        Error::resolve(format!(
            "{name} is only partly in the Hugging Face cache ({}): {what}; fetch it with the \
             network on, or pass {FLAG} /path/to/dir",
            snapshot.display()
        ))
    };
    let layout = layout::detect(&mut DirSource {
        dir: &snapshot,
        missing: &missing,
    })?;
    Ok(Some(HubModel {
        snapshot: snapshot.clone(),
        commit,
        layout,
    }))
}

/// A Hub repo at one commit: its file list from the Hub, files from the cache or downloaded.
struct HubSource {
    api_repo: ApiRepo,
    files: HashSet<String>,
    snapshot: PathBuf,
    name: String,
}

impl FileSource for HubSource {
    fn has(&self, name: &str) -> bool {
        self.files.contains(name)
    }

    fn fetch(&mut self, file: &str) -> Result<PathBuf> {
        let cached = self.snapshot.join(file);
        if cached.is_file() {
            return Ok(cached);
        }
        let path = self.api_repo.download(file).map_err(|e| {
            let detail = match classify(e) {
                Failure::Unreachable(m) | Failure::Status(_, m) | Failure::Other(m) => m,
            };
            Error::Model(format!(
                "{}: downloading {file} from the Hub failed: {detail}",
                self.name
            ))
        })?;
        // The download asks for the branch again; if it moved since the file list was read,
        // the file belongs to another commit and must not be mixed with this one's.
        if path != cached {
            return Err(Error::Model(format!(
                "{}: the revision changed on the Hub while downloading {file}; run again",
                self.name
            )));
        }
        Ok(path)
    }

    fn missing(&self, what: &str) -> Error {
        Error::Model(format!("{} on the Hub: {what}", self.name))
    }
}

/// An hf-hub error, sorted by what the user can do about it.
enum Failure {
    /// No answer, or the Hub is down or throttling: the cache may still serve.
    Unreachable(String),
    /// The Hub answered with this HTTP status.
    Status(u16, String),
    /// Anything else (bad answer, disk error).
    Other(String),
}

fn classify(e: ApiError) -> Failure {
    match e {
        ApiError::RequestError(err) => {
            let msg = one_line(&err.to_string());
            match err.into_response().map(|r| r.status()) {
                None => Failure::Unreachable(msg),
                Some(code) if code >= 500 || code == 429 => Failure::Unreachable(msg),
                Some(code) => Failure::Status(code, msg),
            }
        }
        ApiError::TooManyRetries(inner) => classify(*inner),
        other => Failure::Other(one_line(&other.to_string())),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn display_name(repo: &str, revision: &str) -> String {
    if revision == "main" {
        repo.to_string()
    } else {
        format!("{repo}@{revision}")
    }
}

/// Whether `s` is a full 40-character hexadecimal commit id.
pub(crate) fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commit of a cache snapshot directory (`.../snapshots/<commit>`), if `dir` is one.
pub(crate) fn snapshot_commit(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let parent = dir.parent()?.file_name()?;
    (parent == "snapshots" && is_commit(name)).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn opts(vars: &[(&str, &str)]) -> HubOptions {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HubOptions::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn env_defaults_follow_huggingface_hub() {
        let o = opts(&[("HOME", "/h")]);
        assert_eq!(o.cache_dir, PathBuf::from("/h/.cache/huggingface/hub"));
        assert!(!o.offline);
        assert_eq!(o.endpoint, DEFAULT_ENDPOINT);

        let o = opts(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(o.cache_dir, PathBuf::from("/x/huggingface/hub"));

        let o = opts(&[("HOME", "/h"), ("HF_HOME", "/hf")]);
        assert_eq!(o.cache_dir, PathBuf::from("/hf/hub"));

        let o = opts(&[
            ("HF_HOME", "/hf"),
            ("HF_HUB_CACHE", "/c"),
            ("HF_HUB_OFFLINE", "1"),
        ]);
        assert_eq!(o.cache_dir, PathBuf::from("/c"));
        assert!(o.offline);

        let o = opts(&[
            ("HF_HOME", "/hf"),
            ("HF_HUB_OFFLINE", "0"),
            ("HF_ENDPOINT", "http://m/"),
        ]);
        assert!(!o.offline);
        assert_eq!(o.endpoint, "http://m");
    }

    #[test]
    fn token_from_variable_or_file_and_never_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        std::fs::write(dir.path().join("token"), "hf_file\n").unwrap();
        let o = opts(&[("HF_HOME", home)]);
        assert_eq!(o.token.as_deref(), Some("hf_file"));
        let o = opts(&[("HF_HOME", home), ("HF_TOKEN", "hf_var")]);
        assert_eq!(o.token.as_deref(), Some("hf_var"));
        assert!(!format!("{o:?}").contains("hf_var"));
        let o = opts(&[("HF_HOME", "/nonexistent-tarjama")]);
        assert_eq!(o.token, None);
    }

    #[test]
    fn snapshot_dirs_give_their_commit() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        let dir = PathBuf::from(format!("/c/models--a--b/snapshots/{c}"));
        assert_eq!(snapshot_commit(&dir).as_deref(), Some(c));
        assert_eq!(snapshot_commit(Path::new("/c/models/x")), None);
    }
}
