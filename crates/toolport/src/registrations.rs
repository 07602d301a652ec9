//! Tenants' registered APIs and MCP servers in the running gateway: read from the store,
//! validated with their tenant's secrets under the registration rules (`config::registered`),
//! and merged into the configuration the gateway runs under the key `{tenant}/{name}`, which no
//! file name can take (a file name has no `/`) and no other tenant's can either. The admin API
//! checks definitions and hears of changes through [`BackendRegistry`], implemented here.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use toolport_admin::{
    BackendRegistry, BackendState, CheckedBackend, EndpointCatalog, RegistrationRefusal,
};
use toolport_gateway::{Gateway, GatewayConfig, ServerConfig};
use toolport_store::{NewBackend, RegisteredBackend, SqliteStore, Store, StoreError, Tenant};
use toolport_upstream::UpstreamSpec;
use toolport_upstream::api::{SafeClient, SsrfPolicy, load_conversion};
use toolport_vault::Vault;

use crate::config::{Config, Invalid, Registration, registered_config};
use crate::endpoints::EndpointSync;
use crate::secrets::{ConfigSecrets, POLL_INTERVAL};

/// How long an admin change waits for the gateway to run it before answering anyway.
const APPLY_WAIT: Duration = Duration::from_secs(30);

/// The gateway's key of tenant `tenant`'s registration `name`.
pub fn key(tenant: &str, name: &str) -> String {
    format!("{tenant}/{name}")
}

/// The registrations, as the gateway runs them.
pub struct Registrations {
    store: Arc<SqliteStore>,
    vault: Arc<Vault>,
    /// The configuration file as last loaded (its settings and registration policy apply).
    file: watch::Receiver<Config>,
    gateway: OnceLock<Arc<Gateway>>,
    endpoints: OnceLock<Arc<EndpointSync>>,
    /// The owners' secrets, by tenant id.
    secrets: tokio::sync::Mutex<HashMap<String, Arc<ConfigSecrets>>>,
    /// Registrations whose stored definition no longer validates, by key, with why.
    invalid: Mutex<HashMap<String, String>>,
    /// What the last merge produced, kept when the store cannot be read.
    last: Mutex<BTreeMap<String, ServerConfig>>,
    /// Bumped for every change to apply; the applier answers with `applied`.
    requested: watch::Sender<u64>,
    applied: watch::Sender<u64>,
}

impl std::fmt::Debug for Registrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrations").finish_non_exhaustive()
    }
}

impl Registrations {
    pub fn new(store: Arc<SqliteStore>, vault: Arc<Vault>, file: watch::Receiver<Config>) -> Self {
        Self {
            store,
            vault,
            file,
            gateway: OnceLock::new(),
            endpoints: OnceLock::new(),
            secrets: tokio::sync::Mutex::default(),
            invalid: Mutex::default(),
            last: Mutex::default(),
            requested: watch::Sender::new(0),
            applied: watch::Sender::new(0),
        }
    }

    /// The running gateway (for the state of registrations) and its virtual endpoints (which
    /// may select registered tools, so they are re-read after every change).
    pub fn attach(&self, gateway: Arc<Gateway>, endpoints: Arc<EndpointSync>) {
        let _ = self.gateway.set(gateway);
        let _ = self.endpoints.set(endpoints);
    }

    /// Changes to apply: the version to pass to [`Registrations::applied`] once applied.
    pub fn requests(&self) -> watch::Receiver<u64> {
        self.requested.subscribe()
    }

    /// Everything up to `version` is applied.
    pub fn applied(&self, version: u64) {
        self.applied.send_if_modified(|v| {
            let newer = version > *v;
            if newer {
                *v = version;
            }
            newer
        });
    }

    /// Asks the applier for a merge; waits (a while at most) until it is done.
    async fn apply_now(&self) {
        let mut version = 0;
        self.requested.send_modify(|v| {
            *v += 1;
            version = *v;
        });
        let mut applied = self.applied.subscribe();
        if tokio::time::timeout(APPLY_WAIT, applied.wait_for(|v| *v >= version))
            .await
            .is_err()
        {
            tracing::warn!("registered backends: the gateway has not applied a change yet");
        }
    }

