//! Era bridging of results: what a client of one revision must see when the backend that produced
//! a result speaks another.
//!
//! Older clients ignore members they do not know, so results only ever gain members here; nothing
//! a backend sent is removed.

use serde_json::{Value, json};

use crate::version::ProtocolVersion;

/// How long a 2026-07-28 client may cache a result when the backend gave no hint. Stateless
/// clients learn of changes only through `subscriptions/listen`, so the hint is short.
pub const DEFAULT_LIST_TTL_MS: u64 = 60_000;

/// Methods whose 2026-07-28 results carry cache hints (`ttlMs`, `cacheScope`).
pub fn is_cacheable_method(method: &str) -> bool {
    matches!(
        method,
        "tools/list"
            | "prompts/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "server/discover"
    )
}

/// Rewrites a result of `method` for a client speaking `client`. `cache_scope` is `"public"` when
/// every user of the endpoint sees the same result, `"private"` otherwise.
pub fn adapt_result(client: ProtocolVersion, method: &str, result: &mut Value, cache_scope: &str) {
    if !client.is_stateless() {
        return;
    }
    let Some(obj) = result.as_object_mut() else {
        return;
    };
    obj.entry("resultType").or_insert_with(|| json!("complete"));
    if is_cacheable_method(method) {
        obj.entry("ttlMs")
            .or_insert_with(|| json!(DEFAULT_LIST_TTL_MS));
        obj.entry("cacheScope")
            .or_insert_with(|| json!(cache_scope));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modern_clients_get_result_type_and_cache_hints() {
        let mut r = json!({"tools": []});
        adapt_result(
            ProtocolVersion::V2026_07_28,
            "tools/list",
            &mut r,
            "private",
        );
        assert_eq!(r["resultType"], "complete");
        assert_eq!(r["ttlMs"], DEFAULT_LIST_TTL_MS);
        assert_eq!(r["cacheScope"], "private");
    }

    #[test]
    fn backend_values_win_and_old_clients_are_untouched() {
        let mut r = json!({"resultType": "input_required"});
        adapt_result(ProtocolVersion::V2026_07_28, "tools/call", &mut r, "public");
        assert_eq!(r, json!({"resultType": "input_required"}));
        let mut old = json!({"tools": []});
        adapt_result(
            ProtocolVersion::V2025_06_18,
            "tools/list",
            &mut old,
            "public",
        );
        assert_eq!(old, json!({"tools": []}));
    }
}
