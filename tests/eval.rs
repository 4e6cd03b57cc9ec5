//! `tarjama eval` / `tarjama compare` against sacrebleu 2.6.0 and rouge-score 0.1.2.
//!
//! Golden values come from `scripts/make_eval_goldens.py` (committed under
//! `tests/fixtures/eval/`). Every printed figure must equal the reference's at the printed
//! precision: whole sacrebleu score lines (score, n-gram precisions, BP, ratio, lengths),
//! ROUGE P/R/F, and the paired bootstrap's score, mean, CI and p-value.
//!
//! Tests on `../shared` data return early with a message when it is absent; the team-written
//! texts below keep the suite asserting real values without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tarjama::eval::stem::porter_stem;
use tarjama::eval::xlsum::{self, ArabicStemmer};
use tarjama::eval::{
    self, bootstrap, BleuConfig, BleuTokenizer, BootstrapSettings, EvalSettings, Flores,
    MetricKind, RandomizationSettings, RougeBootstrapSettings, RougeConfig, RougeTokenizer,
    ScoreDetail, ScoreLine, SpmTokenizer, XlsumLang,
};

// ------------------------------------------------------------------------------------------
// Team-written texts (the golden script holds the same lists; a test checks they agree).
// ------------------------------------------------------------------------------------------

const EN_REF1: [&str; 12] = [
    "The committee approved the budget on Monday, after a long debate.",
    "Prices rose by 3.5% in March — the highest rise since 1990.",
    "She said: “We will not give up.”",
    "The bridge, which was built in 1887, is 1,200 metres long.",
    "Can you tell me where the station is?",
    "He bought 12 apples, 3 oranges and a melon for $7.50.",
    "Rain is expected across the north; temperatures will fall to −5°C.",
    "The minister's visit was postponed until further notice.",
    "Children under 5 travel free of charge.",
    "It's the 21st century… and we still argue about this!",
    "The report (published in 2023) lists 14 recommendations.",
    "Visit www.example.com or call +44 20 7946 0958 for details.",
];
const EN_REF2: [&str; 12] = [
    "On Monday the committee passed the budget following a lengthy debate.",
    "In March prices went up 3.5%, the biggest increase since 1990.",
    "“We won't give up,” she said.",
    "Built in 1887, the bridge is 1,200 m long.",
    "Could you tell me where the station is?",
    "He paid $7.50 for twelve apples, three oranges and a melon.",
    "Rain is forecast in the north, with temperatures dropping to −5 °C.",
    "The minister's visit has been postponed indefinitely.",
    "Kids below the age of five travel for free.",
    "It is the twenty-first century... and we are still arguing about it!",
    "The 2023 report lists fourteen recommendations.",
    "For details, visit www.example.com or phone +44 20 7946 0958.",
];
const EN_SYS_A: [&str; 12] = [
    "The committee approved the budget on Monday after a long discussion.",
    "Prices increased 3.5 % in March, the highest since 1990.",
    "She said: \"We will not surrender.\"",
    "The bridge, built in 1887, is 1.200 meters long.",
    "Can you tell me where is the station?",
    "He bought 12 apples, 3 oranges, and a melon for 7.50 dollars.",
    "Rain expected in the north; temperature will drop to -5 °C.",
    "The visit of the minister was postponed until further notice.",
    "Children under five years travel for free.",
    "It is the 21st century ... and we still argue about this !",
    "The report, published in 2023, lists 14 recommendations.",
    "Visit www.example.com or call +44 20 7946 0958 for more details.",
];
const EN_SYS_B: [&str; 12] = [
    "Committee approve budget Monday long debate.",
    "The prices went up in March since 1990.",
    "She say we not give up.",
    "Bridge was build 1887 and long 1200 metre.",
    "Where station?",
    "He buy apples oranges melon.",
    "It will rain north and cold.",
    "Minister visit delayed.",
    "Small children travel free.",
    "This century we argue still.",
    "Report 2023 has recommendations 14.",
    "Call for details.",
];
const EN_SYS_C: [&str; 12] = [
    "On Monday, the committee approved the budget after lengthy debate.",
    "In March, prices rose 3.5% — the largest rise since 1990.",
    "“We will never give up,” she said.",
    "The bridge was built in 1887 and is 1,200 metres long.",
    "Could you tell me where the station is?",
    "He bought twelve apples, three oranges and a melon for $7.50.",
    "Rain is expected in the north; temperatures will fall to −5°C.",
    "The minister's visit was postponed.",
    "Children under 5 travel free.",
    "It's the 21st century… yet we still argue about this!",
    "The report (published in 2023) lists 14 recommendations.",
    "Visit www.example.com or call +44 20 7946 0958 for details.",
];
const AR_REF: [&str; 6] = [
    "ذهب الولد إلى المدرسة صباحاً.",
    "هل تعرف أين تقع محطة القطار؟",
    "وُلد الكاتب عام ١٩٤٥ في القاهرة، وتوفي عام ٢٠٠٦.",
    "ارتفعت الأسعار بنسبة ٣٫٥٪ في شهر مارس؛ وهي أعلى زيادة منذ عام ١٩٩٠.",
    "قال الوزير: «لن نتراجع عن هذا القرار».",
    "يبلغ طول الجسر 1200 متر.",
];
const AR_SYS_A: [&str; 6] = [
    "ذهب الولد إلى المدرسة في الصباح.",
    "هل تعرف أين محطة القطار؟",
    "ولد الكاتب سنة ١٩٤٥ في القاهرة وتوفي سنة ٢٠٠٦.",
    "ارتفعت الأسعار ٣٫٥٪ في مارس، أعلى زيادة منذ ١٩٩٠.",
    "قال الوزير «لن نتراجع عن القرار».",
    "طول الجسر ١٢٠٠ متر.",
];
const AR_SYS_B: [&str; 6] = [
    "الولد ذهب المدرسة.",
    "أين المحطة؟",
    "الكاتب ولد في القاهرة.",
    "الأسعار ارتفعت في مارس.",
    "الوزير قال لا تراجع.",
    "الجسر طويل.",
];
const UNI_REF: [&str; 5] = [
    "Le prix est de 12,50 € (TVA incluse).",
    "Temperature: 25 °C ± 0.5 — stable.",
    "Ｔｏｋｙｏ\u{3000}２０２０ was postponed to 2021.",
    "½ cup of sugar, ² squared, ∞ loops 😀!",
    "İstanbul'da 3 gün kaldık; ΣΟΦΟΣ said «ça va».",
];
const UNI_SYS: [&str; 5] = [
    "Le prix est 12.50 € TVA incluse.",
    "Temperature 25°C\u{1c}±0.5 - stable",
    "Tokyo 2020 was delayed to 2021.",
    "Half cup of sugar ² squared ∞ loops 😀 !",
    "istanbul'da 3 gun kaldik; σοφος said «ca va».",
];

fn text(name: &str) -> Vec<String> {
    let v: &[&str] = match name {
        "EN_REF1" => &EN_REF1,
        "EN_REF2" => &EN_REF2,
        "EN_SYS_A" => &EN_SYS_A,
        "EN_SYS_B" => &EN_SYS_B,
        "EN_SYS_C" => &EN_SYS_C,
        "AR_REF" => &AR_REF,
        "AR_SYS_A" => &AR_SYS_A,
        "AR_SYS_B" => &AR_SYS_B,
        "UNI_REF" => &UNI_REF,
        "UNI_SYS" => &UNI_SYS,
        other => panic!("unknown text {other}"),
    };
    v.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Value {
    let p = crate_dir().join("tests/fixtures/eval").join(name);
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&s).unwrap()
}

/// `../shared`, or `None` with a message when it is absent.
fn shared_dir(test: &str) -> Option<PathBuf> {
    let p = crate_dir().join("../shared");
    if p.join("data").is_dir() {
        Some(p)
    } else {
        eprintln!("{test}: ../shared not found; skipping (the inline-text tests still run)");
        None
    }
}

/// A raw golden value: stored as Python's repr string (parsed here with Rust's correctly
/// rounded parser, so no JSON-library rounding creeps in).
fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        other => other.as_f64().unwrap(),
    }
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// The fixture SentencePiece model the spBLEU goldens put where sacrebleu looks for
/// `flores101`'s or `flores200`'s.
fn spm_fixture(name: &str) -> PathBuf {
    let g = fixture("goldens_options.json");
    crate_dir().join(g["spm_models"][name].as_str().unwrap())
}

/// A golden spec's BLEU tokenizer; flores101/flores200 with their fixture models.
fn bleu_tokenizer_from(name: &str) -> BleuTokenizer {
    match name.parse::<Flores>() {
        Ok(f) => BleuTokenizer::Spm(SpmTokenizer::load(f, &spm_fixture(name)).unwrap()),
        Err(_) => name.parse().unwrap(),
    }
}

fn settings_from(spec: &Value) -> EvalSettings {
    let metrics = strs(&spec["metrics"])
        .iter()
        .map(|m| m.parse::<MetricKind>().unwrap())
        .collect();
    EvalSettings {
        metrics,
        bleu: BleuConfig {
            tokenize: bleu_tokenizer_from(spec["tokenize"].as_str().unwrap_or("13a")),
            lowercase: spec["lowercase"].as_bool().unwrap_or(false),
            effective_order: false,
        },
        rouge: RougeConfig {
            tokenizer: spec["rouge_tokenize"]
                .as_str()
                .unwrap_or("default")
                .parse()
                .unwrap(),
            use_stemmer: spec["stem"].as_bool().unwrap_or(false),
        },
    }
}

/// Counts of raw values that agree bit for bit / only at printed precision.
#[derive(Default)]
struct Tally {
    exact: usize,
    close: usize,
    max_rel: f64,
}

impl Tally {
    fn raw(&mut self, got: f64, want: f64, what: &str) {
        if got == want {
            self.exact += 1;
        } else {
            let rel = (got - want).abs() / want.abs().max(1.0);
            assert!(rel < 1e-9, "{what}: raw value {got} vs {want}");
            self.close += 1;
            self.max_rel = self.max_rel.max(rel);
        }
    }

    fn report(&self, what: &str) {
        eprintln!(
            "{what}: {} raw values bit-identical, {} equal to within {:.1e} (all printed figures identical)",
            self.exact, self.close, self.max_rel
        );
    }
}

