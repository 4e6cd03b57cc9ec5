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
fn empty_input_is_a_note_not_an_error() {
    // Issue 13 item 6: exit 0, empty output and a note (was exit 1).
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.txt");
    std::fs::write(&p, " \n\n\t\n").unwrap();
    let o = tarjama(&[
        "translate",
        p.to_str().unwrap(),
        "--model",
        &fixture_model(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert_eq!(
        stderr(&o),
        format!(
            "note: {}: empty input (nothing to translate)\n",
            p.display()
        )
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

fn tarjama_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tarjama"));
    cmd.args(args).env("HF_HUB_OFFLINE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run tarjama")
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A copy of a fixture model in `dir`, to be altered.
fn copy_fixture(name: &str, dir: &Path) -> std::path::PathBuf {
    let to = dir.join(name);
    std::fs::create_dir(&to).unwrap();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

/// Exit 2 with the flag named on the first line of stderr.
fn assert_usage_error(o: &Output, flag: &str, what: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{what}: {e}");
    let first = e.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error: ") && first.contains(flag),
        "{what}: {e}"
    );
    assert!(!e.contains("panicked"), "{what}: {e}");
}

#[test]
fn bad_length_and_penalty_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_file(dir.path());
    let m = fixture_model();
    for bad in [
        ["--max-length", "0"],
        ["--max-length", "1"],
        ["--max-new-tokens", "0"],
        ["--repetition-penalty", "0"],
        ["--repetition-penalty", "-1"],
        ["--repetition-penalty", "inf"],
        ["--revision", "a b"],
        ["--model", ""],
    ] {
        let mut args = vec!["translate", input.as_str(), "--model", m.as_str()];
        args.extend(bad);
        assert_usage_error(&tarjama(&args), bad[0], &format!("{bad:?}"));
    }
    // The same flags reach summarize and batch through the same parsers.
    let o = tarjama(&["summarize", &input, "--max-new-tokens", "0"]);
    assert_usage_error(&o, "--max-new-tokens", "summarize --max-new-tokens 0");
    // Values at the edge are fine: --max-length 2 leaves room for one new token.
    let o = tarjama(&[
        "translate",
        &input,
        "--model",
        &m,
        "--max-length",
        "2",
        "--repetition-penalty",
        "0.5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn min_length_above_max_length_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = input_file(dir.path());
    let m = fixture_model();
    for (flags, min_flag, max_flag) in [
        (
            ["--min-length", "10", "--max-length", "5"],
            "--min-length",
            "--max-length",
        ),
        (
            ["--min-new-tokens", "5", "--max-new-tokens", "4"],
            "--min-new-tokens",
            "--max-new-tokens",
        ),
        // --min-new-tokens 5 is 6 tokens with the decoder start token.
        (
            ["--min-new-tokens", "5", "--max-length", "5"],
            "--min-new-tokens",
            "--max-length",
        ),
    ] {
        let mut args = vec!["translate", input.as_str(), "--model", m.as_str()];
        args.extend(flags);
        let o = tarjama(&args);
        assert_usage_error(&o, min_flag, &format!("{flags:?}"));
        let first = stderr(&o).lines().next().unwrap_or("").to_string();
        assert!(first.contains(max_flag), "{flags:?}: {first}");
    }
    // Checked before any input is read.
    let o = tarjama(&[
        "summarize",
        "/nonexistent/article.txt",
        "--min-length",
        "10",
        "--max-length",
        "5",
    ]);
    assert_usage_error(&o, "--min-length", "summarize");
    // Equal limits can be met.
    let o = tarjama(&[
        "translate",
        &input,
        "--model",
        &m,
        "--min-length",
        "5",
        "--max-length",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn bad_batch_flag_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    input_file(&input);
    let out = dir.path().join("out");
    let m = fixture_model();
    for bad in [
        ["--shard", "0/3"],
        ["--shard", "4/3"],
        ["--shard", "a/b"],
        ["--shard", "1/0"],
        ["--min-arabic", "1.5"],
        ["--min-arabic", "2"],
        ["--min-arabic", "-0.1"],
        ["--glob", "["],
        ["--max-length", "1"],
        ["--repetition-penalty", "0"],
    ] {
        let mut args = vec![
            "batch",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--model",
            m.as_str(),
            "--quiet",
        ];
        args.extend(bad);
        assert_usage_error(&tarjama(&args), bad[0], &format!("batch {bad:?}"));
    }
    // Nothing was written.
    assert!(!out.exists());
}

#[test]
fn shape_mismatch_names_the_weights_file_and_both_shapes_without_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    let model = copy_fixture("marian-tiny", dir.path());
    let config = model.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\"d_model\": 32"));
    std::fs::write(&config, text.replace("\"d_model\": 32", "\"d_model\": 48")).unwrap();
    let input = input_file(dir.path());
    let o = tarjama_env(
        &["translate", &input, "--model", model.to_str().unwrap()],
        &[("RUST_BACKTRACE", "1")],
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let weights = model.join("model.safetensors");
    assert!(
        e.starts_with(&format!("error: {}: ", weights.display())),
        "{e}"
    );
    assert!(
        e.contains("tensor model.shared.weight has shape [650, 32], config.json expects [650, 48]"),
        "{e}"
    );
    assert!(
        !e.contains("candle_core") && !e.contains("backtrace"),
        "{e}"
    );
    assert!(e.len() < 300, "{e}");
}

#[test]
fn malformed_generation_config_value_is_an_error_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let model = copy_fixture("marian-tiny", dir.path());
    let gen = model.join("generation_config.json");
    let input = input_file(dir.path());
    let m = model.to_str().unwrap();
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&gen).unwrap()).unwrap();

    for (key, value) in [
        ("num_beams", serde_json::json!("four")),
        ("max_length", serde_json::json!(-3)),
        ("length_penalty", serde_json::json!("long")),
        ("early_stopping", serde_json::json!("sometimes")),
        ("bad_words_ids", serde_json::json!([649])),
        ("eos_token_id", serde_json::json!("</s>")),
    ] {
        let mut cfg = original.clone();
        cfg[key] = value;
        std::fs::write(&gen, cfg.to_string()).unwrap();
        let o = tarjama(&["translate", &input, "--model", m]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{key}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{key}: {e}");
        assert!(
            e.contains(&format!("{}: {key} must be", gen.display())),
            "{key}: {e}"
        );
    }

    // Unknown fields (newer transformers versions add some) and nulls are fine.
    let mut cfg = original.clone();
    cfg["some_future_setting"] = serde_json::json!({"nested": [1, "x"]});
    cfg["cache_implementation"] = serde_json::json!("static");
    cfg["max_new_tokens"] = serde_json::Value::Null;
    std::fs::write(&gen, cfg.to_string()).unwrap();
    let o = tarjama(&["translate", &input, "--model", m]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn offline_hub_errors_name_the_flag_the_model_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let env = [("HF_HUB_CACHE", cache.to_str().unwrap())];
    let input = input_file(dir.path());
    let m = fixture_model();
    let bart = fixture("bart-tiny");
    for (args, flag) in [
        (
            vec!["translate", &input, "--model", "someone/not-cached"],
            "--model",
        ),
        (
            vec!["run", &input, "--translator", "someone/not-cached"],
            "--translator",
        ),
        (
            vec![
                "run",
                &input,
                "--translator",
                &m,
                "--summarizer",
                "someone/not-cached",
            ],
            "--summarizer",
        ),
        (
            vec![
                "run",
                &input,
                "--translator",
                &m,
                "--summarizer",
                "nonpreset",
            ],
            "--summarizer",
        ),
        (
            vec!["run", &input, "--translator", &bart, "--summarizer", ""],
            "--summarizer",
        ),
    ] {
        let o = tarjama_env(&args, &env);
        let e = stderr(&o);
        assert!(
            o.status.code() == Some(1) || o.status.code() == Some(2),
            "{args:?}: {e}"
        );
        assert!(e.contains(flag), "{args:?}: {e}");
        if flag != "--model" {
            assert!(!e.contains("--model"), "{args:?}: {e}");
        }
        if o.status.code() == Some(1) {
            assert_eq!(e.trim().lines().count(), 1, "{args:?}: {e}");
            assert!(e.contains(&format!("{flag} /path/to/dir")), "{args:?}: {e}");
        }
    }
}

#[test]
fn quantize_that_does_not_fit_names_the_value_as_typed_and_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("en.txt");
    std::fs::write(&p, "The cat sat on the mat. It was a sunny day.\n").unwrap();
    // mt5-tiny's feed-forward output projection has 48 inputs: not a multiple of Q8_0's 32.
    let mt5 = fixture("mt5-tiny");
    let o = tarjama(&[
        "summarize",
        p.to_str().unwrap(),
        "--model",
        &mt5,
        "--quantize",
        "Q8_0",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(e.contains("--quantize Q8_0"), "{e}");
    assert!(
        e.contains("input size 48") && e.contains("blocks of 32"),
        "{e}"
    );
    assert!(e.contains(&mt5), "{e}");
}

/// `-o` through symlinks, to devices and FIFOs, and onto files it must not replace.
#[cfg(unix)]
#[test]
fn outputs_go_through_links_to_devices_and_fifos_and_never_replace_other_files() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = input_file(d);
    let m = fixture_model();
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec!["translate", input.as_str(), "--model", m.as_str()];
        args.extend(["--beams", "1", "-o", out.to_str().unwrap()]);
        args.extend(extra);
        tarjama(&args)
    };
    let plain = tarjama(&["translate", &input, "--model", &m, "--beams", "1"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let expected = plain.stdout;
    assert!(!expected.is_empty());
    let names = |p: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };

    // A link to an existing file: --force needed, then the target is written, the link kept,
    // and the temporary file was beside the target (none left anywhere).
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/real.txt"), "old").unwrap();
    symlink("sub/real.txt", d.join("link")).unwrap();
    let o = run(&d.join("link"), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: already exists; pass --force to replace it\n",
            d.join("link").display()
        )
    );
    let o = run(&d.join("link"), &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(d.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(d.join("sub/real.txt")).unwrap(), expected);
    assert_eq!(names(&d.join("sub")), ["real.txt"]);

    // A dangling link: the file it names is created (as the shell's `>` does).
    symlink("sub/new.txt", d.join("dangling")).unwrap();
    let o = run(&d.join("dangling"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.join("sub/new.txt")).unwrap(), expected);
    assert!(std::fs::symlink_metadata(d.join("dangling"))
        .unwrap()
        .file_type()
        .is_symlink());

    // A link to an input is still an input.
    symlink(&input, d.join("in-link")).unwrap();
    let o = run(&d.join("in-link"), &["--force"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is also an input"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "مرحبا بالعالم.\n");

    // Devices: no --force, nothing replaced.
    let o = run(Path::new("/dev/null"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let o = run(Path::new("/dev/stdout"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, expected);

    // A named pipe, read while tarjama writes it.
    let fifo = d.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let o = run(&fifo, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(reader.join().unwrap(), expected);

    // A directory through a link, and a socket: one line, nothing touched.
    symlink("sub", d.join("dir-link")).unwrap();
    let o = run(&d.join("dir-link"), &["--force"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: is a directory (the symlink's target {}); -o writes a regular file, a \
             character device or a FIFO\n",
            d.join("dir-link").display(),
            d.join("sub").display()
        )
    );
    let sock = d.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let o = run(&sock, &["--force"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}: is a socket; -o writes a regular file, a character device or a FIFO\n",
            sock.display()
        )
    );
    assert_eq!(
        names(d),
        ["dangling", "dir-link", "fifo", "in-link", "in.txt", "link", "sock", "sub"]
    );
}
