//! `tarjama batch` end to end with the tiny fixture models: bad inputs, byte-for-byte equality
//! with the single-file commands, a SIGKILLed run resumed, shards, refusal to overwrite,
//! symlinks and an OUT_DIR inside INPUT_DIR.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use tarjama::pipeline::batch::{read_manifest, ManifestEntry, Status};

fn marian() -> String {
    format!("{}/tests/fixtures/marian-tiny", env!("CARGO_MANIFEST_DIR"))
}

fn bart() -> String {
    format!("{}/tests/fixtures/bart-tiny", env!("CARGO_MANIFEST_DIR"))
}

fn tarjama(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tarjama")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Arabic sentences written for these tests (news style, some with digits, diacritics,
/// tatweel or a Latin name).
const SENTENCES: &[&str] = &[
    "وصل الوفد إلى العاصمة صباح اليوم.",
    "التقى الوزير بنظيره في مقر الحكومة.",
    "ناقش الجانبان التعاون في مجال الطاقة المتجددة.",
    "هل سيتم توقيع الاتفاق قبل نهاية الشهر؟",
    "ارتفعت أسعار القمح بنسبة ٤٪ خلال الأسبوع الماضي.",
    "أعلنت شركة Siemens عن مشروع جديد في المنطقة.",
    "افتتحت البلدية حديقة عامة كبيرة قرب النهر.",
    "قال الطبيب إن الحالة الصحية للمريض مستقرة.",
    "شارك أكثر من ألف عداء في الماراثون السنوي.",
    "تأخرت الرحلات بسبب الضباب الكثيف في المطار.",
    "يَدْرُسُ الطُّلَّابُ اللُّغَةَ العَرَبِيَّةَ فِي الجَامِعَةِ.",
    "أصدرت المحكمة حكمها في القضية أمس.",
    "تـراجـع سـعـر الـذهـب فـي الـسـوق الـمـحـلـيـة.",
    "زرع المتطوعون خمسمائة شجرة زيتون في القرية.",
    "أكدت الوزارة أن الامتحانات ستبدأ في موعدها.",
    "انقطعت الكهرباء عن عدة أحياء لمدة ساعتين.",
    "فاز المنتخب بثلاثة أهداف مقابل هدف واحد!",
    "حذرت الأرصاد من موجة حر شديدة هذا الأسبوع.",
    "وقع البنك المركزي اتفاقية مع صندوق النقد الدولي.",
    "عرض المهرجان أكثر من ستين فيلما من ٢٠ دولة.",
    "اكتشف علماء الآثار مقبرة قديمة في الصحراء.",
    "تحسنت حركة المرور بعد افتتاح الجسر الجديد.",
    "طالب العمال بزيادة الأجور وتحسين ظروف العمل.",
    "نشرت المجلة تحقيقا عن تلوث المياه في الساحل.",
    "أطلقت الجامعة برنامجا لتعليم البرمجة للأطفال.",
    "ما هي أسباب ارتفاع البطالة بين الشباب؟",
    "استقبل المتحف عشرة آلاف زائر في يوم واحد.",
    "بدأت أعمال ترميم السوق القديم في المدينة.",
    "أشار التقرير إلى نمو الصادرات الزراعية.",
    "انتهت القمة ببيان مشترك يدعو إلى السلام.",
];

/// The text of good input `i`: 1 to 5 sentences, sometimes in two paragraphs or with line
/// breaks.
fn article(i: usize) -> String {
    let n = 1 + i % 5;
    let picked: Vec<&str> = (0..n)
        .map(|k| SENTENCES[(i * 7 + k * 11) % SENTENCES.len()])
        .collect();
    match i % 4 {
        0 => format!("{}\n", picked.join(" ")),
        1 if n > 1 => format!("{}\n\n{}\n", picked[0], picked[1..].join(" ")),
        2 => format!("{}\n", picked.join("\n")),
        _ => picked.join(" "),
    }
}

/// Good inputs of the 50-entry tree.
const GOOD: usize = 41;

/// Where good input `i` lies in the tree.
fn good_rel(i: usize) -> String {
    match i % 3 {
        0 => format!("news/2024/article-{i:02}.txt"),
        1 => format!("news/article-{i:02}.txt"),
        _ => format!("opinion/piece-{i:02}.txt"),
    }
}

/// The expected status and a word of the reason of every bad entry.
const BAD: &[(&str, Status, &str)] = &[
    (
        "bad/invalid-utf8.txt",
        Status::Failed,
        "invalid UTF-8 at byte",
    ),
    ("bad/binary.txt", Status::Failed, "binary"),
    ("bad/empty.txt", Status::Skipped, "empty"),
    ("bad/blank.txt", Status::Skipped, "empty"),
    ("bad/broken-link.txt", Status::Failed, "cannot read"),
    ("bad/too-large.txt", Status::Skipped, "--max-bytes"),
    ("bad/english.txt", Status::Skipped, "Arabic"),
    (
        "links/outside-file.txt",
        Status::Skipped,
        "outside INPUT_DIR",
    ),
    ("links/outside-dir", Status::Skipped, "outside INPUT_DIR"),
];

const MAX_BYTES: &str = "3000";

/// Builds the test tree under `root/in` (and files outside it under `root/outside`):
/// 41 good articles in nested folders and 9 bad entries. Returns INPUT_DIR.
fn corpus(root: &Path) -> PathBuf {
    let input = root.join("in");
    let outside = root.join("outside");
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    std::fs::write(outside.join("secret.txt"), article(3)).unwrap();
    std::fs::write(outside.join("dir/inner.txt"), article(4)).unwrap();
    for i in 0..GOOD {
        let path = input.join(good_rel(i));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, article(i)).unwrap();
    }
    let bad = input.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let mut invalid = article(5).into_bytes();
    invalid.insert(10, 0xFF);
    std::fs::write(bad.join("invalid-utf8.txt"), invalid).unwrap();
    std::fs::write(bad.join("binary.txt"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0").unwrap();
    std::fs::write(bad.join("empty.txt"), b"").unwrap();
    std::fs::write(bad.join("blank.txt"), b"  \n\n \t\n").unwrap();
    std::os::unix::fs::symlink(bad.join("no-such-file.txt"), bad.join("broken-link.txt")).unwrap();
    let large: String = (0..100).map(|i| SENTENCES[i % SENTENCES.len()]).collect();
    assert!(large.len() > 3000);
    std::fs::write(bad.join("too-large.txt"), large).unwrap();
    std::fs::write(
        bad.join("english.txt"),
        "The delegation arrived in the capital this morning. (الوفد)\n",
    )
    .unwrap();
    let links = input.join("links");
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), links.join("outside-file.txt")).unwrap();
    std::os::unix::fs::symlink(outside.join("dir"), links.join("outside-dir")).unwrap();
    input
}

