//! The SQLite backend: [`SqliteStore`], a file `toolport.db` in the data directory (WAL mode,
//! foreign keys on, busy timeout), or an in-memory database for tests. All SQL of this backend
//! lives in this module (the usage and audit tables' in `history`, the endpoints' in `endpoints`).

mod backends;
mod endpoints;
mod history;
mod migrate;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use toolport_vault::Sealed;

use crate::model::{USER_SECRET_PREFIX, now};
use crate::store::Store;
use crate::{
    AuditEntry, BackendKind, CreatedToken, Endpoint, EndpointChanges, EndpointTool, Membership,
    NewBackend, NewEndpoint, NewToken, Page, PageRequest, RegisteredBackend, Role, SealedSecret,
    SecretMeta, StoreError, Tenant, Timestamp, TokenRecord, UsageEvent, UsageFilter, UsageSummary,
    User, token,
};

/// The database file's name inside the data directory.
pub const DB_FILE_NAME: &str = "toolport.db";

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in a file database's pool (WAL: many readers, one writer at a time).
const MAX_CONNECTIONS: u32 = 8;

/// The SQLite implementation of [`Store`]. Cheap to clone (a connection pool).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: Option<PathBuf>,
    applied_on_open: Vec<i64>,
    history_ids: Arc<history::HistoryIds>,
}

impl SqliteStore {
    /// Opens (creating on first run) `DATA_DIR/toolport.db`, creating the directory too (0700 on
    /// Unix when this call creates it), and brings its schema up to date.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        create_data_dir(data_dir)?;
        let path = data_dir.join(DB_FILE_NAME);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Database(format!("opening {}: {e}", path.display())))?;
        Self::migrated(pool, Some(path)).await
    }

    /// A fresh, empty in-memory database (for tests): one connection that never closes, because
    /// every SQLite connection to `:memory:` is a database of its own.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Database(e.to_string()))?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        Self::migrated(pool, None).await
    }

    async fn migrated(pool: SqlitePool, path: Option<PathBuf>) -> Result<Self, StoreError> {
        let applied_on_open = migrate::run(&pool).await?;
        Ok(Self {
            pool,
            path,
            applied_on_open,
            history_ids: Arc::new(history::HistoryIds::new()?),
        })
    }

    /// The database file, `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The migration versions this store's `open` applied (empty when the schema was current).
    pub fn applied_on_open(&self) -> &[i64] {
        &self.applied_on_open
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let (version,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }

    /// Closes every connection (and checkpoints the WAL), waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn create_data_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        StoreError::Database(format!(
            "creating the data directory {}: {e}",
            dir.display()
        ))
    })
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Refuses a creation that would take a tenant past `at_most` rows of `table` (one with a
/// `tenant_id` column); `None` sets no limit. Run it inside the creation's `BEGIN IMMEDIATE`
/// transaction, so that the count and the insert see the same rows.
async fn within_limit(
    conn: &mut sqlx::SqliteConnection,
    table: &'static str,
    tenant_id: &str,
    at_most: Option<u64>,
) -> Result<(), StoreError> {
    let Some(at_most) = at_most else {
        return Ok(());
    };
    let (count,): (i64,) =
        sqlx::query_as(&format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = ?"))
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?;
    let held = u64::try_from(count).unwrap_or(0);
    if held >= at_most {
        return Err(StoreError::LimitReached(held));
    }
    Ok(())
}

/// Fetch one more row than the page holds, to know whether there is a next page.
fn fetch_limit(page: &PageRequest) -> i64 {
    i64::from(page.effective_limit()) + 1
}

fn role(text: &str) -> Result<Role, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Database("a membership row holds an unknown role".into()))
}

fn sealed(text: &str) -> Result<Sealed, StoreError> {
    // The parse error never quotes the text, and neither does this one.
    Sealed::parse(text)
        .map_err(|e| StoreError::Database(format!("a stored sealed value is unreadable: {e}")))
}

