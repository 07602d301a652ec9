//! Errors at the HTTP edge and the one place where they become responses: a status code plus a
//! JSON-RPC error body, so that MCP clients can show the message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use toolport_protocol::{ErrorCode, RequestId, RpcError};

#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub id: RequestId,
    /// Boxed so that `Result<_, HttpError>` stays small on the success path.
    pub error: Box<RpcError>,
}

impl HttpError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            id: RequestId::Null,
            error: Box::new(RpcError::new(code, message)),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::INVALID_REQUEST, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::INVALID_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::INVALID_REQUEST, message)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = toolport_protocol::Response::error(self.id, *self.error);
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&body).expect("a response always serialises"),
        )
            .into_response()
    }
}
