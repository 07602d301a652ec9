//! Serving one client message: the method table, and the era adaptation applied to every result.
//!
//! Submodules: [`lifecycle`] (initialize, discover, ping, logging), [`lists`] (merged, paginated
//! lists), [`route`] (finding the backend behind a name or URI), [`forward`] (sending a request to a
//! backend with ids, progress tokens and cancellation remapped), [`stateless`] (2026-07-28
//! requests without a session), [`subscribe`] (2026-07-28 `subscriptions/listen`), [`tasks`]
//! (tool calls run as tasks for clients of the tasks extension).

mod forward;
mod lifecycle;
mod lists;
mod route;
mod stateless;
mod subscribe;
mod tasks;

use std::sync::Arc;

use serde_json::{Value, json};
use toolport_protocol::{Message, Notification, Request, Response, RpcError, bridge};

use crate::composed::MetaCall;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::registry::ListKind;
use crate::session::{Scope, Session, Sink};

pub use stateless::StatelessError;
pub(crate) use stateless::SuspendedCall;
pub use subscribe::Subscription;
pub use tasks::TASKS_EXTENSION;
pub(crate) use tasks::TaskTable;

impl Gateway {
    /// Handles one message of `session`. Requests get a response; messages related to a request
    /// (progress, relayed sampling requests) go to `sink` while it runs.
    pub async fn handle(
        self: &Arc<Self>,
        session: &Arc<Session>,
        message: Message,
        sink: &Sink,
    ) -> Option<Response> {
        match message {
            Message::Request(request) => Some(self.handle_request(session, request, sink).await),
            Message::Notification(n) => {
                self.handle_notification(session, n);
                None
            }
            Message::Response(r) => {
                self.handle_client_response(session, r);
                None
            }
        }
    }

    pub(crate) async fn handle_request(
        self: &Arc<Self>,
        session: &Arc<Session>,
        request: Request,
        sink: &Sink,
    ) -> Response {
        // A session client's call may become a task; a stateless client's calls are driven by
        // `stateless`, which decides that before it gets here.
        if session.stateful
            && let Some(window) = self.task_window(session, &request).await
        {
            let id = request.id.clone();
            let call =
                stateless::SuspendedCall::start(self, session.clone(), request, Some(window));
            return match self.drive(call, id.clone(), sink).await {
                Ok(response) => response,
                Err(error) => Response::error(id, error),
            };
        }
        self.answer_request(session, request, sink).await
    }

    /// Serves one request as an ordinary call, adapting its result to the client's revision.
    pub(crate) async fn answer_request(
        self: &Arc<Self>,
        session: &Arc<Session>,
        request: Request,
        sink: &Sink,
    ) -> Response {
        let id = request.id.clone();
        let method = request.method.clone();
        let outcome = self.dispatch(session, request, sink).await;
        let version = session.version();
        let outcome = match outcome {
            Ok(mut result) => {
                // A list given while a backend is still starting will change soon: no caching.
                if version.is_stateless()
                    && bridge::is_cacheable_method(&method)
                    && let Some(obj) = result.as_object_mut()
                    && self
                        .views_for(session)
                        .iter()
                        .any(|v| !v.snapshot.is_ready())
                {
                    obj.entry("ttlMs").or_insert(json!(0));
                }
                bridge::adapt_result(version, &method, &mut result, "private");
                Ok(result)
            }
            Err(err) => Err(self.to_rpc_error(version, err)),
        };
        Response { id, outcome }
    }

    /// The one place where gateway errors become JSON-RPC errors for clients.
    fn to_rpc_error(
        &self,
        version: toolport_protocol::ProtocolVersion,
        err: GatewayError,
    ) -> RpcError {
        if version.is_stateless()
            && let GatewayError::UnknownResource(uri) = &err
        {
            // 2026-07-28 answers an unknown resource with invalid params naming the URI.
            return RpcError::invalid_params(err.to_string()).with_data(json!({"uri": uri}));
        }
        err.into()
    }