/// Every input's relative path in the tree [`corpus`] builds.
fn corpus_paths(input: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if ft.is_dir() {
                walk(&e.path(), root, out);
            } else {
                out.insert(rel);
            }
        }
    }
    walk(input, input, &mut out);
    out
}

/// Every regular file under `dir` (relative path → bytes).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), root, out);
            } else {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Every file under `dir` with its modification time.
fn mtimes(dir: &Path) -> BTreeMap<String, SystemTime> {
    let mut out = BTreeMap::new();
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, SystemTime>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), root, out);
            } else {
                out.insert(rel, e.metadata().unwrap().modified().unwrap());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn outputs_only(t: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    t.iter()
        .filter(|(k, _)| !k.starts_with("manifest"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn latest(entries: &[ManifestEntry]) -> BTreeMap<String, ManifestEntry> {
    entries
        .iter()
        .map(|e| (e.path.clone(), e.clone()))
        .collect()
}

fn translate_args<'a>(input: &'a str, out: &'a str, model: &'a str) -> Vec<&'a str> {
    vec![
        "batch",
        input,
        "-o",
        out,
        "--model",
        model,
        "--beams",
        "1",
        "--max-bytes",
        MAX_BYTES,
    ]
}

/// One clean run over the 50-entry tree, shared by the tests that compare against it.
struct Clean {
    _dir: tempfile::TempDir,
    input: PathBuf,
    out: PathBuf,
    output: Output,
}

fn clean() -> &'static Clean {
    static CLEAN: OnceLock<Clean> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = corpus(dir.path());
        let out = dir.path().join("out");
        let model = marian();
        let output = tarjama(&translate_args(s(&input), s(&out), &model));
        Clean {
            _dir: dir,
            input,
            out,
            output,
        }
    })
}

