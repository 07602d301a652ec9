//! `/api/v1/tenants/{tenant}/secrets`: a tenant's secrets, write-only.
//!
//! A value is sealed by the vault (bound to the tenant and the secret's name) before the store
//! sees it, and never leaves again through this API: responses carry metadata only, and no log
//! line or error message quotes a value (a body that cannot be parsed is described, not echoed).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use toolport_store::Store;
use toolport_vault::{Sealed, VaultError};
use utoipa::ToSchema;

use super::records::{SecretPage, SecretView};
use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging};
use crate::problem::Problem;
use crate::state::AdminState;
use crate::validate;

/// A secret's new value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretValue {
    /// The value (1 to 65536 characters). Write-only: no response ever contains it.
    #[schema(min_length = 1, max_length = 65536, write_only)]
    pub value: String,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// What a secret body looks like, for error messages that must not echo the body.
const EXPECTED_BODY: &str =
    "a JSON object {\"value\": \"...\"} with a string of 1 to 65536 characters";

/// The tenant's secrets' metadata, ordered by name (never the values).
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/secrets",
    tag = "secrets",
    operation_id = "list_secrets",
    security(("bearer" = [])),
    params(("tenant" = String, Path, description = "The tenant's id or name."), PageParams),
    responses(
        (
            status = 200,
            description = "One page of secrets' metadata, ordered by name.",
            body = SecretPage
        ),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_secrets<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(key): PathArgs<String>,
    paging: Paging,
) -> Result<Json<SecretPage>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    let page = state
        .store
        .list_secrets(&tenant.id, &paging.request()?)
        .await?;
    Ok(Json(SecretPage::from_page(page)))
}

/// Writes (or replaces) a secret (owner or admin). Returns its metadata only.
#[utoipa::path(
    put,
    path = "/api/v1/tenants/{tenant}/secrets/{name}",
    tag = "secrets",
    operation_id = "put_secret",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        (
            "name" = String, Path, description = "The secret's name.",
            pattern = "^[A-Za-z0-9_.-]{1,128}$", min_length = 1, max_length = 128
        ),
    ),
    request_body = SecretValue,
    responses(
        (status = 200, description = "The secret was written; its metadata.", body = SecretView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn put_secret<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
    body: JsonBody<SecretValue>,
) -> Result<Json<SecretView>, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "write secrets")?;
    validate::secret_name(&name)?;
    let sealed = seal_value(&state, &tenant.id, &name, body)?;
    let meta = state.store.put_secret(&tenant.id, &name, &sealed).await?;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "secret.put",
        &name,
        json!({}),
    );
    Ok(Json(meta.into()))
}

/// Seals a secret body's value under `tenant_id` and `vault_name` (validated, never echoed).
pub(super) fn seal_value<S: Store + 'static>(
    state: &AdminState<S>,
    tenant_id: &str,
    vault_name: &str,
    body: JsonBody<SecretValue>,
) -> Result<Sealed, Problem> {
    let body = body.value_redacted(EXPECTED_BODY)?;
    let length = body.value.chars().count();
    if !(1..=validate::SECRET_VALUE_MAX).contains(&length) {
        return Err(Problem::invalid(format!(
            "`value` must be 1 to {} characters, got {length}",
            validate::SECRET_VALUE_MAX
        )));
    }
    state
        .vault
        .seal(tenant_id, vault_name, body.value.as_bytes())
        .map_err(|err| match err {
            VaultError::TooLarge { .. } => Problem::invalid(format!(
                "`value` is too large: at most {} bytes",
                toolport_vault::MAX_SECRET_LEN
            )),
            other => {
                tracing::error!(
                    error = %other, tenant = %tenant_id, secret = %vault_name,
                    "admin API: sealing failed"
                );
                Problem::internal()
            }
        })
}

/// Deletes a secret (owner or admin).
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/secrets/{name}",
    tag = "secrets",
    operation_id = "delete_secret",
    security(("bearer" = [])),
    params(
        ("tenant" = String, Path, description = "The tenant's id or name."),
        (
            "name" = String, Path, description = "The secret's name.",
            pattern = "^[A-Za-z0-9_.-]{1,128}$", min_length = 1, max_length = 128
        ),
    ),
    responses(
        (status = 204, description = "The secret was deleted."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn delete_secret<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs((key, name)): PathArgs<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.tenant(&state, &key).await?;
    caller.require_manager(&tenant, "delete secrets")?;
    validate::secret_name(&name)?;
    state.store.delete_secret(&tenant.id, &name).await?;
    state.record_change(
        caller.principal(),
        Some(&tenant.id),
        "secret.delete",
        &name,
        json!({}),
    );
    Ok(StatusCode::NO_CONTENT)
}
