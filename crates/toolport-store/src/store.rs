//! [`Store`]: the one interface every backend implements (SQLite now, PostgreSQL later).
//!
//! A trait whose methods return `impl Future + Send` (written `async fn` in implementations): no
//! boxing, no `async-trait`, and the futures can be spawned on a multi-threaded runtime. It is not
//! object-safe; the server is generic over `S: Store`, or, once there are two backends, holds an
//! enum of them that implements this same trait by delegation.
//!
//! Rules every implementation follows (the tests in `tests/` check them):
//! - Lists are ordered by a unique key (documented per method) and paginated with
//!   [`PageRequest`]; the cursor is that key.
//! - Every tenant-owned record is read, changed and deleted *through its tenant id*: a record of
//!   another tenant is [`StoreError::NotFound`], exactly like a missing one.
//! - Unique violations are [`StoreError::Conflict`]; a reference to a missing tenant or user is
//!   [`StoreError::NotFound`].
//! - Tokens are stored as SHA-256 hashes only; secrets as sealed text only.
//! - An endpoint's slug is unique across the gateway (it is a URL); everything else of it is
//!   reached through its tenant like any tenant-owned record.
//! - Usage events and audit entries are history: written in batches (one transaction per call),
//!   never changed, listed newest first with an opaque cursor, and kept when the tenant, user or
//!   token they name is deleted.

use std::future::Future;

use toolport_vault::Sealed;

use crate::{
    AuditEntry, BackendKind, CreatedToken, Endpoint, EndpointChanges, EndpointTool, Membership,
    NewBackend, NewEndpoint, NewToken, Page, PageRequest, RegisteredBackend, Role, SealedSecret,
    SecretMeta, StoreError, Tenant, Timestamp, TokenRecord, UsageEvent, UsageFilter, UsageSummary,
    User,
};

/// Shorthand for the futures the trait's methods return.
pub trait StoreFuture<T>: Future<Output = Result<T, StoreError>> + Send {}
impl<T, F: Future<Output = Result<T, StoreError>> + Send> StoreFuture<T> for F {}

/// The persistence interface of Toolport.
pub trait Store: Send + Sync {
    // Tenants.

    /// Creates a tenant; [`StoreError::Conflict`] if the name is taken.
    fn create_tenant(&self, name: &str, plan: &str) -> impl StoreFuture<Tenant>;
    /// The tenant with this id.
    fn tenant(&self, id: &str) -> impl StoreFuture<Tenant>;
    /// The tenant with this name.
    fn tenant_by_name(&self, name: &str) -> impl StoreFuture<Tenant>;
    /// Tenants ordered by name; the cursor is the name.
    fn list_tenants(&self, page: &PageRequest) -> impl StoreFuture<Page<Tenant>>;
    /// Changes a tenant's plan; the tenant as it is now.
    fn set_tenant_plan(&self, id: &str, plan: &str) -> impl StoreFuture<Tenant>;
    /// Deletes a tenant with its memberships, tokens and secrets.
    fn delete_tenant(&self, id: &str) -> impl StoreFuture<()>;

    // Users.

    /// Creates a user; [`StoreError::Conflict`] if the email is taken.
    fn create_user(&self, email: &str, name: &str) -> impl StoreFuture<User>;
    /// The user with this id.
    fn user(&self, id: &str) -> impl StoreFuture<User>;
    /// The user with this email.
    fn user_by_email(&self, email: &str) -> impl StoreFuture<User>;
    /// Users ordered by email; the cursor is the email.
    fn list_users(&self, page: &PageRequest) -> impl StoreFuture<Page<User>>;
    /// Deletes a user with their memberships and tokens.
    fn delete_user(&self, id: &str) -> impl StoreFuture<()>;

    // Memberships.

