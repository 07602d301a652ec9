//! SQL for the virtual endpoints of migration 3: `endpoints` and their `endpoint_tools`. Every
//! read and write goes through the owning tenant's id (another tenant's endpoint is
//! [`StoreError::NotFound`]), and every change of a selection happens in one transaction that
//! also moves the endpoint's `updated_at`.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{SqliteStore, fetch_limit, new_id, within_limit};
use crate::model::now;
use crate::{
    Endpoint, EndpointChanges, EndpointMode, EndpointTool, NewEndpoint, Page, PageRequest,
    StoreError,
};

const ENDPOINT_COLUMNS: &str = "id, tenant_id, slug, description, mode, created_at, updated_at";
type EndpointRow = (String, String, String, String, String, i64, i64);

type ToolRow = (String, String, String, String, Option<String>, i64);

fn endpoint_from(row: EndpointRow, tools: Vec<EndpointTool>) -> Result<Endpoint, StoreError> {
    let (id, tenant_id, slug, description, mode, created_at, updated_at) = row;
    let mode: EndpointMode = mode
        .parse()
        .map_err(|_| StoreError::Database("an endpoint row holds an unknown mode".into()))?;
    Ok(Endpoint {
        id,
        tenant_id,
        slug,
        description,
        mode,
        tools,
        created_at,
        updated_at,
    })
}

fn tool_from((_, exposed_name, upstream, tool, description, visible): ToolRow) -> EndpointTool {
    EndpointTool {
        exposed_name,
        upstream,
        tool,
        description,
        visible: visible != 0,
    }
}

fn duplicate_name(err: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(
        err,
        "two tools of the endpoint have the same exposed name",
        "endpoint",
    )
}

/// The tools of the endpoints `ids`, each list ordered by exposed name.
async fn tools_of(
    conn: &mut SqliteConnection,
    ids: &[&str],
) -> Result<HashMap<String, Vec<EndpointTool>>, StoreError> {
    let mut grouped: HashMap<String, Vec<EndpointTool>> = HashMap::new();
    if ids.is_empty() {
        return Ok(grouped);
    }
    let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT endpoint_id, exposed_name, upstream, tool, description, visible
         FROM endpoint_tools WHERE endpoint_id IN (",
    );
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(") ORDER BY endpoint_id, exposed_name");
    let rows: Vec<ToolRow> = query.build_query_as().fetch_all(&mut *conn).await?;
    for row in rows {
        grouped
            .entry(row.0.clone())
            .or_default()
            .push(tool_from(row));
    }
    Ok(grouped)
}

/// Endpoint rows with their tools.
async fn with_tools(
    conn: &mut SqliteConnection,
    rows: Vec<EndpointRow>,
) -> Result<Vec<Endpoint>, StoreError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut tools = tools_of(conn, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let selection = tools.remove(&row.0).unwrap_or_default();
            endpoint_from(row, selection)
        })
        .collect()
}

async fn endpoint_row(
    conn: &mut SqliteConnection,
    tenant_id: &str,
    slug: &str,
) -> Result<EndpointRow, StoreError> {
    let row: Option<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM endpoints WHERE tenant_id = ? AND slug = ?"
    ))
    .bind(tenant_id)
    .bind(slug)
    .fetch_optional(&mut *conn)
    .await?;
    row.ok_or(StoreError::NotFound("endpoint"))
}

async fn insert_tool(
    conn: &mut SqliteConnection,
    endpoint_id: &str,
    tool: &EndpointTool,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO endpoint_tools (endpoint_id, exposed_name, upstream, tool, description, visible)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(endpoint_id)
    .bind(&tool.exposed_name)
    .bind(&tool.upstream)
    .bind(&tool.tool)
    .bind(&tool.description)
    .bind(i64::from(tool.visible))
    .execute(&mut *conn)
    .await
    .map_err(duplicate_name)?;
    Ok(())
}

