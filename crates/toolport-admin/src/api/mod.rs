//! The admin API's routes: [`router`] puts every handler of this module's files under `/api/v1`.
//!
//! One file per resource: [`me`], [`my_secrets`], [`tenants`], [`users`], [`members`],
//! [`tokens`], [`secrets`], [`endpoints`], [`backends`] (registered APIs and MCP servers), [`plans`], [`usage`], [`audit`], [`vault`];
//! [`records`] holds the JSON shapes of the store's records. Unknown paths under `/api/v1` are a
//! problem+json 404 and a known path with another method a problem+json 405 (with `Allow`). The
//! router sets no fallback of its own, so it merges into the server's router without clashing.

pub mod audit;
pub mod backends;
pub mod endpoints;
pub mod me;
pub mod members;
pub mod my_secrets;
pub mod plans;
pub mod records;
pub mod secrets;
pub mod tenants;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod vault;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post, put};
use axum::{Router, middleware};
use toolport_store::Store;

use crate::changes::audit_denials;
use crate::openapi::openapi_json;
use crate::problem::{Problem, ProblemKind};
use crate::state::AdminState;

/// The body limit of the routes that take an API's description: the largest description
/// Toolport converts (64 MiB) with room for its JSON string escapes. Other routes keep the
/// server's limit.
const DOCUMENT_BODY_MAX: usize = 80 * 1024 * 1024;

/// Every route under `/api/v1`, with its state applied (merge it into the server's router).
pub fn router<S: Store + 'static>(state: AdminState<S>) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/me", get(me::get_me))
        .route("/api/v1/me/secrets", get(my_secrets::list_my_secrets::<S>))
        .route(
            "/api/v1/me/secrets/{name}",
            put(my_secrets::put_my_secret::<S>).delete(my_secrets::delete_my_secret::<S>),
        )
        .route(
            "/api/v1/tenants",
            get(tenants::list_tenants::<S>).post(tenants::create_tenant::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}",
            get(tenants::get_tenant::<S>).delete(tenants::delete_tenant::<S>),
        )
        .route("/api/v1/plans", get(plans::list_plans::<S>))
        .route("/api/v1/audit", get(audit::list_audit::<S>))
        .route(
            "/api/v1/tenants/{tenant}/plan",
            put(plans::set_tenant_plan::<S>),
        )
        .route("/api/v1/tenants/{tenant}/usage", get(usage::get_usage::<S>))
        .route(
            "/api/v1/tenants/{tenant}/usage/events",
            get(usage::list_usage_events::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/audit",
            get(audit::list_tenant_audit::<S>),
        )
        .route(
            "/api/v1/users",
            get(users::list_users::<S>).post(users::create_user::<S>),
        )
        .route(
            "/api/v1/users/{user}",
            get(users::get_user::<S>).delete(users::delete_user::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/members",
            get(members::list_members::<S>).post(members::add_member::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/members/{user}",
            put(members::set_member_role::<S>).delete(members::remove_member::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/tokens",
            get(tokens::list_tokens::<S>).post(tokens::create_token::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/tokens/{id}",
            get(tokens::get_token::<S>).delete(tokens::revoke_token::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/secrets",
            get(secrets::list_secrets::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/secrets/{name}",
            put(secrets::put_secret::<S>).delete(secrets::delete_secret::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/endpoints",
            get(endpoints::list_endpoints::<S>).post(endpoints::create_endpoint::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/endpoints/{slug}",
            get(endpoints::get_endpoint::<S>)
                .patch(endpoints::update_endpoint::<S>)
                .delete(endpoints::delete_endpoint::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/endpoints/{slug}/tools",
            put(endpoints::set_endpoint_tools::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}",
            put(endpoints::put_endpoint_tool::<S>).delete(endpoints::remove_endpoint_tool::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/apis",
            get(backends::list_apis::<S>)
                .post(backends::register_api::<S>)
                .layer(DefaultBodyLimit::max(DOCUMENT_BODY_MAX)),
        )
        .route(
            "/api/v1/tenants/{tenant}/apis/{name}",
            get(backends::get_api::<S>)
                .put(backends::replace_api::<S>)
                .delete(backends::delete_api::<S>)
                .layer(DefaultBodyLimit::max(DOCUMENT_BODY_MAX)),
        )
        .route(
            "/api/v1/tenants/{tenant}/servers",
            get(backends::list_servers::<S>).post(backends::register_server::<S>),
        )
        .route(
            "/api/v1/tenants/{tenant}/servers/{name}",
            get(backends::get_server::<S>)
                .put(backends::replace_server::<S>)
                .delete(backends::delete_server::<S>),
        )
        .route("/api/v1/vault/rotate", post(vault::rotate_master_key::<S>))
        .method_not_allowed_fallback(method_not_allowed)
        .route("/api/v1", any(no_route))
        .route("/api/v1/", any(no_route))
        .route("/api/v1/{*rest}", any(no_route))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            audit_denials::<S>,
        ))
        .with_state(state)
}

async fn no_route() -> Problem {
    Problem::not_found(
        "no such route under /api/v1; GET /api/v1/openapi.json lists every route of this API",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        ProblemKind::MethodNotAllowed,
        "this route does not support this method; the `Allow` header lists the methods it does",
    )
}
