//! Streamable HTTP (2025-03-26 and later) at `/mcp` and `/mcp/{name}`: POST carries client
//! messages, answered with JSON or, when the request produces related messages (progress,
//! sampling), an SSE stream; GET opens the session's standalone stream; DELETE ends the session.
//! Requests without a session that declare 2026-07-28 are served statelessly.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::AsHeaderName;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_gateway::{Gateway, Scope, Sink, StatelessError, Subscription};
use toolport_protocol::jsonrpc::{InvalidMessage, Payload};
use toolport_protocol::{ErrorCode, Message, ProtocolVersion, Request, meta};

use crate::access::Caller;
use crate::error::HttpError;
use crate::http_sessions::HttpSession;
use crate::router::AppState;

// Names made once: a header looked up by a `&str` name is parsed again on every request.
pub const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");
const VERSION_HEADER: HeaderName = HeaderName::from_static("mcp-protocol-version");

type Handled = Pin<Box<dyn Future<Output = Option<toolport_protocol::Response>> + Send>>;

/// Resolves `/mcp/{name}`: a configured server (names unchanged), a configured endpoint, or a
/// tenant's virtual endpoint (whose owner `access` has checked).
pub fn named_scope(gateway: &Gateway, name: &str) -> Result<Scope, HttpError> {
    let config = gateway.config();
    if config.servers.contains_key(name) {
        Ok(Scope::Server(name.to_string()))
    } else if config.endpoints.contains_key(name) {
        Ok(Scope::Endpoint(name.to_string()))
    } else if let Some(endpoint) = gateway.virtual_endpoint(name) {
        Ok(Scope::Virtual {
            slug: endpoint.slug.clone(),
            endpoint_id: endpoint.id.clone(),
        })
    } else {
        Err(no_such_endpoint(name))
    }
}

/// The one answer for `/mcp/{name}` when nothing by that name exists for the caller: a name
/// that is nothing, and another tenant's virtual endpoint, answer alike.
pub fn no_such_endpoint(name: &str) -> HttpError {
    HttpError::not_found(format!(
        "no server or endpoint named {name:?}; see /readyz for the configured servers"
    ))
}

/// The one answer for a session id that names no session of the caller's: one that expired or
/// was deleted, one that never existed, and another caller's (which `access` refuses) alike.
pub fn unknown_session(id: &str) -> HttpError {
    HttpError::not_found(format!(
        "session {id:?} does not exist (it expired or was deleted); send initialize again"
    ))
}

/// `/mcp?tags=a,b` selects servers by tag.
pub fn query_scope(query: &HashMap<String, String>) -> Scope {
    match query.get("tags") {
        Some(tags) => Scope::Tags(
            tags.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        None => Scope::All,
    }
}

pub async fn get_all(State(state): State<AppState>, headers: HeaderMap) -> Response {
    stream(state, headers).unwrap_or_else(IntoResponse::into_response)
}

pub async fn get_named(State(state): State<AppState>, headers: HeaderMap) -> Response {
    stream(state, headers).unwrap_or_else(IntoResponse::into_response)
}

pub async fn delete_any(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(id) = header(&headers, SESSION_HEADER) else {
        return HttpError::bad_request("DELETE needs the Mcp-Session-Id header").into_response();
    };
    if state.sessions.remove(&state.gateway, id) {
        StatusCode::OK.into_response()
    } else {
        unknown_session(id).into_response()
    }
}

fn header(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn accepts_sse(headers: &HeaderMap) -> bool {
    header(headers, "accept").is_some_and(|a| a.contains("text/event-stream") || a.contains("*/*"))
}

pub fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, HttpError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body_too_large()
        } else {
            unreadable_body(rejection.status(), &rejection)
        }
    })
}

/// A body that could not be read, with `status` (400 unless the reader says otherwise).
pub fn unreadable_body(status: StatusCode, error: impl std::fmt::Display) -> HttpError {
    HttpError::new(
        status,
        ErrorCode::INVALID_REQUEST,
        format!("unreadable request body: {error}"),
    )
}

