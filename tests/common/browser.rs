//! Drives Debian's headless Chromium from integration tests, through the `headless_chrome`
//! crate (its default features: it never downloads a browser).
//!
//! Include it with `#[path = "common/browser.rs"] mod browser;`. [`Browser::launch`] starts
//! `/usr/bin/chromium` (or `$TARJAMA_CHROMIUM`); [`Browser::open`] loads a `file://` or
//! `http://` URL in a new tab; a [`Page`] waits for selectors, evaluates JavaScript that
//! returns JSON, clicks, types and saves PNG screenshots. A missing Chromium fails the test
//! with the command that installs it: browser tests are never skipped.
//!
//! Each test crate uses only some of these, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{LaunchOptions, Tab};
use serde_json::Value;

/// Where Chromium is looked for when `TARJAMA_CHROMIUM` is not set (Debian's `chromium`).
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// How long [`Page::wait_for`] waits for a selector to match before failing the test.
const WAIT: Duration = Duration::from_secs(60);

/// The Chromium executable: `$TARJAMA_CHROMIUM`, else [`DEFAULT_CHROMIUM`]. Panics, naming
/// the install command, when it does not exist.
pub fn chromium_path() -> PathBuf {
    let path = std::env::var_os("TARJAMA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
    assert!(
        path.is_file(),
        "Chromium is not installed at {} (browser tests need it): run `apt-get install chromium \
         fonts-noto-core`, or set TARJAMA_CHROMIUM to a Chromium executable",
        path.display()
    );
    path
}

/// The `file://` URL of a local file (made absolute; bytes other than letters, digits and
/// `/-._~` percent-encoded).
pub fn file_url(path: &Path) -> String {
    let abs = std::fs::canonicalize(path)
        .unwrap_or_else(|e| panic!("{}: cannot open in the browser: {e}", path.display()));
    let mut url = String::from("file://");
    for &b in abs.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// A headless Chromium process; it is closed when dropped.
pub struct Browser {
    inner: headless_chrome::Browser,
}

impl Browser {
    /// Starts headless Chromium ([`chromium_path`]) with a 1280×900 window, a fresh profile
    /// (a temporary `--user-data-dir`), and everything that reaches out or needs a display
    /// off: `--headless --no-sandbox --disable-gpu` (tests run as root in CI), and
    /// `--disable-background-networking --disable-component-update --disable-sync
    /// --no-first-run` (the first, third and fourth are among `headless_chrome`'s default
    /// arguments). Panics when it cannot start.
    pub fn launch() -> Browser {
        let path = chromium_path();
        let args: Vec<&OsStr> = [
            "--disable-component-update",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-sync",
            "--no-first-run",
        ]
        .iter()
        .map(OsStr::new)
        .collect();
        let options = LaunchOptions::default_builder()
            .path(Some(path.clone()))
            .headless(true)
            .sandbox(false)
            .enable_gpu(false)
            .window_size(Some((1280, 900)))
            .idle_browser_timeout(Duration::from_secs(600))
            .args(args)
            .build()
            .expect("Chromium launch options");
        let inner = headless_chrome::Browser::new(options)
            .unwrap_or_else(|e| panic!("{}: Chromium did not start: {e}", path.display()));
        Browser { inner }
    }

    /// Opens `url` (`file://` or `http://`) in a new tab and waits until it has loaded.
    pub fn open(&self, url: &str) -> Page {
        let tab = self.inner.new_tab().expect("a new Chromium tab");
        tab.navigate_to(url)
            .and_then(|t| t.wait_until_navigated())
            .unwrap_or_else(|e| panic!("{url}: did not load: {e}"));
        Page { tab }
    }
}

/// One loaded tab.
pub struct Page {
    tab: Arc<Tab>,
}

impl Page {
    /// Waits (up to a minute) until `selector` matches an element; panics otherwise.
    pub fn wait_for(&self, selector: &str) -> &Page {
        self.tab
            .wait_for_element_with_custom_timeout(selector, WAIT)
            .unwrap_or_else(|e| panic!("no element matches {selector:?}: {e}"));
        self
    }

    /// Evaluates the JavaScript expression `js` and returns its value as JSON (through
    /// `JSON.stringify`, so objects and arrays come back whole; `undefined` is `null`).
    /// Panics, with the exception, when it throws.
    pub fn eval(&self, js: &str) -> Value {
        let wrapped = format!(
            "(() => {{ try {{ return JSON.stringify({{ ok: (() => ({js}))() ?? null }}); }} \
             catch (e) {{ return JSON.stringify({{ error: String((e && e.stack) || e) }}); }} }})()"
        );
        let obj = self
            .tab
            .evaluate(&wrapped, false)
            .unwrap_or_else(|e| panic!("JavaScript failed: {js}: {e}"));
        let text = match obj.value {
            Some(Value::String(s)) => s,
            other => panic!("JavaScript gave no value: {js}: {other:?}"),
        };
        let mut result: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{js}: not JSON ({e}): {text}"));
        if let Some(err) = result.get("error") {
            panic!("JavaScript threw: {js}: {err}");
        }
        result["ok"].take()
    }

    /// Clicks the first element matching `selector` (waiting for it).
    pub fn click(&self, selector: &str) -> &Page {
        self.tab
            .wait_for_element_with_custom_timeout(selector, WAIT)
            .and_then(|e| e.click().map(|_| ()))
            .unwrap_or_else(|e| panic!("cannot click {selector:?}: {e}"));
        self
    }

    /// Focuses the first element matching `selector` and types `text` into it, key by key
    /// (firing the input events a person's typing fires).
    pub fn type_into(&self, selector: &str, text: &str) -> &Page {
        self.tab
            .wait_for_element_with_custom_timeout(selector, WAIT)
            .and_then(|e| e.type_into(text).map(|_| ()))
            .unwrap_or_else(|e| panic!("cannot type into {selector:?}: {e}"));
        self
    }

    /// Saves a PNG screenshot of the visible page to `path` (creating its folder).
    pub fn screenshot(&self, path: &Path) {
        let png = self
            .tab
            .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("a screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
