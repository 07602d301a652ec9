//! Administrative changes go to the audit log (who changed what, in which tenant, when) as well as
//! to the log. Entries name ids and settings, never a secret's value.

use serde_json::Value;
use toolport_store::{AuditEntry, AuditOutcome, Store};

use crate::access::Principal;
use crate::state::AdminState;

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
