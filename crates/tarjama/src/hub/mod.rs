//! Model resolution: turn `--model` (a local directory, a preset name or a Hub repo id, the
//! last two optionally with `@revision`) and `--revision` into the paths of the model's files.
//!
//! ```no_run
//! let files = tarjama::hub::resolve(tarjama::hub::DEFAULT_TRANSLATOR, None)?;
//! println!("{}", files.config.display());
//! # Ok::<(), tarjama::Error>(())
//! ```
//!
//! A model directory is in the Hub's layout: `config.json`, optional `generation_config.json`,
//! weights (`model.safetensors`, sharded safetensors with `model.safetensors.index.json`, or
//! `pytorch_model.bin`) and tokenizer files (`tokenizer.json`, or Marian's `source.spm`,
//! `target.spm` and `vocab.json`, or T5's `spiece.model`, or BPE `vocab.json` and `merges.txt`).
//! Hub repos are fetched by our own requests (`hub/download.rs`: checked and resumable) into the
//! shared Hugging Face cache in huggingface_hub's layout, configured by [`HubOptions`]
//! (`HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_TOKEN`, `HF_ENDPOINT`); progress and notes
//! go to a [`DownloadObserver`], never to stderr.

mod download;
mod layout;
mod observer;
mod preset;
mod remote;

use std::path::{Path, PathBuf};

pub use download::format_size;
pub use layout::Weights;
pub use observer::{set_observer, DownloadObserver, Silent};
pub use preset::{
    preset, preset_names, presets, Preset, DEFAULT_ARABIC_SUMMARIZER, DEFAULT_SUMMARIZER,
    DEFAULT_TRANSLATOR,
};
pub use remote::{HubOptions, DEFAULT_ENDPOINT, DEFAULT_RETRIES, DEFAULT_TIMEOUT};

use crate::error::{not_a_preset_hint, ResolveError, ResolveKind};
use crate::{Error, Result};

/// What a `--model` string names, before anything is read or downloaded.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// An existing local directory in the Hub's layout.
    Local(PathBuf),
    /// A shipped preset, with the revision to use (the preset's unless overridden).
    Preset {
        /// The preset (boxed: it is much larger than the other variants).
        preset: Box<Preset>,
        /// Hub revision to fetch.
        revision: String,
    },
    /// A Hub repo id (`owner/name`) at a revision (`main` unless given).
    Hub {
        /// Repo id.
        repo: String,
        /// Branch, tag or commit.
        revision: String,
    },
}

impl ModelSpec {
    /// Classifies `model`: an existing directory, else a preset name, else a Hub repo id; a
    /// preset or repo id may end in `@revision` (`owner/name@v1.0`, `opus-mt-ar-en@<commit>`).
    /// Strings that look like paths (`./x`, `/x`, `a/b/c`, `~/x`) but are not directories,
    /// `revision` given with a local directory, and `@a` with a different `revision` `b`, are
    /// errors naming the string.
    pub fn parse(model: &str, revision: Option<&str>) -> Result<ModelSpec> {
        let fail = |kind| Err(ResolveError::new(model, kind).into());
        if model.trim().is_empty() {
            return fail(ResolveKind::Empty);
        }
        if let Some(rev) = revision {
            if !is_revision(rev) {
                return Err(Error::Config(format!(
                    "--revision {rev:?} is not a valid revision"
                )));
            }
        }
        let (model, revision) = match split_revision(model) {
            Some((name, at)) => {
                if !is_revision(at) {
                    return fail(ResolveKind::BadRevision {
                        revision: at.to_string(),
                    });
                }
                if let Some(msg) = revision_conflict(model, revision) {
                    return Err(Error::Config(msg));
                }
                (name, Some(at))
            }
            None => (model, revision),
        };
        let path = Path::new(model);
        if path.is_dir() {
            if let Some(rev) = revision {
                return Err(ResolveError::new(
                    model,
                    ResolveKind::RevisionForDirectory {
                        revision: rev.to_string(),
                    },
                )
                .into());
            }
            return Ok(ModelSpec::Local(path.to_path_buf()));
        }
        if path.exists() {
            return Err(ResolveError::new(
                model,
                ResolveKind::NotADirectory {
                    path: path.to_path_buf(),
                },
            )
            .into());
        }
        if let Some(preset) = preset(model) {
            let revision = revision.map_or_else(|| preset.revision.clone(), str::to_string);
            return Ok(ModelSpec::Preset {
                preset: Box::new(preset),
                revision,
            });
        }
        if looks_like_path(model) {
            return Err(Error::input(
                path,
                "no such directory (a model directory must exist; presets and Hub repo ids \
                 are names like opus-mt-ar-en or owner/name)",
            ));
        }
        if is_repo_id(model) {
            return Ok(ModelSpec::Hub {
                repo: model.to_string(),
                revision: revision.unwrap_or("main").to_string(),
            });
        }
        Err(ResolveError::new(model, ResolveKind::BadName).into())
    }
}

