//! The data directory at start-up: the store, the vault's master keys (checked against the one
//! the directory was sealed with; a rotation under way is finished), and the first administrator.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use toolport_admin::TokenAuthenticator;
use toolport_store::{NewToken, PageRequest, SqliteStore, Store, StoreError, Tenant};
use toolport_vault::{KeyOrigin, MASTER_KEY_ENV, MasterKey, Vault, key_file};

use crate::rotation::{self, KeySource, PREVIOUS_KEY_ENV};

/// The variable that supplies the first administrator's token (for automation).
pub const ADMIN_TOKEN_ENV: &str = "TOOLPORT_ADMIN_TOKEN";

/// The tenant created on first run; it owns what the configuration file defines.
pub const ADMIN_TENANT: &str = "default";

/// The master key file inside the data directory, used when `TOOLPORT_MASTER_KEY` is unset.
const KEY_FILE: &str = "master.key";

/// Everything that lives in the data directory, opened and checked.
pub struct Tenancy {
    pub store: Arc<SqliteStore>,
    pub vault: Arc<Vault>,
    /// Where the master keys came from (whether the gateway can rotate by itself).
    pub key_source: KeySource,
    pub auth: Arc<TokenAuthenticator<SqliteStore>>,
    /// The administrator's tenant: the owner of the configuration file's servers and secrets.
    pub admin_tenant: Tenant,
}