fn scopes_json(scopes: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(scopes).map_err(|e| StoreError::Database(e.to_string()))
}

type TenantRow = (String, String, String, i64);
fn tenant_from((id, name, plan, created_at): TenantRow) -> Tenant {
    Tenant {
        id,
        name,
        plan,
        created_at,
    }
}

type UserRow = (String, String, String, i64);
fn user_from((id, email, name, created_at): UserRow) -> User {
    User {
        id,
        email,
        name,
        created_at,
    }
}

type MemberRow = (String, String, String, i64);
fn member_from(
    (tenant_id, user_id, role_text, created_at): MemberRow,
) -> Result<Membership, StoreError> {
    Ok(Membership {
        tenant_id,
        user_id,
        role: role(&role_text)?,
        created_at,
    })
}

const TOKEN_COLUMNS: &str =
    "id, tenant_id, user_id, name, scopes, created_at, expires_at, revoked_at, last_used_at";
type TokenRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);
fn token_from(row: TokenRow) -> Result<TokenRecord, StoreError> {
    let (id, tenant_id, user_id, name, scopes, created_at, expires_at, revoked_at, last_used_at) =
        row;
    let scopes = serde_json::from_str(&scopes)
        .map_err(|_| StoreError::Database("a token row holds unreadable scopes".into()))?;
    Ok(TokenRecord {
        id,
        tenant_id,
        user_id,
        name,
        scopes,
        created_at,
        expires_at,
        revoked_at,
        last_used_at,
    })
}

type SecretRow = (String, String, i64, i64);
fn secret_from((tenant_id, name, created_at, updated_at): SecretRow) -> SecretMeta {
    SecretMeta {
        tenant_id,
        name,
        created_at,
        updated_at,
    }
}

impl SqliteStore {
    async fn insert_token(
        &self,
        new: &NewToken,
        token_text: &str,
    ) -> Result<TokenRecord, StoreError> {
        let record = TokenRecord {
            id: new_id(),
            tenant_id: new.tenant_id.clone(),
            user_id: new.user_id.clone(),
            name: new.name.clone(),
            scopes: new.scopes.clone(),
            created_at: now(),
            expires_at: new.expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash, scopes, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&record.id)
        .bind(&record.tenant_id)
        .bind(&record.user_id)
        .bind(&record.name)
        .bind(token::hash(token_text))
        .bind(scopes_json(&record.scopes)?)
        .bind(record.created_at)
        .bind(record.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(e, "this token already exists", "tenant or user"))?;
        Ok(record)
    }

    async fn membership(&self, tenant_id: &str, user_id: &str) -> Result<Membership, StoreError> {
        let row: Option<MemberRow> = sqlx::query_as(
            "SELECT tenant_id, user_id, role, created_at FROM memberships
             WHERE tenant_id = ? AND user_id = ?",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        member_from(row.ok_or(StoreError::NotFound("membership"))?)
    }
}

impl Store for SqliteStore {
    async fn create_tenant(&self, name: &str, plan: &str) -> Result<Tenant, StoreError> {
        let tenant = Tenant {
            id: new_id(),
            name: name.to_owned(),
            plan: plan.to_owned(),
            created_at: now(),
        };
        sqlx::query("INSERT INTO tenants (id, name, plan, created_at) VALUES (?, ?, ?, ?)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.plan)
            .bind(tenant.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                StoreError::from_sqlx(e, &format!("a tenant named `{name}` exists"), "tenant")
            })?;
        Ok(tenant)
    }

