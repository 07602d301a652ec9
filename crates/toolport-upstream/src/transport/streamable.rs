//! A backend reached over Streamable HTTP (2025-03-26 and later): each message is a POST whose
//! answer is JSON or an SSE stream; a GET stream carries messages the server starts itself.
//!
//! The session id and negotiated revision learnt from `initialize` are sent on every later request.
//! A POST stream that ends before its response is resumed with `Last-Event-ID` (SSE polling).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_protocol::jsonrpc::Payload;
use toolport_protocol::{ErrorCode, Message, RequestId, Response, RpcError};

use super::header_map;
use super::http_client::{HttpError, McpHttpClient, RequestBody, excerpt, host_header};
use crate::error::UpstreamError;
use crate::peer::{Inbound, NotificationHook, Peer, PeerShared};

// Names made once: a header inserted by a `&str` name is parsed again on every request.
const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");
const VERSION_HEADER: HeaderName = HeaderName::from_static("mcp-protocol-version");
const ACCEPT_BOTH: &str = "application/json, text/event-stream";
const ACCEPT_STREAM: &str = "text/event-stream";
const LAST_EVENT_HEADER: HeaderName = HeaderName::from_static("last-event-id");

struct Conn {
    name: Arc<str>,
    /// Parsed once: every call reuses it.
    url: Uri,
    /// The `Host` of `url`, made once.
    host: Option<HeaderValue>,
    client: McpHttpClient,
    headers: HeaderMap,
    session: Mutex<Option<HeaderValue>>,
    version: Mutex<Option<HeaderValue>>,
    shared: Arc<PeerShared>,
    shutdown: CancellationToken,
}

pub(super) fn connect(
    name: &str,
    url: &str,
    headers: &BTreeMap<String, String>,
    client: McpHttpClient,
    hook: Option<NotificationHook>,
    shutdown: CancellationToken,
) -> Result<(Arc<Peer>, mpsc::UnboundedReceiver<Inbound>), UpstreamError> {
    let url: Uri = url
        .parse()
        .map_err(|e| UpstreamError::Connect(format!("invalid URL {url:?}: {e}")))?;
    let headers = header_map(headers)?;
    let (peer, out_rx, shared, ev_rx) = Peer::new(hook);
    let conn = Arc::new(Conn {
        name: name.into(),
        host: host_header(&url),
        url,
        client,
        headers,
        session: Mutex::new(None),
        version: Mutex::new(None),
        shared,
        shutdown,
    });
    tokio::spawn(run(conn, out_rx));
    Ok((Arc::new(peer), ev_rx))
}

async fn run(conn: Arc<Conn>, mut outbound: mpsc::UnboundedReceiver<Message>) {
    let closed = conn.shared_closed_token();
    let reason = loop {
        tokio::select! {
            () = conn.shutdown.cancelled() => break "gateway shutting down".to_string(),
            () = closed.cancelled() => return,
            msg = outbound.recv() => {
                let Some(msg) = msg else { break "peer dropped".to_string() };
                if matches!(&msg, Message::Notification(n) if n.method == "notifications/initialized") {
                    // Delivered before anything queued after it: servers may refuse requests
                    // (and the GET stream) until the session is initialised.
                    let _ = tokio::time::timeout(Duration::from_secs(10), post(conn.clone(), msg)).await;
                    // The GET stream is open (or refused) before later requests go out, so the
                    // server never has to choose between it and a POST stream for their messages.
                    let (opened, ready) = tokio::sync::oneshot::channel();
                    tokio::spawn(listen(conn.clone(), opened));
                    let _ = tokio::time::timeout(Duration::from_secs(5), ready).await;
                    // From here on order needs no queue: callers POST straight from their task.
                    let direct = conn.clone();
                    conn.shared.set_direct(Arc::new(move |msg| Box::pin(post(direct.clone(), msg))));
                    continue;
                }
                tokio::spawn(post(conn.clone(), msg));
            }
        }
    };
    end_session(&conn).await;
    conn.shared.close(reason);
}

impl Conn {
    fn shared_closed_token(&self) -> CancellationToken {
        self.shared.closed_token()
    }

