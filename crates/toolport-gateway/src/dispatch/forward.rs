//! Sending a client's request to the backend that owns it: the name or URI is translated, the
//! request gets the connection's own id (so concurrent clients never collide), progress tokens are
//! remapped to gateway-unique ones, and cancellation and timeouts are passed upstream. The
//! backend's circuit breaker is asked before sending and told how the call ended.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolport_protocol::{Request, RequestId, meta};
use toolport_upstream::api::{ApiAnswer, ApiBackend};
use toolport_upstream::{Peer, UpstreamError};

use crate::admission::{CallEnd, CallOutcome, CallRequest};
use crate::breaker::{Outcome, Permit};
use crate::error::GatewayError;
use crate::gateway::{Gateway, ProgressRoute, RequestRoute};
use crate::registry::ListKind;
use crate::session::{InFlight, Session, Sink};
use crate::view::BackendView;

impl Gateway {
    /// `tools/call` and `prompts/get`: routed by `params.name`.
    pub(super) async fn call_named(
        self: &Arc<Self>,
        session: &Arc<Session>,
        request: Request,
        sink: &Sink,
        kind: ListKind,
    ) -> Result<Value, GatewayError> {
        let exposed = request
            .str_param("name")
            .map_err(|e| GatewayError::InvalidParams(e.message))?
            .to_string();
        self.prepare_call(session, &exposed).await?;
        let (view, original) = self.resolve_name(
            &session.scope,
            session.grant.as_ref(),
            session.caller.as_deref(),
            &exposed,
            kind,
        )?;
        if kind == ListKind::Tools {
            super::tasks::refuse_required(session, &request, &view, &original)?;
        }
        let Request { id, method, params } = request;
        let mut params = params.unwrap_or_else(|| json!({}));
        let ticket = match (kind, self.call_gate.get()) {
            (ListKind::Tools, Some(gate)) => Some(
                gate.admit(CallRequest {
                    caller: session.caller.as_deref(),
                    endpoint: session.scope.endpoint_name(),
                    upstream: &view.name,
                    tool: &original,
                    arguments: params.get("arguments"),
                    request_bytes: params.get("arguments").map_or(0, json_len),
                })
                .await
                .map_err(GatewayError::Refused)?,
            ),
            _ => None,
        };
        params["name"] = Value::String(original.clone());
        let admitted = Instant::now();
        let forwarded = self
            .forward(session, sink, &view, &method, Some(params), &id, &original)
            .await;
        if let Some(ticket) = ticket {
            ticket.finish(call_outcome(&forwarded, admitted.elapsed()));
        }
        let mut result = forwarded?;
        // Resources a result points at must be readable through the same endpoint.
        if session.scope.namespaced() {
            let items = match kind {
                ListKind::Prompts => result.get_mut("messages"),
                _ => result.get_mut("content"),
            };
            if let Some(Value::Array(items)) = items {
                for item in items {
                    let item = match kind {
                        ListKind::Prompts => item.get_mut("content"),
                        _ => Some(item),
                    };
                    if let Some(item) = item {
                        self.wrap_content_uri(session, &view, item);
                    }
                }
            }
        }
        Ok(result)
    }

    /// Rewrites the URI of a `resource_link` or embedded `resource` content item.
    fn wrap_content_uri(&self, session: &Session, view: &BackendView, item: &mut Value) {
        let slot = match item.get("type").and_then(Value::as_str) {
            Some("resource_link") => item.get_mut("uri"),
            Some("resource") => item.get_mut("resource").and_then(|r| r.get_mut("uri")),
            _ => None,
        };
        if let Some(slot) = slot
            && let Some(uri) = slot.as_str()
        {
            *slot = Value::String(self.exposed_uri(session, view, uri));
        }
    }

    /// `resources/read`, `resources/subscribe`, `resources/unsubscribe`: routed by `params.uri`.
    pub(super) async fn resource_request(
        self: &Arc<Self>,
        session: &Arc<Session>,
        request: Request,
        sink: &Sink,
    ) -> Result<Value, GatewayError> {
        let exposed = request
            .str_param("uri")
            .map_err(|e| GatewayError::InvalidParams(e.message))?
            .to_string();
        let (view, original) = self.resolve_uri(session, &exposed)?;
        let Request { id, method, params } = request;
        let mut params = params.unwrap_or_else(|| json!({}));
        params["uri"] = Value::String(original.clone());
        let mut result = self
            .forward(session, sink, &view, &method, Some(params), &id, &original)
            .await?;
        let key = (view.backend().clone(), original);
        match method.as_str() {
            "resources/subscribe" => {
                session
                    .state
                    .lock()
                    .expect("session lock")
                    .subscriptions
                    .insert(key);
            }
            "resources/unsubscribe" => {
                session
                    .state
                    .lock()
                    .expect("session lock")
                    .subscriptions
                    .remove(&key);
            }
            _ => {
                if let Some(Value::Array(contents)) = result.get_mut("contents") {
                    for item in contents {
                        if let Some(uri) = item.get("uri").and_then(Value::as_str) {
                            let wrapped = self.exposed_uri(session, &view, uri);
                            item["uri"] = Value::String(wrapped);
                        }
                    }
                }
            }
        }
        Ok(result)
    }

