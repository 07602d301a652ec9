//! Virtual endpoints (`/mcp/{slug}`): a tenant's chosen tools of the gateway's backends, each
//! under its own exposed name and, if wanted, with a description of its own. The gateway holds
//! the current definitions in one map, replaced as a whole by [`Gateway::set_virtual_endpoints`];
//! a session on a virtual endpoint names its definition by slug *and* id, so that a slug deleted
//! and taken again (by the same or another tenant) never hands an old session the new tools.
//!
//! In the `tools` mode a virtual endpoint lists exactly its visible selected tools, with the input
//! schema and the rest of the backend's current catalog entry. In the `dispatch` and `search` modes
//! it lists the meta-tools Toolport builds for large APIs (`toolport_import::modes`) instead, named
//! after the slug, answered here over the same selected tools; `call_operation` becomes a call of
//! the chosen tool, which goes the way of every call. Anything else is an unknown tool, exactly
//! like a tool that does not exist. An endpoint has no prompts or resources, and receives none of
//! its backends' broadcast notifications (logs, resource updates): only what relates to its own
//! requests.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};
use toolport_import::modes::{Operation, dispatch, prefix, resolve_call, search};
use toolport_import::{JsonText, McpTool, Mode, OperationInfo, ToolAnnotations};
use toolport_protocol::{Message, Notification, Request};
use toolport_upstream::api::{json_result, text_result};

use crate::admission::Caller;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::registry::ListKind;
use crate::session::{Grant, Scope, Session};
use crate::view::BackendView;

/// One virtual endpoint as the gateway serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualEndpoint {
    /// The stored endpoint's id: sessions are bound to it, not only to the slug.
    pub id: String,
    /// The owning tenant's id (the MCP edge answers only its tokens).
    pub tenant_id: String,
    /// The URL path segment.
    pub slug: String,
    /// How the selected tools are exposed.
    pub mode: Mode,
    /// The selected tools, in listing order.
    pub tools: Vec<VirtualTool>,
}

/// One tool of a virtual endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualTool {
    /// The name the endpoint's clients see and call.
    pub exposed: String,
    /// The backend (server or API) that owns the tool.
    pub upstream: String,
    /// The backend's own name for it.
    pub tool: String,
    /// Replaces the backend's description when set.
    pub description: Option<String>,
    /// Hidden tools are neither listed nor callable.
    pub visible: bool,
}

/// What a backend offers for a selection: the tools its configuration lets through, and whether
/// that list is current (a backend that is not ready yet has no catalog to check against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendTools {
    /// Whether the backend is up and its catalog loaded.
    pub ready: bool,
    /// Its tools' original names, after the server's allow/deny filter.
    pub tools: Vec<String>,
}

/// The definitions, by slug.
pub(crate) type VirtualMap = HashMap<String, Arc<VirtualEndpoint>>;

/// A selected tool as an operation of the dispatch and search meta-tools: its exposed tool, and
/// its backend and original name as the operation's path and tag.
struct SelectedOperation {
    tool: McpTool,
    info: OperationInfo,
}

impl Operation for SelectedOperation {
    fn tool(&self) -> &McpTool {
        &self.tool
    }

    fn info(&self) -> &OperationInfo {
        &self.info
    }
}

impl SelectedOperation {
    fn of(selected: &VirtualTool, item: &Value) -> Self {
        let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            tool: McpTool {
                name: selected.exposed.clone(),
                title: text("title"),
                description: text("description"),
                input_schema: JsonText::from_value(
                    item.get("inputSchema")
                        .unwrap_or(&json!({"type": "object"})),
                ),
                output_schema: item.get("outputSchema").map(JsonText::from_value),
                annotations: ToolAnnotations::default(),
            },
            info: OperationInfo {
                id: Some(selected.tool.clone()),
                method: "MCP".into(),
                path: format!("{}/{}", selected.upstream, selected.tool),
                tags: vec![selected.upstream.clone()],
                summary: None,
                deprecated: false,
                pointer: String::new(),
            },
        }
    }
}

/// What a `tools/call` on a virtual scope becomes.
pub(crate) enum MetaCall {
    /// A meta-tool answered here.
    Answered(Value),
    /// A call to route like any other (possibly rewritten from `call_operation`).
    Forward(Request),
}

