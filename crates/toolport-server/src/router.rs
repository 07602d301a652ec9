//! The HTTP surface as one `Router`, and `serve` which runs it until shutdown.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use toolport_gateway::Gateway;

use crate::http_sessions::HttpSessions;
use crate::{guard, health, sse, streamable};

#[derive(Clone, Debug)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    pub sessions: Arc<HttpSessions>,
}

impl AppState {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self {
            gateway,
            sessions: Arc::default(),
        }
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.gateway.config().http.max_body_bytes;
    let mcp = Router::new()
        .route(
            "/mcp",
            post(streamable::post_all)
                .get(streamable::get_all)
                .delete(streamable::delete_any),
        )
        .route(
            "/mcp/{name}",
            post(streamable::post_named)
                .get(streamable::get_named)
                .delete(streamable::delete_any),
        )
        .route("/sse", get(sse::connect_all))
        .route("/sse/{name}", get(sse::connect_named))
        .route("/message", post(sse::message))
        .route_layer(middleware::from_fn_with_state(state.clone(), guard::check));
    Router::new()
        .merge(mcp)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves until `shutdown` fires, then stops accepting and lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let expiry = tokio::spawn(
        state
            .sessions
            .clone()
            .expire(state.gateway.clone(), shutdown.clone()),
    );
    let app = router(state);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    let _ = expiry.await;
    result
}
