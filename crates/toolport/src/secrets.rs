//! `${secret:NAME}` in a configuration: a tenant's vault secrets (the administrator tenant's for
//! the file, each tenant's own for its registered backends), kept in memory sealed (never
//! decrypted until a configuration is built), and refreshed from the store so that setting a
//! secret through the API or CLI re-applies the configuration that uses it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_store::{PageRequest, SqliteStore, Store, StoreError};
use toolport_vault::{Sealed, Vault};

/// How often the store is asked whether a configuration's secrets changed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// A tenant's secrets, sealed, by name.
pub struct ConfigSecrets {
    vault: Arc<Vault>,
    tenant_id: String,
    /// How `toolport secret set` names the tenant (empty for the administrator's, the default).
    tenant_flag: String,
    sealed: RwLock<BTreeMap<String, Sealed>>,
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

    /// Re-reads the secrets; returns whether any changed. They are compared sealed, not by
    /// date: every sealing has a fresh nonce, so a new value (or a rotation's re-sealing)
    /// always differs, even within the second the store's dates resolve.
    pub async fn refresh(&self, store: &SqliteStore) -> Result<bool, StoreError> {
        let mut names = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = store.list_secrets(&self.tenant_id, &page).await?;
            names.extend(batch.items.into_iter().map(|m| m.name));
            match batch.next_after {
                Some(after) => page = PageRequest::after(PageRequest::MAX_LIMIT, after),
                None => break,
            }
        }
        let mut next = BTreeMap::new();
        for name in names {
            if let Some(sealed) = store.sealed_secret(&self.tenant_id, &name).await? {
                next.insert(name, sealed);
            }
        }
        if *self.read() == next {
            return Ok(false);
        }
        *self.sealed.write().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(true)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Sealed>> {
        self.sealed.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The plaintext of secret `name`, for building a configuration. Errors never quote a value.
    pub fn lookup(&self, name: &str) -> Result<String, String> {
        let sealed = self.read().get(name).cloned().ok_or_else(|| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use toolport_vault::MasterKey;

    #[tokio::test]
    async fn a_value_changed_within_the_same_second_is_seen() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        let vault = Arc::new(Vault::new(MasterKey::generate()));
        let tenant = store.create_tenant("acme", "free").await.unwrap();
        let put = async |value: &[u8]| {
            let sealed = vault.seal(&tenant.id, "TOKEN", value).unwrap();
            store
                .put_secret(&tenant.id, "TOKEN", &sealed)
                .await
                .unwrap();
        };
        put(b"first").await;
        let secrets = ConfigSecrets::load_tenant(&store, vault.clone(), tenant.id.clone(), "acme")
            .await
            .unwrap();
        assert_eq!(secrets.lookup("TOKEN").unwrap(), "first");
        assert!(!secrets.refresh(&store).await.unwrap(), "nothing changed");
        put(b"second").await;
        assert!(secrets.refresh(&store).await.unwrap());
        assert_eq!(secrets.lookup("TOKEN").unwrap(), "second");
        let missing = secrets.lookup("OTHER").unwrap_err();
        assert!(missing.contains("--tenant acme"), "{missing}");
    }
}