impl Gateway {
    /// Replaces every virtual endpoint definition at once. Initialized sessions of each slug whose
    /// definition changed (added, removed, or different) are told `notifications/tools/list_changed`.
    pub fn set_virtual_endpoints(&self, endpoints: Vec<VirtualEndpoint>) {
        let next: VirtualMap = endpoints
            .into_iter()
            .map(|e| (e.slug.clone(), Arc::new(e)))
            .collect();
        let previous = std::mem::replace(
            &mut *self
                .virtual_endpoints
                .write()
                .expect("virtual endpoints lock"),
            Arc::new(next.clone()),
        );
        let changed: BTreeSet<&String> = previous
            .keys()
            .chain(next.keys())
            .filter(|slug| previous.get(*slug) != next.get(*slug))
            .collect();
        if changed.is_empty() {
            return;
        }
        let sessions: Vec<Arc<Session>> = self
            .sessions
            .lock()
            .expect("sessions lock")
            .values()
            .filter(|s| {
                s.stateful
                    && matches!(&s.scope, Scope::Virtual { slug, .. } if changed.contains(slug))
            })
            .cloned()
            .collect();
        for session in sessions {
            if session.state.lock().expect("session lock").initialized {
                session.send(Message::Notification(Notification::new(
                    "notifications/tools/list_changed",
                    None,
                )));
            }
        }
    }

    /// The virtual endpoint served at `/mcp/{slug}`, if there is one.
    pub fn virtual_endpoint(&self, slug: &str) -> Option<Arc<VirtualEndpoint>> {
        self.virtual_endpoints
            .read()
            .expect("virtual endpoints lock")
            .get(slug)
            .cloned()
    }

    /// What backend `name` offers to a selection; `None` when no such backend is configured.
    pub fn backend_tools(&self, name: &str) -> Option<BackendTools> {
        let view = self.registry.view(name)?;
        let tools = view
            .tools
            .plain
            .iter()
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect();
        Some(BackendTools {
            ready: view.snapshot.is_ready(),
            tools,
        })
    }

    /// The definition a virtual scope points at: the current one of its slug, if it is still the
    /// same endpoint.
    pub(crate) fn virtual_definition(&self, scope: &Scope) -> Option<Arc<VirtualEndpoint>> {
        let Scope::Virtual { slug, endpoint_id } = scope else {
            return None;
        };
        self.virtual_endpoint(slug)
            .filter(|definition| definition.id == *endpoint_id)
    }

    /// The backends a virtual scope's visible selection draws on, or, for `exposed`, the one
    /// behind that tool (empty for other scopes and unknown names).
    pub(crate) fn virtual_upstreams(&self, scope: &Scope, exposed: Option<&str>) -> Vec<String> {
        let Some(definition) = self.virtual_definition(scope) else {
            return Vec::new();
        };
        let mut upstreams: Vec<String> = definition
            .tools
            .iter()
            .filter(|t| t.visible && exposed.is_none_or(|name| t.exposed == name))
            .map(|t| t.upstream.clone())
            .collect();
        upstreams.sort();
        upstreams.dedup();
        upstreams
    }

    /// Whether a session of `scope` shows tools of `backend` (to pass on its list changes).
    pub(crate) fn virtual_uses(&self, scope: &Scope, backend: &str) -> bool {
        self.virtual_definition(scope)
            .is_some_and(|d| d.tools.iter().any(|t| t.visible && t.upstream == backend))
    }

    /// The backend behind a selected tool as `session` sees it: only while it is granted to the
    /// session's tenant, and a per-user server's instance of the session's user.
    fn selected_view(
        &self,
        grant: Option<&Grant>,
        caller: Option<&Caller>,
        upstream: &str,
    ) -> Option<Arc<BackendView>> {
        let view = self
            .registry
            .view(upstream)
            .filter(|v| crate::gateway::granted(grant, &v.config))?;
        Some(self.for_caller(caller, view))
    }

