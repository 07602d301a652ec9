//! [`Redactor`]: what an audit entry's detail may keep. Values under sensitive key names are
//! replaced at any depth, and long strings are cut, before anything is queued or stored: in place
//! for an entry's detail, or while writing a tool call's arguments as JSON text (the hot path: the
//! caller's arguments are read once, never copied).

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
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

    /// `value` redacted like [`Redactor::redact`] does, written as compact JSON text.
    pub fn redacted_json(&self, value: &Value) -> String {
        let redacted = Redacted {
            redactor: self,
            value,
        };
        // Writing a `Value` (whose map keys are strings) to a `String` cannot fail.
        serde_json::to_string(&redacted).unwrap_or_else(|_| "null".to_owned())
    }

    fn cut(&self, text: &mut String) {
        if let Some(cut) = self.cut_text(text) {
            *text = cut;
        }
    }

    /// `text` cut to the longest string kept whole, at a character boundary, and marked; `None`
    /// when it is not longer than that.
    fn cut_text(&self, text: &str) -> Option<String> {
        if text.len() <= self.max_string_bytes {
            return None;
        }
        let mut end = self.max_string_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let removed = text.len() - end;
        Some(format!("{}…[truncated {removed} bytes]", &text[..end]))
    }
}

/// A value as [`Redactor::redact`] would leave it, serialised without changing (or copying) it.
struct Redacted<'a> {
    redactor: &'a Redactor,
    value: &'a Value,
}

impl Redacted<'_> {
    fn of<'v>(&'v self, value: &'v Value) -> Redacted<'v> {
        Redacted {
            redactor: self.redactor,
            value,
        }
    }
}

impl Serialize for Redacted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, item) in map {
                    if self.redactor.is_sensitive(key) {
                        out.serialize_entry(key, REDACTED)?;
                    } else {
                        out.serialize_entry(key, &self.of(item))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&self.of(item))?;
                }
                out.end()
            }
            Value::String(text) => match self.redactor.cut_text(text) {
                Some(cut) => serializer.serialize_str(&cut),
                None => serializer.serialize_str(text),
            },
            Value::Null | Value::Bool(_) | Value::Number(_) => self.value.serialize(serializer),
        }
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
    fn redacted_json_is_the_text_of_the_redacted_value() {
        let redactor = Redactor::new(&RedactionConfig {
            max_string_bytes: 6,
            ..RedactionConfig::default()
        });
        let value = json!({
            "query": "rust lang",
            "nested": [{"apiKey": {"a": 1}, "n": 1.5}, "short", null, false],
            "Cookie": "c=1",
            "wide": "éééé",
            "empty": {}
        });
        let mut in_place = value.clone();
        redactor.redact(&mut in_place);
        let text = redactor.redacted_json(&value);
        assert_eq!(text, serde_json::to_string(&in_place).unwrap());
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({
                "query": "rust l…[truncated 3 bytes]",
                "nested": [{"apiKey": REDACTED, "n": 1.5}, "short", null, false],
                "Cookie": REDACTED,
                "wide": "ééé…[truncated 2 bytes]",
                "empty": {}
            })
        );
        assert_eq!(redactor.redacted_json(&Value::Null), "null");
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
