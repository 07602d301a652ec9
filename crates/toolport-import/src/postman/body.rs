//! Postman request bodies (raw JSON, urlencoded, form-data, GraphQL, file) and auth (apikey, bearer, basic).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Ctx, has_unresolved, scalar, text_of};
use crate::model::{
    BodyBinding, BodyPlan, FieldBinding, ParamLocation, SecurityRef, SecurityRequirement,
    SecurityScheme,
};
use crate::naming::{Namer, sanitize};
use crate::schema::docs::escape;

#[allow(clippy::too_many_arguments)]
pub(super) fn body(
    ctx: &Ctx,
    b: &Value,
    content_type: Option<&str>,
    names: &mut Namer,
    props: &mut Map<String, Value>,
    required: &mut Vec<Value>,
    warnings: &mut Vec<String>,
) -> Option<BodyPlan> {
    let mode = b.get("mode").and_then(Value::as_str).unwrap_or("");
    match mode {
        "raw" => {
            let raw = ctx.subst(b.get("raw").and_then(Value::as_str).unwrap_or(""));
            let lang = b
                .pointer("/options/raw/language")
                .and_then(Value::as_str)
                .unwrap_or("");
            let json_ct = content_type.is_some_and(|c| c.contains("json"));
            let parsed = serde_json::from_str::<Value>(&raw).ok();
            if let Some(example) = parsed.filter(|_| lang == "json" || json_ct || lang.is_empty()) {
                let ct = content_type
                    .filter(|c| c.contains("json"))
                    .unwrap_or("application/json")
                    .to_string();
                if let Value::Object(fields) = &example
                    && !fields.is_empty()
                    && fields
                        .keys()
                        .all(|k| k.len() <= 64 && sanitize(k, true) == *k && !names.is_taken(k))
                {
                    let mut bindings = Vec::new();
                    for (k, v) in fields {
                        let property = names.claim(k, "field");
                        let mut s = infer(v, 0);
                        s["examples"] = json!([v]);
                        props.insert(property.clone(), s);
                        bindings.push(FieldBinding {
                            property,
                            field: k.clone(),
                        });
                    }
                    return Some(BodyPlan {
                        content_type: ct,
                        required: true,
                        binding: BodyBinding::Spread { fields: bindings },
                        binary_fields: Vec::new(),
                    });
                }
                let property = names.claim("body", "body");
                let mut s = infer(&example, 0);
                s["examples"] = json!([example]);
                props.insert(property.clone(), s);
                required.push(Value::from(property.as_str()));
                return Some(BodyPlan {
                    content_type: ct,
                    required: true,
                    binding: BodyBinding::Property { property },
                    binary_fields: Vec::new(),
                });
            }
            if raw.trim().is_empty() {
                return None;
            }
            let ct = content_type
                .map(str::to_string)
                .unwrap_or_else(|| match lang {
                    "xml" => "application/xml".to_string(),
                    "html" => "text/html".to_string(),
                    "javascript" => "application/javascript".to_string(),
                    "json" => "application/json".to_string(),
                    _ => "text/plain".to_string(),
                });
            let property = names.claim("body", "body");
            props.insert(property.clone(), json!({"type": "string", "default": raw}));
            Some(BodyPlan {
                content_type: ct,
                required: false,
                binding: BodyBinding::Property { property },
                binary_fields: Vec::new(),
            })
        }
        "urlencoded" | "formdata" => {
            let list = b.get(mode).and_then(Value::as_array)?;
            let mut bindings = Vec::new();
            let mut binary = Vec::new();
            for f in list {
                if f.get("disabled").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let Some(k) = f.get("key").and_then(Value::as_str) else {
                    continue;
                };
                let property = names.claim(k, "field");
                let is_file = f.get("type").and_then(Value::as_str) == Some("file");
                let mut s = if is_file {
                    binary.push(k.to_string());
                    json!({"type": "string", "format": "binary", "contentEncoding": "base64", "description": "File content, base64-encoded."})
                } else {
                    let v = ctx.subst(&f.get("value").map(scalar).unwrap_or_default());
                    if has_unresolved(&v) || v.is_empty() {
                        json!({"type": "string"})
                    } else {
                        json!({"type": "string", "default": v})
                    }
                };
                if let Some(d) = text_of(f.get("description")) {
                    s["description"] = Value::from(d);
                }
                props.insert(property.clone(), s);
                bindings.push(FieldBinding {
                    property,
                    field: k.to_string(),
                });
            }
            if bindings.is_empty() {
                return None;
            }
            let ct = if mode == "formdata" {
                "multipart/form-data"
            } else {
                "application/x-www-form-urlencoded"
            };
            Some(BodyPlan {
                content_type: ct.to_string(),
                required: false,
                binding: BodyBinding::Spread { fields: bindings },
                binary_fields: binary,
            })
        }
        "graphql" => {
            let query = b
                .pointer("/graphql/query")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let q = names.claim("query", "query");
            let v = names.claim("variables", "variables");
            props.insert(q.clone(), json!({"type": "string", "description": "GraphQL document to send.", "default": query}));
            props.insert(
                v.clone(),
                json!({"type": "object", "description": "GraphQL variables."}),
            );
            let fields = vec![
                FieldBinding {
                    property: q,
                    field: "query".to_string(),
                },
                FieldBinding {
                    property: v,
                    field: "variables".to_string(),
                },
            ];
            Some(BodyPlan {
                content_type: "application/json".to_string(),
                required: true,
                binding: BodyBinding::Spread { fields },
                binary_fields: Vec::new(),
            })
        }
        "file" => {
            let property = names.claim("body", "body");
            props.insert(property.clone(), json!({"type": "string", "format": "binary", "contentEncoding": "base64", "description": "File content, base64-encoded."}));
            required.push(Value::from(property.as_str()));
            Some(BodyPlan {
                content_type: content_type
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                required: true,
                binding: BodyBinding::Property {
                    property: property.clone(),
                },
                binary_fields: vec![property],
            })
        }
        "" => None,
        other => {
            warnings.push(format!(
                "body mode `{other}` is not supported; the request is sent without a body"
            ));
            None
        }
    }
}

