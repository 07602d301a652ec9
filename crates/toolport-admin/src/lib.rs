//! The tenancy edge of Toolport: who is calling, and the admin REST API at `/api/v1`.
//!
//! Layout:
//! - [`access`]: [`Principal`] (the tenant, user, role and scopes behind a token), [`Scopes`],
//!   and [`TokenAuthenticator`], which checks bearer tokens against the store with a short-lived
//!   cache; [`Authenticate`] is its object-safe face for the MCP edge.
//! - [`state`]: [`AdminState`], what the admin handlers share (store, vault, authenticator, call
//!   meter, endpoint catalog); `changes`: administrative changes into the audit log.
//! - [`catalog`]: [`EndpointCatalog`], the gateway as the endpoint routes see it (reserved names,
//!   the backends and tools a tenant may compose, change notification), implemented by the binary.
//! - [`registry`]: [`BackendRegistry`], the gateway as the routes of registered APIs and MCP
//!   servers see it (checking a definition, a registration's state, change notification).
//! - [`api`]: [`router`] (every route under `/api/v1`) and one file per resource: `me`,
//!   `tenants`, `users`, `members`, `tokens`, `secrets`, `endpoints`, `backends` (registered APIs
//!   and MCP servers), `plans`, `usage`, `audit`,
//!   `vault` (master key rotation); `records` holds the JSON shapes of the store's records.
//! - [`rotation`]: [`KeyRotation`], the object-safe master key rotation the binary implements.
//! - [`auth`]: [`Caller`], the extractor that authenticates each request (401 before anything
//!   else is looked at).
//! - `guard`: the authorization rules (operator, admin scope, owner/admin role, tenant isolation:
//!   another tenant is answered exactly like a missing one).
//! - [`problem`]: [`Problem`], RFC 9457 problem details, the shape of every error (including
//!   429 with `Retry-After` for the rate limiter).
//! - [`extract`]: JSON body and path extractors whose failures are problems (400/413/415/422).
//! - [`page`]: `?limit=`/`?after=` in, `{"items", "next_after"}` out.
//! - `validate`: the value rules of bodies and path segments (mirrored in the OpenAPI document).
//! - [`mod@openapi`]: [`openapi()`], the OpenAPI 3.1 document generated from the handlers,
//!   served at `GET /api/v1/openapi.json` (the only route without a token).
//!
//! Wiring: `router(AdminState::new(store, vault, auth, meter))` is a `Router<()>` whose routes all live
//! under `/api/v1` (unknown paths there are problem+json 404s through a catch-all route, not a
//! fallback), so it merges into the server's router even when that one has a fallback. Pass the
//! same [`TokenAuthenticator`] the MCP edge uses, so revocations here take effect there at once.
//!
//! Deliberately absent: MCP processing (the gateway's), plaintext secrets in any response, log
//! line or error message, and any route answering 403 for another tenant's records.

pub mod access;
pub mod api;
pub mod auth;
pub mod catalog;
mod changes;
pub mod extract;
mod guard;
pub mod openapi;
pub mod page;
pub mod problem;
pub mod registry;
pub mod rotation;
pub mod state;
mod validate;

pub use access::{AccessError, Authenticate, Principal, Scopes, TokenAuthenticator};
pub use api::router;
pub use auth::Caller;
pub use catalog::{EndpointCatalog, NoGateway, UpstreamTools};
pub use openapi::openapi;
pub use problem::{Problem, ProblemKind};
pub use registry::{BackendRegistry, BackendState, CheckedBackend, RegistrationRefusal};
pub use rotation::{KeyRotation, RotationError, RotationReport};
pub use state::AdminState;
