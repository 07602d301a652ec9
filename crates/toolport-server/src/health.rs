//! Liveness, readiness (each backend's state) and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::router::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when every shared backend is ready (per-user servers have none), 503 otherwise; the body
/// lists each backend's state.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let backends = state.gateway.readiness();
    let ready = backends.iter().all(|b| b.is_ready());
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "degraded" },
        "sessions": state.gateway.session_count(),
        "backends": backends,
    });
    (status, Json(body)).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.gateway.render_metrics(),
    )
        .into_response()
}