/// A JSON Schema describing an example value.
fn infer(v: &Value, depth: usize) -> Value {
    if depth > 8 {
        return json!({});
    }
    match v {
        Value::Null => json!({}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_f64() => json!({"type": "number"}),
        Value::Number(_) => json!({"type": "integer"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(a) => match a.first() {
            Some(first) => json!({"type": "array", "items": infer(first, depth + 1)}),
            None => json!({"type": "array"}),
        },
        Value::Object(m) => {
            let props: Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), infer(v, depth + 1)))
                .collect();
            json!({"type": "object", "properties": props})
        }
    }
}

/// Reads a Postman auth parameter: v2.1 lists `[{key, value}]`, v2.0 maps `{key: value}`.
fn auth_param(section: Option<&Value>, key: &str) -> Option<String> {
    match section? {
        Value::Array(a) => a
            .iter()
            .find(|p| p.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|p| p.get("value"))
            .map(scalar),
        Value::Object(m) => m.get(key).map(scalar),
        _ => None,
    }
}

pub(super) fn security(
    auth: Option<&Value>,
    warnings: &mut Vec<String>,
) -> (Vec<SecurityRequirement>, BTreeMap<String, SecurityScheme>) {
    let Some(auth) = auth else {
        return (Vec::new(), BTreeMap::new());
    };
    let kind = auth.get("type").and_then(Value::as_str).unwrap_or("noauth");
    let section = auth.get(kind);
    let scheme = match kind {
        "noauth" => return (Vec::new(), BTreeMap::new()),
        "bearer" => SecurityScheme::Http {
            scheme: "bearer".to_string(),
            bearer_format: None,
        },
        "basic" => SecurityScheme::Http {
            scheme: "basic".to_string(),
            bearer_format: None,
        },
        "apikey" => {
            let name = auth_param(section, "key").unwrap_or_else(|| "X-API-Key".to_string());
            let location = match auth_param(section, "in").as_deref() {
                Some("query") => ParamLocation::Query,
                _ => ParamLocation::Header,
            };
            SecurityScheme::ApiKey { name, location }
        }
        other => {
            warnings.push(format!("Postman auth `{other}` cannot be applied by the gateway; requests are sent without it"));
            SecurityScheme::Unsupported {
                description: format!("Postman auth type `{other}`"),
            }
        }
    };
    let name = format!("postman_{}", escape(kind));
    let req = SecurityRequirement {
        schemes: vec![SecurityRef {
            scheme: name.clone(),
            scopes: Vec::new(),
        }],
    };
    (vec![req], BTreeMap::from([(name, scheme)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_v20_and_v21_shapes() {
        let mut w = Vec::new();
        let v21 = json!({"type": "apikey", "apikey": [{"key": "key", "value": "X-Token"}, {"key": "in", "value": "query"}]});
        let (_, s) = security(Some(&v21), &mut w);
        assert_eq!(
            s.get("postman_apikey"),
            Some(&SecurityScheme::ApiKey {
                name: "X-Token".into(),
                location: ParamLocation::Query
            })
        );
        let v20 = json!({"type": "bearer", "bearer": {"token": "{{t}}"}});
        let (r, s) = security(Some(&v20), &mut w);
        assert_eq!(r.len(), 1);
        assert!(
            matches!(s.get("postman_bearer"), Some(SecurityScheme::Http { scheme, .. }) if scheme == "bearer")
        );
        assert!(w.is_empty());
    }
}
