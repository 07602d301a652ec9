//! JSON-RPC 2.0 and MCP error codes, and the error object carried in responses.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON-RPC error code. Named constants cover the codes Toolport emits; any other code received
/// from a backend is carried through unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    pub const PARSE_ERROR: Self = Self(-32700);
    pub const INVALID_REQUEST: Self = Self(-32600);
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    pub const INVALID_PARAMS: Self = Self(-32602);
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// MCP: a resource URI that no server knows.
    pub const RESOURCE_NOT_FOUND: Self = Self(-32002);
    /// 2026-07-28: the `MCP-Protocol-Version` or `Mcp-Method`/`Mcp-Name` headers disagree with
    /// the body (HTTP 400).
    pub const HEADER_MISMATCH: Self = Self(-32020);
    /// 2026-07-28: the request needs a client capability it did not declare (HTTP 400).
    pub const MISSING_CLIENT_CAPABILITY: Self = Self(-32021);
    /// 2026-07-28: the declared protocol revision is not supported (HTTP 400).
    pub const UNSUPPORTED_PROTOCOL_VERSION: Self = Self(-32022);
    /// Server-defined range: the backend that owns the target is not connected.
    pub const BACKEND_UNAVAILABLE: Self = Self(-32000);
    /// Server-defined range: the backend did not answer in time (same code as the MCP SDKs use).
    pub const REQUEST_TIMEOUT: Self = Self(-32001);
    /// Server-defined range: a request is refused by policy (rate limit, quota, breaker open).
    pub const REFUSED: Self = Self(-32003);
}

/// The `error` member of a JSON-RPC response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {})", code.0)]
pub struct RpcError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("method not found: {method}"),
        )
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INVALID_PARAMS, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INTERNAL_ERROR, message)
    }
}
