//! `tarjama serve` end to end: the real binary on 127.0.0.1 (a free port), the tiny fixture
//! as its translator, a blocking HTTP client. Every answer is compared with what
//! `tarjama translate` prints for the same text.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const MARIAN: &str = "marian-tiny";

fn fixture() -> String {
    common::fixture(MARIAN).to_str().unwrap().to_string()
}

/// The fixture's Arabic sentences (scripts/fixture_text/ar.txt), one per line.
fn sentences() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixture_text/ar.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// `tarjama translate`'s output for each of `texts` (one line each), from one run over them
/// as the lines of one input: its line `i` is text `i`'s translation.
fn cli_translations(texts: &[String], extra: &[&str]) -> Vec<String> {
    let fixture = fixture();
    let mut args = vec!["translate", "--model", fixture.as_str(), "-q"];
    args.extend(extra);
    let out = common::run_tarjama(&args, Some(&texts.join("\n")), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), texts.len(), "one output line per input line");
    lines
}

/// A running `tarjama serve`; killed when dropped.
struct Server {
    child: Child,
    url: String,
    /// The rest of its stderr, line by line.
    stderr: Receiver<String>,
}

impl Server {
    /// Starts the binary on a free port with the fixture and `extra` flags and waits for its
    /// `listening on http://ADDR` line.
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tarjama"))
            .args(["serve", "--port", "0", "-q", "--translator", &fixture()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tarjama serve");
        let (tx, stderr) = channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = stderr.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not print `listening on http://...` in time");
            };
            if let Some(url) = line.strip_prefix("listening on ") {
                // Wrapped at once, so that it is killed and waited for when dropped.
                let server = Server {
                    child,
                    url: url.to_string(),
                    stderr,
                };
                assert!(
                    server.url.starts_with("http://127.0.0.1:"),
                    "{}",
                    server.url
                );
                return server;
            }
        }
    }

    fn agent() -> ureq::Agent {
        ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(120))
            .build()
    }

    /// `POST path` with a JSON body: the status and the JSON answer.
    fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        answer(
            Self::agent()
                .post(&format!("{}{path}", self.url))
                .send_json(body.clone()),
        )
    }

    /// `POST path` with a form body.
    fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        answer(
            Self::agent()
                .post(&format!("{}{path}", self.url))
                .send_form(fields),
        )
    }

    fn get(&self, path: &str) -> (u16, Value) {
        answer(Self::agent().get(&format!("{}{path}", self.url)).call())
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns its success and stderr.
    fn terminate(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let lines = self.stderr.try_iter().collect();
        (status.success(), lines)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The status and JSON body of a response, error statuses included.
fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let resp = match r {
        Ok(resp) => resp,
        Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = resp.status();
    let body: Value = resp.into_json().expect("a JSON body");
    (status, body)
}

#[test]
fn translate_json_form_arrays_and_auto_equal_the_cli() {
    let texts: Vec<String> = sentences().into_iter().take(4).collect();
    let cli = cli_translations(&texts, &[]);
    let server = Server::start(&[]);

    // JSON, one text.
    let (status, body) = server.post_json(
        "/translate",
        &json!({"q": texts[0], "source": "ar", "target": "en"}),
    );
    assert_eq!(status, 200);
    assert_eq!(body, json!({"translatedText": cli[0]}));

    // A form, one text.
    let (status, body) = server.post_form(
        "/translate",
        &[("q", &texts[1]), ("source", "ar"), ("target", "en")],
    );
    assert_eq!(status, 200);
    assert_eq!(body, json!({"translatedText": cli[1]}));

    // An array, with the source detected: pure Arabic script, confidence 100.
    let (status, body) = server.post_json(
        "/translate",
        &json!({"q": texts, "source": "auto", "target": "en", "format": "text"}),
    );
    assert_eq!(status, 200);
    let detected = json!({"confidence": 100.0, "language": "ar"});
    assert_eq!(
        body,
        json!({"translatedText": cli, "detectedLanguage": vec![detected.clone(); 4]})
    );

    // A form's repeated q is an array.
    let (status, body) = server.post_form(
        "/translate",
        &[
            ("q", &texts[2]),
            ("q", &texts[3]),
            ("source", "auto"),
            ("target", "en"),
        ],
    );
    assert_eq!(status, 200);
    assert_eq!(body["translatedText"], json!([cli[2], cli[3]]));

    // A text of two lines keeps its lines, as translate does.
    let two = format!("{}\n{}", texts[0], texts[1]);
    let (_, body) = server.post_json(
        "/translate",
        &json!({"q": two, "source": "ar", "target": "en"}),
    );
    assert_eq!(
        body["translatedText"],
        json!(format!("{}\n{}", cli[0], cli[1]))
    );
}

#[test]
fn alternatives_are_the_n_best_of_translate() {
    let text = sentences()[0].clone();
    let fixture = fixture();
    let out = common::run_tarjama(
        &[
            "translate",
            "--model",
            &fixture,
            "-q",
            "--format",
            "jsonl",
            "--num-return-sequences",
            "3",
        ],
        Some(&text),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let record: Value = serde_json::from_slice(&out.stdout).expect("one segment, one record");
    let n_best: Vec<&str> = record["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["translation"].as_str().unwrap().trim())
        .collect();
    assert_eq!(n_best.len(), 3);

    let server = Server::start(&[]);
    let (status, body) = server.post_json(
        "/translate",
        &json!({"q": text, "source": "ar", "target": "en", "alternatives": 2}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"translatedText": n_best[0], "alternatives": [n_best[1], n_best[2]]})
    );
    // As a form field, and for an array: one list per text.
    let (_, body) = server.post_form(
        "/translate",
        &[
            ("q", &text),
            ("source", "ar"),
            ("target", "en"),
            ("alternatives", "1"),
        ],
    );
    assert_eq!(body["alternatives"], json!([n_best[1]]));
    let (_, body) = server.post_json(
        "/translate",
        &json!({"q": [text], "source": "ar", "target": "en", "alternatives": 1}),
    );
    assert_eq!(body["alternatives"], json!([[n_best[1]]]));
}

#[test]
fn other_endpoints() {
    let server = Server::start(&[]);
    assert_eq!(
        server.get("/languages"),
        (
            200,
            json!([
                {"code": "ar", "name": "Arabic", "targets": ["en"]},
                {"code": "en", "name": "English", "targets": []},
            ])
        )
    );
    // Arabic script: 100; 10 Latin letters of 14: en at 71.4.
    assert_eq!(
        server.post_json("/detect", &json!({"q": "مرحبا بالعالم"})),
        (200, json!([{"confidence": 100.0, "language": "ar"}]))
    );
    assert_eq!(
        server.post_form("/detect", &[("q", "Hello world مرحب")]),
        (200, json!([{"confidence": 71.4, "language": "en"}]))
    );
    let (status, settings) = server.get("/frontend/settings");
    assert_eq!(status, 200);
    assert_eq!(settings["charLimit"], json!(-1));
    assert_eq!(settings["apiKeys"], json!(false));
    assert_eq!(
        settings["language"],
        json!({"source": {"code": "ar", "name": "Arabic"}, "target": {"code": "en", "name": "English"}})
    );
    assert_eq!(
        server.get("/health"),
        (
            200,
            json!({"status": "ok", "translator": fixture(), "queue": 0, "in_flight": 0})
        )
    );
}

#[test]
fn errors_have_libretranslate_shapes_and_codes() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "# team keys\nsecret-1\n\n  secret-2  \n").unwrap();
    let server = Server::start(&["--char-limit", "20", "--api-keys", keys.to_str().unwrap()]);
    let ok = |q: &str| json!({"q": q, "source": "ar", "target": "en", "api_key": "secret-2"});
    let error = |msg: &str| json!({ "error": msg });

    assert_eq!(server.post_json("/translate", &ok("مرحبا")).0, 200);
    let mut no_key = ok("مرحبا");
    no_key.as_object_mut().unwrap().remove("api_key");
    assert_eq!(
        server.post_json("/translate", &no_key),
        (
            400,
            error("Please contact the server operator to get an API key")
        )
    );
    let mut bad_key = ok("مرحبا");
    bad_key["api_key"] = json!("nope");
    assert_eq!(
        server.post_json("/translate", &bad_key),
        (403, error("Invalid API key"))
    );
    assert_eq!(
        server.post_form("/detect", &[("q", "مرحبا"), ("api_key", "nope")]),
        (403, error("Invalid API key"))
    );

    let long = "مرحبا ".repeat(5);
    assert_eq!(
        server.post_json("/translate", &ok(&long)),
        (
            400,
            error("Invalid request: request (30) exceeds text limit (20)")
        )
    );
    let with = |k: &str, v: Value| {
        let mut b = ok("مرحبا");
        b[k] = v;
        b
    };
    let cases = [
        (with("q", json!("")), "Invalid request: missing q parameter"),
        (
            with("q", json!(7)),
            "Invalid request: q parameter is not a string or an array of strings",
        ),
        (
            with("source", json!(null)),
            "Invalid request: missing source parameter",
        ),
        (
            with("target", json!("")),
            "Invalid request: missing target parameter",
        ),
        (with("source", json!("fr")), "fr is not supported"),
        (with("target", json!("de")), "de is not supported"),
        (with("format", json!("xml")), "xml format is not supported"),
        (
            with("alternatives", json!("x")),
            "Invalid request: alternatives parameter is not a number",
        ),
        (
            with("alternatives", json!(4)),
            "Invalid request: alternatives parameter must be <= 3",
        ),
        (
            json!({"q": "<p>\u{E000}</p>", "source": "ar", "target": "en", "format": "html", "api_key": "secret-1"}),
            "Invalid request: the html holds the private-use characters U+E000 or U+E001",
        ),
        (
            json!({"q": "hello there", "source": "auto", "target": "en", "api_key": "secret-1"}),
            "en is not supported (detected with confidence 100); this server translates from ar",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(
            server.post_json("/translate", &body),
            (400, error(message)),
            "{body}"
        );
    }
    // A body that is not JSON, sent as JSON.
    let r = ureq::post(&format!("{}/translate", server.url))
        .set("Content-Type", "application/json")
        .send_string("{not json");
    let (status, body) = answer(r);
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid request: "),
        "{body}"
    );

    let (_, settings) = server.get("/frontend/settings");
    assert_eq!(settings["charLimit"], json!(20));
    assert_eq!(settings["apiKeys"], json!(true));
    assert_eq!(settings["keyRequired"], json!(true));
}

#[test]
fn a_bad_api_keys_file_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "# nothing\n\n").unwrap();
    let fixture = fixture();
    let args = [
        "serve",
        "--port",
        "0",
        "--translator",
        &fixture,
        "--api-keys",
        keys.to_str().unwrap(),
    ];
    let out = common::run_tarjama(&args, None, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: {}: no API key in the file (one per line)",
            keys.display()
        )
    );
}

