//! Administrative changes go to the audit log (who changed what, in which tenant, when) as well as
//! to the log, and so do refused attempts (403: who tried what). Entries name ids and settings,
//! never a secret's value.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};
use toolport_store::{AuditEntry, AuditOutcome, Store};

use crate::access::Principal;
use crate::auth::bearer_token;
use crate::state::AdminState;

/// Middleware: a request answered 403 is audited as `admin.denied` in the caller's tenant, with
/// the method and path it tried.
pub(crate) async fn audit_denials<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let token = bearer_token(request.headers()).ok().map(str::to_owned);
    let attempt = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    if response.status() == StatusCode::FORBIDDEN
        && let Some(token) = token
        && let Ok(by) = state.auth.principal(&token).await
    {
        tracing::info!(attempt, by = %by.token_id, "admin API: refused");
        state.meter.audit().record(AuditEntry {
            at_ms: toolport_store::model::now_ms(),
            tenant_id: Some(by.tenant_id.clone()),
            actor_user_id: Some(by.user_id.clone()),
            actor_token_id: Some(by.token_id.clone()),
            action: "admin.denied".to_owned(),
            target: attempt,
            detail: json!({"status": 403}),
            outcome: AuditOutcome::Denied,
        });
    }
    response
}

impl<S: Store + 'static> AdminState<S> {
    /// Records a change `by` a caller: `action` is dotted (`token.create`), `target` the id or
    /// name it was done to.
    pub(crate) fn record_change(
        &self,
        by: &Principal,
        tenant_id: Option<&str>,
        action: &str,
        target: &str,
        detail: Value,
    ) {
        tracing::info!(action, target, tenant = ?tenant_id, by = %by.token_id, "admin API change");
        self.meter.audit().record(AuditEntry {
            at_ms: toolport_store::model::now_ms(),
            tenant_id: tenant_id.map(str::to_owned),
            actor_user_id: Some(by.user_id.clone()),
            actor_token_id: Some(by.token_id.clone()),
            action: action.to_owned(),
            target: target.to_owned(),
            detail,
            outcome: AuditOutcome::Ok,
        });
    }
}
