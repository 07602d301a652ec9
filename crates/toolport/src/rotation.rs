//! Master key rotation without downtime, in the running gateway (which holds the vault) and at
//! start-up (which finishes a rotation a crash interrupted, or one started by giving the new key in
//! `TOOLPORT_MASTER_KEY` and the old one in `TOOLPORT_MASTER_KEY_PREVIOUS`).
//!
//! The order makes every step safe to interrupt: the new key is persisted next to the old one
//! before it seals anything; the vault switches (new values use the new key, old ones still open);
//! every secret and the key check are re-sealed; only then is the old key retired and dropped from
//! the key file. A start-up loads every key in the file and completes what is left.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use toolport_admin::rotation::reseal_all;
use toolport_admin::{KeyRotation, RotationError, RotationReport};
use toolport_store::{SqliteStore, Store};
use toolport_vault::{KeyId, MASTER_KEY_ENV, MasterKey, Vault};

use crate::secrets::ConfigSecrets;

/// The variable that holds the previous master key while a rotation by environment is finished.
pub const PREVIOUS_KEY_ENV: &str = "TOOLPORT_MASTER_KEY_PREVIOUS";

/// Where the master keys come from, which decides who can persist a new one.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The key file in the data directory: the gateway rotates by itself.
    File(PathBuf),
    /// `TOOLPORT_MASTER_KEY` (and `TOOLPORT_MASTER_KEY_PREVIOUS`): the operator rotates.
    Environment,
}

/// What a re-sealing pass and the key check came to.
struct Resealed {
    secrets: u64,
    key_check: bool,
}

/// Re-seals every secret and, unless the active key made it, the key check.
async fn reseal_everything(store: &SqliteStore, vault: &Vault) -> Result<Resealed, RotationError> {
    let secrets = reseal_all(store, vault).await?;
    let stale_check = store
        .vault_key_check()
        .await?
        .is_none_or(|check| vault.needs_reseal(&check));
    if stale_check {
        store.set_vault_key_check(&vault.key_check()?).await?;
    }
    Ok(Resealed {
        secrets,
        key_check: stale_check,
    })
}

/// Retires every key but the active one (nothing needs them after [`reseal_everything`]).
fn retire_previous(vault: &Vault) -> Result<Vec<KeyId>, RotationError> {
    let previous: Vec<KeyId> = vault.key_ids().into_iter().skip(1).collect();
    for id in &previous {
        vault.retire(*id)?;
    }
    Ok(previous)
}

/// At start-up, with every key of `source` in `vault` and the key check verified: finishes a
/// rotation that is under way (previous keys held), so that the data directory is sealed with the
/// active key alone and the key file holds only it.
pub async fn finish_at_start(
    store: &SqliteStore,
    vault: &Vault,
    source: &KeySource,
) -> anyhow::Result<()> {
    if vault.key_ids().len() == 1 {
        return Ok(());
    }
    tracing::info!(
        "finishing a master key rotation: re-sealing every secret with key {}",
        vault.active_key_id()
    );
    let resealed = reseal_everything(store, vault)
        .await
        .context("cannot finish the master key rotation; every key is kept, so nothing is lost")?;
    let retired = retire_previous(vault)?;
    match source {
        KeySource::File(path) => vault
            .write_key_file(path, None)
            .with_context(|| format!("cannot drop the previous keys from {}", path.display()))?,
        KeySource::Environment => tracing::warn!(
            "every secret is now sealed with the key in {MASTER_KEY_ENV}; remove {PREVIOUS_KEY_ENV}"
        ),
    }
    tracing::info!(
        "master key rotation finished: {} secrets re-sealed, key check re-sealed: {}, retired keys: {}",
        resealed.secrets,
        resealed.key_check,
        ids(&retired).join(", ")
    );
    Ok(())
}

fn ids(keys: &[KeyId]) -> Vec<String> {
    keys.iter().map(ToString::to_string).collect()
}

/// `POST /api/v1/vault/rotate` of the running gateway.
pub struct GatewayRotation {
    store: Arc<SqliteStore>,
    vault: Arc<Vault>,
    source: KeySource,
    /// The configuration's secrets, whose sealed copies must follow the re-sealing.
    secrets: Arc<ConfigSecrets>,
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GatewayRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayRotation")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl GatewayRotation {
    pub fn new(
        store: Arc<SqliteStore>,
        vault: Arc<Vault>,
        source: KeySource,
        secrets: Arc<ConfigSecrets>,
    ) -> Self {
        Self {
            store,
            vault,
            source,
            secrets,
            running: tokio::sync::Mutex::new(()),
        }
    }

    async fn run(&self) -> Result<RotationReport, RotationError> {
        let _running = self
            .running
            .try_lock()
            .map_err(|_| RotationError::InProgress)?;
        let KeySource::File(path) = &self.source else {
            return Err(RotationError::Unsupported(format!(
                "the master key comes from {MASTER_KEY_ENV}, so the gateway cannot store a new one; \
                 rotate by restarting with the new key in {MASTER_KEY_ENV} and the current one in \
                 {PREVIOUS_KEY_ENV} (e.g. from `openssl rand -base64 32`): the start re-seals every \
                 secret with the new key, after which {PREVIOUS_KEY_ENV} can be removed"
            )));
        };
        let failed = |step: &str, err: &dyn std::fmt::Display| {
            RotationError::Failed(format!(
                "{step}: {err}; every key is kept in {}, so every secret stays readable and the next start finishes the rotation",
                path.display()
            ))
        };
        let new = MasterKey::generate();
        let new_id = new.id();
        // Persisted before it seals anything: a crash from here on cannot lose the key.
        self.vault
            .write_key_file(path, Some(&new))
            .map_err(|e| RotationError::Failed(format!("cannot store the new key: {e}")))?;
        self.vault
            .rotate(new)
            .map_err(|e| failed("cannot switch to the new key", &e))?;
        tracing::info!("master key rotation: key {new_id} seals from now on; re-sealing");
        let resealed = reseal_everything(&self.store, &self.vault)
            .await
            .map_err(|e| failed("the rotation stopped", &e))?;
        self.secrets
            .refresh(&self.store)
            .await
            .map_err(|e| failed("cannot reload the configuration's secrets", &e))?;
        let retired = retire_previous(&self.vault).map_err(|e| failed("cannot retire", &e))?;
        self.vault
            .write_key_file(path, None)
            .map_err(|e| failed("cannot drop the old key from the key file", &e))?;
        tracing::info!(
            "master key rotation finished: {} secrets re-sealed with key {new_id}; retired {}",
            resealed.secrets,
            ids(&retired).join(", ")
        );
        Ok(RotationReport {
            key_id: new_id.to_string(),
            retired_key_ids: ids(&retired),
            resealed_secrets: resealed.secrets,
            key_check_resealed: resealed.key_check,
        })
    }
}

impl KeyRotation for GatewayRotation {
    fn rotate(
        &self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<RotationReport, RotationError>> + Send + '_>,
    > {
        Box::pin(self.run())
    }
}
