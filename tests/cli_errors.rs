//! Bad input to `tarjama translate`: each case is one line on stderr naming the path and the
//! problem, and a non-zero exit. None of these needs a model to be loaded successfully.

use std::path::Path;
use std::process::{Command, Output};

fn tarjama(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run tarjama")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixture_model() -> String {
    format!("{}/tests/fixtures/marian-tiny", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn missing_file_is_named() {
    let o = tarjama(&[
        "translate",
        "/nonexistent/article.txt",
        "--model",
        &fixture_model(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("/nonexistent/article.txt"), "{e}");
    assert!(e.contains("No such file"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
}

#[test]
fn directory_as_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_str().unwrap();
    let o = tarjama(&["translate", p, "--model", &fixture_model()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains(p) && e.contains("is a directory"), "{e}");
}

#[test]
fn invalid_utf8_names_the_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.txt");
    std::fs::write(&p, b"\xd9\x82\xd8\xa7\xd9\x84 ok \xff\xfe rest").unwrap();
    let o = tarjama(&[
        "translate",
        p.to_str().unwrap(),
        "--model",
        &fixture_model(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("bad.txt: invalid UTF-8 at byte 10"), "{e}");
}

#[test]
fn empty_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.txt");
    std::fs::write(&p, " \n\n\t\n").unwrap();
    let o = tarjama(&[
        "translate",
        p.to_str().unwrap(),
        "--model",
        &fixture_model(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("empty.txt: empty input"),
        "{}",
        stderr(&o)
    );
}

fn input_file(dir: &Path) -> String {
    let p = dir.join("in.txt");
    std::fs::write(&p, "مرحبا بالعالم.\n").unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn model_dir_without_weights_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for f in ["config.json", "source.spm", "target.spm", "vocab.json"] {
        std::fs::copy(Path::new(&fixture_model()).join(f), model.join(f)).unwrap();
    }
    let o = tarjama(&[
        "translate",
        &input_file(dir.path()),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(model.to_str().unwrap()) && e.contains("weights"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
}

#[test]
fn model_dir_without_tokenizer_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(Path::new(&fixture_model()).join(f), model.join(f)).unwrap();
    }
    let o = tarjama(&[
        "translate",
        &input_file(dir.path()),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(model.to_str().unwrap()) && e.contains("tokenizer"),
        "{e}"
    );
}

#[test]
fn output_file_that_is_an_input_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_file(dir.path());
    let before = std::fs::read(&input).unwrap();
    let o = tarjama(&[
        "translate",
        &input,
        "-o",
        &input,
        "--force",
        "--model",
        &fixture_model(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn existing_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_file(dir.path());
    let out = dir.path().join("out.txt");
    std::fs::write(&out, "keep me").unwrap();
    let o = tarjama(&[
        "translate",
        &input,
        "-o",
        out.to_str().unwrap(),
        "--model",
        &fixture_model(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_file(dir.path());
    for bad in [
        ["--normalize", "bogus"],
        ["--device", "gpu"],
        ["--dtype", "f8"],
        ["--quantize", "q9"],
        ["--early-stopping", "maybe"],
        ["--beams", "0"],
        ["--threads", "0"],
        ["--batch-size", "0"],
        ["--length-penalty", "nan"],
    ] {
        let mut args = vec!["translate", input.as_str(), "--model"];
        let m = fixture_model();
        args.push(&m);
        args.extend(bad);
        let o = tarjama(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(bad[0]), "{bad:?}: {}", stderr(&o));
    }
}

#[cfg(unix)]
#[test]
fn outputs_get_ordinary_permissions_and_keep_a_replaced_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let input = input_file(dir.path());
    let out = dir.path().join("out.txt");
    let m = fixture_model();
    let o = tarjama(&[
        "translate",
        &input,
        "-o",
        out.to_str().unwrap(),
        "--model",
        &m,
        "--beams",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    // 0666 less the umask: group/other read at least (tempfile's own default would be 0600).
    assert_ne!(mode & 0o044, 0, "mode {mode:o}");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = tarjama(&[
        "translate",
        &input,
        "-o",
        out.to_str().unwrap(),
        "--force",
        "--model",
        &m,
        "--beams",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}
