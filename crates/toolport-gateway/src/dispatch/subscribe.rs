//! `subscriptions/listen` (2026-07-28): a stateless client's long-lived stream of list changes and
//! resource updates, filtered to what it asked for and tagged with its subscription id.

use std::sync::{Arc, Weak};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use toolport_protocol::{Message, Notification, Request, RpcError};

use super::stateless::stateless_context;
use crate::admission::Caller;
use crate::gateway::Gateway;
use crate::session::Scope;

const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// An open subscription; closing it (dropping) forgets its session and upstream subscriptions.
#[derive(Debug)]
pub struct Subscription {
    gateway: Weak<Gateway>,
    session_id: String,
    id: Value,
    honoured: Map<String, Value>,
    rx: mpsc::UnboundedReceiver<Message>,
}

impl Subscription {
    /// The first message of the stream: which notifications will be sent.
    pub fn acknowledgement(&self) -> Message {
        Message::Notification(Notification::new(
            "notifications/subscriptions/acknowledged",
            Some(json!({"notifications": self.honoured, "_meta": {SUBSCRIPTION_ID_KEY: self.id}})),
        ))
    }

    /// The next notification the client asked for, tagged with the subscription id.
    pub async fn next(&mut self) -> Option<Message> {
        loop {
            let Message::Notification(mut n) = self.rx.recv().await? else {
                continue;
            };
            let wanted = match n.method.as_str() {
                "notifications/tools/list_changed" => "toolsListChanged",
                "notifications/prompts/list_changed" => "promptsListChanged",
                "notifications/resources/list_changed" => "resourcesListChanged",
                "notifications/resources/updated" => "resourceSubscriptions",
                _ => continue,
            };
            if !self.honoured.contains_key(wanted) {
                continue;
            }
            let params = n.params.get_or_insert_with(|| json!({}));
            if let Some(meta) = toolport_protocol::meta::get_mut(params) {
                meta.insert(SUBSCRIPTION_ID_KEY.into(), self.id.clone());
            }
            return Some(Message::Notification(n));
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(gateway) = self.gateway.upgrade() {
            gateway.close_session(&self.session_id);
        }
    }
}

impl Gateway {
    /// Opens a subscription for a stateless `subscriptions/listen` request.
    pub async fn listen(
        self: &Arc<Self>,
        scope: Scope,
        caller: Option<Arc<Caller>>,
        request: Request,
    ) -> Result<Subscription, RpcError> {
        let cx = stateless_context(&request)?;
        let filter = request
            .params
            .as_ref()
            .and_then(|p| p.get("notifications"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut honoured = Map::new();
        for key in [
            "toolsListChanged",
            "promptsListChanged",
            "resourcesListChanged",
        ] {
            if filter.get(key).and_then(Value::as_bool) == Some(true) {
                honoured.insert(key.into(), Value::Bool(true));
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let session_id = format!("listen-{}", uuid::Uuid::new_v4().simple());
        let session = self.open_session(session_id.clone(), scope, caller, tx);
        {
            let mut state = session.state.lock().expect("session lock");
            state.version = cx.version;
            state.client_capabilities = cx.capabilities;
            state.initialized = true;
        }
        // Built now so that an early return (or a panic) still closes the session.
        let mut subscription = Subscription {
            gateway: Arc::downgrade(self),
            session_id,
            id: serde_json::to_value(&request.id).unwrap_or(Value::Null),
            honoured: Map::new(),
            rx,
        };
        let mut subscribed = Vec::new();
        if let Some(Value::Array(uris)) = filter.get("resourceSubscriptions") {
            for uri in uris.iter().filter_map(Value::as_str) {
                let Ok((view, original)) = self.resolve_uri(&session, uri) else {
                    continue;
                };
                let Some(peer) = view.snapshot.ready_peer() else {
                    continue;
                };
                let timeout = view.config.timeout;
                if peer
                    .request(
                        "resources/subscribe",
                        Some(json!({"uri": original})),
                        timeout,
                    )
                    .await
                    .is_ok()
                {
                    session
                        .state
                        .lock()
                        .expect("session lock")
                        .subscriptions
                        .insert((view.backend().clone(), original));
                    subscribed.push(Value::String(uri.to_string()));
                }
            }
            honoured.insert("resourceSubscriptions".into(), Value::Array(subscribed));
        }
        subscription.honoured = honoured;
        Ok(subscription)
    }
}
