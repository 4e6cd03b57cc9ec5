//! The routes: LibreTranslate's `POST /translate`, `GET /languages`, `POST /detect` and
//! `GET /frontend/settings` (as its API documentation specifies them), and `GET /health`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tower_http::cors::CorsLayer;

use super::error::ApiError;
use super::html::Page;
use super::params::Params;
use super::AppState;
use tarjama::pipeline::run::{run as run_article, RunRecord};
use tarjama::pipeline::scheduler::{Refused, Scheduler};
use tarjama::pipeline::stats::Stats;
use tarjama::pipeline::summarize::{summarize as summarize_text, SummaryRecord};
use tarjama::pipeline::translate::DocumentTranslation;
use tarjama::pipeline::Seq2SeqPipeline;
use tarjama::text::script::{arabic_ratio, MOSTLY_ARABIC};

/// Seconds a client is told to wait (`Retry-After`) when the queue is full.
const RETRY_AFTER_SECONDS: u64 = 1;

/// The service's routes over `state`, with LibreTranslate's open CORS policy.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/translate", post(translate))
        .route("/detect", post(detect))
        .route("/summarize", post(summarize))
        .route("/run", post(run))
        .route("/languages", get(languages))
        .route("/frontend/settings", get(frontend_settings))
        .route("/health", get(health))
        .layer(CorsLayer::permissive())
        .with_state(state)
}

/// `POST /translate`: `q` (a text or an array of texts), `source` (`ar` or `auto`), `target`
/// (`en`), `format` (`text`, or `html`: see [`Page`]), `alternatives` (extra hypotheses per text), `api_key`.
/// Answers `{"translatedText": ...}` (a string or an array, as `q`), with `detectedLanguage`
/// for `source=auto` and `alternatives` when asked for.
async fn translate(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let _counted = InFlight::new(&state);
    check_key(&state, &params)?;
    let (texts, batch) = params.texts()?;
    let source = params.required("source")?;
    let target = params.required("target")?;
    let alternatives = params.count("alternatives")?;
    if alternatives + 1 > state.max_hypotheses {
        return Err(ApiError::bad(format!(
            "Invalid request: alternatives parameter must be <= {}",
            state.max_hypotheses - 1
        )));
    }
    check_chars(&state, &texts)?;
    let pages = match params.string("format")?.unwrap_or("text") {
        "text" => None,
        "html" => Some(
            texts
                .iter()
                .map(|t| Page::parse(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::bad(format!("Invalid request: {e}")))?,
        ),
        other => return Err(ApiError::bad(format!("{other} format is not supported"))),
    };
    let detected = match source {
        "ar" => None,
        "auto" => {
            // A page by the text of its nodes, not its markup.
            let d = match &pages {
                Some(pages) => detection(
                    &pages
                        .iter()
                        .flat_map(Page::texts)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                None => detection(&texts.join("\n")),
            };
            if d.language != "ar" {
                return Err(ApiError::bad(format!(
                    "{} is not supported (detected with confidence {}); this server translates \
                     from ar",
                    d.language, d.confidence
                )));
            }
            Some(d)
        }
        other => return Err(ApiError::bad(format!("{other} is not supported"))),
    };
    if target != "en" {
        return Err(ApiError::bad(format!("{target} is not supported")));
    }
    let count = texts.len();
    let (translated, alternative_lists): (Vec<String>, Vec<Vec<String>>) = match pages {
        None => translate_texts(&state, texts, alternatives + 1)
            .await?
            .into_iter()
            .map(|d| (d.text, d.alternatives))
            .unzip(),
        // As LibreTranslate: no alternatives for html.
        Some(pages) => {
            let nodes: Vec<String> = pages
                .iter()
                .flat_map(Page::texts)
                .map(str::to_string)
                .collect();
            let docs = if nodes.is_empty() {
                Vec::new()
            } else {
                translate_texts(&state, nodes, 1).await?
            };
            let mut done = docs.into_iter().map(|d| d.text);
            let filled = pages
                .iter()
                .map(|p| p.fill(&done.by_ref().take(p.len()).collect::<Vec<_>>()))
                .collect();
            (filled, vec![Vec::new(); count])
        }
    };
    let mut out = serde_json::Map::new();
    if batch {
        out.insert("translatedText".into(), json!(translated));
        if let Some(d) = &detected {
            out.insert("detectedLanguage".into(), vec![d.json(); count].into());
        }
        if alternatives > 0 {
            out.insert("alternatives".into(), json!(alternative_lists));
        }
    } else {
        out.insert("translatedText".into(), json!(translated[0]));
        if let Some(d) = &detected {
            out.insert("detectedLanguage".into(), d.json());
        }
        if alternatives > 0 {
            out.insert("alternatives".into(), json!(alternative_lists[0]));
        }
    }
    Ok(Json(Value::Object(out)))
}

/// Counts a `/translate` request in [`AppState::in_flight`] while it lives.
pub struct InFlight<'a>(&'a AppState);

impl<'a> InFlight<'a> {
    fn new(state: &'a AppState) -> Self {
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Queues `texts` on the translator with `hypotheses` per segment and waits for them.
///
/// Errors: 503 with `Retry-After` when the queue is full, 500 when the model fails.
async fn translate_texts(
    state: &AppState,
    texts: Vec<String>,
    hypotheses: usize,
) -> Result<Vec<DocumentTranslation>, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state
        .translator
        .submit(texts, hypotheses, move |r| {
            // The client may have gone away: nobody waits for the answer then.
            let _ = tx.send(r);
        })
        .map_err(|e| refused(e, "translation", "translate text"))?;
    answer(rx, "translate text", "translator").await
}

/// The answer `rx` brings from a model's worker: 500 (`Cannot DOING: ...`) when the work
/// failed or the `model`'s worker stopped before answering.
async fn answer<T>(
    rx: tokio::sync::oneshot::Receiver<tarjama::Result<T>>,
    doing: &str,
    model: &str,
) -> Result<T, ApiError> {
    let cannot = |e: String| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot {doing}: {e}"),
        )
    };
    rx.await
        .map_err(|_| cannot(format!("the {model} has stopped")))?
        .map_err(|e| cannot(e.to_string()))
}

