//! The gateway's errors and the one place where they become JSON-RPC errors for clients.

use std::time::Duration;

use serde_json::{Value, json};
use toolport_protocol::{ErrorCode, RpcError};
use toolport_upstream::UpstreamError;

use crate::admission::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("unknown tool {0:?}; call tools/list to see the available tools")]
    UnknownTool(String),
    #[error("unknown prompt {0:?}; call prompts/list to see the available prompts")]
    UnknownPrompt(String),
    #[error("unknown resource {0:?}; call resources/list to see the available resources")]
    UnknownResource(String),
    #[error("server {server:?} is unavailable: {reason}")]
    Unavailable { server: String, reason: String },
    #[error(
        "server {server:?} failed repeatedly, so calls to it are paused (circuit breaker open); try again in {} ms",
        retry_after.as_millis()
    )]
    CircuitOpen {
        server: String,
        retry_after: Duration,
    },
    #[error("server {server:?} did not answer {method} within {ms} ms")]
    Timeout {
        server: String,
        method: String,
        ms: u64,
    },
    #[error("server {server:?}: {error}")]
    Upstream {
        server: String,
        error: UpstreamError,
    },
    #[error("{0}")]
    InvalidParams(String),
    #[error("method not found: {0}")]
    MethodNotFound(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("call refused: {0}")]
    Refused(Refusal),
    /// The request needs the tasks extension, which the client did not declare.
    #[error(
        "{0}: declare the {ext} extension in the client's capabilities.extensions",
        ext = crate::dispatch::TASKS_EXTENSION
    )]
    TasksExtensionRequired(String),
    #[error("unknown task {0:?}: it expired, or this caller never created it on this endpoint")]
    UnknownTask(String),
    /// A per-user server cannot run for this session (no user, or a secret of theirs missing).
    #[error("{message}")]
    UserCredentials { server: String, message: String },
}

impl From<GatewayError> for RpcError {
    fn from(err: GatewayError) -> Self {
        let code = match &err {
            GatewayError::UnknownTool(_)
            | GatewayError::UnknownPrompt(_)
            | GatewayError::UnknownTask(_)
            | GatewayError::InvalidParams(_) => ErrorCode::INVALID_PARAMS,
            GatewayError::UnknownResource(_) => ErrorCode::RESOURCE_NOT_FOUND,
            GatewayError::Unavailable { .. } => ErrorCode::BACKEND_UNAVAILABLE,
            // The client can do something about it (set a secret), so say which server.
            GatewayError::UserCredentials { server, .. } => {
                let data = json!({"server": server, "reason": "user_credentials"});
                return RpcError::invalid_params(err.to_string()).with_data(data);
            }
            // Clients that back off read the delay from `data` instead of parsing the message.
            GatewayError::CircuitOpen {
                server,
                retry_after,
            } => {
                let retry_after_ms = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX);
                let data = json!({"server": server, "retryAfterMs": retry_after_ms});
                return RpcError {
                    data: Some(data),
                    ..RpcError::new(ErrorCode::BACKEND_UNAVAILABLE, err.to_string())
                };
            }
            GatewayError::TasksExtensionRequired(_) => {
                let extensions = json!({crate::dispatch::TASKS_EXTENSION: {}});
                return RpcError::new(ErrorCode::MISSING_CLIENT_CAPABILITY, err.to_string())
                    .with_data(json!({"requiredCapabilities": {"extensions": extensions}}));
            }
            GatewayError::Timeout { .. } => ErrorCode::REQUEST_TIMEOUT,
            GatewayError::MethodNotFound(_) => ErrorCode::METHOD_NOT_FOUND,
            GatewayError::InvalidRequest(_) => ErrorCode::INVALID_REQUEST,
            // Transports report a lost connection as this code; say which server it was.
            GatewayError::Upstream {
                server,
                error: UpstreamError::Rpc(rpc),
            } if rpc.code == ErrorCode::BACKEND_UNAVAILABLE => {
                return RpcError {
                    message: format!("server {server:?}: {}", rpc.message),
                    ..(**rpc).clone()
                };
            }
            // A backend's own JSON-RPC error reaches the client unchanged.
            GatewayError::Upstream {
                error: UpstreamError::Rpc(rpc),
                ..
            } => return (**rpc).clone(),
            GatewayError::Upstream { .. } => ErrorCode::BACKEND_UNAVAILABLE,
            GatewayError::Refused(refusal) => {
                return RpcError::new(ErrorCode::REFUSED, err.to_string())
                    .with_data(refusal_data(refusal));
            }
        };
        RpcError::new(code, err.to_string())
    }
}

/// What a client needs to react to a refusal: the reason and, when waiting helps, how long.
fn refusal_data(refusal: &Refusal) -> Value {
    match refusal {
        Refusal::RateLimited { limit, retry_after } => json!({
            "reason": "rate_limited",
            "limit": limit,
            "retryAfterMs": u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX),
        }),
        Refusal::QuotaExceeded { resets_at, .. } => json!({
            "reason": "quota_exceeded",
            "resetsAt": resets_at,
        }),
        Refusal::Unavailable(_) => json!({"reason": "unavailable"}),
    }
}
