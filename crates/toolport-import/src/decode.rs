//! Bytes to a JSON value: UTF-8 checks (BOM accepted), JSON with line/column errors, YAML converted to JSON.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::ImportError;
use crate::path_items::PathItems;

/// The text of a document once its bytes are known to be UTF-8 (a leading BOM removed).
pub fn text(input: &[u8]) -> Result<&str, ImportError> {
    let bytes = input.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(input);
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            if s.trim().is_empty() {
                Err(ImportError::Empty)
            } else {
                Ok(s)
            }
        }
        Err(e) => {
            let at = e.valid_up_to();
            let bom = input.len() - bytes.len();
            Err(ImportError::InvalidUtf8 {
                offset: at + bom,
                byte: bytes.get(at).copied().unwrap_or(0),
            })
        }
    }
}

/// True when the text is JSON (its first significant character opens an object or array).
pub fn looks_like_json(text: &str) -> bool {
    matches!(text.trim_start().chars().next(), Some('{') | Some('['))
}

/// Parses JSON, reporting syntax errors with line and column.
pub fn parse_json(text: &str) -> Result<Value, ImportError> {
    serde_json::from_str(text).map_err(|e| ImportError::InvalidJson {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

/// Parses a JSON document like [`parse_json`], except that an object-valued top-level `paths` stays raw
/// text: its path items are returned apart and the root holds `"paths": null` in their place.
pub fn parse_json_lean(text: &str) -> Result<(Value, PathItems<'_>), ImportError> {
    match split_paths(text) {
        Some(parsed) => Ok(parsed),
        // Not an object, or not valid JSON: the whole parse gives the value or the error with its position.
        None => parse_json(text).map(|v| (v, PathItems::default())),
    }
}

fn split_paths(text: &str) -> Option<(Value, PathItems<'_>)> {
    let Members(members) = serde_json::from_str(text).ok()?;
    let mut root = Map::with_capacity(members.len());
    let mut items = PathItems::default();
    for (key, raw) in members {
        if key == "paths" && raw.get().starts_with('{') {
            let Members(paths) = serde_json::from_str(raw.get()).ok()?;
            items = PathItems::raw(text, paths);
            root.insert(key, Value::Null);
        } else {
            root.insert(key, serde_json::from_str(raw.get()).ok()?);
        }
    }
    Some((Value::Object(root), items))
}

/// An object's members as raw text, in document order; a repeated key keeps its first position and its
/// last value, as `serde_json::Map` does.
struct Members<'t>(Vec<(String, &'t RawValue)>);

impl<'de: 't, 't> Deserialize<'de> for Members<'t> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor(std::marker::PhantomData))
    }
}

struct MembersVisitor<'t>(std::marker::PhantomData<&'t ()>);

impl<'de: 't, 't> Visitor<'de> for MembersVisitor<'t> {
    type Value = Members<'t>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'t>, A::Error> {
        let mut members: Vec<(String, &'t RawValue)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: &'de RawValue = map.next_value()?;
            match index.get(&key) {
                Some(&i) => members[i].1 = value,
                None => {
                    index.insert(key.clone(), members.len());
                    members.push((key, value));
                }
            }
        }
        Ok(Members(members))
    }
}

/// Parses YAML (merge keys applied, non-string keys stringified) into a JSON value.
pub fn parse_yaml(text: &str) -> Result<Value, ImportError> {
    let mut value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        ImportError::InvalidYaml {
            line,
            column,
            message: strip_position(&e.to_string()),
        }
    })?;
    value.apply_merge().map_err(|e| ImportError::InvalidYaml {
        line: 0,
        column: 0,
        message: e.to_string(),
    })?;
    Ok(yaml_to_json(value))
}

/// Parses JSON or YAML, chosen by the first significant character.
pub fn parse_structured(text: &str) -> Result<Value, ImportError> {
    if looks_like_json(text) {
        parse_json(text)
    } else {
        parse_yaml(text)
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn yaml_to_json(value: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(key_string(k), yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn key_string(key: serde_norway::Value) -> String {
    use serde_norway::Value as Y;
    match key {
        Y::String(s) => s,
        Y::Bool(b) => b.to_string(),
        Y::Number(n) => n.to_string(),
        Y::Null => "null".to_string(),
        other => serde_json::to_string(&yaml_to_json(other)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_accepted_and_latin2_refused_with_offset() {
        assert_eq!(
            text(b"\xEF\xBB\xBFopenapi: 3.0.0").ok(),
            Some("openapi: 3.0.0")
        );
        let err = text(b"title: Ma\xB3a")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("byte offset 9"), "{err}");
        assert!(err.contains("0xb3"), "{err}");
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = parse_json("{\n  \"a\": 1,\n  \"b\" 2\n}")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("column"), "{err}");
    }

    #[test]
    fn yaml_integer_keys_become_strings_and_merges_apply() {
        let v = parse_yaml(
            "responses:\n  200: {description: ok}\nbase: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
        )
        .unwrap_or_default();
        assert_eq!(v["responses"]["200"]["description"], "ok");
        assert_eq!(v["derived"]["x"], 1);
        assert_eq!(v["derived"]["y"], 2);
    }
}
