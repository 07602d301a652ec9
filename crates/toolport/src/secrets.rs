//! `${secret:NAME}` in a configuration: a tenant's vault secrets (the administrator tenant's for
//! the file, each tenant's own for its registered backends), kept in memory sealed (never
//! decrypted until a configuration is built), and refreshed from the store so that setting a
//! secret through the API or CLI re-applies the configuration that uses it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_store::{PageRequest, SqliteStore, Store, StoreError, Timestamp};
use toolport_vault::{Sealed, Vault};

/// How often the store is asked whether a configuration's secrets changed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// A tenant's secrets, sealed, by name.
pub struct ConfigSecrets {
    vault: Arc<Vault>,
    tenant_id: String,
    /// How `toolport secret set` names the tenant (empty for the administrator's, the default).
    tenant_flag: String,
    sealed: RwLock<BTreeMap<String, (Sealed, Timestamp)>>,
}

impl ConfigSecrets {
    /// Loads the administrator tenant's secrets from the store.
    pub async fn load(
        store: &SqliteStore,
        vault: Arc<Vault>,
        tenant_id: String,
    ) -> Result<Self, StoreError> {
        Self::load_for(store, vault, tenant_id, String::new()).await
    }

    /// Loads the secrets of the tenant named `tenant_name` (whose id is `tenant_id`).
    pub async fn load_tenant(
        store: &SqliteStore,
        vault: Arc<Vault>,
        tenant_id: String,
        tenant_name: &str,
    ) -> Result<Self, StoreError> {
        Self::load_for(store, vault, tenant_id, format!(" --tenant {tenant_name}")).await
    }

    async fn load_for(
        store: &SqliteStore,
        vault: Arc<Vault>,
        tenant_id: String,
        tenant_flag: String,
    ) -> Result<Self, StoreError> {
        let secrets = Self {
            vault,
            tenant_id,
            tenant_flag,
            sealed: RwLock::default(),
        };
        secrets.refresh(store).await?;
        Ok(secrets)
    }

    /// Re-reads what changed since the last time; returns whether anything did. Values a master
    /// key rotation re-sealed (same dates, new key) are re-read too, before the old key is retired.
    pub async fn refresh(&self, store: &SqliteStore) -> Result<bool, StoreError> {
        let mut listed = BTreeMap::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = store.list_secrets(&self.tenant_id, &page).await?;
            listed.extend(batch.items.into_iter().map(|m| (m.name, m.updated_at)));
            match batch.next_after {
                Some(after) => page = PageRequest::after(PageRequest::MAX_LIMIT, after),
                None => break,
            }
        }
        let current: BTreeMap<String, Timestamp> = self
            .read()
            .iter()
            .map(|(name, (_, at))| (name.clone(), *at))
            .collect();
        let resealed = self
            .read()
            .values()
            .any(|(sealed, _)| self.vault.needs_reseal(sealed));
        if current == listed && !resealed {
            return Ok(false);
        }
        let mut next = BTreeMap::new();
        for (name, updated_at) in listed {
            if let Some(sealed) = store.sealed_secret(&self.tenant_id, &name).await? {
                next.insert(name, (sealed, updated_at));
            }
        }
        *self.sealed.write().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(true)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, (Sealed, Timestamp)>> {
        self.sealed.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The plaintext of secret `name`, for building a configuration. Errors never quote a value.
    pub fn lookup(&self, name: &str) -> Result<String, String> {
        let sealed = self.read().get(name).map(|(s, _)| s.clone()).ok_or_else(|| {
            let whose = if self.tenant_flag.is_empty() {
                "the administrator tenant"
            } else {
                "the tenant"
            };
            format!(
                "secret {name:?} is not set in the vault of {whose}; set it with `toolport secret set {name}{}`",
                self.tenant_flag
            )
        })?;
        let opened = self
            .vault
            .open(&self.tenant_id, name, &sealed)
            .map_err(|e| format!("secret {name:?} cannot be opened: {e}"))?;
        opened
            .expose_str()
            .map(str::to_owned)
            .map_err(|_| format!("secret {name:?} is not UTF-8 text"))
    }

    /// Polls the store until `shutdown`; sends on `changed` after each change.
    pub fn spawn_poller(
        self: Arc<Self>,
        store: Arc<SqliteStore>,
        changed: mpsc::UnboundedSender<()>,
        shutdown: CancellationToken,
    ) {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(POLL_INTERVAL) => {}
                }
                match self.refresh(&store).await {
                    Ok(true) => {
                        if changed.send(()).is_err() {
                            return;
                        }
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!("cannot read the configuration's secrets: {e}"),
                }
            }
        });
    }
}
