//! Postman request URLs (raw strings or structured objects) split into server, path template, path and query parameters.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Ctx, scalar, text_of};
use crate::model::{Server, ServerVariable};
use crate::naming::sanitize;

/// A request URL split into what the plan needs.
#[derive(Debug)]
pub(super) struct Url {
    pub server: Server,
    pub path: String,
    pub path_params: Vec<(String, Option<String>, Option<String>)>,
    pub query: Vec<(String, String, Option<String>)>,
    pub unresolved_host: Vec<String>,
}

pub(super) fn parse_url(ctx: &Ctx, url: &Value) -> Url {
    let raw = match url {
        Value::String(s) => s.clone(),
        Value::Object(m) => match m.get("raw").and_then(Value::as_str) {
            Some(r) => r.to_string(),
            None => {
                let host = match m.get("host") {
                    Some(Value::Array(h)) => h.iter().map(scalar).collect::<Vec<_>>().join("."),
                    Some(v) => scalar(v),
                    None => String::new(),
                };
                let path = match m.get("path") {
                    Some(Value::Array(p)) => p
                        .iter()
                        .map(|s| {
                            s.as_str().map_or_else(
                                || s.get("value").map(scalar).unwrap_or_default(),
                                str::to_string,
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("/"),
                    Some(v) => scalar(v),
                    None => String::new(),
                };
                let proto = m
                    .get("protocol")
                    .and_then(Value::as_str)
                    .map(|p| format!("{p}://"))
                    .unwrap_or_default();
                let port = m
                    .get("port")
                    .map(|p| format!(":{}", scalar(p)))
                    .unwrap_or_default();
                format!("{proto}{host}{port}/{}", path.trim_start_matches('/'))
            }
        },
        _ => String::new(),
    };
    let raw = ctx.subst(&raw);
    let raw = raw.split('#').next().unwrap_or("").trim().to_string();
    let (base, query_str) = match raw.split_once('?') {
        Some((b, q)) => (b.to_string(), Some(q.to_string())),
        None => (raw.clone(), None),
    };
    let (origin, path) = split_origin(&base);
    let mut unresolved_host = Vec::new();
    let mut server_url = String::new();
    let mut variables = BTreeMap::new();
    let mut rest = origin.as_str();
    while let Some(start) = rest.find("{{") {
        server_url.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = sanitize(after[..end].trim(), true);
        server_url.push_str(&format!("{{{name}}}"));
        variables.insert(
            name.clone(),
            ServerVariable {
                default: String::new(),
                enum_values: Vec::new(),
                description: Some(format!(
                    "Postman variable `{{{{{}}}}}`",
                    after[..end].trim()
                )),
            },
        );
        unresolved_host.push(name);
        rest = &after[end + 2..];
    }
    server_url.push_str(rest);

    let var_values: Vec<(String, Option<String>, Option<String>)> = url
        .get("variable")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| {
                    Some((
                        v.get("key")?.as_str()?.to_string(),
                        v.get("value").map(scalar).filter(|s| !s.is_empty()),
                        text_of(v.get("description")),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut path_params = Vec::new();
    let mut segments = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if let Some(name) = seg.strip_prefix(':') {
            let (value, desc) = var_values
                .iter()
                .find(|(k, _, _)| k == name)
                .map(|(_, v, d)| (v.clone(), d.clone()))
                .unwrap_or((None, None));
            path_params.push((name.to_string(), value, desc));
            segments.push(format!("{{{name}}}"));
        } else if let Some(inner) = seg.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) {
            let name = sanitize(inner, true);
            path_params.push((
                name.clone(),
                None,
                Some(format!("Postman variable `{{{{{inner}}}}}`")),
            ));
            segments.push(format!("{{{name}}}"));
        } else {
            segments.push(seg.to_string());
        }
    }
    let mut query = Vec::new();
    match url.get("query").and_then(Value::as_array) {
        Some(list) => {
            for q in list {
                if q.get("disabled").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let Some(k) = q.get("key").and_then(Value::as_str) else {
                    continue;
                };
                query.push((
                    k.to_string(),
                    ctx.subst(&q.get("value").map(scalar).unwrap_or_default()),
                    text_of(q.get("description")),
                ));
            }
        }
        None => {
            for pair in query_str
                .iter()
                .flat_map(|q| q.split('&'))
                .filter(|p| !p.is_empty())
            {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                query.push((k.to_string(), v.to_string(), None));
            }
        }
    }
    Url {
        server: Server {
            url: if server_url.is_empty() {
                "/".to_string()
            } else {
                server_url
            },
            description: None,
            variables,
        },
        path: format!("/{}", segments.join("/")),
        path_params,
        query,
        unresolved_host,
    }
}

/// `https://host:port/a/b` -> (`https://host:port`, `/a/b`); a raw without scheme takes its first segment as host.
fn split_origin(base: &str) -> (String, String) {
    if let Some(i) = base.find("://") {
        let after = &base[i + 3..];
        let end = after.find('/').unwrap_or(after.len());
        return (base[..i + 3 + end].to_string(), after[end..].to_string());
    }
    if base.starts_with('/') || base.is_empty() {
        return (String::new(), base.to_string());
    }
    let end = base.find('/').unwrap_or(base.len());
    let host = &base[..end];
    let origin = if host.starts_with("{{") {
        host.to_string()
    } else {
        format!("https://{host}")
    };
    (origin, base[end..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables_path_params_and_origin() {
        let ctx = Ctx {
            vars: BTreeMap::from([("host".to_string(), "https://api.io".to_string())]),
        };
        let u = parse_url(
            &ctx,
            &json!({"raw": "{{host}}/users/:id/{{missing}}?limit=10", "variable": [{"key": "id", "value": "7"}]}),
        );
        assert_eq!(u.server.url, "https://api.io");
        assert_eq!(u.path, "/users/{id}/{missing}");
        assert_eq!(
            u.path_params[0],
            ("id".to_string(), Some("7".to_string()), None)
        );
        assert_eq!(u.query, vec![("limit".to_string(), "10".to_string(), None)]);
        let u = parse_url(&ctx, &json!("{{base}}/x"));
        assert_eq!(u.server.url, "{base}");
        assert_eq!(u.unresolved_host, vec!["base".to_string()]);
    }
}
