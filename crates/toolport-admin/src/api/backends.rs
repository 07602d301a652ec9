//! `/api/v1/tenants/{tenant}/apis` and `/api/v1/tenants/{tenant}/servers`: the HTTP APIs and MCP
//! servers a tenant registers. Each is private to its tenant: its tools appear on `/mcp` for the
//! tenant's tokens (namespaced by its name) and can be selected into the tenant's virtual
//! endpoints; no other tenant sees it, the administrator's included.
//!
//! A definition is one entry of the configuration file's `apis` or `mcpServers`, as JSON, under
//! the rules the [`BackendRegistry`](crate::BackendRegistry) enforces (no environment variables,
//! no local files, credentials as `${secret:NAME}` references to the tenant's vault, stdio
//! servers only when the operator allows them). An API's description is uploaded as `document`
//! or fetched from the `spec` URL, and converted before the registration is stored, so a broken
//! one is refused with the converter's message.
//!
//! Reading needs the `admin` scope; changes also the owner or admin role. The plan's `apis`
//! limit counts APIs and servers together; `toolsPerApi` bounds the tools an API's description
//! yields (after `include`/`exclude`). After every change the gateway is told, and runs the new
//! set before the response is sent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use toolport_metering::Resource;
use toolport_store::{BackendKind, NewBackend, RegisteredBackend, Store, Tenant};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging, page_of};
use crate::problem::Problem;
use crate::registry::{BackendState, RegistrationRefusal};
use crate::state::AdminState;
use crate::validate;

/// A registration's state in the running gateway.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = BackendState)]
pub struct BackendStateView {
    /// `starting`, `ready`, `down`, `per_user` (one instance per member, started on demand) or
    /// `invalid` (the stored definition no longer validates, e.g. a secret it names is gone).
    pub state: String,
    /// Why it is down or invalid.
    pub reason: Option<String>,
    /// The tools it offers now.
    #[schema(minimum = 0)]
    pub tools: u64,
}

impl From<BackendState> for BackendStateView {
    fn from(s: BackendState) -> Self {
        Self {
            state: s.state,
            reason: s.reason,
            tools: s.tools,
        }
    }
}

/// A registered API or MCP server.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Backend)]
pub struct BackendView {
    /// Unique within the tenant across APIs and servers; the namespace of its tools.
    pub name: String,
    /// `api` or `server`.
    pub kind: String,
    /// The definition as registered (credentials are `${secret:NAME}` references).
    #[schema(value_type = Object)]
    pub definition: Value,
    /// The size of the uploaded description, when one was uploaded.
    #[schema(minimum = 0)]
    pub document_bytes: Option<u64>,
    /// Its state in the gateway; `null` when the gateway does not run it.
    pub state: Option<BackendStateView>,
    /// When it was registered (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
    /// When it was last replaced (Unix seconds).
    #[schema(minimum = 0)]
    pub updated_at: i64,
}

page_of!(BackendPage, BackendView, "registered APIs or servers");

/// An API to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiRequest {
    /// The API's name: the namespace of its tools (`NAME__operation`).
    #[schema(
        pattern = "^[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$",
        min_length = 1,
        max_length = 48
    )]
    pub name: String,
    /// One `apis` entry of the configuration file: `spec` (an http(s) URL, unless `document`
    /// is given), `baseUrl`, `auth`, `include`/`exclude`, `mode`, `headers`, `timeoutMs`, ...
    #[schema(value_type = Object)]
    pub definition: Map<String, Value>,
    /// The description itself (OpenAPI, Swagger, Postman or GraphQL; JSON or YAML text).
    pub document: Option<String>,
}

/// An API's new definition (and description).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiReplacement {
    /// One `apis` entry of the configuration file.
    #[schema(value_type = Object)]
    pub definition: Map<String, Value>,
    /// The description itself; omit it to fetch `spec` instead.
    pub document: Option<String>,
}

