//! File-system helpers for everything tarjama writes: atomic replacement of a file (a temporary
//! file beside the target, written, synced, then renamed over it with `tempfile`), the
//! permissions a new or replaced output gets, folder sync after renames, the sweep of
//! temporary files a killed run left, where a user's output path leads ([`output_target`]:
//! through symlinks, to devices and FIFOs), and reading a JSON file.
//!
//! Used by `batch` (outputs, manifest, results) and by the CLI's `-o FILE`.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The permissions to give the temporary file that will replace `path` (unix): a replaced
/// file keeps its mode; a new one gets 0666 less the umask, like any file a program creates
/// (tempfile's own default would be 0600). `None` elsewhere. Shared by every atomic write
/// (`batch` outputs and manifest, `translate -o`, ...).
pub fn output_permissions(path: &Path) -> Option<fs::Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o666);
        Some(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// The step of an atomic write that failed (see [`replace`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStep {
    /// Creating the temporary file in the target's folder.
    CreateTemp,
    /// Writing the bytes to the temporary file.
    Write,
    /// Syncing the temporary file to disk.
    Sync,
    /// Renaming the temporary file over the target.
    Persist,
}

/// A failed atomic write: which step, and the I/O error. The target is untouched: it holds
/// its old contents, or is still missing.
#[derive(Debug)]
pub struct WriteError {
    /// The step that failed.
    pub step: WriteStep,
    /// The error.
    pub source: std::io::Error,
}

/// Replaces the file `path` with `bytes` atomically, in a folder `dir` that must exist (the
/// folder of `path`): the bytes go to a temporary file `dir/{prefix}XXXXXX{suffix}` with
/// [`output_permissions`], which is synced and renamed over `path`. A crash or an error leaves
/// either the old file or the new one, never a partial one; on error the temporary file is
/// removed.
///
/// The folder itself is not synced (see [`sync_dir`]).
///
/// Errors: the step that failed, with its I/O error ([`WriteError`]).
pub fn replace(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    prefix: &str,
    suffix: &str,
) -> std::result::Result<(), WriteError> {
    let fail = |step| move |source| WriteError { step, source };
    let mut builder = tempfile::Builder::new();
    if let Some(permissions) = output_permissions(path) {
        builder.permissions(permissions);
    }
    let mut tmp = builder
        .prefix(prefix)
        .suffix(suffix)
        .tempfile_in(dir)
        .map_err(fail(WriteStep::CreateTemp))?;
    tmp.write_all(bytes).map_err(fail(WriteStep::Write))?;
    tmp.as_file().sync_all().map_err(fail(WriteStep::Sync))?;
    tmp.persist(path)
        .map_err(|e| fail(WriteStep::Persist)(e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`replace`]) through a temporary file named
/// `{prefix}XXXXXX.tmp` in the same folder, creating the folder if needed.
///
/// Errors: [`Error::Io`] naming the folder (it cannot be created, or no file can be created in
/// it) or `path` (writing, syncing or renaming failed).
pub fn write_atomic(path: &Path, bytes: &[u8], prefix: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    replace(dir, path, bytes, prefix, ".tmp").map_err(|e| match e.step {
        WriteStep::CreateTemp => Error::io(dir, e.source),
        _ => Error::io(path, e.source),
    })
}

/// Rewrites a JSONL file atomically ([`write_atomic`]) with `lines` only, each followed by a
/// newline.
///
/// Errors: as [`write_atomic`].
pub fn rewrite_lines(path: &Path, lines: &[String], prefix: &str) -> Result<()> {
    let mut text = String::new();
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes(), prefix)
}

/// Removes the file at `path` if there is one.
///
/// Errors: it exists and cannot be removed.
pub fn remove_file_if_there(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// Syncs a folder so renames in it survive a power loss (best effort: not every file system
/// allows it).
pub fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Removes, under `dir` (recursively), the files whose names start with `prefix`: the
/// temporary files a killed run left. A folder that cannot be listed is passed over.
///
/// Errors: such a file cannot be removed.
pub fn remove_stale_temps(dir: &Path, prefix: &str) -> Result<()> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            remove_stale_temps(&path, prefix)?;
        } else if ft.is_file() && entry.file_name().to_string_lossy().starts_with(prefix) {
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Where a write to a user-given output path (`-o PATH`) goes, symlinks followed
/// ([`output_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// A regular file, or a path where none exists yet (also the missing target of a dangling
    /// symlink): written atomically ([`replace`]) with the temporary file beside this path, so
    /// a symlink that led here stays a symlink.
    File(PathBuf),
    /// A character device, a FIFO, or a descriptor the process already has open
    /// (`/dev/stdout`, `/dev/fd/N`): written straight, with no temporary file and no rename.
    Stream(PathBuf),
}

