//! Reading hypothesis and reference files for evaluation.
//!
//! Plain text has one segment per line, read as sacrebleu's command line reads it: lines end at
//! `\n` only, and trailing whitespace (including `\r`) is stripped from each line. A leading
//! UTF-8 byte order mark stays part of the first line, as it does for sacrebleu (Python's
//! `open(..., encoding='utf-8')` keeps it). JSON Lines files give one segment per line from a
//! named string field; that field may hold several sentences separated by `\n`, which
//! ROUGE-Lsum uses. There a leading byte order mark is skipped and blank lines at the end of the
//! file are ignored. [`InputFormat::JsonlJoined`] joins consecutive records that share the value
//! of a key field (tarjama translate's `line`) into one segment, so per-sentence records can be
//! scored against a reference with one line per input line.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::py::py_rstrip;
use crate::{Error, Result};

/// The file name that means standard input (`tarjama eval --ref ref.txt -`).
pub const STDIN: &str = "-";

/// The name standard input goes by in messages and reports.
pub const STDIN_NAME: &str = "<stdin>";

/// Where the segments of one input come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// One segment per line.
    Lines,
    /// JSON Lines: one object per line, the segment is the named string field.
    JsonlField(String),
    /// JSON Lines, one segment per run of consecutive objects with the same value of `join`
    /// (and the same `file` value, when they have one): the `field` strings of the run, each
    /// trimmed, joined with a single space, empty ones skipped (see [`parse_jsonl_joined`]).
    JsonlJoined {
        /// The string field holding each record's text.
        field: String,
        /// The field whose value groups consecutive records (`line` for tarjama's output).
        join: String,
    },
}

/// The field that, when records have it, must also agree for records to be joined.
pub const JOIN_FILE_FIELD: &str = "file";

/// The segments of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segments {
    /// The file they were read from ([`STDIN_NAME`] for standard input).
    pub path: PathBuf,
    /// One entry per segment.
    pub lines: Vec<String>,
}

/// Decodes file bytes as UTF-8, naming the file, the line (from 1) and the byte offset (from
/// the start of the file, from 0) of the first bad byte.
pub fn decode_utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        Error::input(path, format!("invalid UTF-8 at line {line}, byte {offset}"))
    })
}

/// Splits text into lines at `\n` (a final newline does not start another line) and strips
/// trailing whitespace from each, as sacrebleu's `line.rstrip()`.
pub fn split_lines(text: &str) -> Vec<String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n').map(|l| py_rstrip(l).to_string()).collect()
}

/// The first `\uXXXX` escape of a JSON line that encodes half of a UTF-16 surrogate pair
/// without the other half: its text and its column (from 1, in characters).
fn lone_surrogate_escape(line: &str) -> Option<(String, usize)> {
    let chars: Vec<char> = line.chars().collect();
    let hex_at = |k: usize| -> Option<u32> {
        if chars.get(k) != Some(&'\\') || chars.get(k + 1) != Some(&'u') {
            return None;
        }
        let h: String = chars.get(k + 2..k + 6)?.iter().collect();
        u32::from_str_radix(&h, 16).ok()
    };
    let mut k = 0;
    while k < chars.len() {
        if chars[k] != '\\' {
            k += 1;
            continue;
        }
        match hex_at(k) {
            Some(u @ 0xD800..=0xDBFF) => {
                if matches!(hex_at(k + 6), Some(0xDC00..=0xDFFF)) {
                    k += 12;
                } else {
                    return Some((format!("\\u{u:04x}"), k + 1));
                }
            }
            Some(u @ 0xDC00..=0xDFFF) => return Some((format!("\\u{u:04x}"), k + 1)),
            Some(_) => k += 6,
            // any other escape: skip the escaped character (`\\` included)
            None => k += 2,
        }
    }
    None
}

/// Describes why one JSON Lines line does not parse, without serde's position within the
/// line (which is always line 1): `column 14: expected value`.
fn json_error(line: &str, e: &serde_json::Error) -> String {
    if let Some((escape, col)) = lone_surrogate_escape(line) {
        return format!(
            "column {col}: the escape {escape} is half of a UTF-16 surrogate pair without its \
             other half, which is not valid Unicode text; write the character itself or its \
             complete pair"
        );
    }
    let msg = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
    format!("column {}: {msg}", e.column())
}

/// The objects of JSON Lines text with their line numbers (from 1). A leading UTF-8 byte order
/// mark is skipped and blank (or whitespace-only) lines at the end are ignored; a blank line
/// before the last object is an error.
fn parse_jsonl_values(path: &Path, text: &str) -> Result<Vec<(usize, serde_json::Value)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(Error::input(
            path,
            "no JSON objects: the JSON Lines file holds only blank lines",
        ));
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let lineno = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Err(Error::input(
                path,
                format!("line {lineno}: empty line in a JSON Lines file"),
            ));
        }
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Error::input(
                path,
                format!("line {lineno}: invalid JSON: {}", json_error(line, &e)),
            )
        })?;
        out.push((lineno, value));
    }
    Ok(out)
}