/// An MCP server to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServerRequest {
    /// The server's name: the namespace of its tools (`NAME__tool`).
    #[schema(
        pattern = "^[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$",
        min_length = 1,
        max_length = 48
    )]
    pub name: String,
    /// One `mcpServers` entry of the configuration file: `url` (`type` `http` or `sse`) with
    /// `headers`, or, where the operator allows it, `command`, `args` and `env`; `tools`,
    /// `tags`, `timeoutMs`.
    #[schema(value_type = Object)]
    pub definition: Map<String, Value>,
}

/// A server's new definition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerReplacement {
    /// One `mcpServers` entry of the configuration file.
    #[schema(value_type = Object)]
    pub definition: Map<String, Value>,
}

fn view<S: Store + 'static>(
    state: &AdminState<S>,
    tenant: &Tenant,
    stored: RegisteredBackend,
) -> BackendView {
    let running = state.registry.state(tenant, &stored.name);
    BackendView {
        kind: stored.kind.as_str().to_owned(),
        definition: serde_json::from_str(&stored.definition).unwrap_or(Value::Null),
        document_bytes: stored.document_bytes,
        state: running.map(Into::into),
        name: stored.name,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

fn refused(refusal: RegistrationRefusal) -> Problem {
    match refusal {
        RegistrationRefusal::Invalid { key, message } => {
            Problem::invalid(format!("`{key}`: {message}"))
        }
        RegistrationRefusal::Conflict(message) => Problem::conflict(message),
    }
}

/// What one handler does, whichever kind it serves.
struct Registrar<'a, S> {
    state: &'a AdminState<S>,
    caller: &'a Caller,
    kind: BackendKind,
}

impl<S: Store + 'static> Registrar<'_, S> {
    async fn list(&self, key: &str, paging: Paging) -> Result<Json<BackendPage>, Problem> {
        let tenant = self.caller.tenant(self.state, key).await?;
        let page = self
            .state
            .store
            .list_backends(&tenant.id, Some(self.kind), &paging.request()?)
            .await?;
        Ok(Json(BackendPage {
            items: page
                .items
                .into_iter()
                .map(|b| view(self.state, &tenant, b))
                .collect(),
            next_after: page.next_after,
        }))
    }

    async fn get(&self, key: &str, name: &str) -> Result<Json<BackendView>, Problem> {
        let tenant = self.caller.tenant(self.state, key).await?;
        let stored = self.stored(&tenant, name).await?;
        Ok(Json(view(self.state, &tenant, stored)))
    }

    /// The tenant's registration `name` of this handler's kind (another kind is not found).
    async fn stored(&self, tenant: &Tenant, name: &str) -> Result<RegisteredBackend, Problem> {
        let stored = self.state.store.backend(&tenant.id, name).await?;
        if stored.kind != self.kind {
            return Err(Problem::not_found(format!("{} not found", self.noun())));
        }
        Ok(stored)
    }

    fn noun(&self) -> &'static str {
        match self.kind {
            BackendKind::Api => "API",
            BackendKind::Server => "server",
        }
    }

    /// Registers `name` for `tenant` (already resolved, so that another tenant's path is a 404
    /// before the body is judged).
    async fn create(
        &self,
        tenant: Tenant,
        name: String,
        definition: Map<String, Value>,
        document: Option<String>,
    ) -> Result<(StatusCode, Json<BackendView>), Problem> {
        self.caller
            .require_manager(&tenant, "register APIs and servers")?;
        validate::backend_name(&name)?;
        if self.state.store.backend(&tenant.id, &name).await.is_ok() {
            return Err(Problem::conflict(format!(
                "the tenant already has an API or server named `{name}`; replace it with PUT, \
                 or choose another name"
            )));
        }
        let plan = self.state.meter.plan_of(&tenant.id).await?;
        let new = NewBackend {
            tenant_id: tenant.id.clone(),
            kind: self.kind,
            name,
            definition: Value::Object(definition).to_string(),
            document,
            at_most: plan.limit(Resource::Apis),
        };
        let tools = self.checked(&tenant, &new).await?;
        let stored = self
            .state
            .store
            .create_backend(&new)
            .await
            .map_err(|e| Problem::beyond_plan(&plan, Resource::Apis, e))?;
        self.state.registry.backends_changed().await;
        self.audit(&tenant, "register", &new, tools);
        Ok((StatusCode::CREATED, Json(view(self.state, &tenant, stored))))
    }

    async fn replace(
        &self,
        tenant: Tenant,
        name: &str,
        definition: Map<String, Value>,
        document: Option<String>,
    ) -> Result<Json<BackendView>, Problem> {
        self.caller
            .require_manager(&tenant, "change APIs and servers")?;
        self.stored(&tenant, name).await?;
        let new = NewBackend {
            tenant_id: tenant.id.clone(),
            kind: self.kind,
            name: name.to_owned(),
            definition: Value::Object(definition).to_string(),
            document,
            at_most: None,
        };
        let tools = self.checked(&tenant, &new).await?;
        let stored = self.state.store.replace_backend(&new).await?;
        self.state.registry.backends_changed().await;
        self.audit(&tenant, "replace", &new, tools);
        Ok(Json(view(self.state, &tenant, stored)))
    }

    async fn delete(&self, key: &str, name: &str) -> Result<StatusCode, Problem> {
        let tenant = self.caller.tenant(self.state, key).await?;
        self.caller
            .require_manager(&tenant, "delete APIs and servers")?;
        self.stored(&tenant, name).await?;
        self.state.store.delete_backend(&tenant.id, name).await?;
        self.state.registry.backends_changed().await;
        self.state.record_change(
            self.caller.principal(),
            Some(&tenant.id),
            &format!("{}.delete", self.kind),
            name,
            json!({}),
        );
        Ok(StatusCode::NO_CONTENT)
    }

    /// Checks `new` with the gateway and an API's tools against the plan; the tool count.
    async fn checked(&self, tenant: &Tenant, new: &NewBackend) -> Result<Option<u64>, Problem> {
        let checked = self
            .state
            .registry
            .check(tenant, new)
            .await
            .map_err(refused)?;
        if let Some(tools) = checked.tools {
            let plan = self.state.meter.plan_of(&tenant.id).await?;
            plan.check(Resource::ToolsPerApi, 0, tools)
                .map_err(|exceeded| {
                    Problem::conflict(format!(
                        "the description yields {tools} tools: {exceeded}; keep fewer operations \
                         with `include`/`exclude`, or ask an operator for a larger plan"
                    ))
                })?;
        }
        Ok(checked.tools)
    }

    fn audit(&self, tenant: &Tenant, verb: &str, new: &NewBackend, tools: Option<u64>) {
        self.state.record_change(
            self.caller.principal(),
            Some(&tenant.id),
            &format!("{}.{verb}", self.kind),
            &new.name,
            json!({
                "documentBytes": new.document.as_ref().map(String::len),
                "tools": tools,
            }),
        );
    }
}

