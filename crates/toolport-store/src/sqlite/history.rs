//! SQL for the append-only history tables of migration 2: usage events (metering, quotas) and the
//! audit log. Batches are written with multi-row `INSERT`s inside one transaction; lists are read
//! newest first by `(at_ms, id)` with an opaque `<at_ms>.<id>` cursor. Since migration 6 a tool
//! call's audit entry is its usage row (`arguments` not NULL): the audit list merges those rows
//! with `audit_log`'s.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{QueryBuilder, Sqlite};

use super::{SqliteStore, fetch_limit};
use crate::{
    AuditEntry, AuditOutcome, CallAudit, CallStatus, EndpointUsage, Page, PageRequest, StoreError,
    Timestamp, ToolUsage, UsageCounts, UsageEvent, UsageFilter, UsageSummary,
};

/// Rows per `INSERT` statement: 500 × 14 bound values stays far below SQLite's limit of 32,766
/// variables per statement, and full chunks share one cached prepared statement. Multi-row
/// statements rather than one prepared single-row statement executed per row in the transaction:
/// measured with `usage_bench`, 71–81k against 19–23k rows/s (each statement is a round trip to
/// sqlx's SQLite worker thread).
const ROWS_PER_INSERT: usize = 500;

/// A batch cut into the rows of one `INSERT` each: full statements of [`ROWS_PER_INSERT`] rows,
/// then the rest in falling powers of two. A statement's text depends on its row count and sqlx
/// prepares (and caches) a statement per text, so a batch of any size uses at most ten texts,
/// each prepared once per connection, rather than a new one for every partial batch (preparing
/// took a twentieth of the writer's time).
fn insert_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let len = if rows.len() >= ROWS_PER_INSERT {
            ROWS_PER_INSERT
        } else {
            1 << rows.len().ilog2()
        };
        let (chunk, rest) = rows.split_at(len);
        rows = rest;
        Some(chunk)
    })
}

const USAGE_COLUMNS: &str = "id, tenant_id, user_id, token_id, endpoint, tool, upstream, status, \
                             latency_ms, request_bytes, response_bytes, at_ms, arguments, note";

const AUDIT_COLUMNS: &str =
    "id, at_ms, tenant_id, actor_user_id, actor_token_id, action, target, detail, outcome";

/// Ids of history rows: the row's time (12 hex digits of Unix milliseconds) then a 16-hex-digit
/// sequence number. New rows so land near the end of the primary key's index instead of at random
/// places: with random UUIDs there, a batch insert ran at half the rate (measured: 49k against 86k
/// rows/s). The sequence starts at a random value for each opened store, so that two processes
/// writing one database do not collide, and it orders rows of the same millisecond by insertion.
#[derive(Debug)]
pub(super) struct HistoryIds(AtomicU64);

impl HistoryIds {
    pub(super) fn new() -> Result<Self, StoreError> {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed)
            .map_err(|e| StoreError::Database(format!("no randomness for row ids: {e}")))?;
        Ok(Self(AtomicU64::new(u64::from_le_bytes(seed))))
    }

    fn next(&self, at_ms: i64) -> String {
        use std::fmt::Write as _;
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        // Sized up front: `format!` would grow the string twice for these 28 characters.
        let mut id = String::with_capacity(28);
        let _ = write!(id, "{:012x}{n:016x}", at_ms.max(0));
        id
    }
}

/// Counters are `u64` in the model and `BIGINT` in the table; a value beyond `i64::MAX` (which no
/// byte count or latency reaches) is stored as `i64::MAX` rather than refused.
fn to_db(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn from_db(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value)
        .map_err(|_| StoreError::Database(format!("a usage row holds a negative {what}")))
}

/// Seconds to the tables' milliseconds, saturating at the ends of time.
fn ms(seconds: Timestamp) -> i64 {
    seconds.saturating_mul(1000)
}

fn cursor(at_ms: i64, id: &str) -> String {
    format!("{at_ms}.{id}")
}

fn parse_cursor(text: &str) -> Result<(i64, &str), StoreError> {
    text.split_once('.')
        .and_then(|(at, id)| Some((at.parse().ok()?, id)))
        .ok_or_else(|| StoreError::Invalid("malformed cursor".into()))
}

