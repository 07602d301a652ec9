//! `/api/v1/tenants/{tenant}/endpoints`: a tenant's virtual MCP endpoints (`/mcp/{slug}`) and the
//! tools each one selects from the gateway's backends.
//!
//! Reading needs the `admin` scope; changes also the owner or admin role. A slug is global (it is
//! a URL): one taken by another endpoint, or used by the configuration file for a server, an API
//! or an endpoint, is a 409 naming the clash. A selection is checked against the
//! [`EndpointCatalog`](crate::EndpointCatalog): the backend must exist and be granted to the
//! tenant (otherwise 409, the same answer for both), and, when the backend is up, list the tool
//! (otherwise 409 listing its tools); two tools of one name are a 409 too. These conflict with the
//! gateway's current backends rather than break a rule of the document: the same body may be
//! right once the configuration changes.
//! A backend that is not up yet cannot say what it has: its selections are accepted unchecked and
//! the tool appears on the endpoint once the backend offers it. After every change the gateway is
//! told, and serves the new definition before the response is sent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use toolport_metering::Resource;
use toolport_store::{
    Endpoint, EndpointChanges, EndpointMode, EndpointTool, NewEndpoint, Store, Tenant,
};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging, page_of};
use crate::problem::Problem;
use crate::state::AdminState;
use crate::validate;

/// How an endpoint exposes its tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = EndpointMode)]
pub enum ModeName {
    /// Each selected tool as a tool of its own.
    Tools,
    /// `{slug}__list_operations`, `{slug}__describe_operation` and `{slug}__call_operation` over
    /// the selected tools.
    Dispatch,
    /// `{slug}__search_operations` (ranked search) and `{slug}__call_operation` over the selected
    /// tools.
    Search,
}

impl From<EndpointMode> for ModeName {
    fn from(mode: EndpointMode) -> Self {
        match mode {
            EndpointMode::Tools => Self::Tools,
            EndpointMode::Dispatch => Self::Dispatch,
            EndpointMode::Search => Self::Search,
        }
    }
}

/// One selected tool, as sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EndpointTool)]
pub struct EndpointToolView {
    /// The name the endpoint's clients see and call.
    pub name: String,
    /// The backend (server or API of the configuration) that owns the tool.
    pub upstream: String,
    /// The backend's own name for the tool.
    pub tool: String,
    /// The description clients see instead of the backend's; `null` keeps the backend's.
    pub description: Option<String>,
    /// Whether clients see and may call it.
    pub visible: bool,
}

impl From<EndpointTool> for EndpointToolView {
    fn from(t: EndpointTool) -> Self {
        Self {
            name: t.exposed_name,
            upstream: t.upstream,
            tool: t.tool,
            description: t.description,
            visible: t.visible,
        }
    }
}

/// A virtual MCP endpoint, served at `/mcp/{slug}` (and `/sse/{slug}`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Endpoint)]
pub struct EndpointView {
    /// Opaque id.
    pub id: String,
    /// The owning tenant's id.
    pub tenant_id: String,
    /// The URL path segment, unique across the gateway.
    pub slug: String,
    /// What it is for.
    pub description: String,
    /// How it exposes its tools.
    pub mode: ModeName,
    /// Its tools, ordered by name.
    pub tools: Vec<EndpointToolView>,
    /// When it was created (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
    /// When it or its tools last changed (Unix seconds).
    #[schema(minimum = 0)]
    pub updated_at: i64,
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id,
            slug: e.slug,
            description: e.description,
            mode: e.mode.into(),
            tools: e.tools.into_iter().map(Into::into).collect(),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

page_of!(EndpointPage, EndpointView, "endpoints");

/// A tool to select.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSelection {
    /// The name clients see; the backend's tool name when omitted.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)]
    pub name: Option<String>,
    /// The backend (a server or API of the configuration granted to the tenant).
    #[schema(pattern = "^[^\\x00-\\x1F\\x7F]+$", min_length = 1, max_length = 128)]
    pub upstream: String,
    /// The backend's own name for the tool.
    #[schema(pattern = "^[^\\x00-\\x1F\\x7F]+$", min_length = 1, max_length = 128)]
    pub tool: String,
    /// A description to show instead of the backend's.
    #[schema(max_length = 8192)]
    pub description: Option<String>,
    /// Whether clients see and may call it (default true).
    pub visible: Option<bool>,
}

