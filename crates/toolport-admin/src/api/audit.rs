//! The audit log: `/api/v1/tenants/{tenant}/audit` (a tenant's entries, for its owners and
//! admins) and `/api/v1/audit` (every entry, for operators). Newest first.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use toolport_store::{AuditEntry, AuditOutcome, Store};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::extract::PathArgs;
use crate::page::{HistoryPageParams, Paging, check_history_cursor, page_of};
use crate::problem::Problem;
use crate::state::AdminState;

/// How an audited action ended.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcomeName {
    /// It was done.
    Ok,
    /// It was refused (a tool call over a limit).
    Denied,
    /// It was allowed but failed.
    Error,
}

/// Who did what, when.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub struct AuditEntryView {
    /// When (Unix milliseconds).
    pub at_ms: i64,
    /// The tenant it happened in; `null` for a gateway-wide action.
    pub tenant_id: Option<String>,
    /// The acting user, if known.
    pub actor_user_id: Option<String>,
    /// The token the actor used.
    pub actor_token_id: Option<String>,
    /// What was done, dotted: `tool.call`, `token.create`, `secret.put`, ...
    pub action: String,
    /// What it was done to: `server/tool`, a token id, a secret's name, ...
    pub target: String,
    /// Details; sensitive values (per `toolport.auditRedaction`) are replaced by `[redacted]`.
    pub detail: Value,
    /// How it ended.
    pub outcome: AuditOutcomeName,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            at_ms: e.at_ms,
            tenant_id: e.tenant_id,
            actor_user_id: e.actor_user_id,
            actor_token_id: e.actor_token_id,
            action: e.action,
            target: e.target,
            detail: e.detail,
            outcome: match e.outcome {
                AuditOutcome::Ok => AuditOutcomeName::Ok,
                AuditOutcome::Denied => AuditOutcomeName::Denied,
                AuditOutcome::Error => AuditOutcomeName::Error,
            },
        }
    }
}

page_of!(AuditPage, AuditEntryView, "audit entries");

/// The tenant's audit entries, newest first (owner or admin).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/audit",
    tag = "audit",
    operation_id = "list_tenant_audit",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), HistoryPageParams),
    responses(
        (status = 200, description = "One page of entries, newest first.", body = AuditPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_tenant_audit<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    paging: Paging,
) -> Result<Json<AuditPage>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "read the audit log")?;
    let page = paging.request()?;
    check_history_cursor(page.after.as_deref())?;
    let page = state.store.list_audit(Some(&tenant.id), &page).await?;
    Ok(Json(AuditPage::from_page(page)))
}

/// Every audit entry of the gateway, newest first (operator only).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    operation_id = "list_audit",
    security(("bearer" = [])),
    params(HistoryPageParams),
    responses(
        (status = 200, description = "One page of entries, newest first.", body = AuditPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_audit<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<AuditPage>, Problem> {
    caller.require_operator()?;
    let page = paging.request()?;
    check_history_cursor(page.after.as_deref())?;
    let page = state.store.list_audit(None, &page).await?;
    Ok(Json(AuditPage::from_page(page)))
}
