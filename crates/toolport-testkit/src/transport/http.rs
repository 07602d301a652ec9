//! Streamable HTTP at `/mcp`: sessions opened by `initialize` (`Mcp-Session-Id`), single
//! requests answered with JSON unless something must be sent before the response (then SSE,
//! resumable with `Last-Event-ID`), the standalone GET stream, DELETE, and 2026-07-28
//! stateless requests validated against their `MCP-Protocol-Version`, `Mcp-Method` and
//! `Mcp-Name` headers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use tokio::sync::mpsc;
use toolport_protocol::jsonrpc::{Payload, Request};
use toolport_protocol::{ErrorCode, Message, ProtocolVersion, RequestId, RpcError};

use super::body::{self, BodySink, empty, json, json_error, message_event, priming_event};
use super::guard;
use super::http_headers::{
    PROTOCOL_VERSION, check_headers, check_param_headers, header, stateless_status,
};
use super::http_stream::StreamStore;
use crate::error::FixtureError;
use crate::fixture::session::Session;
use crate::fixture::{Fixture, Outgoing, lock, stateless};

const SESSION_ID: &str = "mcp-session-id";
const LAST_EVENT_ID: &str = "last-event-id";

struct HttpSession {
    session: Arc<Session>,
    streams: StreamStore,
}

impl HttpSession {
    /// Resumable streams start with a priming event for clients of 2025-11-25 and later.
    fn primes(&self) -> bool {
        self.session.version() >= ProtocolVersion::V2025_11_25
    }
}

struct App {
    fixture: Arc<Fixture>,
    sessions: Mutex<HashMap<String, Arc<HttpSession>>>,
}

/// The `/mcp` router; tests can drive it without sockets.
pub(crate) fn router(fixture: Arc<Fixture>) -> Router {
    let app = Arc::new(App {
        fixture,
        sessions: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/mcp", post(post_mcp).get(get_mcp).delete(delete_mcp))
        .with_state(app)
}

pub(crate) async fn serve(fixture: Arc<Fixture>, addr: SocketAddr) -> Result<(), FixtureError> {
    let listener = super::bind_and_announce(addr, "/mcp").await?;
    axum::serve(listener, router(fixture))
        .await
        .map_err(FixtureError::Serve)
}

fn accepts_sse(headers: &HeaderMap) -> bool {
    header(headers, header::ACCEPT.as_str())
        .is_none_or(|a| a.contains("text/event-stream") || a.contains("*/*"))
}

fn session_not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        RequestId::Null,
        RpcError::new(ErrorCode::REQUEST_TIMEOUT, "Session not found"),
    )
}

/// A request that speaks 2026-07-28: its header or its `_meta` says so.
fn marked_stateless(headers: &HeaderMap, req: &Request) -> bool {
    header(headers, PROTOCOL_VERSION)
        .is_some_and(|v| ProtocolVersion::parse(v).is_none_or(ProtocolVersion::is_stateless))
        || stateless::declares_version(req)
}

async fn post_mcp(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = guard::refusal(&headers) {
        return refused;
    }
    let sse_ok = accepts_sse(&headers);
    let payload = Payload::parse(&body);
    if let Some(id) = header(&headers, SESSION_ID) {
        let Some(hs) = app.session(id) else {
            return session_not_found();
        };
        if let Some(v) = header(&headers, PROTOCOL_VERSION)
            && ProtocolVersion::parse(v).is_none()
        {
            return json_error(
                StatusCode::BAD_REQUEST,
                RequestId::Null,
                RpcError::new(
                    ErrorCode::INVALID_REQUEST,
                    format!("Bad Request: unsupported MCP-Protocol-Version {v:?}"),
                ),
            );
        }
        return app.stateful(&hs, payload, sse_ok).await;
    }
    let payload = match payload {
        Payload::Single(Ok(Message::Request(req)))
            if req.method == "initialize" && !marked_stateless(&headers, &req) =>
        {
            return app.initialize(req).await;
        }
        other => other,
    };
    if app.fixture.speaks_stateless() {
        app.stateless(&headers, payload, sse_ok).await
    } else {
        json_error(
            StatusCode::BAD_REQUEST,
            RequestId::Null,
            RpcError::new(
                ErrorCode::BACKEND_UNAVAILABLE,
                "Bad Request: No valid session ID provided",
            ),
        )
    }
}

