//! The southbound side: every MCP server Toolport talks to, behind one long-lived connection each.
//!
//! Layout, in the order a call travels:
//! - [`spec`]: how to reach a backend (stdio command, Streamable HTTP URL, legacy SSE URL).
//! - [`client`]: a one-shot client (connect, `initialize`, requests) for `toolport call` and tests.
//! - [`peer`]: the JSON-RPC client over any transport: id allocation, pending requests, timeouts.
//! - [`transport`]: one module per wire (`stdio`, `streamable`, `sse`); each runs as one task that
//!   owns its connection (and, for stdio, its child process); Streamable HTTP's requests, once its
//!   session is set up, run in the tasks that wait for them. The two HTTP wires share
//!   [`McpHttpClient`] (`http_client`).
//! - [`supervisor`]: connects, initialises, keeps the catalog (tools, prompts, resources) fresh,
//!   pings, and restarts with backoff; publishes a [`supervisor::Snapshot`] through a watch channel.
//! - [`api`]: HTTP APIs as tools (OpenAPI, Swagger, Postman, GraphQL): request building, auth,
//!   responses as MCP content, and the SSRF-safe client for every outbound API and spec request.
//!
//! This crate knows MCP but nothing about tenants, client sessions or namespacing.

pub mod api;
pub mod client;
pub mod error;
pub mod peer;
pub mod spec;
pub mod supervisor;
pub mod transport;

pub use client::{McpClient, McpClientOptions};
pub use error::UpstreamError;
pub use peer::{Inbound, NotificationHook, Peer};
pub use spec::UpstreamSpec;
pub use supervisor::{BackendEvent, Snapshot, Status, Supervisor, SupervisorOptions};
pub use transport::McpHttpClient;
