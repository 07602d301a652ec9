//! `/api/v1/users`: the gateway's users (operator only).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use toolport_store::Store;
use utoipa::ToSchema;

use super::records::{UserPage, UserView};
use crate::auth::Caller;
use crate::extract::{JsonBody, PathArgs};
use crate::page::{PageParams, Paging};
use crate::problem::Problem;
use crate::state::AdminState;
use crate::validate;

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique email (or login name): no spaces or control characters.
    #[schema(pattern = "^[^\\x00-\\x20\\x7F]+$", min_length = 1, max_length = 254)]
    pub email: String,
    /// Display name: no control characters.
    #[schema(pattern = "^[^\\x00-\\x1F\\x7F]+$", min_length = 1, max_length = 200)]
    pub name: String,
}

/// Users ordered by email (operator only).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "list_users",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of users, ordered by email.", body = UserPage),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn list_users<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    paging: Paging,
) -> Result<Json<UserPage>, Problem> {
    caller.require_operator()?;
    let page = state.store.list_users(&paging.request()?).await?;
    Ok(Json(UserPage::from_page(page)))
}

/// Creates a user (operator only).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "create_user",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "The user was created.", body = UserView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::Unprocessable),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn create_user<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    body: JsonBody<NewUser>,
) -> Result<(StatusCode, Json<UserView>), Problem> {
    caller.require_operator()?;
    let new = body.value()?;
    validate::email(&new.email)?;
    validate::label("name", &new.name, validate::USER_NAME_MAX)?;
    let user = state.store.create_user(&new.email, &new.name).await?;
    state.record_change(caller.principal(), None, "user.create", &user.id, json!({}));
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// One user (operator only).
#[utoipa::path(
    get,
    path = "/api/v1/users/{user}",
    tag = "users",
    operation_id = "get_user",
    security(("bearer" = [])),
    params(("user" = String, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn get_user<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(id): PathArgs<String>,
) -> Result<Json<UserView>, Problem> {
    caller.require_operator()?;
    let user = state.store.user(&id).await?;
    Ok(Json(user.into()))
}

/// Deletes a user with their memberships and tokens (operator only; not the caller).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user}",
    tag = "users",
    operation_id = "delete_user",
    security(("bearer" = [])),
    params(("user" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "The user was deleted."),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn delete_user<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
    PathArgs(id): PathArgs<String>,
) -> Result<StatusCode, Problem> {
    caller.require_operator()?;
    if id == caller.principal().user_id {
        return Err(Problem::conflict(
            "refusing to delete the user the calling token belongs to: it would lock this token \
             out; delete it with another user's token",
        ));
    }
    state.store.delete_user(&id).await?;
    state.auth.forget_all();
    state.record_change(caller.principal(), None, "user.delete", &id, json!({}));
    Ok(StatusCode::NO_CONTENT)
}
