//! Rotating the vault's master key, as the admin API sees it: an object-safe [`KeyRotation`] the
//! binary implements (it holds the key file and knows where the key came from), so this crate
//! needs neither; and [`reseal_all`], the pass over the store that every rotation runs.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use toolport_store::{PageRequest, SealedSecret, Store, StoreError};
use toolport_vault::{Vault, VaultError};
use utoipa::ToSchema;

/// What a finished rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RotationReport {
    /// The id of the new master key, which now seals everything (16 hex characters).
    pub key_id: String,
    /// The ids of the keys retired: no stored value needs them any more.
    pub retired_key_ids: Vec<String>,
    /// Secrets (of every tenant) re-sealed under the new key.
    pub resealed_secrets: u64,
    /// Whether the vault's key check was re-sealed too (it is whenever a key was retired).
    pub key_check_resealed: bool,
}

/// Why a rotation did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// Another rotation is running.
    #[error("a master key rotation is already running; wait for it to finish, then try again")]
    InProgress,
    /// The gateway cannot rotate by itself (say, the key comes from the environment); the
    /// message says how to rotate then.
    #[error("{0}")]
    Unsupported(String),
    /// A step failed; every secret stays readable (the message says what failed).
    #[error("{0}")]
    Failed(String),
}

/// The rotation the running gateway performs: a new master key, every secret of every tenant and
/// the key check re-sealed under it, the old key retired.
pub trait KeyRotation: Send + Sync + std::fmt::Debug {
    fn rotate(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<RotationReport, RotationError>> + Send + '_>>;
}

impl From<StoreError> for RotationError {
    fn from(err: StoreError) -> Self {
        Self::Failed(format!("the store failed during re-sealing: {err}"))
    }
}

impl From<VaultError> for RotationError {
    fn from(err: VaultError) -> Self {
        Self::Failed(format!("re-sealing stopped: {err}"))
    }
}

/// Re-seals every secret of every tenant that a key other than the vault's active one sealed;
/// returns how many it re-sealed. Each row is swapped only if it still holds the value read (a
/// value written meanwhile is never overwritten; it is read again and re-sealed if it needs to
/// be). Passes repeat until one finds nothing left, so a value sealed with the old key just
/// before the switch and stored during the first pass is not missed.
pub async fn reseal_all<S: Store>(store: &S, vault: &Vault) -> Result<u64, RotationError> {
    let mut total = 0;
    loop {
        let mut resealed = 0;
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = store.list_sealed_secrets(&page).await?;
            for secret in batch.items {
                if reseal_one(store, vault, secret).await? {
                    resealed += 1;
                }
            }
            match batch.next_after {
                Some(after) => page = PageRequest::after(PageRequest::MAX_LIMIT, after),
                None => break,
            }
        }
        total += resealed;
        if resealed == 0 {
            return Ok(total);
        }
    }
}

/// One row: re-sealed with compare and swap, retried on what is stored when the swap loses.
async fn reseal_one<S: Store>(
    store: &S,
    vault: &Vault,
    secret: SealedSecret,
) -> Result<bool, RotationError> {
    let SealedSecret {
        tenant_id,
        name,
        mut sealed,
    } = secret;
    loop {
        if !vault.needs_reseal(&sealed) {
            return Ok(false);
        }
        let replacement = vault.reseal(&tenant_id, &name, &sealed)?;
        if store
            .reseal_secret(&tenant_id, &name, &sealed, &replacement)
            .await?
        {
            return Ok(true);
        }
        match store.sealed_secret(&tenant_id, &name).await? {
            Some(current) => sealed = current,
            // Deleted meanwhile: nothing left to re-seal.
            None => return Ok(false),
        }
    }
}