    /// `file` with every valid registration added. A registration that no longer validates is
    /// left out (and shown as invalid); when the store cannot be read, the last set is kept.
    pub async fn merge(&self, file: &Config) -> GatewayConfig {
        let mut merged = file.gateway.clone();
        match self.build(file).await {
            Ok(servers) => *self.last.lock().unwrap_or_else(|e| e.into_inner()) = servers,
            Err(err) => tracing::error!(
                "cannot read the registered APIs and servers; keeping the previous ones: {err}"
            ),
        }
        merged.servers.extend(
            self.last
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        merged
    }

    async fn build(&self, file: &Config) -> Result<BTreeMap<String, ServerConfig>, StoreError> {
        let stored = self.store.all_backends().await?;
        let mut tenants: HashMap<String, Tenant> = HashMap::new();
        let mut servers = BTreeMap::new();
        let mut invalid = HashMap::new();
        for backend in stored {
            if !tenants.contains_key(&backend.tenant_id) {
                let tenant = self.store.tenant(&backend.tenant_id).await?;
                tenants.insert(backend.tenant_id.clone(), tenant);
            }
            let tenant = &tenants[&backend.tenant_id];
            let key = key(&tenant.name, &backend.name);
            match self.validate(file, tenant, &backend).await? {
                Ok(config) => {
                    servers.insert(key, config);
                }
                Err(message) => {
                    tracing::warn!("registered backend {key} is not served: {message}");
                    invalid.insert(key, message);
                }
            }
        }
        // Owners that have nothing registered any more need no secrets.
        self.secrets
            .lock()
            .await
            .retain(|tenant_id, _| tenants.contains_key(tenant_id));
        *self.invalid.lock().unwrap_or_else(|e| e.into_inner()) = invalid;
        Ok(servers)
    }

    /// A stored registration as the gateway runs it, or why it cannot run.
    async fn validate(
        &self,
        file: &Config,
        tenant: &Tenant,
        backend: &RegisteredBackend,
    ) -> Result<Result<ServerConfig, String>, StoreError> {
        let document = match backend.document_bytes {
            Some(_) => {
                self.store
                    .backend_document(&tenant.id, &backend.name)
                    .await?
            }
            None => None,
        };
        let secrets = self.secrets_of(tenant).await?;
        let registration = Registration {
            owner: &tenant.name,
            kind: backend.kind,
            name: &backend.name,
            definition: &backend.definition,
            document: document.as_deref(),
        };
        Ok(as_run(&registration, file, &secrets)
            .map_err(|invalid| format!("`{}`: {}", invalid.key, invalid.message)))
    }

    /// The tenant's secrets, re-read if they changed.
    async fn secrets_of(&self, tenant: &Tenant) -> Result<Arc<ConfigSecrets>, StoreError> {
        let mut owners = self.secrets.lock().await;
        if let Some(secrets) = owners.get(&tenant.id) {
            secrets.refresh(&self.store).await?;
            return Ok(secrets.clone());
        }
        let secrets = Arc::new(
            ConfigSecrets::load_tenant(
                &self.store,
                self.vault.clone(),
                tenant.id.clone(),
                &tenant.name,
            )
            .await?,
        );
        owners.insert(tenant.id.clone(), secrets.clone());
        Ok(secrets)
    }

    /// Asks for a merge whenever an owner's secrets change, until `shutdown`.
    pub fn spawn_secret_poller(self: Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(POLL_INTERVAL) => {}
                }
                let owners: Vec<_> = self.secrets.lock().await.values().cloned().collect();
                let mut changed = false;
                for secrets in owners {
                    match secrets.refresh(&self.store).await {
                        Ok(c) => changed |= c,
                        Err(e) => tracing::warn!("cannot read a tenant's secrets: {e}"),
                    }
                }
                if changed {
                    self.requested.send_modify(|v| *v += 1);
                }
            }
        });
    }

    /// Why `name` cannot be registered next to the configuration file: a server or API of the
    /// file has it as its name or namespace (a tenant granted it would see both).
    fn clash(config: &GatewayConfig, name: &str) -> Option<String> {
        config
            .servers
            .iter()
            .filter(|(_, server)| server.owner.is_none())
            .find(|(file_name, server)| *file_name == name || server.prefix == name)
            .map(|(file_name, _)| {
                format!(
                    "`{name}` is taken by the server or API `{file_name}` of the gateway's \
                     configuration file, whose tools use that namespace; choose another name"
                )
            })
    }

    async fn check_backend(
        &self,
        tenant: &Tenant,
        backend: &NewBackend,
    ) -> Result<CheckedBackend, RegistrationRefusal> {
        let file = self.file.borrow().clone();
        if let Some(clash) = Self::clash(&file.gateway, &backend.name) {
            return Err(RegistrationRefusal::Conflict(clash));
        }
        let secrets = self.secrets_of(tenant).await.map_err(|e| {
            tracing::error!("cannot read tenant {}'s secrets: {e}", tenant.name);
            RegistrationRefusal::Conflict(
                "the tenant's secrets cannot be read right now; try again".to_owned(),
            )
        })?;
        let registration = Registration {
            owner: &tenant.name,
            kind: backend.kind,
            name: &backend.name,
            definition: &backend.definition,
            document: backend.document.as_deref(),
        };
        let config = as_run(&registration, &file, &secrets).map_err(|invalid| {
            RegistrationRefusal::Invalid {
                key: invalid.key,
                message: invalid.message,
            }
        })?;
        let policy = SsrfPolicy::new(file.gateway.settings.ssrf_allow_hosts.clone());
        let api = match &config.spec {
            UpstreamSpec::Api(api) => api,
            // Names are vetted when the gateway connects; an address can be refused now.
            UpstreamSpec::StreamableHttp { url, .. } | UpstreamSpec::Sse { url, .. } => {
                let refused = |message: String| RegistrationRefusal::Invalid {
                    key: "definition.url".to_owned(),
                    message,
                };
                let parsed = url::Url::parse(url).map_err(|e| refused(e.to_string()))?;
                policy
                    .check_url(&parsed)
                    .map_err(|e| refused(e.to_string()))?;
                return Ok(CheckedBackend { tools: None });
            }
            UpstreamSpec::Stdio { .. } => return Ok(CheckedBackend { tools: None }),
        };
        let client = SafeClient::new(Arc::new(policy)).map_err(|e| {
            RegistrationRefusal::Conflict(format!("cannot fetch the description: {e}"))
        })?;
        let conversion = load_conversion(&backend.name, api, &client)
            .await
            .map_err(|e| RegistrationRefusal::Invalid {
                key: if backend.document.is_some() {
                    "document".to_owned()
                } else {
                    "definition.spec".to_owned()
                },
                message: e.to_string(),
            })?;
        Ok(CheckedBackend {
            tools: Some(conversion.tools.len() as u64),
        })
    }
}

