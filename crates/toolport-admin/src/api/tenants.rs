//! `/api/v1/tenants`: list, create, read and delete tenants.
//!
//! An operator sees and manages every tenant; anyone else with the `admin` scope sees only their
//! own (another tenant is answered like a missing one).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use toolport_store::{Store, StoreError};
use utoipa::ToSchema;

use super::records::{TenantPage, TenantView};
use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging};
use crate::problem::Problem;
use crate::state::AdminState;
use crate::validate;

/// The plan of a tenant created without one.
pub const DEFAULT_PLAN: &str = "free";

/// A tenant to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Unique name; it can be used in paths instead of the id.
    #[schema(
        pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        min_length = 1,
        max_length = 64
    )]
    pub name: String,
    /// The plan whose quotas apply; `free` when omitted or `null`.
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$", min_length = 1, max_length = 64)]
    pub plan: Option<String>,
}

/// Tenants ordered by name: every tenant for an operator, otherwise the caller's own.
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "tenants",
    operation_id = "list_tenants",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of tenants, ordered by name.", body = TenantPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_tenants<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<TenantPage>, Problem> {
    if caller.is_operator() {
        let page = state.store.list_tenants(&paging.request()?).await?;
        return Ok(Json(TenantPage::from_page(page)));
    }
    caller.require_admin_scope()?;
    let page = paging.request()?;
    let own = match state.store.tenant(&caller.principal().tenant_id).await {
        Ok(own) => Some(own),
        Err(StoreError::NotFound(_)) => None,
        Err(err) => return Err(err.into()),
    };
    let items = own
        .filter(|t| {
            page.after
                .as_deref()
                .is_none_or(|after| t.name.as_str() > after)
        })
        .map(TenantView::from)
        .into_iter()
        .collect();
    Ok(Json(TenantPage {
        items,
        next_after: None,
    }))
}

/// Creates a tenant (operator only).
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    tag = "tenants",
    operation_id = "create_tenant",
    security(("bearer" = [])),
    request_body = NewTenant,
    responses(
        (status = 201, description = "The tenant was created.", body = TenantView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn create_tenant<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    body: JsonBody<NewTenant>,
) -> Result<(StatusCode, Json<TenantView>), Problem> {
    caller.require_operator()?;
    let new = body.value()?;
    validate::tenant_name(&new.name)?;
    let plan = new.plan.as_deref().unwrap_or(DEFAULT_PLAN);
    super::plans::known_plan(&state, plan)?;
    let tenant = state.store.create_tenant(&new.name, plan).await?;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "tenant.create",
        &tenant.id,
        json!({"name": tenant.name, "plan": tenant.plan}),
    );
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// One tenant, by id or name.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}",
    tag = "tenants",
    operation_id = "get_tenant",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    responses(
        (status = 200, description = "The tenant.", body = TenantView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_tenant<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
) -> Result<Json<TenantView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    Ok(Json(tenant.into()))
}

/// Deletes a tenant with its memberships, tokens and secrets (operator only; not the caller's
/// own tenant).
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}",
    tag = "tenants",
    operation_id = "delete_tenant",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    responses(
        (status = 204, description = "The tenant was deleted."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn delete_tenant<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_operator()?;
    if tenant.id == caller.principal().tenant_id {
        return Err(Problem::conflict(
            "refusing to delete the tenant the calling token belongs to: it would lock this \
             token out; delete it with a token of another tenant",
        ));
    }
    if state.administrator.as_deref() == Some(tenant.id.as_str()) {
        return Err(Problem::conflict(format!(
            "refusing to delete tenant `{}`: it owns the configuration file's servers and \
             secrets, and the gateway would not start without it",
            tenant.name
        )));
    }
    state.store.delete_tenant(&tenant.id).await?;
    state.auth.forget_all();
    // Its endpoints and registered backends went with it.
    state.catalog.endpoints_changed().await;
    state.registry.backends_changed().await;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "tenant.delete",
        &tenant.id,
        json!({"name": tenant.name}),
    );
    Ok(StatusCode::NO_CONTENT)
}
