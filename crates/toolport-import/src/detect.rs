//! Which format a document is in: explicit, or detected from its top-level keys (or SDL text).

use serde_json::Value;

use crate::decode;
use crate::error::ImportError;
use crate::model::Format;
use crate::path_items::PathItems;

/// A parsed document and its format.
#[derive(Debug)]
pub enum Parsed<'t> {
    /// JSON or YAML content. The path items are apart (still raw text) only for OpenAPI documents in JSON.
    Structured(Format, Value, PathItems<'t>),
    /// GraphQL SDL text.
    Sdl(String),
}

/// Parses the text and decides its format (`forced` wins over detection).
/// `source` (the file name) counts too: a `.json` file is parsed as JSON whatever it starts with.
pub fn parse<'t>(
    text: &'t str,
    forced: Option<Format>,
    source: &str,
) -> Result<Parsed<'t>, ImportError> {
    let json_name = source.to_ascii_lowercase().ends_with(".json");
    if forced == Some(Format::Graphql) && !decode::looks_like_json(text) && !json_name {
        return Ok(Parsed::Sdl(text.to_string()));
    }
    let (mut value, paths) = if decode::looks_like_json(text) || json_name {
        decode::parse_json_lean(text)?
    } else if looks_like_sdl(text) {
        return Ok(Parsed::Sdl(text.to_string()));
    } else {
        match decode::parse_yaml(text) {
            Ok(v) if v.is_object() => (v, PathItems::default()),
            Ok(v) => {
                if looks_like_sdl(text) {
                    return Ok(Parsed::Sdl(text.to_string()));
                }
                return Err(ImportError::UnknownFormat {
                    found: describe(&v),
                });
            }
            Err(e) => {
                if looks_like_sdl(text) {
                    return Ok(Parsed::Sdl(text.to_string()));
                }
                return Err(e);
            }
        }
    };
    let format = match forced {
        Some(f) => f,
        None => detect(&value)?,
    };
    if format == Format::OpenApi {
        return Ok(Parsed::Structured(format, value, paths));
    }
    paths.restore(&mut value)?;
    Ok(Parsed::Structured(format, value, PathItems::default()))
}

/// Detects the format of a structured document.
pub fn detect(v: &Value) -> Result<Format, ImportError> {
    if let Some(ver) = v.get("openapi") {
        let s = version_string(ver);
        if s.starts_with("3.") {
            return Ok(Format::OpenApi);
        }
        return Err(ImportError::UnsupportedVersion {
            format: "OpenAPI",
            version: s,
            hint: "OpenAPI 3.0, 3.1 and 3.2 are supported",
        });
    }
    if let Some(ver) = v.get("swagger") {
        let s = version_string(ver);
        if s.starts_with('2') {
            return Ok(Format::Swagger);
        }
        return Err(ImportError::UnsupportedVersion {
            format: "Swagger",
            version: s,
            hint: "only Swagger 2.0 is supported; convert 1.x documents to OpenAPI first",
        });
    }
    if v.get("__schema").is_some() || v.pointer("/data/__schema").is_some() {
        return Ok(Format::Graphql);
    }
    if v.get("item").is_some() && v.get("info").is_some() {
        return Ok(Format::Postman);
    }
    if v.get("requests").is_some() && v.get("order").is_some()
        || v.get("requests").is_some() && v.get("folders").is_some()
    {
        return Err(ImportError::UnsupportedVersion {
            format: "Postman",
            version: "1.0".to_string(),
            hint: "Postman v1 collections are not supported; export the collection as v2.1 from Postman",
        });
    }
    Err(ImportError::UnknownFormat { found: describe(v) })
}

fn version_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().take(6).map(String::as_str).collect();
            format!("top-level keys: {}", keys.join(", "))
        }
        Value::Array(_) => "a JSON array".to_string(),
        Value::String(_) => "a plain string".to_string(),
        _ => "a scalar value".to_string(),
    }
}

/// SDL has definitions at column 0 (`type Query {`); YAML API descriptions have `openapi:`/`swagger:`/`info:` keys there.
fn looks_like_sdl(text: &str) -> bool {
    let yaml_api = text.lines().any(|l| {
        ["openapi:", "swagger:", "info:", "paths:", "item:"]
            .iter()
            .any(|k| l.starts_with(k))
    });
    !yaml_api
        && text.lines().any(|l| {
            [
                "type ",
                "schema ",
                "schema{",
                "interface ",
                "input ",
                "enum ",
                "scalar ",
                "union ",
                "directive ",
                "extend ",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect(&json!({"openapi": "3.1.0"})).ok(),
            Some(Format::OpenApi)
        );
        assert_eq!(
            detect(&json!({"swagger": "2.0"})).ok(),
            Some(Format::Swagger)
        );
        assert_eq!(
            detect(&json!({"info": {}, "item": []})).ok(),
            Some(Format::Postman)
        );
        assert_eq!(
            detect(&json!({"data": {"__schema": {}}})).ok(),
            Some(Format::Graphql)
        );
        assert!(detect(&json!({"openapi": "4.0"})).is_err());
        assert!(matches!(
            parse("type Query { a: Int }", None, ""),
            Ok(Parsed::Sdl(_))
        ));
        let err = detect(&json!({"$schema": "x", "type": "object"}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("$schema"), "{err}");
    }
}
