//! What the Hub client tells its caller while it works: a [`DownloadObserver`] hears each file's
//! transfer start, advance and end, and the notes (a retry, a wait on another process, the cache
//! used because the Hub cannot be reached). The library never prints them; the CLI draws them on
//! stderr, a test records them. [`Silent`] ignores everything and is the default.

use std::sync::{Arc, OnceLock, RwLock};

/// Hears the events of Hub downloads. Every method has an empty default, so an observer
/// implements only what it shows. Calls come from the thread that resolves the model, one file
/// at a time: `started`, any number of `progress`, then `stopped`, then `finished` when the file
/// is checked and in the cache (a failed transfer or a checksum mismatch gets no `finished`;
/// the error follows).
pub trait DownloadObserver: Send + Sync {
    /// The transfer of one file begins. `label` names it (`owner/name file`), `total` is the
    /// announced size in bytes where the Hub gave one, `resumed_at` the bytes already in the
    /// partial file (`blobs/<etag>.incomplete`) that the transfer continues from (0 for a new
    /// file).
    fn started(&self, label: &str, total: Option<u64>, resumed_at: u64) {
        let _ = (label, total, resumed_at);
    }

    /// `bytes` of the file `label` are on disk so far (the partial file's length), after each
    /// chunk read from the network.
    fn progress(&self, label: &str, bytes: u64) {
        let _ = (label, bytes);
    }

    /// A one-line note for the user: a retry (`...; trying again (2 of 4)`), a wait on another
    /// process's lock, the cached copy used because the Hub cannot be reached. Comes between
    /// `started` and `stopped` when it concerns a transfer, else at any time.
    fn note(&self, msg: &str) {
        let _ = msg;
    }

    /// The transfer of `label` is over, successful or not: no more `progress` for it. The checks
    /// (size, checksum) follow.
    fn stopped(&self, label: &str) {
        let _ = label;
    }

    /// `label` passed its checks and is in the cache: `bytes` long, downloaded in `seconds`
    /// (since `started`).
    fn finished(&self, label: &str, bytes: u64, seconds: f64) {
        let _ = (label, bytes, seconds);
    }
}

/// A [`DownloadObserver`] that ignores everything: [`super::HubOptions::new`]'s, and
/// [`super::HubOptions::from_env`]'s unless [`set_observer`] installed another.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl DownloadObserver for Silent {}

fn installed() -> &'static RwLock<Option<Arc<dyn DownloadObserver>>> {
    static OBSERVER: OnceLock<RwLock<Option<Arc<dyn DownloadObserver>>>> = OnceLock::new();
    OBSERVER.get_or_init(|| RwLock::new(None))
}

/// Makes `observer` the one [`super::HubOptions::from_env`] gives from now on, and so the one
/// [`super::resolve`] and model loading (which read the environment) report to. The CLI installs
/// its progress drawing here, or [`Silent`] for `--quiet`.
pub fn set_observer(observer: Arc<dyn DownloadObserver>) {
    let mut slot = installed().write().unwrap_or_else(|e| e.into_inner());
    *slot = Some(observer);
}

/// The observer [`set_observer`] installed, else [`Silent`].
pub(crate) fn current() -> Arc<dyn DownloadObserver> {
    let slot = installed().read().unwrap_or_else(|e| e.into_inner());
    slot.clone().unwrap_or_else(|| Arc::new(Silent))
}
