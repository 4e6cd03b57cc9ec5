//! `tarjama translate` end to end with the tiny fixture model: structure, robustness and
//! output formats.

mod common;

use std::path::PathBuf;
use std::process::Output;

use tarjama::pipeline::translate::{translate_documents, TranslateSettings};
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::text::Normalization;

const MARIAN: &str = "marian-tiny";

fn fixture() -> String {
    common::fixture(MARIAN).to_str().unwrap().to_string()
}

fn tarjama(args: &[&str], stdin: Option<&str>) -> Output {
    common::run_tarjama(args, stdin, &[])
}

fn pipeline() -> Seq2SeqPipeline {
    common::pipeline(MARIAN)
}

fn settings(
    pipe: &Seq2SeqPipeline,
    beams: usize,
    normalization: Normalization,
) -> TranslateSettings {
    let mut generation = pipe.generation.clone();
    generation.num_beams = beams;
    TranslateSettings {
        normalization,
        generation,
        batch_size: 8,
        max_batch_tokens: None,
    }
}

/// Twenty sentences written by the team, in one paragraph.
fn twenty_sentences() -> String {
    let s = [
        "وصل الوفد إلى العاصمة صباح اليوم.",
        "التقى الوزير بنظيره في مقر الحكومة.",
        "ناقش الجانبان التعاون في مجال الطاقة.",
        "هل سيتم توقيع الاتفاق قريبا؟",
        "أكد المتحدث أن المحادثات كانت إيجابية.",
        "ارتفعت أسعار النفط بنسبة ٣٪ أمس.",
        "انخفضت البطالة إلى أدنى مستوى لها منذ عشر سنوات.",
        "أعلنت الشركة عن أرباح قياسية!",
        "قال المدير إن الإنتاج سيزداد العام المقبل.",
        "هطلت أمطار غزيرة على المناطق الشمالية.",
        "أغلقت المدارس أبوابها بسبب العاصفة.",
        "فاز الفريق الوطني في المباراة النهائية.",
        "احتفل المشجعون في الشوارع حتى الفجر.",
        "افتتح متحف جديد في وسط المدينة.",
        "يضم المتحف آلاف القطع الأثرية.",
        "زار الرئيس المستشفى الجديد.",
        "وعدت الحكومة بتحسين الخدمات الصحية.",
        "بدأ موسم الحصاد في الجنوب.",
        "توقع الخبراء نموا اقتصاديا معتدلا.",
        "انتهى المؤتمر ببيان مشترك.",
    ];
    s.join(" ")
}

#[test]
fn twenty_sentences_give_twenty_segments() {
    let pipe = pipeline();
    let out = translate_documents(
        &pipe,
        &[twenty_sentences()],
        &settings(&pipe, 1, Normalization::default()),
    )
    .unwrap();
    assert_eq!(out[0].segments.len(), 20);
    assert!(out[0].segments.iter().all(|s| s.split == "sentence"));
    // One paragraph in, one line out.
    assert_eq!(out[0].text.trim_end().lines().count(), 1);
    // `؟` ended the fourth sentence.
    assert!(out[0].segments[3].source.ends_with('؟'));
}

#[test]
fn three_thousand_words_without_punctuation_are_not_truncated() {
    let pipe = pipeline();
    let words = [
        "الحكومة",
        "الاقتصاد",
        "المدينة",
        "الوزير",
        "الشعب",
        "التعاون",
    ];
    let text: String = (0..3000)
        .map(|i| words[i % words.len()])
        .collect::<Vec<_>>()
        .join(" ");
    let out = translate_documents(
        &pipe,
        std::slice::from_ref(&text),
        &settings(&pipe, 1, Normalization::default()),
    )
    .unwrap();
    let segs = &out[0].segments;
    assert!(segs.len() > 1);
    let limit = pipe.model.max_input_tokens();
    for s in segs {
        assert!(s.source_tokens <= limit, "{} tokens", s.source_tokens);
        assert_eq!(s.split, "word");
    }
    // Every word reached the model: the segments rebuild the input.
    let rebuilt: Vec<&str> = segs
        .iter()
        .flat_map(|s| s.source.split_whitespace())
        .collect();
    assert_eq!(rebuilt.len(), 3000);
    assert_eq!(rebuilt.join(" "), text);
}

