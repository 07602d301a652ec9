//! Messages backends send on their own, delivered to the right client: progress to the request
//! that asked for it, logs and list changes to the sessions that see the backend, resource updates
//! to subscribers, and server-to-client requests (sampling, elicitation, roots) to the session whose
//! call caused them.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use toolport_protocol::{ErrorCode, Message, Notification, Request, RequestId, Response, RpcError};
use toolport_upstream::{BackendEvent, Peer};

use crate::gateway::Gateway;
use crate::session::{RelayedRequest, Session, Sink};

impl Gateway {
    pub(crate) async fn relay_events(
        self: Arc<Self>,
        mut events: mpsc::UnboundedReceiver<BackendEvent>,
    ) {
        loop {
            let event = tokio::select! {
                () = self.shutdown.cancelled() => return,
                e = events.recv() => match e { Some(e) => e, None => return },
            };
            let BackendEvent {
                backend,
                peer,
                inbound,
            } = event;
            match inbound.message {
                Message::Notification(n) => self.relay_notification(&backend, n, inbound.related),
                Message::Request(r) => self.relay_request(&backend, &peer, r, inbound.related),
                Message::Response(_) => {}
            }
        }
    }

    /// Called synchronously by the backend's transport (see `NotificationHook`), in wire order.
    pub(crate) fn relay_notification(
        &self,
        backend: &Arc<str>,
        mut n: Notification,
        related: Option<i64>,
    ) {
        match n.method.as_str() {
            "notifications/progress" => {
                let Some(params) = n.params.as_mut() else {
                    return;
                };
                let Some(token) = params.get("progressToken").and_then(Value::as_str) else {
                    return;
                };
                let route = self
                    .progress
                    .lock()
                    .expect("progress lock")
                    .get(token)
                    .cloned();
                if let Some(route) = route {
                    params["progressToken"] = route.original;
                    let _ = route.sink.send(Message::Notification(n));
                }
            }
            "notifications/message" => {
                let level = n
                    .params
                    .as_ref()
                    .and_then(|p| p.get("level"))
                    .and_then(Value::as_str)
                    .unwrap_or("info")
                    .to_string();
                if let Some((session, sink)) = self.related_target(backend, related) {
                    if session.wants_log(&level) {
                        let _ = sink.send(Message::Notification(n));
                    }
                    return;
                }
                for session in self.sessions_seeing(backend) {
                    if session.wants_log(&level) {
                        session.send(Message::Notification(n.clone()));
                    }
                }
            }
            "notifications/resources/updated" => {
                let Some(uri) = n
                    .params
                    .as_ref()
                    .and_then(|p| p.get("uri"))
                    .and_then(Value::as_str)
                else {
                    return;
                };
                let key = (backend.clone(), uri.to_string());
                let Some(view) = self.backend_view(backend) else {
                    return;
                };
                for session in self.sessions_seeing(backend) {
                    if !session
                        .state
                        .lock()
                        .expect("session lock")
                        .subscriptions
                        .contains(&key)
                    {
                        continue;
                    }
                    let mut copy = n.clone();
                    if let Some(params) = copy.params.as_mut() {
                        params["uri"] = Value::String(self.exposed_uri(&session, &view, uri));
                    }
                    session.send(Message::Notification(copy));
                }
            }
            "notifications/cancelled" => {
                // The backend gave up on a request it relayed to a client: tell that client.
                let Some(upstream_id) = n
                    .params
                    .as_ref()
                    .and_then(|p| p.get("requestId"))
                    .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok())
                else {
                    return;
                };
                for session in self.sessions_seeing(backend) {
                    let mut relayed = session.relayed.lock().expect("relayed lock");
                    let key = relayed
                        .iter()
                        .find(|(_, r)| r.upstream_id == upstream_id)
                        .map(|(k, _)| k.clone());
                    if let Some(key) = key {
                        relayed.remove(&key);
                        let mut copy = n.clone();
                        if let Some(params) = copy.params.as_mut() {
                            params["requestId"] = Value::String(key);
                        }
                        session.send(Message::Notification(copy));
                        return;
                    }
                }
            }
            _ => {
                if let Some((_, sink)) = self.related_target(backend, related) {
                    let _ = sink.send(Message::Notification(n));
                    return;
                }
                for session in self.sessions_seeing(backend) {
                    session.send(Message::Notification(n.clone()));
                }
            }
        }
    }

    /// A request from a backend to a client: to the session of the call that caused it when known
    /// (the HTTP stream it came on, or the backend's only call in flight), else to the most recent
    /// caller of that backend.
    fn relay_request(
        &self,
        backend: &Arc<str>,
        peer: &Arc<Peer>,
        request: Request,
        related: Option<i64>,
    ) {
        let target = self
            .related_target(backend, related)
            .or_else(|| self.latest_caller(backend));
        let Some((session, sink)) = target else {
            // Nobody to ask: a backend asking for roots gets none rather than an error.
            let answer = if request.method == "roots/list" {
                Response::ok(request.id, serde_json::json!({"roots": []}))
            } else {
                Response::error(
                    request.id,
                    RpcError::new(
                        ErrorCode::INTERNAL_ERROR,
                        format!(
                            "no client session of Toolport is waiting on {backend:?}, so nobody can answer {}",
                            request.method
                        ),
                    ),
                )
            };
            let _ = peer.respond(answer);
            return;
        };
        let key = session.relayed_id();
        session.relayed.lock().expect("relayed lock").insert(
            key.clone(),
            RelayedRequest {
                peer: peer.clone(),
                upstream_id: request.id,
            },
        );
        let relayed = Request::new(RequestId::String(key), request.method, request.params);
        let _ = sink.send(Message::Request(relayed));
    }

    fn related_target(
        &self,
        backend: &Arc<str>,
        related: Option<i64>,
    ) -> Option<(Arc<Session>, Sink)> {
        let route = self
            .routes
            .lock()
            .expect("routes lock")
            .get(&(backend.clone(), related?))
            .cloned()?;
        Some((route.session.upgrade()?, route.sink))
    }

    /// The newest call in flight at `backend` (highest upstream id).
    fn latest_caller(&self, backend: &Arc<str>) -> Option<(Arc<Session>, Sink)> {
        let routes = self.routes.lock().expect("routes lock");
        let (_, route) = routes
            .iter()
            .filter(|((b, _), _)| b == backend)
            .max_by_key(|((_, id), _)| *id)?;
        Some((route.session.upgrade()?, route.sink.clone()))
    }
}
