//! [`BackendRegistry`]: what the admin API needs from the running gateway to manage the APIs and
//! MCP servers tenants register, without depending on the gateway: checking a definition the way
//! the gateway will run it (and counting an API's tools for the plan), the state of a running
//! registration, and a way to tell the gateway that the stored registrations changed. The binary
//! implements it; without a gateway ([`NoGateway`](crate::NoGateway)) nothing can be registered.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use toolport_store::{NewBackend, Tenant};

/// A definition the gateway accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBackend {
    /// The tools an API's description yields (after its filters); `None` for an MCP server,
    /// whose tools are known only once it runs.
    pub tools: Option<u64>,
}

/// Why a definition cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationRefusal {
    /// The definition breaks a rule: `key` is the path of the offending value in the request
    /// body (`definition.auth.token`, `document`, `name`).
    Invalid { key: String, message: String },
    /// The definition is valid but clashes with the gateway as it is (a name the configuration
    /// file uses, an operator setting).
    Conflict(String),
}

/// A registration's state in the running gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendState {
    /// `starting`, `ready`, `down`, `per_user` (one instance per member, started on demand), or
    /// `invalid` (the stored definition no longer validates, e.g. a secret it names was deleted).
    pub state: String,
    /// Why it is down or invalid.
    pub reason: Option<String>,
    /// The tools it offers now.
    pub tools: u64,
}

/// The gateway as the registration routes see it (object-safe).
pub trait BackendRegistry: Send + Sync + Debug {
    /// Checks `backend` as `tenant` would register it: validates the definition against the
    /// gateway's rules and the tenant's secrets and, for an API, loads and converts its
    /// description.
    fn check<'a>(
        &'a self,
        tenant: &'a Tenant,
        backend: &'a NewBackend,
    ) -> Pin<Box<dyn Future<Output = Result<CheckedBackend, RegistrationRefusal>> + Send + 'a>>;

    /// The state of `tenant`'s registration `name`, if the gateway runs it.
    fn state(&self, tenant: &Tenant, name: &str) -> Option<BackendState>;

    /// The stored registrations changed: serve them. Done when the gateway runs the new set (a
    /// new backend may still be starting).
    fn backends_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}