/// The string `field` of the object on line `lineno`.
fn string_field<'a>(
    path: &Path,
    lineno: usize,
    value: &'a serde_json::Value,
    field: &str,
) -> Result<&'a str> {
    match value.get(field) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(Error::input(
            path,
            format!("line {lineno}: field {field:?} is not a string"),
        )),
        None => Err(Error::input(
            path,
            format!("line {lineno}: no field {field:?}"),
        )),
    }
}

/// Parses JSON Lines text and takes `field` from every object. A leading UTF-8 byte order
/// mark is skipped and blank (or whitespace-only) lines at the end are ignored; a blank line
/// before the last object is an error.
pub fn parse_jsonl(path: &Path, text: &str, field: &str) -> Result<Vec<String>> {
    parse_jsonl_values(path, text)?
        .iter()
        .map(
            |(lineno, value)| Ok(py_rstrip(string_field(path, *lineno, value, field)?).to_string()),
        )
        .collect()
}

/// Parses JSON Lines text as [`parse_jsonl`] does, then joins each run of consecutive objects
/// whose `join` values are equal (any JSON value, compared exactly), and whose
/// [`JOIN_FILE_FIELD`] values are equal too (or absent from both), into one segment: the
/// objects' `field` strings, each trimmed of surrounding whitespace, the empty ones skipped,
/// joined with a single space in order, as `tarjama translate --format text` joins the segments
/// of one input line. An object without `join` is an error naming its line.
pub fn parse_jsonl_joined(path: &Path, text: &str, field: &str, join: &str) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut current: Option<(Option<&serde_json::Value>, &serde_json::Value)> = None;
    let values = parse_jsonl_values(path, text)?;
    for (lineno, value) in &values {
        let text = string_field(path, *lineno, value, field)?;
        let Some(key) = value.get(join) else {
            return Err(Error::input(
                path,
                format!("line {lineno}: no field {join:?} to join records on (--jsonl-join)"),
            ));
        };
        let id = (value.get(JOIN_FILE_FIELD), key);
        if current != Some(id) {
            out.push(String::new());
            current = Some(id);
        }
        let seg = out.last_mut().expect("a segment was started");
        let piece = text.trim();
        if !piece.is_empty() {
            if !seg.is_empty() {
                seg.push(' ');
            }
            seg.push_str(piece);
        }
    }
    for seg in &mut out {
        let end = py_rstrip(seg).len();
        seg.truncate(end);
    }
    Ok(out)
}

/// Turns the bytes of one input into segments: UTF-8 checked, non-empty, split into segments.
/// `path` names the input in errors.
pub fn segments_from_bytes(path: &Path, bytes: Vec<u8>, format: &InputFormat) -> Result<Segments> {
    if bytes.is_empty() {
        return Err(Error::input(path, "file is empty"));
    }
    let text = decode_utf8(path, bytes)?;
    let lines = match format {
        InputFormat::Lines => split_lines(&text),
        InputFormat::JsonlField(field) => parse_jsonl(path, &text, field)?,
        InputFormat::JsonlJoined { field, join } => parse_jsonl_joined(path, &text, field, join)?,
    };
    Ok(Segments {
        path: path.to_path_buf(),
        lines,
    })
}

/// Reads one input file: decompressed first when its name ends in `.gz` (as sacrebleu does),
/// UTF-8 checked, non-empty, split into segments.
pub fn read_segments(path: &Path, format: &InputFormat) -> Result<Segments> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        gunzip(path, &bytes)?
    } else {
        bytes
    };
    segments_from_bytes(path, bytes, format)
}

/// The contents of a gzip file (all its members, as Python's `gzip.open` reads them, which is
/// how sacrebleu opens a name ending in `.gz`). Errors name the file.
fn gunzip(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Error::input(path, format!("not a valid gzip file ({e})")))?;
    Ok(out)
}

