//! One model shared by concurrent callers: a [`Scheduler`] owns a loaded pipeline on a worker
//! thread; callers [`Scheduler::submit`] documents to translate (or [`Scheduler::run`] any
//! other work on the model), and the worker decodes the segments of every request waiting at
//! once together, in length-sorted padded batches ([`super::plan_batches`], bounded by
//! `batch_size` rows and `max_batch_tokens` padded tokens), then hands each request its own
//! documents. Padding is masked, so a request gets exactly what
//! [`super::translate::translate_documents`] gives for it alone.
//!
//! Plain threads and channels: the library has no async runtime; a caller on one gets its
//! answer through the callback it submits.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use super::stats::Stats;
use super::translate::{prepare_documents, DocumentTranslation, TranslateSettings};
use super::Seq2SeqPipeline;
use crate::decoding::{ChosenBy, GenerationPatch};
use crate::error::{Error, Result};

/// What a translation request gets back: one translation per submitted document, in order.
pub type Translated = Result<Vec<DocumentTranslation>>;

/// A translation request's callback, called once on the worker thread.
type Reply = Box<dyn FnOnce(Translated) + Send>;

/// Translation requests asking for the same number of hypotheses per segment, decoded in
/// one round: that number, and each request's documents with its reply.
type Group = (usize, Vec<(Vec<String>, Reply)>);

/// Work for the model that is not batched with other requests (a summary), run alone.
type Exclusive = Box<dyn FnOnce(&Seq2SeqPipeline) + Send>;

/// One queued request.
enum Job {
    /// Documents to translate with `num_return_sequences` hypotheses per segment.
    Translate {
        documents: Vec<String>,
        num_return_sequences: usize,
        reply: Reply,
    },
    /// Anything else, run with the model on the worker thread.
    Exclusive(Exclusive),
}

/// Why [`Scheduler::submit`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue holds `queue_size` requests already: try again later.
    Full,
    /// The worker has stopped (it panicked): the model is gone.
    Stopped,
}

/// Totals since the scheduler started, for metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchedulerTotals {
    /// Segments, tokens and time of every translation decoded ([`Stats`]' `segments`,
    /// `source_tokens`, `target_tokens`, `generate_seconds`).
    pub stats: Stats,
    /// Shared decoding rounds: each takes every request waiting at its start.
    pub rounds: usize,
    /// Padded batches decoded.
    pub batches: usize,
}

/// Owns one loaded model on a worker thread and batches the requests of many callers
/// together (see the module docs). Dropping it lets the worker finish every request already
/// queued, then joins it.
pub struct Scheduler {
    /// `None` once dropped (the worker stops when the queue is empty and closed).
    tx: Option<SyncSender<Job>>,
    /// Requests queued and not yet taken by the worker.
    depth: Arc<AtomicUsize>,
    totals: Arc<Mutex<SchedulerTotals>>,
    pipe: Arc<Seq2SeqPipeline>,
    worker: Option<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the worker for `pipe`, decoding under `settings` (its `generation` is the
    /// default; [`Self::submit`] may ask for more hypotheses), with room for `queue_size`
    /// waiting requests (at least 1).
    pub fn new(pipe: Arc<Seq2SeqPipeline>, settings: TranslateSettings, queue_size: usize) -> Self {
        let (tx, rx) = sync_channel(queue_size.max(1));
        let depth = Arc::new(AtomicUsize::new(0));
        let totals = Arc::new(Mutex::new(SchedulerTotals::default()));
        let worker = {
            let (pipe, depth, totals) = (pipe.clone(), depth.clone(), totals.clone());
            std::thread::Builder::new()
                .name(format!("scheduler {}", pipe.info.name))
                .spawn(move || work(&pipe, &settings, &rx, &depth, &totals))
                .expect("spawn the scheduler thread")
        };
        Scheduler {
            tx: Some(tx),
            depth,
            totals,
            pipe,
            worker: Some(worker),
        }
    }

    /// The model this scheduler decodes with.
    pub fn pipe(&self) -> &Arc<Seq2SeqPipeline> {
        &self.pipe
    }

    /// Queues `documents` for translation with `num_return_sequences` hypotheses per segment
    /// (1: none besides the best; above 1 the segments get `alternatives`, as
    /// `translate --num-return-sequences`). `reply` is called once, on the worker thread, with
    /// one [`DocumentTranslation`] per document, equal to what
    /// [`super::translate::translate_documents`] returns for them.
    ///
    /// Errors: [`Refused::Full`] when `queue_size` requests are waiting already,
    /// [`Refused::Stopped`] when the worker is gone; `reply` is then dropped uncalled.
    pub fn submit(
        &self,
        documents: Vec<String>,
        num_return_sequences: usize,
        reply: impl FnOnce(Translated) + Send + 'static,
    ) -> std::result::Result<(), Refused> {
        self.send(Job::Translate {
            documents,
            num_return_sequences: num_return_sequences.max(1),
            reply: Box::new(reply),
        })
    }

    /// Queues `job`, to run alone with the model on the worker thread in its turn (requests
    /// queued before it are served first). Errors as [`Self::submit`].
    pub fn run(
        &self,
        job: impl FnOnce(&Seq2SeqPipeline) + Send + 'static,
    ) -> std::result::Result<(), Refused> {
        self.send(Job::Exclusive(Box::new(job)))
    }

    fn send(&self, job: Job) -> std::result::Result<(), Refused> {
        let tx = self.tx.as_ref().ok_or(Refused::Stopped)?;
        // Counted before sending, so the worker never takes more than was counted.
        self.depth.fetch_add(1, Ordering::SeqCst);
        tx.try_send(job).map_err(|e| {
            self.depth.fetch_sub(1, Ordering::SeqCst);
            match e {
                TrySendError::Full(_) => Refused::Full,
                TrySendError::Disconnected(_) => Refused::Stopped,
            }
        })
    }

    /// Requests queued and not yet taken by the worker.
    pub fn queue_depth(&self) -> usize {
        self.depth.load(Ordering::SeqCst)
    }

    /// Totals of the work done so far.
    pub fn totals(&self) -> SchedulerTotals {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(worker) = self.worker.take() {
            // A panicked worker has nothing left to finish.
            let _ = worker.join();
        }
    }
}

/// The worker: waits for a request, takes every request waiting, serves them, and again,
/// until the queue is closed and empty.
fn work(
    pipe: &Seq2SeqPipeline,
    settings: &TranslateSettings,
    rx: &Receiver<Job>,
    depth: &AtomicUsize,
    totals: &Mutex<SchedulerTotals>,
) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        depth.fetch_sub(jobs.len(), Ordering::SeqCst);
        // Translations with the same number of hypotheses share batches; other work runs
        // alone, after the translations queued before it.
        let mut groups: Vec<Group> = Vec::new();
        for job in jobs {
            match job {
                Job::Exclusive(f) => {
                    serve_groups(pipe, settings, std::mem::take(&mut groups), totals);
                    f(pipe);
                }
                Job::Translate {
                    documents,
                    num_return_sequences,
                    reply,
                } => match groups.iter_mut().find(|(n, _)| *n == num_return_sequences) {
                    Some((_, g)) => g.push((documents, reply)),
                    None => groups.push((num_return_sequences, vec![(documents, reply)])),
                },
            }
        }
        serve_groups(pipe, settings, groups, totals);
    }
}

