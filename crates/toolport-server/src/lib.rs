//! The northbound edge: how MCP clients reach the gateway.
//!
//! Layout:
//! - `front`: the service in front of the router, which serves `POST /mcp[/{name}]` (every call)
//!   without the router's per-request machinery.
//! - [`router`]: [`app`], the whole HTTP surface (testable with `oneshot`), and [`serve`].
//! - `guard`: Host and Origin validation (DNS rebinding defence).
//! - `access`: API tokens and scopes on the MCP routes; sessions bound to their caller.
//! - `streamable`: Streamable HTTP at `/mcp` and `/mcp/{name}` (sessions and 2026-07-28 stateless).
//! - `sse`: the legacy HTTP+SSE transport at `/sse` and `/message`.
//! - `health`: `/healthz`, `/readyz`, `/metrics`.
//! - [`stdio`]: the gateway over this process's stdin/stdout.
//! - `error`: the one place where edge errors become HTTP responses.
//!
//! No business rules live here: every MCP message is handed to [`toolport_gateway::Gateway`].

mod access;
mod error;
mod front;
mod guard;
mod health;
mod http_sessions;
mod router;
mod sse;
pub mod stdio;
mod streamable;

pub use router::{AppState, app, serve};
