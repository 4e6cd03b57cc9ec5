//! `tarjama translate` streams: lines come out as they are translated, decoding stops when
//! the output's reader goes away, and the progress bar is drawn only on a terminal.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Copies of `examples/sample.ar.txt` in the long input: 2 paragraphs, 5 segments each.
const COPIES: usize = 400;

/// Flags that keep the tiny model cheap: one beam, at most two new tokens per segment.
const CHEAP: [&str; 5] = ["--beams", "1", "--max-new-tokens", "2", "--model"];

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample.ar.txt")
}

/// A temporary file holding `COPIES` copies of the sample, separated by blank lines.
fn long_input() -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(sample()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.ar.txt");
    let mut long = String::new();
    for _ in 0..COPIES {
        long.push_str(text.trim_end());
        long.push_str("\n\n");
    }
    std::fs::write(&path, long).unwrap();
    (dir, path)
}

fn args(input: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec!["translate".to_string(), input.display().to_string()];
    a.extend(CHEAP.iter().map(|s| s.to_string()));
    a.push(common::fixture("marian-tiny").display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A hang guard, not a timing assertion: waits up to a minute for `child` to exit.
fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("tarjama did not exit after its output pipe closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The jsonl record without its `seconds` (a timing) and `file`.
fn untimed(line: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v.as_object_mut().unwrap().remove("seconds").unwrap();
    v.as_object_mut().unwrap().remove("file").unwrap();
    v
}

#[test]
fn the_first_line_comes_out_while_the_rest_is_being_translated() {
    let (_dir, long) = long_input();
    // --batch-size 1: every segment is decoded alone, whatever window it is in, so the short
    // run is the reference for the long one's first lines.
    let extra = ["--format", "jsonl", "--batch-size", "1"];
    let full = common::run_tarjama(
        &args(&sample(), &extra)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        None,
        &[],
    );
    assert_eq!(full.status.code(), Some(0));
    let full = String::from_utf8(full.stdout).unwrap();
    let first = full.lines().next().unwrap();

    let mut child = spawn(&args(&long, &extra));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    // The output of 2000 segments is far more than a pipe holds (64 KiB on Linux) and nothing
    // reads it beyond this line, so the process cannot have finished: it writes as it goes.
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "finished before its first line was read"
    );
    assert_eq!(untimed(line.trim_end()), untimed(first));
    assert_eq!(untimed(line.trim_end())["segment"], 0);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_library_hands_out_lines_in_order_and_stops_when_asked() {
    use std::ops::ControlFlow;
    use tarjama::pipeline::progress::NoProgress;
    use tarjama::pipeline::stats::Stats;
    use tarjama::pipeline::translate::{
        translate_documents, translate_streaming, DocumentPart, TranslateSettings, Window,
    };
    let text = std::fs::read_to_string(sample()).unwrap();
    let docs = vec![
        format!("{}\n\n  {}", text.trim_end(), text),
        String::new(),
        text,
    ];
    let pipe = common::pipeline("marian-tiny");
    let mut generation = pipe.generation.clone();
    generation.num_beams = 1;
    let settings = TranslateSettings {
        normalization: tarjama::text::Normalization::default(),
        generation,
        batch_size: 1,
        max_batch_tokens: None,
    };
    let whole = translate_documents(&pipe, &docs, &settings).unwrap();

    // Windows of one batch: every line is handed out as soon as it is done.
    let mut parts: Vec<DocumentPart> = Vec::new();
    let mut stats = Stats::default();
    let flow = translate_streaming(
        &pipe,
        &docs,
        &settings,
        Window::Batches(1),
        &mut stats,
        &mut NoProgress,
        &mut |p| {
            parts.push(p);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(flow, ControlFlow::Continue(()));
    // 4 + 2 lines, and one part for the empty document.
    let docs_of: Vec<usize> = parts.iter().map(|p| p.document).collect();
    assert_eq!(docs_of, [0, 0, 0, 0, 1, 2, 2]);
    assert!(parts[0].first && !parts[0].last && parts[3].last && parts[4].first && parts[4].last);
    for (d, doc) in whole.iter().enumerate() {
        let mine: Vec<&DocumentPart> = parts.iter().filter(|p| p.document == d).collect();
        assert_eq!(
            mine.iter().map(|p| p.text.as_str()).collect::<String>(),
            doc.text
        );
        let segs: Vec<_> = mine.iter().flat_map(|p| p.segments.iter()).collect();
        assert_eq!(segs.len(), doc.segments.len());
        for (a, b) in segs.iter().zip(&doc.segments) {
            assert_eq!(
                (&a.translation, a.paragraph, a.line),
                (&b.translation, b.paragraph, b.line)
            );
        }
    }
    assert_eq!(stats.segments, 15);

    // A sink that stops after the first part: no more batches are decoded.
    let mut stats = Stats::default();
    let mut seen = 0;
    let flow = translate_streaming(
        &pipe,
        &docs,
        &settings,
        Window::Batches(1),
        &mut stats,
        &mut NoProgress,
        &mut |_| {
            seen += 1;
            ControlFlow::Break(())
        },
    )
    .unwrap();
    assert_eq!(flow, ControlFlow::Break(()));
    assert_eq!(seen, 1);
    // The first line has 2 segments: 2 windows of one segment decoded, then the stop.
    assert_eq!(stats.segments, 2);
}

#[test]
fn a_closed_pipe_stops_the_translation_quietly() {
    let (_dir, long) = long_input();
    let mut child = spawn(&args(&long, &["--format", "jsonl", "--stats"]));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with('{'), "{line:?}");
    drop(out);
    let status = wait_bounded(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    // --stats counts the segments decoded: far fewer than the input's.
    let stats: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    let segments = stats["segments"].as_u64().unwrap();
    assert!(
        segments > 0 && segments < (COPIES * 5) as u64 / 2,
        "{stats}"
    );
}

/// Runs `tarjama ARGS` on a pseudo-terminal (util-linux `script`), returning what the
/// terminal showed, or `None` when `script` is not installed.
fn on_a_terminal(args: &[String]) -> Option<String> {
    let cmd = std::iter::once(env!("CARGO_BIN_EXE_tarjama").to_string())
        .chain(args.iter().cloned())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let out = match Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => o,
        Err(_) => {
            eprintln!("skipping: util-linux `script` is not installed");
            return None;
        }
    };
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_progress_bar_is_drawn_on_a_terminal_only() {
    let text = std::fs::read_to_string(sample()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ar.txt");
    std::fs::write(&input, text.repeat(4)).unwrap();
    let output = dir.path().join("out.en.txt");
    let o = output.display().to_string();
    let Some(shown) = on_a_terminal(&args(&input, &["-o", &o])) else {
        return;
    };
    // indicatif's bar as first drawn: the stage, the segments of the whole input, the unit.
    assert!(shown.contains("translate 0/20 segments"), "{shown:?}");
    assert!(shown.contains("ETA"), "{shown:?}");
    // The output file is the translation alone.
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(!written.contains("segments") && !written.contains('\u{1b}'));

    let quiet = on_a_terminal(&args(&input, &["-o", &o, "--force", "-q"])).unwrap();
    // --max-new-tokens 2 earns length-limit warnings, which --quiet keeps; nothing else shows.
    assert_eq!(without_warnings(&quiet), "", "--quiet draws nothing");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), written);

    // stderr a pipe: no bar, nothing at all.
    let piped = common::run_tarjama(
        &args(&input, &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        None,
        &[],
    );
    assert_eq!(piped.status.code(), Some(0));
    let err = String::from_utf8(piped.stderr).unwrap();
    assert_eq!(without_warnings(&err), "", "{err}");
    assert!(
        err.contains("stopped at the length limit (2 tokens)"),
        "{err}"
    );
    assert_eq!(String::from_utf8(piped.stdout).unwrap(), written);
}

/// `text` without its `warning:` lines (ended by `\n` or a terminal's `\r\n`).
fn without_warnings(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|l| !l.starts_with("warning: "))
        .collect()
}

#[test]
fn run_and_summarize_draw_their_stages_on_a_terminal() {
    let sample = sample().display().to_string();
    let translator = common::fixture("marian-tiny").display().to_string();
    let summarizer = common::fixture("bart-tiny").display().to_string();
    let run = |extra: &[&str]| {
        let mut a: Vec<String> = ["run", &sample, "--translator", &translator]
            .iter()
            .chain(&["--summarizer", &summarizer])
            .map(|s| s.to_string())
            .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        on_a_terminal(&a)
    };
    let Some(shown) = run(&[]) else {
        return;
    };
    // Each stage's bar as it is first drawn: the sample's 5 segments, then the summary's one
    // pass over one text.
    assert!(shown.contains("translate 0/5 segments"), "{shown:?}");
    assert!(shown.contains("summarize 0/1 chunks"), "{shown:?}");
    let quiet = run(&["-q"]).unwrap();
    assert!(
        !quiet.contains("segments") && !quiet.contains("ETA"),
        "{quiet:?}"
    );

    let args: Vec<String> = ["summarize", &sample, "--model", &summarizer]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let shown = on_a_terminal(&args).unwrap();
    // The Arabic sample is longer than one chunk of the fixture summarizer: map-reduce's first
    // pass has 3 chunks, and its bar is drawn when set up (a later pass's first frame may fall
    // within indicatif's redraw interval and not show).
    assert!(shown.contains("summarize 0/3 chunks"), "{shown:?}");
}

#[test]
fn a_fifo_streams_and_its_closing_stops_the_translation() {
    let (dir, long) = long_input();
    let fifo = dir.path().join("out.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipping: mkfifo is not available");
        return;
    }
    let o = fifo.display().to_string();
    let mut child = spawn(&args(&long, &["--format", "jsonl", "--stats", "-o", &o]));
    // Opening the FIFO's read end lets tarjama's open for writing go through.
    let mut out = BufReader::new(std::fs::File::open(&fifo).unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(untimed(line.trim_end())["segment"], 0);
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "finished before its first line was read"
    );
    drop(out);
    let status = wait_bounded(&mut child);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    let stats: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    let segments = stats["segments"].as_u64().unwrap();
    assert!(
        segments > 0 && segments < (COPIES * 5) as u64 / 2,
        "{stats}"
    );
}

/// A full disk on standard output is an error naming it (exit 1), not a silent loss.
#[test]
fn a_failed_write_to_stdout_names_it() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let o = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args(&sample(), &[]))
        .stdin(Stdio::null())
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.ends_with("error: <stdout>: No space left on device (os error 28)\n"),
        "{err}"
    );
}