fn check_line(got: &ScoreLine, want: &Value, width: usize, ctx: &str, tally: &mut Tally) {
    assert_eq!(got.name, want["name"].as_str().unwrap(), "{ctx}");
    if let Some(sig) = want["signature"].as_str() {
        assert_eq!(got.signature, sig, "{ctx}: signature");
    }
    assert_eq!(
        got.format(width),
        want["line"].as_str().unwrap(),
        "{ctx}: printed line"
    );
    tally.raw(got.score, num(&want["score"]), ctx);
    match &got.detail {
        ScoreDetail::Bleu(b) => {
            if want.get("counts").is_some() {
                let c: Vec<u64> = want["counts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect();
                let t: Vec<u64> = want["totals"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect();
                assert_eq!(b.counts.to_vec(), c, "{ctx}: counts");
                assert_eq!(b.totals.to_vec(), t, "{ctx}: totals");
                assert_eq!(b.sys_len, want["sys_len"].as_u64().unwrap(), "{ctx}");
                assert_eq!(b.ref_len, want["ref_len"].as_u64().unwrap(), "{ctx}");
                for (k, p) in want["precisions"].as_array().unwrap().iter().enumerate() {
                    tally.raw(b.precisions[k], num(p), ctx);
                }
                tally.raw(b.bp, num(&want["bp"]), ctx);
                tally.raw(b.ratio(), num(&want["ratio"]), ctx);
            }
        }
        ScoreDetail::Ter(t) => {
            if let Some(e) = want.get("num_edits") {
                assert_eq!(t.num_edits as u64, e.as_u64().unwrap(), "{ctx}: edits");
                tally.raw(t.ref_length, num(&want["ref_length"]), ctx);
            }
        }
        ScoreDetail::Rouge(r) => {
            if want.get("precision").is_some() {
                tally.raw(r.precision, num(&want["precision"]), ctx);
                tally.raw(r.recall, num(&want["recall"]), ctx);
                tally.raw(r.fmeasure, num(&want["fmeasure"]), ctx);
            }
        }
        ScoreDetail::None => {}
    }
}

fn check_case(
    case: &Value,
    hyps: &[String],
    refs: &[Vec<String>],
    width: usize,
    tally: &mut Tally,
) {
    let id = case["id"].as_str().unwrap();
    let settings = settings_from(&case["spec"]);
    let got = eval::evaluate(&settings, hyps, refs).unwrap();
    let want = case["expected"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{id}: number of figures");
    for (g, w) in got.iter().zip(want) {
        check_line(g, w, width, &format!("{id} {}", g.name), tally);
    }
    if let Some(rows) = case.get("sentences") {
        let rows = rows.as_array().unwrap();
        let got = eval::evaluate_sentences(&settings, hyps, refs).unwrap();
        for (i, (g_row, w_row)) in got.iter().zip(rows).enumerate() {
            let w_row = w_row.as_array().unwrap();
            assert_eq!(g_row.len(), w_row.len(), "{id} line {}", i + 1);
            for (g, w) in g_row.iter().zip(w_row) {
                check_line(
                    g,
                    w,
                    width,
                    &format!("{id} line {} {}", i + 1, g.name),
                    tally,
                );
            }
        }
    }
}

fn check_compare(case: &Value, systems: &[Vec<String>], refs: &[Vec<String>], tally: &mut Tally) {
    let id = case["id"].as_str().unwrap();
    let settings = settings_from(&case["spec"]);
    let got = eval::compare(&settings, systems, refs, &BootstrapSettings::default()).unwrap();
    let want = case["expected"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{id}");
    for (g, w) in got.iter().zip(want) {
        let ctx = format!("{id} {}", g.name);
        assert_eq!(g.name, w["name"].as_str().unwrap(), "{ctx}");
        assert_eq!(g.signature, w["signature"].as_str().unwrap(), "{ctx}");
        for (s, (gr, wr)) in g
            .results
            .iter()
            .zip(w["results"].as_array().unwrap())
            .enumerate()
        {
            let ctx = format!("{ctx} system {s}");
            assert_eq!(
                format!("{:.2}", gr.score),
                wr["score_str"].as_str().unwrap(),
                "{ctx} score"
            );
            assert_eq!(
                format!("{:.2}", gr.mean),
                wr["mean_str"].as_str().unwrap(),
                "{ctx} mean"
            );
            assert_eq!(
                format!("{:.2}", gr.ci),
                wr["ci_str"].as_str().unwrap(),
                "{ctx} ci"
            );
            match (
                gr.p_value,
                wr["p_value"].as_str().map(|p| p.parse::<f64>().unwrap()),
            ) {
                (None, None) => {}
                (Some(p), Some(q)) => {
                    assert_eq!(format!("{p:.4}"), wr["p_str"].as_str().unwrap(), "{ctx} p");
                    assert_eq!(p, q, "{ctx}: p-value must be identical");
                }
                other => panic!("{ctx}: p-value presence differs: {other:?}"),
            }
            tally.raw(gr.score, num(&wr["score"]), &ctx);
            tally.raw(gr.mean, num(&wr["mean"]), &ctx);
            tally.raw(gr.ci, num(&wr["ci"]), &ctx);
        }
    }
}

/// `compare --paired-ar` in the library against sacrebleu's `PairedTest(test_type='ar')`:
/// names, signatures, printed scores and p-values, and the p-values bit for bit.
fn check_compare_ar(
    case: &Value,
    systems: &[Vec<String>],
    refs: &[Vec<String>],
    tally: &mut Tally,
) {
    let id = case["id"].as_str().unwrap();
    let settings = settings_from(&case["spec"]);
    let ar = RandomizationSettings {
        trials: case["trials"]
            .as_u64()
            .map_or(eval::DEFAULT_TRIALS, |t| t as usize),
        seed: eval::DEFAULT_SEED,
    };
    let got = eval::compare_randomization(&settings, systems, refs, &ar).unwrap();
    let want = case["expected"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{id}");
    for (g, w) in got.iter().zip(want) {
        let ctx = format!("{id} ({} trials) {}", ar.trials, g.name);
        assert_eq!(g.name, w["name"].as_str().unwrap(), "{ctx}");
        assert_eq!(g.signature, w["signature"].as_str().unwrap(), "{ctx}");
        let wr = w["results"].as_array().unwrap();
        assert_eq!(g.results.len(), wr.len(), "{ctx}");
        for (s, (gr, wr)) in g.results.iter().zip(wr).enumerate() {
            let ctx = format!("{ctx} system {s}");
            assert_eq!(
                format!("{:.2}", gr.score),
                wr["score_str"].as_str().unwrap(),
                "{ctx} score"
            );
            match (
                gr.p_value,
                wr["p_value"].as_str().map(|p| p.parse::<f64>().unwrap()),
            ) {
                (None, None) => {}
                (Some(p), Some(q)) => {
                    assert_eq!(format!("{p:.4}"), wr["p_str"].as_str().unwrap(), "{ctx} p");
                    assert_eq!(p, q, "{ctx}: p-value must be identical");
                }
                other => panic!("{ctx}: p-value presence differs: {other:?}"),
            }
            tally.raw(gr.score, num(&wr["score"]), &ctx);
        }
    }
}

/// `eval --confidence` in the library against sacrebleu's `corpus_score(...,
/// n_bootstrap=N)`: whole printed lines, the score-only text, and the mean and CI bit for bit.
fn check_confidence(case: &Value, hyps: &[String], refs: &[Vec<String>], width: usize) {
    let id = case["id"].as_str().unwrap();
    let settings = settings_from(case.get("spec").unwrap_or(case));
    let bs = BootstrapSettings {
        resamples: case["n"]
            .as_u64()
            .map_or(eval::DEFAULT_RESAMPLES, |n| n as usize),
        seed: eval::DEFAULT_SEED,
    };
    let got = eval::evaluate_with_confidence(&settings, hyps, refs, &bs).unwrap();
    let want = case["expected"].as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{id}");
    for ((l, c), w) in got.iter().zip(want) {
        let ctx = format!("{id} {}", l.name);
        assert_eq!(l.signature, w["signature"].as_str().unwrap(), "{ctx}");
        assert_eq!(
            l.format_with(width, Some(c)),
            w["line"].as_str().unwrap(),
            "{ctx}"
        );
        assert_eq!(
            l.score_text(width, Some(c)),
            w["score_only"].as_str().unwrap(),
            "{ctx}"
        );
        assert_eq!(c.mean, num(&w["mean"]), "{ctx}: mean must be identical");
        assert_eq!(c.ci, num(&w["ci"]), "{ctx}: ci must be identical");
    }
}

// ------------------------------------------------------------------------------------------
// Deterministic perturbations (mirror of PERTURBATIONS in scripts/make_eval_goldens.py)
// ------------------------------------------------------------------------------------------

fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_words(s: &str) -> Vec<&str> {
    s.split(is_py_space).filter(|w| !w.is_empty()).collect()
}

fn p_drop(i: usize, line: &str) -> String {
    py_words(line)
        .into_iter()
        .enumerate()
        .filter(|(j, _)| (i + j) % 4 != 3)
        .map(|(_, w)| w)
        .collect::<Vec<_>>()
        .join(" ")
}

fn p_swap(i: usize, line: &str) -> String {
    let mut w = py_words(line);
    if w.len() >= 2 {
        let k = i % (w.len() - 1);
        w.swap(k, k + 1);
    }
    w.join(" ")
}

fn perturb_line(name: &str, i: usize, line: &str) -> String {
    let out = match name {
        "none" => line.to_string(),
        "drop" => p_drop(i, line),
        "swap" => p_swap(i, line),
        "case" => match i % 3 {
            0 => line.to_lowercase(),
            1 => line.to_uppercase(),
            _ => line.to_string(),
        },
        "punct" => match i % 3 {
            0 => line.chars().filter(|c| !".,!?;:\"'".contains(*c)).collect(),
            1 => line.replace('.', " . ").replace(',', " , "),
            _ => format!("{line} !!"),
        },
        "empty" => {
            if i.is_multiple_of(7) {
                String::new()
            } else {
                line.to_string()
            }
        }
        "mix" => {
            let mut l = p_swap(i, &p_drop(i, line));
            if i.is_multiple_of(5) {
                l = l.to_lowercase();
            }
            if i.is_multiple_of(11) {
                l.clear();
            }
            l
        }
        other => panic!("unknown perturbation {other}"),
    };
    out.trim_end_matches(is_py_space).to_string()
}

fn perturb(name: &str, lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| perturb_line(name, i, l))
        .collect()
}

/// Reads a data file as tarjama reads inputs, after checking its sha256 against the goldens.
struct SharedData {
    en: Vec<String>,
    ar: Vec<String>,
    test_en: Vec<String>,
    root: PathBuf,
}

fn load_shared(test: &str, goldens: &Value) -> Option<SharedData> {
    let root = shared_dir(test)?;
    let read = |key: &str| -> Vec<String> {
        let rel = goldens["data"][key]["path"].as_str().unwrap();
        let p = root.join(rel);
        let bytes = std::fs::read(&p).unwrap();
        let digest = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(
            digest,
            goldens["data"][key]["sha256"].as_str().unwrap(),
            "{} changed: regenerate with scripts/make_eval_goldens.py",
            p.display()
        );
        let text = String::from_utf8(bytes).unwrap();
        eval::input::split_lines(&text)
    };
    let en = read("en");
    let ar = read("ar");
    read("xsum");
    let test_en = read("test_en");
    Some(SharedData {
        en,
        ar,
        test_en,
        root,
    })
}

fn source<'a>(data: &'a SharedData, spec: &Value) -> (&'a [String], String) {
    let arr = spec.as_array().unwrap();
    let lines = match arr[0].as_str().unwrap() {
        "en" => &data.en,
        "ar" => &data.ar,
        other => panic!("unknown source {other}"),
    };
    (lines, arr[1].as_str().unwrap().to_string())
}

// ------------------------------------------------------------------------------------------
// Tests on team-written texts
// ------------------------------------------------------------------------------------------

#[test]
fn inline_texts_match_the_golden_script() {
    let g = fixture("goldens_inline.json");
    for (name, lines) in g["texts"].as_object().unwrap() {
        assert_eq!(
            strs(lines),
            text(name),
            "{name} differs from scripts/make_eval_goldens.py"
        );
    }
}

#[test]
fn inline_corpus_and_sentence_scores_match_sacrebleu_and_rouge_score() {
    let g = fixture("goldens_inline.json");
    let width = g["width"].as_u64().unwrap() as usize;
    let mut tally = Tally::default();
    for case in g["cases"].as_array().unwrap() {
        let hyps = text(case["spec"]["hyp"].as_str().unwrap());
        let refs: Vec<Vec<String>> = strs(&case["spec"]["refs"])
            .iter()
            .map(|r| text(r))
            .collect();
        check_case(case, &hyps, &refs, width, &mut tally);
    }
    tally.report("inline eval");
}

/// Mirror of `long_ter_texts` in scripts/make_eval_goldens.py: a 333-word paragraph against
/// a perturbed copy, and length ratios beyond 50 (where TER's beam widens).
fn long_ter_texts() -> (Vec<String>, Vec<String>) {
    let joined = [text("EN_REF1"), text("EN_REF2"), text("EN_SYS_C")]
        .concat()
        .join(" ");
    let para: Vec<&str> = py_words(&joined);
    let mut hyp = para.clone();
    let mut k = 0;
    while k + 3 < hyp.len() {
        hyp.swap(k, k + 3);
        k += 7;
    }
    hyp.truncate(hyp.len() - 5);
    let short = &para[..6];
    let hyps = vec![hyp.join(" "), short.join(" "), para.join(" ")];
    let refs = vec![para.join(" "), para.join(" "), short.join(" ")];
    (hyps, refs)
}

/// TER on segments of hundreds of words, where only the beam band of the edit distance matrix
/// is computed: identical to sacrebleu, corpus and sentence level.
#[test]
fn inline_long_segments_ter_matches_sacrebleu() {
    let g = fixture("goldens_inline.json");
    let (hyps, refs) = long_ter_texts();
    assert_eq!(py_words(&refs[0]).len(), 333);
    let mut tally = Tally::default();
    for case in g["long_ter_cases"].as_array().unwrap() {
        check_case(case, &hyps, std::slice::from_ref(&refs), 2, &mut tally);
    }
    tally.report("inline long TER");
}

#[test]
fn inline_paired_bootstrap_matches_sacrebleu() {
    let g = fixture("goldens_inline.json");
    let mut tally = Tally::default();
    for case in g["compare"].as_array().unwrap() {
        let systems: Vec<Vec<String>> = strs(&case["spec"]["systems"])
            .iter()
            .map(|s| text(s))
            .collect();
        let refs: Vec<Vec<String>> = strs(&case["spec"]["refs"])
            .iter()
            .map(|r| text(r))
            .collect();
        check_compare(case, &systems, &refs, &mut tally);
    }
    tally.report("inline compare");
}

#[test]
fn inline_paired_randomization_matches_sacrebleu() {
    let g = fixture("goldens_inline.json");
    let mut tally = Tally::default();
    let cases = g["compare_ar"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let systems: Vec<Vec<String>> = strs(&case["spec"]["systems"])
            .iter()
            .map(|s| text(s))
            .collect();
        let refs: Vec<Vec<String>> = strs(&case["spec"]["refs"])
            .iter()
            .map(|r| text(r))
            .collect();
        check_compare_ar(case, &systems, &refs, &mut tally);
    }
    tally.report("inline compare --paired-ar");
}

#[test]
fn inline_confidence_matches_sacrebleu() {
    let g = fixture("goldens_inline.json");
    let width = g["width"].as_u64().unwrap() as usize;
    let cases = g["confidence"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let hyps = text(case["hyp"].as_str().unwrap());
        let refs: Vec<Vec<String>> = strs(&case["refs"]).iter().map(|r| text(r)).collect();
        check_confidence(case, &hyps, &refs, width);
    }
}

#[test]
fn porter_stemmer_matches_nltk() {
    let g = fixture("goldens_inline.json");
    let stems = g["stems"].as_object().unwrap();
    assert!(stems.len() > 150);
    for (w, s) in stems {
        assert_eq!(porter_stem(w), s.as_str().unwrap(), "stem of {w}");
    }
}

#[test]
fn resampling_indices_match_numpy_default_rng() {
    let g = fixture("goldens_inline.json");
    let rng = &g["rng"];
    let want = |k: &str| -> Vec<usize> {
        rng[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    };
    assert_eq!(
        bootstrap::resample_indices(12345, 1, 500)[..32],
        want("choice_500_first_32")[..]
    );
    assert_eq!(
        bootstrap::resample_indices(12345, 5, 7)[..32],
        want("choice_7_first_32")[..]
    );
    assert_eq!(
        bootstrap::resample_indices(7, 3, 12)[..32],
        want("choice_12_first_32")[..]
    );
}

fn unicode_rouge(target: &str, prediction: &str) -> [(f64, f64, f64); 4] {
    let c = RougeConfig {
        tokenizer: RougeTokenizer::Unicode,
        use_stemmer: false,
    };
    eval::rouge::score(target, prediction, &c).map(|s| (s.precision, s.recall, s.fmeasure))
}

fn assert_prf(got: (f64, f64, f64), want: (f64, f64, f64), what: &str) {
    let ok = (got.0 - want.0).abs() < 1e-12
        && (got.1 - want.1).abs() < 1e-12
        && (got.2 - want.2).abs() < 1e-12;
    assert!(ok, "{what}: got {got:?}, want {want:?}");
}

/// Three Arabic cases worked out by hand. The default tokenizer gives 0 on all of them.
#[test]
fn rouge_unicode_tokenizer_on_arabic_hand_checked() {
    // 1. "The boy went to the school" vs "... to the house": 4 tokens each.
    //    unigrams: 3 of 4 shared -> P = R = F = 3/4; bigrams: 2 of 3 -> 2/3;
    //    LCS = 3 -> 3/4; one sentence, so Lsum = L.
    let d = unicode_rouge("ذهب الولد إلى المدرسة", "ذهب الولد إلى البيت");
    assert_prf(d[0], (0.75, 0.75, 0.75), "case 1 rouge1");
    assert_prf(d[1], (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0), "case 1 rouge2");
    assert_prf(d[2], (0.75, 0.75, 0.75), "case 1 rougeL");
    assert_prf(d[3], (0.75, 0.75, 0.75), "case 1 rougeLsum");

    // 2. Reordered, with a different verb form (قرأ vs قرأه): reference 3 tokens, prediction 4.
    //    unigrams shared: الطالب, الكتاب -> P = 2/4, R = 2/3, F = 2·(1/2)(2/3)/(7/6) = 4/7;
    //    no bigram shared -> 0; LCS = 1 (the two shared words are in opposite orders) ->
    //    P = 1/4, R = 1/3, F = 2/7.
    let d = unicode_rouge("قرأ الطالب الكتاب", "الكتاب قرأه الطالب بسرعة");
    assert_prf(d[0], (0.5, 2.0 / 3.0, 4.0 / 7.0), "case 2 rouge1");
    assert_prf(d[1], (0.0, 0.0, 0.0), "case 2 rouge2");
    assert_prf(d[2], (0.25, 1.0 / 3.0, 2.0 / 7.0), "case 2 rougeL");

    // 3. Diacritics, Arabic punctuation and Arabic-Indic digits: tokens
    //    [وصلَ ٣ طلاب ثم غادروا] vs [وصل ٣ طلاب ثم رحلوا]; the comma, semicolon and full stop
    //    separate words; وصلَ (with fatha) differs from وصل. Shared unigrams ٣, طلاب, ثم -> 3/5;
    //    shared bigrams "٣ طلاب", "طلاب ثم" -> 2/4; LCS = 3 -> 3/5.
    let d = unicode_rouge("وصلَ ٣ طلاب، ثم غادروا.", "وصل ٣ طلاب؛ ثم رحلوا");
    assert_prf(d[0], (0.6, 0.6, 0.6), "case 3 rouge1");
    assert_prf(d[1], (0.5, 0.5, 0.5), "case 3 rouge2");
    assert_prf(d[2], (0.6, 0.6, 0.6), "case 3 rougeL");

    let default = RougeConfig::default();
    for (t, p) in [
        ("ذهب الولد إلى المدرسة", "ذهب الولد إلى البيت"),
        ("قرأ الطالب الكتاب", "الكتاب قرأه الطالب بسرعة"),
        ("وصلَ ٣ طلاب، ثم غادروا.", "وصل ٣ طلاب؛ ثم رحلوا"),
    ] {
        for s in eval::rouge::score(t, p, &default) {
            assert_eq!(s.fmeasure, 0.0, "default tokenizer keeps only [a-z0-9]");
        }
    }
}

// ------------------------------------------------------------------------------------------
// Tests on ../shared data
// ------------------------------------------------------------------------------------------

#[test]
fn shared_tatoeba_scores_match_sacrebleu_and_rouge_score() {
    let g = fixture("goldens_shared.json");
    let Some(data) = load_shared("shared_tatoeba_scores", &g) else {
        return;
    };
    let width = g["width"].as_u64().unwrap() as usize;
    let mut tally = Tally::default();
    for case in g["cases"].as_array().unwrap() {
        let (src, p) = source(&data, &case["spec"]["hyp"]);
        let hyps = perturb(&p, src);
        let refs: Vec<Vec<String>> = case["spec"]["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let (src, p) = source(&data, r);
                perturb(&p, src)
            })
            .collect();
        check_case(case, &hyps, &refs, width, &mut tally);
    }
    tally.report("shared eval");
}

#[test]
fn shared_paired_bootstrap_matches_sacrebleu() {
    let g = fixture("goldens_shared.json");
    let Some(data) = load_shared("shared_paired_bootstrap", &g) else {
        return;
    };
    let mut tally = Tally::default();
    for case in g["compare"].as_array().unwrap() {
        let build = |v: &Value| -> Vec<Vec<String>> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let (src, p) = source(&data, s);
                    perturb(&p, src)
                })
                .collect()
        };
        let systems = build(&case["spec"]["systems"]);
        let refs = build(&case["spec"]["refs"]);
        check_compare(case, &systems, &refs, &mut tally);
    }
    tally.report("shared compare");
}