impl BackendRegistry for Registrations {
    fn check<'a>(
        &'a self,
        tenant: &'a Tenant,
        backend: &'a NewBackend,
    ) -> Pin<Box<dyn Future<Output = Result<CheckedBackend, RegistrationRefusal>> + Send + 'a>>
    {
        Box::pin(self.check_backend(tenant, backend))
    }

    fn state(&self, tenant: &Tenant, name: &str) -> Option<BackendState> {
        let key = key(&tenant.name, name);
        if let Some(reason) = self
            .invalid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Some(BackendState {
                state: "invalid".to_owned(),
                reason: Some(reason.clone()),
                tools: 0,
            });
        }
        let readiness = self.gateway.get()?.backend_readiness(&key)?;
        Some(BackendState {
            state: readiness.state.to_owned(),
            reason: readiness.reason,
            tools: readiness.tools as u64,
        })
    }

    fn backends_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            self.apply_now().await;
            if let Some(endpoints) = self.endpoints.get() {
                endpoints.endpoints_changed().await;
            }
        })
    }
}

/// A registration as the gateway runs it: under the file's settings and registration policy,
/// with its tenant's secrets.
fn as_run(
    registration: &Registration<'_>,
    file: &Config,
    secrets: &ConfigSecrets,
) -> Result<ServerConfig, Invalid> {
    registered_config(
        registration,
        &file.gateway.settings,
        file.registration,
        &|name| secrets.lookup(name),
    )
}
