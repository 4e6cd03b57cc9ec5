//! What the CLI tells a new user about itself: `--help` ends with examples and shows the
//! default models; `models show DIR` describes a local model directory.

use std::process::{Command, Output};

fn tarjama(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tarjama"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run tarjama")
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn help_ends_with_examples_and_shows_the_default_models() {
    let help = stdout(&tarjama(&["translate", "--help"]));
    assert!(
        help.ends_with(
            "\n\nExamples:\n  tarjama translate examples/sample.ar.txt\n  tarjama translate \
             article.ar.txt -o article.en.txt --model opus-mt-ar-en --beams 1\n  cat \
             article.ar.txt | tarjama translate --format jsonl --model nllb-200-distilled-600M\n"
        ),
        "{help}"
    );
    assert!(help.contains("[default: opus-mt-tc-big-ar-en]"), "{help}");
    let help = stdout(&tarjama(&["summarize", "--help"]));
    assert!(help.contains("[default: distilbart-cnn-12-6]"), "{help}");
    for cmd in [
        "run",
        "summarize",
        "batch",
        "eval",
        "compare",
        "models",
        "serve",
    ] {
        let help = stdout(&tarjama(&[cmd, "--help"]));
        let (_, examples) = help.rsplit_once("\n\nExamples:\n").expect(cmd);
        let lines: Vec<&str> = examples.lines().collect();
        assert!((2..=3).contains(&lines.len()), "{cmd}: {examples}");
        for l in lines {
            let first = l.trim_start().split(' ').find(|w| *w == "tarjama");
            assert!(first.is_some(), "{cmd}: {l}");
            assert!(l.contains(&format!("tarjama {cmd}")), "{cmd}: {l}");
        }
    }
}

#[test]
fn models_show_describes_a_local_model_directory() {
    let show = stdout(&tarjama(&["models", "show", "tests/fixtures/marian-tiny"]));
    assert_eq!(
        show,
        "directory:   tests/fixtures/marian-tiny\n\
         family:      marian (MarianMTModel)\n\
         size:        64202 parameters, 260 KiB in model.safetensors\n\
         tokenizer:   Marian SentencePiece (source.spm, target.spm, vocab.json)\n\
         vocabulary:  650 tokens, 512 positions\n\
         generation:  bad_words_ids=[[649]] bos_token_id=0 decoder_start_token_id=649 \
         eos_token_id=0 forced_eos_token_id=0 max_length=64 num_beams=4 pad_token_id=649 \
         renormalize_logits=true (generation_config.json)\n"
    );
    // Not a model directory: the one-line error --model DIR would give.
    let o = tarjama(&["models", "show", "tests/fixtures"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("tests/fixtures"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
