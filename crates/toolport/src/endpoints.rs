//! Tenants' virtual endpoints in the running gateway: read from the store at start, read again
//! after every admin change (through [`EndpointCatalog`], which the admin API is given), and kept
//! apart from the names the configuration file uses under `/mcp/`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use toolport_admin::{EndpointCatalog, UpstreamTools};
use toolport_gateway::{Gateway, GatewayConfig, VirtualEndpoint, VirtualTool};
use toolport_import::Mode;
use toolport_store::{Endpoint, EndpointMode, SqliteStore, Store, StoreError, Tenant};

use crate::registrations;

/// Keeps the gateway's virtual endpoints in line with the store.
#[derive(Debug)]
pub struct EndpointSync {
    gateway: Arc<Gateway>,
    store: Arc<SqliteStore>,
    /// The tenant that owns the configuration file: every backend is granted to it.
    admin_tenant_id: String,
    /// One reload at a time, so that the last one to read the store is the last one applied.
    reloading: tokio::sync::Mutex<()>,
}

impl EndpointSync {
    pub fn new(gateway: Arc<Gateway>, store: Arc<SqliteStore>, admin_tenant_id: String) -> Self {
        Self {
            gateway,
            store,
            admin_tenant_id,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads every endpoint from the store and serves them.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reloading.lock().await;
        let stored = self.store.all_endpoints().await?;
        let served = served(&self.store, &self.gateway.config(), stored).await?;
        self.gateway.set_virtual_endpoints(served);
        Ok(())
    }
}

impl EndpointCatalog for EndpointSync {
    fn reserved(&self, name: &str) -> Option<String> {
        let config = self.gateway.config();
        if config.servers.contains_key(name) {
            Some(format!(
                "/mcp/{name} is a server (or API) of the gateway's configuration file"
            ))
        } else if config.endpoints.contains_key(name) {
            Some(format!(
                "/mcp/{name} is an endpoint of the gateway's configuration file"
            ))
        } else {
            None
        }
    }

    fn upstream_tools(&self, tenant: &Tenant, upstream: &str) -> Option<UpstreamTools> {
        let config = self.gateway.config();
        let own = registrations::key(&tenant.name, upstream);
        let (name, server) = config
            .servers
            .get_key_value(&own)
            .or_else(|| config.servers.get_key_value(upstream))?;
        if !server.granted_to(&tenant.name, tenant.id == self.admin_tenant_id) {
            return None;
        }
        let offered = self.gateway.backend_tools(name);
        Some(UpstreamTools {
            ready: offered.as_ref().is_some_and(|o| o.ready),
            tools: offered.map(|o| o.tools).unwrap_or_default(),
        })
    }

    fn endpoints_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if let Err(err) = self.reload().await {
                tracing::error!(
                    "cannot read the virtual endpoints; the gateway keeps serving the previous ones: {err}"
                );
            }
        })
    }
}

/// The gateway's form of stored endpoints. A selected tool names its backend as its tenant
/// does: the tenant's own registration of that name, or else the configuration's backend.
pub async fn served(
    store: &SqliteStore,
    config: &GatewayConfig,
    stored: Vec<Endpoint>,
) -> Result<Vec<VirtualEndpoint>, StoreError> {
    let mut tenant_names: HashMap<String, String> = HashMap::new();
    for endpoint in &stored {
        if !tenant_names.contains_key(&endpoint.tenant_id) {
            let tenant = store.tenant(&endpoint.tenant_id).await?;
            tenant_names.insert(tenant.id, tenant.name);
        }
    }
    let backend_of = |tenant_id: &str, upstream: String| {
        let own = registrations::key(&tenant_names[tenant_id], &upstream);
        if config.servers.contains_key(&own) {
            own
        } else {
            upstream
        }
    };
    Ok(stored
        .into_iter()
        .map(|e| VirtualEndpoint {
            slug: e.slug,
            mode: match e.mode {
                EndpointMode::Tools => Mode::Tools,
                EndpointMode::Dispatch => Mode::Dispatch,
                EndpointMode::Search => Mode::Search,
            },
            tools: e
                .tools
                .into_iter()
                .map(|t| VirtualTool {
                    exposed: t.exposed_name,
                    upstream: backend_of(&e.tenant_id, t.upstream),
                    tool: t.tool,
                    description: t.description,
                    visible: t.visible,
                })
                .collect(),
            id: e.id,
            tenant_id: e.tenant_id,
        })
        .collect())
}

/// Why `config` cannot be served next to the virtual endpoints: a server, API or configured
/// endpoint whose name is a virtual endpoint's slug. `owner_of` gives the tenant id of the virtual
/// endpoint with a slug, if there is one.
pub fn clash(config: &GatewayConfig, owner_of: impl Fn(&str) -> Option<String>) -> Option<String> {
    let servers = config.servers.keys().map(|n| ("server (or API)", n));
    let endpoints = config.endpoints.keys().map(|n| ("endpoint", n));
    servers.chain(endpoints).find_map(|(kind, name)| {
        owner_of(name).map(|tenant| {
            format!(
                "the configuration defines the {kind} {name:?}, but /mcp/{name} is already a \
                 virtual endpoint of tenant {tenant}; rename the {kind}, or delete that endpoint \
                 (`toolport endpoint delete {name} --tenant {tenant}`)"
            )
        })
    })
}