/// 413, for a body beyond `toolport.maxBodyBytes`.
pub fn body_too_large() -> HttpError {
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::INVALID_REQUEST,
        "request body too large; raise toolport.maxBodyBytes in the configuration if this is expected",
    )
}

/// A POST to `/mcp` or `/mcp/{name}` (routed by [`crate::front`]): a session's messages, a new
/// session's `initialize`, or a stateless 2026-07-28 request.
pub async fn post(
    state: AppState,
    scope: Scope,
    caller: Caller,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, HttpError> {
    let payload = Payload::parse(&body);
    let sse = accepts_sse(headers);
    if let Some(id) = header(headers, SESSION_HEADER) {
        let session = state.sessions.get(id).ok_or_else(|| unknown_session(id))?;
        if let Some(v) = header(headers, VERSION_HEADER)
            && ProtocolVersion::parse(v).is_none()
        {
            return Err(HttpError::bad_request(format!(
                "unsupported MCP-Protocol-Version {v:?}; supported: {}",
                ProtocolVersion::supported_strings().join(", ")
            )));
        }
        return Ok(serve_session(&state, &session, payload, sse).await);
    }
    let request = match payload {
        Payload::Single(Ok(Message::Request(r))) => r,
        Payload::Single(Err(invalid)) => return Err(invalid_message(invalid)),
        _ => {
            return Err(HttpError::bad_request(
                "missing Mcp-Session-Id header: send initialize first, or use protocol revision 2026-07-28",
            ));
        }
    };
    let header_version = header(headers, VERSION_HEADER);
    let declared = meta::declared_version(request.params.as_ref());
    let stateless = declared.is_some()
        || header_version
            .is_some_and(|v| ProtocolVersion::parse(v).is_none_or(ProtocolVersion::is_stateless));
    if !stateless {
        if request.method != "initialize" {
            return Err(HttpError::bad_request(
                "missing Mcp-Session-Id header: send initialize first, or use protocol revision 2026-07-28",
            ));
        }
        let session = state.sessions.create(&state.gateway, scope, caller);
        let id = session.session.id.clone();
        let mut response = serve_session(
            &state,
            &session,
            Payload::Single(Ok(Message::Request(request))),
            sse,
        )
        .await;
        response.headers_mut().insert(
            SESSION_HEADER,
            HeaderValue::from_str(&id).expect("session ids are hex"),
        );
        return Ok(response);
    }
    check_stateless_headers(
        &state.gateway,
        &scope,
        caller.0.as_deref(),
        headers,
        &request,
    )?;
    if request.method == "subscriptions/listen" {
        let id = request.id.clone();
        return match Box::pin(state.gateway.listen(scope, caller.0, request)).await {
            Ok(subscription) => Ok(subscription_stream(subscription, &state.shutdown)),
            Err(error) => Err(HttpError {
                status: stateless_status(error.code),
                id,
                error: Box::new(error),
            }),
        };
    }
    let gateway = state.gateway.clone();
    let handled: Box<dyn FnOnce(Sink) -> Handled + Send> = Box::new(move |sink: Sink| {
        Box::pin(async move {
            Some(
                gateway
                    .handle_stateless(scope, caller.0, request, &sink)
                    .await,
            )
        })
    });
    Ok(respond(handled, sse, true).await)
}

/// 2026-07-28 routing headers must agree with the body (HTTP 400, -32020 otherwise).
fn check_stateless_headers(
    gateway: &Gateway,
    scope: &Scope,
    caller: Option<&toolport_gateway::Caller>,
    headers: &HeaderMap,
    request: &Request,
) -> Result<(), HttpError> {
    let mismatch = |message: String| {
        let mut e = HttpError::new(StatusCode::BAD_REQUEST, ErrorCode::HEADER_MISMATCH, message);
        e.id = request.id.clone();
        e
    };
    let Some(version) = header(headers, VERSION_HEADER) else {
        return Err(mismatch(
            "the MCP-Protocol-Version header is required".into(),
        ));
    };
    match header(headers, "mcp-method") {
        Some(m) if m == request.method => {}
        Some(m) => {
            return Err(mismatch(format!(
                "the Mcp-Method header {m:?} does not match the body's method {:?}",
                request.method
            )));
        }
        None => return Err(mismatch("the Mcp-Method header is required".into())),
    }
    let name_key = match request.method.as_str() {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    };
    if let Some(key) = name_key
        && let Some(expected) = request
            .params
            .as_ref()
            .and_then(|p| p.get(key))
            .and_then(|v| v.as_str())
    {
        match header(headers, "mcp-name").map(str::trim) {
            Some(n) if n == expected => {}
            Some(n) => {
                return Err(mismatch(format!(
                    "the Mcp-Name header {n:?} does not match params.{key} {expected:?}"
                )));
            }
            None => {
                return Err(mismatch(
                    "the Mcp-Name header is required for this method".into(),
                ));
            }
        }
    }
    if request.method == "tools/call"
        && let Some(name) = request
            .params
            .as_ref()
            .and_then(|p| p.get("name"))
            .and_then(|v| v.as_str())
    {
        let arguments = request.params.as_ref().and_then(|p| p.get("arguments"));
        for (suffix, property) in gateway.header_params(scope, caller, name) {
            let expected = arguments.and_then(|a| a.get(&property)).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let header_name = format!("mcp-param-{}", suffix.to_ascii_lowercase());
            match (header(headers, &header_name).map(str::trim), expected) {
                (None, None) => {}
                (None, Some(_)) => {
                    return Err(mismatch(format!(
                        "the Mcp-Param-{suffix} header is required: it mirrors argument {property:?}"
                    )));
                }
                (Some(raw), expected) => {
                    let decoded = decode_param(raw).ok_or_else(|| {
                        mismatch(format!(
                            "the Mcp-Param-{suffix} header is not valid =?base64?…?= encoding"
                        ))
                    })?;
                    if Some(&decoded) != expected.as_ref() {
                        return Err(mismatch(format!(
                            "the Mcp-Param-{suffix} header does not match argument {property:?}"
                        )));
                    }
                }
            }
        }
    }
    if let Some(declared) = meta::declared_version(request.params.as_ref())
        && declared != version
    {
        return Err(mismatch(format!(
            "the MCP-Protocol-Version header {version:?} does not match _meta protocolVersion {declared:?}"
        )));
    }
    Ok(())
}

/// An `Mcp-Param-*` value: `=?base64?…?=` carries base64 (strict, padded), anything else is literal.
fn decode_param(value: &str) -> Option<String> {
    use base64::Engine;
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        None => Some(value.to_string()),
    }
}