#[test]
fn fifty_inputs_with_every_bad_kind_match_the_single_file_command() {
    let c = clean();
    let stderr = String::from_utf8_lossy(&c.output.stderr);
    assert_eq!(c.output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("3 failed"), "{stderr}");
    let paths = corpus_paths(&c.input);
    assert_eq!(paths.len(), 50);

    let manifest = read_manifest(&c.out.join("manifest.jsonl")).unwrap();
    assert_eq!(manifest.bad_lines, 0);
    assert_eq!(manifest.entries.len(), 50);
    let entries = latest(&manifest.entries);
    assert_eq!(entries.keys().cloned().collect::<BTreeSet<_>>(), paths);
    for (path, status, reason) in BAD {
        let e = &entries[*path];
        assert_eq!(e.status, *status, "{path}: {e:?}");
        let r = e.reason.as_deref().unwrap_or("");
        assert!(r.contains(reason), "{path}: {r}");
        assert!(e.outputs.is_empty());
    }
    // Symlinks out of INPUT_DIR are not followed: nothing of theirs is read or written.
    assert!(entries["links/outside-file.txt"].sha256.is_none());
    assert!(!c.out.join("links").exists());

    let model = marian();
    let mut good = 0;
    for (path, e) in &entries {
        if BAD.iter().any(|(p, _, _)| p == path) {
            continue;
        }
        good += 1;
        assert_eq!(e.status, Status::Ok, "{path}: {e:?}");
        assert_eq!(e.outputs, [path.replace(".txt", ".en.txt")]);
        assert!(e.segments >= 1 && e.tokens.source > 0 && e.tokens.translation > 0);
        assert_eq!(e.models["translator"]["name"], model.as_str());
        assert_eq!(e.settings["translate"]["generation"]["num_beams"], 1);
        let single = tarjama(&[
            "translate",
            s(&c.input.join(path)),
            "--model",
            &model,
            "--beams",
            "1",
        ]);
        assert!(single.status.success());
        let batch = std::fs::read(c.out.join(&e.outputs[0])).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&batch),
            String::from_utf8_lossy(&single.stdout),
            "{path}"
        );
    }
    assert_eq!(good, GOOD);
    // Inputs are untouched and nothing but outputs and the manifest was written.
    for i in 0..GOOD {
        let now = std::fs::read_to_string(c.input.join(good_rel(i))).unwrap();
        assert_eq!(now, article(i));
    }
    let written = tree(&c.out);
    assert_eq!(written.len(), GOOD + 1, "{:?}", written.keys());
}

#[test]
fn a_killed_run_resumes_and_redoes_only_what_was_missing() {
    let c = clean();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let manifest = out.join("manifest.jsonl");
    let model = marian();
    let mut args = translate_args(s(&c.input), s(&out), &model);
    args.extend(["--files-per-group", "1"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&manifest)
            .map(|m| m.lines().count())
            .unwrap_or(0);
        if lines >= 5 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        assert!(t0.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let before = read_manifest(&manifest).unwrap();
    assert!(
        before.entries.len() < 50,
        "the run finished before it was killed"
    );
    let done_before: BTreeSet<String> = latest(&before.entries)
        .into_iter()
        .filter(|(_, e)| e.status == Status::Ok)
        .map(|(p, _)| p)
        .collect();
    let times_before = mtimes(&out);
    // As if the kill had torn the last record in half.
    let torn = std::fs::read_to_string(&manifest).unwrap();
    let last = torn.lines().last().unwrap();
    std::fs::write(&manifest, format!("{torn}{}", &last[..last.len() / 2])).unwrap();

    let mut args = translate_args(s(&c.input), s(&out), &model);
    args.push("--resume");
    let resumed = tarjama(&args);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("{} already done", done_before.len())),
        "{stderr}"
    );

    let after = read_manifest(&manifest).unwrap();
    assert_eq!(after.bad_lines, 0, "the torn line is gone");
    let new_entries = &after.entries[before.entries.len()..];
    let redone: BTreeSet<String> = new_entries.iter().map(|e| e.path.clone()).collect();
    assert_eq!(redone.len(), new_entries.len(), "each input once");
    assert!(redone.is_disjoint(&done_before), "redid finished inputs");
    let all = corpus_paths(&c.input);
    let covered: BTreeSet<String> = done_before.union(&redone).cloned().collect();
    assert_eq!(covered, all);
    // The outputs finished before the kill were not rewritten.
    let times_after = mtimes(&out);
    for p in &done_before {
        let o = p.replace(".txt", ".en.txt");
        assert_eq!(times_before[&o], times_after[&o], "{o} rewritten");
    }
    // No partial or temporary file: the tree equals a clean run's, byte for byte.
    assert_eq!(outputs_only(&tree(&out)), outputs_only(&tree(&c.out)));

    // A second resume has nothing left but the bad inputs.
    let again = tarjama(&args);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("0 ok, 3 failed, 6 skipped"), "{stderr}");
}

