//! [`AdminState`]: what every admin API handler shares (the store, the vault, the authenticator,
//! the call meter with its plans, rate limits and audit log, the master key rotation when the
//! gateway offers one, the gateway's [`EndpointCatalog`] and its [`BackendRegistry`]).

use std::sync::Arc;

use toolport_metering::CallMeter;
use toolport_store::Store;
use toolport_vault::Vault;

use crate::access::TokenAuthenticator;
use crate::catalog::{EndpointCatalog, NoGateway};
use crate::registry::BackendRegistry;
use crate::rotation::KeyRotation;

/// The admin API's shared state. Cheap to clone (a few `Arc`s).
pub struct AdminState<S> {
    pub(crate) store: Arc<S>,
    pub(crate) vault: Arc<Vault>,
    pub(crate) auth: Arc<TokenAuthenticator<S>>,
    pub(crate) catalog: Arc<dyn EndpointCatalog>,
    pub(crate) registry: Arc<dyn BackendRegistry>,
    pub(crate) meter: Arc<CallMeter<S>>,
    pub(crate) rotation: Option<Arc<dyn KeyRotation>>,
    /// The tenant owning the configuration file (it cannot be deleted), when there is one.
    pub(crate) administrator: Option<String>,
}

impl<S: Store + 'static> AdminState<S> {
    /// The state over `store`, sealing secrets with `vault` and checking tokens with `auth`
    /// (which must be the authenticator the MCP edge uses, so that revocations through this API
    /// reach it at once); `meter` is the gateway's call gate (its plans, its per-token rate, its
    /// audit log). Endpoints are managed without a gateway ([`NoGateway`]) until
    /// [`AdminState::with_endpoint_catalog`] gives one.
    pub fn new(
        store: Arc<S>,
        vault: Arc<Vault>,
        auth: Arc<TokenAuthenticator<S>>,
        meter: Arc<CallMeter<S>>,
    ) -> Self {
        Self {
            store,
            vault,
            auth,
            meter,
            rotation: None,
            administrator: None,
            catalog: Arc::new(NoGateway),
            registry: Arc::new(NoGateway),
        }
    }

    /// Names the administrator's tenant (the owner of the configuration file's servers and
    /// secrets): deleting it is refused.
    pub fn with_administrator_tenant(mut self, tenant_id: String) -> Self {
        self.administrator = Some(tenant_id);
        self
    }

    /// Offers `POST /api/v1/vault/rotate`, performed by `rotation` (without it the route answers
    /// 409).
    pub fn with_key_rotation(mut self, rotation: Arc<dyn KeyRotation>) -> Self {
        self.rotation = Some(rotation);
        self
    }

    /// The same state, validating endpoints against `catalog` and telling it of their changes.
    pub fn with_endpoint_catalog(self, catalog: Arc<dyn EndpointCatalog>) -> Self {
        Self { catalog, ..self }
    }

    /// The same state, checking registered APIs and servers with `registry` and telling it of
    /// their changes.
    pub fn with_backend_registry(self, registry: Arc<dyn BackendRegistry>) -> Self {
        Self { registry, ..self }
    }
}

impl<S> Clone for AdminState<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            vault: Arc::clone(&self.vault),
            auth: Arc::clone(&self.auth),
            catalog: Arc::clone(&self.catalog),
            registry: Arc::clone(&self.registry),
            meter: Arc::clone(&self.meter),
            rotation: self.rotation.clone(),
            administrator: self.administrator.clone(),
        }
    }
}

impl<S> std::fmt::Debug for AdminState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState").finish_non_exhaustive()
    }
}
