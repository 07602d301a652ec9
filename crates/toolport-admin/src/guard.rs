//! Who may do what: the authorization rules of the admin API, in one place.
//!
//! - `operator` scope: every tenant and user of the gateway.
//! - `admin` scope: the token's own tenant; writes on members, other users' tokens and secrets
//!   also need the owner or admin role ([`Principal::manages_tenant`]).
//! - A tenant other than the caller's is answered exactly like a missing one (404, same body), so
//!   nothing tells whether it exists; 403 is only for a missing scope or role in the caller's own
//!   tenant.

use toolport_store::{Role, Store, StoreError, Tenant};

use crate::access::Principal;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::state::AdminState;

/// The one answer for a tenant that is missing or not the caller's.
pub(crate) fn tenant_not_found() -> Problem {
    Problem::not_found(
        "tenant not found: no tenant with this id or name is visible to this token; \
         GET /api/v1/tenants lists the tenants it can address",
    )
}

impl Caller {
    /// The principal.
    pub(crate) fn principal(&self) -> &Principal {
        &self.0
    }

    /// Whether the token has the `operator` scope.
    pub(crate) fn is_operator(&self) -> bool {
        self.0.scopes.operator
    }

    /// 403 unless the token has the `operator` scope.
    pub(crate) fn require_operator(&self) -> Result<(), Problem> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "this route needs a token with the `operator` scope; this token lacks it",
            ))
        }
    }

    /// 403 unless the token has the `admin` (or `operator`) scope.
    pub(crate) fn require_admin_scope(&self) -> Result<(), Problem> {
        if self.is_operator() || self.0.scopes.admin {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "this route needs a token with the `admin` scope; this token lacks it",
            ))
        }
    }

    /// The tenant `key` (an id or a name) addresses, if the caller may see it, then 403 unless
    /// the token has the `admin` scope. An operator sees every tenant; anyone else only their own
    /// (another tenant is [`tenant_not_found`], without even looking it up).
    pub(crate) async fn tenant<S: Store + 'static>(
        &self,
        state: &AdminState<S>,
        key: &str,
    ) -> Result<Tenant, Problem> {
        let tenant = if self.is_operator() {
            match state.store.tenant(key).await {
                Err(StoreError::NotFound(_)) => state.store.tenant_by_name(key).await,
                found => found,
            }
        } else {
            state.store.tenant(&self.0.tenant_id).await.and_then(|own| {
                if own.id == key || own.name == key {
                    Ok(own)
                } else {
                    Err(StoreError::NotFound("tenant"))
                }
            })
        };
        let tenant = match tenant {
            Ok(tenant) => tenant,
            Err(StoreError::NotFound(_)) => return Err(tenant_not_found()),
            Err(err) => return Err(err.into()),
        };
        self.require_admin_scope()?;
        Ok(tenant)
    }

    /// Whether the caller manages `tenant` (one the caller may see): an operator, or an owner or
    /// admin with the `admin` scope in their own tenant.
    pub(crate) fn manages(&self, tenant: &Tenant) -> bool {
        self.is_operator() || (self.0.tenant_id == tenant.id && self.0.manages_tenant())
    }

    /// 403 unless the caller manages `tenant`; `what` names the action ("change members").
    pub(crate) fn require_manager(&self, tenant: &Tenant, what: &str) -> Result<(), Problem> {
        if self.manages(tenant) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "only an owner or admin of the tenant (with a token that has the `admin` scope) \
                 may {what}; your role is `{}`",
                self.0.role
            )))
        }
    }

    /// 403 unless the caller may grant, change or remove the `owner` role in `tenant`: an
    /// operator or an owner.
    pub(crate) fn require_owner_powers(&self, tenant: &Tenant) -> Result<(), Problem> {
        if self.is_operator() || (self.0.tenant_id == tenant.id && self.0.role == Role::Owner) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "only an owner of the tenant may grant, change or remove the `owner` role; your \
                 role is `{}`",
                self.0.role
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemDetails;

    /// The document's example of a problem is the real not-found body.
    #[test]
    fn documented_example_is_the_real_not_found_body() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let example = &doc["components"]["schemas"]["ProblemDetails"]["example"];
        let real: ProblemDetails = tenant_not_found().body();
        assert_eq!(example, &serde_json::to_value(real).unwrap());
    }
}