/// Where a resolved model came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local directory, as given.
    Local(PathBuf),
    /// A Hub repo at the requested revision (branch, tag or commit).
    Hub {
        /// Repo id, `owner/name`.
        repo: String,
        /// The revision asked for; [`ModelFiles::revision`] has the commit it resolved to.
        revision: String,
    },
}

/// The files of a resolved model, all local paths that exist.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFiles {
    /// Where the model came from.
    pub source: ModelSource,
    /// The directory holding the files: the local directory or the cache snapshot.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// `generation_config.json`, where the model has one.
    pub generation_config: Option<PathBuf>,
    /// The weights.
    pub weights: Weights,
    /// The tokenizer files (what [`crate::tokenize::load`] builds the tokenizer from).
    pub tokenizer: crate::tokenize::TokenizerFiles,
    /// `tokenizer_config.json`, where the model has one.
    pub tokenizer_config: Option<PathBuf>,
    /// The preset the model was named by, if any.
    pub preset: Option<Preset>,
    /// The commit the files belong to, when known (Hub models, and local directories that are
    /// cache snapshots `.../snapshots/<commit>`).
    pub revision: Option<String>,
}

impl ModelFiles {
    /// The files of the model in the local directory `dir` (Hub layout). Errors name `dir` and
    /// what is missing, e.g. `models/x: no model weights (model.safetensors, ...)`.
    pub fn from_dir(dir: &Path) -> Result<ModelFiles> {
        if !dir.is_dir() {
            let msg = if dir.exists() {
                "not a directory"
            } else {
                "no such directory"
            };
            return Err(Error::input(dir, msg));
        }
        let missing = |what: &str| Error::input(dir, what);
        let found = layout::detect(&mut layout::DirSource {
            dir,
            missing: &missing,
        })?;
        Ok(ModelFiles::new(
            ModelSource::Local(dir.to_path_buf()),
            dir.to_path_buf(),
            found,
            None,
            remote::snapshot_commit(dir),
        ))
    }

    fn new(
        source: ModelSource,
        dir: PathBuf,
        found: layout::Layout,
        preset: Option<Preset>,
        revision: Option<String>,
    ) -> ModelFiles {
        ModelFiles {
            source,
            dir,
            config: found.config,
            generation_config: found.generation_config,
            weights: found.weights,
            tokenizer: found.tokenizer,
            tokenizer_config: found.tokenizer_config,
            preset,
            revision,
        }
    }
}

/// Resolves `model` (a local directory, a preset name or a Hub repo id, tried in that order)
/// at `revision`, with Hub settings from the environment ([`HubOptions::from_env`]).
/// Hub files are downloaded into the cache when missing; see [`resolve_with`].
pub fn resolve(model: &str, revision: Option<&str>) -> Result<ModelFiles> {
    resolve_with(model, revision, &HubOptions::from_env())
}

/// [`resolve`] with explicit Hub settings. For a Hub repo or preset: offline, the cache alone
/// answers; online, the Hub gives the revision's commit and file list, only the needed files
/// not yet cached are downloaded, and if the Hub cannot be reached a cached copy is used, or
/// else one error says so and how to use a local directory instead.
pub fn resolve_with(model: &str, revision: Option<&str>, opts: &HubOptions) -> Result<ModelFiles> {
    match ModelSpec::parse(model, revision)? {
        ModelSpec::Local(dir) => ModelFiles::from_dir(&dir),
        ModelSpec::Preset { preset, revision } => {
            let repo = preset.repo.clone();
            from_hub(&repo, &revision, Some(*preset), opts)
        }
        ModelSpec::Hub { repo, revision } => {
            from_hub(&repo, &revision, None, opts).map_err(|e| {
                // A single name is more often a mistyped preset than a legacy Hub repo.
                if repo.contains('/') {
                    return e;
                }
                match e {
                    Error::Model(msg) => Error::Model(msg + &not_a_preset_hint()),
                    Error::Download(d) => Error::Model(d.to_string() + &not_a_preset_hint()),
                    Error::Resolve(mut r) => {
                        r.not_a_preset = true;
                        Error::Resolve(r)
                    }
                    e => e,
                }
            })
        }
    }
}

fn from_hub(
    repo: &str,
    revision: &str,
    preset: Option<Preset>,
    opts: &HubOptions,
) -> Result<ModelFiles> {
    let model = remote::resolve_repo(repo, revision, opts)?;
    Ok(ModelFiles::new(
        ModelSource::Hub {
            repo: repo.to_string(),
            revision: revision.to_string(),
        },
        model.snapshot,
        model.layout,
        preset,
        Some(model.commit),
    ))
}