/// A tool to put under the name in the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedToolSelection {
    /// The backend (a server or API of the configuration granted to the tenant).
    #[schema(pattern = "^[^\\x00-\\x1F\\x7F]+$", min_length = 1, max_length = 128)]
    pub upstream: String,
    /// The backend's own name for the tool.
    #[schema(pattern = "^[^\\x00-\\x1F\\x7F]+$", min_length = 1, max_length = 128)]
    pub tool: String,
    /// A description to show instead of the backend's.
    #[schema(max_length = 8192)]
    pub description: Option<String>,
    /// Whether clients see and may call it (default true).
    pub visible: Option<bool>,
}

/// An endpoint to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointRequest {
    /// The path segment of `/mcp/{slug}`: lower-case letters, digits, `_` and `-`.
    #[schema(
        pattern = "^[a-z0-9][a-z0-9_-]{0,62}$",
        min_length = 1,
        max_length = 63
    )]
    pub slug: String,
    /// What it is for (default empty).
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// How it exposes its tools (default `tools`).
    pub mode: Option<ModeName>,
    /// Its tools (default none); names must be distinct.
    #[schema(max_items = 1000)]
    pub tools: Option<Vec<ToolSelection>>,
}

/// Changes to an endpoint; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    /// A new description.
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// A new mode.
    pub mode: Option<ModeName>,
}

/// An endpoint's whole new tool selection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSelectionList {
    /// The tools; names must be distinct.
    #[schema(max_items = 1000)]
    pub tools: Vec<ToolSelection>,
}

impl From<ModeName> for EndpointMode {
    fn from(mode: ModeName) -> Self {
        match mode {
            ModeName::Tools => Self::Tools,
            ModeName::Dispatch => Self::Dispatch,
            ModeName::Search => Self::Search,
        }
    }
}

/// The exposed names of an endpoint's tools, for the audit log.
fn tool_names(endpoint: &Endpoint) -> Vec<&str> {
    endpoint
        .tools
        .iter()
        .map(|t| t.exposed_name.as_str())
        .collect()
}

