//! Request extractors whose failures are problem details, never axum's plain-text rejections.
//!
//! - [`JsonBody`]: a JSON body, judged after authorization (extraction itself never fails).
//!   Malformed JSON is 400, JSON of the wrong shape (or not an object) 422, another content
//!   type 415, a body over the limit 413.
//! - [`PathArgs`]: path parameters; a segment that cannot be decoded is 400.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Json, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{Problem, ProblemKind};

/// A JSON request body, or the problem with it.
#[derive(Debug)]
pub struct JsonBody<T>(pub Result<T, Problem>);

impl<T> JsonBody<T> {
    /// The body, or the problem with it.
    pub fn value(self) -> Result<T, Problem> {
        self.0
    }

    /// The body, or the problem with it without the parser's message (which may quote a value
    /// from the body); `expected` says what the body should look like.
    pub fn value_redacted(self, expected: &str) -> Result<T, Problem> {
        self.0.map_err(|problem| {
            let detail = match problem.kind() {
                ProblemKind::Malformed => {
                    format!("the body is not valid JSON; expected {expected}")
                }
                ProblemKind::Validation => {
                    format!("the body does not have the expected shape; expected {expected}")
                }
                _ => return problem,
            };
            problem.with_detail(detail)
        })
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Through a `Value` first: serde would otherwise also read a struct from a JSON array.
        let parsed = Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_problem)
            .and_then(|Json(value)| {
                if !value.is_object() {
                    return Err(Problem::invalid("the body must be a JSON object"));
                }
                serde_json::from_value(value).map_err(|err| {
                    Problem::invalid(format!("the body does not have the expected shape: {err}"))
                })
            });
        Ok(Self(parsed))
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(err) => Problem::invalid(err.body_text()),
        JsonRejection::JsonSyntaxError(err) => Problem::malformed(err.body_text()),
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            ProblemKind::UnsupportedMediaType,
            "the body must be JSON: send `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(ProblemKind::PayloadTooLarge, err.body_text())
        }
        other => Problem::malformed(other.body_text()),
    }
}

/// Path parameters whose decoding failures are 400 problems.
#[derive(Debug)]
pub struct PathArgs<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathArgs<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_problem(&rejection)),
        }
    }
}

fn path_problem(rejection: &PathRejection) -> Problem {
    if rejection.status().is_server_error() {
        tracing::error!(error = %rejection.body_text(), "admin API: path extraction failed");
        return Problem::internal();
    }
    Problem::malformed(rejection.body_text())
}