    /// `completion/complete`: routed by the prompt name or resource URI in `params.ref`.
    pub(super) async fn complete(
        self: &Arc<Self>,
        session: &Arc<Session>,
        request: Request,
        sink: &Sink,
    ) -> Result<Value, GatewayError> {
        let reference = request
            .params
            .as_ref()
            .and_then(|p| p.get("ref"))
            .cloned()
            .ok_or_else(|| {
                GatewayError::InvalidParams("completion/complete needs params.ref".into())
            })?;
        let (view, field, original) = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => {
                let name = reference
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (view, original) = self.resolve_name(
                    &session.scope,
                    session.grant.as_ref(),
                    session.caller.as_deref(),
                    name,
                    ListKind::Prompts,
                )?;
                (view, "name", original)
            }
            Some("ref/resource") => {
                let uri = reference
                    .get("uri")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (view, original) = self.resolve_uri(session, uri)?;
                (view, "uri", original)
            }
            other => {
                return Err(GatewayError::InvalidParams(format!(
                    "params.ref.type must be \"ref/prompt\" or \"ref/resource\", not {other:?}"
                )));
            }
        };
        let Request { id, method, params } = request;
        let mut params = params.unwrap_or_else(|| json!({}));
        params["ref"][field] = Value::String(original.clone());
        self.forward(session, sink, &view, &method, Some(params), &id, &original)
            .await
    }

    /// Sends one request to `view`'s backend and waits for the answer, its deadline, or the
    /// client's cancellation.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn forward(
        self: &Arc<Self>,
        session: &Arc<Session>,
        sink: &Sink,
        view: &Arc<BackendView>,
        method: &str,
        mut params: Option<Value>,
        client_id: &RequestId,
        label: &str,
    ) -> Result<Value, GatewayError> {
        let server = view.name.to_string();
        // A per-user instance serving a request is not idle.
        let _in_use = view.instance.as_ref().map(|i| i.usage.begin());
        let permit = self
            .breakers
            .admit(&view.name, view.config.circuit_breaker)
            .map_err(|retry_after| GatewayError::CircuitOpen {
                server: server.clone(),
                retry_after,
            })?;
        if let Some(api) = view
            .snapshot
            .api
            .as_ref()
            .filter(|_| view.snapshot.is_ready())
        {
            // Boxed: an API call's future is several times an MCP call's, and every call's future
            // would otherwise be as large (and be moved as often).
            return Box::pin(self.call_api(api, view, method, params, label, permit)).await;
        }
        let Some(peer) = view.snapshot.ready_peer().cloned() else {
            permit.finish(Outcome::of_unready(view.status()));
            return Err(GatewayError::Unavailable {
                server: server.clone(),
                reason: view.unavailable_reason(),
            });
        };
        let started = Instant::now();
        let progress = self.remap_progress(&mut params, sink);
        let pending = match peer.start_request(method, params) {
            Ok(pending) => pending,
            Err(error) => {
                permit.finish(Outcome::Failed);
                return Err(GatewayError::Upstream { server, error });
            }
        };
        let cancel = CancellationToken::new();
        let mut guard = CallGuard::register(
            self, session, client_id, view, &peer, pending.id, &cancel, sink, progress,
        );
        let timeout = view.config.timeout;
        let outcome = tokio::select! {
            r = pending.wait(timeout) => r,
            () = cancel.cancelled() => Err(UpstreamError::Closed("cancelled by the client".into())),
        };
        guard.answered = matches!(outcome, Ok(_) | Err(UpstreamError::Rpc(_)));
        permit.finish(if cancel.is_cancelled() {
            Outcome::Neutral
        } else {
            Outcome::of_reply(&outcome)
        });
        let (label_outcome, result) = match outcome {
            Ok(value) => {
                let failed = value.get("isError").and_then(Value::as_bool) == Some(true);
                (if failed { "tool_error" } else { "ok" }, Ok(value))
            }
            Err(UpstreamError::Timeout(ms)) => (
                "timeout",
                Err(GatewayError::Timeout {
                    server: server.clone(),
                    method: method.to_string(),
                    ms,
                }),
            ),
            Err(error @ UpstreamError::Rpc(_)) => (
                "error",
                Err(GatewayError::Upstream {
                    server: server.clone(),
                    error,
                }),
            ),
            Err(error) => (
                "unavailable",
                Err(GatewayError::Upstream {
                    server: server.clone(),
                    error,
                }),
            ),
        };
        self.metrics
            .record(&server, method, label, label_outcome, started.elapsed());
        result
    }

    /// A call to an HTTP API backend: only `tools/call` exists there.
    async fn call_api(
        &self,
        api: &ApiBackend,
        view: &BackendView,
        method: &str,
        params: Option<Value>,
        label: &str,
        permit: Permit<'_>,
    ) -> Result<Value, GatewayError> {
        let server = view.name.to_string();
        if method != "tools/call" {
            return Err(GatewayError::MethodNotFound(format!(
                "{method} (server {server:?} is an HTTP API, which only has tools)"
            )));
        }
        let started = Instant::now();
        let arguments = params
            .and_then(|mut p| p.get_mut("arguments").map(Value::take))
            .unwrap_or_else(|| json!({}));
        let timeout = view.config.timeout;
        let outcome = tokio::time::timeout(timeout, api.call_observed(label, arguments)).await;
        permit.finish(match &outcome {
            Ok(Ok(answer)) if answer.upstream_failed => Outcome::Failed,
            Ok(Ok(_)) => Outcome::Answered,
            // Only an unknown tool is an error here: nothing reached the API.
            Ok(Err(_)) => Outcome::Neutral,
            Err(_) => Outcome::Failed,
        });
        let (label_outcome, result) = match outcome {
            Ok(Ok(ApiAnswer { result: value, .. })) => {
                let failed = value.get("isError").and_then(Value::as_bool) == Some(true);
                (if failed { "tool_error" } else { "ok" }, Ok(value))
            }
            Ok(Err(error)) => (
                "error",
                Err(GatewayError::Upstream {
                    server: server.clone(),
                    error,
                }),
            ),
            Err(_) => (
                "timeout",
                Err(GatewayError::Timeout {
                    server: server.clone(),
                    method: method.to_string(),
                    ms: timeout.as_millis() as u64,
                }),
            ),
        };
        self.metrics
            .record(&server, method, label, label_outcome, started.elapsed());
        result
    }

    /// Replaces the client's progress token with a gateway-unique one routed back to `sink`.
    fn remap_progress(&self, params: &mut Option<Value>, sink: &Sink) -> Option<String> {
        let params = params.as_mut()?;
        let original = meta::progress_token(Some(params))?.clone();
        let key = format!("tp-{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        meta::get_mut(params)?.insert("progressToken".into(), Value::String(key.clone()));
        self.progress.lock().expect("progress lock").insert(
            key.clone(),
            ProgressRoute {
                sink: sink.clone(),
                original,
            },
        );
        Some(key)
    }
}

