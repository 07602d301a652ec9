//! `/api/v1/tenants/{tenant}/members`: a tenant's members and their roles.
//!
//! Reading needs the `admin` scope; changes need the owner or admin role (and only an owner or an
//! operator may grant, change or remove `owner`). Nobody changes or removes their own membership
//! here, so no token locks itself out. Every change drops the member's cached tokens at once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use toolport_store::{Role, Store, StoreError, Tenant};
use utoipa::ToSchema;

use super::records::{MemberPage, MemberView, RoleName};
use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging};
use crate::problem::Problem;
use crate::state::AdminState;

/// A user to add to the tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// The user's id.
    #[schema(min_length = 1)]
    pub user_id: String,
    /// Their role in the tenant.
    pub role: RoleName,
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    /// The new role.
    pub role: RoleName,
}

/// The tenant's members, ordered by user id.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/members",
    tag = "members",
    operation_id = "list_members",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), PageParams),
    responses(
        (status = 200, description = "One page of members, ordered by user id.", body = MemberPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_members<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    paging: Paging,
) -> Result<Json<MemberPage>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let page = state
        .store
        .list_members(&tenant.id, &paging.request()?)
        .await?;
    Ok(Json(MemberPage::from_page(page)))
}

/// Adds a user to the tenant (owner or admin; only an owner grants `owner`).
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/members",
    tag = "members",
    operation_id = "add_member",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    request_body = NewMember,
    responses(
        (status = 201, description = "The user is now a member.", body = MemberView),
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
pub(crate) async fn add_member<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    body: JsonBody<NewMember>,
) -> Result<(StatusCode, Json<MemberView>), Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "add members")?;
    let new = body.value()?;
    let role = Role::from(new.role);
    if role == Role::Owner {
        caller.require_owner_powers(&tenant)?;
    }
    match state.store.user(&new.user_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => {
            // The body is well-formed; the record it names is missing: 404, not 422.
            return Err(Problem::not_found(
                "`user_id`: no user has this id; create the user first (operator) or check the id",
            ));
        }
        Err(err) => return Err(err.into()),
    }
    let member = state
        .store
        .add_member(&tenant.id, &new.user_id, role)
        .await?;
    state.auth.forget_member(&tenant.id, &new.user_id);
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "member.add",
        &new.user_id,
        json!({"role": role.to_string()}),
    );
    Ok((StatusCode::CREATED, Json(member.into())))
}

/// The membership of `user_id` in `tenant`, for a change by the caller: refuses the caller's own
/// membership (409) and, unless the caller may, an owner's (403).
async fn changeable_member<S: Store + 'static>(
    state: &AdminState<S>,
    caller: &Caller,
    tenant: &Tenant,
    user_id: &str,
) -> Result<Role, Problem> {
    if user_id == caller.principal().user_id && tenant.id == caller.principal().tenant_id {
        return Err(Problem::conflict(
            "refusing to change or remove the calling token's own membership: it could lock this \
             token out; ask another owner or an operator",
        ));
    }
    let current = state
        .store
        .memberships_of_user(user_id)
        .await?
        .into_iter()
        .find(|m| m.tenant_id == tenant.id)
        .ok_or_else(|| {
            Problem::not_found("membership not found: this user is not a member of the tenant")
        })?;
    if current.role == Role::Owner {
        caller.require_owner_powers(tenant)?;
    }
    Ok(current.role)
}

/// Changes a member's role (owner or admin; only an owner touches `owner`).
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant}/members/{user}",
    tag = "members",
    operation_id = "set_member_role",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("user" = String, Path, description = "The member's user id."),
    ),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The membership with its new role.", body = MemberView),
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
pub(crate) async fn set_member_role<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, user_id)): PathArgs<(String, String)>,
    body: JsonBody<RoleChange>,
) -> Result<Json<MemberView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "change members' roles")?;
    let change = body.value()?;
    let role = Role::from(change.role);
    changeable_member(&state, &caller, &tenant, &user_id).await?;
    if role == Role::Owner {
        caller.require_owner_powers(&tenant)?;
    }
    let member = state
        .store
        .set_member_role(&tenant.id, &user_id, role)
        .await?;
    state.auth.forget_member(&tenant.id, &user_id);
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "member.role",
        &user_id,
        json!({"role": role.to_string()}),
    );
    Ok(Json(member.into()))
}

/// Removes a member from the tenant (owner or admin; only an owner removes an owner). Their
/// tokens in the tenant stop working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/members/{user}",
    tag = "members",
    operation_id = "remove_member",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("user" = String, Path, description = "The member's user id."),
    ),
    responses(
        (status = 204, description = "The user is no longer a member."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn remove_member<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, user_id)): PathArgs<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "remove members")?;
    changeable_member(&state, &caller, &tenant, &user_id).await?;
    state.store.remove_member(&tenant.id, &user_id).await?;
    state.auth.forget_member(&tenant.id, &user_id);
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "member.remove",
        &user_id,
        json!({}),
    );
    Ok(StatusCode::NO_CONTENT)
}