async fn get_mcp(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(refused) = guard::refusal(&headers) {
        return refused;
    }
    let Some(id) = header(&headers, SESSION_ID) else {
        return empty(StatusCode::METHOD_NOT_ALLOWED);
    };
    let Some(hs) = app.session(id) else {
        return session_not_found();
    };
    let (btx, brx) = mpsc::unbounded_channel();
    if let Some(last) = header(&headers, LAST_EVENT_ID)
        && hs.streams.resume(last, btx.clone())
    {
        return body::sse(brx);
    }
    if hs.primes() {
        let _ = btx.send(priming_event("0-0"));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    hs.session.set_standalone(Some(tx));
    tokio::spawn(forward_standalone(rx, btx));
    body::sse(brx)
}

async fn delete_mcp(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(refused) = guard::refusal(&headers) {
        return refused;
    }
    let Some(id) = header(&headers, SESSION_ID) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            RequestId::Null,
            RpcError::new(
                ErrorCode::INVALID_REQUEST,
                "Mcp-Session-Id header is required",
            ),
        );
    };
    match lock(&app.sessions).remove(id) {
        Some(hs) => {
            hs.session.close();
            empty(StatusCode::OK)
        }
        None => session_not_found(),
    }
}

/// Copies standalone notifications to the GET stream until either side goes away.
async fn forward_standalone(mut rx: mpsc::UnboundedReceiver<Outgoing>, btx: BodySink) {
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(Outgoing::Message(t) | Outgoing::Final(t, _)) => {
                    if btx.send(message_event(None, &t)).is_err() {
                        return;
                    }
                }
                Some(Outgoing::CloseStream) => {}
                None => return,
            },
            () = btx.closed() => return,
        }
    }
}

impl App {
    fn session(&self, id: &str) -> Option<Arc<HttpSession>> {
        lock(&self.sessions).get(id).cloned()
    }

