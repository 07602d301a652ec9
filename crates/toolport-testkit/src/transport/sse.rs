//! Legacy HTTP+SSE (2024-11-05): `GET /sse` opens a session whose first event, `endpoint`,
//! names `POST /message?sessionId=...`; every answer and notification travels on the GET
//! stream as an `event: message`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::mpsc;
use toolport_protocol::jsonrpc::Payload;
use toolport_protocol::{ErrorCode, RequestId, RpcError};

use super::body::{self, BodySink, empty, json_error, message_event, named_event};
use super::guard;
use crate::error::FixtureError;
use crate::fixture::session::Session;
use crate::fixture::{Fixture, Outgoing, Sink, lock};

struct App {
    fixture: Arc<Fixture>,
    sessions: Mutex<HashMap<String, (Arc<Session>, Sink)>>,
}

/// The `/sse` + `/message` router.
pub(crate) fn router(fixture: Arc<Fixture>) -> Router {
    let app = Arc::new(App {
        fixture,
        sessions: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/sse", get(open_stream))
        .route("/message", post(post_message))
        .with_state(app)
}

pub(crate) async fn serve(fixture: Arc<Fixture>, addr: SocketAddr) -> Result<(), FixtureError> {
    let listener = super::bind_and_announce(addr, "/sse").await?;
    axum::serve(listener, router(fixture))
        .await
        .map_err(FixtureError::Serve)
}

async fn open_stream(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Some(refused) = guard::refusal(&headers) {
        return refused;
    }
    let session = app.fixture.new_session();
    let (tx, rx) = mpsc::unbounded_channel();
    session.set_standalone(Some(tx.clone()));
    let (btx, brx) = mpsc::unbounded_channel();
    let _ = btx.send(named_event(
        "endpoint",
        &format!("/message?sessionId={}", session.id),
    ));
    lock(&app.sessions).insert(session.id.clone(), (session.clone(), tx));
    tokio::spawn(relay(app, session, rx, btx));
    body::sse(brx)
}

/// Copies the session's output to its stream; when the client goes away the session ends.
async fn relay(
    app: Arc<App>,
    session: Arc<Session>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    btx: BodySink,
) {
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(Outgoing::Message(t) | Outgoing::Final(t, _)) => {
                    if btx.send(message_event(None, &t)).is_err() {
                        break;
                    }
                }
                Some(Outgoing::CloseStream) => {}
                None => break,
            },
            () = btx.closed() => break,
        }
    }
    lock(&app.sessions).remove(&session.id);
    session.close();
}

async fn post_message(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = guard::refusal(&headers) {
        return refused;
    }
    let Some(id) = query.get("sessionId") else {
        return json_error(
            StatusCode::BAD_REQUEST,
            RequestId::Null,
            RpcError::new(
                ErrorCode::INVALID_REQUEST,
                "sessionId query parameter is required",
            ),
        );
    };
    let Some((session, sink)) = lock(&app.sessions).get(id).cloned() else {
        return json_error(
            StatusCode::NOT_FOUND,
            RequestId::Null,
            RpcError::new(ErrorCode::REQUEST_TIMEOUT, "Session not found"),
        );
    };
    let items = match Payload::parse(&body) {
        Payload::Single(item) => vec![item],
        Payload::Batch(items) => items,
    };
    for item in items {
        match item {
            Ok(msg) => app.fixture.on_message(&session, msg, &sink),
            Err(invalid) => {
                let _ = sink.send(Outgoing::error(invalid.id, *invalid.error));
            }
        }
    }
    empty(StatusCode::ACCEPTED)
}