#[test]
fn three_shards_cover_every_input_exactly_once() {
    let c = clean();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let model = marian();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let mut args = translate_args(s(&c.input), s(&out), &model);
        args.extend(["--shard", &shard, "--quiet"]);
        let o = tarjama(&args);
        assert!(matches!(o.status.code(), Some(0) | Some(3)));
        assert!(o.stderr.is_empty(), "--quiet");
        let m = read_manifest(&out.join(format!("manifest-{k}-of-3.jsonl"))).unwrap();
        assert!(!m.entries.is_empty(), "shard {k} is empty");
        for e in m.entries {
            assert_eq!(e.shard.as_deref(), Some(shard.as_str()));
            *seen.entry(e.path).or_default() += 1;
        }
    }
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        corpus_paths(&c.input)
    );
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    assert_eq!(outputs_only(&tree(&out)), outputs_only(&tree(&c.out)));
}

/// A small tree: three Arabic articles in two folders and one English text.
fn small(root: &Path) -> PathBuf {
    let input = root.join("in");
    std::fs::create_dir_all(input.join("a/b")).unwrap();
    std::fs::write(input.join("one.txt"), article(1)).unwrap();
    std::fs::write(input.join("a/two.txt"), article(2)).unwrap();
    std::fs::write(input.join("a/b/three.txt"), article(8)).unwrap();
    std::fs::write(input.join("a/english.txt"), "Only English here.\n").unwrap();
    input
}

#[test]
fn a_second_run_refuses_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let out = dir.path().join("out");
    let model = marian();
    let args = translate_args(s(&input), s(&out), &model);
    let first = tarjama(&args);
    assert_eq!(first.status.code(), Some(0), "{:?}", first);
    let files = tree(&out);
    let times = mtimes(&out);
    assert_eq!(files.len(), 4, "{:?}", files.keys());

    std::thread::sleep(Duration::from_millis(20));
    let second = tarjama(&args);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--resume") && stderr.contains("--overwrite"),
        "{stderr}"
    );
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(tree(&out), files);
    assert_eq!(mtimes(&out), times);
    assert_eq!(tree(&input).len(), 4, "inputs untouched");

    // --overwrite redoes everything (same bytes, new files); --resume redoes nothing.
    let mut over = args.clone();
    over.push("--overwrite");
    let o = tarjama(&over);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(outputs_only(&tree(&out)), outputs_only(&files));
    let rewritten = mtimes(&out);
    assert!(rewritten["one.en.txt"] > times["one.en.txt"]);
    let mut resume = args.clone();
    resume.push("--resume");
    let r = tarjama(&resume);
    assert!(String::from_utf8_lossy(&r.stderr).contains("3 already done"));
    assert_eq!(mtimes(&out)["one.en.txt"], rewritten["one.en.txt"]);

    // A changed input is redone on resume, with its new hash.
    std::fs::write(input.join("one.txt"), article(9)).unwrap();
    let r = tarjama(&resume);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(stderr.contains("2 already done"), "{stderr}");
    assert!(stderr.contains("1 ok, 0 failed, 1 skipped"), "{stderr}");
}

#[test]
fn an_out_dir_inside_the_input_dir_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let out = input.join("out");
    let model = marian();
    let args = translate_args(s(&input), s(&out), &model);
    assert_eq!(tarjama(&args).status.code(), Some(0));
    let mut over = args.clone();
    over.push("--overwrite");
    let o = tarjama(&over);
    assert_eq!(o.status.code(), Some(0));
    let m = read_manifest(&out.join("manifest.jsonl")).unwrap();
    let paths: BTreeSet<String> = m.entries.iter().map(|e| e.path.clone()).collect();
    assert_eq!(
        paths,
        ["a/b/three.txt", "a/english.txt", "a/two.txt", "one.txt"]
            .map(String::from)
            .into()
    );
    // OUT_DIR = INPUT_DIR, or one containing it, is refused.
    for bad in [input.clone(), dir.path().to_path_buf()] {
        let mut a = translate_args(s(&input), s(&bad), &model);
        a.push("--overwrite");
        let o = tarjama(&a);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("may not be INPUT_DIR"));
    }
}

