//! Who is calling: bearer tokens turned into a [`Principal`] (tenant, user, role, scopes).
//!
//! Every MCP and admin route asks [`Authenticate::authenticate`] first. The store is the source of
//! truth; a short-lived cache keyed by the token's SHA-256 keeps the hot path off the database
//! (one lookup per token per [`CACHE_TTL`]), and revocation through this process drops the entry at
//! once ([`TokenAuthenticator::forget_token`]). Another instance sharing the database sees a
//! revocation within the TTL.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use toolport_store::{Role, Store, StoreError, Timestamp};

/// How long an authenticated token is answered from memory.
pub const CACHE_TTL: Duration = Duration::from_secs(10);

/// Cached entries kept at most; beyond that the cache is emptied (tokens are few in practice,
/// and a flood of distinct valid tokens only costs database lookups).
const CACHE_CAPACITY: usize = 10_000;

/// What a token may do.
///
/// - `operator`: manage tenants and users of the whole gateway (the first administrator has it);
/// - `admin`: the admin API within the token's tenant (writes need the owner or admin role);
/// - `mcp`: every MCP endpoint the token's tenant can see;
/// - `mcp:NAME`: the MCP endpoint `NAME` only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// `operator` was granted.
    pub operator: bool,
    /// `admin` was granted.
    pub admin: bool,
    /// `mcp` was granted (all endpoints).
    pub all_endpoints: bool,
    /// The endpoints of `mcp:NAME` scopes.
    pub endpoints: Vec<String>,
}

impl Scopes {
    /// The scope names this build understands, for error messages and documentation.
    pub const NAMES: &'static str = "operator, admin, mcp, mcp:ENDPOINT";

    /// Checks requested scope names; an unknown one is an error naming it.
    pub fn validate<S: AsRef<str>>(names: &[S]) -> Result<(), String> {
        match names
            .iter()
            .map(AsRef::as_ref)
            .find(|n| Self::grant(n).is_none())
        {
            Some(unknown) => Err(format!(
                "unknown scope `{unknown}` (expected {})",
                Self::NAMES
            )),
            None => Ok(()),
        }
    }

    /// The scopes granted by stored names. Names were validated when the token was created; one
    /// this build does not know (written by a newer build sharing the database) grants nothing.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Self {
        let mut scopes = Self::default();
        for grant in names.iter().filter_map(|n| Self::grant(n.as_ref())) {
            match grant {
                Grant::Operator => scopes.operator = true,
                Grant::Admin => scopes.admin = true,
                Grant::AllEndpoints => scopes.all_endpoints = true,
                Grant::Endpoint(name) => scopes.endpoints.push(name.to_owned()),
            }
        }
        scopes
    }

    fn grant(name: &str) -> Option<Grant<'_>> {
        match name {
            "operator" => Some(Grant::Operator),
            "admin" => Some(Grant::Admin),
            "mcp" => Some(Grant::AllEndpoints),
            other => other
                .strip_prefix("mcp:")
                .filter(|e| !e.is_empty())
                .map(Grant::Endpoint),
        }
    }

    /// Whether the MCP endpoint `name` (`None` for the aggregate `/mcp`) may be used.
    pub fn allows_endpoint(&self, name: Option<&str>) -> bool {
        self.all_endpoints || name.is_some_and(|n| self.endpoints.iter().any(|e| e == n))
    }
}

/// One scope name, understood.
enum Grant<'a> {
    Operator,
    Admin,
    AllEndpoints,
    Endpoint(&'a str),
}

/// The caller behind a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (never its text).
    pub token_id: String,
    /// The tenant the token acts in.
    pub tenant_id: String,
    /// That tenant's name (configuration grants name tenants).
    pub tenant_name: String,
    /// The user the token belongs to.
    pub user_id: String,
    /// The user's role in that tenant.
    pub role: Role,
    /// What the token may do.
    pub scopes: Scopes,
    /// When the token stops working, if ever.
    pub expires_at: Option<Timestamp>,
}

impl Principal {
    /// Whether the caller may change the tenant's members, other users' tokens and its secrets.
    pub fn manages_tenant(&self) -> bool {
        self.scopes.admin && matches!(self.role, Role::Owner | Role::Admin)
    }
}

