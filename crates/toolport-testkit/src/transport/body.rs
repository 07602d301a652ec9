//! Response bodies of the HTTP transports: JSON-RPC JSON answers and SSE streams fed from a
//! channel, with the framing (`id:`, `event:`, `retry:`, `data:`) the MCP transports use.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::sync::mpsc;
use toolport_protocol::jsonrpc::Response as RpcResponse;
use toolport_protocol::{Message, RequestId, RpcError};

/// How long clients should wait before resuming a closed SSE stream.
pub(crate) const RETRY_MS: u64 = 500;

pub(crate) type BodySink = mpsc::UnboundedSender<Bytes>;

/// A JSON answer with `status`.
pub(crate) fn json(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON-RPC error answer with `status`.
pub(crate) fn json_error(status: StatusCode, id: RequestId, error: RpcError) -> Response {
    json(
        status,
        Message::Response(RpcResponse::error(id, error)).to_json(),
    )
}

/// An empty answer (202 Accepted, 405, ...).
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// An SSE answer whose events are whatever arrives on `rx` until every sender is gone.
pub(crate) fn sse(rx: mpsc::UnboundedReceiver<Bytes>) -> Response {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `event: message` carrying one JSON-RPC message, with an id when the stream is resumable.
pub(crate) fn message_event(id: Option<&str>, json: &str) -> Bytes {
    let mut s = String::with_capacity(json.len() + 48);
    if let Some(id) = id {
        s.push_str("id: ");
        s.push_str(id);
        s.push('\n');
    }
    s.push_str("event: message\ndata: ");
    s.push_str(json);
    s.push_str("\n\n");
    Bytes::from(s)
}

/// The priming event of a resumable stream: an id, the retry hint and empty data.
pub(crate) fn priming_event(id: &str) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {RETRY_MS}\ndata: \n\n"))
}

/// Any other named event (`endpoint` of the legacy transport).
pub(crate) fn named_event(event: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}