/// Checks one selected tool against the rules and the catalog; `at` names it in messages.
fn checked_tool<S: Store + 'static>(
    state: &AdminState<S>,
    tenant: &Tenant,
    at: &str,
    name: Option<String>,
    selection: NamedToolSelection,
) -> Result<EndpointTool, Problem> {
    validate::label(
        &format!("{at}.upstream"),
        &selection.upstream,
        validate::REFERENCE_MAX,
    )?;
    validate::label(
        &format!("{at}.tool"),
        &selection.tool,
        validate::REFERENCE_MAX,
    )?;
    let exposed_name = name.unwrap_or_else(|| selection.tool.clone());
    if let Some(description) = &selection.description {
        validate::text(
            &format!("{at}.description"),
            description,
            validate::TOOL_DESCRIPTION_MAX,
        )?;
    }
    let offered = state
        .catalog
        .upstream_tools(tenant, &selection.upstream)
        .ok_or_else(|| {
            Problem::conflict(format!(
                "`{at}.upstream`: no backend named {:?} is available to this tenant; the \
                 configuration file's `tenants` setting of a server or API grants it",
                selection.upstream
            ))
        })?;
    if offered.ready && !offered.tools.contains(&selection.tool) {
        const SHOWN: usize = 20;
        let mut known = offered
            .tools
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>();
        if offered.tools.len() > SHOWN {
            known.push(format!("and {} more", offered.tools.len() - SHOWN));
        }
        return Err(Problem::conflict(format!(
            "`{at}.tool`: backend {:?} has no tool {:?}; its tools: {}",
            selection.upstream,
            selection.tool,
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    // Checked after the backend, as a default name comes from the backend's tool.
    validate::tool_name(&format!("{at}.name"), &exposed_name)?;
    Ok(EndpointTool {
        exposed_name,
        upstream: selection.upstream,
        tool: selection.tool,
        description: selection.description,
        visible: selection.visible.unwrap_or(true),
    })
}

/// Checks a whole selection: each tool, at most [`validate::ENDPOINT_TOOLS_MAX`], distinct names.
fn checked_tools<S: Store + 'static>(
    state: &AdminState<S>,
    tenant: &Tenant,
    selections: Vec<ToolSelection>,
) -> Result<Vec<EndpointTool>, Problem> {
    if selections.len() > validate::ENDPOINT_TOOLS_MAX {
        return Err(Problem::invalid(format!(
            "`tools` lists {} tools; an endpoint has at most {}",
            selections.len(),
            validate::ENDPOINT_TOOLS_MAX
        )));
    }
    let mut tools: Vec<EndpointTool> = Vec::with_capacity(selections.len());
    for (index, s) in selections.into_iter().enumerate() {
        let selection = NamedToolSelection {
            upstream: s.upstream,
            tool: s.tool,
            description: s.description,
            visible: s.visible,
        };
        let tool = checked_tool(state, tenant, &format!("tools[{index}]"), s.name, selection)?;
        if let Some(first) = tools
            .iter()
            .position(|t| t.exposed_name == tool.exposed_name)
        {
            return Err(Problem::conflict(format!(
                "`tools[{index}]` and `tools[{first}]` are both named {:?}; give one of them \
                 another `name`",
                tool.exposed_name
            )));
        }
        tools.push(tool);
    }
    Ok(tools)
}

/// The tenant's endpoints with their tools, ordered by slug.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/endpoints",
    tag = "endpoints",
    operation_id = "list_endpoints",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), PageParams),
    responses(
        (status = 200, description = "One page of endpoints, ordered by slug.", body = EndpointPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_endpoints<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    paging: Paging,
) -> Result<Json<EndpointPage>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let page = state
        .store
        .list_endpoints(&tenant.id, &paging.request()?)
        .await?;
    Ok(Json(EndpointPage::from_page(page)))
}

/// Creates an endpoint (owner or admin); it is served at `/mcp/{slug}` when this answers.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/endpoints",
    tag = "endpoints",
    operation_id = "create_endpoint",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    request_body = NewEndpointRequest,
    responses(
        (status = 201, description = "The endpoint was created.", body = EndpointView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn create_endpoint<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    body: JsonBody<NewEndpointRequest>,
) -> Result<(StatusCode, Json<EndpointView>), Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "create endpoints")?;
    let body = body.value()?;
    validate::slug(&body.slug)?;
    let description = body.description.unwrap_or_default();
    validate::text(
        "description",
        &description,
        validate::ENDPOINT_DESCRIPTION_MAX,
    )?;
    let mode = body.mode.map_or(EndpointMode::Tools, EndpointMode::from);
    let tools = checked_tools(&state, &tenant, body.tools.unwrap_or_default())?;
    if let Some(clash) = state.catalog.reserved(&body.slug) {
        return Err(Problem::conflict(format!(
            "slug `{}` cannot be used: {clash}; choose another slug",
            body.slug
        )));
    }
    let plan = state.meter.plan_of(&tenant.id).await?;
    let endpoint = state
        .store
        .create_endpoint(&NewEndpoint {
            tenant_id: tenant.id.clone(),
            slug: body.slug,
            description,
            mode,
            tools,
            at_most: plan.limit(Resource::Endpoints),
        })
        .await
        .map_err(|e| Problem::beyond_plan(&plan, Resource::Endpoints, e))?;
    state.catalog.endpoints_changed().await;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "endpoint.create",
        &endpoint.slug,
        json!({"mode": endpoint.mode.as_str(), "tools": tool_names(&endpoint)}),
    );
    Ok((StatusCode::CREATED, Json(endpoint.into())))
}

/// One endpoint with its tools.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/endpoints/{slug}",
    tag = "endpoints",
    operation_id = "get_endpoint",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("slug" = String, Path, description = "The endpoint's slug."),
    ),
    responses(
        (status = 200, description = "The endpoint.", body = EndpointView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_endpoint<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, slug)): PathArgs<(String, String)>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let endpoint = state.store.endpoint(&tenant.id, &slug).await?;
    Ok(Json(endpoint.into()))
}