/// The most symlinks [`output_target`] follows (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Follows `path` through its symlinks (a relative link is read from the link's folder) to
/// what a write should reach. A dangling symlink leads to the missing path it names, which is
/// then created, as the shell's `>` does. A link into `/proc` (`/dev/stdout` →
/// `/proc/self/fd/1`) is an open descriptor and is written straight, whatever it refers to.
///
/// Errors: [`Error::Input`] naming `path` (and the link's target where they differ) when it
/// leads to a directory, a socket, a block device or another non-regular file, or goes through
/// more than 40 links; [`Error::Io`] when a link or the file cannot be examined.
pub fn output_target(path: &Path) -> Result<OutputTarget> {
    let mut cur = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let meta = match fs::symlink_metadata(&cur) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(OutputTarget::File(cur))
            }
            Err(e) => return Err(Error::io(&cur, e)),
            Ok(m) => m,
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            let parent = cur.parent().unwrap_or(Path::new(""));
            let in_proc = fs::canonicalize(if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            })
            .is_ok_and(|p| p.starts_with("/proc"));
            if in_proc {
                // A descriptor link: its target text (`pipe:[123]`) is no path.
                let meta = fs::metadata(&cur).map_err(|e| Error::io(&cur, e))?;
                return match kind_refused(&meta.file_type()) {
                    Some(kind) => Err(refused(path, &cur, kind)),
                    None => Ok(OutputTarget::Stream(cur)),
                };
            }
            let link = fs::read_link(&cur).map_err(|e| Error::io(&cur, e))?;
            cur = parent.join(link);
            continue;
        }
        if ft.is_file() {
            return Ok(OutputTarget::File(cur));
        }
        if is_stream(&ft) {
            return Ok(OutputTarget::Stream(cur));
        }
        let kind = kind_refused(&ft).unwrap_or("not a regular file");
        return Err(refused(path, &cur, kind));
    }
    Err(Error::input(path, "too many levels of symbolic links"))
}

/// A character device or a FIFO.
fn is_stream(ft: &fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        ft.is_char_device() || ft.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = ft;
        false
    }
}

/// What kind of file an output may not be, or `None` for one it may be (a regular file, a
/// character device, a FIFO).
fn kind_refused(ft: &fs::FileType) -> Option<&'static str> {
    if ft.is_file() || is_stream(ft) {
        return None;
    }
    if ft.is_dir() {
        return Some("is a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_socket() {
            return Some("is a socket");
        }
        if ft.is_block_device() {
            return Some("is a block device");
        }
    }
    Some("is not a regular file")
}

/// The error for an output path that leads to a file that must not be written.
fn refused(path: &Path, target: &Path, kind: &str) -> Error {
    let through = if target != path {
        format!(" (the symlink's target {})", target.display())
    } else {
        String::new()
    };
    Error::input(
        path,
        format!("{kind}{through}; -o writes a regular file, a character device or a FIFO"),
    )
}

/// Writes `bytes` straight to a character device, FIFO or open descriptor (an
/// [`OutputTarget::Stream`]): opened for appending, neither created nor truncated, so
/// `-o /dev/stdout >> log` adds to `log` as the shell's own redirection would.
///
/// Errors: [`Error::Io`] naming `path`.
pub fn write_stream(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = open_stream(path)?;
    f.write_all(bytes)
        .and_then(|_| f.flush())
        .map_err(|e| Error::io(path, e))
}

