-- Toolport store, version 2: usage events (metering, quotas, billing) and the audit log.
-- Portable like version 1 (TEXT ids, BIGINT times, CHECK constraints); the queries on these tables
-- use row-value comparisons for their cursors, which SQLite and PostgreSQL both have.
--
-- Times here are Unix *milliseconds*, UTC (`at_ms`), unlike version 1's seconds: thousands of calls
-- share a second, and both lists are ordered newest first by (at_ms, id), so the finer clock keeps
-- that order close to the order things happened. Filters taking seconds compare with `s * 1000`.
-- Ids are made by the store: 12 hex digits of `at_ms` then a 16-hex-digit sequence, so new rows
-- append to the primary key's index rather than land at random places in it (as UUIDs would).
--
-- Deliberately no foreign key to `tenants`, `users` or `api_tokens`: usage and audit records are
-- history (billing, investigations). They must outlive a deleted tenant, user or token, and they
-- are also written for the gateway's configuration-file administrator, who has no `tenants` row.

CREATE TABLE usage_events (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL,
    user_id         TEXT,
    token_id        TEXT,
    endpoint        TEXT,
    tool            TEXT    NOT NULL,
    upstream        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('ok', 'error', 'rejected')),
    latency_ms      BIGINT  NOT NULL CHECK (latency_ms >= 0),
    request_bytes   BIGINT  NOT NULL CHECK (request_bytes >= 0),
    response_bytes  BIGINT  NOT NULL CHECK (response_bytes >= 0),
    at_ms           BIGINT  NOT NULL
);
-- A tenant's history newest first, summaries over a time range, the month's call count.
CREATE INDEX usage_events_by_tenant ON usage_events (tenant_id, at_ms, id);
-- History filtered by tool or by endpoint.
CREATE INDEX usage_events_by_tool ON usage_events (tenant_id, tool, at_ms, id);
CREATE INDEX usage_events_by_endpoint ON usage_events (tenant_id, endpoint, at_ms, id);

-- `detail` is JSON text, redacted by the writer (toolport-metering's `Redactor`) before it gets here.
CREATE TABLE audit_log (
    id              TEXT    NOT NULL PRIMARY KEY,
    at_ms           BIGINT  NOT NULL,
    tenant_id       TEXT,
    actor_user_id   TEXT,
    actor_token_id  TEXT,
    action          TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'error'))
);
-- One tenant's log newest first.
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, at_ms, id);
-- The whole gateway's log newest first (the operator's view).
CREATE INDEX audit_log_by_time ON audit_log (at_ms, id);
