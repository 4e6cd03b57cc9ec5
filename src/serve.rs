//! `tarjama serve`: LibreTranslate's HTTP API over one loaded translator, and `/summarize` and
//! `/run` over an optional summarizer. The models load once, before the port is bound; every
//! request's segments go through the library's [`Scheduler`], which decodes the requests
//! waiting together in shared batches, so each answer equals `tarjama translate`'s output for
//! the same text (and `/summarize`'s and `/run`'s the records of `summarize` and `run`).
//!
//! Modules: [`api`] (routes and handlers), [`params`] (JSON or form request bodies),
//! [`error`] (LibreTranslate's `{"error": ...}` responses), [`html`] (`format=html`), [`keys`]
//! (the `--api-keys` file).

mod api;
mod error;
mod html;
mod keys;
mod params;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clap::Args;

use super::common::{
    batch_size_value, max_batch_tokens_value, model_name, positive, typed, DecodeArgs, DeviceArgs,
    ModelArgs, SummaryDecodeArgs, Typed,
};
use super::summarize::load_summarizer;
use tarjama::hub::DEFAULT_TRANSLATOR;
use tarjama::model::linear::Quantization;
use tarjama::pipeline::run::RunSettings;
use tarjama::pipeline::scheduler::Scheduler;
use tarjama::pipeline::summarize::{Strategy, SummarizeSettings};
use tarjama::pipeline::summarizer;
use tarjama::pipeline::translate::TranslateSettings;
use tarjama::text::Normalization;

/// Flags of `tarjama serve`.
#[derive(Debug, Args)]
#[command(
    mut_arg("translator", |a| crate::with_default(a, DEFAULT_TRANSLATOR)),
    after_help = "\
Examples:
  tarjama serve
  tarjama serve --port 8080 --translator opus-mt-ar-en --max-batch-tokens 4096"
)]
pub struct ServeArgs {
    /// Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0: any free port; the address bound is printed on stderr).
    #[arg(long, default_value_t = 5000)]
    pub port: u16,
    /// Translation model (preset, Hub repo id or local directory), optionally NAME@REVISION.
    #[arg(long, value_parser = model_name)]
    pub translator: Option<String>,
    /// Summarization model for `POST /summarize` (none: that route answers 404), optionally
    /// NAME@REVISION.
    #[arg(long, value_parser = model_name)]
    pub summarizer: Option<String>,
    /// No download progress or Hub notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Quantize the projection weights (q8_0, int8, q6k, q4k, q4_0).
    #[arg(long, value_parser = typed::<Quantization>)]
    pub quantize: Option<Typed<Quantization>>,
    /// Segments per padded batch (the requests waiting are decoded together).
    #[arg(long, default_value_t = 8, value_parser = batch_size_value)]
    pub batch_size: usize,
    /// Also cut batches at N padded source tokens; answers are unchanged.
    #[arg(long, value_name = "N", value_parser = max_batch_tokens_value)]
    pub max_batch_tokens: Option<usize>,
    /// Requests that may wait for the model; one more is answered 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = positive)]
    pub queue_size: usize,
    /// Characters allowed per text of a request (LibreTranslate's --char-limit); more is a
    /// 400. Default: no limit.
    #[arg(long, value_name = "N", value_parser = positive)]
    pub char_limit: Option<usize>,
    /// A file of API keys, one per line (blank lines and lines starting with # are skipped):
    /// requests must then carry one as `api_key` (a wrong one is a 403).
    #[arg(long, value_name = "FILE")]
    pub api_keys: Option<PathBuf>,
    #[command(flatten, next_help_heading = "Translator decoding")]
    pub decode: DecodeArgs,
    #[command(flatten, next_help_heading = "Summarizer decoding")]
    pub summary_decode: SummaryDecodeArgs,
}

impl ServeArgs {
    /// Checks the flags that contradict each other (the decoding flags').
    /// Errors: a message naming the flags.
    pub fn check(&self) -> Result<(), String> {
        if let (None, Some(flag)) = (&self.summarizer, self.summary_decode.given()) {
            return Err(format!("{flag} needs --summarizer"));
        }
        self.decode
            .check()
            .and_then(|()| self.summary_decode.decode().check())
    }
}