#[test]
fn long_run_of_punctuation_is_bounded_by_the_length_limit() {
    let pipe = pipeline();
    let text = "!".repeat(400) + " " + &"،".repeat(400);
    let out = translate_documents(
        &pipe,
        &[text],
        &settings(&pipe, 4, Normalization::default()),
    )
    .unwrap();
    let max_new = pipe.generation.effective_max_length() - 1;
    for s in &out[0].segments {
        assert!(s.source_tokens <= pipe.model.max_input_tokens());
        assert!(s.target_tokens <= max_new);
    }
}

#[test]
fn diacritized_arabic_goes_through_with_and_without_removal() {
    let pipe = pipeline();
    let vowelled = "قَالَ الْوَزِيرُ إِنَّ الِاقْتِصَادَ نَمَا.".to_string();
    let plain = "قال الوزير إن الاقتصاد نما.".to_string();
    let with = translate_documents(
        &pipe,
        std::slice::from_ref(&vowelled),
        &settings(&pipe, 1, Normalization::default()),
    )
    .unwrap();
    let stripped = translate_documents(
        &pipe,
        &[vowelled],
        &settings(&pipe, 1, Normalization::strip_diacritics()),
    )
    .unwrap();
    let reference = translate_documents(
        &pipe,
        &[plain],
        &settings(&pipe, 1, Normalization::default()),
    )
    .unwrap();
    assert_eq!(with[0].segments.len(), 1);
    // Removing the diacritics makes the input (and so the output) that of the plain text.
    assert_eq!(
        stripped[0].segments[0].source_tokens,
        reference[0].segments[0].source_tokens
    );
    assert_eq!(stripped[0].text, reference[0].text);
    // Kept, they reach the tokenizer: the vowelled input is tokenized differently.
    assert_ne!(
        with[0].segments[0].source_tokens,
        reference[0].segments[0].source_tokens
    );
}