    async fn tenant(&self, id: &str) -> Result<Tenant, StoreError> {
        let row: Option<TenantRow> =
            sqlx::query_as("SELECT id, name, plan, created_at FROM tenants WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(tenant_from).ok_or(StoreError::NotFound("tenant"))
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Tenant, StoreError> {
        let row: Option<TenantRow> =
            sqlx::query_as("SELECT id, name, plan, created_at FROM tenants WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(tenant_from).ok_or(StoreError::NotFound("tenant"))
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        let rows: Vec<TenantRow> = sqlx::query_as(
            "SELECT id, name, plan, created_at FROM tenants
             WHERE (? IS NULL OR name > ?) ORDER BY name LIMIT ?",
        )
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows.into_iter().map(tenant_from).collect();
        Ok(Page::from_rows(rows, page.effective_limit(), |t| {
            t.name.clone()
        }))
    }

    async fn set_tenant_plan(&self, id: &str, plan: &str) -> Result<Tenant, StoreError> {
        let row: Option<TenantRow> = sqlx::query_as(
            "UPDATE tenants SET plan = ? WHERE id = ? RETURNING id, name, plan, created_at",
        )
        .bind(plan)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(tenant_from).ok_or(StoreError::NotFound("tenant"))
    }

    async fn delete_tenant(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM tenants WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("tenant"));
        }
        Ok(())
    }

    async fn create_user(&self, email: &str, name: &str) -> Result<User, StoreError> {
        let user = User {
            id: new_id(),
            email: email.to_owned(),
            name: name.to_owned(),
            created_at: now(),
        };
        sqlx::query("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)")
            .bind(&user.id)
            .bind(&user.email)
            .bind(&user.name)
            .bind(user.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                StoreError::from_sqlx(e, &format!("a user with email `{email}` exists"), "user")
            })?;
        Ok(user)
    }

    async fn user(&self, id: &str) -> Result<User, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, email, name, created_at FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(user_from).ok_or(StoreError::NotFound("user"))
    }