    async fn initialize(&self, req: Request) -> Response {
        let hs = Arc::new(HttpSession {
            session: self.fixture.new_session(),
            streams: StreamStore::default(),
        });
        let id = hs.session.id.clone();
        lock(&self.sessions).insert(id.clone(), hs.clone());
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.fixture.spawn_request(&hs.session, req, tx);
        loop {
            match rx.recv().await {
                Some(Outgoing::Final(text, _)) => {
                    let mut response = json(StatusCode::OK, text);
                    if let Ok(value) = HeaderValue::from_str(&id) {
                        response.headers_mut().insert(SESSION_ID, value);
                    }
                    return response;
                }
                Some(_) => {}
                None => return empty(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
    }

    async fn stateful(&self, hs: &Arc<HttpSession>, payload: Payload, sse_ok: bool) -> Response {
        let session = &hs.session;
        match payload {
            Payload::Single(Err(invalid)) => {
                json_error(StatusCode::BAD_REQUEST, invalid.id, *invalid.error)
            }
            Payload::Single(Ok(Message::Request(req))) => {
                let (tx, rx) = mpsc::unbounded_channel();
                self.fixture.spawn_request(session, req, tx);
                answer(Some(hs), rx, sse_ok, false).await
            }
            Payload::Single(Ok(Message::Notification(n))) => {
                session.on_notification(&n);
                empty(StatusCode::ACCEPTED)
            }
            Payload::Single(Ok(Message::Response(r))) => {
                session.resolve(r);
                empty(StatusCode::ACCEPTED)
            }
            Payload::Batch(items) => self.batch(session, items).await,
        }
    }

    /// A 2025-03-26 batch: requests run concurrently, the answers come back as one JSON array;
    /// anything sent on the way goes to the standalone stream.
    async fn batch(
        &self,
        session: &Arc<Session>,
        items: Vec<Result<Message, toolport_protocol::jsonrpc::InvalidMessage>>,
    ) -> Response {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut expected = 0usize;
        for item in items {
            match item {
                Ok(Message::Request(req)) => {
                    expected += 1;
                    self.fixture.spawn_request(session, req, tx.clone());
                }
                Ok(Message::Notification(n)) => session.on_notification(&n),
                Ok(Message::Response(r)) => session.resolve(r),
                Err(invalid) => {
                    expected += 1;
                    let _ = tx.send(Outgoing::error(invalid.id, *invalid.error));
                }
            }
        }
        drop(tx);
        if expected == 0 {
            return empty(StatusCode::ACCEPTED);
        }
        let mut answers = Vec::with_capacity(expected);
        while answers.len() < expected {
            match rx.recv().await {
                Some(Outgoing::Final(text, _)) => answers.push(text),
                Some(Outgoing::Message(text)) => {
                    session.send_standalone(&text);
                }
                Some(Outgoing::CloseStream) => {}
                None => break,
            }
        }
        json(StatusCode::OK, format!("[{}]", answers.join(",")))
    }

    async fn stateless(&self, headers: &HeaderMap, payload: Payload, sse_ok: bool) -> Response {
        let req = match payload {
            Payload::Batch(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    RequestId::Null,
                    RpcError::new(
                        ErrorCode::INVALID_REQUEST,
                        "JSON-RPC batches are not allowed without a session",
                    ),
                );
            }
            Payload::Single(Err(invalid)) => {
                return json_error(StatusCode::BAD_REQUEST, invalid.id, *invalid.error);
            }
            Payload::Single(Ok(Message::Request(req))) => req,
            Payload::Single(Ok(_)) => return empty(StatusCode::ACCEPTED),
        };
        if let Err(error) = check_headers(headers, &req)
            .and_then(|()| check_param_headers(&self.fixture, headers, &req))
        {
            return json_error(StatusCode::BAD_REQUEST, req.id, error);
        }
        let version = header(headers, PROTOCOL_VERSION);
        let info = match stateless::check_meta(&req, version, self.fixture.config.max_protocol) {
            Ok(info) => info,
            Err(error) => return json_error(StatusCode::BAD_REQUEST, req.id, error),
        };
        if stateless::REMOVED_METHODS.contains(&req.method.as_str()) {
            let error = RpcError::method_not_found(&req.method);
            return json_error(StatusCode::NOT_FOUND, req.id, error);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        self.fixture.spawn_stateless(info, req, tx);
        answer(None, rx, sse_ok, true).await
    }
}

/// Answers one request: JSON when the response is the first thing the handler produces,
/// otherwise an SSE stream (resumable within a session) that ends with the response.
async fn answer(
    hs: Option<&Arc<HttpSession>>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    sse_ok: bool,
    stateless: bool,
) -> Response {
    let status = |code| {
        if stateless {
            stateless_status(code)
        } else {
            StatusCode::OK
        }
    };
    let first = match rx.recv().await {
        Some(Outgoing::Final(text, code)) => return json(status(code), text),
        Some(first) => first,
        None => return empty(StatusCode::ACCEPTED),
    };
    if !sse_ok {
        let mut next = Some(first);
        loop {
            let item = match next.take() {
                Some(item) => Some(item),
                None => rx.recv().await,
            };
            match item {
                Some(Outgoing::Final(text, code)) => return json(status(code), text),
                Some(Outgoing::Message(text)) => {
                    if let Some(hs) = hs {
                        hs.session.send_standalone(&text);
                    }
                }
                Some(Outgoing::CloseStream) => {}
                None => return empty(StatusCode::ACCEPTED),
            }
        }
    }
    let (btx, brx) = mpsc::unbounded_channel();
    match hs {
        Some(hs) => {
            let id = hs.streams.open(btx, hs.primes());
            tokio::spawn(pump_resumable(hs.clone(), id, first, rx));
        }
        None => {
            tokio::spawn(pump_plain(btx, first, rx));
        }
    }
    body::sse(brx)
}

/// Feeds a session's resumable stream until the response has been recorded.
async fn pump_resumable(
    hs: Arc<HttpSession>,
    id: u64,
    first: Outgoing,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut next = Some(first);
    loop {
        let item = match next.take() {
            Some(item) => item,
            None => match rx.recv().await {
                Some(item) => item,
                None => {
                    hs.streams.abandon(id);
                    return;
                }
            },
        };
        match item {
            Outgoing::Message(text) => hs.streams.push(id, &text, false),
            Outgoing::Final(text, _) => {
                hs.streams.push(id, &text, true);
                return;
            }
            Outgoing::CloseStream => hs.streams.detach(id),
        }
    }
}

/// Feeds a stateless SSE answer; stops (dropping the request's sink, which ends e.g. a
/// `subscriptions/listen`) as soon as the client goes away.
async fn pump_plain(btx: BodySink, first: Outgoing, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let mut next = Some(first);
    loop {
        let item = match next.take() {
            Some(item) => item,
            None => tokio::select! {
                item = rx.recv() => match item {
                    Some(item) => item,
                    None => return,
                },
                () = btx.closed() => return,
            },
        };
        match item {
            Outgoing::Message(text) => {
                if btx.send(message_event(None, &text)).is_err() {
                    return;
                }
            }
            Outgoing::Final(text, _) => {
                let _ = btx.send(message_event(None, &text));
                return;
            }
            Outgoing::CloseStream => return,
        }
    }
}
