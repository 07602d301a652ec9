//! `GET /api/v1/me`: who the calling token is.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::records::RoleName;
use crate::access::Scopes;
use crate::auth::Caller;

/// The identity behind the calling token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The token's id.
    pub token_id: String,
    /// The tenant the token acts in.
    pub tenant_id: String,
    /// The user the token belongs to.
    pub user_id: String,
    /// The user's role in that tenant.
    pub role: RoleName,
    /// The token's scopes.
    pub scopes: Vec<String>,
    /// When the token stops working (Unix seconds); `null` for never.
    #[schema(minimum = 0)]
    pub expires_at: Option<i64>,
}

/// The scope names that grant exactly `scopes`.
pub(crate) fn scope_names(scopes: &Scopes) -> Vec<String> {
    let mut names = Vec::new();
    if scopes.operator {
        names.push("operator".to_owned());
    }
    if scopes.admin {
        names.push("admin".to_owned());
    }
    if scopes.all_endpoints {
        names.push("mcp".to_owned());
    }
    names.extend(scopes.endpoints.iter().map(|e| format!("mcp:{e}")));
    names
}

/// Who the calling token is: its id, tenant, user, role and scopes.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    operation_id = "get_me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The calling token's identity.", body = Me),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_me(caller: Caller) -> Json<Me> {
    let p = caller.principal();
    Json(Me {
        token_id: p.token_id.clone(),
        tenant_id: p.tenant_id.clone(),
        user_id: p.user_id.clone(),
        role: p.role.into(),
        scopes: scope_names(&p.scopes),
        expires_at: p.expires_at,
    })
}
