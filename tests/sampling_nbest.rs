//! Sampling (`--do-sample`, the warpers, seeds) and n-best lists (`--num-return-sequences`) on
//! the tiny Marian fixture: the library's searches and `tarjama translate` end to end.

mod common;

use tarjama::decoding::GenerationConfig;
use tarjama::pipeline::Seq2SeqPipeline;

const MARIAN: &str = "marian-tiny";

fn fixture() -> String {
    common::fixture(MARIAN).to_str().unwrap().to_string()
}

/// The first 24 golden inputs (seed article sentences and Tatoeba lines) as ids.
fn inputs() -> Vec<Vec<u32>> {
    let g = common::golden(MARIAN);
    g["cases"].as_array().unwrap()[..24]
        .iter()
        .map(|c| common::ids(&c["input_ids"]))
        .collect()
}

fn tokens(pipe: &Seq2SeqPipeline, cfg: &GenerationConfig, batch: usize) -> Vec<Vec<u32>> {
    pipe.generate(&inputs(), cfg, batch)
        .unwrap()
        .into_iter()
        .map(|(h, _)| {
            assert_eq!(h.len(), 1);
            assert_eq!(h[0].score, None);
            h[0].tokens.clone()
        })
        .collect()
}

fn greedy(pipe: &Seq2SeqPipeline) -> GenerationConfig {
    GenerationConfig {
        num_beams: 1,
        ..pipe.generation.clone()
    }
}

fn sampling(pipe: &Seq2SeqPipeline, seed: u64) -> GenerationConfig {
    GenerationConfig {
        do_sample: true,
        seed: Some(seed),
        ..greedy(pipe)
    }
}

/// Top-k 1, and a top-p so small that only the most likely token is left, sample exactly the
/// greedy ids, whatever the seed.
#[test]
fn top_k_one_and_tiny_top_p_sample_the_greedy_ids() {
    let pipe = common::pipeline(MARIAN);
    let want = tokens(&pipe, &greedy(&pipe), 8);
    for seed in [0, 12345] {
        let k1 = GenerationConfig {
            top_k: 1,
            ..sampling(&pipe, seed)
        };
        assert_eq!(tokens(&pipe, &k1, 8), want, "top-k 1, seed {seed}");
        let p_tiny = GenerationConfig {
            top_k: 0,
            top_p: 1e-9,
            ..sampling(&pipe, seed)
        };
        assert_eq!(tokens(&pipe, &p_tiny, 8), want, "top-p 1e-9, seed {seed}");
    }
}

/// One seed gives the same ids twice and at any batch size (each input has its own stream);
/// another seed, and plain sampling against greedy, give different ids.
#[test]
fn sampling_repeats_with_a_seed_and_differs_across_seeds() {
    let pipe = common::pipeline(MARIAN);
    let a = tokens(&pipe, &sampling(&pipe, 1), 8);
    assert_eq!(tokens(&pipe, &sampling(&pipe, 1), 8), a);
    assert_eq!(tokens(&pipe, &sampling(&pipe, 1), 1), a, "batch size 1");
    assert_eq!(tokens(&pipe, &sampling(&pipe, 1), 5), a, "batch size 5");
    let b = tokens(&pipe, &sampling(&pipe, 2), 8);
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differ > 0, "seeds 1 and 2 sampled the same 24 outputs");
    let greedy_ids = tokens(&pipe, &greedy(&pipe), 8);
    assert_ne!(a, greedy_ids);
    // A high temperature flattens the distribution: different ids than at 1.0, same seed.
    let hot = GenerationConfig {
        temperature: 5.0,
        ..sampling(&pipe, 1)
    };
    assert_ne!(tokens(&pipe, &hot, 8), a);
}

/// Beam sampling is refused by the library, naming the setting.
#[test]
fn sampling_with_beams_is_refused() {
    let pipe = common::pipeline(MARIAN);
    let cfg = GenerationConfig {
        num_beams: 4,
        ..sampling(&pipe, 0)
    };
    let err = pipe.generate(&inputs()[..1], &cfg, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "beam sampling (do_sample with num_beams 4) is not supported: sampling needs num_beams 1"
    );
}

fn run(args: &[&str]) -> std::process::Output {
    common::run_tarjama(
        args,
        Some("وصل الوفد إلى العاصمة. التقى الوزير بنظيره.\n"),
        &[],
    )
}