/// Opens a character device, FIFO or open descriptor (an [`OutputTarget::Stream`]) the way
/// [`write_stream`] does (for appending, neither created nor truncated), for a caller that
/// writes it piece by piece. Opening a FIFO waits for its reader.
///
/// Errors: [`Error::Io`] naming `path`.
pub fn open_stream(path: &Path) -> Result<fs::File> {
    fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// Reads and parses the JSON file at `path` as `T`.
///
/// Errors: [`Error::Io`] when it cannot be read, [`Error::Input`] `"{path}: invalid JSON: …"`
/// when it does not parse as `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::input(path, format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("out.txt");
        write_atomic(&path, b"one\n", ".t-").unwrap();
        write_atomic(&path, b"two\n", ".t-").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty folder: the rename over it fails after the temporary
        // file was written and synced.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep.txt"), b"old").unwrap();
        let err = replace(dir.path(), &path, b"new", ".t-", ".tmp").unwrap_err();
        assert_eq!(err.step, WriteStep::Persist);
        assert_eq!(fs::read(path.join("keep.txt")).unwrap(), b"old");
        // A folder that does not exist: nothing can be created.
        let missing = dir.path().join("none");
        let err = replace(&missing, &missing.join("f"), b"x", ".t-", "").unwrap_err();
        assert_eq!(err.step, WriteStep::CreateTemp);
        // A regular file whose temporary cannot be created (its "folder" is a file): the old
        // contents stay.
        let file = dir.path().join("old.txt");
        fs::write(&file, b"old").unwrap();
        let err = replace(&file, &file, b"new", ".t-", "").unwrap_err();
        assert_eq!(err.step, WriteStep::CreateTemp);
        assert_eq!(fs::read(&file).unwrap(), b"old");
        fs::remove_file(&file).unwrap();
        // No temporary file is left behind.
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["taken"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_new_one_follows_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new", ".t-").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // A new file: 0666 asked, less the process's umask (never tempfile's 0600 alone).
        let fresh = dir.path().join("fresh.txt");
        assert_eq!(output_permissions(&fresh).unwrap().mode() & 0o7777, 0o666);
        write_atomic(&fresh, b"x", ".t-").unwrap();
        let a = std::process::Command::new("sh")
            .args(["-c", "umask"])
            .output()
            .unwrap();
        let umask = u32::from_str_radix(String::from_utf8_lossy(&a.stdout).trim(), 8).unwrap();
        let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o666 & !umask);
    }

    #[test]
    fn stale_temporaries_with_the_prefix_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        fs::write(dir.path().join("a").join(".tmp-all-x.tmp"), b"").unwrap();
        fs::write(dir.path().join(".tmp-1-of-2-y.tmp"), b"").unwrap();
        fs::write(dir.path().join("keep.txt"), b"").unwrap();
        remove_stale_temps(dir.path(), ".tmp-all-").unwrap();
        assert!(!dir.path().join("a").join(".tmp-all-x.tmp").exists());
        assert!(dir.path().join(".tmp-1-of-2-y.tmp").exists());
        assert!(dir.path().join("keep.txt").exists());
    }

    #[test]
    fn json_files_are_read_and_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        fs::write(&path, br#"{"a": 1}"#).unwrap();
        let v: serde_json::Value = read_json(&path).unwrap();
        assert_eq!(v["a"], 1);
        fs::write(&path, b"{").unwrap();
        let err = read_json::<serde_json::Value>(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{}: invalid JSON: ", path.display())),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn output_targets_follow_links_and_refuse_non_regular_files() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("sub/real.txt"), b"old").unwrap();
        // A relative link, read from the link's folder, and a link to that link.
        symlink("sub/real.txt", d.join("link")).unwrap();
        symlink("link", d.join("link2")).unwrap();
        let real = OutputTarget::File(d.join("sub/real.txt"));
        assert_eq!(output_target(&d.join("link")).unwrap(), real);
        assert_eq!(output_target(&d.join("link2")).unwrap(), real);
        // A dangling link leads to the file it names; a missing path is itself.
        symlink("sub/new.txt", d.join("dangling")).unwrap();
        assert_eq!(
            output_target(&d.join("dangling")).unwrap(),
            OutputTarget::File(d.join("sub/new.txt"))
        );
        assert_eq!(
            output_target(&d.join("none")).unwrap(),
            OutputTarget::File(d.join("none"))
        );
        // Devices, FIFOs and descriptors are written straight.
        assert_eq!(
            output_target(Path::new("/dev/null")).unwrap(),
            OutputTarget::Stream("/dev/null".into())
        );
        assert_eq!(
            output_target(Path::new("/dev/stdout")).unwrap(),
            OutputTarget::Stream("/proc/self/fd/1".into())
        );
        let fifo = d.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(
                output_target(&fifo).unwrap(),
                OutputTarget::Stream(fifo.clone())
            );
        }
        // A directory, directly or through a link, and a socket are refused.
        let err = output_target(&d.join("sub")).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: is a directory; -o writes a regular file, a character device or a FIFO",
                d.join("sub").display()
            )
        );
        symlink("sub", d.join("dirlink")).unwrap();
        let err = output_target(&d.join("dirlink")).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: is a directory (the symlink's target {}); -o writes a regular file, a \
                 character device or a FIFO",
                d.join("dirlink").display(),
                d.join("sub").display()
            )
        );
        let sock = d.join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let err = output_target(&sock).unwrap_err().to_string();
        assert!(
            err.ends_with(": is a socket; -o writes a regular file, a character device or a FIFO"),
            "{err}"
        );
        // A loop of links.
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        let err = output_target(&d.join("loop1")).unwrap_err().to_string();
        assert!(
            err.ends_with(": too many levels of symbolic links"),
            "{err}"
        );
        // A stream write neither creates nor replaces anything.
        write_stream(Path::new("/dev/null"), b"x").unwrap();
        assert!(write_stream(&d.join("absent"), b"x").is_err());
        assert!(!d.join("absent").exists());
    }
}
