//! HTTP responses as MCP `CallToolResult`s: JSON as `structuredContent` plus text, text as text,
//! images as image content, other binary as an embedded resource, non-2xx as `isError` with an excerpt,
//! bodies over the limit truncated with a notice.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::body::is_json;

/// Characters of an error body quoted in an `isError` result.
const ERROR_EXCERPT_CHARS: usize = 2000;

/// What came back, read up to the limit.
#[derive(Debug)]
pub(crate) struct Received<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub status: reqwest::StatusCode,
    pub content_type: Option<String>,
    /// `Location` of a redirect that was not followed.
    pub location: Option<String>,
    pub body: Vec<u8>,
    /// More bytes followed than `limit`.
    pub truncated: bool,
    pub limit: usize,
}

/// A `CallToolResult` with one text item.
pub fn text_result(text: impl Into<String>, is_error: bool) -> Value {
    let mut r = json!({"content": [{"type": "text", "text": text.into()}]});
    if is_error {
        r["isError"] = Value::Bool(true);
    }
    r
}

/// A `CallToolResult` for a JSON value computed locally (meta-tools).
pub fn json_result(value: Value) -> Value {
    let text = value.to_string();
    json!({
        "content": [{"type": "text", "text": text}],
        "structuredContent": structured(value),
    })
}

/// `structuredContent` must be an object: arrays become `{"items": [...]}`, other values `{"value": v}`.
fn structured(value: Value) -> Value {
    match value {
        Value::Object(_) => value,
        Value::Array(_) => json!({"items": value}),
        other => json!({"value": other}),
    }
}

fn notice(r: &Received<'_>) -> Value {
    json!({"type": "text", "text": format!(
        "[response truncated: the body is larger than {} bytes (the API's maxResponseBytes); only the first {} bytes are shown. Narrow the request (filters, paging, fewer fields) to get the rest.]",
        r.limit, r.body.len()
    )})
}

/// Text of a body cut at a UTF-8 boundary (a truncation may split a character).
fn utf8_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn essence(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_textual(essence: &str) -> bool {
    essence.starts_with("text/")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/yaml"
                | "application/x-yaml"
                | "application/graphql"
                | "application/x-ndjson"
        )
}

/// The result for a received response.
pub(crate) fn to_result(r: Received<'_>) -> Value {
    let ess = essence(r.content_type.as_deref());
    if r.status.is_redirection()
        && let Some(location) = &r.location
    {
        return text_result(
            format!(
                "HTTP {} from {} {}: redirected to `{location}`, another origin; not followed so that this API's credentials are not sent there",
                r.status, r.method, r.url
            ),
            true,
        );
    }
    if !r.status.is_success() {
        let text = utf8_text(&r.body);
        let text = text.trim();
        let quoted = match text.char_indices().nth(ERROR_EXCERPT_CHARS) {
            Some((i, _)) => format!("{}… (cut)", &text[..i]),
            None => text.to_string(),
        };
        let body = if r.body.is_empty() {
            "(empty body)".to_string()
        } else if is_json(&ess) || is_textual(&ess) || ess.is_empty() {
            quoted
        } else {
            format!("({} bytes of {ess})", r.body.len())
        };
        return text_result(
            format!("HTTP {} from {} {}: {body}", r.status, r.method, r.url),
            true,
        );
    }
    if r.body.is_empty() {
        return text_result(format!("HTTP {} (no content)", r.status), false);
    }
    let mut content = Vec::new();
    let mut structured_content = None;
    if is_json(&ess) || (ess.is_empty() && looks_like_json(&r.body)) {
        match serde_json::from_slice::<Value>(&r.body) {
            Ok(v) if !r.truncated => {
                content.push(json!({"type": "text", "text": v.to_string()}));
                structured_content = Some(structured(v));
            }
            _ => content.push(json!({"type": "text", "text": utf8_text(&r.body)})),
        }
    } else if is_textual(&ess) || ess.is_empty() && std::str::from_utf8(&r.body).is_ok() {
        content.push(json!({"type": "text", "text": utf8_text(&r.body)}));
    } else if ess.starts_with("image/") && !r.truncated {
        content.push(json!({
            "type": "image",
            "data": base64::engine::general_purpose::STANDARD.encode(&r.body),
            "mimeType": ess,
        }));
    } else if r.truncated {
        content.push(json!({"type": "text", "text": format!(
            "[binary {} response not returned: it is larger than {} bytes (the API's maxResponseBytes)]",
            if ess.is_empty() { "application/octet-stream" } else { ess.as_str() }, r.limit
        )}));
        return json!({"content": content, "isError": true});
    } else {
        let mime = if ess.is_empty() {
            "application/octet-stream".to_string()
        } else {
            ess.clone()
        };
        content.push(json!({
            "type": "resource",
            "resource": {
                "uri": r.url,
                "mimeType": mime,
                "blob": base64::engine::general_purpose::STANDARD.encode(&r.body),
            }
        }));
    }
    if r.truncated {
        content.push(notice(&r));
    }
    let mut result = Map::new();
    result.insert("content".into(), Value::Array(content));
    if let Some(s) = structured_content {
        result.insert("structuredContent".into(), s);
    }
    Value::Object(result)
}

fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// A GraphQL answer with `errors` and no `data` is a failed call.
pub(crate) fn mark_graphql_errors(mut result: Value) -> Value {
    let failed = result.get("structuredContent").is_some_and(|s| {
        s.get("errors")
            .and_then(Value::as_array)
            .is_some_and(|e| !e.is_empty())
            && s.get("data").is_none_or(Value::is_null)
    });
    if failed {
        result["isError"] = Value::Bool(true);
    }
    result
}