/// The tenant's registered APIs, ordered by name.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/apis",
    tag = "backends",
    operation_id = "list_apis",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), PageParams),
    responses(
        (status = 200, description = "One page of APIs, ordered by name.", body = BackendPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_apis<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    paging: Paging,
) -> Result<Json<BackendPage>, Problem> {
    Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Api,
    }
    .list(&key, paging)
    .await
}

/// Registers an API (owner or admin); its tools are served when this answers.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/apis",
    tag = "backends",
    operation_id = "register_api",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    request_body = NewApiRequest,
    responses(
        (status = 201, description = "The API was registered.", body = BackendView),
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
pub(crate) async fn register_api<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    body: JsonBody<NewApiRequest>,
) -> Result<(StatusCode, Json<BackendView>), Problem> {
    let registrar = Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Api,
    };
    let tenant = caller.tenant(&state, &key).await?;
    let body = body.value()?;
    registrar
        .create(tenant, body.name, body.definition, body.document)
        .await
}

/// One registered API.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/apis/{name}",
    tag = "backends",
    operation_id = "get_api",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("name" = String, Path, description = "The API's name."),
    ),
    responses(
        (status = 200, description = "The API.", body = BackendView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_api<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
) -> Result<Json<BackendView>, Problem> {
    Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Api,
    }
    .get(&key, &name)
    .await
}

