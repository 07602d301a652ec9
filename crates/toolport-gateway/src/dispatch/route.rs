//! Finding the backend behind an exposed tool or prompt name or resource URI, within a session's
//! scope, and the backend's own spelling of it.

use std::sync::Arc;

use serde_json::Value;

use crate::admission::Caller;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::names;
use crate::registry::ListKind;
use crate::session::{Grant, Scope, Session};
use crate::view::BackendView;

impl Gateway {
    /// The view of a configured server as `caller` sees it, whatever its state.
    pub(super) fn server_view(
        &self,
        caller: Option<&Caller>,
        name: &str,
    ) -> Result<Arc<BackendView>, GatewayError> {
        self.registry
            .view(name)
            .map(|v| self.for_caller(caller, v))
            .ok_or_else(|| GatewayError::Unavailable {
                server: name.to_string(),
                reason: "not configured".into(),
            })
    }

    /// The backend and original name behind an exposed tool or prompt name, as `caller` sees
    /// the backends (their instances of per-user servers).
    pub(super) fn resolve_name(
        &self,
        scope: &Scope,
        grant: Option<&Grant>,
        caller: Option<&Caller>,
        exposed: &str,
        kind: ListKind,
    ) -> Result<(Arc<BackendView>, String), GatewayError> {
        if let Scope::Virtual { .. } = scope {
            return self.resolve_virtual(scope, grant, caller, exposed, kind);
        }
        let unknown = || match kind {
            ListKind::Prompts => GatewayError::UnknownPrompt(exposed.to_string()),
            _ => GatewayError::UnknownTool(exposed.to_string()),
        };
        let namespaced = scope.namespaced() && self.config().settings.namespacing;
        let (view, original) = if namespaced {
            let (prefix, _) = names::split(exposed).ok_or_else(unknown)?;
            let view = self
                .view_for_prefix(scope, grant, prefix, exposed)
                .map(|v| self.for_caller(caller, v))
                .ok_or_else(unknown)?;
            let original = view.original_name(exposed).ok_or_else(unknown)?.to_string();
            (view, original)
        } else {
            let views: Vec<_> = self
                .views_in_scope(scope, grant)
                .into_iter()
                .map(|v| self.for_caller(caller, v))
                .collect();
            let owner = views.iter().find(|v| listed(v, kind, exposed));
            match (owner, scope) {
                (Some(v), _) => (v.clone(), exposed.to_string()),
                // A single server that is down cannot say what it has; say it is down.
                (None, Scope::Server(name)) => {
                    let view = self.server_view(caller, name)?;
                    if !crate::gateway::granted(grant, &view.config) {
                        return Err(unknown());
                    }
                    if !view.snapshot.is_ready() {
                        return Err(unavailable(&view));
                    }
                    // One server behind its own endpoint: a tool it does not list is its to
                    // refuse, in its own words, unless the configured filter hides the name.
                    if kind == ListKind::Tools && view.config.tools.admits(exposed) {
                        return Ok((view, exposed.to_string()));
                    }
                    return Err(unknown());
                }
                (None, _) => return Err(unknown()),
            }
        };
        if !view.snapshot.is_ready() {
            return Err(unavailable(&view));
        }
        if !listed(&view, kind, &original) {
            return Err(unknown());
        }
        Ok((view, original))
    }

    /// The `x-mcp-header` bindings of a tool's input schema (2026-07-28): for each, the header
    /// suffix (`Mcp-Param-{suffix}`) and the argument it mirrors. Empty when the tool is unknown.
    pub fn header_params(
        &self,
        scope: &Scope,
        caller: Option<&Caller>,
        exposed: &str,
    ) -> Vec<(String, String)> {
        let grant = self.grant_of(caller);
        let Ok((view, original)) =
            self.resolve_name(scope, grant.as_ref(), caller, exposed, ListKind::Tools)
        else {
            return Vec::new();
        };
        let Some(tool) = view
            .tools
            .plain
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(original.as_str()))
        else {
            return Vec::new();
        };
        let Some(properties) = tool
            .pointer("/inputSchema/properties")
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        properties
            .iter()
            .filter_map(|(name, schema)| {
                let suffix = schema.get("x-mcp-header")?.as_str()?;
                Some((suffix.to_string(), name.clone()))
            })
            .collect()
    }

    /// The backend in `scope` whose namespace is `prefix` (or that lists `exposed` as an alias).
    /// The prefix is the server name unless configured otherwise, so the direct lookup usually
    /// hits without scanning every backend.
    fn view_for_prefix(
        &self,
        scope: &Scope,
        grant: Option<&Grant>,
        prefix: &str,
        exposed: &str,
    ) -> Option<Arc<BackendView>> {
        let config = self.config();
        if let Some(view) = self.registry.view(prefix)
            && view.config.prefix == prefix
            && crate::gateway::in_scope(&config, scope, grant, &view)
        {
            return Some(view);
        }
        self.views_in_scope(scope, grant)
            .into_iter()
            .find(|v| v.config.prefix == prefix || v.aliases.contains_key(exposed))
    }

    /// The backend and original URI behind an exposed resource URI (or URI template).
    pub(super) fn resolve_uri(
        &self,
        session: &Session,
        exposed: &str,
    ) -> Result<(Arc<BackendView>, String), GatewayError> {
        let views = self.views_for(session);
        let found = if session.scope.namespaced() {
            names::unwrap_uri(exposed)
                .and_then(|(alias, original)| {
                    views
                        .iter()
                        .find(|v| v.uri_alias == alias)
                        .map(|v| (v.clone(), original.to_string()))
                })
                // A URI the client learnt elsewhere, unwrapped: its owner if exactly one lists it.
                .or_else(|| {
                    let mut owners = views.iter().filter(|v| {
                        v.resources
                            .plain
                            .iter()
                            .any(|r| r.get("uri").and_then(Value::as_str) == Some(exposed))
                    });
                    match (owners.next(), owners.next()) {
                        (Some(v), None) => Some((v.clone(), exposed.to_string())),
                        _ => None,
                    }
                })
        } else {
            views.first().map(|v| (v.clone(), exposed.to_string()))
        };
        let (view, original) =
            found.ok_or_else(|| GatewayError::UnknownResource(exposed.to_string()))?;
        if !view.snapshot.is_ready() {
            return Err(unavailable(&view));
        }
        Ok((view, original))
    }

    /// The URI a session sees for a backend's original URI.
    pub(crate) fn exposed_uri(&self, session: &Session, view: &BackendView, uri: &str) -> String {
        if session.scope.namespaced() {
            names::wrap_uri(&view.uri_alias, uri)
        } else {
            uri.to_string()
        }
    }
}

fn listed(view: &BackendView, kind: ListKind, name: &str) -> bool {
    match kind {
        ListKind::Prompts => view.prompts.contains(name),
        _ => view.tools.contains(name),
    }
}

fn unavailable(view: &BackendView) -> GatewayError {
    GatewayError::Unavailable {
        server: view.name.to_string(),
        reason: view.unavailable_reason(),
    }
}
