//! Namespacing on aggregated endpoints: tool and prompt names become `{prefix}__{name}` within
//! `^[a-zA-Z0-9_-]{1,64}$`, and resource URIs become `{alias}+{uri}`; both are reversible.
//!
//! Names that do not fit are sanitised and, when too long, shortened with a hash suffix. The
//! result is deterministic (same input, same name), so clients can cache it; the reverse mapping of
//! changed names is kept by the backend's view.

use sha2::{Digest, Sha256};

pub const SEPARATOR: &str = "__";
pub const MAX_NAME: usize = 64;
const HASH_LEN: usize = 8;

pub fn is_client_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The exposed name of `name` from the server whose namespace is `prefix`.
pub fn namespaced(prefix: &str, name: &str) -> String {
    let raw = format!("{prefix}{SEPARATOR}{name}");
    if is_client_safe(&raw) {
        return raw;
    }
    let mut safe: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let changed = safe != raw;
    if safe.len() > MAX_NAME || changed {
        let digest = Sha256::digest(raw.as_bytes());
        let hash: String = digest
            .iter()
            .take(HASH_LEN / 2)
            .map(|b| format!("{b:02x}"))
            .collect();
        safe.truncate(MAX_NAME - HASH_LEN - 1);
        safe.push('-');
        safe.push_str(&hash);
    }
    safe
}

/// Splits an exposed name into the namespace and the rest, at the first separator.
pub fn split(exposed: &str) -> Option<(&str, &str)> {
    exposed.split_once(SEPARATOR)
}

/// The resource namespace of a prefix: a string valid at the start of a URI scheme.
pub fn uri_alias(prefix: &str) -> String {
    prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

pub fn wrap_uri(alias: &str, uri: &str) -> String {
    format!("{alias}+{uri}")
}

/// Splits a wrapped URI into alias and original URI.
pub fn unwrap_uri(uri: &str) -> Option<(&str, &str)> {
    uri.split_once('+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_prefixed() {
        assert_eq!(namespaced("fs", "read_file"), "fs__read_file");
        assert_eq!(split("fs__read_file"), Some(("fs", "read_file")));
        assert_eq!(split("fs__read__file"), Some(("fs", "read__file")));
    }

    #[test]
    fn long_and_odd_names_are_shortened_deterministically() {
        let long = "x".repeat(80);
        let a = namespaced("server", &long);
        assert!(is_client_safe(&a), "{a}");
        assert_eq!(a, namespaced("server", &long));
        assert_ne!(a, namespaced("server", &"x".repeat(81)));
        let dotted = namespaced("s", "get.user");
        assert!(is_client_safe(&dotted));
        assert_ne!(dotted, namespaced("s", "get_user"));
        assert!(dotted.starts_with("s__get_user-"));
    }

    #[test]
    fn uris_round_trip() {
        let alias = uri_alias("My_Server");
        assert_eq!(alias, "my-server");
        let wrapped = wrap_uri(&alias, "test://static/a+b");
        assert_eq!(
            unwrap_uri(&wrapped),
            Some(("my-server", "test://static/a+b"))
        );
    }
}
