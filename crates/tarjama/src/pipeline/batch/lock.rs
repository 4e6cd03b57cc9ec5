//! The lock on OUT_DIR: one `tarjama batch` at a time per output folder.
//!
//! [`OutDirLock::take`] creates `OUT_DIR/.tarjama.lock` (`.tarjama-K-of-N.lock` with
//! `--shard K/N`, so the shards of one run can share OUT_DIR), takes an exclusive OS file lock on it
//! (`flock` on Unix) and writes the process id and start time into it. A second run finds the
//! lock held and is refused with a message naming the running one. The OS releases the lock when
//! the process ends, however it ends, so the lock of a killed run is simply taken over. Dropping
//! the lock removes the file (and OUT_DIR, when this lock created it and nothing else is there).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::Shard;
use crate::error::{Error, Result};

/// The lock file's name in OUT_DIR without `--shard`.
pub const LOCK_FILE: &str = ".tarjama.lock";

/// The lock file's name in OUT_DIR for `shard`.
pub fn lock_file(shard: Option<Shard>) -> String {
    match shard {
        Some(s) => format!(".tarjama-{}-of-{}.lock", s.index, s.count),
        None => LOCK_FILE.to_string(),
    }
}

/// A held lock on an output folder; released (and its file removed) when dropped.
#[derive(Debug)]
pub struct OutDirLock {
    file: File,
    path: PathBuf,
    /// OUT_DIR when this lock created it (removed on drop if empty).
    created_dir: Option<PathBuf>,
}

impl OutDirLock {
    /// Takes the lock on `out_dir` (created if missing) for `shard` (see [`lock_file`]).
    ///
    /// Errors: OUT_DIR is not a folder or the lock file cannot be created; another process
    /// holds the lock (the message names OUT_DIR, that process's pid and its start time).
    pub fn take(out_dir: &Path, shard: Option<Shard>) -> Result<Self> {
        if out_dir.exists() && !out_dir.is_dir() {
            return Err(Error::input(out_dir, "exists and is not a folder"));
        }
        let created_dir = (!out_dir.exists()).then(|| out_dir.to_path_buf());
        fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
        let path = out_dir.join(lock_file(shard));
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut held = String::new();
                    let _ = file.read_to_string(&mut held);
                    return Err(Error::input(out_dir, in_use(&held)));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            // The holder may have removed the file between our open and our lock: then the
            // lock is on a file no one else will open; take the lock on the new file instead.
            if !same_file(&file, &path) {
                continue;
            }
            let started = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let record = format!("pid {}\nstarted {started}\n", std::process::id());
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(record.as_bytes()))
                .map_err(|e| Error::io(&path, e))?;
            return Ok(Self {
                file,
                path,
                created_dir,
            });
        }
    }
}

impl Drop for OutDirLock {
    fn drop(&mut self) {
        // Removed while still locked, so a run waiting on this file sees it is gone.
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
        if let Some(dir) = &self.created_dir {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Whether `file` is the file now at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// The refusal for a lock held by the run described by `held` (the lock file's text).
fn in_use(held: &str) -> String {
    let field = |key: &str| {
        held.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
    };
    let who = match (field("pid "), field("started ")) {
        (Some(pid), Some(t)) => format!("tarjama batch pid {pid} since {}", utc(t)),
        (Some(pid), None) => format!("tarjama batch pid {pid}"),
        _ => "another tarjama batch".to_string(),
    };
    format!("OUT_DIR is in use by {who}; wait for it to finish or choose another output folder")
}

/// `secs` since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_printed_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34:56 UTC");
    }

    #[test]
    fn a_second_lock_is_refused_and_a_released_one_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = OutDirLock::take(&out, None).unwrap();
        // Another shard of the same run takes its own lock.
        let shard = Some(Shard { index: 2, count: 3 });
        let other = OutDirLock::take(&out, shard).unwrap();
        assert!(out.join(".tarjama-2-of-3.lock").exists());
        assert!(OutDirLock::take(&out, shard).is_err());
        drop(other);
        let held = fs::read_to_string(out.join(LOCK_FILE)).unwrap();
        assert!(held.starts_with(&format!("pid {}\n", std::process::id())));
        let err = OutDirLock::take(&out, None).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "OUT_DIR is in use by tarjama batch pid {} since ",
                std::process::id()
            )),
            "{err}"
        );
        drop(first);
        assert!(!out.exists(), "the folder it created is removed");
        let again = OutDirLock::take(&out, None).unwrap();
        fs::write(out.join("kept"), "x").unwrap();
        drop(again);
        assert!(!out.join(LOCK_FILE).exists());
        assert!(out.join("kept").exists());
    }
}