/// Reads standard input to its end, as [`read_segments`] reads a file; errors name it
/// [`STDIN_NAME`].
pub fn read_stdin_segments(format: &InputFormat) -> Result<Segments> {
    let path = Path::new(STDIN_NAME);
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    segments_from_bytes(path, bytes, format)
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
        assert_eq!(e.to_string(), "x.txt: invalid UTF-8 at line 1, byte 2");
        let e = decode_utf8(Path::new("x.txt"), b"a\nbc\n\nd\xe9e".to_vec()).unwrap_err();
        assert_eq!(e.to_string(), "x.txt: invalid UTF-8 at line 4, byte 7");
    }

    /// sacrebleu reads plain text with `open(..., encoding='utf-8')`, which keeps a byte order
    /// mark: it stays at the start of the first line. JSON Lines skip it.
    #[test]
    fn byte_order_mark() {
        let p = Path::new("x");
        let bom = "\u{feff}a b\nc\n".as_bytes().to_vec();
        let s = segments_from_bytes(p, bom, &InputFormat::Lines).unwrap();
        assert_eq!(s.lines, ["\u{feff}a b", "c"]);
        let j = "\u{feff}{\"t\": \"a\"}\n{\"t\": \"b\"}\n"
            .as_bytes()
            .to_vec();
        let s = segments_from_bytes(p, j, &InputFormat::JsonlField("t".into())).unwrap();
        assert_eq!(s.lines, ["a", "b"]);
    }

    #[test]
    fn jsonl_trailing_blank_lines() {
        let p = Path::new("o.jsonl");
        for t in [
            "{\"t\": \"a\"}\n{\"t\": \"b\"}",
            "{\"t\": \"a\"}\n{\"t\": \"b\"}\n\n",
            "{\"t\": \"a\"}\r\n{\"t\": \"b\"}\r\n\r\n \t\n  ",
        ] {
            assert_eq!(parse_jsonl(p, t, "t").unwrap(), ["a", "b"], "{t:?}");
        }
        let e = parse_jsonl(p, "{\"t\": \"a\"}\n\n{\"t\": \"b\"}\n", "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "o.jsonl: line 2: empty line in a JSON Lines file"
        );
        let e = parse_jsonl(p, "\n \n", "t").unwrap_err();
        assert!(e.to_string().contains("only blank lines"), "{e}");
    }

    #[test]
    fn jsonl_error_messages() {
        let p = Path::new("o.jsonl");
        let ok = "{\"t\": \"a\"}\n";
        let e = parse_jsonl(p, &format!("{ok}{{\"t\": \"x\\ud800y\"}}\n"), "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "o.jsonl: line 2: invalid JSON: column 9: the escape \\ud800 is half of a UTF-16 \
             surrogate pair without its other half, which is not valid Unicode text; write the \
             character itself or its complete pair"
        );
        // a trailing half alone, and a leading half followed by another escape
        for (t, esc) in [
            ("{\"t\": \"\\uDC00\"}", "\\udc00"),
            ("{\"t\": \"\\ud800\\u0041\"}", "\\ud800"),
        ] {
            let e = parse_jsonl(p, t, "t").unwrap_err().to_string();
            assert!(e.contains(esc) && e.contains("surrogate pair"), "{e}");
        }
        // a complete pair and an escaped backslash before `u` are fine
        assert_eq!(
            parse_jsonl(p, "{\"t\": \"\\ud83d\\ude00 \\\\ud800\"}", "t").unwrap(),
            ["\u{1f600} \\ud800"]
        );
        let e = parse_jsonl(p, "{\"t\": }", "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "o.jsonl: line 1: invalid JSON: column 7: expected value"
        );
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

    #[test]
    fn jsonl_joined_runs_of_the_same_key() {
        let p = Path::new("s.jsonl");
        let t = concat!(
            "{\"file\": \"a\", \"line\": 0, \"t\": \"One.\"}\n",
            "{\"file\": \"a\", \"line\": 0, \"t\": \" Two. \"}\n",
            "{\"file\": \"a\", \"line\": 2, \"t\": \"\"}\n",
            "{\"file\": \"a\", \"line\": 2, \"t\": \"Three.\"}\n",
            "{\"file\": \"a\", \"line\": 3, \"t\": \"  \"}\n",
            // another file, same line value: a new segment
            "{\"file\": \"b\", \"line\": 3, \"t\": \"Four.\"}\n",
            "{\"file\": \"b\", \"line\": 0, \"t\": \"Five.\"}\n",
            // not consecutive with the earlier line 0 of b: a segment of its own
            "{\"file\": \"b\", \"line\": 3, \"t\": \"Six.\"}\n",
        );
        assert_eq!(
            parse_jsonl_joined(p, t, "t", "line").unwrap(),
            ["One. Two.", "Three.", "", "Four.", "Five.", "Six."]
        );
        // Without a `file` field, only the key counts; any JSON value can be the key.
        let t = "{\"k\": \"x\", \"t\": \"a\"}\n{\"k\": \"x\", \"t\": \"b\"}\n{\"k\": [1], \"t\": \"c\"}\n";
        assert_eq!(parse_jsonl_joined(p, t, "t", "k").unwrap(), ["a b", "c"]);
        let s = segments_from_bytes(
            p,
            t.as_bytes().to_vec(),
            &InputFormat::JsonlJoined {
                field: "t".into(),
                join: "k".into(),
            },
        )
        .unwrap();
        assert_eq!(s.lines, ["a b", "c"]);
    }

    #[test]
    fn jsonl_joined_errors_name_the_line() {
        let p = Path::new("s.jsonl");
        let t = "{\"line\": 0, \"t\": \"a\"}\n{\"t\": \"b\"}\n";
        let e = parse_jsonl_joined(p, t, "t", "line").unwrap_err();
        assert_eq!(
            e.to_string(),
            "s.jsonl: line 2: no field \"line\" to join records on (--jsonl-join)"
        );
        let t = "{\"line\": 0, \"t\": \"a\"}\n{\"line\": 0}\n";
        let e = parse_jsonl_joined(p, t, "t", "line").unwrap_err();
        assert_eq!(e.to_string(), "s.jsonl: line 2: no field \"t\"");
        let e =
            parse_jsonl_joined(p, "{\"line\": 0, \"t\": \"a\"}\n\n{}\n", "t", "line").unwrap_err();
        assert!(e.to_string().contains("line 2: empty line"), "{e}");
    }
}