#[test]
fn shared_paired_randomization_matches_sacrebleu() {
    let g = fixture("goldens_shared.json");
    let Some(data) = load_shared("shared_paired_randomization", &g) else {
        return;
    };
    let mut tally = Tally::default();
    for case in g["compare_ar"].as_array().unwrap() {
        let build = |v: &Value| -> Vec<Vec<String>> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let (src, p) = source(&data, s);
                    perturb(&p, src)
                })
                .collect()
        };
        let systems = build(&case["spec"]["systems"]);
        let refs = build(&case["spec"]["refs"]);
        check_compare_ar(case, &systems, &refs, &mut tally);
    }
    tally.report("shared compare --paired-ar");
}

#[test]
fn shared_confidence_matches_sacrebleu() {
    let g = fixture("goldens_shared.json");
    let Some(data) = load_shared("shared_confidence", &g) else {
        return;
    };
    let width = g["width"].as_u64().unwrap() as usize;
    for case in g["confidence"].as_array().unwrap() {
        let (src, p) = source(&data, &case["hyp"]);
        let hyps = perturb(&p, src);
        let refs: Vec<Vec<String>> = case["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let (src, p) = source(&data, r);
                perturb(&p, src)
            })
            .collect();
        check_confidence(case, &hyps, &refs, width);
    }
}

