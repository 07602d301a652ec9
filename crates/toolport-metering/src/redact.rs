//! [`Redactor`]: what an audit entry's detail may keep. Values under sensitive key names are
//! replaced at any depth, and long strings are cut, before anything is queued or stored.

use serde::Deserialize;
use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The key-name patterns redacted unless configured otherwise.
pub const DEFAULT_KEY_PATTERNS: &[&str] = &[
    "*password*",
    "*passwd*",
    "*secret*",
    "*token*",
    "authorization",
    "cookie",
    "*credential*",
    "*key*",
];

/// The longest string kept whole unless configured otherwise, in bytes.
pub const DEFAULT_MAX_STRING_BYTES: usize = 1024;

/// The redaction rule, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RedactionConfig {
    /// Key-name globs whose values are replaced by [`REDACTED`]: `*` matches any run of
    /// characters, `?` one; ASCII letters match regardless of case.
    pub key_patterns: Vec<String>,
    /// Strings longer than this (in bytes) are cut to it, at a character boundary, and marked.
    pub max_string_bytes: usize,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        Self {
            key_patterns: DEFAULT_KEY_PATTERNS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
        }
    }
}

/// Applies a [`RedactionConfig`] to JSON values.
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<String>,
    max_string_bytes: usize,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(&RedactionConfig::default())
    }
}

impl Redactor {
    /// A redactor for this rule.
    pub fn new(config: &RedactionConfig) -> Self {
        Self {
            patterns: config.key_patterns.clone(),
            max_string_bytes: config.max_string_bytes,
        }
    }

    /// Whether a key's value is redacted.
    pub fn is_sensitive(&self, key: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| glob_matches(p.as_bytes(), key.as_bytes()))
    }

    /// Redacts `value` in place: sensitive keys' values (whatever their type) become [`REDACTED`],
    /// long strings are cut, at any depth.
    pub fn redact(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if self.is_sensitive(key) {
                        *item = Value::String(REDACTED.to_owned());
                    } else {
                        self.redact(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact(item)),
            Value::String(text) => self.cut(text),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn cut(&self, text: &mut String) {
        if text.len() <= self.max_string_bytes {
            return;
        }
        let mut end = self.max_string_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let removed = text.len() - end;
        text.truncate(end);
        text.push_str(&format!("…[truncated {removed} bytes]"));
    }
}

/// Glob match with `*` (any run) and `?` (one byte), ASCII case-insensitive; linear-time with one
/// backtracking point (the last `*`).
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more byte and try again from there.
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn globs_match_case_insensitively() {
        let m = |p: &str, t: &str| glob_matches(p.as_bytes(), t.as_bytes());
        assert!(m("*password*", "db_PASSWORD"));
        assert!(m("*password*", "password"));
        assert!(m("authorization", "Authorization"));
        assert!(!m("authorization", "authorization_url"));
        assert!(m("*key*", "apiKey"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b*", "xxbxxaxx"));
        assert!(m("*", ""));
        assert!(!m("", "x"));
        assert!(m("**token", "my_token"));
    }

    #[test]
    fn sensitive_values_are_replaced_at_any_depth() {
        let redactor = Redactor::default();
        let mut value = json!({
            "query": "rust",
            "Authorization": "Bearer abc",
            "nested": {
                "list": [{"api_key": "k-1", "name": "ok"}, {"client_secret": {"deep": "s"}}],
                "refresh_token": 42,
                "keep": [1, true, null]
            },
            "PASSWORD": ["a", "b"]
        });
        redactor.redact(&mut value);
        assert_eq!(
            value,
            json!({
                "query": "rust",
                "Authorization": REDACTED,
                "nested": {
                    "list": [{"api_key": REDACTED, "name": "ok"}, {"client_secret": REDACTED}],
                    "refresh_token": REDACTED,
                    "keep": [1, true, null]
                },
                "PASSWORD": REDACTED
            })
        );
    }

    #[test]
    fn long_strings_are_cut_at_a_character_boundary() {
        let redactor = Redactor::new(&RedactionConfig {
            key_patterns: Vec::new(),
            max_string_bytes: 5,
        });
        let mut value =
            json!({"short": "abcde", "long": "abcdefgh", "wide": "ééé", "items": ["123456"]});
        redactor.redact(&mut value);
        assert_eq!(value["short"], "abcde");
        assert_eq!(value["long"], "abcde…[truncated 3 bytes]");
        // "ééé" is 6 bytes; byte 5 is inside the third "é", so the cut is at 4.
        assert_eq!(value["wide"], "éé…[truncated 2 bytes]");
        assert_eq!(value["items"][0], "12345…[truncated 1 bytes]");
    }

    #[test]
    fn the_rule_is_configurable() {
        let config: RedactionConfig =
            serde_json::from_value(json!({"keyPatterns": ["ssn", "x-*"]})).unwrap();
        assert_eq!(config.max_string_bytes, DEFAULT_MAX_STRING_BYTES);
        let redactor = Redactor::new(&config);
        let mut value = json!({"SSN": "123", "x-api": "v", "password": "kept: not configured"});
        redactor.redact(&mut value);
        assert_eq!(
            value,
            json!({"SSN": REDACTED, "x-api": REDACTED, "password": "kept: not configured"})
        );
        assert!(serde_json::from_value::<RedactionConfig>(json!({"keys": []})).is_err());
    }
}
