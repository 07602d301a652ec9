//! The records of virtual MCP endpoints: [`Endpoint`] (a tenant's `/mcp/{slug}`), the tools it
//! selects ([`EndpointTool`]), its [`EndpointMode`], and what creating or changing one takes
//! ([`NewEndpoint`], [`EndpointChanges`]). Plain data: no SQL here.

use std::fmt;
use std::str::FromStr;

use crate::{StoreError, Timestamp};

/// How an endpoint exposes its tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointMode {
    /// Each selected tool as a tool of its own.
    Tools,
    /// List, describe and call meta-tools over the selection.
    Dispatch,
    /// Search and call meta-tools over the selection.
    Search,
}

impl EndpointMode {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Dispatch => "dispatch",
            Self::Search => "search",
        }
    }
}

impl fmt::Display for EndpointMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EndpointMode {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tools" => Ok(Self::Tools),
            "dispatch" => Ok(Self::Dispatch),
            "search" => Ok(Self::Search),
            _ => Err(StoreError::Invalid(format!(
                "unknown endpoint mode `{s}` (expected tools, dispatch or search)"
            ))),
        }
    }
}

/// One tool an endpoint selects from a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTool {
    /// The name clients of the endpoint see; unique within the endpoint.
    pub exposed_name: String,
    /// The backend (a server or API of the configuration file).
    pub upstream: String,
    /// The backend's own name for the tool.
    pub tool: String,
    /// Replaces the backend's description when set.
    pub description: Option<String>,
    /// Whether clients see (and may call) it; a hidden tool keeps its place in the selection.
    pub visible: bool,
}

/// A tenant's virtual MCP endpoint, `/mcp/{slug}`, with its tool selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Opaque id (a UUID).
    pub id: String,
    /// The owning tenant.
    pub tenant_id: String,
    /// The URL path segment, unique across the gateway.
    pub slug: String,
    /// What it is for (may be empty).
    pub description: String,
    /// How it exposes its tools.
    pub mode: EndpointMode,
    /// Its tools, ordered by exposed name.
    pub tools: Vec<EndpointTool>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it or its selection last changed.
    pub updated_at: Timestamp,
}

/// An endpoint to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEndpoint {
    /// The owning tenant.
    pub tenant_id: String,
    /// The URL path segment; [`StoreError::Conflict`] if another endpoint has it.
    pub slug: String,
    /// What it is for.
    pub description: String,
    /// How it exposes its tools.
    pub mode: EndpointMode,
    /// Its tools; exposed names must be distinct.
    pub tools: Vec<EndpointTool>,
    /// How many endpoints the tenant may hold at most, this one included (its plan's limit):
    /// counted and inserted in one write transaction, so concurrent creations cannot both pass;
    /// [`StoreError::LimitReached`](crate::StoreError::LimitReached) beyond it.
    pub at_most: Option<u64>,
}

/// Changes to an endpoint's own fields; `None` keeps a field as it is. The slug never changes:
/// it is the endpoint's address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    /// A new description.
    pub description: Option<String>,
    /// A new mode.
    pub mode: Option<EndpointMode>,
}