    /// The visible selected tools their backends currently offer the session, each with its
    /// catalog entry renamed and redescribed.
    fn offered<'d>(
        &self,
        session: &Session,
        definition: &'d VirtualEndpoint,
    ) -> Vec<(&'d VirtualTool, Value)> {
        definition
            .tools
            .iter()
            .filter(|t| t.visible)
            .filter_map(|t| {
                let view = self.selected_view(
                    session.grant.as_ref(),
                    session.caller.as_deref(),
                    &t.upstream,
                )?;
                let mut item = view
                    .tools
                    .plain
                    .iter()
                    .find(|item| item.get("name").and_then(Value::as_str) == Some(&t.tool))?
                    .clone();
                item["name"] = Value::String(t.exposed.clone());
                if let Some(description) = &t.description {
                    item["description"] = Value::String(description.clone());
                }
                Some((t, item))
            })
            .collect()
    }

    /// The items a virtual scope lists: its offered tools in the `tools` mode, the meta-tools of
    /// its mode otherwise; nothing for other lists or other scopes.
    pub(crate) fn virtual_listing(&self, session: &Session, kind: ListKind) -> Vec<Value> {
        let Some(definition) = self.virtual_definition(&session.scope) else {
            return Vec::new();
        };
        if kind != ListKind::Tools {
            return Vec::new();
        }
        let meta = match definition.mode {
            Mode::Tools => {
                return self
                    .offered(session, &definition)
                    .into_iter()
                    .map(|(_, item)| item)
                    .collect();
            }
            Mode::Dispatch => dispatch::meta_tools(&definition.slug, None),
            Mode::Search => search::meta_tools(&definition.slug, None),
        };
        meta.iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect()
    }

    /// A `tools/call` on a virtual scope in the `dispatch` or `search` mode: its meta-tools are
    /// answered here over the offered tools, and `call_operation` becomes a call of the chosen
    /// tool. Everything else is routed as it is.
    pub(crate) fn virtual_meta_call(
        &self,
        session: &Session,
        request: Request,
    ) -> Result<MetaCall, GatewayError> {
        let Some(definition) = self
            .virtual_definition(&session.scope)
            .filter(|d| d.mode != Mode::Tools)
        else {
            return Ok(MetaCall::Forward(request));
        };
        let name = request
            .str_param("name")
            .map_err(|e| GatewayError::InvalidParams(e.message))?;
        let slug_prefix = prefix(&definition.slug);
        let Some(meta) = name
            .strip_prefix(slug_prefix.as_str())
            .and_then(|rest| rest.strip_prefix("__"))
            .map(str::to_owned)
        else {
            return Ok(MetaCall::Forward(request));
        };
        let arguments = request
            .params
            .as_ref()
            .and_then(|p| p.get("arguments"))
            .cloned()
            .unwrap_or_else(|| json!({}));
        let text = |key: &str| arguments.get(key).and_then(Value::as_str);
        let number = |key: &str, default: usize| {
            arguments
                .get(key)
                .and_then(Value::as_u64)
                .map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        let ops: Vec<SelectedOperation> = self
            .offered(session, &definition)
            .iter()
            .map(|(selected, item)| SelectedOperation::of(selected, item))
            .collect();
        let answer = match (definition.mode, meta.as_str()) {
            (Mode::Dispatch, "list_operations") => json_result(dispatch::list_operations(
                &ops,
                text("query"),
                text("tag"),
                number("offset", 0),
                number("limit", dispatch::DEFAULT_LIMIT),
            )),
            (Mode::Dispatch, "describe_operation") => {
                let wanted = text("operation").unwrap_or_default();
                match dispatch::describe_operation(&ops, wanted) {
                    Some(described) => json_result(described),
                    None => text_result(
                        format!(
                            "no operation named `{wanted}`; list the operations to find its exact name"
                        ),
                        true,
                    ),
                }
            }
            (Mode::Search, "search_operations") => {
                let index = search::SearchIndex::new(&ops);
                json_result(search::search_operations(
                    &ops,
                    &index,
                    text("query").unwrap_or_default(),
                    number("limit", 5),
                ))
            }
            (_, "call_operation") => match resolve_call(&ops, &arguments) {
                Ok((chosen, chosen_arguments)) => {
                    let mut request = request;
                    let params = request.params.get_or_insert_with(|| json!({}));
                    params["name"] = Value::String(chosen.tool.name.clone());
                    params["arguments"] = chosen_arguments;
                    return Ok(MetaCall::Forward(request));
                }
                Err(message) => text_result(message, true),
            },
            _ => return Ok(MetaCall::Forward(request)),
        };
        Ok(MetaCall::Answered(answer))
    }

    /// The backend and original name behind a tool name called on a virtual scope. Whatever the
    /// endpoint does not show is an unknown tool, as if it did not exist.
    pub(crate) fn resolve_virtual(
        &self,
        scope: &Scope,
        grant: Option<&Grant>,
        caller: Option<&Caller>,
        exposed: &str,
        kind: ListKind,
    ) -> Result<(Arc<BackendView>, String), GatewayError> {
        let unknown = || match kind {
            ListKind::Prompts => GatewayError::UnknownPrompt(exposed.to_string()),
            _ => GatewayError::UnknownTool(exposed.to_string()),
        };
        if kind != ListKind::Tools {
            return Err(unknown());
        }
        let definition = self.virtual_definition(scope).ok_or_else(unknown)?;
        let selected = definition
            .tools
            .iter()
            .find(|t| t.visible && t.exposed == exposed)
            .ok_or_else(unknown)?;
        let view = self
            .selected_view(grant, caller, &selected.upstream)
            .ok_or_else(unknown)?;
        if !view.snapshot.is_ready() {
            return Err(GatewayError::Unavailable {
                server: view.name.to_string(),
                reason: view.unavailable_reason(),
            });
        }
        if !view.tools.contains(&selected.tool) {
            return Err(unknown());
        }
        Ok((view, selected.tool.clone()))
    }
}
