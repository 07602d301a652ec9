//! The wire language Toolport speaks on both sides: JSON-RPC 2.0 framing, MCP protocol revisions,
//! error codes, and the bridging that lets a client of one revision talk to a backend of another.
//!
//! Layout:
//! - [`jsonrpc`]: messages (request, notification, response), parsing with precise errors, batches.
//! - [`error`]: JSON-RPC and MCP error codes and the error object.
//! - [`version`]: the protocol revisions, negotiation, and what each era allows.
//! - [`bridge`]: rewriting results between eras (e.g. `resultType` for 2026-07-28 clients).
//! - [`meta`]: `_meta` keys and helpers shared by both sides.
//!
//! Nothing here does I/O; every function is pure so that it can be tested on values alone.

pub mod bridge;
pub mod error;
pub mod jsonrpc;
pub mod meta;
pub mod version;

pub use error::{ErrorCode, RpcError};
pub use jsonrpc::{Message, Notification, Request, RequestId, Response};
pub use version::ProtocolVersion;