/// Long segments where TER's beam and shift-candidate limit matter (`long_paragraphs` in the
/// golden file).
#[test]
fn shared_long_paragraphs_match_sacrebleu() {
    let g = fixture("goldens_shared.json");
    let Some(data) = load_shared("shared_long_paragraphs", &g) else {
        return;
    };
    let paras: Vec<String> = (0..60)
        .map(|k| data.test_en[15 * k..15 * k + 15].join(" "))
        .collect();
    let hyps: Vec<String> = paras
        .iter()
        .map(|p| {
            let mut w = py_words(p);
            let mut k = 0;
            while k + 3 < w.len() {
                w.swap(k, k + 3);
                k += 7;
            }
            w.truncate(w.len().saturating_sub(5));
            w.join(" ").trim_end_matches(is_py_space).to_string()
        })
        .collect();
    let mut tally = Tally::default();
    for case in g["long_cases"].as_array().unwrap() {
        check_case(case, &hyps, std::slice::from_ref(&paras), 2, &mut tally);
    }
    tally.report("shared long paragraphs");
}

fn xsum_lead3(root: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(root.join("data/summarization-en/articles.jsonl")).unwrap();
    let mut hyps = Vec::new();
    let mut refs = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let article = v["article"].as_str().unwrap();
        let lead: Vec<&str> = article.split('\n').take(3).collect();
        hyps.push(lead.join("\n").trim_end_matches(is_py_space).to_string());
        refs.push(
            v["reference"]
                .as_str()
                .unwrap()
                .trim_end_matches(is_py_space)
                .to_string(),
        );
    }
    (hyps, refs)
}

#[test]
fn shared_xsum_rouge_lsum_on_multi_sentence_summaries() {
    let g = fixture("goldens_shared.json");
    let Some(data) = load_shared("shared_xsum_rouge_lsum", &g) else {
        return;
    };
    let (hyps, refs) = xsum_lead3(&data.root);
    let mut tally = Tally::default();
    for case in g["jsonl_cases"].as_array().unwrap() {
        check_case(case, &hyps, std::slice::from_ref(&refs), 2, &mut tally);
    }
    tally.report("shared xsum");
}

// ------------------------------------------------------------------------------------------
// Command line
// ------------------------------------------------------------------------------------------

fn tarjama(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .output()
        .expect("run tarjama")
}

