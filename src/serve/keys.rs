//! `--api-keys FILE`: the keys a request may carry as `api_key`.

use std::collections::HashSet;
use std::path::Path;

/// The accepted API keys.
#[derive(Debug)]
pub struct ApiKeys(HashSet<String>);

impl ApiKeys {
    /// Reads `path`: one key per line, surrounding spaces trimmed; blank lines and lines
    /// starting with `#` are skipped.
    ///
    /// Errors: the file cannot be read, or holds no key (naming the file).
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the API keys: {e}", path.display()))?;
        let keys: HashSet<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        if keys.is_empty() {
            anyhow::bail!("{}: no API key in the file (one per line)", path.display());
        }
        Ok(ApiKeys(keys))
    }

    /// Whether `key` is one of them.
    pub fn accepts(&self, key: &str) -> bool {
        self.0.contains(key)
    }
}