fn status(text: &str) -> Result<CallStatus, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Database("a usage row holds an unknown status".into()))
}

fn outcome(text: &str) -> Result<AuditOutcome, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Database("an audit row holds an unknown outcome".into()))
}

type UsageRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

/// A row with its id.
fn usage_from(row: UsageRow) -> Result<(String, UsageEvent), StoreError> {
    let (
        id,
        tenant_id,
        user_id,
        token_id,
        endpoint,
        tool,
        upstream,
        status_text,
        latency,
        req,
        resp,
        at_ms,
        arguments,
        note,
    ) = row;
    let event = UsageEvent {
        tenant_id,
        user_id,
        token_id,
        endpoint,
        tool,
        upstream,
        status: status(&status_text)?,
        latency_ms: from_db(latency, "latency")?,
        request_bytes: from_db(req, "request size")?,
        response_bytes: from_db(resp, "response size")?,
        at_ms,
        audit: arguments.map(|arguments| CallAudit { arguments, note }),
    };
    Ok((id, event))
}

type AuditRow = (
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
);

/// A row with its id.
fn audit_from(row: AuditRow) -> Result<(String, AuditEntry), StoreError> {
    let (id, at_ms, tenant_id, actor_user_id, actor_token_id, action, target, detail, outcome_text) =
        row;
    let entry = AuditEntry {
        at_ms,
        tenant_id,
        actor_user_id,
        actor_token_id,
        action,
        target,
        detail: serde_json::from_str(&detail)
            .map_err(|_| StoreError::Database("an audit row holds unreadable detail".into()))?,
        outcome: outcome(&outcome_text)?,
    };
    Ok((id, entry))
}

/// Pages rows fetched with their ids (newest first), then drops the ids.
fn page_of<T>(rows: Vec<(String, T)>, page: &PageRequest, at_ms: impl Fn(&T) -> i64) -> Page<T> {
    let paged = Page::from_rows(rows, page.effective_limit(), |(id, item)| {
        cursor(at_ms(item), id)
    });
    Page {
        items: paged.items.into_iter().map(|(_, item)| item).collect(),
        next_after: paged.next_after,
    }
}