/// The data directory: `--data-dir`, else `TOOLPORT_DATA_DIR` (clap reads both), else the user's
/// data directory (`$XDG_DATA_HOME/toolport` or `~/.local/share/toolport`).
pub fn data_dir(chosen: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = chosen {
        return Ok(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("toolport"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("cannot choose a data directory: HOME is not set; pass --data-dir DIR")?;
    Ok(PathBuf::from(home).join(".local/share/toolport"))
}

/// Opens (creating on first run) the store and the vault in `dir`, and makes sure there is an
/// administrator.
pub async fn open(dir: &Path) -> anyhow::Result<Tenancy> {
    let store = Arc::new(
        SqliteStore::open(dir)
            .await
            .with_context(|| format!("cannot open the data directory {}", dir.display()))?,
    );
    let (vault, key_source) = open_vault(dir, store.as_ref()).await?;
    let vault = Arc::new(vault);
    let admin_tenant = ensure_admin(store.as_ref()).await?;
    let auth = Arc::new(TokenAuthenticator::new(store.clone()));
    Ok(Tenancy {
        store,
        vault,
        key_source,
        auth,
        admin_tenant,
    })
}

/// The master keys from the environment or the key file, verified against the stored key check;
/// a rotation under way (previous keys present) is finished before anything else uses the vault.
async fn open_vault(dir: &Path, store: &SqliteStore) -> anyhow::Result<(Vault, KeySource)> {
    let key_file = dir.join(KEY_FILE);
    let (vault, source) = load_keys(&key_file)?;
    match store.vault_key_check().await? {
        Some(check) => vault.verify(&check).with_context(|| {
            format!(
                "the master key does not open the vault of {}; start with the key that sealed this data directory ({MASTER_KEY_ENV} or {}; during a rotation by environment, the old key in {PREVIOUS_KEY_ENV})",
                dir.display(),
                key_file.display()
            )
        })?,
        None => store.set_vault_key_check(&vault.key_check()?).await?,
    }
    rotation::finish_at_start(store, &vault, &source).await?;
    Ok((vault, source))
}

/// Every master key: `TOOLPORT_MASTER_KEY` (with `TOOLPORT_MASTER_KEY_PREVIOUS` while a rotation
/// by environment is finished), else every key of the key file, else a new key file.
fn load_keys(key_file: &Path) -> anyhow::Result<(Vault, KeySource)> {
    let env_value = std::env::var(MASTER_KEY_ENV).ok();
    let previous = std::env::var(PREVIOUS_KEY_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    if env_value.is_none() && previous.is_some() {
        anyhow::bail!(
            "{PREVIOUS_KEY_ENV} is set but {MASTER_KEY_ENV} is not; a rotation by environment needs the new key in {MASTER_KEY_ENV}"
        );
    }
    if env_value.is_none() && key_file.exists() {
        let (active, previous) = key_file::load_keys(key_file)?;
        tracing::info!("master key read from {}", key_file.display());
        let vault = Vault::with_previous_keys(active, previous);
        return Ok((vault, KeySource::File(key_file.to_path_buf())));
    }
    let (key, origin) = MasterKey::resolve(env_value.as_deref(), key_file)?;
    match origin {
        KeyOrigin::Created => tracing::warn!(
            "created a new master key in {} (mode 0600): back it up; without it the vault's secrets cannot be read",
            key_file.display()
        ),
        KeyOrigin::Loaded => tracing::info!("master key read from {}", key_file.display()),
        KeyOrigin::Environment => tracing::info!("master key taken from {MASTER_KEY_ENV}"),
    }
    if origin != KeyOrigin::Environment {
        return Ok((Vault::new(key), KeySource::File(key_file.to_path_buf())));
    }
    let previous = previous
        .map(|value| MasterKey::from_named_env_value(PREVIOUS_KEY_ENV, &value))
        .transpose()?;
    Ok((
        Vault::with_previous_keys(key, previous),
        KeySource::Environment,
    ))
}

/// Creates the first administrator: tenant `default`, user `admin` (owner), and a token with
/// every scope, printed once (or taken from `TOOLPORT_ADMIN_TOKEN`). The first run is over once
/// that tenant holds a token; until then every start finishes it, each step accepting what an
/// interrupted earlier start already created, so a crash half-way never leaves the directory
/// without a way in.
async fn ensure_admin(store: &SqliteStore) -> anyhow::Result<Tenant> {
    let imported = std::env::var(ADMIN_TOKEN_ENV)
        .ok()
        .filter(|t| !t.is_empty());
    let tenant = match store.tenant_by_name(ADMIN_TENANT).await {
        Ok(tenant) => tenant,
        Err(StoreError::NotFound(_)) => {
            let has_users = !store
                .list_users(&PageRequest::first(1))
                .await?
                .items
                .is_empty();
            anyhow::ensure!(
                !has_users,
                "the data directory has users but no `{ADMIN_TENANT}` tenant to own the configuration"
            );
            store.create_tenant(ADMIN_TENANT, "enterprise").await?
        }
        Err(e) => return Err(e.into()),
    };
    let first_run_over = !store
        .list_tokens(&tenant.id, &PageRequest::first(1))
        .await?
        .items
        .is_empty();
    if first_run_over {
        if let Some(token) = &imported
            && store.authenticate_token(token).await?.is_none()
        {
            tracing::warn!(
                "{ADMIN_TOKEN_ENV} is set but is not a valid token of this data directory; it is only imported on the first run"
            );
        }
        return Ok(tenant);
    }
    let user = match store.create_user("admin", "Administrator").await {
        Ok(user) => user,
        Err(StoreError::Conflict(_)) => store.user_by_email("admin").await?,
        Err(e) => return Err(e.into()),
    };
    match store
        .add_member(&tenant.id, &user.id, toolport_store::Role::Owner)
        .await
    {
        Ok(_) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let new = NewToken {
        tenant_id: tenant.id.clone(),
        user_id: user.id,
        name: "first administrator".into(),
        scopes: vec!["operator".into(), "admin".into(), "mcp".into()],
        expires_at: None,
    };
    match imported {
        Some(token) => {
            store
                .import_token(&new, &token)
                .await
                .with_context(|| format!("cannot use {ADMIN_TOKEN_ENV}"))?;
            tracing::info!("first administrator created with the token from {ADMIN_TOKEN_ENV}");
        }
        None => {
            let created = store.create_token(&new).await?;
            // Shown once, on stderr, outside the log format so that it is easy to copy.
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "\nFirst run: created the administrator (tenant `{ADMIN_TENANT}`, user `admin`).\n\
                     Its API token is shown this once; keep it somewhere safe:\n\n    {}\n",
                    created.token
                );
            }
        }
    }
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_first_run_cut_short_is_finished_by_the_next_start() {
        let store = SqliteStore::open_in_memory().await.unwrap();
        // The earlier start stopped after the user, before the membership and the token.
        let tenant = store
            .create_tenant(ADMIN_TENANT, "enterprise")
            .await
            .unwrap();
        store.create_user("admin", "Administrator").await.unwrap();
        let finished = ensure_admin(&store).await.unwrap();
        assert_eq!(finished.id, tenant.id);
        let tokens = store
            .list_tokens(&tenant.id, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(tokens.items.len(), 1, "the administrator has a token now");
        let members = store
            .list_members(&tenant.id, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(members.items.len(), 1);
        // Later starts change nothing.
        ensure_admin(&store).await.unwrap();
        let again = store
            .list_tokens(&tenant.id, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(again.items.len(), 1);
    }
}
