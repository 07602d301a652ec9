//! SQL for the registered APIs and MCP servers of migration 5. Every read and write goes through
//! the owning tenant's id (another tenant's registration is [`StoreError::NotFound`]); lists
//! leave the uploaded descriptions out, which are read one at a time.

use super::{SqliteStore, fetch_limit, new_id, within_limit};
use crate::model::now;
use crate::{BackendKind, NewBackend, Page, PageRequest, RegisteredBackend, StoreError};

const COLUMNS: &str =
    "id, tenant_id, kind, name, definition, LENGTH(CAST(document AS BLOB)), created_at, updated_at";
type Row = (
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    i64,
    i64,
);

fn backend_from(row: Row) -> Result<RegisteredBackend, StoreError> {
    let (id, tenant_id, kind, name, definition, document_bytes, created_at, updated_at) = row;
    let kind: BackendKind = kind
        .parse()
        .map_err(|_| StoreError::Database("a backend row holds an unknown kind".into()))?;
    Ok(RegisteredBackend {
        id,
        tenant_id,
        kind,
        name,
        definition,
        document_bytes: document_bytes.and_then(|n| u64::try_from(n).ok()),
        created_at,
        updated_at,
    })
}

impl SqliteStore {
    pub(super) async fn insert_backend(
        &self,
        new: &NewBackend,
    ) -> Result<RegisteredBackend, StoreError> {
        let at = now();
        // IMMEDIATE: the count and the insert must see the same rows.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        within_limit(&mut tx, "backends", &new.tenant_id, new.at_most).await?;
        sqlx::query(
            "INSERT INTO backends (id, tenant_id, kind, name, definition, document, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new_id())
        .bind(&new.tenant_id)
        .bind(new.kind.as_str())
        .bind(&new.name)
        .bind(&new.definition)
        .bind(&new.document)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::from_sqlx(
                e,
                &format!("the tenant already has an API or server named `{}`", new.name),
                "tenant",
            )
        })?;
        tx.commit().await?;
        self.backend_of(&new.tenant_id, &new.name).await
    }

    pub(super) async fn backend_of(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<RegisteredBackend, StoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM backends WHERE tenant_id = ? AND name = ?"
        ))
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        backend_from(row.ok_or(StoreError::NotFound("backend"))?)
    }

    pub(super) async fn document_of(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT document FROM backends WHERE tenant_id = ? AND name = ?")
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.ok_or(StoreError::NotFound("backend"))?.0)
    }

    pub(super) async fn backend_page(
        &self,
        tenant_id: &str,
        kind: Option<BackendKind>,
        page: &PageRequest,
    ) -> Result<Page<RegisteredBackend>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM backends
             WHERE tenant_id = ? AND (? IS NULL OR kind = ?) AND (? IS NULL OR name > ?)
             ORDER BY name LIMIT ?"
        ))
        .bind(tenant_id)
        .bind(kind.map(BackendKind::as_str))
        .bind(kind.map(BackendKind::as_str))
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&self.pool)
        .await?;
        let backends = rows
            .into_iter()
            .map(backend_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(backends, page.effective_limit(), |b| {
            b.name.clone()
        }))
    }

    pub(super) async fn every_backend(&self) -> Result<Vec<RegisteredBackend>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM backends ORDER BY tenant_id, name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(backend_from).collect()
    }

    pub(super) async fn change_backend(
        &self,
        new: &NewBackend,
    ) -> Result<RegisteredBackend, StoreError> {
        let done = sqlx::query(
            "UPDATE backends SET definition = ?, document = ?, updated_at = ?
             WHERE tenant_id = ? AND name = ? AND kind = ?",
        )
        .bind(&new.definition)
        .bind(&new.document)
        .bind(now())
        .bind(&new.tenant_id)
        .bind(&new.name)
        .bind(new.kind.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("backend"));
        }
        self.backend_of(&new.tenant_id, &new.name).await
    }

    pub(super) async fn remove_backend(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM backends WHERE tenant_id = ? AND name = ?")
            .bind(tenant_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("backend"));
        }
        Ok(())
    }
}
