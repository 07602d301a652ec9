//! `${secret:NAME}` in the configuration file: the administrator tenant's vault secrets, kept in
//! memory sealed (never decrypted until a configuration is built), and refreshed from the store so
//! that setting a secret through the API or CLI re-applies the configuration that uses it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_store::{PageRequest, SqliteStore, Store, StoreError, Timestamp};
use toolport_vault::{Sealed, Vault};

/// How often the store is asked whether the administrator's secrets changed.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The administrator tenant's secrets, sealed, by name.
pub struct ConfigSecrets {
    vault: Arc<Vault>,
    tenant_id: String,
    sealed: RwLock<BTreeMap<String, (Sealed, Timestamp)>>,
}

impl ConfigSecrets {
    /// Loads the tenant's secrets from the store.
    pub async fn load(
        store: &SqliteStore,
        vault: Arc<Vault>,
        tenant_id: String,
    ) -> Result<Self, StoreError> {
        let secrets = Self {
            vault,
            tenant_id,
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
            format!(
                "secret {name:?} is not set in the vault of the administrator tenant; set it with `toolport secret set {name}`"
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
                    Err(e) => tracing::warn!("cannot read the administrator's secrets: {e}"),
                }
            }
        });
    }
}
