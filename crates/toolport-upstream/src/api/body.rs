//! Request bodies from arguments: JSON, form-urlencoded, multipart (binary fields from base64) and raw
//! text or binary, per the operation's [`BodyPlan`].

use base64::Engine;
use serde_json::{Map, Value};
use toolport_import::{BodyBinding, BodyPlan};

use super::params::scalar;

/// An encoded body, ready to attach.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Bytes {
        content_type: String,
        bytes: Vec<u8>,
    },
    Multipart(Vec<Part>),
}

/// One multipart field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    pub name: String,
    pub data: Vec<u8>,
    /// A resource link's URL, downloaded (through the SSRF-safe client) into `data` before sending.
    pub fetch: Option<String>,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

/// The body for `plan` from `args`; `None` when the body is optional and no argument feeds it.
pub(crate) fn build(plan: &BodyPlan, args: &Map<String, Value>) -> Result<Option<Body>, String> {
    let value = match &plan.binding {
        BodyBinding::Property { property } => match args.get(property) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.clone()),
        },
        BodyBinding::Spread { fields } => {
            let mut obj = Map::new();
            for f in fields {
                if let Some(v) = args.get(&f.property).filter(|v| !v.is_null()) {
                    obj.insert(f.field.clone(), v.clone());
                }
            }
            (!obj.is_empty()).then_some(Value::Object(obj))
        }
    };
    let Some(value) = value else {
        if plan.required {
            return Err(match &plan.binding {
                BodyBinding::Property { property } => {
                    format!("missing required argument `{property}` (the request body)")
                }
                BodyBinding::Spread { fields } => format!(
                    "the request body is required: give at least one of {}",
                    fields
                        .iter()
                        .map(|f| format!("`{}`", f.property))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        return Ok(None);
    };
    let media = plan.content_type.to_ascii_lowercase();
    let essence = media.split(';').next().unwrap_or("").trim();
    let whole_is_binary = matches!(&plan.binding, BodyBinding::Property { property } if plan.binary_fields.contains(property));
    if essence == "multipart/form-data" || essence == "multipart/mixed" {
        return multipart(plan, value).map(|p| Some(Body::Multipart(p)));
    }
    let bytes = if essence == "application/x-www-form-urlencoded" {
        form_urlencoded(value)?
    } else if whole_is_binary {
        match &value {
            Value::String(s) => decode_base64(s).map_err(|e| format!("the request body: {e}"))?,
            _ => return Err("the request body is binary: pass it as a base64 string".to_string()),
        }
    } else if is_json(essence) {
        serde_json::to_vec(&value).map_err(|e| format!("the request body: {e}"))?
    } else {
        match value {
            Value::String(s) => s.into_bytes(),
            other => other.to_string().into_bytes(),
        }
    };
    Ok(Some(Body::Bytes {
        content_type: plan.content_type.clone(),
        bytes,
    }))
}

pub(crate) fn is_json(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json") || essence.ends_with("/json")
}

fn form_urlencoded(value: Value) -> Result<Vec<u8>, String> {
    let Value::Object(m) = value else {
        return Err("a form-urlencoded body must be an object of fields".to_string());
    };
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &m {
        match v {
            Value::Null => {}
            Value::Array(items) => {
                for i in items {
                    ser.append_pair(k, &scalar(i));
                }
            }
            other => {
                ser.append_pair(k, &scalar(other));
            }
        }
    }
    Ok(ser.finish().into_bytes())
}

fn multipart(plan: &BodyPlan, value: Value) -> Result<Vec<Part>, String> {
    let Value::Object(m) = value else {
        return Err("a multipart body must be an object of fields".to_string());
    };
    let mut parts = Vec::new();
    for (k, v) in m {
        let binary = plan.binary_fields.contains(&k);
        let items = match v {
            Value::Null => continue,
            Value::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            parts.push(if binary {
                file_part(&k, &item)?
            } else {
                match item {
                    Value::Object(_) | Value::Array(_) => Part {
                        name: k.clone(),
                        data: item.to_string().into_bytes(),
                        fetch: None,
                        filename: None,
                        content_type: Some("application/json".to_string()),
                    },
                    other => Part {
                        name: k.clone(),
                        data: scalar(&other).into_bytes(),
                        fetch: None,
                        filename: None,
                        content_type: None,
                    },
                }
            });
        }
    }
    Ok(parts)
}

/// A file field: a base64 string, `{"content"|"data": base64, "filename"?, "contentType"?}`, or a
/// resource link `{"uri": "https://...", "name"?, "mimeType"?}` downloaded before sending.
fn file_part(name: &str, v: &Value) -> Result<Part, String> {
    let usage = || {
        format!(
            "file field `{name}`: give a base64 string, an object with `content` (base64), `filename` and `contentType`, or a resource link with `uri`"
        )
    };
    let (data, fetch, filename, content_type) = match v {
        Value::String(s) => (decode(name, s)?, None, None, None),
        Value::Object(o) => {
            let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
            let filename = text("filename").or_else(|| text("name"));
            let content_type = text("contentType").or_else(|| text("mimeType"));
            match (
                text("content").or_else(|| text("data")),
                text("uri").or_else(|| text("url")),
            ) {
                (Some(b64), _) => (decode(name, &b64)?, None, filename, content_type),
                (None, Some(uri)) => {
                    let from_uri = uri
                        .rsplit('/')
                        .next()
                        .filter(|s| !s.is_empty() && !s.contains('?'))
                        .map(str::to_string);
                    (Vec::new(), Some(uri), filename.or(from_uri), content_type)
                }
                (None, None) => return Err(usage()),
            }
        }
        _ => return Err(usage()),
    };
    Ok(Part {
        name: name.to_string(),
        data,
        fetch,
        filename: Some(filename.unwrap_or_else(|| name.to_string())),
        content_type: Some(content_type.unwrap_or_else(|| "application/octet-stream".to_string())),
    })
}

fn decode(name: &str, b64: &str) -> Result<Vec<u8>, String> {
    decode_base64(b64).map_err(|e| format!("file field `{name}`: {e}"))
}

/// Standard or URL-safe base64, padded or not, whitespace ignored; `data:...;base64,` prefixes accepted.
pub(crate) fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    let s = match s.find(";base64,") {
        Some(i) if s.starts_with("data:") => &s[i + 8..],
        _ => s,
    };
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let trimmed = clean.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|e| format!("not valid base64 ({e})"))
}