    /// Sends a request to the server's URL with the configured headers and the session's id and
    /// revision; a POST carries `body` as JSON, a GET resuming a stream names its last event.
    async fn send(
        &self,
        method: Method,
        body: Bytes,
        last_event_id: Option<&HeaderValue>,
    ) -> Result<http::Response<Incoming>, HttpError> {
        let accept = HeaderValue::from_static(if method == Method::POST {
            ACCEPT_BOTH
        } else {
            ACCEPT_STREAM
        });
        let session = self.session.lock().expect("session lock").clone();
        let version = self.version.lock().expect("version lock").clone();
        let build = |uri: Uri| -> Request<RequestBody> {
            let with_body = !body.is_empty();
            let mut request = Request::new(Full::new(body.clone()));
            *request.method_mut() = method.clone();
            *request.uri_mut() = uri;
            let headers = request.headers_mut();
            headers.clone_from(&self.headers);
            // A `Host` the configuration sets stays.
            if let Some(host) = &self.host {
                headers.entry(HOST).or_insert_with(|| host.clone());
            }
            if method != Method::DELETE {
                headers.insert(ACCEPT, accept.clone());
            }
            if with_body {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            if let Some(s) = &session {
                headers.insert(SESSION_HEADER, s.clone());
            }
            if let Some(v) = &version {
                headers.insert(VERSION_HEADER, v.clone());
            }
            if let Some(id) = last_event_id {
                headers.insert(LAST_EVENT_HEADER, id.clone());
            }
            request
        };
        self.client.send(&self.url, build).await
    }

    fn fail(&self, id: Option<&RequestId>, message: String) {
        if let Some(id) = id {
            self.shared.deliver(
                Message::Response(Response::error(
                    id.clone(),
                    RpcError::new(ErrorCode::BACKEND_UNAVAILABLE, message),
                )),
                None,
            );
        }
    }
}

async fn post(conn: Arc<Conn>, msg: Message) {
    let (request_id, method) = match &msg {
        Message::Request(r) => (Some(r.id.clone()), Some(r.method.clone())),
        _ => (None, None),
    };
    let related = match &request_id {
        Some(RequestId::Number(n)) => Some(*n),
        _ => None,
    };
    let body = Bytes::from(msg.to_json());
    let resp = conn.send(Method::POST, body, None).await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            let text = format!("POST {} failed: {e}", conn.url);
            conn.fail(request_id.as_ref(), text.clone());
            conn.shared.close(text);
            return;
        }
    };
    let status = resp.status();
    if method.as_deref() == Some("initialize")
        && let Some(s) = resp.headers().get(SESSION_HEADER)
    {
        *conn.session.lock().expect("session lock") = Some(s.clone());
    }
    if status == StatusCode::NOT_FOUND && conn.session.lock().expect("session lock").is_some() {
        conn.fail(request_id.as_ref(), "the backend's session expired".into());
        conn.shared
            .close("the backend answered 404: session expired");
        return;
    }
    if !status.is_success() {
        let excerpt = excerpt(resp).await;
        conn.fail(
            request_id.as_ref(),
            format!("backend answered HTTP {status}: {excerpt}"),
        );
        return;
    }
    if request_id.is_none() {
        return;
    }
    let is_sse = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let is_init = method.as_deref() == Some("initialize");
    if is_sse {
        let outcome = read_stream(&conn, resp, related, request_id.as_ref(), is_init).await;
        if let StreamEnd::Interrupted {
            last_event_id,
            retry,
        } = outcome
        {
            resume(
                &conn,
                last_event_id,
                retry,
                related,
                request_id.as_ref(),
                is_init,
            )
            .await;
        }
    } else {
        match resp.into_body().collect().await.map(|c| c.to_bytes()) {
            Ok(bytes) => {
                if !deliver_payload(&conn, &bytes, related, request_id.as_ref(), is_init) {
                    conn.fail(
                        request_id.as_ref(),
                        "the backend's answer did not contain a response".into(),
                    );
                }
            }
            Err(e) => conn.fail(
                request_id.as_ref(),
                format!("reading the answer failed: {e}"),
            ),
        }
    }
}

enum StreamEnd {
    Answered,
    Interrupted {
        last_event_id: Option<HeaderValue>,
        retry: Option<Duration>,
    },
}

/// Reads an SSE response, delivering each message; reports whether the awaited response came.
async fn read_stream(
    conn: &Conn,
    resp: http::Response<Incoming>,
    related: Option<i64>,
    awaited: Option<&RequestId>,
    is_init: bool,
) -> StreamEnd {
    let mut events = resp.into_body().into_data_stream().eventsource();
    let mut last_event_id = None;
    let mut retry = None;
    while let Some(event) = events.next().await {
        let Ok(event) = event else { break };
        if let Some(id) = event_id(&event) {
            last_event_id = Some(id);
        }
        if let Some(r) = event.retry {
            retry = Some(r);
        }
        if event.data.is_empty() {
            continue;
        }
        if deliver_payload(conn, event.data.as_bytes(), related, awaited, is_init) {
            return StreamEnd::Answered;
        }
    }
    StreamEnd::Interrupted {
        last_event_id,
        retry,
    }
}