/// Appends `AND (at_ms, id) < (?, ?)` for a page after `page.after`, and the newest-first order and
/// limit.
fn push_page_tail<'q>(
    qb: &mut QueryBuilder<'q, Sqlite>,
    page: &'q PageRequest,
) -> Result<(), StoreError> {
    if let Some(after) = &page.after {
        let (at_ms, id) = parse_cursor(after)?;
        qb.push(" AND (at_ms, id) < (")
            .push_bind(at_ms)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    qb.push(" ORDER BY at_ms DESC, id DESC LIMIT ")
        .push_bind(fetch_limit(page));
    Ok(())
}

/// Counts by status, for the summary's totals and groups.
const COUNT_COLUMNS: &str = "COUNT(*), \
     COALESCE(SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0), \
     COALESCE(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0)";

fn counts(calls: i64, errors: i64, rejected: i64) -> Result<UsageCounts, StoreError> {
    Ok(UsageCounts {
        calls: from_db(calls, "count")?,
        errors: from_db(errors, "count")?,
        rejected: from_db(rejected, "count")?,
    })
}

impl SqliteStore {
    pub(super) async fn insert_usage(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in insert_chunks(events) {
            let mut qb =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO usage_events ({USAGE_COLUMNS}) "));
            qb.push_values(chunk, |mut row, e| {
                row.push_bind(self.history_ids.next(e.at_ms))
                    .push_bind(&e.tenant_id)
                    .push_bind(&e.user_id)
                    .push_bind(&e.token_id)
                    .push_bind(&e.endpoint)
                    .push_bind(&e.tool)
                    .push_bind(&e.upstream)
                    .push_bind(e.status.as_str())
                    .push_bind(to_db(e.latency_ms))
                    .push_bind(to_db(e.request_bytes))
                    .push_bind(to_db(e.response_bytes))
                    .push_bind(e.at_ms)
                    .push_bind(e.audit.as_ref().map(|a| &a.arguments))
                    .push_bind(e.audit.as_ref().and_then(|a| a.note.as_ref()));
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn summarize_usage(
        &self,
        tenant_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<UsageSummary, StoreError> {
        let (from_ms, to_ms) = (ms(from), ms(to));
        // One read transaction: every figure comes from the same snapshot.
        let mut tx = self.pool.begin().await?;
        let range = "FROM usage_events WHERE tenant_id = ? AND at_ms >= ? AND at_ms < ?";

        let (calls, errors, rejected, req, resp, latency_sum): (i64, i64, i64, i64, i64, i64) =
            sqlx::query_as(&format!(
                "SELECT {COUNT_COLUMNS}, COALESCE(SUM(request_bytes), 0),
                        COALESCE(SUM(response_bytes), 0),
                        COALESCE(SUM(CASE WHEN status <> 'rejected' THEN latency_ms ELSE 0 END), 0)
                 {range}"
            ))
            .bind(tenant_id)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_one(&mut *tx)
            .await?;
        let totals = counts(calls, errors, rejected)?;

        // Latency is about calls that reached a backend; rejected ones took no time there.
        let reached = totals.calls.saturating_sub(totals.rejected);
        let (avg_latency_ms, p50_latency_ms) = if reached == 0 {
            (None, None)
        } else {
            let median_offset = to_db((reached - 1) / 2);
            let (p50,): (i64,) = sqlx::query_as(&format!(
                "SELECT latency_ms {range} AND status <> 'rejected'
                 ORDER BY latency_ms LIMIT 1 OFFSET ?"
            ))
            .bind(tenant_id)
            .bind(from_ms)
            .bind(to_ms)
            .bind(median_offset)
            .fetch_one(&mut *tx)
            .await?;
            (
                Some(from_db(latency_sum, "latency")? / reached),
                Some(from_db(p50, "latency")?),
            )
        };

        let tool_rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT upstream, tool, {COUNT_COLUMNS} {range} GROUP BY upstream, tool"
        ))
        .bind(tenant_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *tx)
        .await?;
        let mut by_tool = tool_rows
            .into_iter()
            .map(|(upstream, tool, c, e, r)| {
                Ok(ToolUsage {
                    upstream,
                    tool,
                    counts: counts(c, e, r)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        by_tool.sort_by(|a, b| {
            b.counts
                .calls
                .cmp(&a.counts.calls)
                .then_with(|| a.upstream.cmp(&b.upstream))
                .then_with(|| a.tool.cmp(&b.tool))
        });

        let endpoint_rows: Vec<(Option<String>, i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT endpoint, {COUNT_COLUMNS} {range} GROUP BY endpoint"
        ))
        .bind(tenant_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *tx)
        .await?;
        let mut by_endpoint = endpoint_rows
            .into_iter()
            .map(|(endpoint, c, e, r)| {
                Ok(EndpointUsage {
                    endpoint,
                    counts: counts(c, e, r)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Sorted here rather than in SQL: backends disagree on where NULL sorts.
        by_endpoint.sort_by(|a, b| {
            b.counts
                .calls
                .cmp(&a.counts.calls)
                .then_with(|| a.endpoint.cmp(&b.endpoint))
        });
        tx.commit().await?;

        Ok(UsageSummary {
            from,
            to,
            totals,
            request_bytes: from_db(req, "request size")?,
            response_bytes: from_db(resp, "response size")?,
            avg_latency_ms,
            p50_latency_ms,
            by_tool,
            by_endpoint,
        })
    }

    pub(super) async fn usage_page(
        &self,
        tenant_id: &str,
        filter: &UsageFilter,
        page: &PageRequest,
    ) -> Result<Page<UsageEvent>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {USAGE_COLUMNS} FROM usage_events WHERE tenant_id = "
        ));
        qb.push_bind(tenant_id);
        if let Some(tool) = &filter.tool {
            qb.push(" AND tool = ").push_bind(tool);
        }
        if let Some(endpoint) = &filter.endpoint {
            qb.push(" AND endpoint = ").push_bind(endpoint);
        }
        if let Some(from) = filter.from {
            qb.push(" AND at_ms >= ").push_bind(ms(from));
        }
        if let Some(to) = filter.to {
            qb.push(" AND at_ms < ").push_bind(ms(to));
        }
        push_page_tail(&mut qb, page)?;
        let rows: Vec<UsageRow> = qb.build_query_as().fetch_all(&self.pool).await?;
        let rows = rows.into_iter().map(usage_from).collect::<Result<_, _>>()?;
        Ok(page_of(rows, page, |e| e.at_ms))
    }

    pub(super) async fn count_quota_calls(
        &self,
        tenant_id: &str,
        since: Timestamp,
    ) -> Result<u64, StoreError> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM usage_events
             WHERE tenant_id = ? AND at_ms >= ? AND status IN ('ok', 'error')",
        )
        .bind(tenant_id)
        .bind(ms(since))
        .fetch_one(&self.pool)
        .await?;
        from_db(count, "count")
    }

    pub(super) async fn insert_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let details = entries
            .iter()
            .map(|e| serde_json::to_string(&e.detail))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Invalid(format!("audit detail: {e}")))?;
        let mut tx = self.pool.begin().await?;
        for (chunk, details) in entries
            .chunks(ROWS_PER_INSERT)
            .zip(details.chunks(ROWS_PER_INSERT))
        {
            let mut qb =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) "));
            qb.push_values(chunk.iter().zip(details), |mut row, (e, detail)| {
                row.push_bind(self.history_ids.next(e.at_ms))
                    .push_bind(e.at_ms)
                    .push_bind(&e.tenant_id)
                    .push_bind(&e.actor_user_id)
                    .push_bind(&e.actor_token_id)
                    .push_bind(&e.action)
                    .push_bind(&e.target)
                    .push_bind(detail)
                    .push_bind(e.outcome.as_str());
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Both sources newest first after the cursor, each cut to the page (plus one), in one read
    /// transaction; merged, the newest page-plus-one of them is the page.
    pub(super) async fn audit_page(
        &self,
        tenant_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let mut tx = self.pool.begin().await?;

        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1 = 1"
        ));
        if let Some(tenant_id) = tenant_id {
            qb.push(" AND tenant_id = ").push_bind(tenant_id);
        }
        push_page_tail(&mut qb, page)?;
        let entries: Vec<AuditRow> = qb.build_query_as().fetch_all(&mut *tx).await?;

        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {USAGE_COLUMNS} FROM usage_events WHERE arguments IS NOT NULL"
        ));
        let calls: Vec<UsageRow> = match tenant_id {
            Some(tenant_id) => {
                qb.push(" AND tenant_id = ").push_bind(tenant_id);
                push_page_tail(&mut qb, page)?;
                qb.build_query_as().fetch_all(&mut *tx).await?
            }
            None => {
                // Across tenants only the primary key orders the rows: an id begins with its
                // row's `at_ms` (see `HistoryIds`), so the id's order is that of (at_ms, id).
                if let Some(after) = &page.after {
                    let (_, id) = parse_cursor(after)?;
                    qb.push(" AND id < ").push_bind(id);
                }
                qb.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(fetch_limit(page));
                qb.build_query_as().fetch_all(&mut *tx).await?
            }
        };
        tx.commit().await?;

        let mut rows = entries
            .into_iter()
            .map(audit_from)
            .collect::<Result<Vec<_>, _>>()?;
        for row in calls {
            let (id, event) = usage_from(row)?;
            if let Some(entry) = event.audit_entry()? {
                rows.push((id, entry));
            }
        }
        rows.sort_by(|(a_id, a), (b_id, b)| (b.at_ms, b_id).cmp(&(a.at_ms, a_id)));
        Ok(page_of(rows, page, |e| e.at_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_into_full_statements_then_powers_of_two() {
        let sizes = |n: usize| {
            let rows = vec![0u8; n];
            insert_chunks(&rows).map(<[u8]>::len).collect::<Vec<_>>()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(7), [4, 2, 1]);
        assert_eq!(sizes(500), [500]);
        assert_eq!(sizes(1203), [500, 500, 128, 64, 8, 2, 1]);
    }
}