/// What every handler shares: the translator's scheduler and the request limits.
pub struct AppState {
    /// The translator, behind its batching scheduler.
    pub translator: Scheduler,
    /// `--summarizer`, for `POST /summarize`.
    pub summarizer: Option<Summarizer>,
    /// `--char-limit`.
    pub char_limit: Option<usize>,
    /// `--api-keys`: the keys accepted; `None` when no key is needed.
    pub api_keys: Option<keys::ApiKeys>,
    /// Most hypotheses a request may ask for (the translator's beams).
    pub max_hypotheses: usize,
    /// `/translate` requests being answered now (see [`api::InFlight`]).
    pub in_flight: AtomicUsize,
}

/// The summarizer: its model behind a scheduler (each summary runs alone on its worker, in
/// queue order) and its settings.
pub struct Summarizer {
    /// Runs the summaries ([`Scheduler::run`]).
    pub scheduler: Scheduler,
    /// The settings every summary uses, as `tarjama summarize` would with the same flags.
    pub settings: Arc<SummarizeSettings>,
    /// The settings of `POST /run`, as `tarjama run` would have them with the same flags.
    pub run: Arc<RunSettings>,
}

/// Runs `tarjama serve` until SIGTERM or ctrl-c, then finishes the requests in flight and
/// returns 0.
///
/// Errors: the API key file or the model cannot be loaded, the address cannot be bound.
pub fn run(args: ServeArgs) -> anyhow::Result<i32> {
    let api_keys = match &args.api_keys {
        Some(path) => Some(keys::ApiKeys::read(path)?),
        None => None,
    };
    let model = ModelArgs {
        model: args.translator.clone(),
        revision: None,
        quiet: args.quiet,
        device: args.device.clone(),
        quantize: args.quantize.clone(),
        flag: Some("--translator"),
    };
    let pipe = model.load(DEFAULT_TRANSLATOR)?;
    let generation = args.decode.generation_for(&pipe)?;
    let max_hypotheses = generation.num_beams.max(1);
    let settings = TranslateSettings {
        normalization: Normalization::default(),
        generation,
        batch_size: args.batch_size,
        max_batch_tokens: args.max_batch_tokens,
    };
    let summarizer = match &args.summarizer {
        Some(name) => {
            let decode = args.summary_decode.decode();
            let (pipe, summarize) = load_summarizer(
                &ModelArgs {
                    model: Some(name.clone()),
                    flag: Some("--summarizer"),
                    ..model.clone()
                },
                &decode,
                None,
                Strategy::default(),
                None,
            )?;
            // `run` summarizes the English translation.
            let (lang, _) =
                summarizer::summarizer_lang(&pipe, Some(RunSettings::summarizer_lang(false)));
            let run = RunSettings {
                translate: settings.clone(),
                summarize: summarizer::summarizer_settings(
                    &pipe,
                    lang,
                    &decode.patch(),
                    Strategy::default(),
                    None,
                )?,
                summarize_first: false,
            };
            // Summaries are not batched together: the scheduler only runs them in turn.
            let unused = TranslateSettings {
                normalization: Normalization::default(),
                generation: summarize.generation.clone(),
                batch_size: 1,
                max_batch_tokens: None,
            };
            Some(Summarizer {
                scheduler: Scheduler::new(Arc::new(pipe), unused, args.queue_size),
                settings: Arc::new(summarize),
                run: Arc::new(run),
            })
        }
        None => None,
    };
    let state = Arc::new(AppState {
        translator: Scheduler::new(Arc::new(pipe), settings, args.queue_size),
        summarizer,
        char_limit: args.char_limit,
        api_keys,
        max_hypotheses,
        in_flight: AtomicUsize::new(0),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(listen(SocketAddr::new(args.host, args.port), state.clone()))?;
    // Every handler has returned: the last reference drops the scheduler, which joins its
    // worker.
    drop(state);
    Ok(0)
}

/// Binds `addr`, prints `listening on http://ADDR` on stderr and serves until a shutdown
/// signal, then waits for the requests in flight.
async fn listen(addr: SocketAddr, state: Arc<AppState>) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, api::router(state.clone()))
        .with_graceful_shutdown(shutdown_signal(state))
        .await?;
    eprintln!("stopped: the requests in flight were answered");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM, saying on stderr how many requests are still being
/// answered.
async fn shutdown_signal(state: Arc<AppState>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    let n = state.in_flight.load(Ordering::SeqCst);
    eprintln!("shutting down: finishing {n} requests in flight");
}