/// The routing entries of one forwarded request, removed when the call ends however it ends; a
/// call that ends without an answer (timeout, cancellation, client gone) is cancelled upstream.
struct CallGuard<'a> {
    gateway: &'a Gateway,
    session: &'a Session,
    client_id: RequestId,
    backend: Arc<str>,
    peer: Arc<Peer>,
    upstream_id: i64,
    progress: Option<String>,
    answered: bool,
}

impl<'a> CallGuard<'a> {
    #[allow(clippy::too_many_arguments)]
    fn register(
        gateway: &'a Gateway,
        session: &'a Arc<Session>,
        client_id: &RequestId,
        view: &BackendView,
        peer: &Arc<Peer>,
        upstream_id: i64,
        cancel: &CancellationToken,
        sink: &Sink,
        progress: Option<String>,
    ) -> Self {
        session.in_flight.lock().expect("in-flight lock").insert(
            client_id.clone(),
            InFlight {
                backend: view.backend().clone(),
                peer: peer.clone(),
                upstream_id,
                cancel: cancel.clone(),
            },
        );
        gateway.routes.lock().expect("routes lock").insert(
            (view.backend().clone(), upstream_id),
            RequestRoute {
                session: Arc::downgrade(session) as Weak<Session>,
                sink: sink.clone(),
            },
        );
        Self {
            gateway,
            session,
            client_id: client_id.clone(),
            backend: view.backend().clone(),
            peer: peer.clone(),
            upstream_id,
            progress,
            answered: false,
        }
    }
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        self.session
            .in_flight
            .lock()
            .expect("in-flight lock")
            .remove(&self.client_id);
        self.gateway
            .routes
            .lock()
            .expect("routes lock")
            .remove(&(self.backend.clone(), self.upstream_id));
        if let Some(key) = &self.progress {
            self.gateway
                .progress
                .lock()
                .expect("progress lock")
                .remove(key);
        }
        if !self.answered {
            let _ = self.peer.notify(
                "notifications/cancelled",
                Some(json!({"requestId": self.upstream_id, "reason": "the client no longer waits for this request"})),
            );
        }
    }
}

/// How a forwarded tool call ended, for the call gate.
fn call_outcome(forwarded: &Result<Value, GatewayError>, latency: Duration) -> CallOutcome {
    let (end, response_bytes) = match forwarded {
        Ok(result) => {
            let failed = result.get("isError").and_then(Value::as_bool) == Some(true);
            let end = if failed { CallEnd::Error } else { CallEnd::Ok };
            (end, json_len(result))
        }
        Err(GatewayError::Refused(_) | GatewayError::CircuitOpen { .. }) => (CallEnd::Refused, 0),
        Err(_) => (CallEnd::Error, 0),
    };
    CallOutcome {
        end,
        latency,
        response_bytes,
    }
}

/// The length of a value written as compact JSON, without keeping the text.
fn json_len(value: &Value) -> u64 {
    struct Counter(u64);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}
