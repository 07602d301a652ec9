//! The SQLite schema's migrations and the runner that applies them.
//!
//! Why not `sqlx::migrate!`: that macro needs sqlx's `macros` feature (a proc-macro stack that
//! costs much compile time for one call). The runner is small instead: the SQL files are embedded
//! with `include_str!`, applied in version order inside one transaction, and each applied version
//! is recorded in `schema_migrations` with a checksum of its text, so that reopening applies
//! nothing, an edited migration is refused, and a database made by a newer build is refused
//! rather than misread.

use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use crate::StoreError;
use crate::model::now;

/// One embedded migration.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Append only; never edit a released one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "usage_audit",
        sql: include_str!("../../migrations/sqlite/0002_usage_audit.sql"),
    },
    Migration {
        version: 3,
        name: "endpoints",
        sql: include_str!("../../migrations/sqlite/0003_endpoints.sql"),
    },
    Migration {
        version: 4,
        name: "user_secrets",
        sql: include_str!("../../migrations/sqlite/0004_user_secrets.sql"),
    },
    Migration {
        version: 5,
        name: "backends",
        sql: include_str!("../../migrations/sqlite/0005_backends.sql"),
    },
    Migration {
        version: 6,
        name: "call_audit",
        sql: include_str!("../../migrations/sqlite/0006_call_audit.sql"),
    },
];

/// The newest schema version this build knows.
pub(crate) const LATEST_VERSION: i64 = 6;

fn checksum(sql: &str) -> String {
    let digest = Sha256::digest(sql.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn failed(context: &str, err: sqlx::Error) -> StoreError {
    StoreError::Migration(format!("{context}: {err}"))
}

/// Brings the schema up to date; returns the versions it applied (empty when it was current).
pub(crate) async fn run(pool: &SqlitePool) -> Result<Vec<i64>, StoreError> {
    // `BEGIN IMMEDIATE` takes the write lock at once, so two processes opening the same new
    // database one after the other wait (busy timeout) instead of both migrating.
    let mut conn = pool.acquire().await.map_err(|e| failed("connecting", e))?;
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(|e| failed("starting the migration transaction", e))?;
    let result = apply_pending(&mut conn).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = sqlx::raw_sql(end).execute(&mut *conn).await;
    if ended.is_err() {
        // A connection whose COMMIT or ROLLBACK failed may still be inside the transaction: close
        // it rather than hand it back to the pool.
        drop(conn.detach());
    }
    let applied = result?;
    ended.map_err(|e| failed("committing the migrations", e))?;
    Ok(applied)
}

async fn apply_pending(conn: &mut sqlx::SqliteConnection) -> Result<Vec<i64>, StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     BIGINT NOT NULL PRIMARY KEY,
             name        TEXT   NOT NULL,
             checksum    TEXT   NOT NULL,
             applied_at  BIGINT NOT NULL
         )",
    )
    .execute(&mut *conn)
    .await
    .map_err(|e| failed("creating schema_migrations", e))?;

    let recorded: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| failed("reading schema_migrations", e))?;
    if let Some((newest, _)) = recorded.last()
        && *newest > LATEST_VERSION
    {
        return Err(StoreError::Migration(format!(
            "the database has schema version {newest}, newer than this build's {LATEST_VERSION}; \
             use a newer Toolport"
        )));
    }

    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let sum = checksum(migration.sql);
        match recorded.iter().find(|(v, _)| *v == migration.version) {
            Some((_, recorded_sum)) if *recorded_sum == sum => continue,
            Some(_) => {
                return Err(StoreError::Migration(format!(
                    "migration {} ({}) differs from the one applied to this database",
                    migration.version, migration.name
                )));
            }
            None => {}
        }
        sqlx::raw_sql(migration.sql)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                failed(
                    &format!(
                        "applying migration {} ({})",
                        migration.version, migration.name
                    ),
                    e,
                )
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(&sum)
        .bind(now())
        .execute(&mut *conn)
        .await
        .map_err(|e| failed("recording a migration", e))?;
        applied.push(migration.version);
    }
    Ok(applied)
}
