//! `_meta` keys and the few helpers that read or rewrite them on requests and results.

use serde_json::{Map, Value};

/// 2026-07-28: the revision a stateless request speaks.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// 2026-07-28: the client's capabilities, carried by every stateless request.
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// 2026-07-28: optional client identification on stateless requests.
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// 2026-07-28: server identification in `server/discover` results.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// The `_meta` object of a params or result value, if there is one.
pub fn get(value: &Value) -> Option<&Map<String, Value>> {
    value.get("_meta")?.as_object()
}

/// The `_meta` object of a params or result value, created when absent. `None` when the value is
/// not an object.
pub fn get_mut(value: &mut Value) -> Option<&mut Map<String, Value>> {
    let obj = value.as_object_mut()?;
    let meta = obj
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
}

/// The progress token a request asked for, if any.
pub fn progress_token(params: Option<&Value>) -> Option<&Value> {
    params.and_then(get)?.get("progressToken")
}

/// The protocol revision a stateless request declares in `_meta`.
pub fn declared_version(params: Option<&Value>) -> Option<&str> {
    params.and_then(get)?.get(PROTOCOL_VERSION_KEY)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_mut_creates_and_repairs_meta() {
        let mut v = json!({"a": 1});
        get_mut(&mut v).unwrap().insert("x".into(), json!(1));
        assert_eq!(v, json!({"a": 1, "_meta": {"x": 1}}));
        let mut bad = json!({"_meta": 3});
        get_mut(&mut bad).unwrap();
        assert_eq!(bad, json!({"_meta": {}}));
        assert!(get_mut(&mut json!([1])).is_none());
    }

    #[test]
    fn reads_progress_token_and_version() {
        let p = json!({"_meta": {"progressToken": "t", PROTOCOL_VERSION_KEY: "2026-07-28"}});
        assert_eq!(progress_token(Some(&p)), Some(&json!("t")));
        assert_eq!(declared_version(Some(&p)), Some("2026-07-28"));
        assert_eq!(progress_token(None), None);
    }
}
