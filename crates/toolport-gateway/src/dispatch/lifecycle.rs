//! `initialize`, `server/discover` and `logging/setLevel`: what the gateway says about itself.

use std::sync::Arc;

use serde_json::{Value, json};
use toolport_protocol::{ProtocolVersion, Request, meta};

use super::tasks::TASKS_EXTENSION;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::session::{Scope, Session, log_rank};

impl Gateway {
    pub(super) fn initialize(
        &self,
        session: &Arc<Session>,
        request: &Request,
    ) -> Result<Value, GatewayError> {
        let params = request
            .params_object()
            .map_err(|e| GatewayError::InvalidParams(e.message))?;
        let requested = params
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                GatewayError::InvalidParams(
                    "initialize needs params.protocolVersion (e.g. \"2025-11-25\")".into(),
                )
            })?;
        let version = ProtocolVersion::negotiate(requested);
        {
            let mut state = session.state.lock().expect("session lock");
            state.version = version;
            state.client_capabilities = params
                .get("capabilities")
                .cloned()
                .unwrap_or_else(|| json!({}));
            state.client_info = params.get("clientInfo").cloned().unwrap_or(Value::Null);
        }
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": self.capabilities(&session.scope),
            "serverInfo": self.server_info(&session.scope),
        });
        if let Some(instructions) = self.instructions(&session.scope) {
            result["instructions"] = Value::String(instructions);
        }
        Ok(result)
    }

    pub(super) fn discover(&self, session: &Arc<Session>) -> Value {
        let mut capabilities = self.capabilities(&session.scope);
        // The 2025-11-25 tasks slot of a mirrored backend: discovering clients use the extension.
        if let Some(capabilities) = capabilities.as_object_mut() {
            capabilities.remove("tasks");
        }
        let mut result = json!({
            "supportedVersions": ProtocolVersion::supported_strings(),
            "capabilities": capabilities,
            "_meta": {meta::SERVER_INFO_KEY: self.server_info(&session.scope)},
        });
        if let Some(instructions) = self.instructions(&session.scope) {
            result["instructions"] = Value::String(instructions);
        }
        result
    }

    /// What the endpoint offers. A single-server endpoint mirrors its backend (so that putting
    /// Toolport in front changes nothing observable); aggregated endpoints offer everything
    /// Toolport can relay. Both offer the tasks extension, which the gateway itself provides.
    fn capabilities(&self, scope: &Scope) -> Value {
        let mut capabilities = match scope {
            Scope::Server(name) => self
                .registry
                .view(name)
                .map(|view| view.snapshot.capabilities.clone())
                .filter(Value::is_object),
            _ => None,
        }
        .unwrap_or_else(|| {
            json!({
                "tools": {"listChanged": true},
                "prompts": {"listChanged": true},
                "resources": {"subscribe": true, "listChanged": true},
                "logging": {},
                "completions": {},
            })
        });
        if !capabilities["extensions"].is_object() {
            capabilities["extensions"] = json!({});
        }
        capabilities["extensions"][TASKS_EXTENSION] = json!({});
        capabilities
    }

    fn server_info(&self, scope: &Scope) -> Value {
        if let Scope::Server(name) = scope
            && let Some(view) = self.registry.view(name)
            && view.snapshot.server_info.is_object()
        {
            return view.snapshot.server_info.clone();
        }
        json!({"name": "toolport", "version": env!("CARGO_PKG_VERSION")})
    }

    fn instructions(&self, scope: &Scope) -> Option<String> {
        match scope {
            Scope::Server(name) => self.registry.view(name)?.snapshot.instructions.clone(),
            _ => None,
        }
    }

    pub(super) async fn set_level(
        &self,
        session: &Arc<Session>,
        request: &Request,
    ) -> Result<Value, GatewayError> {
        let level = request
            .str_param("level")
            .map_err(|e| GatewayError::InvalidParams(e.message))?;
        let rank = log_rank(level).ok_or_else(|| {
            GatewayError::InvalidParams(format!(
                "unknown log level {level:?}; use one of debug, info, notice, warning, error, critical, alert, emergency"
            ))
        })?;
        session.state.lock().expect("session lock").log_level = Some(rank);
        // Backends are shared, so they log at the requested level and each session filters.
        let timeout = self.config().settings.request_timeout;
        for view in self.views_for(session) {
            if view.snapshot.capabilities.get("logging").is_none() {
                continue;
            }
            if let Some(peer) = view.snapshot.ready_peer() {
                let _ = peer
                    .request("logging/setLevel", Some(json!({"level": level})), timeout)
                    .await;
            }
        }
        Ok(json!({}))
    }
}
