//! The library's [`Scheduler`]: many callers share one model, their segments decoded together,
//! each getting exactly what translating its text alone gives.

mod common;

use std::sync::mpsc::channel;
use std::sync::{Arc, Barrier};

use tarjama::pipeline::scheduler::{Refused, Scheduler, Translated};
use tarjama::pipeline::translate::{translate_documents, DocumentTranslation, TranslateSettings};
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::text::Normalization;

/// The fixture's Arabic sentences (scripts/fixture_text/ar.txt), one per line.
fn sentences() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixture_text/ar.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Request `i`'s document: 1 to 3 sentences, some on two lines, so requests differ in length
/// and shape.
fn document(sentences: &[String], i: usize) -> String {
    let n = 1 + i % 3;
    let picked: Vec<&str> = (0..n)
        .map(|k| sentences[(i * 7 + k) % sentences.len()].as_str())
        .collect();
    if i.is_multiple_of(2) {
        picked.join(" ")
    } else {
        picked.join("\n")
    }
}

fn settings(pipe: &Seq2SeqPipeline) -> TranslateSettings {
    TranslateSettings {
        normalization: Normalization::default(),
        generation: pipe.generation.clone(),
        batch_size: 8,
        max_batch_tokens: Some(256),
    }
}

/// A segment as compared: its source ids, output ids and translation.
type SegmentKey = (Vec<u32>, Vec<u32>, String);

/// What a caller compares: the text and, per segment, its ids and translation (not its time
/// share, which depends on the batch it landed in).
fn key(docs: &[DocumentTranslation]) -> Vec<(String, Vec<SegmentKey>)> {
    docs.iter()
        .map(|d| {
            let segs = d
                .segments
                .iter()
                .map(|s| {
                    (
                        s.source_ids.clone(),
                        s.output_ids.clone(),
                        s.translation.clone(),
                    )
                })
                .collect();
            (d.text.clone(), segs)
        })
        .collect()
}

/// Submits and waits for the reply.
fn translate(s: &Scheduler, documents: Vec<String>) -> Translated {
    let (tx, rx) = channel();
    s.submit(documents, 1, move |r| tx.send(r).unwrap())
        .expect("queued");
    rx.recv().expect("one reply")
}

/// Holds the worker inside an exclusive job until the returned sender is dropped; returns
/// once the worker is in it (so the queue is empty behind it).
fn hold(s: &Scheduler) -> std::sync::mpsc::Sender<()> {
    let (started_tx, started) = channel();
    let (release, released) = channel::<()>();
    s.run(move |_| {
        started_tx.send(()).unwrap();
        // Err once the test drops `release`.
        let _ = released.recv();
    })
    .expect("queued");
    started.recv().unwrap();
    release
}

