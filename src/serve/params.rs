//! A request's parameters, from a JSON object body or a form (`application/x-www-form-urlencoded`)
//! body, as LibreTranslate reads both: [`Params`].

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::{Form, Json};
use serde_json::{Map, Value};

use super::error::ApiError;

/// The parameters of a request: a JSON body's object, or a form's fields (a field given
/// more than once, such as `q=a&q=b`, is the array of its values).
#[derive(Debug, Default)]
pub struct Params(Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
        if json {
            let Json(value) = Json::<Value>::from_request(req, state)
                .await
                .map_err(|e| ApiError::bad(format!("Invalid request: {}", e.body_text())))?;
            return match value {
                Value::Object(map) => Ok(Params(map)),
                _ => Err(ApiError::bad(
                    "Invalid request: the body is not a JSON object",
                )),
            };
        }
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad(format!("Invalid request: {}", e.body_text())))?;
        let mut map = Map::new();
        for (k, v) in pairs {
            match map.get_mut(&k) {
                None => {
                    map.insert(k, Value::String(v));
                }
                Some(Value::Array(a)) => a.push(Value::String(v)),
                Some(first) => *first = Value::Array(vec![first.take(), Value::String(v)]),
            }
        }
        Ok(Params(map))
    }
}

impl Params {
    /// A string parameter; `None` when absent or empty (LibreTranslate's "missing").
    ///
    /// Errors: a 400 when it is not a string.
    pub fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::bad(format!(
                "Invalid request: {name} parameter is not a string"
            ))),
        }
    }

    /// A required string parameter.
    ///
    /// Errors: a 400 `Invalid request: missing NAME parameter`.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.string(name)?
            .ok_or_else(|| ApiError::bad(format!("Invalid request: missing {name} parameter")))
    }

    /// `q`: one text (`Ok((texts, false))`) or an array of texts (`Ok((texts, true))`).
    ///
    /// Errors: a 400 when it is missing, empty, or not a string or an array of strings.
    pub fn texts(&self) -> Result<(Vec<String>, bool), ApiError> {
        let missing = || ApiError::bad("Invalid request: missing q parameter");
        match self.0.get("q") {
            Some(Value::String(s)) if !s.is_empty() => Ok((vec![s.clone()], false)),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(ApiError::bad(
                        "Invalid request: q parameter is not a string or an array of strings",
                    )),
                })
                .collect::<Result<_, _>>()
                .map(|t| (t, true)),
            None | Some(Value::Null) | Some(Value::String(_)) | Some(Value::Array(_)) => {
                Err(missing())
            }
            Some(_) => Err(ApiError::bad(
                "Invalid request: q parameter is not a string or an array of strings",
            )),
        }
    }

    /// A count parameter (a JSON number or a numeric string; absent: 0).
    ///
    /// Errors: a 400 `Invalid request: NAME parameter is not a number`.
    pub fn count(&self, name: &str) -> Result<usize, ApiError> {
        let bad = || ApiError::bad(format!("Invalid request: {name} parameter is not a number"));
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => n.as_i64().map(|n| n.max(0) as usize).ok_or_else(bad),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(0),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(|n| n.max(0) as usize)
                .map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }
}