#[test]
fn run_task_writes_the_translation_and_its_summary_like_tarjama_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let out = dir.path().join("out");
    let (translator, summarizer) = (marian(), bart());
    let o = tarjama(&[
        "batch",
        s(&input),
        "-o",
        s(&out),
        "--task",
        "run",
        "--translator",
        &translator,
        "--summarizer",
        &summarizer,
        "--glob",
        "*.txt",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for rel in ["one", "a/two", "a/b/three"] {
        let translation = std::fs::read_to_string(out.join(format!("{rel}.en.txt"))).unwrap();
        let summary = std::fs::read_to_string(out.join(format!("{rel}.summary.en.txt"))).unwrap();
        let single = tarjama(&[
            "run",
            s(&input.join(format!("{rel}.txt"))),
            "--translator",
            &translator,
            "--summarizer",
            &summarizer,
        ]);
        assert!(single.status.success());
        assert_eq!(
            format!("{summary}\n{translation}"),
            String::from_utf8(single.stdout).unwrap(),
            "{rel}"
        );
    }
    let m = read_manifest(&out.join("manifest.jsonl")).unwrap();
    let e = &latest(&m.entries)["one.txt"];
    assert!(e.tokens.summary > 0 && e.tokens.summary_input > 0);
    assert_eq!(e.models["summarizer"]["name"], summarizer.as_str());
}

#[test]
fn summarize_task_with_jsonl_writes_one_record_per_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let out = dir.path().join("out");
    let model = bart();
    let args = [
        "batch",
        s(&input),
        "-o",
        s(&out),
        "--task",
        "summarize",
        "--model",
        &model,
        "--format",
        "jsonl",
        "--glob",
        "a/**/*.txt",
    ];
    let o = tarjama(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // English is fine for summarize; one.txt is outside the glob.
    let paths: Vec<&str> = records
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["a/b/three.txt", "a/english.txt", "a/two.txt"]);
    for r in &records {
        let single = tarjama(&[
            "summarize",
            s(&input.join(r["path"].as_str().unwrap())),
            "--model",
            &model,
        ]);
        assert_eq!(
            format!("{}\n", r["summary"].as_str().unwrap()),
            String::from_utf8(single.stdout).unwrap()
        );
    }
    // Resume keeps the records and adds none.
    let mut resume = args.to_vec();
    resume.push("--resume");
    let r = tarjama(&resume);
    assert!(String::from_utf8_lossy(&r.stderr).contains("3 already done"));
    assert_eq!(
        std::fs::read_to_string(out.join("results.jsonl"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

/// Runs `tarjama batch` over `input` into `out` with the fixture translator and `extra` flags.
fn batch(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let model = marian();
    let mut args = translate_args(s(input), s(out), &model);
    args.extend(extra);
    tarjama(&args)
}

/// Asserts a refused run: exit 1, one message naming `file` and `--overwrite`, and `out`
/// exactly as it was.
fn assert_refused(o: &Output, file: &str, out: &Path, before: &BTreeMap<String, Vec<u8>>) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(file), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("--overwrite"), "{stderr}");
    assert!(
        !stderr.contains("files to process"),
        "work started: {stderr}"
    );
    assert_eq!(&tree(out), before, "OUT_DIR changed");
}

#[test]
fn resume_replaces_only_what_the_manifest_records() {
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let notes = b"MY NOTES\n".to_vec();

    // No manifest: a user's file where an output would go is refused, as without --resume.
    let out = dir.path().join("no-manifest");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("one.en.txt"), &notes).unwrap();
    let before = tree(&out);
    let o = batch(&input, &out, &["--resume"]);
    assert_refused(&o, "one.en.txt", &out, &before);
    assert_eq!(std::fs::read(out.join("one.en.txt")).unwrap(), notes);

    // The same for the JSONL results file, and for a manifest that is not tarjama's.
    for (name, extra) in [
        ("results.jsonl", &["--resume", "--format", "jsonl"][..]),
        ("manifest.jsonl", &["--resume"][..]),
    ] {
        let out = dir.path().join(format!("user-{name}"));
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join(name), &notes).unwrap();
        let before = tree(&out);
        let o = batch(&input, &out, extra);
        assert_refused(&o, name, &out, &before);
        assert_eq!(std::fs::read(out.join(name)).unwrap(), notes);
    }

    // A manifest that does not record the output (here: an earlier run over one input only).
    let out = dir.path().join("partial");
    assert_eq!(
        batch(&input, &out, &["--glob", "one.txt"]).status.code(),
        Some(0)
    );
    std::fs::create_dir(out.join("a")).unwrap();
    std::fs::write(out.join("a/two.en.txt"), &notes).unwrap();
    let before = tree(&out);
    let o = batch(&input, &out, &["--resume"]);
    assert_refused(&o, "two.en.txt", &out, &before);
    // Nor does a record that says the input failed or was skipped: a/english.txt was skipped
    // (no output), and a file put in its output's place is the user's.
    std::fs::remove_file(out.join("a/two.en.txt")).unwrap();
    assert_eq!(batch(&input, &out, &["--resume"]).status.code(), Some(0));
    std::fs::write(out.join("a/english.en.txt"), &notes).unwrap();
    let before = tree(&out);
    let o = batch(&input, &out, &["--resume"]);
    assert_refused(&o, "english.en.txt", &out, &before);
    // What the manifest records is still replaced: a changed input is redone.
    std::fs::remove_file(out.join("a/english.en.txt")).unwrap();
    std::fs::write(input.join("one.txt"), article(9)).unwrap();
    let o = batch(&input, &out, &["--resume"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("1 ok, 0 failed, 1 skipped, 2 already done"),
        "{stderr}"
    );
    // --overwrite still replaces anything.
    std::fs::write(out.join("a/english.en.txt"), &notes).unwrap();
    assert_eq!(batch(&input, &out, &["--overwrite"]).status.code(), Some(0));
    assert!(!out.join("a/english.en.txt").exists());

    // --resume on an empty or a missing OUT_DIR is a fresh run.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for out in [empty, dir.path().join("missing")] {
        let o = batch(&input, &out, &["--resume"]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        assert!(out.join("one.en.txt").is_file());
    }
}

#[cfg(unix)]
#[test]
fn outputs_and_manifest_get_ordinary_permissions_and_keep_a_replaced_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    // What any new file gets here: 0666 less the umask (which the child inherits).
    let probe = dir.path().join("probe");
    std::fs::File::create(&probe).unwrap();
    let ordinary = mode(&probe);
    assert_ne!(
        ordinary & 0o044,
        0,
        "umask hides group/other read: {ordinary:o}"
    );

    let out = dir.path().join("out");
    assert_eq!(batch(&input, &out, &[]).status.code(), Some(0));
    let files = [
        "one.en.txt",
        "a/two.en.txt",
        "a/b/three.en.txt",
        "manifest.jsonl",
    ];
    for f in files {
        assert_eq!(mode(&out.join(f)), ordinary, "{f}");
    }
    // Replaced files keep their mode (--overwrite rewrites the manifest too).
    for f in ["one.en.txt", "manifest.jsonl"] {
        std::fs::set_permissions(out.join(f), std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    assert_eq!(batch(&input, &out, &["--overwrite"]).status.code(), Some(0));
    for f in files {
        let want = if f == "one.en.txt" || f == "manifest.jsonl" {
            0o640
        } else {
            ordinary
        };
        assert_eq!(mode(&out.join(f)), want, "{f}");
    }

    // JSONL: the results file, also when --resume rewrites it.
    let out = dir.path().join("jsonl");
    assert_eq!(
        batch(&input, &out, &["--format", "jsonl"]).status.code(),
        Some(0)
    );
    for f in ["results.jsonl", "manifest.jsonl"] {
        assert_eq!(mode(&out.join(f)), ordinary, "{f}");
    }
    let o = batch(&input, &out, &["--format", "jsonl", "--resume"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("3 already done"));
    for f in ["results.jsonl", "manifest.jsonl"] {
        assert_eq!(mode(&out.join(f)), ordinary, "{f}");
    }
}

/// `--quantize` reaches batch's translator: its outputs equal `translate --quantize` on the same
/// file, and (on this deliberately sensitive fixture) differ from float32's.
#[test]
fn quantize_applies_to_the_batch_translator() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let text: String = SENTENCES[..12].join(" ") + "\n";
    std::fs::write(input.join("a.txt"), &text).unwrap();
    let model = marian();
    let run = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut args = translate_args(s(&input), s(&out), &model);
        args.extend_from_slice(extra);
        let o = tarjama(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read_to_string(out.join("a.en.txt")).unwrap()
    };
    let quantized = run("q", &["--quantize", "q8_0"]);
    let float = run("f", &[]);
    let single = tarjama(&[
        "translate",
        s(&input.join("a.txt")),
        "--model",
        &model,
        "--beams",
        "1",
        "--quantize",
        "q8_0",
    ]);
    assert_eq!(single.status.code(), Some(0));
    assert_eq!(quantized, String::from_utf8(single.stdout).unwrap());
    assert_ne!(
        quantized, float,
        "q8_0 should drift from float32 on the tiny model"
    );
    // The manifest records the quantization: --resume with it redoes the float32 output.
    let resumed = run("f", &["--quantize", "q8_0", "--resume"]);
    assert_eq!(resumed, quantized);
    let manifest = read_manifest(&dir.path().join("f").join("manifest.jsonl")).unwrap();
    let last = manifest.entries.last().unwrap();
    assert_eq!(
        last.models["translator"]["quantization"], "q8_0",
        "{:?}",
        last.models
    );
    assert_eq!(last.models["translator"]["dtype"], "f32");
}

#[test]
fn a_file_name_too_long_for_its_output_gets_a_shortened_unique_name() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    // 125 Arabic letters: 250 bytes, a valid name with `.txt`, over the 255-byte NAME_MAX
    // with `.en.txt`.
    let stem = "ب".repeat(125);
    std::fs::write(input.join(format!("{stem}.txt")), article(3)).unwrap();
    std::fs::write(input.join("short.txt"), article(4)).unwrap();
    let out = dir.path().join("out");
    let o = batch(&input, &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let rel = format!("{stem}.txt");
    let name = format!(
        "{}~{}.en.txt",
        "ب".repeat(120),
        &sha256_hex(stem.as_bytes())[..6]
    );
    assert_eq!(name.len(), 254, "cut on a letter boundary");
    let m = latest(&read_manifest(&out.join("manifest.jsonl")).unwrap().entries);
    assert_eq!(m[&rel].status, Status::Ok);
    assert_eq!(m[&rel].outputs, std::slice::from_ref(&name));
    // The same translation as the file under a short name gets.
    let single = dir.path().join("single");
    std::fs::create_dir_all(&single).unwrap();
    std::fs::write(single.join("x.txt"), article(3)).unwrap();
    let o = batch(&single, &dir.path().join("single-out"), &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read(out.join(&name)).unwrap(),
        std::fs::read(dir.path().join("single-out/x.en.txt")).unwrap()
    );
    let r = batch(&input, &out, &["--resume"]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 already done"), "{stderr}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn names_that_are_not_utf8_get_distinct_escaped_outputs() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    // CP1256 names (as in a Windows zip): "عم.txt" and "عن.txt".
    for (bytes, i) in [(&b"\xe1\xe3.txt"[..], 1), (&b"\xe1\xe4.txt"[..], 2)] {
        let name = std::ffi::OsStr::from_bytes(bytes);
        std::fs::write(input.join(name), article(i)).unwrap();
    }
    let out = dir.path().join("out");
    let o = batch(&input, &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let m = read_manifest(&out.join("manifest.jsonl")).unwrap();
    let paths: Vec<(&str, Status, &[String])> = m
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.status, &e.outputs[..]))
        .collect();
    assert_eq!(
        paths,
        [
            ("%E1%E3.txt", Status::Ok, &["%E1%E3.en.txt".to_string()][..]),
            ("%E1%E4.txt", Status::Ok, &["%E1%E4.en.txt".to_string()][..]),
        ]
    );
    let files = tree(&out);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["%E1%E3.en.txt", "%E1%E4.en.txt", "manifest.jsonl"]
    );
    assert_ne!(files["%E1%E3.en.txt"], files["%E1%E4.en.txt"]);
    let r = batch(&input, &out, &["--resume"]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 already done"), "{stderr}");
    assert_eq!(tree(&out), files);
}

#[test]
fn a_second_batch_on_one_out_dir_is_refused_naming_the_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // Another run holding the lock, as `tarjama batch` takes it.
    let lock_path = out.join(".tarjama.lock");
    std::fs::write(&lock_path, "pid 1234\nstarted 1764780000\n").unwrap();
    let held = std::fs::File::open(&lock_path).unwrap();
    held.try_lock().unwrap();
    let o = batch(&input, &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: {}: OUT_DIR is in use by tarjama batch pid 1234 since 2025-12-03 16:40:00 UTC; \
             wait for it to finish or choose another output folder\n",
            out.display()
        )
    );
    assert_eq!(tree(&out).len(), 1, "nothing written");

    // The holder died (its OS lock is released; the file stays): the lock is taken over.
    drop(held);
    let o = batch(&input, &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!lock_path.exists(), "removed when the run ends");
    assert_eq!(tree(&out).len(), 4);

    // Two real runs at once: the second is refused while the first works.
    let model = marian();
    let out = dir.path().join("out2");
    let lock_path = out.join(".tarjama.lock");
    let mut args = translate_args(s(&clean().input), s(&out), &model);
    args.extend(["--files-per-group", "1"]);
    let mut first = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(&args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    // Until the first has taken the lock and written its pid.
    while !std::fs::read_to_string(&lock_path).is_ok_and(|l| l.starts_with("pid ")) {
        assert!(t0.elapsed() < Duration::from_secs(60), "no lock");
        std::thread::sleep(Duration::from_millis(1));
    }
    let second = tarjama(&args);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run ended too early"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "OUT_DIR is in use by tarjama batch pid {} since ",
            first.id()
        )),
        "{stderr}"
    );
}

