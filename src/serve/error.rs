//! LibreTranslate's error responses: a status code and `{"error": MESSAGE}`, with
//! `Retry-After` on a 503 when the queue is full.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    /// 400 bad input, 403 bad key, 500 model error, 503 queue full.
    pub status: StatusCode,
    /// The one-line message, sent as `{"error": message}`.
    pub message: String,
    /// Seconds for the `Retry-After` header, if any.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A 400: the request is invalid (LibreTranslate's wording: `Invalid request: ...`).
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// An answer with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        match self.retry_after {
            Some(s) => (self.status, [(header::RETRY_AFTER, s.to_string())], body).into_response(),
            None => (self.status, body).into_response(),
        }
    }
}