/// Runs `job` alone on `scheduler`'s worker (in turn with the queued requests) and waits for
/// its result. Errors: as [`refused`] for the `queue`, and as [`answer`].
async fn run_alone<T: Send + 'static>(
    scheduler: &Scheduler,
    queue: &str,
    doing: &str,
    model: &str,
    job: impl FnOnce(&Seq2SeqPipeline) -> tarjama::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    scheduler
        .run(move |pipe| {
            // The client may have gone away.
            let _ = tx.send(job(pipe));
        })
        .map_err(|e| refused(e, queue, doing))?;
    answer(rx, doing, model).await
}

/// The answer to a request the scheduler refused: 503 with `Retry-After` when the `what`
/// queue is full, 500 when its worker has stopped (`Cannot DOING: ...`).
fn refused(e: Refused, what: &str, doing: &str) -> ApiError {
    match e {
        Refused::Full => ApiError {
            retry_after: Some(RETRY_AFTER_SECONDS),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Slowdown: the {what} queue is full, retry later"),
            )
        },
        Refused::Stopped => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot {doing}: the model has stopped"),
        ),
    }
}

/// `POST /summarize` (beyond LibreTranslate): `q` (one text), `api_key`. Answers
/// `{"summary": RECORD}`, RECORD being what `tarjama summarize --format json` prints as its
/// `summary` for the same text and flags (docs/json.md); 404 without `--summarizer`.
async fn summarize(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let _counted = InFlight::new(&state);
    check_key(&state, &params)?;
    let Some(summarizer) = &state.summarizer else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no summarizer: start tarjama serve with --summarizer",
        ));
    };
    let text = params.required("q")?.to_string();
    check_chars(&state, std::slice::from_ref(&text))?;
    let settings = summarizer.settings.clone();
    let record = run_alone(
        &summarizer.scheduler,
        "summary",
        "summarize text",
        "summarizer",
        move |pipe| {
            summarize_text(pipe, &text, &settings).map(|s| SummaryRecord::new(&s, pipe, &settings))
        },
    )
    .await?;
    Ok(Json(json!({ "summary": record })))
}