    /// Adds a user to a tenant; [`StoreError::Conflict`] if already a member.
    fn add_member(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: Role,
    ) -> impl StoreFuture<Membership>;
    /// Changes a member's role.
    fn set_member_role(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: Role,
    ) -> impl StoreFuture<Membership>;
    /// Removes a user from a tenant (their tokens in it stay until revoked or deleted).
    fn remove_member(&self, tenant_id: &str, user_id: &str) -> impl StoreFuture<()>;
    /// A tenant's members ordered by user id; the cursor is the user id.
    fn list_members(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<Membership>>;
    /// Every tenant a user belongs to, ordered by tenant id (a short list: not paginated).
    fn memberships_of_user(&self, user_id: &str) -> impl StoreFuture<Vec<Membership>>;

    // API tokens.

    /// Creates a token and returns its text, the only time it is ever available.
    fn create_token(&self, new: &NewToken) -> impl StoreFuture<CreatedToken>;
    /// Stores a token whose text was chosen outside (the first administrator's
    /// `TOOLPORT_ADMIN_TOKEN`); it must look like a generated one (`tp_` + at least 20 URL-safe
    /// characters). [`StoreError::Conflict`] if that token already exists.
    fn import_token(&self, new: &NewToken, token: &str) -> impl StoreFuture<TokenRecord>;
    /// The live token with this text: `None` when unknown, revoked or expired. Records the use
    /// (`last_used_at`).
    fn authenticate_token(&self, token: &str) -> impl StoreFuture<Option<TokenRecord>>;
    /// One of a tenant's tokens.
    fn token(&self, tenant_id: &str, id: &str) -> impl StoreFuture<TokenRecord>;
    /// A tenant's tokens ordered by id; the cursor is the id.
    fn list_tokens(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<TokenRecord>>;
    /// Revokes one of a tenant's tokens (revoking twice keeps the first time).
    fn revoke_token(&self, tenant_id: &str, id: &str) -> impl StoreFuture<TokenRecord>;

    // Secrets.

    /// Writes (or replaces) a tenant's secret; only sealed text is accepted.
    fn put_secret(
        &self,
        tenant_id: &str,
        name: &str,
        sealed: &Sealed,
    ) -> impl StoreFuture<SecretMeta>;
    /// Deletes a tenant's secret.
    fn delete_secret(&self, tenant_id: &str, name: &str) -> impl StoreFuture<()>;
    /// A tenant's secrets' metadata ordered by name; the cursor is the name. Never the values.
    fn list_secrets(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<SecretMeta>>;
    /// A secret's sealed value, for the gateway's secret resolver only (the admin API never
    /// returns it). `None` when the tenant has no such secret.
    fn sealed_secret(&self, tenant_id: &str, name: &str) -> impl StoreFuture<Option<Sealed>>;

    /// Every tenant's sealed secrets ordered by (tenant id, name), for a `toolport vault rotate`
    /// pass; the cursor is opaque. Users' own secrets are included, named as the vault knows them
    /// ([`crate::user_secret_vault_name`]), and [`Store::reseal_secret`] takes those names too. Never exposed through the admin API.
    fn list_sealed_secrets(&self, page: &PageRequest) -> impl StoreFuture<Page<SealedSecret>>;
    /// Replaces a secret's sealed value only if it is still `expected` (compare and swap), so that
    /// a rotation running next to the live gateway never overwrites a value written meanwhile.
    /// Returns whether it replaced it; `updated_at` is kept (the value itself did not change).
    fn reseal_secret(
        &self,
        tenant_id: &str,
        name: &str,
        expected: &Sealed,
        replacement: &Sealed,
    ) -> impl StoreFuture<bool>;

    // Users' own secrets (per-user credentials).

    /// Writes (or replaces) a user's own secret in a tenant they belong to; only sealed text
    /// (sealed under [`crate::user_secret_vault_name`]). [`StoreError::NotFound`] when the user
    /// is not a member of the tenant.
    fn put_user_secret(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
        sealed: &Sealed,
    ) -> impl StoreFuture<SecretMeta>;
    /// Deletes a user's own secret.
    fn delete_user_secret(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
    ) -> impl StoreFuture<()>;
    /// A user's own secrets' metadata in a tenant, ordered by name; the cursor is the name.
    fn list_user_secrets(
        &self,
        tenant_id: &str,
        user_id: &str,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<SecretMeta>>;
    /// A user's own secret's sealed value, for the gateway's per-user servers only. `None` when
    /// the user has no such secret in the tenant.
    fn sealed_user_secret(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
    ) -> impl StoreFuture<Option<Sealed>>;

    // Vault key check.

    /// The stored key check value, `None` before the first start.
    fn vault_key_check(&self) -> impl StoreFuture<Option<Sealed>>;
    /// Stores (or replaces, after a rotation) the key check value.
    fn set_vault_key_check(&self, check: &Sealed) -> impl StoreFuture<()>;

    // Usage (metering).

    /// Writes a batch of usage events in one transaction: all of them or none. An event with
    /// [`UsageEvent::audit`] is also the call's audit entry, which [`Store::list_audit`] lists.
    fn record_usage(&self, events: &[UsageEvent]) -> impl StoreFuture<()>;
    /// A tenant's usage over `[from, to)` (Unix seconds): totals, bytes, latency, per tool and per
    /// endpoint.
    fn usage_summary(
        &self,
        tenant_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> impl StoreFuture<UsageSummary>;
    /// A tenant's usage events matching `filter`, newest first (by time, then by an internal id);
    /// the cursor is opaque. [`StoreError::Invalid`] for a cursor this store did not make.
    fn usage_history(
        &self,
        tenant_id: &str,
        filter: &UsageFilter,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<UsageEvent>>;
    /// How many of a tenant's calls since `since` (Unix seconds, inclusive) count against its
    /// quota: those with status `ok` or `error` (a rejected call never reached a backend).
    fn count_calls(&self, tenant_id: &str, since: Timestamp) -> impl StoreFuture<u64>;

    // Audit log.

    /// Appends a batch of audit entries in one transaction: all of them or none.
    fn append_audit(&self, entries: &[AuditEntry]) -> impl StoreFuture<()>;
    /// Audit entries newest first (by time, then by an internal id): those appended, and those
    /// of audited usage events ([`UsageEvent::audit_entry`]); the cursor is opaque.
    /// `Some(tenant)` lists that tenant's entries only; `None` lists every entry, gateway-wide ones
    /// and every tenant's (the gateway operator's view, never to be served to a tenant).
    fn list_audit(
        &self,
        tenant_id: Option<&str>,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<AuditEntry>>;

    // Virtual endpoints.

    /// Creates an endpoint with its tools; [`StoreError::Conflict`] if the slug is taken (by any
    /// tenant) or two tools share an exposed name, [`StoreError::NotFound`] for a missing tenant.
    fn create_endpoint(&self, new: &NewEndpoint) -> impl StoreFuture<Endpoint>;
    /// One of a tenant's endpoints, by slug, with its tools.
    fn endpoint(&self, tenant_id: &str, slug: &str) -> impl StoreFuture<Endpoint>;
    /// A tenant's endpoints with their tools, ordered by slug; the cursor is the slug.
    fn list_endpoints(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<Endpoint>>;
    /// Changes an endpoint's description or mode.
    fn update_endpoint(
        &self,
        tenant_id: &str,
        slug: &str,
        changes: &EndpointChanges,
    ) -> impl StoreFuture<Endpoint>;
    /// Deletes an endpoint with its tool selection.
    fn delete_endpoint(&self, tenant_id: &str, slug: &str) -> impl StoreFuture<()>;
    /// Replaces an endpoint's whole tool selection (all or nothing).
    fn set_endpoint_tools(
        &self,
        tenant_id: &str,
        slug: &str,
        tools: &[EndpointTool],
    ) -> impl StoreFuture<Endpoint>;
    /// Adds a tool to an endpoint, or replaces the one with the same exposed name.
    fn put_endpoint_tool(
        &self,
        tenant_id: &str,
        slug: &str,
        tool: &EndpointTool,
    ) -> impl StoreFuture<Endpoint>;
    /// Removes the tool with this exposed name from an endpoint
    /// ([`StoreError::NotFound`] `endpoint tool` when it has none).
    fn remove_endpoint_tool(
        &self,
        tenant_id: &str,
        slug: &str,
        exposed_name: &str,
    ) -> impl StoreFuture<Endpoint>;
    /// Every tenant's endpoints with their tools, ordered by slug: what the gateway serves (never
    /// exposed through the admin API as such).
    fn all_endpoints(&self) -> impl StoreFuture<Vec<Endpoint>>;

    // Registered APIs and MCP servers.

    /// Registers an API or server; [`StoreError::Conflict`] if the tenant has one of that name
    /// (of either kind), [`StoreError::NotFound`] for a missing tenant.
    fn create_backend(&self, new: &NewBackend) -> impl StoreFuture<RegisteredBackend>;
    /// One of a tenant's registrations, by name (of either kind).
    fn backend(&self, tenant_id: &str, name: &str) -> impl StoreFuture<RegisteredBackend>;
    /// The uploaded description of a tenant's registration (`None` when it has none).
    fn backend_document(&self, tenant_id: &str, name: &str) -> impl StoreFuture<Option<String>>;
    /// A tenant's registrations, of one kind or both, ordered by name; the cursor is the name.
    fn list_backends(
        &self,
        tenant_id: &str,
        kind: Option<BackendKind>,
        page: &PageRequest,
    ) -> impl StoreFuture<Page<RegisteredBackend>>;
    /// Replaces the definition and description of the registration with `new`'s tenant, name and
    /// kind ([`StoreError::NotFound`] when there is none).
    fn replace_backend(&self, new: &NewBackend) -> impl StoreFuture<RegisteredBackend>;
    /// Deletes a registration (of either kind).
    fn delete_backend(&self, tenant_id: &str, name: &str) -> impl StoreFuture<()>;
    /// Every tenant's registrations, without descriptions: what the gateway serves (never exposed
    /// through the admin API as such).
    fn all_backends(&self) -> impl StoreFuture<Vec<RegisteredBackend>>;
}
