-- Toolport store, version 1: tenants, users, memberships, API tokens, sealed secrets, vault key check.
-- Portable on purpose (TEXT ids, BIGINT Unix seconds, CHECK constraints), so that the PostgreSQL
-- migrations can stay a near copy. Timestamps are Unix seconds, UTC.

CREATE TABLE tenants (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    plan        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE users (
    id          TEXT    NOT NULL PRIMARY KEY,
    email       TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE memberships (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

-- Only the SHA-256 of a token is kept (hex); the token itself is shown once, at creation.
CREATE TABLE api_tokens (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    scopes        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id, id);

-- Sealed text only (`tpv1:<key id>:<payload>` from toolport-vault); never a plaintext.
CREATE TABLE secrets (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    sealed      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- At most one row: the vault's key check value, verified at every start.
CREATE TABLE vault_key_check (
    id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    sealed      TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);
