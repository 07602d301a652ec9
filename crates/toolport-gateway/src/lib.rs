//! The core of Toolport: many backends behind one MCP endpoint.
//!
//! Layout, following a request:
//! - [`admission`]: the [`admission::CallGate`] tool calls pass (limits, quotas, metering).
//! - [`config`]: the validated configuration every source is turned into.
//! - [`gateway`]: the [`Gateway`] object: registry, sessions, routing tables, background tasks.
//! - [`session`]: a client session, its scope (all, tags, endpoint, one server, virtual) and
//!   bookkeeping.
//! - [`composed`]: tenants' virtual endpoints (`/mcp/{slug}`): chosen tools, renamed and
//!   redescribed, replaced as a whole by [`Gateway::set_virtual_endpoints`].
//! - `dispatch`: the method table (lifecycle, merged lists, routing, forwarding, stateless).
//! - [`names`] and [`view`]: namespacing and what clients see of each backend.
//! - [`registry`]: the running backends, hot-applied configuration changes.
//! - [`per_user`]: servers run with each user's own credentials, one instance per user.
//! - `relay`: backend-initiated messages to the right clients.
//! - [`breaker`]: per-backend circuit breakers, consulted before every forwarded call.
//! - [`metrics`], [`error`] (the one place gateway errors become JSON-RPC errors).
//!
//! This crate knows nothing of HTTP status codes or storage; the server crate is the edge.

pub mod admission;
pub mod breaker;
pub mod composed;
pub mod config;
mod dispatch;
pub mod error;
pub mod gateway;
pub mod metrics;
pub mod names;
pub mod per_user;
pub mod registry;
mod relay;
pub mod session;
pub mod view;

pub use admission::{CallEnd, CallGate, CallOutcome, CallRequest, CallTicket, Caller, Refusal};
pub use composed::{BackendTools, VirtualEndpoint, VirtualTool};
pub use config::{
    CircuitBreakerSettings, EndpointConfig, GatewayConfig, HttpSettings, PerUser, ServerConfig,
    Settings, TaskSettings, ToolFilter,
};
pub use dispatch::{StatelessError, Subscription, TASKS_EXTENSION};
pub use gateway::{BackendReadiness, Gateway};
pub use per_user::{Resolution, UserCredentials};
pub use session::{Scope, Session, Sink};
