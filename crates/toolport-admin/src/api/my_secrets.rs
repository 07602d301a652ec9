//! `/api/v1/me/secrets`: the calling user's own secrets in their token's tenant, write-only, for
//! servers that run with each user's own credentials (`${user_secret:NAME}`).
//!
//! Any role may manage their own; nobody can read or change another user's through this API. A
//! value is sealed by the vault under the tenant and `user/{user id}/{name}` before the store sees
//! it, and never leaves again: responses carry metadata only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use toolport_store::{Store, user_secret_vault_name};

use super::records::{SecretPage, SecretView};
use super::secrets::{SecretValue, seal_value};
use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging};
use crate::problem::Problem;
use crate::state::AdminState;
use crate::validate;

/// The calling user's own secrets' metadata in their token's tenant, ordered by name.
#[utoipa::path(
    get,
    path = "/api/v1/me/secrets",
    tag = "me",
    operation_id = "list_my_secrets",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (
            status = 200,
            description = "One page of your secrets' metadata, ordered by name.",
            body = SecretPage
        ),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_my_secrets<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<SecretPage>, Problem> {
    let me = caller.principal();
    let page = state
        .store
        .list_user_secrets(&me.tenant_id, &me.user_id, &paging.request()?)
        .await?;
    Ok(Json(SecretPage::from_page(page)))
}

/// Writes (or replaces) one of the calling user's own secrets. Returns its metadata only.
#[utoipa::path(
    put,
    path = "/api/v1/me/secrets/{name}",
    tag = "me",
    operation_id = "put_my_secret",
    security(("bearer" = [])),
    params(
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
        (status = 404, response = crate::openapi::NotFound),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn put_my_secret<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(name): PathArgs<String>,
    body: JsonBody<SecretValue>,
) -> Result<Json<SecretView>, Problem> {
    let me = caller.principal();
    validate::secret_name(&name)?;
    let vault_name = user_secret_vault_name(&me.user_id, &name);
    let sealed = seal_value(&state, &me.tenant_id, &vault_name, body)?;
    let meta = state
        .store
        .put_user_secret(&me.tenant_id, &me.user_id, &name, &sealed)
        .await?;
    state.record_change(me, Some(&me.tenant_id), "user_secret.put", &name, json!({}));
    Ok(Json(meta.into()))
}

/// Deletes one of the calling user's own secrets.
#[utoipa::path(
    delete,
    path = "/api/v1/me/secrets/{name}",
    tag = "me",
    operation_id = "delete_my_secret",
    security(("bearer" = [])),
    params(
        (
            "name" = String, Path, description = "The secret's name.",
            pattern = "^[A-Za-z0-9_.-]{1,128}$", min_length = 1, max_length = 128
        ),
    ),
    responses(
        (status = 204, description = "The secret was deleted."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, response = crate::openapi::NotFound),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn delete_my_secret<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(name): PathArgs<String>,
) -> Result<StatusCode, Problem> {
    let me = caller.principal();
    validate::secret_name(&name)?;
    state
        .store
        .delete_user_secret(&me.tenant_id, &me.user_id, &name)
        .await?;
    state.record_change(
        me,
        Some(&me.tenant_id),
        "user_secret.delete",
        &name,
        json!({}),
    );
    Ok(StatusCode::NO_CONTENT)
}
