//! The legacy HTTP+SSE transport (2024-11-05): `GET /sse` (or `/sse/{name}`) opens a session whose
//! stream first names the POST endpoint, then carries every message to the client; clients POST
//! to `/message?sessionId=…` and get 202, with answers arriving on the stream.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use toolport_gateway::Scope;
use toolport_protocol::Message;
use toolport_protocol::jsonrpc::Payload;

use crate::access::Caller;
use crate::error::HttpError;
use crate::router::AppState;
use crate::streamable::{invalid_message, named_scope, query_scope, read_body};

pub async fn connect_all(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    open(state, query_scope(&query), caller)
}

pub async fn connect_named(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    match named_scope(&state.gateway, &name) {
        Ok(scope) => open(state, scope, caller),
        Err(e) => e.into_response(),
    }
}

/// Closes the session when the client's stream goes away.
struct CloseOnDrop {
    state: AppState,
    id: String,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.state.sessions.remove(&self.state.gateway, &self.id);
    }
}

/// The one answer for a `?sessionId=` that names no session of the caller's: one that ended, one
/// that never existed, and another caller's (which `access` refuses) alike.
pub fn unknown_session(id: &str) -> HttpError {
    HttpError::not_found(format!("session {id:?} does not exist; reconnect to /sse"))
}

fn open(state: AppState, scope: Scope, caller: Caller) -> Response {
    let session = state.sessions.create(&state.gateway, scope, caller);
    let id = session.session.id.clone();
    let Some(messages) = session.take_stream() else {
        return HttpError::bad_request("session stream unavailable").into_response();
    };
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/message?sessionId={id}"));
    let stopping = state.shutdown.clone().cancelled_owned();
    let guard = CloseOnDrop { state, id };
    let events = futures::stream::once(async move { Ok::<_, Infallible>(endpoint) })
        .chain(messages.map(move |m| {
            let _keep = &guard;
            Ok(Event::default().event("message").data(m.to_json()))
        }))
        .take_until(stopping);
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

pub async fn message(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(id) = query.get("sessionId") else {
        return HttpError::bad_request("POST /message needs ?sessionId= from the endpoint event")
            .into_response();
    };
    let Some(session) = state.sessions.get(id) else {
        return unknown_session(id).into_response();
    };
    let body = match read_body(body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let items = match Payload::parse(&body) {
        Payload::Single(Err(invalid)) => return invalid_message(invalid).into_response(),
        Payload::Single(Ok(m)) => vec![Ok(m)],
        Payload::Batch(items) => items,
    };
    for item in items {
        let gateway = state.gateway.clone();
        let session = session.session.clone();
        tokio::spawn(async move {
            let sink = session.outbound().clone();
            let answer = match item {
                Ok(message) => gateway.handle(&session, message, &sink).await,
                Err(invalid) => Some(invalid.into_response()),
            };
            if let Some(answer) = answer {
                session.send(Message::Response(answer));
            }
        });
    }
    StatusCode::ACCEPTED.into_response()
}