/// Starts a batch over the 50-entry tree into `out`, one file per group, and sends `signal`
/// once a few records are in the manifest. Returns its output.
fn interrupted(out: &Path, signal: &str) -> Output {
    let c = clean();
    let manifest = out.join("manifest.jsonl");
    let model = marian();
    let mut args = translate_args(s(&c.input), s(out), &model);
    args.extend(["--files-per-group", "1"]);
    let child = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&manifest)
            .map(|m| m.lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    child.wait_with_output().unwrap()
}

#[test]
fn sigint_finishes_the_write_in_flight_and_resume_completes_the_run() {
    let c = clean();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = interrupted(&out, "-INT");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    let m = read_manifest(&out.join("manifest.jsonl")).unwrap();
    assert_eq!(m.bad_lines, 0);
    assert!(!m.torn_end, "a whole last record");
    let n = m.entries.len();
    assert!(n < 50, "finished before the signal");
    assert!(
        stderr.ends_with(&format!(
            "batch: interrupted after {n} of 50 inputs; rerun with --resume\n"
        )),
        "{stderr}"
    );
    assert!(!out.join(".tarjama.lock").exists());
    assert!(!out.join(".tarjama-pending-all.jsonl").exists());

    let model = marian();
    let mut args = translate_args(s(&c.input), s(&out), &model);
    args.push("--resume");
    let r = tarjama(&args);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{stderr}");
    assert_eq!(outputs_only(&tree(&out)), outputs_only(&tree(&c.out)));
}

