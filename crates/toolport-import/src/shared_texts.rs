//! Schema texts shared within one conversion: operations over the same models produce the same
//! `inputSchema`/`outputSchema` text, which is stored once and referenced by every tool that has it.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use serde_json::Value;

use crate::model::{JsonText, raw_text};

/// The distinct schema texts of one conversion so far.
#[derive(Debug, Default)]
pub struct SharedTexts {
    texts: HashSet<ByText>,
}

impl SharedTexts {
    /// The text of `value`, sharing the allocation of an identical text seen before.
    pub fn json(&mut self, value: &Value) -> JsonText {
        let raw = raw_text(value);
        if let Some(seen) = self.texts.get(raw.get()) {
            return seen.0.clone();
        }
        let text = JsonText::from_raw(raw);
        self.texts.insert(ByText(text.clone()));
        text
    }
}

/// A text compared and hashed by its content, so the set can be searched with a `&str`.
#[derive(Debug)]
struct ByText(JsonText);

impl PartialEq for ByText {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for ByText {}

impl Hash for ByText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state);
    }
}

impl Borrow<str> for ByText {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identical_texts_share_one_allocation() {
        let mut texts = SharedTexts::default();
        let a = texts.json(&json!({"type": "object", "properties": {"id": {"type": "integer"}}}));
        let b = texts.json(&json!({"type": "object", "properties": {"id": {"type": "integer"}}}));
        let c = texts.json(&json!({"type": "object"}));
        assert_eq!(a.as_str(), b.as_str());
        assert!(std::ptr::eq(a.as_str(), b.as_str()), "one allocation");
        assert!(!std::ptr::eq(a.as_str(), c.as_str()));
        assert_eq!(c.as_str(), r#"{"type":"object"}"#);
    }
}