/// Replaces an API's definition and description (owner or admin).
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant}/apis/{name}",
    tag = "backends",
    operation_id = "replace_api",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("name" = String, Path, description = "The API's name."),
    ),
    request_body = ApiReplacement,
    responses(
        (status = 200, description = "The API with its new definition.", body = BackendView),
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
pub(crate) async fn replace_api<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
    body: JsonBody<ApiReplacement>,
) -> Result<Json<BackendView>, Problem> {
    let registrar = Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Api,
    };
    let tenant = caller.tenant(&state, &key).await?;
    let body = body.value()?;
    registrar
        .replace(tenant, &name, body.definition, body.document)
        .await
}

/// Deletes an API (owner or admin); its tools go from `/mcp` and the tenant's endpoints.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/apis/{name}",
    tag = "backends",
    operation_id = "delete_api",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("name" = String, Path, description = "The API's name."),
    ),
    responses(
        (status = 204, description = "The API was deleted."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn delete_api<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
) -> Result<StatusCode, Problem> {
    Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Api,
    }
    .delete(&key, &name)
    .await
}

/// The tenant's registered MCP servers, ordered by name.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/servers",
    tag = "backends",
    operation_id = "list_servers",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), PageParams),
    responses(
        (status = 200, description = "One page of servers, ordered by name.", body = BackendPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_servers<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    paging: Paging,
) -> Result<Json<BackendPage>, Problem> {
    Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Server,
    }
    .list(&key, paging)
    .await
}

/// Registers an MCP server (owner or admin); it is started when this answers.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/servers",
    tag = "backends",
    operation_id = "register_server",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    request_body = NewServerRequest,
    responses(
        (status = 201, description = "The server was registered.", body = BackendView),
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
pub(crate) async fn register_server<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    body: JsonBody<NewServerRequest>,
) -> Result<(StatusCode, Json<BackendView>), Problem> {
    let registrar = Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Server,
    };
    let tenant = caller.tenant(&state, &key).await?;
    let body = body.value()?;
    registrar
        .create(tenant, body.name, body.definition, None)
        .await
}

/// One registered MCP server.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/servers/{name}",
    tag = "backends",
    operation_id = "get_server",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("name" = String, Path, description = "The server's name."),
    ),
    responses(
        (status = 200, description = "The server.", body = BackendView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_server<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
) -> Result<Json<BackendView>, Problem> {
    Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Server,
    }
    .get(&key, &name)
    .await
}

/// Replaces an MCP server's definition (owner or admin); a changed connection restarts it.
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant}/servers/{name}",
    tag = "backends",
    operation_id = "replace_server",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("name" = String, Path, description = "The server's name."),
    ),
    request_body = ServerReplacement,
    responses(
        (status = 200, description = "The server with its new definition.", body = BackendView),
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
pub(crate) async fn replace_server<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
    body: JsonBody<ServerReplacement>,
) -> Result<Json<BackendView>, Problem> {
    let registrar = Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Server,
    };
    let tenant = caller.tenant(&state, &key).await?;
    let body = body.value()?;
    registrar
        .replace(tenant, &name, body.definition, None)
        .await
}

/// Deletes an MCP server (owner or admin); it is stopped and its tools go.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/servers/{name}",
    tag = "backends",
    operation_id = "delete_server",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("name" = String, Path, description = "The server's name."),
    ),
    responses(
        (status = 204, description = "The server was deleted."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn delete_server<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
) -> Result<StatusCode, Problem> {
    Registrar {
        state: &state,
        caller: &caller,
        kind: BackendKind::Server,
    }
    .delete(&key, &name)
    .await
}