/// Resumes an interrupted POST stream through GET with `Last-Event-ID`, a bounded number of times.
async fn resume(
    conn: &Conn,
    mut last_event_id: Option<HeaderValue>,
    mut retry: Option<Duration>,
    related: Option<i64>,
    awaited: Option<&RequestId>,
    is_init: bool,
) {
    for _ in 0..10 {
        let Some(id) = last_event_id.clone() else {
            break;
        };
        tokio::select! {
            () = conn.shutdown.cancelled() => return,
            () = tokio::time::sleep(retry.unwrap_or(Duration::from_millis(500))) => {}
        }
        let resp = conn.send(Method::GET, Bytes::new(), Some(&id)).await;
        match resp {
            Ok(r) if r.status().is_success() => {
                match read_stream(conn, r, related, awaited, is_init).await {
                    StreamEnd::Answered => return,
                    StreamEnd::Interrupted {
                        last_event_id: l,
                        retry: r,
                    } => {
                        last_event_id = l.or(last_event_id);
                        retry = r.or(retry);
                    }
                }
            }
            _ => break,
        }
    }
    conn.fail(
        awaited,
        "the backend's response stream ended without an answer".into(),
    );
}

/// Delivers every message of a JSON payload. Returns true when the awaited response was among them.
fn deliver_payload(
    conn: &Conn,
    bytes: &[u8],
    related: Option<i64>,
    awaited: Option<&RequestId>,
    is_init: bool,
) -> bool {
    let items = match Payload::parse(bytes) {
        Payload::Single(item) => vec![item],
        Payload::Batch(items) => items,
    };
    let mut answered = false;
    for item in items {
        match item {
            Ok(msg) => {
                if let Message::Response(r) = &msg
                    && Some(&r.id) == awaited
                {
                    answered = true;
                    if is_init
                        && let Ok(result) = &r.outcome
                        && let Some(v) = result.get("protocolVersion").and_then(|v| v.as_str())
                        && let Ok(h) = HeaderValue::from_str(v)
                    {
                        *conn.version.lock().expect("version lock") = Some(h);
                    }
                }
                conn.shared.deliver(msg, related);
            }
            Err(err) => tracing::warn!(
                target: "toolport::backend",
                server = %conn.name,
                "ignoring a malformed message: {}",
                err.error.message
            ),
        }
    }
    answered
}

/// The GET stream for messages the server sends on its own; reopened while the connection lives.
async fn listen(conn: Arc<Conn>, opened: tokio::sync::oneshot::Sender<()>) {
    let mut opened = Some(opened);
    let mut last_event_id: Option<HeaderValue> = None;
    let closed = conn.shared_closed_token();
    loop {
        let resp = tokio::select! {
            () = closed.cancelled() => return,
            r = conn.send(Method::GET, Bytes::new(), last_event_id.as_ref()) => r,
        };
        if let Some(tx) = opened.take() {
            let _ = tx.send(());
        }
        let mut delay = Duration::from_secs(1);
        match resp {
            Ok(r) if r.status().is_success() => {
                let mut events = r.into_body().into_data_stream().eventsource();
                loop {
                    let next = tokio::select! {
                        () = closed.cancelled() => return,
                        e = events.next() => e,
                    };
                    let Some(Ok(event)) = next else { break };
                    if let Some(id) = event_id(&event) {
                        last_event_id = Some(id);
                    }
                    if let Some(r) = event.retry {
                        delay = r;
                    }
                    if !event.data.is_empty() {
                        deliver_payload(&conn, event.data.as_bytes(), None, None, false);
                    }
                }
            }
            // 405: the server offers no GET stream, which the spec allows.
            Ok(r) if r.status() == StatusCode::METHOD_NOT_ALLOWED => return,
            Ok(_) | Err(_) => delay = Duration::from_secs(2),
        }
        tokio::select! {
            () = closed.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

async fn end_session(conn: &Conn) {
    if conn.session.lock().expect("session lock").is_none() {
        return;
    }
    let ending = conn.send(Method::DELETE, Bytes::new(), None);
    let _ = tokio::time::timeout(Duration::from_secs(2), ending).await;
}

/// An event's id as the `Last-Event-ID` to resume after it (none when empty or not a header value).
fn event_id(event: &eventsource_stream::Event) -> Option<HeaderValue> {
    if event.id.is_empty() {
        return None;
    }
    HeaderValue::from_str(&event.id).ok()
}