/// Splits `name@revision`, unless `s` is an existing directory (whose name may hold an `@`).
/// `None` when there is no `@`.
pub fn split_revision(s: &str) -> Option<(&str, &str)> {
    if Path::new(s).is_dir() {
        return None;
    }
    s.rsplit_once('@')
}

/// The contradiction in `model` = `NAME@A` with `revision` = `B` (A ≠ B), as a message naming
/// both; `None` when they agree or either is absent.
pub fn revision_conflict(model: &str, revision: Option<&str>) -> Option<String> {
    let (_, at) = split_revision(model)?;
    let rev = revision.filter(|r| *r != at)?;
    Some(format!(
        "{model} names revision {at} but --revision says {rev}; give it once"
    ))
}

/// Whether `s` reads as a filesystem path rather than a preset or repo id.
fn looks_like_path(s: &str) -> bool {
    s.starts_with(['.', '/', '~', '\\'])
        || s.contains('\\')
        || s.ends_with('/')
        || s.contains("//")
        || s.matches('/').count() > 1
        || Path::new(s).is_absolute()
}

/// Whether `s` is a Hub model repo id: `name` or `owner/name`, each part of ASCII letters,
/// digits, `-`, `_`, `.`, not starting or ending with `-` or `.`, without `--` or `..`.
pub(crate) fn is_repo_id(s: &str) -> bool {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !p.starts_with(['-', '.'])
            && !p.ends_with(['-', '.'])
            && !p.contains("--")
            && !p.contains("..")
    };
    let parts: Vec<&str> = s.split('/').collect();
    s.len() <= 96 && (1..=2).contains(&parts.len()) && parts.iter().all(|p| part_ok(p))
}

/// Whether `s` is a usable revision (branch, tag, `refs/pr/N` or commit) that cannot escape
/// the cache's `refs/` directory.
pub fn is_revision(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && !s.starts_with('/')
        && !s.ends_with('/')
        && !s.contains("//")
        && s.split('/').all(|p| p != "." && p != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_and_revisions() {
        for ok in ["Helsinki-NLP/opus-mt-ar-en", "t5-small", "a_b/c.d-1"] {
            assert!(is_repo_id(ok), "{ok}");
        }
        for bad in [
            "", "a/b/c", "a//b", "-a/b", "a/b.", "a--b/c", "a/../b", "a b/c", "/a",
        ] {
            assert!(!is_repo_id(bad), "{bad}");
        }
        for ok in [
            "main",
            "v1.0",
            "refs/pr/3",
            "0123456789abcdef0123456789abcdef01234567",
        ] {
            assert!(is_revision(ok), "{ok}");
        }
        for bad in ["", "..", "../x", "a/../b", "/main", "main/", "a b"] {
            assert!(!is_revision(bad), "{bad}");
        }
    }

    #[test]
    fn names_take_an_at_revision() {
        let spec = ModelSpec::parse("someone/x@v1.0", None).unwrap();
        assert_eq!(
            spec,
            ModelSpec::Hub {
                repo: "someone/x".into(),
                revision: "v1.0".into()
            }
        );
        assert_eq!(
            ModelSpec::parse("someone/x@v1", Some("v1")).unwrap(),
            ModelSpec::parse("someone/x", Some("v1")).unwrap()
        );
        match ModelSpec::parse("opus-mt-ar-en@refs/pr/2", None).unwrap() {
            ModelSpec::Preset { preset, revision } => {
                assert_eq!(preset.name, "opus-mt-ar-en");
                assert_eq!(revision, "refs/pr/2");
            }
            other => panic!("{other:?}"),
        }
        let e = ModelSpec::parse("someone/x@v1", Some("v2")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "someone/x@v1 names revision v1 but --revision says v2; give it once"
        );
        let e = ModelSpec::parse("someone/x@..", None).unwrap_err();
        assert!(
            e.to_string().contains("\"..\" is not a valid revision"),
            "{e}"
        );
        // A directory whose name holds an `@` is a directory.
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("model@2");
        std::fs::create_dir(&at).unwrap();
        let spec = ModelSpec::parse(at.to_str().unwrap(), None).unwrap();
        assert_eq!(spec, ModelSpec::Local(at));
    }

    #[test]
    fn paths_are_told_apart_from_names() {
        for p in ["./m", "../m", "/m", "~/m", "a/b/c", "m/", "a\\b"] {
            assert!(looks_like_path(p), "{p}");
        }
        for n in ["opus-mt-ar-en", "Helsinki-NLP/opus-mt-ar-en"] {
            assert!(!looks_like_path(n), "{n}");
        }
    }
}