fn jsonl(o: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `--num-return-sequences 4` adds the n-best list to every jsonl record: 4 entries, best
/// first, the first being the record's translation and score, scores not increasing; without
/// it the records have no `alternatives`.
#[test]
fn jsonl_records_list_the_n_best() {
    let f = fixture();
    let base = ["translate", "--model", &f, "--format", "jsonl"];
    let records = jsonl(&run(&[&base[..], &["--num-return-sequences", "4"]].concat()));
    assert_eq!(records.len(), 2);
    for r in &records {
        let alts = r["alternatives"].as_array().unwrap();
        assert_eq!(alts.len(), 4, "{r}");
        assert_eq!(alts[0]["translation"], r["translation"]);
        assert_eq!(alts[0]["score"], r["score"]);
        let scores: Vec<f64> = alts.iter().map(|a| a["score"].as_f64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
        assert_eq!(alts[0].as_object().unwrap().len(), 2);
    }
    let plain = jsonl(&run(&base));
    for (p, r) in plain.iter().zip(&records) {
        assert!(p.get("alternatives").is_none());
        assert_eq!(p["translation"], r["translation"]);
    }
}

/// The same `--seed` prints the same output; the seed decides (two seeds differ on this
/// input); the default seed is 0.
#[test]
fn cli_sampling_is_reproducible() {
    let f = fixture();
    let base = ["translate", "--model", &f, "--beams", "1", "--do-sample"];
    let out = |extra: &[&str]| {
        let o = run(&[&base[..], extra].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // No warnings but the length limit's (the random-weight model often runs to it).
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(without_length_limit(&err), "", "{err}");
        String::from_utf8(o.stdout).unwrap()
    };
    let s3 = out(&["--seed", "3"]);
    assert_eq!(out(&["--seed", "3"]), s3);
    assert_ne!(out(&["--seed", "4"]), s3);
    assert_eq!(out(&[]), out(&["--seed", "0"]));
}

/// Bad sampling and n-best flags are usage errors (exit 2) naming the flag.
#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let f = fixture();
    for (args, needle) in [
        (vec!["--do-sample"], "--do-sample: sampling with more than one beam (beam sampling) is not supported (the model"),
        (vec!["--do-sample", "--beams", "2"], "--do-sample: sampling with more than one beam (beam sampling) is not supported (--beams 2); add --beams 1"),
        (vec!["--num-return-sequences", "2"], "--num-return-sequences 2 needs --format jsonl"),
        (vec!["--format", "jsonl", "--num-return-sequences", "5", "--beams", "4"], "--num-return-sequences 5 is above --beams 4"),
        (vec!["--format", "jsonl", "--num-return-sequences", "5"], "defaults to 4 beams (add --beams 5)"),
        (vec!["--num-return-sequences", "0"], "--num-return-sequences"),
        (vec!["--num-return-sequences", "65"], "must be at most 64"),
        (vec!["--top-p", "0"], "--top-p <TOP_P>': must be above 0 and at most 1"),
        (vec!["--top-p", "1.5"], "must be above 0 and at most 1"),
        (vec!["--top-k", "0"], "--top-k <TOP_K>': must be at least 1"),
        (vec!["--temperature", "0"], "--temperature <TEMPERATURE>': must be a number above 0"),
        (vec!["--temperature", "inf"], "--temperature <TEMPERATURE>': must be a finite number"),
        (vec!["--seed", "x"], "invalid value 'x' for '--seed <SEED>'"),
    ] {
        // The input from a file: a usage error exits before reading stdin.
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("a.txt");
        std::fs::write(&input, "وصل الوفد إلى العاصمة.\n").unwrap();
        let head = ["translate", input.to_str().unwrap(), "--model", &f];
        let o = common::run_tarjama(&[&head[..], &args].concat(), None, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

/// Sampling settings without `--do-sample` get transformers' warning (they are ignored).
#[test]
fn sampling_flags_without_do_sample_warn() {
    let f = fixture();
    let o = run(&[
        "translate",
        "--model",
        &f,
        "--temperature",
        "0.5",
        "--top-k",
        "3",
    ]);
    assert!(o.status.success());
    assert_eq!(
        without_length_limit(&String::from_utf8_lossy(&o.stderr)),
        "warning: The following generation flags are not valid and may be ignored: \
         ['temperature', 'top_k']. `do_sample` is set to `False`: they are only used in \
         sample-based generation modes.\n"
    );
}

/// `stderr` without its length-limit warnings (lines saying a translation "stopped at the
/// length limit"), which the random-weight fixture often earns.
fn without_length_limit(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.contains("stopped at the length limit"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A file samples the same whatever other files share the run: each segment's stream is
/// numbered by its place in its own file. `translate OTHER S` gives S the records of
/// `translate S`, and `batch` writes for S what `translate S` prints.
#[test]
fn a_file_samples_the_same_whatever_else_is_in_the_run() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("in");
    std::fs::create_dir(&corpus).unwrap();
    let other = corpus.join("a.txt");
    let s = corpus.join("s.txt");
    std::fs::write(
        &other,
        "وصل الوفد إلى العاصمة. التقى الوزير بنظيره.\nقال المتحدث إن المحادثات ستستأنف.\n",
    )
    .unwrap();
    std::fs::write(
        &s,
        "أعلنت الوزارة أن المحصول ارتفع. وقال المزارعون إن الأمطار ساعدت.\n",
    )
    .unwrap();
    let (other, s) = (other.to_str().unwrap(), s.to_str().unwrap());
    let sample = ["--model", &f, "--beams", "1", "--do-sample", "--seed", "7"];
    let translate = |files: &[&str], format: &str| {
        let args = [&["translate"][..], files, &sample, &["--format", format]].concat();
        let o = common::run_tarjama(&args, None, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let untimed = |line: &str| {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    let alone: Vec<_> = translate(&[s], "jsonl").lines().map(untimed).collect();
    let both: Vec<_> = translate(&[other, s], "jsonl")
        .lines()
        .map(untimed)
        .collect();
    let of_s: Vec<_> = both.into_iter().filter(|r| r["file"] == s).collect();
    assert_eq!(alone.len(), 2);
    assert_eq!(of_s, alone);

    let out = dir.path().join("out");
    let args = [
        &[
            "batch",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ][..],
        &sample,
    ]
    .concat();
    let o = common::run_tarjama(&args, None, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(out.join("s.en.txt")).unwrap(),
        translate(&[s], "text")
    );
}