/// `POST /run` (beyond LibreTranslate; needs `--summarizer`): `q`, one Arabic article,
/// `api_key`. Answers the record `tarjama run --format json` prints for it (docs/json.md; its
/// `warnings` are not collected here, and its `input` is `-`): the translation, then the
/// summary of the English. It runs alone on the translator's worker, in turn with the
/// translation requests.
async fn run(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let _counted = InFlight::new(&state);
    check_key(&state, &params)?;
    let Some(summarizer) = &state.summarizer else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no summarizer: start tarjama serve with --summarizer",
        ));
    };
    let text = params.required("q")?.to_string();
    check_chars(&state, std::slice::from_ref(&text))?;
    let (summarizer_pipe, settings) = (summarizer.scheduler.pipe().clone(), summarizer.run.clone());
    let record = run_alone(
        &state.translator,
        "translation",
        "run",
        "translator",
        move |translator| {
            let t0 = std::time::Instant::now();
            run_article(
                translator,
                &summarizer_pipe,
                &text,
                &settings,
                &mut Stats::default(),
            )
            .map(|out| {
                RunRecord::new(
                    "-".into(),
                    &out,
                    &translator.info,
                    translator.load_seconds,
                    &summarizer_pipe,
                    &settings,
                    "default".into(),
                    t0.elapsed().as_secs_f64(),
                )
            })
        },
    )
    .await?;
    Ok(Json(json!(record)))
}

/// 400 when a text of `texts` is over `--char-limit` characters (LibreTranslate's message).
fn check_chars(state: &AppState, texts: &[String]) -> Result<(), ApiError> {
    if let Some(limit) = state.char_limit {
        if let Some(n) = texts.iter().map(|t| t.chars().count()).find(|&n| n > limit) {
            return Err(ApiError::bad(format!(
                "Invalid request: request ({n}) exceeds text limit ({limit})"
            )));
        }
    }
    Ok(())
}

/// 403 `Invalid API key` for a key not in `--api-keys`, 400 for none when keys are needed
/// (LibreTranslate's answers).
fn check_key(state: &AppState, params: &Params) -> Result<(), ApiError> {
    let Some(keys) = &state.api_keys else {
        return Ok(());
    };
    match params.string("api_key")? {
        Some(k) if keys.accepts(k) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "Invalid API key")),
        None => Err(ApiError::bad(
            "Please contact the server operator to get an API key",
        )),
    }
}

/// A language detection: Arabic script or not.
#[derive(Debug, Clone)]
struct Detection {
    /// `ar` when at least half of the letters are Arabic script ([`MOSTLY_ARABIC`]), else `en`.
    language: &'static str,
    /// The share of letters in (for `ar`) or out of (for `en`) the Arabic script, 0 to 100,
    /// to one decimal.
    confidence: f64,
}

impl Detection {
    fn json(&self) -> Value {
        json!({ "confidence": self.confidence, "language": self.language })
    }
}

/// Detects `text`'s language by its script ([`arabic_ratio`]).
fn detection(text: &str) -> Detection {
    let ratio = arabic_ratio(text);
    let (language, share) = if ratio >= MOSTLY_ARABIC {
        ("ar", ratio)
    } else {
        ("en", 1.0 - ratio)
    };
    Detection {
        language,
        confidence: (share * 1000.0).round() / 10.0,
    }
}

/// `POST /detect`: `q`, `api_key`. Answers `[{"confidence": C, "language": L}]`.
async fn detect(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    check_key(&state, &params)?;
    let (texts, _) = params.texts()?;
    Ok(Json(json!([detection(&texts.join("\n")).json()])))
}

/// `GET /languages`: `[{"code", "name", "targets"}]`: Arabic to English.
async fn languages() -> Json<Value> {
    Json(json!([
        { "code": "ar", "name": "Arabic", "targets": ["en"] },
        { "code": "en", "name": "English", "targets": [] },
    ]))
}

/// `GET /frontend/settings`: LibreTranslate's settings for its web page.
async fn frontend_settings(State(state): State<Arc<AppState>>) -> Json<Value> {
    let keys = state.api_keys.is_some();
    Json(json!({
        "charLimit": state.char_limit.map_or(-1, |n| n as i64),
        "frontendTimeout": 500,
        "apiKeys": keys,
        "keyRequired": keys,
        "suggestions": false,
        "filesTranslation": false,
        "supportedFilesFormat": [],
        "language": {
            "source": { "code": "ar", "name": "Arabic" },
            "target": { "code": "en", "name": "English" },
        },
    }))
}

/// `GET /health`: `{"status": "ok"}` with the translator's name, the requests waiting for
/// it (`queue`) and the `/translate` requests being answered (`in_flight`).
async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "translator": state.translator.pipe().info.name,
        "queue": state.translator.queue_depth(),
        "in_flight": state.in_flight.load(Ordering::SeqCst),
    }))
}
