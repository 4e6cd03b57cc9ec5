//! Reading inputs in every command alike: `--encoding` (auto with BOMs, utf-8, utf-16, cp1256,
//! iso-8859-6), the hint for a file in another encoding, NUL bytes refused in `translate` and
//! `batch` alike, and empty or blank inputs (empty output, exit 0, a note).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tarjama::pipeline::batch::{read_manifest, Status};

/// A few words of the seed article's first line.
const WORDS: &str = "أعلنت وزارة الزراعة يوم الاثنين.\n";

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn tarjama(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run tarjama")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn utf16(text: &str, big: bool, bom: bool) -> Vec<u8> {
    let units = bom
        .then_some(0xFEFFu16)
        .into_iter()
        .chain(text.encode_utf16());
    units
        .flat_map(|u| {
            if big {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// The test files: name, bytes, `--encoding`.
fn encoded_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let bom8 = [b"\xef\xbb\xbf".as_slice(), WORDS.as_bytes()].concat();
    vec![
        ("utf8.txt", WORDS.as_bytes().to_vec(), "utf-8"),
        ("bom8.txt", bom8, "auto"),
        ("le-bom.txt", utf16(WORDS, false, true), "auto"),
        ("be-bom.txt", utf16(WORDS, true, true), "auto"),
        ("le.txt", utf16(WORDS, false, false), "utf-16"),
        (
            "cp1256.txt",
            encoding_rs::WINDOWS_1256.encode(WORDS).0.into_owned(),
            "cp1256",
        ),
        (
            "iso.txt",
            encoding_rs::ISO_8859_6.encode(WORDS).0.into_owned(),
            "iso-8859-6",
        ),
    ]
}

#[test]
fn every_encoding_translates_as_utf8_does() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, WORDS).unwrap();
    let model = fixture("marian-tiny");
    let want = tarjama(&["translate", s(&plain), "--model", &model]);
    assert_eq!(want.status.code(), Some(0), "{}", stderr(&want));
    assert!(!want.stdout.is_empty());
    for (name, bytes, enc) in encoded_files() {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = tarjama(&["translate", s(&p), "--encoding", enc, "--model", &model]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(o.stdout, want.stdout, "{name}");
    }
}

#[test]
fn another_encoding_is_named_with_the_flag_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("win.txt");
    std::fs::write(&p, encoding_rs::WINDOWS_1256.encode(WORDS).0).unwrap();
    let o = tarjama(&["translate", s(&p), "--model", &fixture("marian-tiny")]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: invalid UTF-8 at byte 0; the file looks like cp1256 (Windows Arabic): \
             pass --encoding cp1256\n",
            p.display()
        )
    );
    let p16 = dir.path().join("u16.txt");
    std::fs::write(&p16, utf16(WORDS, false, false)).unwrap();
    let o = tarjama(&["summarize", s(&p16), "--model", &fixture("bart-tiny")]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: binary file (NUL byte at offset 11); the file looks like UTF-16 \
             without a byte-order mark: pass --encoding utf-16\n",
            p16.display()
        )
    );
    let o = tarjama(&["translate", s(&p), "--encoding", "latin1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn nul_bytes_are_refused_in_translate_and_batch_alike() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let p = input.join("nul.txt");
    std::fs::write(&p, "مرحبا\0 بالعالم.\n").unwrap();
    let model = fixture("marian-tiny");
    let o = tarjama(&["translate", s(&p), "--model", &model]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let reason = "binary file (NUL byte at offset 10)";
    assert_eq!(stderr(&o), format!("error: {}: {reason}\n", p.display()));

    let out = dir.path().join("out");
    let o = tarjama(&["batch", s(&input), "-o", s(&out), "--model", &model, "-q"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let m = read_manifest(&out.join("manifest.jsonl")).unwrap();
    assert_eq!(m.entries.len(), 1);
    assert_eq!(m.entries[0].status, Status::Failed);
    assert_eq!(m.entries[0].reason.as_deref(), Some(reason));
}

#[test]
fn batch_reads_the_encoding_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        input.join("a.txt"),
        encoding_rs::WINDOWS_1256.encode(WORDS).0,
    )
    .unwrap();
    let model = fixture("marian-tiny");
    let out = dir.path().join("out");
    let args = ["batch", s(&input), "-o", s(&out), "--model", &model, "-q"];
    // Auto: failed, with the hint.
    let o = tarjama(&args);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let m = read_manifest(&out.join("manifest.jsonl")).unwrap();
    assert_eq!(
        m.entries[0].reason.as_deref(),
        Some(
            "invalid UTF-8 at byte 0; the file looks like cp1256 (Windows Arabic): pass \
             --encoding cp1256"
        )
    );
    // `auto` is left out of the settings, so older manifests keep their fingerprint.
    assert_eq!(m.entries[0].settings.get("encoding"), None);
    // cp1256: the output is the UTF-8 file's translation.
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, WORDS).unwrap();
    let want = tarjama(&["translate", s(&plain), "--model", &model]);
    let out2 = dir.path().join("out2");
    let o = tarjama(&[
        "batch",
        s(&input),
        "-o",
        s(&out2),
        "--model",
        &model,
        "-q",
        "--encoding",
        "cp1256",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(out2.join("a.en.txt")).unwrap(), want.stdout);
    let m = read_manifest(&out2.join("manifest.jsonl")).unwrap();
    assert_eq!(m.entries[0].status, Status::Ok);
    assert_eq!(m.entries[0].settings["encoding"], "cp1256");
}

#[test]
fn empty_input_gives_empty_output_exit_0_and_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("blank.txt");
    std::fs::write(&p, " \n\n\t\n").unwrap();
    let marian = fixture("marian-tiny");
    let bart = fixture("bart-tiny");
    let blank_record = format!(
        "{{\n  \"input\": \"{}\",\n  \"summary\": null,\n  \"warnings\": []\n}}\n",
        s(&p)
    );
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["translate", s(&p), "--model", &marian],
            "translate",
            "",
        ),
        (
            vec!["translate", s(&p), "--model", &marian, "--format", "jsonl"],
            "translate",
            "",
        ),
        (vec!["summarize", s(&p), "--model", &bart], "summarize", ""),
        (
            vec!["summarize", s(&p), "--model", &bart, "--format", "json"],
            "summarize",
            &blank_record,
        ),
        (
            vec!["run", s(&p), "--translator", &marian, "--summarizer", &bart],
            "translate",
            "",
        ),
        (vec!["run", s(&p), "--format", "markdown"], "translate", ""),
    ];
    for (args, what, want) in cases {
        let o = tarjama(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout), want, "{args:?}");
        assert_eq!(
            stderr(&o),
            format!("note: {}: empty input (nothing to {what})\n", p.display()),
            "{args:?}"
        );
    }
    let o = tarjama(&["run", s(&p), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"input": s(&p), "summarize_first": false, "summary": null, "translation": null, "warnings": []})
    );
    // Standard input, and with -o an empty file.
    let out = dir.path().join("out.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(["translate", "-", "--model", &marian, "-o", s(&out)])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stderr(&o),
        "note: <stdin>: empty input (nothing to translate)\n"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"");
    // batch still skips it, exit 0.
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(&p, input.join("blank.txt")).unwrap();
    let bout = dir.path().join("bout");
    let o = tarjama(&["batch", s(&input), "-o", s(&bout), "--model", &marian, "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = read_manifest(&bout.join("manifest.jsonl")).unwrap();
    assert_eq!(m.entries[0].status, Status::Skipped);
}
