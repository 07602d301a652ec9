//! Plans: `/api/v1/plans` (what each plan allows, for anyone with a token) and
//! `/api/v1/tenants/{tenant}/plan` (an operator moves a tenant to another plan).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use toolport_store::Store;
use utoipa::ToSchema;

use super::records::TenantView;
use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::problem::Problem;
use crate::state::AdminState;
use crate::validate;

/// A plan and its limits; `null` is unlimited.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Plan)]
pub struct PlanView {
    /// The plan's name.
    pub name: String,
    /// Tool calls per calendar month (UTC).
    pub calls_per_month: Option<u64>,
    /// APIs a tenant may register.
    pub apis: Option<u64>,
    /// Endpoints a tenant may have.
    pub endpoints: Option<u64>,
    /// Tools one API may expose.
    pub tools_per_api: Option<u64>,
}

/// Every plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    /// The plans, by name.
    pub items: Vec<PlanView>,
}

/// A tenant's new plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    /// One of the configured plans (see `GET /api/v1/plans`).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$", min_length = 1, max_length = 64)]
    pub plan: String,
}

/// The plans and their limits (built in: free, pro, enterprise; `toolport.plans` changes them).
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    tag = "plans",
    operation_id = "list_plans",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every plan, by name.", body = PlanList),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_plans<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    _caller: Caller,
) -> Json<PlanList> {
    let plans = state.meter.plans();
    let items = plans
        .names()
        .map(|name| {
            let limits = plans.resolve(name);
            PlanView {
                name: name.to_owned(),
                calls_per_month: limits.calls_per_month,
                apis: limits.apis,
                endpoints: limits.endpoints,
                tools_per_api: limits.tools_per_api,
            }
        })
        .collect();
    Json(PlanList { items })
}

/// Moves a tenant to another plan (operator only); its quotas change within seconds.
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant}/plan",
    tag = "plans",
    operation_id = "set_tenant_plan",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    request_body = PlanChange,
    responses(
        (status = 200, description = "The tenant with its new plan.", body = TenantView),
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
pub(crate) async fn set_tenant_plan<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    body: JsonBody<PlanChange>,
) -> Result<Json<TenantView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_operator()?;
    let change = body.value()?;
    known_plan(&state, &change.plan)?;
    let tenant = state
        .store
        .set_tenant_plan(&tenant.id, &change.plan)
        .await?;
    state.meter.forget_tenant(&tenant.id);
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "tenant.plan",
        &tenant.id,
        json!({"plan": tenant.plan}),
    );
    Ok(Json(tenant.into()))
}

/// 422 unless `plan` is well-formed; 409 unless the configuration has it (the request is valid,
/// the gateway's configuration disagrees).
pub(crate) fn known_plan<S: Store + 'static>(
    state: &AdminState<S>,
    plan: &str,
) -> Result<(), Problem> {
    validate::plan(plan)?;
    let plans = state.meter.plans();
    if plans.get(plan).is_none() {
        let known: Vec<&str> = plans.names().collect();
        return Err(Problem::conflict(format!(
            "unknown plan `{plan}`; the configured plans are {}",
            known.join(", ")
        )));
    }
    Ok(())
}
