-- Toolport store, version 4: users' own secrets within a tenant (per-user credentials).
-- Version 3 belongs to another change (endpoints); the runner applies versions in order and does
-- not need them contiguous.
--
-- Sealed text only, like `secrets`: the vault seals a user secret under the tenant's key with the
-- name `user/<user id>/<name>` as associated data, so a value copied to another user's (or
-- tenant's) row does not open. Leaving a tenant (or being deleted) removes a user's secrets there.

CREATE TABLE user_secrets (
    tenant_id   TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    sealed      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, user_id, name),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
