//! Toolport's persistence layer (issue 4's store): tenants, users, memberships, API tokens, sealed
//! secrets, the vault's key check, usage events, the audit log and virtual endpoints, behind one [`Store`] interface. SQLite is the embedded
//! default (a file in the data directory, created on first run); a PostgreSQL backend implements
//! the same trait later.
//!
//! Layout:
//! - [`store`]: the [`Store`] trait every backend implements, and the rules they all follow
//!   (ordering and cursors, tenant scoping, error mapping).
//! - [`model`]: the records ([`Tenant`], [`User`], [`Membership`], [`TokenRecord`],
//!   [`SecretMeta`], [`SealedSecret`]), [`NewToken`] / [`CreatedToken`], pagination ([`PageRequest`], [`Page`]) and
//!   [`Timestamp`] (Unix seconds); metering and audit records ([`UsageEvent`], [`CallStatus`],
//!   [`UsageFilter`], [`UsageSummary`], [`AuditEntry`], [`AuditOutcome`], and [`CallAudit`], what
//!   a tool call's audit entry adds to its usage event, so that one record serves both).
//! - [`endpoint`]: virtual MCP endpoints ([`Endpoint`], [`EndpointTool`], [`EndpointMode`],
//!   [`NewEndpoint`], [`EndpointChanges`]): a tenant's `/mcp/{slug}` and the tools it selects.
//! - [`backend`]: APIs and MCP servers tenants register ([`RegisteredBackend`], [`BackendKind`],
//!   [`NewBackend`]), private to the tenant.
//! - [`sqlite`]: [`SqliteStore`] (`toolport.db`, WAL, foreign keys, busy timeout) and its
//!   migration runner; the only place with SQLite SQL (usage and audit queries in
//!   `sqlite/history.rs`, endpoints' in `sqlite/endpoints.rs`, registered backends' in `sqlite/backends.rs`). Its migrations are `migrations/sqlite/*.sql`, embedded in the binary.
//! - `token`: API token text (`tp_` + 32 random URL-safe characters) and its SHA-256 hash.
//! - [`error`]: [`StoreError`] (not found, conflict, invalid input, database, migration).
//!
//! What is stored, and what never is: tokens only as SHA-256 hashes (the text is returned once by
//! [`Store::create_token`]); secrets only as [`toolport_vault::Sealed`] text (this crate never sees a
//! plaintext or a key). Neither appears in an error message.

pub mod backend;
pub mod endpoint;
pub mod error;
pub mod model;
pub mod sqlite;
pub mod store;
mod token;

pub use backend::{BackendKind, NewBackend, RegisteredBackend};
pub use endpoint::{Endpoint, EndpointChanges, EndpointMode, EndpointTool, NewEndpoint};
pub use error::StoreError;
pub use model::{
    AuditEntry, AuditOutcome, CallAudit, CallStatus, CreatedToken, EndpointUsage, Membership,
    NewToken, Page, PageRequest, Role, SealedSecret, SecretMeta, TOOL_CALL_ACTION, Tenant,
    Timestamp, TokenRecord, ToolUsage, UsageCounts, UsageEvent, UsageFilter, UsageSummary, User,
    user_secret_vault_name,
};
pub use sqlite::SqliteStore;
pub use store::{Store, StoreFuture};
pub use token::TOKEN_PREFIX;
