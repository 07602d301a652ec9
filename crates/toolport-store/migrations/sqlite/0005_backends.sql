-- Toolport store, version 5: APIs and MCP servers that tenants register through the admin API
-- (the configuration file's own stay in the file). Portable like the earlier versions (TEXT ids,
-- BIGINT Unix seconds, CHECK constraints), so the PostgreSQL migration can stay a near copy.
--
-- A registration is private to its tenant; its name is unique within the tenant only. The
-- definition is the JSON of one `apis` or `mcpServers` entry as the tenant wrote it: credentials
-- in it are `${secret:NAME}` references to the tenant's vault, never values. An API's
-- description, when uploaded rather than fetched from a URL, is kept beside it.

CREATE TABLE backends (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('api', 'server')),
    name        TEXT    NOT NULL,
    definition  TEXT    NOT NULL,
    document    TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (tenant_id, name)
);