/// Why a request carries no valid identity. Every variant is answered with 401; none says whether
/// a token exists.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No `Authorization: Bearer` header.
    #[error("this endpoint needs an API token: send `Authorization: Bearer tp_...`")]
    Missing,
    /// Unknown, revoked or expired token, or its user left the tenant.
    #[error("the API token is invalid, expired or revoked")]
    Invalid,
    /// The store could not be asked.
    #[error("cannot check the API token: {0}")]
    Store(#[from] StoreError),
}

/// Token authentication as the MCP edge sees it: object-safe, so the edge needs no store type.
pub trait Authenticate: Send + Sync + std::fmt::Debug {
    /// The principal behind `token` (the text after `Bearer `).
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Principal, AccessError>> + Send + 'a>>;
}

type TokenDigest = [u8; 32];

/// Checks tokens against a [`Store`], with the short-lived cache described in the module docs.
pub struct TokenAuthenticator<S> {
    store: Arc<S>,
    cache: Mutex<HashMap<TokenDigest, (Principal, Instant)>>,
}

impl<S> std::fmt::Debug for TokenAuthenticator<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthenticator").finish_non_exhaustive()
    }
}

impl<S: Store> TokenAuthenticator<S> {
    /// An authenticator over `store`.
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            cache: Mutex::default(),
        }
    }

    /// The principal behind `token`.
    pub async fn principal(&self, token: &str) -> Result<Principal, AccessError> {
        let digest: TokenDigest = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        if let Some(principal) = self.cached(&digest, now) {
            return Ok(principal);
        }
        let record = self
            .store
            .authenticate_token(token)
            .await?
            .ok_or(AccessError::Invalid)?;
        let role = self
            .store
            .memberships_of_user(&record.user_id)
            .await?
            .into_iter()
            .find(|m| m.tenant_id == record.tenant_id)
            .ok_or(AccessError::Invalid)?
            .role;
        let tenant_name = match self.store.tenant(&record.tenant_id).await {
            Ok(tenant) => tenant.name,
            Err(StoreError::NotFound(_)) => return Err(AccessError::Invalid),
            Err(err) => return Err(err.into()),
        };
        let scopes = Scopes::from_names(&record.scopes);
        let principal = Principal {
            token_id: record.id,
            tenant_id: record.tenant_id,
            tenant_name,
            user_id: record.user_id,
            role,
            scopes,
            expires_at: record.expires_at,
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(digest, (principal.clone(), now));
        Ok(principal)
    }

    fn cached(&self, digest: &TokenDigest, now: Instant) -> Option<Principal> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let (principal, at) = cache.get(digest)?;
        let expired = principal
            .expires_at
            .is_some_and(|t| t <= toolport_store::model::now());
        if expired || now.duration_since(*at) >= CACHE_TTL {
            cache.remove(digest);
            return None;
        }
        Some(principal.clone())
    }

    /// Drops cached entries of a token (after revocation) so it stops working at once.
    pub fn forget_token(&self, token_id: &str) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (p, _)| p.token_id != token_id);
    }

    /// Drops cached entries of a user in a tenant (after a role change or removal).
    pub fn forget_member(&self, tenant_id: &str, user_id: &str) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (p, _)| !(p.tenant_id == tenant_id && p.user_id == user_id));
    }

    /// Drops every cached entry (after deleting a tenant or a user).
    pub fn forget_all(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl<S: Store + 'static> Authenticate for TokenAuthenticator<S> {
    fn authenticate<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Principal, AccessError>> + Send + 'a>> {
        Box::pin(self.principal(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_gate_endpoints() {
        let scopes = Scopes::from_names(&["admin", "mcp:github", "future-scope"]);
        assert!(scopes.admin && !scopes.operator && !scopes.all_endpoints);
        assert!(scopes.allows_endpoint(Some("github")));
        assert!(!scopes.allows_endpoint(Some("stripe")));
        assert!(!scopes.allows_endpoint(None));
        assert!(Scopes::from_names(&["mcp"]).allows_endpoint(None));
        Scopes::validate(&["operator", "admin", "mcp", "mcp:a"]).unwrap();
        let err = Scopes::validate(&["mcp", "mcp:", "x"]).unwrap_err();
        assert!(err.contains("unknown scope `mcp:`"), "{err}");
    }
}
