//! Tool and property names: sanitised to `^[a-zA-Z0-9_-]{1,64}$`, unique, deterministic (hash suffix when shortened).

use std::collections::HashSet;

use sha2::{Digest, Sha256};

/// Longest tool name the common clients accept.
pub const MAX_NAME: usize = 64;

/// Replaces every character outside `[A-Za-z0-9_-]` (and `.` when `allow_dot`) by `_`,
/// collapses runs of `_`, trims `_` at both ends.
pub fn sanitize(raw: &str, allow_dot: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '-' || c == '_' || (allow_dot && c == '.');
        let c = if ok { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out.trim_matches('_').to_string()
}

/// Shortens `name` to `max` characters, keeping it distinct with an 8-hex-digit hash of `full`.
pub fn shorten(name: &str, full: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let digest = Sha256::digest(full.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    // `name` is ASCII after sanitize, so byte slicing is on char boundaries.
    let keep = max.saturating_sub(hex.len() + 1);
    let head = name.get(..keep).unwrap_or(name).trim_end_matches('_');
    format!("{head}_{hex}")
}

/// Hands out unique names in call order: `x`, `x_2`, `x_3`, ...
#[derive(Debug, Default)]
pub struct Namer {
    taken: HashSet<String>,
    max: usize,
    allow_dot: bool,
}

impl Namer {
    /// A namer for tool names (`^[a-zA-Z0-9_-]{1,64}$`).
    pub fn tools() -> Self {
        Namer {
            taken: HashSet::new(),
            max: MAX_NAME,
            allow_dot: false,
        }
    }

    /// A namer for `inputSchema` property keys (`^[a-zA-Z0-9_.-]{1,64}$`).
    pub fn properties() -> Self {
        Namer {
            taken: HashSet::new(),
            max: MAX_NAME,
            allow_dot: true,
        }
    }

    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(name)
    }

    /// A unique name derived from `preferred`; `fallback` is used when `preferred` sanitises to nothing.
    pub fn claim(&mut self, preferred: &str, fallback: &str) -> String {
        let mut base = sanitize(preferred, self.allow_dot);
        let mut full = preferred;
        if base.is_empty() {
            base = sanitize(fallback, self.allow_dot);
            full = fallback;
        }
        if base.is_empty() {
            base = "unnamed".to_string();
        }
        let base = shorten(&base, full, self.max);
        if self.taken.insert(base.clone()) {
            return base;
        }
        for n in 2usize.. {
            let suffix = format!("_{n}");
            let head_len = self.max.saturating_sub(suffix.len()).min(base.len());
            let candidate = format!("{}{suffix}", base.get(..head_len).unwrap_or(&base));
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
        }
        base
    }
}

/// `get /pets/{petId}` -> `get_pets_petId`.
pub fn method_path_name(method: &str, path: &str) -> String {
    format!("{}_{}", method.to_ascii_lowercase(), path)
}

/// True when `name` satisfies `^[a-zA-Z0-9_-]{1,64}$`.
pub fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_and_deduplicates() {
        let mut n = Namer::tools();
        assert_eq!(n.claim("repos/get-content", ""), "repos_get-content");
        assert_eq!(n.claim("repos/get-content", ""), "repos_get-content_2");
        assert_eq!(n.claim("", "get /pets/{petId}"), "get_pets_petId");
        assert_eq!(n.claim("ééé", "post /x"), "post_x");
    }

    #[test]
    fn long_names_get_a_stable_hash_suffix() {
        let long = "a".repeat(80);
        let mut n1 = Namer::tools();
        let mut n2 = Namer::tools();
        let a = n1.claim(&long, "");
        assert_eq!(a, n2.claim(&long, ""));
        assert!(a.len() <= MAX_NAME && is_valid_tool_name(&a), "{a}");
        let other = format!("{}b", "a".repeat(79));
        assert_ne!(a, n1.claim(&other, ""));
        let p1 = n1.claim("", &format!("get /{}/x", "p".repeat(70)));
        let p2 = n1.claim("", &format!("get /{}/y", "p".repeat(70)));
        assert_ne!(
            p1.get(56..),
            p2.get(56..),
            "hash suffixes must differ: {p1} {p2}"
        );
    }
}
