//! RFC 9457 problem details: the one shape every error of the admin API takes on the wire.
//!
//! A [`Problem`] is a status, a stable `type` URI, a fixed title and a precise `detail` that says
//! what to fix. Details are written by this crate (or come from store messages, which never quote
//! a token or a sealed value); none carries a secret value. Store failures the caller cannot fix
//! (database, migration) are logged with `tracing` and answered with a generic 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use toolport_metering::{PlanLimits, Resource};
use toolport_store::StoreError;
use utoipa::ToSchema;

use crate::access::AccessError;

/// Every problem `type` URI starts with this.
pub const PROBLEM_TYPE_BASE: &str = "https://toolport.dev/problems/";

/// The media type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The `WWW-Authenticate` challenge when no token was sent.
pub const CHALLENGE: &str = "Bearer realm=\"toolport\"";

/// The `WWW-Authenticate` challenge when a token was sent but is not valid.
pub const CHALLENGE_INVALID: &str = "Bearer realm=\"toolport\", error=\"invalid_token\"";

/// The kinds of problem the admin API answers with; each has one status, `type` and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// 400: the request cannot be read (malformed JSON, bad query or path value).
    Malformed,
    /// 401: no valid bearer token.
    Unauthorized,
    /// 403: the token lacks a scope, or the caller's role cannot do this.
    Forbidden,
    /// 404: no such route or record (also for records of other tenants).
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    Conflict,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 422: the body is JSON but its values are not acceptable.
    Validation,
    /// 429: too many requests; `Retry-After` says when to come back.
    RateLimited,
    /// 500: the server failed; the log has the details.
    Internal,
}

impl ProblemKind {
    /// Every kind, for documentation and tests.
    pub const ALL: [Self; 11] = [
        Self::Malformed,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Validation,
        Self::RateLimited,
        Self::Internal,
    ];

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Malformed => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The last segment of the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Malformed => "malformed-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Validation => "validation-failed",
            Self::RateLimited => "rate-limited",
            Self::Internal => "internal-error",
        }
    }

    /// The short, fixed summary.
    pub fn title(self) -> &'static str {
        match self {
            Self::Malformed => "Malformed request",
            Self::Unauthorized => "Authentication required",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::Validation => "Validation failed",
            Self::RateLimited => "Too many requests",
            Self::Internal => "Internal server error",
        }
    }

    /// The full `type` URI.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.slug())
    }
}

/// An error response of the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    kind: ProblemKind,
    detail: String,
    challenge: Option<&'static str>,
    retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `kind` with `detail` (which must not contain a secret value).
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            challenge: None,
            retry_after: None,
        }
    }

    /// 400.
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Malformed, detail)
    }

    /// 401 without a token (`WWW-Authenticate: Bearer realm="toolport"`).
    pub fn missing_token() -> Self {
        Self {
            challenge: Some(CHALLENGE),
            ..Self::new(ProblemKind::Unauthorized, AccessError::Missing.to_string())
        }
    }

    /// 401 with a token that is not valid (`error="invalid_token"`).
    pub fn invalid_token() -> Self {
        Self {
            challenge: Some(CHALLENGE_INVALID),
            ..Self::new(ProblemKind::Unauthorized, AccessError::Invalid.to_string())
        }
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Forbidden, detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    /// 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Conflict, detail)
    }

    /// 409 when a creation would take the tenant past its plan's limit on `resource` (the
    /// store counts and inserts in one transaction), else what the store's error means.
    pub fn beyond_plan(plan: &PlanLimits, resource: Resource, err: StoreError) -> Self {
        let StoreError::LimitReached(held) = err else {
            return err.into();
        };
        let what = match resource {
            Resource::Apis => "APIs",
            Resource::Endpoints => "endpoints",
            Resource::ToolsPerApi => "tools per API",
        };
        let exceeded = plan.check(resource, held, 1).err().map_or_else(
            || format!("the plan allows no more {what}"),
            |e| e.to_string(),
        );
        Self::conflict(format!(
            "{exceeded}; delete one, or ask an operator for a plan with more {what}"
        ))
    }

    /// 422.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Validation, detail)
    }

    /// 429 with `Retry-After: retry_after_secs`.
    pub fn too_many_requests(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(ProblemKind::RateLimited, detail)
        }
    }

    /// 500 with a generic detail (log the cause before answering with it).
    pub fn internal() -> Self {
        Self::new(
            ProblemKind::Internal,
            "the server failed to handle this request; the server log has the details",
        )
    }

    /// The kind.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The same problem with `detail` instead (used where a parser's message could quote input
    /// that must not be echoed, such as a secret value).
    pub fn with_detail(self, detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            ..self
        }
    }

    /// The body as sent.
    pub fn body(&self) -> ProblemDetails {
        ProblemDetails {
            kind: self.kind.type_uri(),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.kind.status().as_u16(),
            self.kind.title(),
            self.detail
        )
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.kind.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if let Some(challenge) = self.challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => Self::not_found(format!("{what} not found")),
            StoreError::Conflict(message) => Self::conflict(message),
            StoreError::Invalid(message) => Self::invalid(message),
            StoreError::LimitReached(held) => {
                Self::conflict(format!("the limit is reached: {held} exist"))
            }
            StoreError::Database(_) | StoreError::Migration(_) => {
                tracing::error!(error = %err, "admin API: store failure");
                Self::internal()
            }
        }
    }
}

impl From<AccessError> for Problem {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::Missing => Self::missing_token(),
            AccessError::Invalid => Self::invalid_token(),
            AccessError::Store(err) => err.into(),
        }
    }
}

/// An RFC 9457 problem details object, as every error response carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://toolport.dev/problems/not-found",
    "title": "Not found",
    "status": 404,
    "detail": "tenant not found: no tenant with this id or name is visible to this token; \
               GET /api/v1/tenants lists the tenants it can address"
}))]
pub struct ProblemDetails {
    /// A stable URI identifying the kind of problem.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub kind: String,
    /// A short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong in this request, and what to change.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_distinct_types_and_error_statuses() {
        let mut slugs: Vec<_> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
        for kind in ProblemKind::ALL {
            assert!(kind.status().is_client_error() || kind.status().is_server_error());
        }
    }

    #[test]
    fn store_failures_do_not_reach_the_wire() {
        let problem = Problem::from(StoreError::Database("disk /secret/path failed".into()));
        assert_eq!(problem.kind(), ProblemKind::Internal);
        assert!(!problem.detail().contains("/secret/path"));
    }

    #[test]
    fn rate_limit_sends_retry_after() {
        let response = Problem::too_many_requests(7, "slow down").into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
    }
}