#[test]
fn concurrent_clients_get_the_cli_output_for_their_text() {
    let clients = 8;
    let per_client = 5;
    let texts: Vec<String> = sentences().into_iter().take(clients * per_client).collect();
    assert_eq!(texts.len(), clients * per_client);
    let cli = cli_translations(&texts, &[]);
    let server = Server::start(&[]);
    let url = server.url.clone();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (url, texts) = (url.clone(), texts.clone());
            std::thread::spawn(move || {
                (0..per_client)
                    .map(|r| {
                        let i = c * per_client + r;
                        let body = json!({"q": texts[i], "source": "ar", "target": "en"});
                        let resp = Server::agent()
                            .post(&format!("{url}/translate"))
                            .send_json(body);
                        let (status, body) = answer(resp);
                        assert_eq!(status, 200, "{body}");
                        (i, body["translatedText"].as_str().unwrap().to_string())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen = 0;
    for t in threads {
        for (i, got) in t.join().unwrap() {
            assert_eq!(got, cli[i], "text {i}");
            seen += 1;
        }
    }
    assert_eq!(seen, clients * per_client);
}

#[test]
fn sigterm_during_load_finishes_the_requests_in_flight() {
    let texts: Vec<String> = sentences().into_iter().take(24).collect();
    let cli = cli_translations(&texts, &[]);
    let server = Server::start(&["--batch-size", "2"]);
    let url = server.url.clone();
    // Six requests of 24 texts each, decoded two segments at a time: the worker is busy
    // long enough for the others to wait in its queue.
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let (url, texts) = (url.clone(), texts.clone());
            std::thread::spawn(move || {
                let body = json!({"q": texts, "source": "ar", "target": "en"});
                answer(
                    Server::agent()
                        .post(&format!("{url}/translate"))
                        .send_json(body),
                )
            })
        })
        .collect();
    // SIGTERM once all six are being answered.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, health) = server.get("/health");
        if health["in_flight"].as_u64().unwrap() == 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the six requests were never in flight together: {health}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let (exited_ok, stderr) = server.terminate();
    for c in clients {
        let (status, body) = c.join().unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["translatedText"], json!(cli));
    }
    assert!(exited_ok, "{stderr:?}");
    assert_eq!(stderr.len(), 2, "{stderr:?}");
    // Some were still unanswered when the signal came.
    let n: usize = stderr[0]
        .strip_prefix("shutting down: finishing ")
        .and_then(|r| r.strip_suffix(" requests in flight"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr:?}"));
    assert!((1..=6).contains(&n), "{stderr:?}");
    assert_eq!(stderr[1], "stopped: the requests in flight were answered");
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let texts: Vec<String> = sentences().into_iter().take(24).collect();
    let cli = cli_translations(&texts, &[]);
    let server = Server::start(&["--batch-size", "2", "--queue-size", "1"]);
    let url = server.url.clone();
    // Eight heavy requests at once for one worker and one place in its queue.
    let start = std::sync::Arc::new(std::sync::Barrier::new(8));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (url, texts, start) = (url.clone(), texts.clone(), start.clone());
            std::thread::spawn(move || {
                let body = json!({"q": texts, "source": "ar", "target": "en"});
                start.wait();
                let resp = match Server::agent()
                    .post(&format!("{url}/translate"))
                    .send_json(body)
                {
                    Ok(r) => r,
                    Err(ureq::Error::Status(_, r)) => r,
                    Err(e) => panic!("request failed: {e}"),
                };
                let retry_after = resp.header("retry-after").map(str::to_string);
                let (status, body) = answer(Ok(resp));
                (status, retry_after, body)
            })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for c in clients {
        match c.join().unwrap() {
            (200, None, body) => {
                assert_eq!(body["translatedText"], json!(cli));
                ok += 1;
            }
            (503, Some(retry), body) => {
                assert_eq!(retry, "1");
                assert_eq!(
                    body,
                    json!({"error": "Slowdown: the translation queue is full, retry later"})
                );
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(ok >= 1 && refused >= 1, "{ok} answered, {refused} refused");
    // The server is still up and answers once the queue has room.
    let (status, _) = server.post_json(
        "/translate",
        &json!({"q": texts[0], "source": "ar", "target": "en"}),
    );
    assert_eq!(status, 200);
}

#[test]
fn html_keeps_the_markup_and_translates_the_text_nodes() {
    let words: Vec<String> = ["مرحبا", "شكرا", "جزيلا"].map(String::from).to_vec();
    let cli = cli_translations(&words, &[]);
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let page = "<p class=\"lead\">مرحبا</p>\n<div> <b>شكرا</b> جزيلا </div>\
                <script>var s = \"مرحبا\";</script><!-- مرحبا -->";
    let want = format!(
        "<p class=\"lead\">{}</p>\n<div> <b>{}</b> {} </div>\
         <script>var s = \"مرحبا\";</script><!-- مرحبا -->",
        escape(&cli[0]),
        escape(&cli[1]),
        escape(&cli[2])
    );
    let server = Server::start(&[]);
    let (status, body) = server.post_json(
        "/translate",
        &json!({"q": page, "source": "auto", "target": "en", "format": "html"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"translatedText": want, "detectedLanguage": {"confidence": 100.0, "language": "ar"}})
    );
    // An array of pages, one without text; html has no alternatives (as LibreTranslate).
    let (status, body) = server.post_form(
        "/translate",
        &[
            ("q", page),
            ("q", "<br/>"),
            ("source", "ar"),
            ("target", "en"),
            ("format", "html"),
            ("alternatives", "2"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"translatedText": [want, "<br/>"], "alternatives": [[], []]})
    );
}

#[test]
fn summarize_gives_the_summary_record_of_the_cli() {
    let summarizer = common::fixture("distilbart-tiny");
    let summarizer = summarizer.to_str().unwrap();
    let text = "The minister met his counterpart in the capital. They discussed energy \
                cooperation. The talks were positive.";
    let out = common::run_tarjama(
        &["summarize", "--model", summarizer, "-q", "--format", "json"],
        Some(text),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Timings differ from run to run; everything else is the same.
    let server = Server::start(&["--summarizer", summarizer]);
    for (status, body) in [
        server.post_json("/summarize", &json!({ "q": text })),
        server.post_form("/summarize", &[("q", text)]),
    ] {
        assert_eq!(status, 200, "{body}");
        assert_eq!(untimed(&body["summary"]), untimed(&cli["summary"]));
    }
    assert_eq!(
        server.post_json("/summarize", &json!({})),
        (
            400,
            json!({"error": "Invalid request: missing q parameter"})
        )
    );
    // Without --summarizer, the route is there but has no model.
    let server = Server::start(&[]);
    assert_eq!(
        server.post_json("/summarize", &json!({ "q": text })),
        (
            404,
            json!({"error": "no summarizer: start tarjama serve with --summarizer"})
        )
    );
}

#[test]
fn summary_flags_without_a_summarizer_are_a_usage_error() {
    let out = common::run_tarjama(&["serve", "--summary-beams", "2"], None, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: --summary-beams needs --summarizer\n"),
        "{stderr}"
    );
}

/// `record` without its timings (any key holding `seconds`) and `warnings`.
fn untimed(record: &Value) -> Value {
    match record {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.contains("seconds") && *k != "warnings")
                .map(|(k, v)| (k.clone(), untimed(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(untimed).collect()),
        v => v.clone(),
    }
}

#[test]
fn run_gives_the_record_of_the_cli() {
    let summarizer = common::fixture("distilbart-tiny");
    let summarizer = summarizer.to_str().unwrap();
    let translator = fixture();
    let article = sentences()[..3].join("\n");
    let out = common::run_tarjama(
        &[
            "run",
            "--translator",
            &translator,
            "--summarizer",
            summarizer,
            "-q",
            "--format",
            "json",
        ],
        Some(&article),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let server = Server::start(&["--summarizer", summarizer]);
    let (status, body) = server.post_form("/run", &[("q", &article)]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(untimed(&body), untimed(&cli));
    assert_eq!(body["translation"]["segments"], json!(3));
}