#[test]
fn pipe_stdin_to_stdout_keeps_paragraphs_and_lines() {
    let input = "وصل الوفد إلى العاصمة. التقى الوزير بنظيره.\nهل سيتم توقيع الاتفاق؟\n\n\nانتهى المؤتمر ببيان مشترك.\n";
    let o = tarjama(
        &["translate", "--model", &fixture(), "--beams", "1"],
        Some(input),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let shape = |t: &str| t.lines().map(|l| l.is_empty()).collect::<Vec<_>>();
    assert_eq!(shape(&out), shape(input));
    assert!(out.ends_with('\n'));
}

#[test]
fn jsonl_has_one_record_per_segment_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.txt");
    std::fs::write(&input, "وصل الوفد إلى العاصمة. التقى الوزير بنظيره.\n").unwrap();
    let out = dir.path().join("out.jsonl");
    let o = tarjama(
        &[
            "translate",
            input.to_str().unwrap(),
            "--model",
            &fixture(),
            "--format",
            "jsonl",
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["source"], "وصل الوفد إلى العاصمة.");
    assert_eq!(records[1]["segment"], 1);
    for r in &records {
        assert!(r["source_tokens"].as_u64().unwrap() > 1);
        assert!(r["target_tokens"].as_u64().unwrap() >= 1);
        assert!(r["translation"].is_string());
        assert!(
            r["score"].is_number(),
            "beam search (the model default) records a score"
        );
    }
    // No temporary files are left beside the output.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn cli_output_equals_library_output() {
    let pipe = pipeline();
    let text = "أعلنت الشركة عن أرباح قياسية! قال المدير إن الإنتاج سيزداد.\n".to_string();
    let lib = translate_documents(
        &pipe,
        std::slice::from_ref(&text),
        &settings(&pipe, 4, Normalization::default()),
    )
    .unwrap();
    let o = tarjama(&["translate", "-", "--model", &fixture()], Some(&text));
    assert!(o.status.success());
    assert_eq!(String::from_utf8(o.stdout).unwrap(), lib[0].text);
}

#[test]
fn example_file_in_repo_translates() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sample.ar.txt");
    let o = tarjama(
        &[
            "translate",
            example.to_str().unwrap(),
            "--model",
            &fixture(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    // Two paragraphs separated by one blank line, as in the input.
    assert_eq!(out.split("\n\n").count(), 2);
}

/// Runs `tarjama` and returns its stdout, failing with its stderr when it does not succeed.
fn tarjama_ok(args: &[&str]) -> String {
    let o = tarjama(args, None);
    assert!(
        o.status.success(),
        "tarjama {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn jsonl_records(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `line` counts every input line (blank ones, leading blank lines and `\r\n` line ends
/// included); a line's segments share it, as they share their `paragraph`.
#[test]
fn jsonl_line_is_the_input_line_of_each_segment() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.txt");
    std::fs::write(
        &input,
        "\n\nوصل الوفد إلى العاصمة. التقى الوزير بنظيره.\r\nهل سيتم توقيع الاتفاق قريبا؟\n\n \n\
         أعلنت الشركة عن أرباح قياسية! قال المدير إن الإنتاج سيزداد. بدأ موسم الحصاد.\n\n",
    )
    .unwrap();
    let out = tarjama_ok(&[
        "translate",
        input.to_str().unwrap(),
        "--model",
        &fixture(),
        "--format",
        "jsonl",
    ]);
    let got: Vec<(u64, u64, u64)> = jsonl_records(&out)
        .iter()
        .map(|r| {
            (
                r["segment"].as_u64().unwrap(),
                r["paragraph"].as_u64().unwrap(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, 0, 2),
            (1, 0, 2),
            (2, 0, 3),
            (3, 1, 6),
            (4, 1, 6),
            (5, 1, 6)
        ]
    );
}

/// Lines of team-written Arabic, most of them holding two or three sentences, and one English
/// reference line for each.
const MULTI_SENTENCE_LINES: [(&str, &str); 6] = [
    (
        "وصل الوفد إلى العاصمة صباح اليوم. التقى الوزير بنظيره في مقر الحكومة.",
        "The delegation arrived in the capital this morning. The minister met his counterpart.",
    ),
    (
        "هل سيتم توقيع الاتفاق قريبا؟",
        "Will the agreement be signed soon?",
    ),
    (
        "ارتفعت أسعار النفط بنسبة ٣٪ أمس. انخفضت البطالة. أعلنت الشركة عن أرباح قياسية!",
        "Oil prices rose by 3% yesterday. Unemployment fell. The company announced record profits!",
    ),
    (
        "هطلت أمطار غزيرة على المناطق الشمالية. أغلقت المدارس أبوابها بسبب العاصفة.",
        "Heavy rain fell on the northern regions. Schools closed because of the storm.",
    ),
    (
        "فاز الفريق الوطني في المباراة النهائية.",
        "The national team won the final.",
    ),
    (
        "افتتح متحف جديد في وسط المدينة. يضم المتحف آلاف القطع الأثرية. زار الرئيس المستشفى.",
        "A new museum opened downtown. It holds thousands of artefacts. The president visited the hospital.",
    ),
];

/// Translates `input` with `--format text` and `--format jsonl`, checks that the text output
/// has `lines` lines and the JSONL more records, then that `eval --jsonl-field translation
/// --jsonl-join line` prints exactly what `eval` prints for the text output (also as JSON), and
/// that without `--jsonl-join` the JSONL is refused with a line-count mismatch.
fn check_jsonl_join_equals_text(input: &str, reference: &str, lines: usize) {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("out.en");
    let jsonl = dir.path().join("out.jsonl");
    for (format, out) in [("text", &text), ("jsonl", &jsonl)] {
        tarjama_ok(&[
            "translate",
            input,
            "--model",
            &fixture(),
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
        ]);
    }
    let text_out = std::fs::read_to_string(&text).unwrap();
    assert_eq!(text_out.lines().count(), lines);
    let records = jsonl_records(&std::fs::read_to_string(&jsonl).unwrap());
    assert!(records.len() > lines, "{} records", records.len());
    let (t, j) = (text.to_str().unwrap(), jsonl.to_str().unwrap());
    for format in ["text", "json"] {
        let want = tarjama_ok(&["eval", "--ref", reference, t, "--format", format]);
        let got = tarjama_ok(&[
            "eval",
            "--ref",
            reference,
            j,
            "--jsonl-field",
            "translation",
            "--jsonl-join",
            "line",
            "--format",
            format,
        ]);
        assert_eq!(got, want, "--format {format}");
    }
    let o = tarjama(
        &[
            "eval",
            "--ref",
            reference,
            j,
            "--jsonl-field",
            "translation",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("has {} segments", records.len()))
            && err.contains(&format!("has {lines};"))
            && err.contains("--jsonl-join line"),
        "{err}"
    );
}

#[test]
fn eval_jsonl_joined_by_line_equals_eval_of_the_text_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ar");
    let reference = dir.path().join("ref.en");
    let (ar, en): (Vec<&str>, Vec<&str>) = MULTI_SENTENCE_LINES.iter().copied().unzip();
    std::fs::write(&input, ar.join("\n") + "\n").unwrap();
    std::fs::write(&reference, en.join("\n") + "\n").unwrap();
    check_jsonl_join_equals_text(
        input.to_str().unwrap(),
        reference.to_str().unwrap(),
        ar.len(),
    );
}

/// With several input files, records are joined per file: line 0 of `b.ar` right after line 0
/// of `a.ar` stays its own segment. The result equals the text outputs of the files, one after
/// the other.
#[test]
fn eval_jsonl_join_keeps_files_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (ar, en): (Vec<&str>, Vec<&str>) = MULTI_SENTENCE_LINES.iter().copied().unzip();
    let a = dir.path().join("a.ar");
    let b = dir.path().join("b.ar");
    std::fs::write(&a, format!("{}\n", ar[0])).unwrap();
    std::fs::write(&b, ar[1..].join("\n") + "\n").unwrap();
    let reference = dir.path().join("ref.en");
    std::fs::write(&reference, en.join("\n") + "\n").unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let model = fixture();
    let mut text = String::new();
    for f in [a, b] {
        text.push_str(&tarjama_ok(&["translate", f, "--model", &model]));
    }
    let text_path = dir.path().join("out.en");
    std::fs::write(&text_path, &text).unwrap();
    let jsonl = tarjama_ok(&["translate", a, b, "--model", &model, "--format", "jsonl"]);
    let records = jsonl_records(&jsonl);
    assert_eq!(records[0]["line"], 0);
    assert_eq!(
        records[2]["line"], 0,
        "b.ar starts after a.ar's two sentences"
    );
    let jsonl_path = dir.path().join("out.jsonl");
    std::fs::write(&jsonl_path, &jsonl).unwrap();
    let r = reference.to_str().unwrap();
    let want = tarjama_ok(&["eval", "--ref", r, text_path.to_str().unwrap()]);
    let got = tarjama_ok(&[
        "eval",
        "--ref",
        r,
        jsonl_path.to_str().unwrap(),
        "--jsonl-field",
        "translation",
        "--jsonl-join",
        "line",
    ]);
    assert_eq!(got, want);
}

/// The user's case: the Tatoeba sample of `../shared` (500 lines, some of two sentences).
/// Skipped, with a message, when `../shared` is absent.
#[test]
fn shared_sample500_jsonl_joined_by_line_equals_text_output() {
    let data = common::shared_data().join("tatoeba-ara-eng");
    let (ar, en) = (data.join("sample500.ar"), data.join("sample500.en"));
    if !ar.is_file() || !en.is_file() {
        eprintln!("shared_sample500_jsonl_join: ../shared/data not found; skipping");
        return;
    }
    check_jsonl_join_equals_text(ar.to_str().unwrap(), en.to_str().unwrap(), 500);
}
