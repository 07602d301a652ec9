-- Toolport store, version 6: a tool call's audit entry lives in its usage row.
--
-- Until version 5 the call gate wrote two rows per tool call, a usage event and an audit entry,
-- and each updated two or three indexes: the store's writes were the largest part of what the
-- gate cost a call. Everything an audit entry of a call holds but its arguments and a note is in
-- the usage row already, so the row now keeps those two as well, and the audit log lists usage
-- rows that have `arguments` as `tool.call` entries, beside `audit_log`'s rows (administrative
-- changes, and tool calls recorded before this version, which stay where they are).
--
-- `arguments` is JSON text, redacted by the writer like `audit_log.detail`; NULL for usage that
-- is not audited. Both columns are NULL in rows written before this version.
ALTER TABLE usage_events ADD COLUMN arguments TEXT;
ALTER TABLE usage_events ADD COLUMN note TEXT;

-- Every query on usage names its tenant, newest first: `usage_events_by_tenant` serves them all,
-- a history filtered by tool or endpoint included (it walks the tenant's rows newest first and
-- skips the others, which a time range bounds). The tool and endpoint indexes cost every call two
-- index updates for those filters alone. The gateway-wide audit list walks the primary key: ids
-- begin with their row's `at_ms` (12 hex digits), so their order is that of (at_ms, id).
DROP INDEX usage_events_by_tool;
DROP INDEX usage_events_by_endpoint;
