//! `/api/v1/tenants/{tenant}/tokens`: a tenant's API tokens.
//!
//! With the `admin` scope a member lists, creates, reads and revokes their own tokens; an owner
//! or admin (or an operator) anyone's in the tenant. A token never creates a token with more power
//! than itself: no scope it lacks, no expiry later than its own, no user whose role is higher
//! than the caller's. The calling token cannot revoke itself here (so a fuzzer cannot lock the
//! operator out); a revoked token stops working at once.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use toolport_store::{NewToken, Page, PageRequest, Role, Store, Tenant, TokenRecord};
use utoipa::ToSchema;

use super::records::{CreatedTokenView, TokenPage, TokenView};
use crate::access::Scopes;
use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging};
use crate::problem::Problem;
use crate::state::AdminState;
use crate::validate;

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// A label for it ("laptop", "ci"): no control characters.
    #[schema(pattern = "^[^\\x00-\\x1F\\x7F]+$", min_length = 1, max_length = 128)]
    pub name: String,
    /// What it may do: `operator`, `admin`, `mcp` (every endpoint) or `mcp:ENDPOINT`; only
    /// scopes the calling token has itself.
    #[schema(
        min_items = 1,
        max_items = 64,
        inline,
        value_type = Vec<ScopeName>
    )]
    pub scopes: Vec<String>,
    /// The member it belongs to; the caller when omitted or `null`. Another member's token
    /// needs the owner or admin role.
    #[schema(min_length = 1)]
    pub user_id: Option<String>,
    /// Seconds until it stops working; never when omitted or `null` (but never later than the
    /// calling token's own expiry, which is also the default when the caller's token expires).
    #[schema(minimum = 1, maximum = 315_360_000)]
    #[serde(default, deserialize_with = "whole_seconds")]
    pub expires_in_seconds: Option<u64>,
}

/// JSON Schema counts `60.0` as an integer, so the body may carry one: accept whole numbers
/// written either way.
fn whole_seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(de)? else {
        return Ok(None);
    };
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    });
    whole.map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a whole number of seconds, got {number}"))
    })
}

/// A scope name.
#[derive(ToSchema)]
#[schema(pattern = "^(operator|admin|mcp|mcp:[A-Za-z0-9_.-]{1,128})$")]
#[allow(dead_code)]
pub struct ScopeName(String);

/// How much a role may do, for comparing two.
fn rank(role: Role) -> u8 {
    match role {
        Role::Member => 0,
        Role::Admin => 1,
        Role::Owner => 2,
    }
}

/// Whether a token with `scopes` may hand out the scope `name`.
fn covers(scopes: &Scopes, name: &str) -> bool {
    match name {
        "operator" => scopes.operator,
        "admin" => scopes.admin || scopes.operator,
        "mcp" => scopes.all_endpoints,
        other => other
            .strip_prefix("mcp:")
            .is_some_and(|endpoint| scopes.allows_endpoint(Some(endpoint))),
    }
}

/// The tenant's tokens ordered by id: all of them for an owner or admin, the caller's own
/// otherwise.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/tokens",
    tag = "tokens",
    operation_id = "list_tokens",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), PageParams),
    responses(
        (status = 200, description = "One page of tokens, ordered by id.", body = TokenPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_tokens<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    paging: Paging,
) -> Result<Json<TokenPage>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let request = paging.request()?;
    let page = if caller.manages(&tenant) {
        state.store.list_tokens(&tenant.id, &request).await?
    } else {
        own_tokens(&state, &tenant, &caller.principal().user_id, &request).await?
    };
    Ok(Json(TokenPage::from_page(page)))
}

/// One page of `user_id`'s tokens in `tenant`, in the same order and with the same cursors as
/// the full list (the next page may turn out empty).
async fn own_tokens<S: Store + 'static>(
    state: &AdminState<S>,
    tenant: &Tenant,
    user_id: &str,
    request: &PageRequest,
) -> Result<Page<TokenRecord>, Problem> {
    let limit = usize::try_from(request.effective_limit()).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    let mut cursor = request.clone();
    loop {
        let chunk = state.store.list_tokens(&tenant.id, &cursor).await?;
        let count = chunk.items.len();
        for (index, token) in chunk.items.into_iter().enumerate() {
            if token.user_id != user_id {
                continue;
            }
            items.push(token);
            if items.len() == limit {
                let more = index + 1 < count || chunk.next_after.is_some();
                let next_after = more.then(|| items[limit - 1].id.clone());
                return Ok(Page { items, next_after });
            }
        }
        match chunk.next_after {
            Some(next) => cursor.after = Some(next),
            None => {
                return Ok(Page {
                    items,
                    next_after: None,
                });
            }
        }
    }
}

