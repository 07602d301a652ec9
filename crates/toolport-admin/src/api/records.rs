//! The JSON shapes of the store's records, as the admin API sends them. Timestamps are Unix
//! seconds; nothing here can hold a token's text (except [`CreatedTokenView`], once) or a secret's
//! value.

use serde::{Deserialize, Serialize};
use toolport_store::{CreatedToken, Membership, Role, SecretMeta, Tenant, TokenRecord, User};
use utoipa::ToSchema;

use crate::page::page_of;

/// A member's role in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Role)]
pub enum RoleName {
    /// Everything in the tenant, including managing owners.
    Owner,
    /// Manages members (except owners), tokens and secrets.
    Admin,
    /// Uses the tenant's endpoints with their own tokens.
    Member,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }
}

impl From<RoleName> for Role {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::Owner => Self::Owner,
            RoleName::Admin => Self::Admin,
            RoleName::Member => Self::Member,
        }
    }
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Tenant)]
pub struct TenantView {
    /// Opaque id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The plan whose quotas apply.
    pub plan: String,
    /// When it was created (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            plan: t.plan,
            created_at: t.created_at,
        }
    }
}

/// A user of the gateway.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    /// Opaque id.
    pub id: String,
    /// Unique email (or login name).
    pub email: String,
    /// Display name.
    pub name: String,
    /// When it was created (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            created_at: u.created_at,
        }
    }
}

/// A user's membership of a tenant.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Member)]
pub struct MemberView {
    /// The tenant's id.
    pub tenant_id: String,
    /// The user's id.
    pub user_id: String,
    /// The user's role in the tenant.
    pub role: RoleName,
    /// When the membership was created (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
}

impl From<Membership> for MemberView {
    fn from(m: Membership) -> Self {
        Self {
            tenant_id: m.tenant_id,
            user_id: m.user_id,
            role: m.role.into(),
            created_at: m.created_at,
        }
    }
}

/// An API token's record (never its text).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenView {
    /// Opaque id, used to read and revoke it.
    pub id: String,
    /// The tenant it acts in.
    pub tenant_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// Its label.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was created (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
    /// When it stops working (Unix seconds); `null` for never.
    #[schema(minimum = 0)]
    pub expires_at: Option<i64>,
    /// When it was revoked (Unix seconds); `null` while it is not.
    #[schema(minimum = 0)]
    pub revoked_at: Option<i64>,
    /// When it last authenticated a request (Unix seconds); `null` if never.
    #[schema(minimum = 0)]
    pub last_used_at: Option<i64>,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        Self {
            id: t.id,
            tenant_id: t.tenant_id,
            user_id: t.user_id,
            name: t.name,
            scopes: t.scopes,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A freshly created token: its record and its text, shown this once and never again.
#[derive(Serialize, ToSchema)]
#[schema(as = CreatedToken)]
pub struct CreatedTokenView {
    /// Opaque id, used to read and revoke it.
    pub id: String,
    /// The tenant it acts in.
    pub tenant_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// Its label.
    pub name: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// When it was created (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
    /// When it stops working (Unix seconds); `null` for never.
    #[schema(minimum = 0)]
    pub expires_at: Option<i64>,
    /// Always `null` for a new token.
    #[schema(minimum = 0)]
    pub revoked_at: Option<i64>,
    /// Always `null` for a new token.
    #[schema(minimum = 0)]
    pub last_used_at: Option<i64>,
    /// The token: send it as `Authorization: Bearer <token>`. Shown only in this response.
    #[schema(pattern = "^tp_[A-Za-z0-9_-]{20,}$")]
    pub token: String,
}

impl std::fmt::Debug for CreatedTokenView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedTokenView")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl From<CreatedToken> for CreatedTokenView {
    fn from(created: CreatedToken) -> Self {
        let t = created.record;
        Self {
            id: t.id,
            tenant_id: t.tenant_id,
            user_id: t.user_id,
            name: t.name,
            scopes: t.scopes,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
            token: created.token,
        }
    }
}

/// A secret's metadata; its value is write-only and never sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Secret)]
pub struct SecretView {
    /// Its name, unique within the tenant.
    pub name: String,
    /// When it was first written (Unix seconds).
    #[schema(minimum = 0)]
    pub created_at: i64,
    /// When it was last written (Unix seconds).
    #[schema(minimum = 0)]
    pub updated_at: i64,
}

impl From<SecretMeta> for SecretView {
    fn from(s: SecretMeta) -> Self {
        Self {
            name: s.name,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

page_of!(TenantPage, TenantView, "tenants");
page_of!(UserPage, UserView, "users");
page_of!(MemberPage, MemberView, "members");
page_of!(TokenPage, TokenView, "tokens");
page_of!(SecretPage, SecretView, "secrets (metadata only)");
