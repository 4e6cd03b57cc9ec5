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