#[test]
fn sigterm_stops_with_exit_143() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = interrupted(&out, "-TERM");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("rerun with --resume"), "{stderr}");
}

#[test]
fn resume_after_a_sharded_run_names_the_shards_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let input = small(dir.path());
    let out = dir.path().join("out");
    for k in ["1/2", "2/2"] {
        let o = batch(&input, &out, &["--shard", k, "--quiet"]);
        assert_eq!(o.status.code(), Some(0));
    }
    let before = tree(&out);
    let o = batch(&input, &out, &["--resume"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: {}: not found: the earlier run here was sharded; resume each shard with its \
             own --shard (--shard 1/2, --shard 2/2)\n",
            out.join("manifest.jsonl").display()
        )
    );
    assert_eq!(tree(&out), before);
}

/// Model flags that contradict the task are usage errors (exit 2), found before anything is
/// loaded or written: one model named twice, a stage flag for a stage the task lacks, and
/// `--files-per-group` beyond its cap.
#[test]
fn contradicting_model_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.txt"), "وصل الوفد إلى العاصمة.\n").unwrap();
    let out = dir.path().join("out");
    let (i, o) = (s(&input), s(&out));
    let (m, b) = (marian(), bart());
    for (extra, want) in [
        (
            vec!["--model", &m, "--translator", &m],
            "error: --model and --translator both name the model of --task translate: give one\n",
        ),
        (
            vec!["--task", "summarize", "--model", &b, "--summarizer", &b],
            "error: --model and --summarizer both name the model of --task summarize: give one\n",
        ),
        (
            vec!["--model", &m, "--summarizer", &b],
            "error: --summarizer needs --task run or summarize\n",
        ),
        (
            vec!["--task", "run", "--model", &m],
            "error: --task run takes --translator and --summarizer, not --model\n",
        ),
        (
            vec!["--model", &m, "--files-per-group", "100001"],
            "error: invalid value '100001' for '--files-per-group <FILES_PER_GROUP>': must be at \
             most 100000\n\nFor more information, try '--help'.\n",
        ),
    ] {
        let args = [&["batch", i, "-o", o][..], &extra].concat();
        let r = tarjama(&args);
        assert_eq!(r.status.code(), Some(2), "{extra:?}");
        assert_eq!(String::from_utf8_lossy(&r.stderr), want, "{extra:?}");
        assert!(!out.exists(), "{extra:?}: nothing is written");
    }
}