pub fn invalid_message(invalid: InvalidMessage) -> HttpError {
    HttpError {
        status: StatusCode::BAD_REQUEST,
        id: invalid.id,
        error: invalid.error,
    }
}

async fn serve_session(
    state: &AppState,
    session: &Arc<HttpSession>,
    payload: Payload,
    sse: bool,
) -> Response {
    let gateway = state.gateway.clone();
    match payload {
        Payload::Single(Err(invalid)) => invalid_message(invalid).into_response(),
        Payload::Single(Ok(message @ Message::Request(_))) => {
            let s = session.session.clone();
            let handled: Box<dyn FnOnce(Sink) -> Handled + Send> = Box::new(move |sink: Sink| {
                Box::pin(async move { gateway.handle(&s, message, &sink).await })
            });
            respond(handled, sse, false).await
        }
        // The gateway's futures are large: boxed, they keep every request's handler future small
        // (axum moves it into place for each request, whatever its method).
        Payload::Single(Ok(message)) => {
            let sink = session.session.outbound().clone();
            Box::pin(gateway.handle(&session.session, message, &sink)).await;
            StatusCode::ACCEPTED.into_response()
        }
        Payload::Batch(items) => {
            let sink = session.session.outbound().clone();
            let answers = futures::future::join_all(items.into_iter().map(|item| {
                let gateway = gateway.clone();
                let sink = sink.clone();
                let s = session.session.clone();
                Box::pin(async move {
                    match item {
                        Ok(message) => gateway.handle(&s, message, &sink).await,
                        Err(invalid) => Some(invalid.into_response()),
                    }
                })
            }))
            .await;
            let answers: Vec<_> = answers.into_iter().flatten().collect();
            if answers.is_empty() {
                StatusCode::ACCEPTED.into_response()
            } else {
                json_response(StatusCode::OK, &answers)
            }
        }
    }
}

fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(body).expect("responses always serialise"),
    )
        .into_response()
}

/// Runs one request: JSON when nothing else was sent for it, an SSE stream as soon as a related
/// message (progress, log, relayed request) must go out before the response.
async fn respond(
    handled: Box<dyn FnOnce(Sink) -> Handled + Send>,
    sse: bool,
    stateless: bool,
) -> Response {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut fut = handled(tx);
    let status_of = move |r: &toolport_protocol::Response| match (&r.outcome, stateless) {
        (Err(e), true) => stateless_status(e.code),
        _ => StatusCode::OK,
    };
    let first = tokio::select! {
        biased;
        done = &mut fut => {
            let mut early = Vec::new();
            while let Ok(m) = rx.try_recv() { early.push(m); }
            let Some(response) = done else { return StatusCode::ACCEPTED.into_response() };
            if early.is_empty() || !sse {
                return json_response(status_of(&response), &response);
            }
            early.push(Message::Response(response));
            return sse_response(futures::stream::iter(early).boxed());
        }
        first = rx.recv(), if sse => first,
    };
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Message>();
    if let Some(first) = first {
        let _ = out_tx.send(first);
    }
    tokio::spawn(async move {
        loop {
            tokio::select! {
                // The client went away: dropping the request cancels it upstream.
                () = out_tx.closed() => return,
                m = rx.recv() => if let Some(m) = m { let _ = out_tx.send(m); },
                done = &mut fut => {
                    while let Ok(m) = rx.try_recv() { let _ = out_tx.send(m); }
                    if let Some(r) = done { let _ = out_tx.send(Message::Response(r)); }
                    return;
                }
            }
        }
    });
    let stream =
        futures::stream::unfold(
            out_rx,
            |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
        );
    sse_response(stream.boxed())
}

/// The HTTP status of a stateless exchange that ended in a JSON-RPC error with `code`.
fn stateless_status(code: ErrorCode) -> StatusCode {
    match StatelessError::of(code) {
        Some(StatelessError::BadRequest) => StatusCode::BAD_REQUEST,
        Some(StatelessError::NotFound) => StatusCode::NOT_FOUND,
        None => StatusCode::OK,
    }
}

/// A `subscriptions/listen` stream: the acknowledgement, then each notification asked for, until
/// the server stops.
fn subscription_stream(subscription: Subscription, shutdown: &CancellationToken) -> Response {
    let first = subscription.acknowledgement();
    let rest = futures::stream::unfold(subscription, |mut s| async move {
        s.next().await.map(|m| (m, s))
    });
    let events = futures::stream::once(async move { first })
        .chain(rest)
        .take_until(shutdown.clone().cancelled_owned())
        .map(|m| {
            Ok::<_, std::convert::Infallible>(Event::default().event("message").data(m.to_json()))
        });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn sse_response(messages: futures::stream::BoxStream<'static, Message>) -> Response {
    let events = messages.map(|m| {
        Ok::<_, std::convert::Infallible>(Event::default().event("message").data(m.to_json()))
    });
    Sse::new(events).into_response()
}

/// GET: the session's standalone stream (notifications, list changes, relayed requests).
fn stream(state: AppState, headers: HeaderMap) -> Result<Response, HttpError> {
    let Some(id) = header(&headers, SESSION_HEADER) else {
        return Err(HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::INVALID_REQUEST,
            "GET needs the Mcp-Session-Id header of an initialized session",
        ));
    };
    let session = state.sessions.get(id).ok_or_else(|| unknown_session(id))?;
    let stream = session.take_stream().ok_or_else(|| {
        HttpError::new(
            StatusCode::CONFLICT,
            ErrorCode::INVALID_REQUEST,
            "this session already has an open GET stream",
        )
    })?;
    let events = stream
        .take_until(state.shutdown.clone().cancelled_owned())
        .map(|m| {
            Ok::<_, std::convert::Infallible>(Event::default().event("message").data(m.to_json()))
        });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