/// Decodes each group of translation requests (those asking for the same number of
/// hypotheses) in one round, adding the work to `totals` before replying (so a caller that
/// has its answer sees its work counted).
fn serve_groups(
    pipe: &Seq2SeqPipeline,
    settings: &TranslateSettings,
    groups: Vec<Group>,
    totals: &Mutex<SchedulerTotals>,
) {
    for (n, requests) in groups {
        let mut round = SchedulerTotals::default();
        let answers = translate_round(pipe, settings, n, requests, &mut round);
        if let Ok(mut t) = totals.lock() {
            t.rounds += 1;
            t.batches += round.batches;
            t.stats.segments += round.stats.segments;
            t.stats.source_tokens += round.stats.source_tokens;
            t.stats.target_tokens += round.stats.target_tokens;
            t.stats.generate_seconds += round.stats.generate_seconds;
        }
        for (reply, answer) in answers {
            reply(answer);
        }
    }
}

/// Decodes the segments of all `requests` together with `n` hypotheses per segment; returns
/// each request's reply with its answer. A request whose text cannot be tokenized gets its
/// own error, a model error goes to every request of the round.
fn translate_round(
    pipe: &Seq2SeqPipeline,
    settings: &TranslateSettings,
    n: usize,
    requests: Vec<(Vec<String>, Reply)>,
    round: &mut SchedulerTotals,
) -> Vec<(Reply, Translated)> {
    let mut generation = settings.generation.clone();
    if n != generation.num_return_sequences {
        let patch = GenerationPatch {
            num_return_sequences: Some(n),
            ..GenerationPatch::default()
        };
        generation.apply(&patch, ChosenBy::User);
    }
    let mut answers = Vec::new();
    let mut prepared = Vec::new();
    for (documents, reply) in requests {
        match prepare_documents(pipe, &documents, settings.normalization) {
            Ok(docs) => prepared.push((docs, reply)),
            Err(e) => answers.push((reply, Err(e))),
        }
    }
    let docs = || prepared.iter().flat_map(|(docs, _)| docs);
    let inputs: Vec<Vec<u32>> = docs().flat_map(|d| d.inputs.iter().cloned()).collect();
    let streams: Vec<u64> = docs().flat_map(|d| d.streams()).collect();
    let t0 = Instant::now();
    let mut count = |_: usize| {
        round.batches += 1;
        ControlFlow::Continue(())
    };
    let generated = pipe.generate_with(
        &inputs,
        Some(&streams),
        &generation,
        settings.batch_size,
        settings.max_batch_tokens,
        &mut count,
    );
    round.stats.generate_seconds += t0.elapsed().as_secs_f64();
    let mut generated = match generated {
        Ok(ControlFlow::Continue(g)) => g.into_iter(),
        Ok(ControlFlow::Break(())) => unreachable!("the callback never stops"),
        Err(e) => {
            let message = e.to_string();
            answers.extend(
                prepared
                    .into_iter()
                    .map(|(_, reply)| (reply, Err(Error::Model(message.clone())))),
            );
            return answers;
        }
    };
    for (docs, reply) in prepared {
        let out = docs
            .iter()
            .map(|d| {
                let mine = generated.by_ref().take(d.inputs.len()).collect();
                let t = d.finish(pipe, mine, &generation)?;
                t.segments.iter().for_each(|s| round.stats.add_segment(s));
                Ok(t)
            })
            .collect();
        answers.push((reply, out));
    }
    answers
}
