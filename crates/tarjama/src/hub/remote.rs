//! Hugging Face Hub access: the settings ([`HubOptions`], read from the same variables
//! `huggingface_hub` (Python) honours), resolution of a repo at a revision from the Hub or from
//! the cache, and the cache fallback when the Hub cannot be reached. The requests and downloads
//! are in [`super::download`]; hf-hub gives the cache's folder names and refs.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hf_hub::{Cache, Repo, RepoType};

use super::download::{Client, Failure};
use super::layout::{self, DirSource, FileSource, Layout};
use super::observer::{self, DownloadObserver, Silent};
use crate::error::{ResolveError, ResolveKind};
use crate::{Error, Result};

/// The public Hugging Face Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How to reach the Hub and where its cache is. [`HubOptions::from_env`] builds it from the
/// environment; tests build it directly.
#[derive(Clone)]
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
    /// How long to wait for a connection, an answer, or the next bytes of a download before
    /// giving up on that try (`TARJAMA_HUB_TIMEOUT` in seconds, default [`DEFAULT_TIMEOUT`]).
    /// A repo info request that gets no answer in time falls back to the cache.
    pub timeout: Duration,
    /// How many times a stalled or broken transfer is tried again, resuming from the partial
    /// file (`TARJAMA_HUB_RETRIES`, default [`DEFAULT_RETRIES`]).
    pub retries: u32,
    /// Hears the downloads' progress and the notes (retries, waits, the cache fallback); the
    /// library prints nothing itself. [`Silent`] unless the caller sets one.
    pub observer: Arc<dyn DownloadObserver>,
}

/// The default [`HubOptions::timeout`]: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default [`HubOptions::retries`].
pub const DEFAULT_RETRIES: u32 = 3;

impl HubOptions {
    /// Options for the Hub at `endpoint` with the cache at `cache_dir`, online, without a token,
    /// with the default timeout and retries, and the [`Silent`] observer.
    pub fn new(cache_dir: impl Into<PathBuf>, endpoint: impl Into<String>) -> HubOptions {
        HubOptions {
            cache_dir: cache_dir.into(),
            offline: false,
            token: None,
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            observer: Arc::new(Silent),
        }
    }
}

impl fmt::Debug for HubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubOptions")
            .field("cache_dir", &self.cache_dir)
            .field("offline", &self.offline)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
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
    /// - endpoint: `HF_ENDPOINT`, else <https://huggingface.co>;
    ///
    /// and tarjama's own `TARJAMA_HUB_TIMEOUT` (seconds, above 0) and `TARJAMA_HUB_RETRIES`
    /// (values that do not parse keep the defaults). The observer is the one
    /// [`super::set_observer`] installed, else [`Silent`].
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
        let timeout = var("TARJAMA_HUB_TIMEOUT")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);
        let retries = var("TARJAMA_HUB_RETRIES")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map_or(DEFAULT_RETRIES, |r| r.min(100));
        HubOptions {
            cache_dir,
            offline,
            token,
            endpoint,
            timeout,
            retries,
            observer: observer::current(),
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
/// to the cache when the Hub cannot be reached or does not answer within
/// [`HubOptions::timeout`].
pub(crate) fn resolve_repo(repo: &str, revision: &str, opts: &HubOptions) -> Result<HubModel> {
    let name = display_name(repo, revision);
    if opts.offline {
        return match from_cache(repo, revision, opts)? {
            Some(model) => Ok(model),
            None => Err(ResolveError::new(
                name,
                ResolveKind::NotCached {
                    cache_dir: opts.cache_dir.clone(),
                },
            )
            .into()),
        };
    }

    // A commit never changes: when its files are all cached, the Hub has nothing to add (as
    // huggingface_hub, which skips the network for a cached file at a commit hash).
    if is_commit(revision) {
        if let Ok(Some(model)) = from_cache(repo, revision, opts) {
            return Ok(model);
        }
    }
    let client = Client::new(opts);
    let info = match client.repo_info(repo, revision) {
        Ok(info) => info,
        Err(Failure::Unreachable(reason)) => {
            return match from_cache(repo, revision, opts)? {
                Some(model) => {
                    opts.observer.note(&format!(
                        "note: cannot reach the Hugging Face Hub ({reason}); using the cached \
                         {name} ({})",
                        model.commit
                    ));
                    Ok(model)
                }
                None => Err(ResolveError::new(
                    name,
                    ResolveKind::Unreachable {
                        reason,
                        cache_dir: opts.cache_dir.clone(),
                    },
                )
                .into()),
            };
        }
        Err(e) => return Err(client.explain(&name, None, e, 1)),
    };

    let commit = info.sha;
    let repo_dir = opts.repo_cache_dir(repo);
    let snapshot = repo_dir.join("snapshots").join(&commit);
    let mut src = HubSource {
        client,
        repo: repo.to_string(),
        commit: commit.clone(),
        files: info.files.into_iter().collect(),
        repo_dir: repo_dir.clone(),
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
            .map_err(|e| Error::io(repo_dir.join("refs").join(revision), e))?;
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
        ResolveError::new(
            name.clone(),
            ResolveKind::PartlyCached {
                snapshot: snapshot.clone(),
                missing: what.to_string(),
            },
        )
        .into()
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
struct HubSource<'a> {
    client: Client<'a>,
    repo: String,
    commit: String,
    files: HashSet<String>,
    repo_dir: PathBuf,
    snapshot: PathBuf,
    name: String,
}

impl FileSource for HubSource<'_> {
    fn has(&self, name: &str) -> bool {
        self.files.contains(name)
    }

    fn fetch(&mut self, file: &str) -> Result<PathBuf> {
        let cached = self.snapshot.join(file);
        if cached.is_file() {
            return Ok(cached);
        }
        self.client
            .fetch(&self.name, &self.repo, &self.commit, file, &self.repo_dir)
    }

    fn missing(&self, what: &str) -> Error {
        Error::Model(format!("{} on the Hub: {what}", self.name))
    }
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

        assert_eq!(o.timeout, DEFAULT_TIMEOUT);
        assert_eq!(o.retries, DEFAULT_RETRIES);
        let o = opts(&[("TARJAMA_HUB_TIMEOUT", "1.5"), ("TARJAMA_HUB_RETRIES", "0")]);
        assert_eq!(o.timeout, Duration::from_millis(1500));
        assert_eq!(o.retries, 0);
        let o = opts(&[("TARJAMA_HUB_TIMEOUT", "-1")]);
        assert_eq!(o.timeout, DEFAULT_TIMEOUT);
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