fn write_lines(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(&p, s).unwrap();
    p
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// Runs tarjama with `input` on its standard input.
fn tarjama_stdin(args: &[&std::ffi::OsStr], input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tarjama");
    // a usage error may exit before reading its input
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().expect("wait for tarjama")
}

/// Asserts a usage error: exit code 2, one line on stderr containing every `needle`.
fn assert_usage_error(out: &std::process::Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{err}");
    for n in needles {
        assert!(first.contains(n), "{n:?} not in {first:?}");
    }
}

#[test]
fn cli_hypothesis_one_line_short_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let h = write_lines(dir.path(), "hyp.txt", &text("EN_SYS_A")[..11]);
    let out = tarjama(&[os("eval"), os("--ref"), r.as_os_str(), h.as_os_str()]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one-line error, got: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains("hyp.txt")
            && err.contains("11")
            && err.contains("12")
            && err.contains("ref.txt"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn cli_empty_file_and_invalid_utf8_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let out = tarjama(&[os("eval"), os("--ref"), r.as_os_str(), empty.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("empty.txt") && err.contains("empty"), "{err}");

    let bad = dir.path().join("bad.txt");
    let mut bytes = "ok line\nsecond ".as_bytes().to_vec();
    bytes.extend([0xC3, 0x28]);
    bytes.extend(b" tail\n");
    std::fs::write(&bad, bytes).unwrap();
    let out = tarjama(&[os("eval"), os("--ref"), bad.as_os_str(), r.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim_end(),
        format!("error: {}: invalid UTF-8 at line 2, byte 15", bad.display())
    );

    let out = tarjama(&[
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        r.as_os_str(),
        empty.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn cli_eval_prints_the_golden_lines() {
    let g = fixture("goldens_inline.json");
    let case = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "en-a-2ref")
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let r1 = write_lines(dir.path(), "ref1.txt", &text("EN_REF1"));
    let r2 = write_lines(dir.path(), "ref2.txt", &text("EN_REF2"));
    let h = write_lines(dir.path(), "hyp.txt", &text("EN_SYS_A"));
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        r1.as_os_str(),
        os("-r"),
        r2.as_os_str(),
        h.as_os_str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let want: Vec<&str> = case["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_str().unwrap())
        .collect();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want);

    // JSON: sacrebleu's rounded score plus signature fields
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        r1.as_os_str(),
        os("--ref"),
        r2.as_os_str(),
        h.as_os_str(),
        os("--metrics"),
        os("bleu,ter"),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["name"], "BLEU");
    assert_eq!(arr[0]["nrefs"], "2");
    assert_eq!(arr[0]["tok"], "13a");
    let bleu_line = want[0];
    let printed = bleu_line
        .split(" = ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(format!("{:.2}", arr[0]["score"].as_f64().unwrap()), printed);

    // --sentence: a TSV with one row per line
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        r1.as_os_str(),
        h.as_os_str(),
        os("--sentence"),
        os("--metrics"),
        os("chrf"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = s.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rows[0], "line\tchrF2");
    assert_eq!(rows.len(), 13);
}

#[test]
fn cli_eval_arabic_unicode_rouge_says_which_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.ar", &text("AR_REF"));
    let h = write_lines(dir.path(), "hyp.ar", &text("AR_SYS_A"));
    let g = fixture("goldens_inline.json");
    for (tok, id) in [("unicode", "ar-a"), ("default", "ar-a-default-rouge")] {
        let case = g["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone();
        let out = tarjama(&[
            os("eval"),
            os("--ref"),
            r.as_os_str(),
            h.as_os_str(),
            os("--metrics"),
            os("rouge"),
            os("--rouge-tokenize"),
            os(tok),
        ]);
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let want: Vec<&str> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"].as_str().unwrap().starts_with("ROUGE"))
            .map(|e| e["line"].as_str().unwrap())
            .collect();
        assert_eq!(stdout.lines().collect::<Vec<_>>(), want);
        assert!(stdout.contains(&format!("tok:{tok}")));
    }
}

/// `compare --paired-ar` prints sacrebleu's `--paired-ar` p-values (text and JSON), takes
/// sacrebleu's `--paired-ar-n` as an alias of `--ar-trials`, and refuses bad combinations with
/// exit code 2.
#[test]
fn cli_compare_paired_ar_prints_sacrebleu_p_values() {
    let g = fixture("goldens_inline.json");
    let case = |trials: u64| {
        g["compare_ar"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "en-abc" && c["trials"] == trials)
            .unwrap()
            .clone()
    };
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let a = write_lines(dir.path(), "a.txt", &text("EN_SYS_A"));
    let b = write_lines(dir.path(), "b.txt", &text("EN_SYS_B"));
    let c = write_lines(dir.path(), "c.txt", &text("EN_SYS_C"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            os("compare"),
            os("--ref"),
            r.as_os_str(),
            a.as_os_str(),
            b.as_os_str(),
            c.as_os_str(),
            os("--metrics"),
            os("bleu,chrf,chrf++,ter"),
            os("--paired-ar"),
        ];
        args.extend(extra.iter().map(|s| os(s)));
        tarjama(&args)
    };
    for (trials, extra) in [
        (10000, &[][..]),
        (37, &["--ar-trials", "37"][..]),
        (37, &["--paired-ar-n", "37"][..]),
    ] {
        let want = case(trials);
        let mut json_args = extra.to_vec();
        json_args.extend(["--format", "json"]);
        let out = run(&json_args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["test"], "paired approximate randomization");
        assert_eq!(v["trials"], trials);
        assert_eq!(v["seed"], 12345);
        let metrics = v["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 4);
        for (gm, wm) in metrics.iter().zip(want["expected"].as_array().unwrap()) {
            assert_eq!(gm["signature"], wm["signature"]);
            for (gr, wr) in gm["results"]
                .as_array()
                .unwrap()
                .iter()
                .zip(wm["results"].as_array().unwrap())
            {
                assert_eq!(
                    format!("{:.2}", gr["score"].as_f64().unwrap()),
                    wr["score_str"].as_str().unwrap()
                );
                // (the library test checks the p-values bit for bit; serde_json's float
                // parser is not correctly rounded, so only printed precision here)
                match wr["p_str"].as_str() {
                    Some(p) => {
                        assert_eq!(format!("{:.4}", gr["p_value"].as_f64().unwrap()), p);
                        assert_eq!(
                            format!("{:.4}", gr["exact"]["p_value"].as_f64().unwrap()),
                            p
                        );
                    }
                    None => assert!(gr["p_value"].is_null()),
                }
            }
        }
        // the text table: one row per metric and system, with the printed p-values
        let out = run(extra);
        assert_eq!(out.status.code(), Some(0));
        let s = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "Paired approximate randomization (sacrebleu --paired-ar): {trials} trials, seed \
                 12345, baseline {}",
                a.display()
            )
        );
        let bleu = &want["expected"][0];
        let row = |k: usize| -> Vec<&str> { lines[4 + k].split_whitespace().collect() };
        assert_eq!(
            row(0)[..4],
            [
                "BLEU",
                &*a.display().to_string(),
                bleu["results"][0]["score_str"].as_str().unwrap(),
                "baseline"
            ]
        );
        for k in 1..3 {
            let p = bleu["results"][k]["p_value"]
                .as_str()
                .unwrap()
                .parse::<f64>()
                .unwrap();
            let cell = bleu["results"][k]["p_str"].as_str().unwrap();
            assert_eq!(row(k)[2], bleu["results"][k]["score_str"].as_str().unwrap());
            assert_eq!(row(k)[3], cell);
            assert_eq!(row(k).get(4) == Some(&"*"), p <= 0.05, "{s}");
        }
        assert!(
            s.contains(&format!(
                "  BLEU     {}\n",
                bleu["signature"].as_str().unwrap()
            )),
            "{s}"
        );
    }
    // bad combinations and bounds: usage errors naming the flags
    assert_usage_error(
        &run(&["--resamples", "10"]),
        &["--paired-ar", "--resamples"],
    );
    assert_usage_error(&run(&["--paired-bs"]), &["--paired-ar", "--paired-bs"]);
    assert_usage_error(&run(&["--ar-trials", "0"]), &["--ar-trials", "0"]);
    let out = tarjama(&[
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        a.as_os_str(),
        b.as_os_str(),
        os("--ar-trials"),
        os("5"),
    ]);
    assert_usage_error(&out, &["--paired-ar"]);
}

/// `eval --confidence` prints sacrebleu's lines (`-b`: only the scores), `--confidence-n`
/// sets the resamples, `--sentence-level` is `--sentence`; bad combinations exit 2.
#[test]
fn cli_eval_confidence_and_score_only() {
    let g = fixture("goldens_inline.json");
    let width = g["width"].as_u64().unwrap().to_string();
    let case = |id: &str| {
        g["confidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let a = write_lines(dir.path(), "a.txt", &text("EN_SYS_A"));
    let c = write_lines(dir.path(), "c.txt", &text("EN_SYS_C"));
    let run = |hyp: &Path, extra: &[&str]| {
        let mut args = vec![
            os("eval"),
            os("--ref"),
            r.as_os_str(),
            hyp.as_os_str(),
            os("--metrics"),
            os("bleu,chrf,chrf++,ter"),
            os("-w"),
            os(&width),
        ];
        args.extend(extra.iter().map(|s| os(s)));
        tarjama(&args)
    };
    let joined = |case: &Value, key: &str| -> String {
        case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{}\n", e[key].as_str().unwrap()))
            .collect()
    };
    let a_case = case("EN_SYS_A-EN_REF1-1000");
    let out = run(&a, &["--confidence"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        joined(&a_case, "line")
    );
    let out = run(&a, &["--confidence", "-b"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        joined(&a_case, "score_only")
    );
    let c_case = case("EN_SYS_C-EN_REF1-37");
    let out = run(&c, &["--confidence", "--confidence-n", "37"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        joined(&c_case, "line")
    );
    // sacrebleu resamples only when n > 1: `--confidence-n 1` prints the plain lines.
    let plain = String::from_utf8(run(&c, &[]).stdout).unwrap();
    let one = String::from_utf8(run(&c, &["--confidence", "--confidence-n", "1"]).stdout).unwrap();
    assert_eq!(one, plain);
    assert!(!one.contains("bs:") && one.lines().count() == 4, "{one}");
    // JSON: sacrebleu's confidence fields
    let out = run(&a, &["--confidence", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let chrf = &v[1];
    assert_eq!(chrf["bs"], "1000");
    assert_eq!(chrf["seed"], "12345");
    let line = a_case["expected"][1]["line"].as_str().unwrap();
    let conf = line.split(" (").nth(1).unwrap().trim_end_matches(')');
    assert_eq!(chrf["confidence"], conf);
    // -b without --confidence: the plain scores
    let out = run(&a, &["-b"]);
    let plain = run(&a, &[]);
    let want: String = String::from_utf8(plain.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            format!(
                "{}\n",
                l.split(" = ").nth(1).unwrap().split(' ').next().unwrap()
            )
        })
        .collect();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    // --sentence-level is --sentence
    assert_eq!(
        run(&a, &["--sentence-level"]).stdout,
        run(&a, &["--sentence"]).stdout
    );
    assert_usage_error(
        &run(&a, &["--confidence", "--sentence"]),
        &["--confidence", "--sentence"],
    );
    assert_usage_error(&run(&a, &["--confidence-n", "5"]), &["--confidence"]);
    assert_usage_error(
        &run(&a, &["--confidence", "--confidence-n", "0"]),
        &["--confidence-n", "0"],
    );
}

/// `.gz` hypotheses and references are decompressed (every gzip member, as Python's
/// `gzip.open`), so they score as the plain files do; a broken one is an error naming it.
#[test]
fn cli_eval_reads_gz_inputs() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let a = write_lines(dir.path(), "a.txt", &text("EN_SYS_A"));
    let gz = |name: &str, parts: &[&[u8]]| -> PathBuf {
        let mut bytes = Vec::new();
        for part in parts {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(part).unwrap();
            bytes.extend(e.finish().unwrap());
        }
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let ref_bytes = std::fs::read(&r).unwrap();
    let hyp_bytes = std::fs::read(&a).unwrap();
    let r_gz = gz("ref.txt.gz", &[&ref_bytes]);
    // the hypothesis in two gzip members, split inside a line
    let a_gz = gz("a.txt.gz", &[&hyp_bytes[..50], &hyp_bytes[50..]]);
    let eval = |r: &Path, h: &Path| {
        tarjama(&[
            os("eval"),
            os("--ref"),
            r.as_os_str(),
            h.as_os_str(),
            os("--metrics"),
            os("bleu,chrf"),
        ])
    };
    let plain = eval(&r, &a);
    assert_eq!(plain.status.code(), Some(0));
    assert!(plain.stdout.starts_with(b"BLEU|nrefs:1|"));
    let packed = eval(&r_gz, &a_gz);
    assert_eq!(
        packed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    assert_eq!(packed.stdout, plain.stdout);
    // not gzip data under a .gz name
    let bad = dir.path().join("bad.txt.gz");
    std::fs::write(&bad, &hyp_bytes).unwrap();
    let out = eval(&r, &bad);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: {}: not a valid gzip file", bad.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn cli_compare_prints_sacrebleu_p_values() {
    let g = fixture("goldens_inline.json");
    let case = g["compare"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "en-abc")
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let a = write_lines(dir.path(), "a.txt", &text("EN_SYS_A"));
    let b = write_lines(dir.path(), "b.txt", &text("EN_SYS_B"));
    let c = write_lines(dir.path(), "c.txt", &text("EN_SYS_C"));
    let out = tarjama(&[
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        a.as_os_str(),
        b.as_os_str(),
        c.as_os_str(),
        os("--metrics"),
        os("bleu,chrf,chrf++,ter"),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (gm, wm) in v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["expected"].as_array().unwrap())
    {
        assert_eq!(gm["name"], wm["name"]);
        assert_eq!(gm["signature"], wm["signature"]);
        for (gr, wr) in gm["results"]
            .as_array()
            .unwrap()
            .iter()
            .zip(wm["results"].as_array().unwrap())
        {
            assert_eq!(
                format!("{:.2}", gr["score"].as_f64().unwrap()),
                wr["score_str"].as_str().unwrap()
            );
            match wr["p_str"].as_str() {
                Some(p) => assert_eq!(format!("{:.4}", gr["p_value"].as_f64().unwrap()), p),
                None => assert!(gr["p_value"].is_null()),
            }
        }
    }
    // the text table carries the same figures
    let out = tarjama(&[
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        a.as_os_str(),
        b.as_os_str(),
        os("--metrics"),
        os("bleu"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    let bleu = &case["expected"][0]["results"];
    assert!(s.contains(bleu[1]["p_str"].as_str().unwrap()), "{s}");
    assert!(
        s.contains(&format!(
            "{} ± {}",
            bleu[0]["mean_str"].as_str().unwrap(),
            bleu[0]["ci_str"].as_str().unwrap()
        )),
        "{s}"
    );
}

#[test]
fn cli_jsonl_fields_feed_rouge_lsum() {
    let g = fixture("goldens_shared.json");
    let Some(data) = load_shared("cli_jsonl_fields", &g) else {
        return;
    };
    let (hyps, _) = xsum_lead3(&data.root);
    let dir = tempfile::tempdir().unwrap();
    let hyp = dir.path().join("out.jsonl");
    let body: Vec<String> = hyps
        .iter()
        .map(|h| serde_json::json!({ "translation": h }).to_string())
        .collect();
    std::fs::write(&hyp, body.join("\n") + "\n").unwrap();
    let refs = data.root.join("data/summarization-en/articles.jsonl");
    let case = &g["jsonl_cases"][0];
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        refs.as_os_str(),
        os("--ref-jsonl-field"),
        os("reference"),
        os("--jsonl-field"),
        os("translation"),
        hyp.as_os_str(),
        os("--metrics"),
        os("rouge"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let want: Vec<&str> = case["expected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_str().unwrap())
        .collect();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want);
}

/// ROUGE has no paired test in sacrebleu; `compare` extends the same procedure to it. Its
/// scores must be the ones `eval` prints, and its resampled means must straddle them.
#[test]
fn compare_rouge_extension_agrees_with_eval() {
    let settings = EvalSettings {
        metrics: vec![MetricKind::Rouge],
        ..EvalSettings::default()
    };
    let refs = vec![text("EN_REF1")];
    let systems = vec![text("EN_SYS_A"), text("EN_SYS_B"), text("EN_SYS_A")];
    let cmp = eval::compare(&settings, &systems, &refs, &BootstrapSettings::default()).unwrap();
    assert_eq!(cmp.len(), 4);
    for (k, c) in cmp.iter().enumerate() {
        assert!(
            c.signature.contains("bs:1000|seed:12345|tok:default"),
            "{}",
            c.signature
        );
        for (s, r) in c.results.iter().enumerate() {
            let lines = eval::evaluate(&settings, &systems[s], &refs).unwrap();
            assert_eq!(lines[k].name, c.name);
            assert_eq!(r.score, lines[k].score, "{} system {s}", c.name);
            assert!(
                (r.mean - r.score).abs() < r.ci.max(1.0),
                "{} system {s}",
                c.name
            );
        }
        assert_eq!(c.results[0].p_value, None);
        // B is far worse than A; an identical copy of A gets sacrebleu's minimum p = 1/1001
        // (a zero difference never exceeds itself).
        assert!(c.results[1].p_value.unwrap() < 0.05, "{}", c.name);
        assert_eq!(c.results[2].p_value, Some(1.0 / 1001.0));
    }
}

// ------------------------------------------------------------------------------------------
// Resample bounds, flag values, standard input, JSON Lines details, hints
// ------------------------------------------------------------------------------------------

/// Numeric flags are checked by clap: out-of-range values are usage errors (exit 2), and a
/// huge resample count is refused up front instead of attempting a 400 GB allocation.
#[test]
fn cli_numeric_flags_out_of_range_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let a = write_lines(dir.path(), "a.txt", &text("EN_SYS_A"));
    let b = write_lines(dir.path(), "b.txt", &text("EN_SYS_B"));
    let compare = |extra: &[&str]| {
        let mut args = vec![os("compare"), os("--ref"), r.as_os_str(), a.as_os_str()];
        args.push(b.as_os_str());
        args.extend(extra.iter().map(|s| os(s)));
        tarjama(&args)
    };
    assert_usage_error(&compare(&["--resamples", "0"]), &["--resamples", "0"]);
    let t = std::time::Instant::now();
    let out = compare(&["--resamples", "100000000"]);
    assert_usage_error(&out, &["--resamples", "100000000", "1000000"]);
    assert!(t.elapsed().as_secs() < 20, "refused without allocating");
    assert_usage_error(&compare(&["--resamples=-5"]), &["--resamples", "-5"]);
    assert_usage_error(&compare(&["--seed=-1"]), &["--seed", "-1"]);
    assert_usage_error(&compare(&["-w", "1000000000"]), &["--width", "1000000000"]);
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        r.as_os_str(),
        a.as_os_str(),
        os("-w"),
        os("x"),
    ]);
    assert_usage_error(&out, &["--width"]);
    // the largest values allowed still run (few segments, one metric)
    let out = compare(&["--resamples", "1", "--metrics", "bleu", "-w", "20"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The library refuses the same counts with an error, before drawing anything.
#[test]
fn compare_resample_bounds_in_the_library() {
    let refs = vec![text("EN_REF1")];
    let systems = vec![text("EN_SYS_A"), text("EN_SYS_B")];
    let settings = EvalSettings {
        metrics: vec![MetricKind::Bleu],
        ..EvalSettings::default()
    };
    for resamples in [0, eval::MAX_RESAMPLES + 1, 100_000_000] {
        let bs = BootstrapSettings {
            resamples,
            ..BootstrapSettings::default()
        };
        let e = eval::compare(&settings, &systems, &refs, &bs).unwrap_err();
        assert!(e.to_string().contains("resamples"), "{e}");
    }
    // a plan too large to keep in memory is drawn again row by row: the same results as the
    // kept plan behind the goldens (1000 resamples of 12 segments)
    let n = refs[0].len();
    let kept = bootstrap::Resamples::new(12345, 1000, n).unwrap();
    let streamed = bootstrap::Resamples::with_cache_limit(12345, 1000, n, 0).unwrap();
    let mut rows = Vec::new();
    streamed.for_each_row(|r| rows.extend_from_slice(r));
    assert_eq!(rows, bootstrap::resample_indices(12345, 1000, n));
    let bleu = eval::Bleu::new(BleuConfig::default());
    let stats: Vec<Vec<Vec<f64>>> = systems
        .iter()
        .map(|s| eval::CorpusMetric::segment_stats(&bleu, s, &refs))
        .collect();
    let from_kept = bootstrap::paired_bootstrap(&bleu, &stats, &kept);
    assert_eq!(
        bootstrap::paired_bootstrap(&bleu, &stats, &streamed),
        from_kept
    );
    let cmp = eval::compare(&settings, &systems, &refs, &BootstrapSettings::default()).unwrap();
    assert_eq!(cmp[0].results, from_kept);
    let f: Vec<Vec<f64>> = stats
        .iter()
        .map(|s| s.iter().map(|x| x[0]).collect())
        .collect();
    assert_eq!(
        bootstrap::paired_bootstrap_means(&f, &streamed),
        bootstrap::paired_bootstrap_means(&f, &kept)
    );
}

/// `-` reads the hypothesis (or one compared system) from standard input, as sacrebleu reads
/// its system output from stdin; the output is the same as with the file.
#[test]
fn cli_dash_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let a = write_lines(dir.path(), "a.txt", &text("EN_SYS_A"));
    let b = write_lines(dir.path(), "b.txt", &text("EN_SYS_B"));
    let body = std::fs::read(&a).unwrap();

    let from_file = tarjama(&[os("eval"), os("--ref"), r.as_os_str(), a.as_os_str()]);
    let from_stdin = tarjama_stdin(&[os("eval"), os("--ref"), r.as_os_str(), os("-")], &body);
    assert_eq!(
        from_stdin.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    assert_eq!(from_stdin.stdout, from_file.stdout);

    // compare: `-` as the second system, named <stdin> in the report
    let out = tarjama_stdin(
        &[
            os("compare"),
            os("--ref"),
            r.as_os_str(),
            b.as_os_str(),
            os("-"),
            os("--metrics"),
            os("bleu"),
            os("--format"),
            os("json"),
        ],
        &body,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["systems"][1], "<stdin>");
    let files = tarjama(&[
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        b.as_os_str(),
        a.as_os_str(),
        os("--metrics"),
        os("bleu"),
        os("--format"),
        os("json"),
    ]);
    let w: Value = serde_json::from_slice(&files.stdout).unwrap();
    for k in 0..2 {
        assert_eq!(
            v["metrics"][0]["results"][k]["exact"],
            w["metrics"][0]["results"][k]["exact"]
        );
    }

    // errors name <stdin>
    let short = text("EN_SYS_A")[..11].join("\n") + "\n";
    let out = tarjama_stdin(
        &[os("eval"), os("--ref"), r.as_os_str(), os("-")],
        short.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: <stdin>: has 11 segments"), "{err}");
    let out = tarjama_stdin(&[os("eval"), os("--ref"), r.as_os_str(), os("-")], b"");
    assert_eq!(out.status.code(), Some(1));

    // at most once, and not as a reference
    let out = tarjama_stdin(
        &[os("compare"), os("--ref"), r.as_os_str(), os("-"), os("-")],
        &body,
    );
    assert_usage_error(&out, &["standard input", "once"]);
    let out = tarjama_stdin(&[os("eval"), os("--ref"), os("-"), a.as_os_str()], &body);
    assert_usage_error(&out, &["--ref -", "references must be files"]);
}

/// JSON Lines: a byte order mark and blank lines at the end are accepted; a blank line in the
/// middle and a lone surrogate escape are errors that say what is wrong.
#[test]
fn cli_jsonl_bom_trailing_blank_lines_and_surrogates() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &text("EN_REF1"));
    let a = write_lines(dir.path(), "a.txt", &text("EN_SYS_A"));
    let objects: Vec<String> = text("EN_SYS_A")
        .iter()
        .map(|h| serde_json::json!({ "translation": h }).to_string())
        .collect();
    let eval_jsonl = |p: &Path| {
        tarjama(&[
            os("eval"),
            os("--ref"),
            r.as_os_str(),
            os("--jsonl-field"),
            os("translation"),
            p.as_os_str(),
        ])
    };
    let want = tarjama(&[os("eval"), os("--ref"), r.as_os_str(), a.as_os_str()]).stdout;
    let ok = dir.path().join("ok.jsonl");
    std::fs::write(
        &ok,
        format!("\u{feff}{}\r\n\n  \n\t\n\n", objects.join("\r\n")),
    )
    .unwrap();
    let out = eval_jsonl(&ok);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, want);

    let mid = dir.path().join("mid.jsonl");
    std::fs::write(
        &mid,
        format!(
            "{}\n\n{}\n",
            objects[..6].join("\n"),
            objects[6..].join("\n")
        ),
    )
    .unwrap();
    let out = eval_jsonl(&mid);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {}: line 7: empty line in a JSON Lines file",
            mid.display()
        )
    );

    let sur = dir.path().join("sur.jsonl");
    let mut lines = objects.clone();
    lines[2] = r#"{"translation": "caf\ud800e"}"#.to_string();
    std::fs::write(&sur, lines.join("\n") + "\n").unwrap();
    let out = eval_jsonl(&sur);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "line 3: invalid JSON: column 21: the escape \\ud800 is half of a UTF-16 \
                      surrogate pair without its other half"
        ),
        "{err}"
    );
}

/// Plain text keeps a byte order mark, as sacrebleu does (`open(..., encoding='utf-8')`): the
/// first line starts with U+FEFF, so its first BLEU token differs from the reference's.
#[test]
fn plain_text_keeps_a_byte_order_mark_like_sacrebleu() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.txt", &["a b c d e f".to_string()]);
    let h = dir.path().join("bom.txt");
    std::fs::write(&h, "\u{feff}a b c d e f\n").unwrap();
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        r.as_os_str(),
        h.as_os_str(),
        os("--metrics"),
        os("bleu"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    // sacrebleu 2.6.0 prints 5/6 unigrams matched: 83.3/80.0/75.0/66.7
    assert!(s.contains("= 75.98 83.3/80.0/75.0/66.7"), "{s}");
}

/// Default-tokenized ROUGE on mostly non-ASCII letters gets a hint on stderr; stdout is
/// unchanged, and nothing is printed with `--rouge-tokenize unicode` or on English.
#[test]
fn cli_rouge_default_tokenizer_hint_on_non_latin_text() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.ar", &text("AR_REF"));
    let h = write_lines(dir.path(), "hyp.ar", &text("AR_SYS_A"));
    let run = |tok: &str, r: &Path, h: &Path| {
        tarjama(&[
            os("eval"),
            os("--ref"),
            r.as_os_str(),
            h.as_os_str(),
            os("--metrics"),
            os("rouge"),
            os("--rouge-tokenize"),
            os(tok),
        ])
    };
    let out = run("default", &r, &h);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("hint: ") && err.contains("--rouge-tokenize unicode"),
        "{err}"
    );
    assert!(run("unicode", &r, &h).stderr.is_empty());
    let re = write_lines(dir.path(), "ref.en", &text("EN_REF1"));
    let he = write_lines(dir.path(), "hyp.en", &text("EN_SYS_A"));
    assert!(run("default", &re, &he).stderr.is_empty());
}

/// `--jsonl-join FIELD` joins consecutive records with the same FIELD (and `file`) into one
/// segment, for `eval` and `compare` alike; it needs `--jsonl-field`, and a record without
/// FIELD is an error naming the file and the line.
#[test]
fn cli_jsonl_join_groups_consecutive_records() {
    let dir = tempfile::tempdir().unwrap();
    let refs = text("EN_REF1");
    let sys_a = text("EN_SYS_A");
    let r = write_lines(dir.path(), "ref.txt", &refs);
    let plain = write_lines(dir.path(), "sys.txt", &sys_a);
    // Each system line split at its first space into two records of the same `line`, a third
    // empty record for every other line; `file` as tarjama translate writes it.
    let mut records = Vec::new();
    for (i, l) in sys_a.iter().enumerate() {
        let (a, b) = l.split_once(' ').unwrap_or((l, ""));
        for t in [a, b] {
            records.push(serde_json::json!({"file": "x.ar", "line": i, "translation": t}));
        }
        if i % 2 == 0 {
            records.push(serde_json::json!({"file": "x.ar", "line": i, "translation": " "}));
        }
    }
    let lines: Vec<String> = records.iter().map(|v| v.to_string()).collect();
    let joined = write_lines(dir.path(), "sys.jsonl", &lines);
    let join = [
        os("--jsonl-field"),
        os("translation"),
        os("--jsonl-join"),
        os("line"),
    ];
    let run_ok = |args: &[&std::ffi::OsStr]| -> String {
        let out = tarjama(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let want = run_ok(&[os("eval"), os("--ref"), r.as_os_str(), plain.as_os_str()]);
    let mut args = vec![os("eval"), os("--ref"), r.as_os_str(), joined.as_os_str()];
    args.extend(join);
    assert_eq!(run_ok(&args), want);

    // compare: the joined JSONL system against the same text system scores the same.
    let cmp_want = run_ok(&[
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        plain.as_os_str(),
        plain.as_os_str(),
        os("--metrics"),
        os("bleu,chrf"),
        os("--resamples"),
        os("50"),
    ]);
    let mut args = vec![
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        joined.as_os_str(),
        joined.as_os_str(),
        os("--metrics"),
        os("bleu,chrf"),
        os("--resamples"),
        os("50"),
    ];
    args.extend(join);
    let got = run_ok(&args);
    // The system names differ in length (and so the padding): compare the table's numbers.
    let cells = |s: &str| -> Vec<Vec<String>> {
        s.lines()
            .filter(|l| l.starts_with("BLEU ") || l.starts_with("chrF2 "))
            .map(|l| l.split_whitespace().map(str::to_string).skip(2).collect())
            .collect()
    };
    assert_eq!(cells(&got), cells(&cmp_want));
    assert_eq!(cells(&got).len(), 4);

    // Without --jsonl-field: a usage error.
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        r.as_os_str(),
        joined.as_os_str(),
        os("--jsonl-join"),
        os("line"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("--jsonl-field"),
        "{err}"
    );

    // A record without the join field: the file and its line.
    let mut broken = lines.clone();
    broken[4] = serde_json::json!({"file": "x.ar", "translation": "x"}).to_string();
    let bad = write_lines(dir.path(), "bad.jsonl", &broken);
    let mut args = vec![os("eval"), os("--ref"), r.as_os_str(), bad.as_os_str()];
    args.extend(join);
    let out = tarjama(&args);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ")
            && err.contains("bad.jsonl: line 5: no field \"line\"")
            && err.contains("--jsonl-join"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

// ------------------------------------------------------------------------------------------
// spBLEU (--tokenize flores101|flores200), rouge-score's bootstrap intervals, --width
// (goldens_options.json), and XL-Sum's multilingual ROUGE (goldens_xlsum.json)
// ------------------------------------------------------------------------------------------

/// The golden texts named in a case (`"refs": ["EN_REF1", ...]`).
fn texts(names: &Value) -> Vec<Vec<String>> {
    strs(names).iter().map(|n| text(n)).collect()
}

#[test]
fn spm_pieces_match_sentencepiece_encode_as_pieces() {
    let g = fixture("goldens_options.json");
    let mut lines = 0;
    for (name, rows) in g["spm_pieces"].as_object().unwrap() {
        let tok = bleu_tokenizer_from(name);
        assert_eq!(tok.signature(), name.as_str());
        for row in rows.as_array().unwrap() {
            let line = row["line"].as_str().unwrap();
            assert_eq!(
                tok.tokenize(line),
                row["tokenized"].as_str().unwrap(),
                "{name}: {line:?}"
            );
            lines += 1;
        }
    }
    assert_eq!(lines, 24);
}

#[test]
fn spbleu_corpus_and_sentence_scores_match_sacrebleu() {
    let g = fixture("goldens_options.json");
    let width = g["width"].as_u64().unwrap() as usize;
    let cases = g["spm_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    let mut tally = Tally::default();
    for case in cases {
        let hyps = text(case["spec"]["hyp"].as_str().unwrap());
        let refs = texts(&case["spec"]["refs"]);
        check_case(case, &hyps, &refs, width, &mut tally);
    }
    tally.report("spBLEU eval");
}

#[test]
fn spbleu_paired_tests_and_confidence_match_sacrebleu() {
    let g = fixture("goldens_options.json");
    let width = g["width"].as_u64().unwrap() as usize;
    let mut tally = Tally::default();
    for (key, ar) in [("spm_compare", false), ("spm_compare_ar", true)] {
        let cases = g[key].as_array().unwrap();
        assert_eq!(cases.len(), 4, "{key}");
        for case in cases {
            let systems = texts(&case["spec"]["systems"]);
            let refs = texts(&case["spec"]["refs"]);
            if ar {
                check_compare_ar(case, &systems, &refs, &mut tally);
            } else {
                check_compare(case, &systems, &refs, &mut tally);
            }
        }
    }
    for case in g["spm_confidence"].as_array().unwrap() {
        let hyps = text(case["hyp"].as_str().unwrap());
        check_confidence(case, &hyps, &texts(&case["refs"]), width);
    }
    tally.report("spBLEU compare");
}

/// The low/mid/high of every ROUGE type against rouge-score's `BootstrapAggregator` after
/// `numpy.random.seed(seed)`: bit for bit, and as printed.
#[test]
fn rouge_bootstrap_intervals_match_rouge_score() {
    let g = fixture("goldens_options.json");
    let width = g["width"].as_u64().unwrap() as usize;
    let cases = g["rouge_bootstrap"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let settings = settings_from(&case["spec"]);
        let rbs = RougeBootstrapSettings {
            samples: case["n_samples"].as_u64().unwrap() as usize,
            seed: case["seed"].as_u64().unwrap() as u32,
            ..RougeBootstrapSettings::default()
        };
        let hyps = text(case["hyp"].as_str().unwrap());
        let got =
            eval::evaluate_with_rouge_intervals(&settings, &hyps, &texts(&case["refs"]), &rbs)
                .unwrap();
        let want = case["expected"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{id}");
        for ((line, iv), w) in got.iter().zip(want) {
            let ctx = format!("{id} {}", line.name);
            assert_eq!(line.name, w["name"].as_str().unwrap(), "{ctx}");
            assert!(
                line.signature
                    .contains(&format!("|rbs:{}|ci:0.95|seed:{}|", rbs.samples, rbs.seed)),
                "{ctx}: {}",
                line.signature
            );
            let iv = iv.expect("every ROUGE line has an interval");
            for (bound, got) in [("low", iv.low), ("mid", iv.mid), ("high", iv.high)] {
                let want = &w[bound];
                let fields = [
                    ("precision", got.precision),
                    ("recall", got.recall),
                    ("fmeasure", got.fmeasure),
                ];
                for (m, value) in fields {
                    assert_eq!(value, num(&want[m]), "{ctx} {bound} {m}: must be identical");
                    assert_eq!(
                        format!("{:.width$}", 100.0 * value),
                        want["text"][m].as_str().unwrap(),
                        "{ctx} {bound} {m}: printed"
                    );
                }
            }
        }
    }
}

/// sacrebleu's `Score.format(width=w)` (whole lines and score-only) for w = 0, 1, 3, 6.
#[test]
fn width_formats_match_sacrebleu() {
    let g = fixture("goldens_options.json");
    let cases = g["width_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let w = case["width"].as_u64().unwrap() as usize;
        let hyps = text(case["hyp"].as_str().unwrap());
        let got =
            eval::evaluate(&settings_from(&case["spec"]), &hyps, &texts(&case["refs"])).unwrap();
        for (l, want) in got.iter().zip(case["expected"].as_array().unwrap()) {
            assert_eq!(l.format(w), want["line"].as_str().unwrap(), "{id}");
            assert_eq!(
                l.score_text(w, None),
                want["score_only"].as_str().unwrap(),
                "{id}"
            );
        }
    }
}

#[test]
fn xlsum_tokens_match_the_xlsum_scorer() {
    let g = fixture("goldens_xlsum.json");
    let pairs = g["pairs"].as_array().unwrap();
    let texts: Vec<&str> = pairs
        .iter()
        .flat_map(|p| [p["ref"].as_str().unwrap(), p["hyp"].as_str().unwrap()])
        .collect();
    let want = g["tokens"]["arabic"].as_array().unwrap();
    assert_eq!(texts.len(), want.len());
    for (t, w) in texts.iter().zip(want) {
        assert_eq!(
            xlsum::tokenize(t, true),
            strs(&w[0]),
            "scorer tokens of {t:?}"
        );
        assert_eq!(
            xlsum::tokenize(t, false),
            strs(&w[1]),
            "BasicTokenizer of {t:?}"
        );
    }
}

/// NLTK's `SnowballStemmer("arabic", ignore_stopwords=True)`: a fresh stemmer per word, and
/// one stemmer over the whole list (its verb-suffix flag carries over from word to word).
#[test]
fn arabic_stemmer_matches_nltk() {
    let g = fixture("goldens_xlsum.json");
    let words = strs(&g["words"]);
    assert!(words.len() > 80);
    let fresh: Vec<String> = words.iter().map(|w| ArabicStemmer::new().stem(w)).collect();
    assert_eq!(fresh, strs(&g["stems"]["fresh"]));
    let mut one = ArabicStemmer::new();
    let sequential: Vec<String> = words.iter().map(|w| one.stem(w)).collect();
    assert_eq!(sequential, strs(&g["stems"]["sequential"]));
    assert_ne!(
        fresh, sequential,
        "the list must exercise the carried-over flag"
    );
}

/// Per-pair and mean ROUGE of `RougeScorer(lang="arabic")`, with and without stemming.
#[test]
fn xlsum_rouge_matches_the_xlsum_scorer() {
    let g = fixture("goldens_xlsum.json");
    let pairs = g["pairs"].as_array().unwrap();
    let hyps: Vec<String> = pairs
        .iter()
        .map(|p| p["hyp"].as_str().unwrap().into())
        .collect();
    let refs = vec![pairs
        .iter()
        .map(|p| p["ref"].as_str().unwrap().into())
        .collect::<Vec<String>>()];
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let mut tally = Tally::default();
    for case in cases {
        assert_eq!(case["lang"], "arabic");
        let stem = case["stem"].as_bool().unwrap();
        let settings = EvalSettings {
            metrics: vec![MetricKind::Rouge],
            rouge: RougeConfig {
                tokenizer: RougeTokenizer::Xlsum(XlsumLang::Arabic),
                use_stemmer: stem,
            },
            ..EvalSettings::default()
        };
        let check = |lines: &[ScoreLine], want: &Value, ctx: &str, tally: &mut Tally| {
            assert_eq!(lines.len(), 4);
            for (k, l) in lines.iter().enumerate() {
                let ScoreDetail::Rouge(r) = &l.detail else {
                    panic!("{ctx}: not ROUGE");
                };
                let ctx = format!("{ctx} {}", l.name);
                let w = &want[k];
                for (got, want) in [r.precision, r.recall, r.fmeasure].iter().zip([0, 1, 2]) {
                    let want = num(&w[want]);
                    assert_eq!(format!("{got:.6}"), format!("{want:.6}"), "{ctx}");
                    tally.raw(*got, want, &ctx);
                }
                assert!(l.signature.ends_with(&format!(
                    "tok:xlsum-ar|stem:{}|version:xl-sum-afcd803c",
                    if stem { "yes" } else { "no" }
                )));
            }
        };
        let corpus = eval::evaluate(&settings, &hyps, &refs).unwrap();
        check(
            &corpus,
            &case["mean"],
            &format!("stem={stem} mean"),
            &mut tally,
        );
        let rows = eval::evaluate_sentences(&settings, &hyps, &refs).unwrap();
        for (i, (row, want)) in rows
            .iter()
            .zip(case["per_pair"].as_array().unwrap())
            .enumerate()
        {
            check(
                row,
                want,
                &format!("stem={stem} pair {}", i + 1),
                &mut tally,
            );
        }
    }
    tally.report("XL-Sum ROUGE");
}

fn expect_success(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn cli_spbleu_eval_and_compare_print_sacrebleu_lines() {
    let g = fixture("goldens_options.json");
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.ar", &text("AR_REF"));
    let a = write_lines(dir.path(), "a.ar", &text("AR_SYS_A"));
    let b = write_lines(dir.path(), "b.ar", &text("AR_SYS_B"));
    for tok in ["flores101", "flores200"] {
        let model = spm_fixture(tok);
        let case = g["spm_cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == format!("{tok}-AR_SYS_A-AR_REF"))
            .unwrap();
        let out = tarjama(&[
            os("eval"),
            os("--ref"),
            r.as_os_str(),
            a.as_os_str(),
            os("--metrics"),
            os("bleu,chrf"),
            os("--tokenize"),
            os(tok),
            os("--spm-model"),
            model.as_os_str(),
        ]);
        let want: Vec<&str> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["line"].as_str().unwrap())
            .collect();
        assert_eq!(expect_success(&out).lines().collect::<Vec<_>>(), want);

        let case = g["spm_compare"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == format!("{tok}-AR_SYS_A+AR_SYS_B"))
            .unwrap();
        let out = tarjama(&[
            os("compare"),
            os("--ref"),
            r.as_os_str(),
            a.as_os_str(),
            b.as_os_str(),
            os("--metrics"),
            os("bleu"),
            os("--tokenize"),
            os(tok),
            os("--spm-model"),
            model.as_os_str(),
            os("--format"),
            os("json"),
        ]);
        let got: Value = serde_json::from_str(&expect_success(&out)).unwrap();
        let want = &case["expected"][0];
        assert_eq!(got["metrics"][0]["signature"], want["signature"]);
        for (s, w) in got["metrics"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .zip(want["results"].as_array().unwrap())
        {
            assert_eq!(
                format!("{:.2}", s["score"].as_f64().unwrap()),
                w["score_str"]
            );
            assert_eq!(format!("{:.2}", s["mean"].as_f64().unwrap()), w["mean_str"]);
            assert_eq!(format!("{:.2}", s["ci"].as_f64().unwrap()), w["ci_str"]);
        }
    }
}

#[test]
fn cli_rouge_bootstrap_text_score_only_and_json() {
    let g = fixture("goldens_options.json");
    let case = &g["rouge_bootstrap"][0];
    assert_eq!(case["id"], "EN_SYS_A-1000-12345");
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.en", &text("EN_REF1"));
    let h = write_lines(dir.path(), "hyp.en", &text("EN_SYS_A"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            os("eval"),
            os("--ref"),
            r.as_os_str(),
            h.as_os_str(),
            os("--metrics"),
            os("rouge"),
            os("--rouge-bootstrap"),
        ];
        args.extend(extra.iter().map(|a| os(a)));
        expect_success(&tarjama(&args))
    };
    let interval = |w: &Value| {
        let t = |b: &str, m: &str| w[b]["text"][m].as_str().unwrap().to_string();
        let three = |m: &str| format!("{}/{}/{}", t("low", m), t("mid", m), t("high", m));
        format!(
            "low/mid/high: P {} R {} F {}",
            three("precision"),
            three("recall"),
            three("fmeasure")
        )
    };
    let want = case["expected"].as_array().unwrap();
    let text_out = run(&[]);
    let lines: Vec<&str> = text_out.lines().collect();
    assert_eq!(lines.len(), 4);
    for (l, w) in lines.iter().zip(want) {
        let name = w["name"].as_str().unwrap();
        assert!(
            l.starts_with(&format!(
                "{name}|nrefs:1|rbs:1000|ci:0.95|seed:12345|tok:default|"
            )),
            "{l}"
        );
        assert!(l.ends_with(&format!(" {}", interval(w))), "{l}");
    }
    let score_only = run(&["-b"]);
    for (l, w) in score_only.lines().zip(want) {
        assert!(l.ends_with(&format!(" {}", interval(w))), "{l}");
        assert!(!l.contains('|'), "{l}");
    }
    let json: Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    for (rec, w) in json.as_array().unwrap().iter().zip(want) {
        let b = &rec["rouge_bootstrap"];
        for bound in ["low", "mid", "high"] {
            for m in ["precision", "recall", "fmeasure"] {
                // serde_json's reader may be 1 ulp off; the library test asserts bit equality.
                let exact = b["exact"][bound][m].as_f64().unwrap();
                assert!((exact - num(&w[bound][m])).abs() <= 2.0 * f64::EPSILON);
                let printed: f64 = w[bound]["text"][m].as_str().unwrap().parse().unwrap();
                assert_eq!(b[bound][m].as_f64().unwrap(), printed);
            }
        }
        assert_eq!(rec["rbs"], "1000");
    }
    // --width applies to the intervals; another seed and size give other draws.
    let w1 = run(&[
        "-w",
        "1",
        "--rouge-bootstrap-n",
        "37",
        "--rouge-seed",
        "4294967295",
    ]);
    let first = w1.lines().next().unwrap();
    assert!(
        first.contains("|rbs:37|ci:0.95|seed:4294967295|"),
        "{first}"
    );
    let tail = first.rsplit("low/mid/high: ").next().unwrap();
    assert!(
        tail.split([' ', '/']).filter(|x| x.contains('.')).all(|x| x
            .split('.')
            .nth(1)
            .unwrap()
            .len()
            == 1),
        "{first}"
    );
}

#[test]
fn cli_xlsum_rouge_on_jsonl_pairs() {
    let g = fixture("goldens_xlsum.json");
    let dir = tempfile::tempdir().unwrap();
    let (mut refs, mut hyps) = (String::new(), String::new());
    for p in g["pairs"].as_array().unwrap() {
        refs += &(serde_json::json!({ "text": p["ref"] }).to_string() + "\n");
        hyps += &(serde_json::json!({ "text": p["hyp"] }).to_string() + "\n");
    }
    let r = dir.path().join("refs.jsonl");
    let h = dir.path().join("hyps.jsonl");
    std::fs::write(&r, refs).unwrap();
    std::fs::write(&h, hyps).unwrap();
    let case = g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stem"] == true)
        .unwrap();
    let out = tarjama(&[
        os("eval"),
        os("--ref"),
        r.as_os_str(),
        os("--ref-jsonl-field"),
        os("text"),
        os("--jsonl-field"),
        os("text"),
        h.as_os_str(),
        os("--metrics"),
        os("rouge"),
        os("--rouge-tokenize"),
        os("xlsum"),
        os("--lang"),
        os("ar"),
        os("--stem"),
    ]);
    let stdout = expect_success(&out);
    let names = ["ROUGE-1", "ROUGE-2", "ROUGE-L", "ROUGE-Lsum"];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4);
    for ((l, name), w) in lines
        .iter()
        .zip(names)
        .zip(case["mean"].as_array().unwrap())
    {
        let pct = |k: usize| format!("{:.2}", 100.0 * num(&w[k]));
        assert_eq!(
            *l,
            format!(
                "{name}|nrefs:1|tok:xlsum-ar|stem:yes|version:xl-sum-afcd803c = {} (P = {} R = {})",
                pct(2),
                pct(0),
                pct(1)
            )
        );
    }
}

#[test]
fn cli_option_misuse_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = write_lines(dir.path(), "ref.en", &text("EN_REF1"));
    let h = write_lines(dir.path(), "hyp.en", &text("EN_SYS_A"));
    let run = |cmd: &str, extra: &[&str]| {
        let mut args = vec![os(cmd), os("--ref"), r.as_os_str(), h.as_os_str()];
        if cmd == "compare" {
            args.push(r.as_os_str());
        }
        args.extend(extra.iter().map(|a| os(a)));
        tarjama(&args)
    };
    for cmd in ["eval", "compare"] {
        assert_usage_error(
            &run(cmd, &["--tokenize", "flores101"]),
            &[
                "--spm-model",
                "https://dl.fbaipublicfiles.com/fairseq/models/flores/sacrebleu_tokenizer_spm.model",
                "does not download",
            ],
        );
        assert_usage_error(
            &run(cmd, &["--tokenize", "flores200"]),
            &[
                "--spm-model",
                "https://tinyurl.com/flores200sacrebleuspm",
                "does not download",
            ],
        );
        assert_usage_error(
            &run(cmd, &["--spm-model", "m.model"]),
            &["--spm-model", "flores101 or flores200", "--tokenize 13a"],
        );
        assert_usage_error(
            &run(cmd, &["--rouge-tokenize", "xlsum"]),
            &["--rouge-tokenize xlsum needs --lang", "ar"],
        );
        assert_usage_error(
            &run(cmd, &["--rouge-tokenize", "xlsum", "--lang", "fr"]),
            &["--lang fr", "not supported", "ar"],
        );
        assert_usage_error(
            &run(cmd, &["--rouge-tokenize", "unicode", "--lang", "ar"]),
            &["--lang ar", "--rouge-tokenize xlsum"],
        );
    }
    assert_usage_error(
        &run("eval", &["--rouge-seed", "1"]),
        &["--rouge-seed", "add --rouge-bootstrap"],
    );
    assert_usage_error(
        &run("eval", &["--rouge-bootstrap-n", "10"]),
        &["--rouge-bootstrap-n", "add --rouge-bootstrap"],
    );
    assert_usage_error(
        &run("eval", &["--rouge-bootstrap", "--metrics", "bleu"]),
        &["--rouge-bootstrap", "--metrics"],
    );
    assert_usage_error(
        &run("eval", &["--rouge-bootstrap", "--sentence"]),
        &["--sentence"],
    );
    assert_usage_error(
        &run("eval", &["--rouge-bootstrap", "--confidence"]),
        &["--confidence"],
    );

    // a file that is not a SentencePiece model: one line naming it, exit 1
    let out = run(
        "eval",
        &[
            "--tokenize",
            "flores101",
            "--spm-model",
            r.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: {}: not a SentencePiece model",
            r.display()
        )),
        "{err}"
    );
    let missing = dir.path().join("missing.model");
    let out = run(
        "eval",
        &[
            "--tokenize",
            "flores101",
            "--spm-model",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("missing.model"), "{err}");
}

/// `compare` with XL-Sum's ROUGE scores each system as `eval` does (one scorer per system, in
/// corpus order), and in JSON too.
#[test]
fn cli_compare_xlsum_rouge_scores_equal_eval() {
    let g = fixture("goldens_xlsum.json");
    let dir = tempfile::tempdir().unwrap();
    let pairs = g["pairs"].as_array().unwrap();
    // plain-text files: one line per pair, without the pair whose reference has a line break
    let keep: Vec<&Value> = pairs
        .iter()
        .filter(|p| !p["ref"].as_str().unwrap().contains('\n'))
        .collect();
    let lines = |k: &str| -> Vec<String> {
        keep.iter()
            .map(|p| p[k].as_str().unwrap().to_string())
            .collect()
    };
    let r = write_lines(dir.path(), "ref.ar", &lines("ref"));
    let h = write_lines(dir.path(), "sum.ar", &lines("hyp"));
    let xlsum = [
        "--metrics",
        "rouge",
        "--rouge-tokenize",
        "xlsum",
        "--lang",
        "ar",
        "--stem",
    ];
    let mut args = vec![os("eval"), os("--ref"), r.as_os_str(), h.as_os_str()];
    args.extend(xlsum.iter().map(|a| os(a)));
    args.extend([os("--format"), os("json")]);
    let eval_json: Value = serde_json::from_str(&expect_success(&tarjama(&args))).unwrap();
    let mut args = vec![
        os("compare"),
        os("--ref"),
        r.as_os_str(),
        h.as_os_str(),
        r.as_os_str(),
    ];
    args.extend(xlsum.iter().map(|a| os(a)));
    args.extend([os("--format"), os("json")]);
    let cmp: Value = serde_json::from_str(&expect_success(&tarjama(&args))).unwrap();
    let metrics = cmp["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 4);
    for (m, e) in metrics.iter().zip(eval_json.as_array().unwrap()) {
        assert_eq!(m["name"], e["name"]);
        assert!(
            m["signature"]
                .as_str()
                .unwrap()
                .ends_with("tok:xlsum-ar|stem:yes|version:xl-sum-afcd803c"),
            "{m}"
        );
        assert_eq!(m["results"][0]["score"], e["score"]);
        assert_eq!(m["results"][1]["score"].as_f64(), Some(100.0));
    }
}
