//! The tenancy edge of Toolport: who is calling, and the admin REST API.
//!
//! Layout:
//! - [`access`]: [`Principal`] (the tenant, user, role and scopes behind a token), [`Scopes`],
//!   and [`TokenAuthenticator`], which checks bearer tokens against the store with a short-lived
//!   cache; [`Authenticate`] is its object-safe face for the MCP edge.
//!
//! Deliberately absent: MCP processing (the gateway's), plaintext secrets in any response.

pub mod access;

pub use access::{AccessError, Authenticate, Principal, Scopes, TokenAuthenticator};