/// Changes an endpoint's description or mode (owner or admin).
#[utoipa::path(
    patch,
    path = "/api/v1/tenants/{tenant}/endpoints/{slug}",
    tag = "endpoints",
    operation_id = "update_endpoint",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("slug" = String, Path, description = "The endpoint's slug."),
    ),
    request_body = EndpointPatch,
    responses(
        (status = 200, description = "The changed endpoint.", body = EndpointView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn update_endpoint<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, slug)): PathArgs<(String, String)>,
    body: JsonBody<EndpointPatch>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "change endpoints")?;
    // A missing endpoint is 404 whatever the body says.
    state.store.endpoint(&tenant.id, &slug).await?;
    let body = body.value()?;
    if let Some(description) = &body.description {
        validate::text(
            "description",
            description,
            validate::ENDPOINT_DESCRIPTION_MAX,
        )?;
    }
    let changes = EndpointChanges {
        description: body.description,
        mode: body.mode.map(EndpointMode::from),
    };
    let endpoint = state
        .store
        .update_endpoint(&tenant.id, &slug, &changes)
        .await?;
    state.catalog.endpoints_changed().await;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "endpoint.update",
        &slug,
        json!({"mode": endpoint.mode.as_str(), "description_changed": changes.description.is_some()}),
    );
    Ok(Json(endpoint.into()))
}

/// Deletes an endpoint (owner or admin); its sessions lose every tool at once.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/endpoints/{slug}",
    tag = "endpoints",
    operation_id = "delete_endpoint",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("slug" = String, Path, description = "The endpoint's slug."),
    ),
    responses(
        (status = 204, description = "The endpoint was deleted."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn delete_endpoint<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, slug)): PathArgs<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "delete endpoints")?;
    state.store.delete_endpoint(&tenant.id, &slug).await?;
    state.catalog.endpoints_changed().await;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "endpoint.delete",
        &slug,
        json!({}),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces an endpoint's whole tool selection (owner or admin).
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant}/endpoints/{slug}/tools",
    tag = "endpoints",
    operation_id = "set_endpoint_tools",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("slug" = String, Path, description = "The endpoint's slug."),
    ),
    request_body = ToolSelectionList,
    responses(
        (status = 200, description = "The endpoint with its new tools.", body = EndpointView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn set_endpoint_tools<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, slug)): PathArgs<(String, String)>,
    body: JsonBody<ToolSelectionList>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "change endpoints")?;
    state.store.endpoint(&tenant.id, &slug).await?;
    let tools = checked_tools(&state, &tenant, body.value()?.tools)?;
    let endpoint = state
        .store
        .set_endpoint_tools(&tenant.id, &slug, &tools)
        .await?;
    state.catalog.endpoints_changed().await;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "endpoint.tools.set",
        &slug,
        json!({"tools": tool_names(&endpoint)}),
    );
    Ok(Json(endpoint.into()))
}

/// Adds a tool to an endpoint under the name in the path, or replaces the tool of that name
/// (owner or admin).
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}",
    tag = "endpoints",
    operation_id = "put_endpoint_tool",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("slug" = String, Path, description = "The endpoint's slug."),
        (
            "name" = String, Path, description = "The name clients see.",
            pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64
        ),
    ),
    request_body = NamedToolSelection,
    responses(
        (status = 200, description = "The endpoint with its tools.", body = EndpointView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn put_endpoint_tool<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, slug, name)): PathArgs<(String, String, String)>,
    body: JsonBody<NamedToolSelection>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "change endpoints")?;
    state.store.endpoint(&tenant.id, &slug).await?;
    validate::tool_name("name (in the path)", &name)?;
    let tool = checked_tool(&state, &tenant, "body", Some(name), body.value()?)?;
    let endpoint = state
        .store
        .put_endpoint_tool(&tenant.id, &slug, &tool)
        .await?;
    state.catalog.endpoints_changed().await;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "endpoint.tool.put",
        &slug,
        json!({"name": tool.exposed_name, "upstream": tool.upstream, "tool": tool.tool,
               "visible": tool.visible}),
    );
    Ok(Json(endpoint.into()))
}

/// Removes a tool from an endpoint (owner or admin).
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}",
    tag = "endpoints",
    operation_id = "remove_endpoint_tool",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("slug" = String, Path, description = "The endpoint's slug."),
        ("name" = String, Path, description = "The name clients see."),
    ),
    responses(
        (status = 200, description = "The endpoint with its remaining tools.", body = EndpointView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn remove_endpoint_tool<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, slug, name)): PathArgs<(String, String, String)>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "change endpoints")?;
    let endpoint = state
        .store
        .remove_endpoint_tool(&tenant.id, &slug, &name)
        .await?;
    state.catalog.endpoints_changed().await;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "endpoint.tool.remove",
        &slug,
        json!({"name": name}),
    );
    Ok(Json(endpoint.into()))
}
