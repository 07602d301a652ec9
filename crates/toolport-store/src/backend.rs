//! The records of APIs and MCP servers that tenants register through the admin API:
//! [`RegisteredBackend`], its [`BackendKind`], and [`NewBackend`], what registering or replacing
//! one takes. Plain data: no SQL here.

use std::fmt;
use std::str::FromStr;

use crate::{StoreError, Timestamp};

/// What a registration describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// An HTTP API described by an OpenAPI, Swagger, Postman or GraphQL document.
    Api,
    /// An MCP server.
    Server,
}

impl BackendKind {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Server => "server",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackendKind {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "api" => Ok(Self::Api),
            "server" => Ok(Self::Server),
            _ => Err(StoreError::Invalid(format!(
                "unknown backend kind `{s}` (expected api or server)"
            ))),
        }
    }
}

/// A tenant's API or MCP server, private to that tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredBackend {
    /// Opaque id (a UUID).
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    pub kind: BackendKind,
    /// Unique within the tenant, across both kinds (it is the namespace of the tools).
    pub name: String,
    /// The JSON of one `apis` or `mcpServers` entry, as registered.
    pub definition: String,
    /// The size in bytes of the uploaded description, if one was uploaded (read it with
    /// [`Store::backend_document`](crate::Store::backend_document)).
    pub document_bytes: Option<u64>,
    pub created_at: Timestamp,
    /// When it was last replaced.
    pub updated_at: Timestamp,
}

/// A registration to create, or to replace the one of the same tenant and name with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackend {
    pub tenant_id: String,
    pub kind: BackendKind,
    pub name: String,
    pub definition: String,
    /// An API's uploaded description.
    pub document: Option<String>,
    /// On creation, how many registrations the tenant may hold at most, this one included (its
    /// plan's limit): counted and inserted in one write transaction, so concurrent registrations
    /// cannot both pass; [`StoreError::LimitReached`](crate::StoreError::LimitReached) beyond it.
    /// Ignored on replacement.
    pub at_most: Option<u64>,
}
