//! Keyword-level fixes so every schema we emit is valid JSON Schema 2020-12 (OpenAPI 3.0 and Swagger
//! dialect features translated, malformed keyword values dropped).

use serde_json::{Map, Number, Value};

const TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Repairs the keywords of one schema object in place (sub-schemas are handled by the builder).
pub fn fix(out: &mut Map<String, Value>) {
    fix_type(out);
    for k in [
        "title",
        "description",
        "pattern",
        "format",
        "$comment",
        "contentMediaType",
        "contentEncoding",
    ] {
        if out.get(k).is_some_and(|v| !v.is_string()) {
            out.remove(k);
        }
    }
    for k in [
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "minContains",
        "maxContains",
    ] {
        if let Some(v) = out.get(k) {
            match as_count(v) {
                Some(n) => {
                    out.insert(k.to_string(), Value::from(n));
                }
                None => {
                    out.remove(k);
                }
            }
        }
    }
    translate_exclusive(out, "exclusiveMinimum", "minimum");
    translate_exclusive(out, "exclusiveMaximum", "maximum");
    for k in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
        if let Some(v) = out.get(k) {
            match as_number(v) {
                Some(n) => {
                    out.insert(k.to_string(), Value::Number(n));
                }
                None => {
                    out.remove(k);
                }
            }
        }
    }
    if let Some(v) = out.get("multipleOf") {
        match as_number(v).filter(|n| n.as_f64().is_some_and(|f| f > 0.0)) {
            Some(n) => {
                out.insert("multipleOf".to_string(), Value::Number(n));
            }
            None => {
                out.remove("multipleOf");
            }
        }
    }
    for k in ["uniqueItems", "readOnly", "writeOnly", "deprecated"] {
        if out.get(k).is_some_and(|v| !v.is_boolean()) {
            out.remove(k);
        }
    }
    for k in ["enum", "examples"] {
        if out.get(k).is_some_and(|v| !v.is_array()) {
            out.remove(k);
        }
    }
    if let Some(Value::Array(e)) = out.get("enum")
        && e.is_empty()
    {
        out.remove("enum");
    }
    fix_required(out);
    if let Some(v) = out.get("dependentRequired")
        && !v.as_object().is_some_and(|m| {
            m.values()
                .all(|a| a.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
        })
    {
        out.remove("dependentRequired");
    }
    // Keywords that would change how references resolve inside our self-contained output.
    for k in [
        "$id",
        "$schema",
        "$anchor",
        "$dynamicAnchor",
        "$dynamicRef",
        "$recursiveRef",
        "$recursiveAnchor",
        "$vocabulary",
        "id",
    ] {
        if k == "id"
            && !out.get(k).is_some_and(|v| {
                v.as_str()
                    .is_some_and(|s| s.starts_with('#') || s.contains("://"))
            })
        {
            continue;
        }
        out.remove(k);
    }
}

/// `nullable: true` (OpenAPI 3.0) and `x-nullable: true` (Swagger) to a `null` type.
pub fn translate_nullable(out: &mut Map<String, Value>) -> bool {
    let nullable = [out.remove("nullable"), out.remove("x-nullable")]
        .iter()
        .any(|v| v.as_ref().and_then(Value::as_bool) == Some(true));
    if !nullable {
        return false;
    }
    match out.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            if t != "null" {
                out.insert(
                    "type".to_string(),
                    Value::Array(vec![Value::String(t), Value::from("null")]),
                );
            }
        }
        Some(Value::Array(a)) => {
            if !a.iter().any(|v| v == "null") {
                a.push(Value::from("null"));
            }
        }
        _ => {
            return out.contains_key("$ref")
                || out.contains_key("allOf")
                || out.contains_key("oneOf")
                || out.contains_key("anyOf");
        }
    }
    if let Some(Value::Array(e)) = out.get_mut("enum")
        && !e.iter().any(Value::is_null)
    {
        e.push(Value::Null);
    }
    false
}

fn fix_type(out: &mut Map<String, Value>) {
    let Some(t) = out.get("type") else { return };
    let fixed = match t {
        Value::String(s) => fix_type_name(s, out).map(Value::from),
        Value::Array(a) => {
            let mut names: Vec<Value> = Vec::new();
            for v in a {
                if let Some(n) = v.as_str().and_then(|s| fix_type_name(s, out))
                    && !names.iter().any(|x| x == n)
                {
                    names.push(Value::from(n));
                }
            }
            if names.is_empty() {
                None
            } else {
                Some(Value::Array(names))
            }
        }
        _ => None,
    };
    let is_file = t.as_str() == Some("file");
    match fixed {
        Some(v) => {
            out.insert("type".to_string(), v);
        }
        None => {
            out.remove("type");
        }
    }
    if is_file {
        out.insert("format".to_string(), Value::from("binary"));
        out.entry("contentEncoding")
            .or_insert_with(|| Value::from("base64"));
    }
}

fn fix_type_name(s: &str, _out: &Map<String, Value>) -> Option<&'static str> {
    let lower = s.trim().to_ascii_lowercase();
    if lower == "file" {
        return Some("string");
    }
    TYPES.iter().find(|t| **t == lower).copied()
}

fn fix_required(out: &mut Map<String, Value>) {
    let Some(v) = out.get("required") else { return };
    match v {
        Value::Array(a) => {
            let mut seen: Vec<Value> = Vec::with_capacity(a.len());
            for x in a {
                if x.is_string() && !seen.contains(x) {
                    seen.push(x.clone());
                }
            }
            out.insert("required".to_string(), Value::Array(seen));
        }
        _ => {
            out.remove("required");
        }
    }
}

fn translate_exclusive(out: &mut Map<String, Value>, exclusive: &str, bound: &str) {
    match out.get(exclusive) {
        Some(Value::Bool(true)) => match out.remove(bound) {
            Some(b) => {
                out.insert(exclusive.to_string(), b);
            }
            None => {
                out.remove(exclusive);
            }
        },
        Some(Value::Bool(false)) => {
            out.remove(exclusive);
        }
        _ => {}
    }
}

fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 9.0e15)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .map(Number::from)
                .or_else(|| s.parse::<f64>().ok().and_then(Number::from_f64))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixed(v: Value) -> Value {
        let mut m = v.as_object().cloned().unwrap_or_default();
        translate_nullable(&mut m);
        fix(&mut m);
        Value::Object(m)
    }

    #[test]
    fn translates_openapi30_dialect() {
        assert_eq!(
            fixed(json!({"type": "string", "nullable": true})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            fixed(json!({"type": "string", "enum": ["a"], "nullable": true})),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
        assert_eq!(
            fixed(json!({"minimum": 1, "exclusiveMinimum": true})),
            json!({"exclusiveMinimum": 1})
        );
        assert_eq!(
            fixed(json!({"type": "file"})),
            json!({"type": "string", "format": "binary", "contentEncoding": "base64"})
        );
        assert_eq!(
            fixed(json!({"required": true, "minLength": "3", "examples": {"a": 1}})),
            json!({"minLength": 3})
        );
    }
}
