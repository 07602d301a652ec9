-- Toolport store, version 3: virtual MCP endpoints (`/mcp/{slug}`) owned by tenants, and the tools
-- each one exposes. Portable like versions 1 and 2 (TEXT ids, BIGINT Unix seconds, CHECK
-- constraints, a 0/1 BIGINT for the flag), so the PostgreSQL migration can stay a near copy.
--
-- The slug is unique across the whole gateway, not per tenant: it is a URL path segment.
-- A selected tool names its backend and the backend's own tool name by text, not by reference:
-- backends live in the configuration file, not in this database, and a selection may outlive a
-- backend that is removed and added back.

CREATE TABLE endpoints (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slug         TEXT    NOT NULL UNIQUE,
    description  TEXT    NOT NULL,
    mode         TEXT    NOT NULL CHECK (mode IN ('tools', 'dispatch', 'search')),
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
-- A tenant's endpoints by slug (the list's order and cursor).
CREATE INDEX endpoints_by_tenant ON endpoints (tenant_id, slug);

CREATE TABLE endpoint_tools (
    endpoint_id   TEXT    NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    -- The name clients see, unique within the endpoint.
    exposed_name  TEXT    NOT NULL,
    -- The backend (a server or API of the configuration) and its own name for the tool.
    upstream      TEXT    NOT NULL,
    tool          TEXT    NOT NULL,
    -- Replaces the backend's description when set.
    description   TEXT,
    visible       BIGINT  NOT NULL CHECK (visible IN (0, 1)),
    PRIMARY KEY (endpoint_id, exposed_name)
);
