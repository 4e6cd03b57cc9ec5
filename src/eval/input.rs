//! Reading hypothesis and reference files for evaluation.
//!
//! Plain text has one segment per line, read as sacrebleu's command line reads it: lines end at
//! `\n` only, and trailing whitespace (including `\r`) is stripped from each line. JSON Lines
//! files give one segment per line from a named string field; that field may hold several
//! sentences separated by `\n`, which ROUGE-Lsum uses.

use std::path::{Path, PathBuf};

use super::py::py_rstrip;
use crate::{Error, Result};

/// Where the segments of one input come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// One segment per line.
    Lines,
    /// JSON Lines: one object per line, the segment is the named string field.
    JsonlField(String),
}

/// The segments of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segments {
    /// The file they were read from.
    pub path: PathBuf,
    /// One entry per segment.
    pub lines: Vec<String>,
}

/// Decodes file bytes as UTF-8, naming the file and the byte offset of the first bad byte.
pub fn decode_utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        Error::input(path, format!("invalid UTF-8 at byte {offset}"))
    })
}

/// Splits text into lines at `\n` (a final newline does not start another line) and strips
/// trailing whitespace from each, as sacrebleu's `line.rstrip()`.
pub fn split_lines(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n').map(|l| py_rstrip(l).to_string()).collect()
}

/// Parses JSON Lines text and takes `field` from every object.
pub fn parse_jsonl(path: &Path, text: &str, field: &str) -> Result<Vec<String>> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        let lineno = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Err(Error::input(
                path,
                format!("line {lineno}: empty line in a JSON Lines file"),
            ));
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::input(path, format!("line {lineno}: invalid JSON: {e}")))?;
        let text = match value.get(field) {
            Some(serde_json::Value::String(s)) => s,
            Some(_) => {
                return Err(Error::input(
                    path,
                    format!("line {lineno}: field {field:?} is not a string"),
                ))
            }
            None => {
                return Err(Error::input(
                    path,
                    format!("line {lineno}: no field {field:?}"),
                ))
            }
        };
        out.push(py_rstrip(text).to_string());
    }
    Ok(out)
}

/// Reads one input file: UTF-8 checked, non-empty, split into segments.
pub fn read_segments(path: &Path, format: &InputFormat) -> Result<Segments> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(Error::input(path, "file is empty"));
    }
    let text = decode_utf8(path, bytes)?;
    let lines = match format {
        InputFormat::Lines => split_lines(&text),
        InputFormat::JsonlField(field) => parse_jsonl(path, &text, field)?,
    };
    Ok(Segments {
        path: path.to_path_buf(),
        lines,
    })
}

/// Checks that every reference stream has as many segments as the hypothesis.
pub fn check_line_counts(hyp: &Segments, refs: &[Segments]) -> Result<()> {
    for r in refs {
        if r.lines.len() != hyp.lines.len() {
            return Err(Error::input(
                &hyp.path,
                format!(
                    "has {} segments but reference {} has {}; every line of the hypothesis must \
                     pair with one line of each reference",
                    hyp.lines.len(),
                    r.path.display(),
                    r.lines.len()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_like_sacrebleu() {
        assert_eq!(split_lines("a \r\nb\n\nc"), ["a", "b", "", "c"]);
        assert_eq!(split_lines("a\n"), ["a"]);
        assert_eq!(split_lines("a\n\n"), ["a", ""]);
    }

    #[test]
    fn utf8_offset() {
        let e = decode_utf8(Path::new("x.txt"), b"ab\xffc".to_vec()).unwrap_err();
        assert_eq!(e.to_string(), "x.txt: invalid UTF-8 at byte 2");
    }

    #[test]
    fn jsonl_field() {
        let t = "{\"translation\": \"Hello.\\nBye. \"}\n{\"translation\": \"x\"}\n";
        assert_eq!(
            parse_jsonl(Path::new("o.jsonl"), t, "translation").unwrap(),
            ["Hello.\nBye.", "x"]
        );
        assert!(parse_jsonl(Path::new("o.jsonl"), "{\"a\": 1}", "translation").is_err());
    }
}