async fn touch(conn: &mut SqliteConnection, endpoint_id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE endpoints SET updated_at = ? WHERE id = ?")
        .bind(now())
        .bind(endpoint_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How a selection changes.
pub(super) enum SelectionChange<'a> {
    /// The whole selection becomes these tools.
    Replace(&'a [EndpointTool]),
    /// This tool is added, or replaces the one with its exposed name.
    Put(&'a EndpointTool),
    /// The tool with this exposed name goes.
    Remove(&'a str),
}

impl SqliteStore {
    pub(super) async fn insert_endpoint(&self, new: &NewEndpoint) -> Result<Endpoint, StoreError> {
        let id = new_id();
        let at = now();
        // IMMEDIATE: the count and the insert must see the same rows.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        within_limit(&mut tx, "endpoints", &new.tenant_id, new.at_most).await?;
        sqlx::query(&format!(
            "INSERT INTO endpoints ({ENDPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(&id)
        .bind(&new.tenant_id)
        .bind(&new.slug)
        .bind(&new.description)
        .bind(new.mode.as_str())
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::from_sqlx(
                e,
                &format!("an endpoint with slug `{}` exists", new.slug),
                "tenant",
            )
        })?;
        for tool in &new.tools {
            insert_tool(&mut tx, &id, tool).await?;
        }
        tx.commit().await?;
        let mut tools = new.tools.clone();
        tools.sort_by(|a, b| a.exposed_name.cmp(&b.exposed_name));
        Ok(Endpoint {
            id,
            tenant_id: new.tenant_id.clone(),
            slug: new.slug.clone(),
            description: new.description.clone(),
            mode: new.mode,
            tools,
            created_at: at,
            updated_at: at,
        })
    }

    pub(super) async fn endpoint_of(
        &self,
        tenant_id: &str,
        slug: &str,
    ) -> Result<Endpoint, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = endpoint_row(&mut conn, tenant_id, slug).await?;
        let mut found = with_tools(&mut conn, vec![row]).await?;
        found.pop().ok_or(StoreError::NotFound("endpoint"))
    }

    pub(super) async fn endpoint_page(
        &self,
        tenant_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Endpoint>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM endpoints
             WHERE tenant_id = ? AND (? IS NULL OR slug > ?) ORDER BY slug LIMIT ?"
        ))
        .bind(tenant_id)
        .bind(&page.after)
        .bind(&page.after)
        .bind(fetch_limit(page))
        .fetch_all(&mut *conn)
        .await?;
        let endpoints = with_tools(&mut conn, rows).await?;
        Ok(Page::from_rows(endpoints, page.effective_limit(), |e| {
            e.slug.clone()
        }))
    }

    pub(super) async fn every_endpoint(&self) -> Result<Vec<Endpoint>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM endpoints ORDER BY slug"
        ))
        .fetch_all(&mut *conn)
        .await?;
        with_tools(&mut conn, rows).await
    }

    pub(super) async fn change_endpoint(
        &self,
        tenant_id: &str,
        slug: &str,
        changes: &EndpointChanges,
    ) -> Result<Endpoint, StoreError> {
        let done = sqlx::query(
            "UPDATE endpoints SET description = COALESCE(?, description), mode = COALESCE(?, mode),
             updated_at = ? WHERE tenant_id = ? AND slug = ?",
        )
        .bind(&changes.description)
        .bind(changes.mode.map(EndpointMode::as_str))
        .bind(now())
        .bind(tenant_id)
        .bind(slug)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("endpoint"));
        }
        self.endpoint_of(tenant_id, slug).await
    }

    pub(super) async fn remove_endpoint(
        &self,
        tenant_id: &str,
        slug: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM endpoints WHERE tenant_id = ? AND slug = ?")
            .bind(tenant_id)
            .bind(slug)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("endpoint"));
        }
        Ok(())
    }

    pub(super) async fn change_selection(
        &self,
        tenant_id: &str,
        slug: &str,
        change: SelectionChange<'_>,
    ) -> Result<Endpoint, StoreError> {
        // IMMEDIATE: the transaction reads before it writes, and a deferred one would fail at
        // once with "database is locked" (not wait) if another connection wrote in between.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (id, ..) = endpoint_row(&mut tx, tenant_id, slug).await?;
        match change {
            SelectionChange::Replace(tools) => {
                sqlx::query("DELETE FROM endpoint_tools WHERE endpoint_id = ?")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                for tool in tools {
                    insert_tool(&mut tx, &id, tool).await?;
                }
            }
            SelectionChange::Put(tool) => {
                sqlx::query(
                    "DELETE FROM endpoint_tools WHERE endpoint_id = ? AND exposed_name = ?",
                )
                .bind(&id)
                .bind(&tool.exposed_name)
                .execute(&mut *tx)
                .await?;
                insert_tool(&mut tx, &id, tool).await?;
            }
            SelectionChange::Remove(exposed_name) => {
                let done = sqlx::query(
                    "DELETE FROM endpoint_tools WHERE endpoint_id = ? AND exposed_name = ?",
                )
                .bind(&id)
                .bind(exposed_name)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound("endpoint tool"));
                }
            }
        }
        touch(&mut tx, &id).await?;
        tx.commit().await?;
        self.endpoint_of(tenant_id, slug).await
    }
}
