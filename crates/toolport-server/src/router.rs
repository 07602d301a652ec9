//! The HTTP surface as one `Router`, and `serve` which runs it until shutdown.

use std::sync::Arc;

use axum::Router;
use axum::ServiceExt as _;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use toolport_gateway::Gateway;

use crate::front::Front;
use crate::http_sessions::HttpSessions;
use crate::{access, health, sse, streamable};
use toolport_admin::Authenticate;

/// What every handler reads. Handlers and layers clone it for each request, so it is one `Arc`:
/// a clone is one atomic increment, not one per field (a `CancellationToken` clone takes a lock).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    pub gateway: Arc<Gateway>,
    pub sessions: Arc<HttpSessions>,
    /// Checks API tokens; `None` when the gateway has no token store (every token is refused
    /// unless the configuration opens the MCP routes).
    pub auth: Option<Arc<dyn Authenticate>>,
    /// Fires when the server stops: long-lived streams (SSE, GET, subscriptions) end with it, so
    /// a graceful shutdown never waits on a client that keeps its stream open.
    pub(crate) shutdown: CancellationToken,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(gateway: Arc<Gateway>, auth: Option<Arc<dyn Authenticate>>) -> Self {
        Self(Arc::new(Shared {
            gateway,
            sessions: Arc::default(),
            auth,
            shutdown: CancellationToken::new(),
        }))
    }

    /// The same state, its long-lived streams ending when `shutdown` fires.
    fn stopping_with(&self, shutdown: CancellationToken) -> Self {
        Self(Arc::new(Shared {
            gateway: self.gateway.clone(),
            sessions: self.sessions.clone(),
            auth: self.auth.clone(),
            shutdown,
        }))
    }
}

/// The MCP, health and metrics routes, with `extra` (the admin API) merged in under the same body
/// limit, behind the [`Front`] that serves `POST /mcp[/{name}]`.
pub fn app(state: AppState, extra: Router) -> Front {
    let limit = state.gateway.config().http.max_body_bytes;
    Front::new(state.clone(), router(state, extra, limit), limit)
}

fn router(state: AppState, extra: Router, limit: usize) -> Router {
    let mcp = Router::new()
        // POST on these two is served by `Front` before the router.
        .route(
            "/mcp",
            get(streamable::get_all).delete(streamable::delete_any),
        )
        .route(
            "/mcp/{name}",
            get(streamable::get_named).delete(streamable::delete_any),
        )
        .route("/sse", get(sse::connect_all))
        .route("/sse/{name}", get(sse::connect_named))
        .route("/message", post(sse::message))
        .route_layer(middleware::from_fn_with_state(state.clone(), access::check));
    Router::new()
        .merge(mcp)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .with_state(state)
        .merge(extra)
        .layer(DefaultBodyLimit::max(limit))
}

/// Serves until `shutdown` fires, then stops accepting and lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    extra: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let expiry = tokio::spawn(
        state
            .sessions
            .clone()
            .expire(state.gateway.clone(), shutdown.clone()),
    );
    let state = state.stopping_with(shutdown.clone());
    let app = app(state, extra).into_make_service();
    // Nagle's algorithm would hold back the later writes of a streamed (SSE) answer.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("could not set TCP_NODELAY on a client connection: {e}");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    let _ = expiry.await;
    result
}
