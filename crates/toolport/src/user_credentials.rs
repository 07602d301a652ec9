//! `${user_secret:NAME}`: the gateway's [`UserCredentials`] resolver, which fills a per-user
//! server's definition with the calling user's own secrets from the store, opened by the vault
//! (sealed under the tenant and `user/{user id}/{NAME}`, so another user's value never opens).

use std::collections::BTreeMap;
use std::sync::Arc;

use toolport_gateway::{Caller, Resolution, ServerConfig, UserCredentials};
use toolport_store::{SqliteStore, Store, user_secret_vault_name};
use toolport_vault::Vault;

/// Reads users' own secrets for their per-user server instances.
pub struct StoredUserCredentials {
    store: Arc<SqliteStore>,
    vault: Arc<Vault>,
}

impl std::fmt::Debug for StoredUserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredUserCredentials")
            .finish_non_exhaustive()
    }
}

impl StoredUserCredentials {
    pub fn new(store: Arc<SqliteStore>, vault: Arc<Vault>) -> Self {
        Self { store, vault }
    }

    /// The caller's value of secret `name`: `Ok(None)` when they have not set it.
    async fn secret(&self, caller: &Caller, name: &str) -> Result<Option<String>, String> {
        let sealed = self
            .store
            .sealed_user_secret(&caller.tenant_id, &caller.user_id, name)
            .await
            .map_err(|e| format!("cannot read your secret {name:?} right now ({e}); try again"))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let opened = self
            .vault
            .open(
                &caller.tenant_id,
                &user_secret_vault_name(&caller.user_id, name),
                &sealed,
            )
            .map_err(|e| format!("your secret {name:?} cannot be opened ({e}); set it again"))?;
        opened
            .expose_str()
            .map(|s| Some(s.to_owned()))
            .map_err(|_| format!("your secret {name:?} is not UTF-8 text; set it again"))
    }
}

impl UserCredentials for StoredUserCredentials {
    fn resolve<'a>(
        &'a self,
        caller: &'a Caller,
        server: &'a str,
        definition: &'a ServerConfig,
    ) -> Resolution<'a> {
        Box::pin(async move {
            let names = definition
                .per_user
                .as_ref()
                .map(|p| p.secrets.clone())
                .unwrap_or_default();
            let mut values = BTreeMap::new();
            for name in &names {
                match self.secret(caller, name).await? {
                    Some(value) => {
                        values.insert(name.clone(), value);
                    }
                    None => {
                        return Err(format!(
                            "server {server:?} runs with each user's own credentials: set your secret {name} with `toolport secret set {name} --mine`"
                        ));
                    }
                }
            }
            definition
                .with_user_secrets(&|name| values.get(name).cloned())
                .map_err(|name| {
                    format!("server {server:?} needs your secret {name}, which is not set")
                })
        })
    }
}