#[test]
fn concurrent_submitters_get_what_translating_alone_gives() {
    let pipe = Arc::new(common::pipeline("marian-tiny"));
    let settings = settings(&pipe);
    let sentences = sentences();
    let callers = 8;
    let per_caller = 3;
    let expected: Vec<Vec<_>> = (0..callers)
        .map(|c| {
            (0..per_caller)
                .map(|r| {
                    let doc = document(&sentences, c * per_caller + r);
                    key(&translate_documents(&pipe, &[doc], &settings).unwrap())
                })
                .collect()
        })
        .collect();
    // Alone, the documents' ids differ from each other (so a swap would show).
    let flat: Vec<_> = expected.iter().flatten().collect();
    for (i, a) in flat.iter().enumerate() {
        assert!(flat[i + 1..].iter().all(|b| b != a), "document {i} repeats");
    }

    let scheduler = Arc::new(Scheduler::new(pipe.clone(), settings.clone(), 64));
    let start = Arc::new(Barrier::new(callers));
    let threads: Vec<_> = (0..callers)
        .map(|c| {
            let (scheduler, start, sentences) =
                (scheduler.clone(), start.clone(), sentences.clone());
            std::thread::spawn(move || {
                start.wait();
                (0..per_caller)
                    .map(|r| {
                        let doc = document(&sentences, c * per_caller + r);
                        key(&translate(&scheduler, vec![doc]).unwrap())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (c, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), expected[c], "caller {c}");
    }
    let totals = scheduler.totals();
    let segments: usize = expected
        .iter()
        .flatten()
        .flat_map(|d| d.iter().map(|(_, s)| s.len()))
        .sum();
    assert_eq!(totals.stats.segments, segments);
    assert_eq!(scheduler.queue_depth(), 0);
}

#[test]
fn requests_waiting_together_share_batches() {
    let pipe = Arc::new(common::pipeline("marian-tiny"));
    let settings = settings(&pipe);
    let sentences = sentences();
    let docs: Vec<String> = (0..6).map(|i| sentences[i].clone()).collect();
    let alone: Vec<_> = docs
        .iter()
        .map(|d| key(&translate_documents(&pipe, std::slice::from_ref(d), &settings).unwrap()))
        .collect();

    let scheduler = Scheduler::new(pipe.clone(), settings, 16);
    let release = hold(&scheduler);
    let replies: Vec<_> = docs
        .iter()
        .map(|d| {
            let (tx, rx) = channel();
            scheduler
                .submit(vec![d.clone()], 1, move |r| tx.send(r).unwrap())
                .unwrap();
            rx
        })
        .collect();
    assert_eq!(scheduler.queue_depth(), 6);
    drop(release);
    for (i, rx) in replies.into_iter().enumerate() {
        assert_eq!(key(&rx.recv().unwrap().unwrap()), alone[i], "request {i}");
    }
    let totals = scheduler.totals();
    // Six one-sentence requests, all waiting when the worker came back: one round, one batch
    // of six rows (batch_size 8, max_batch_tokens 256 hold them all).
    assert_eq!(totals.stats.segments, 6);
    assert_eq!(totals.rounds, 1);
    assert_eq!(totals.batches, 1);
}

#[test]
fn a_full_queue_refuses_and_the_queued_are_still_served() {
    let pipe = Arc::new(common::pipeline("marian-tiny"));
    let settings = settings(&pipe);
    let sentences = sentences();
    let scheduler = Scheduler::new(pipe.clone(), settings.clone(), 2);
    let release = hold(&scheduler);
    let (tx, rx) = channel();
    for d in &sentences[..2] {
        let tx = tx.clone();
        scheduler
            .submit(vec![d.clone()], 1, move |r| tx.send(r).unwrap())
            .unwrap();
    }
    let refused = scheduler.submit(vec![sentences[2].clone()], 1, |_| {
        panic!("a refused request is never answered")
    });
    assert_eq!(refused, Err(Refused::Full));
    assert_eq!(scheduler.queue_depth(), 2);
    drop(release);
    drop(tx);
    let got: Vec<_> = rx.iter().map(|r| key(&r.unwrap())).collect();
    let want: Vec<_> = sentences[..2]
        .iter()
        .map(|d| key(&translate_documents(&pipe, std::slice::from_ref(d), &settings).unwrap()))
        .collect();
    assert_eq!(got, want);
    // Room again once the worker has taken them.
    assert!(translate(&scheduler, vec![sentences[2].clone()]).is_ok());
}

#[test]
fn n_best_requests_get_the_alternatives_of_translating_alone() {
    let pipe = Arc::new(common::pipeline("marian-tiny"));
    let settings = settings(&pipe);
    let sentences = sentences();
    let mut three = settings.clone();
    three.generation.num_return_sequences = 3;
    let want = translate_documents(&pipe, &[sentences[4].clone()], &three).unwrap();
    let scheduler = Scheduler::new(pipe.clone(), settings, 4);
    let release = hold(&scheduler);
    let (tx, rx) = channel();
    let tx2 = tx.clone();
    scheduler
        .submit(vec![sentences[4].clone()], 3, move |r| {
            tx.send((3, r)).unwrap()
        })
        .unwrap();
    scheduler
        .submit(vec![sentences[5].clone()], 1, move |r| {
            tx2.send((1, r)).unwrap()
        })
        .unwrap();
    drop(release);
    let mut got: Vec<_> = rx.iter().take(2).collect();
    got.sort_by_key(|(n, _)| *n);
    let (_, one) = got.remove(0);
    assert!(one.unwrap()[0]
        .segments
        .iter()
        .all(|s| s.alternatives.is_empty()));
    let (_, n_best) = got.remove(0);
    let n_best = n_best.unwrap();
    assert_eq!(
        n_best[0].segments[0].alternatives,
        want[0].segments[0].alternatives
    );
    assert_eq!(n_best[0].segments[0].alternatives.len(), 3);
    assert_eq!(key(&n_best), key(&want));
    // The document's alternatives: its one segment's second and third hypotheses.
    let seg = &n_best[0].segments[0];
    let texts: Vec<&str> = seg.alternatives[1..]
        .iter()
        .map(|a| a.translation.trim())
        .collect();
    assert_eq!(n_best[0].alternatives, texts);
    // The two hypothesis counts cannot share a batch: two rounds.
    assert_eq!(scheduler.totals().rounds, 2);
}