    async fn dispatch(
        self: &Arc<Self>,
        session: &Arc<Session>,
        request: Request,
        sink: &Sink,
    ) -> Result<Value, GatewayError> {
        match request.method.as_str() {
            "initialize" => self.initialize(session, &request),
            "ping" => Ok(json!({})),
            "server/discover" => Ok(self.discover(session)),
            "logging/setLevel" => self.set_level(session, &request).await,
            "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
                self.prepare_user_instances(session).await;
                let (kind, templates) = match request.method.as_str() {
                    "tools/list" => (ListKind::Tools, false),
                    "prompts/list" => (ListKind::Prompts, false),
                    "resources/list" => (ListKind::Resources, false),
                    _ => (ListKind::Resources, true),
                };
                self.list(session, &request, kind, templates)
            }
            "tools/call" => match self.virtual_meta_call(session, request)? {
                MetaCall::Answered(result) => Ok(result),
                MetaCall::Forward(request) => {
                    self.call_named(session, request, sink, ListKind::Tools)
                        .await
                }
            },
            "prompts/get" => {
                self.call_named(session, request, sink, ListKind::Prompts)
                    .await
            }
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                self.prepare_user_instances(session).await;
                self.resource_request(session, request, sink).await
            }
            "completion/complete" => {
                self.prepare_user_instances(session).await;
                self.complete(session, request, sink).await
            }
            method
                if tasks::TASK_METHODS.contains(&method)
                    && tasks::negotiated(session, &request) =>
            {
                self.task_request(session, &request)
            }
            // A stateless client has no 2025-11-25 tasks to pass through to a backend.
            method if tasks::TASK_METHODS.contains(&method) && !session.stateful => {
                Err(GatewayError::TasksExtensionRequired(format!(
                    "{method} belongs to the tasks extension"
                )))
            }
            method if tasks::REMOVED_TASK_METHODS.contains(&method) && !session.stateful => {
                Err(GatewayError::MethodNotFound(format!(
                    "{method} (the tasks extension has none: a task's result is inlined in tasks/get)"
                )))
            }
            _ => match &session.scope {
                // A single-server endpoint is transparent: methods Toolport does not know (custom
                // ones, newer ones) go to the backend as they are.
                Scope::Server(name) => {
                    self.prepare_call(session, &request.method).await?;
                    let view = self.server_view(session.caller.as_deref(), name)?;
                    if !crate::gateway::granted(session.grant.as_ref(), &view.config) {
                        return Err(GatewayError::MethodNotFound(request.method));
                    }
                    let Request { id, method, params } = request;
                    self.forward(session, sink, &view, &method, params, &id, &method)
                        .await
                }
                Scope::All | Scope::Tags(_) | Scope::Endpoint(_) | Scope::Virtual { .. } => {
                    Err(GatewayError::MethodNotFound(request.method))
                }
            },
        }
    }

    fn handle_notification(&self, session: &Arc<Session>, n: Notification) {
        match n.method.as_str() {
            "notifications/initialized" => {
                session.state.lock().expect("session lock").initialized = true;
            }
            "notifications/cancelled" => {
                let Some(id) = n
                    .params
                    .as_ref()
                    .and_then(|p| p.get("requestId"))
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                else {
                    return;
                };
                let call = session
                    .in_flight
                    .lock()
                    .expect("in-flight lock")
                    .get(&id)
                    .cloned();
                if let Some(call) = call {
                    call.cancel.cancel();
                }
            }
            "notifications/roots/list_changed" => {
                for view in self.views_for(session) {
                    if let Some(peer) = view.snapshot.ready_peer() {
                        let _ = peer.notify("notifications/roots/list_changed", None);
                    }
                }
            }
            other => tracing::debug!(method = other, "ignoring client notification"),
        }
    }

    /// A client's answer to a request Toolport relayed from a backend.
    fn handle_client_response(&self, session: &Arc<Session>, response: Response) {
        let key = match &response.id {
            toolport_protocol::RequestId::String(s) => s.clone(),
            other => other.to_string(),
        };
        let relayed = session.relayed.lock().expect("relayed lock").remove(&key);
        match relayed {
            Some(r) => {
                let _ = r.peer.respond(Response {
                    id: r.upstream_id,
                    outcome: response.outcome,
                });
            }
            None => {
                tracing::debug!(id = %response.id, "client answered a request nobody waits for")
            }
        }
    }
}