    async fn user_by_email(&self, email: &str) -> Result<User, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, email, name, created_at FROM users WHERE email = ?")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        row.map(user_from).ok_or(StoreError::NotFound("user"))
    }

    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT id, email, name, created_at FROM users
             WHERE (? IS NULL OR email > ?) ORDER BY email LIMIT ?",
        )
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows.into_iter().map(user_from).collect();
        Ok(Page::from_rows(rows, page.effective_limit(), |u| {
            u.email.clone()
        }))
    }

    async fn delete_user(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn add_member(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: Role,
    ) -> Result<Membership, StoreError> {
        let membership = Membership {
            tenant_id: tenant_id.to_owned(),
            user_id: user_id.to_owned(),
            role,
            created_at: now(),
        };
        sqlx::query(
            "INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(membership.created_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            StoreError::from_sqlx(
                e,
                "the user is already a member of this tenant",
                "tenant or user",
            )
        })?;
        Ok(membership)
    }

    async fn set_member_role(
        &self,
        tenant_id: &str,
        user_id: &str,
        role: Role,
    ) -> Result<Membership, StoreError> {
        let done =
            sqlx::query("UPDATE memberships SET role = ? WHERE tenant_id = ? AND user_id = ?")
                .bind(role.as_str())
                .bind(tenant_id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("membership"));
        }
        self.membership(tenant_id, user_id).await
    }

    async fn remove_member(&self, tenant_id: &str, user_id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?")
            .bind(tenant_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("membership"));
        }
        Ok(())
    }

    async fn list_members(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Membership>, StoreError> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT tenant_id, user_id, role, created_at FROM memberships
             WHERE tenant_id = ? AND (? IS NULL OR user_id > ?) ORDER BY user_id LIMIT ?",
        )
        .bind(tenant_id)
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .into_iter()
            .map(member_from)
            .collect::<Result<_, _>>()?;
        Ok(Page::from_rows(rows, page.effective_limit(), |m| {
            m.user_id.clone()
        }))
    }

    async fn memberships_of_user(&self, user_id: &str) -> Result<Vec<Membership>, StoreError> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT tenant_id, user_id, role, created_at FROM memberships
             WHERE user_id = ? ORDER BY tenant_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(member_from).collect()
    }

    async fn create_token(&self, new: &NewToken) -> Result<CreatedToken, StoreError> {
        let token_text = token::generate()?;
        let record = self.insert_token(new, &token_text).await?;
        Ok(CreatedToken {
            record,
            token: token_text,
        })
    }

    async fn import_token(
        &self,
        new: &NewToken,
        token_text: &str,
    ) -> Result<TokenRecord, StoreError> {
        token::validate_imported(token_text)?;
        self.insert_token(new, token_text).await
    }

    async fn authenticate_token(
        &self,
        token_text: &str,
    ) -> Result<Option<TokenRecord>, StoreError> {
        if !token_text.starts_with(token::TOKEN_PREFIX) {
            return Ok(None);
        }
        let at = now();
        // One statement: the use is recorded only for a live token, and the record comes back.
        let row: Option<TokenRow> = sqlx::query_as(&format!(
            "UPDATE api_tokens SET last_used_at = ?
             WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
             RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(at)
        .bind(token::hash(token_text))
        .bind(at)
        .fetch_optional(&self.pool)
        .await?;
        row.map(token_from).transpose()
    }

    async fn token(&self, tenant_id: &str, id: &str) -> Result<TokenRecord, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = ? AND id = ?"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        token_from(row.ok_or(StoreError::NotFound("token"))?)
    }

    async fn list_tokens(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<TokenRecord>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens
             WHERE tenant_id = ? AND (? IS NULL OR id > ?) ORDER BY id LIMIT ?"
        ))
        .bind(tenant_id)
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows.into_iter().map(token_from).collect::<Result<_, _>>()?;
        Ok(Page::from_rows(rows, page.effective_limit(), |t| {
            t.id.clone()
        }))
    }

    async fn revoke_token(&self, tenant_id: &str, id: &str) -> Result<TokenRecord, StoreError> {
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant_id = ? AND id = ?",
        )
        .bind(now())
        .bind(tenant_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.token(tenant_id, id).await
    }

    async fn put_secret(
        &self,
        tenant_id: &str,
        name: &str,
        sealed_value: &Sealed,
    ) -> Result<SecretMeta, StoreError> {
        let at = now();
        let row: SecretRow = sqlx::query_as(
            "INSERT INTO secrets (tenant_id, name, sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
             RETURNING tenant_id, name, created_at, updated_at",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(sealed_value.encode())
        .bind(at)
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(e, "a secret with this name exists", "tenant"))?;
        Ok(secret_from(row))
    }

    async fn delete_secret(&self, tenant_id: &str, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM secrets WHERE tenant_id = ? AND name = ?")
            .bind(tenant_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("secret"));
        }
        Ok(())
    }

    async fn list_secrets(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<SecretMeta>, StoreError> {
        let rows: Vec<SecretRow> = sqlx::query_as(
            "SELECT tenant_id, name, created_at, updated_at FROM secrets
             WHERE tenant_id = ? AND (? IS NULL OR name > ?) ORDER BY name LIMIT ?",
        )
        .bind(tenant_id)
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows.into_iter().map(secret_from).collect();
        Ok(Page::from_rows(rows, page.effective_limit(), |s| {
            s.name.clone()
        }))
    }

    async fn sealed_secret(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Sealed>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT sealed FROM secrets WHERE tenant_id = ? AND name = ?")
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(text,)| sealed(&text)).transpose()
    }

    async fn list_sealed_secrets(
        &self,
        page: &PageRequest,
    ) -> Result<Page<SealedSecret>, StoreError> {
        // The cursor is `<tenant id>/<name>`; tenant ids are UUIDs, so the first `/` splits it.
        let (after_tenant, after_name) = match &page.after {
            None => (None, None),
            Some(cursor) => {
                let (tenant, name) = cursor.split_once('/').ok_or_else(|| {
                    StoreError::Invalid("malformed cursor for sealed secrets".into())
                })?;
                (Some(tenant), Some(name))
            }
        };
        // Users' own secrets join under the names the vault sealed them with.
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT tenant_id, name, sealed FROM (
                 SELECT tenant_id, name, sealed FROM secrets
                 UNION ALL
                 SELECT tenant_id, ? || user_id || '/' || name AS name, sealed FROM user_secrets
             )
             WHERE ? IS NULL OR tenant_id > ? OR (tenant_id = ? AND name > ?)
             ORDER BY tenant_id, name LIMIT ?",
        )
        .bind(USER_SECRET_PREFIX)
        .bind(after_tenant)
        .bind(after_tenant)
        .bind(after_tenant)
        .bind(after_name)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .into_iter()
            .map(|(tenant_id, name, text)| {
                Ok(SealedSecret {
                    tenant_id,
                    name,
                    sealed: sealed(&text)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page::from_rows(rows, page.effective_limit(), |s| {
            format!("{}/{}", s.tenant_id, s.name)
        }))
    }

    async fn reseal_secret(
        &self,
        tenant_id: &str,
        name: &str,
        expected: &Sealed,
        replacement: &Sealed,
    ) -> Result<bool, StoreError> {
        let done =
            match name
                .strip_prefix(USER_SECRET_PREFIX)
                .and_then(|rest| rest.split_once('/'))
            {
                Some((user_id, own_name)) => {
                    sqlx::query(
                        "UPDATE user_secrets SET sealed = ?
                     WHERE tenant_id = ? AND user_id = ? AND name = ? AND sealed = ?",
                    )
                    .bind(replacement.encode())
                    .bind(tenant_id)
                    .bind(user_id)
                    .bind(own_name)
                    .bind(expected.encode())
                    .execute(&self.pool)
                    .await?
                }
                None => sqlx::query(
                    "UPDATE secrets SET sealed = ? WHERE tenant_id = ? AND name = ? AND sealed = ?",
                )
                .bind(replacement.encode())
                .bind(tenant_id)
                .bind(name)
                .bind(expected.encode())
                .execute(&self.pool)
                .await?,
            };
        Ok(done.rows_affected() == 1)
    }

    async fn put_user_secret(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
        sealed_value: &Sealed,
    ) -> Result<SecretMeta, StoreError> {
        let at = now();
        let row: SecretRow = sqlx::query_as(
            "INSERT INTO user_secrets (tenant_id, user_id, name, sealed, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, user_id, name)
             DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
             RETURNING tenant_id, name, created_at, updated_at",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(name)
        .bind(sealed_value.encode())
        .bind(at)
        .bind(at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(e, "a secret with this name exists", "member"))?;
        Ok(secret_from(row))
    }

    async fn delete_user_secret(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "DELETE FROM user_secrets WHERE tenant_id = ? AND user_id = ? AND name = ?",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(name)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("secret"));
        }
        Ok(())
    }

    async fn list_user_secrets(
        &self,
        tenant_id: &str,
        user_id: &str,
        page: &PageRequest,
    ) -> Result<Page<SecretMeta>, StoreError> {
        let rows: Vec<SecretRow> = sqlx::query_as(
            "SELECT tenant_id, name, created_at, updated_at FROM user_secrets
             WHERE tenant_id = ? AND user_id = ? AND (? IS NULL OR name > ?)
             ORDER BY name LIMIT ?",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let rows = rows.into_iter().map(secret_from).collect();
        Ok(Page::from_rows(rows, page.effective_limit(), |s| {
            s.name.clone()
        }))
    }

    async fn sealed_user_secret(
        &self,
        tenant_id: &str,
        user_id: &str,
        name: &str,
    ) -> Result<Option<Sealed>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT sealed FROM user_secrets WHERE tenant_id = ? AND user_id = ? AND name = ?",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(text,)| sealed(&text)).transpose()
    }

    async fn vault_key_check(&self) -> Result<Option<Sealed>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT sealed FROM vault_key_check WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(text,)| sealed(&text)).transpose()
    }

    async fn set_vault_key_check(&self, check: &Sealed) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO vault_key_check (id, sealed, updated_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
        )
        .bind(check.encode())
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
        self.insert_usage(events).await
    }

    async fn usage_summary(
        &self,
        tenant_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<UsageSummary, StoreError> {
        self.summarize_usage(tenant_id, from, to).await
    }

    async fn usage_history(
        &self,
        tenant_id: &str,
        filter: &UsageFilter,
        page: &PageRequest,
    ) -> Result<Page<UsageEvent>, StoreError> {
        self.usage_page(tenant_id, filter, page).await
    }

    async fn count_calls(&self, tenant_id: &str, since: Timestamp) -> Result<u64, StoreError> {
        self.count_quota_calls(tenant_id, since).await
    }

    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        self.insert_audit(entries).await
    }

    async fn list_audit(
        &self,
        tenant_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.audit_page(tenant_id, page).await
    }

    async fn create_endpoint(&self, new: &NewEndpoint) -> Result<Endpoint, StoreError> {
        self.insert_endpoint(new).await
    }

    async fn endpoint(&self, tenant_id: &str, slug: &str) -> Result<Endpoint, StoreError> {
        self.endpoint_of(tenant_id, slug).await
    }

    async fn list_endpoints(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Endpoint>, StoreError> {
        self.endpoint_page(tenant_id, page).await
    }

    async fn update_endpoint(
        &self,
        tenant_id: &str,
        slug: &str,
        changes: &EndpointChanges,
    ) -> Result<Endpoint, StoreError> {
        self.change_endpoint(tenant_id, slug, changes).await
    }

    async fn delete_endpoint(&self, tenant_id: &str, slug: &str) -> Result<(), StoreError> {
        self.remove_endpoint(tenant_id, slug).await
    }

    async fn set_endpoint_tools(
        &self,
        tenant_id: &str,
        slug: &str,
        tools: &[EndpointTool],
    ) -> Result<Endpoint, StoreError> {
        self.change_selection(tenant_id, slug, endpoints::SelectionChange::Replace(tools))
            .await
    }

    async fn put_endpoint_tool(
        &self,
        tenant_id: &str,
        slug: &str,
        tool: &EndpointTool,
    ) -> Result<Endpoint, StoreError> {
        self.change_selection(tenant_id, slug, endpoints::SelectionChange::Put(tool))
            .await
    }

    async fn remove_endpoint_tool(
        &self,
        tenant_id: &str,
        slug: &str,
        exposed_name: &str,
    ) -> Result<Endpoint, StoreError> {
        self.change_selection(
            tenant_id,
            slug,
            endpoints::SelectionChange::Remove(exposed_name),
        )
        .await
    }

    async fn all_endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.every_endpoint().await
    }

    async fn create_backend(&self, new: &NewBackend) -> Result<RegisteredBackend, StoreError> {
        self.insert_backend(new).await
    }

    async fn backend(&self, tenant_id: &str, name: &str) -> Result<RegisteredBackend, StoreError> {
        self.backend_of(tenant_id, name).await
    }

    async fn backend_document(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        self.document_of(tenant_id, name).await
    }

    async fn list_backends(
        &self,
        tenant_id: &str,
        kind: Option<BackendKind>,
        page: &PageRequest,
    ) -> Result<Page<RegisteredBackend>, StoreError> {
        self.backend_page(tenant_id, kind, page).await
    }

    async fn replace_backend(&self, new: &NewBackend) -> Result<RegisteredBackend, StoreError> {
        self.change_backend(new).await
    }

    async fn delete_backend(&self, tenant_id: &str, name: &str) -> Result<(), StoreError> {
        self.remove_backend(tenant_id, name).await
    }

    async fn all_backends(&self) -> Result<Vec<RegisteredBackend>, StoreError> {
        self.every_backend().await
    }
}
