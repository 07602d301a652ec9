//! `/api/v1/vault/rotate`: rotating the master key without downtime (operator only).
//!
//! The gateway generates a new key, persists it next to the old one, seals new values with it,
//! re-seals every stored secret and the key check, then retires the old key; every secret stays
//! readable throughout. The work is the binary's [`KeyRotation`]; this file is its HTTP face.

use axum::Json;
use axum::extract::State;
use serde_json::json;
use toolport_store::Store;

use crate::auth::Caller;
use crate::problem::{Problem, ProblemKind};
use crate::rotation::{KeyRotation, RotationError, RotationReport};
use crate::state::AdminState;

/// Rotates the vault's master key and re-seals every secret of every tenant under the new one
/// (operator). Answers when done, with the new key's id and what was re-sealed.
///
/// 409 when another rotation is running, or when this gateway cannot rotate by itself (its
/// master key comes from `TOOLPORT_MASTER_KEY`); the problem's detail says what to do instead.
#[utoipa::path(
    post,
    path = "/api/v1/vault/rotate",
    tag = "vault",
    operation_id = "rotate_master_key",
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "The new key seals everything; the old one is retired.",
            body = RotationReport
        ),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 409, response = crate::openapi::Conflict),
        (status = 500, response = crate::openapi::InternalError),
    )
)]
pub(crate) async fn rotate_master_key<S: Store + 'static>(
    State(state): State<AdminState<S>>,
    caller: Caller,
) -> Result<Json<RotationReport>, Problem> {
    caller.require_operator()?;
    let Some(rotation) = state.rotation.as_deref() else {
        return Err(Problem::conflict(
            "this gateway was started without a master key rotation; rotate through a gateway \
             started with `toolport serve`",
        ));
    };
    let report = rotate(rotation).await?;
    state.record_change(
        caller.principal(),
        None,
        "vault.rotate",
        &report.key_id,
        json!({"retired": report.retired_key_ids, "resealed": report.resealed_secrets}),
    );
    Ok(Json(report))
}

async fn rotate(rotation: &dyn KeyRotation) -> Result<RotationReport, Problem> {
    match rotation.rotate().await {
        Ok(report) => Ok(report),
        Err(err @ (RotationError::InProgress | RotationError::Unsupported(_))) => {
            Err(Problem::conflict(err.to_string()))
        }
        Err(RotationError::Failed(detail)) => {
            tracing::error!("master key rotation failed: {detail}");
            Err(Problem::new(ProblemKind::Internal, detail))
        }
    }
}