/// Creates a token and returns its text, the only time it is shown.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/tokens",
    tag = "tokens",
    operation_id = "create_token",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name.")),
    request_body = NewTokenRequest,
    responses(
        (
            status = 201,
            description = "The token was created; `token` is shown only here.",
            body = CreatedTokenView,
            headers((
                "Cache-Control" = String,
                description = "`no-store`: the token must not be cached."
            ))
        ),
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
pub(crate) async fn create_token<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    body: JsonBody<NewTokenRequest>,
) -> Result<
    (
        StatusCode,
        [(HeaderName, &'static str); 1],
        Json<CreatedTokenView>,
    ),
    Problem,
> {
    let tenant = caller.tenant(&state, &key).await?;
    let request = body.value()?;
    let me = caller.principal();

    validate::label("name", &request.name, validate::TOKEN_NAME_MAX)?;
    let mut scopes: Vec<String> = Vec::with_capacity(request.scopes.len());
    for scope in request.scopes {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    validate::scopes(&scopes)?;
    if let Some(secs) = request.expires_in_seconds
        && !(1..=validate::EXPIRES_IN_MAX).contains(&secs)
    {
        return Err(Problem::invalid(format!(
            "`expires_in_seconds` must be between 1 and {} (ten years)",
            validate::EXPIRES_IN_MAX
        )));
    }

    let user_id = request.user_id.unwrap_or_else(|| me.user_id.clone());
    if user_id != me.user_id || tenant.id != me.tenant_id {
        caller.require_manager(&tenant, "create tokens for other users")?;
    }
    if let Some(lacking) = scopes.iter().find(|s| !covers(&me.scopes, s)) {
        return Err(Problem::forbidden(format!(
            "the calling token cannot grant scope `{lacking}`: a token can only create tokens \
             with scopes it has itself"
        )));
    }
    let Some(target) = state
        .store
        .memberships_of_user(&user_id)
        .await?
        .into_iter()
        .find(|m| m.tenant_id == tenant.id)
    else {
        // The request is valid; the tenant's state (its members) does not allow it yet.
        return Err(Problem::conflict(
            "`user_id`: the user is not a member of this tenant; add them as a member first",
        ));
    };
    // The token acts with its user's role: handing the caller a token of someone whose role is
    // higher would give the caller that role.
    if user_id != me.user_id && !caller.is_operator() && rank(target.role) > rank(me.role) {
        return Err(Problem::forbidden(format!(
            "cannot create a token for a member whose role (`{}`) is higher than yours (`{}`)",
            target.role, me.role
        )));
    }

    let now = toolport_store::model::now();
    let requested = request
        .expires_in_seconds
        .map(|secs| now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)));
    let expires_at = match (requested, me.expires_at) {
        (Some(at), Some(cap)) if at > cap => {
            return Err(Problem::forbidden(format!(
                "the new token would outlive the calling token, which expires at {cap} (Unix \
                 seconds); ask for at most {} seconds",
                (cap - now).max(0)
            )));
        }
        (Some(at), _) => Some(at),
        (None, cap) => cap,
    };

    let created = state
        .store
        .create_token(&NewToken {
            tenant_id: tenant.id.clone(),
            user_id: user_id.clone(),
            name: request.name,
            scopes,
            expires_at,
        })
        .await?;
    state.record_change(
        me,
        Some(&tenant.id),
        "token.create",
        &created.record.id,
        json!({"user": user_id, "scopes": created.record.scopes}),
    );
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(created.into()),
    ))
}

/// One of the tenant's tokens, checked against the caller (a member sees only their own).
async fn visible_token<S: Store + 'static>(
    state: &AdminState<S>,
    caller: &Caller,
    tenant: &Tenant,
    id: &str,
) -> Result<TokenRecord, Problem> {
    let token = state.store.token(&tenant.id, id).await?;
    if token.user_id != caller.principal().user_id {
        caller.require_manager(tenant, "read or revoke other users' tokens")?;
    }
    Ok(token)
}

/// One of the tenant's tokens (a member: only their own).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/tokens/{id}",
    tag = "tokens",
    operation_id = "get_token",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("id" = String, Path, description = "The token's id."),
    ),
    responses(
        (status = 200, description = "The token's record.", body = TokenView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_token<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, id)): PathArgs<(String, String)>,
) -> Result<Json<TokenView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let token = visible_token(&state, &caller, &tenant, &id).await?;
    Ok(Json(token.into()))
}

/// Revokes one of the tenant's tokens (a member: only their own; never the calling token). It
/// stops working at once; revoking twice keeps the first time.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/tokens/{id}",
    tag = "tokens",
    operation_id = "revoke_token",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        ("id" = String, Path, description = "The token's id."),
    ),
    responses(
        (
            status = 200,
            description = "The revoked token's record (`revoked_at` is set).",
            body = TokenView
        ),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn revoke_token<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, id)): PathArgs<(String, String)>,
) -> Result<Json<TokenView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let token = visible_token(&state, &caller, &tenant, &id).await?;
    if token.id == caller.principal().token_id {
        return Err(Problem::conflict(
            "refusing to revoke the calling token through itself: it would lock this caller out; \
             revoke it with another token",
        ));
    }
    let revoked = state.store.revoke_token(&tenant.id, &token.id).await?;
    state.auth.forget_token(&revoked.id);
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "token.revoke",
        &revoked.id,
        json!({}),
    );
    Ok(Json(revoked.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_only_what_they_grant() {
        let narrow = Scopes::from_names(&["admin", "mcp:github"]);
        assert!(covers(&narrow, "admin"));
        assert!(covers(&narrow, "mcp:github"));
        assert!(!covers(&narrow, "mcp:stripe"));
        assert!(!covers(&narrow, "mcp"));
        assert!(!covers(&narrow, "operator"));
        let wide = Scopes::from_names(&["operator", "mcp"]);
        assert!(covers(&wide, "admin") && covers(&wide, "mcp:any") && covers(&wide, "operator"));
    }
}
