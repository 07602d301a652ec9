//! [`EndpointCatalog`]: what the admin API needs to know about the running gateway to manage
//! virtual endpoints, without depending on the gateway: the names the configuration file already
//! uses under `/mcp/`, which backends and tools a tenant may compose, and a way to tell the
//! gateway that the stored endpoints changed. The binary implements it over the live gateway.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use toolport_store::{NewBackend, Tenant};

use crate::registry::{BackendRegistry, BackendState, CheckedBackend, RegistrationRefusal};

/// What a tenant may select from one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTools {
    /// Whether the backend is up with its catalog loaded; when not, tool names cannot be checked.
    pub ready: bool,
    /// The backend's tools (original names, after the configuration's allow/deny filter).
    pub tools: Vec<String>,
}

/// The gateway as the endpoint routes see it (object-safe, so the admin crate needs no gateway).
pub trait EndpointCatalog: Send + Sync + Debug {
    /// Why `name` cannot be a virtual endpoint's slug because the configuration uses it (a server,
    /// an API or a configured endpoint); `None` when it is free there.
    fn reserved(&self, name: &str) -> Option<String>;

    /// What `tenant` may select from the backend `upstream`; `None` when there is no such backend
    /// or it is not granted to that tenant (the same answer, so nothing tells them apart).
    fn upstream_tools(&self, tenant: &Tenant, upstream: &str) -> Option<UpstreamTools>;

    /// The stored endpoints changed: serve the new definitions. Done when the gateway serves them,
    /// so that a client told of a change can use it at once.
    fn endpoints_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The catalog of an admin API without a gateway: no backend, nothing reserved, nobody to tell,
/// and nothing can be registered.
#[derive(Debug, Default)]
pub struct NoGateway;

impl BackendRegistry for NoGateway {
    fn check<'a>(
        &'a self,
        _tenant: &'a Tenant,
        _backend: &'a NewBackend,
    ) -> Pin<Box<dyn Future<Output = Result<CheckedBackend, RegistrationRefusal>> + Send + 'a>>
    {
        Box::pin(std::future::ready(Err(RegistrationRefusal::Conflict(
            "this admin API runs without a gateway, so there is nothing to run an API or server \
             on; register it through `toolport serve`"
                .to_owned(),
        ))))
    }

    fn state(&self, _tenant: &Tenant, _name: &str) -> Option<BackendState> {
        None
    }

    fn backends_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

impl EndpointCatalog for NoGateway {
    fn reserved(&self, _name: &str) -> Option<String> {
        None
    }

    fn upstream_tools(&self, _tenant: &Tenant, _upstream: &str) -> Option<UpstreamTools> {
        None
    }

    fn endpoints_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}
