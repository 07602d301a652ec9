//! Servers (with variables; document, path and operation level) and security requirements/schemes of an operation.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{
    OAuthFlow, ParamLocation, SecurityRef, SecurityRequirement, SecurityScheme, Server,
    ServerVariable,
};
use crate::schema::Documents;

/// Parses a `servers` array; absent or empty yields nothing (the caller falls back).
pub fn servers(v: Option<&Value>) -> Vec<Server> {
    let Some(Value::Array(list)) = v else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|s| {
            let url = s.get("url")?.as_str()?.to_string();
            let variables = s
                .get("variables")
                .and_then(Value::as_object)
                .map(|vars| {
                    vars.iter()
                        .map(|(k, v)| {
                            let default = match v.get("default") {
                                Some(Value::String(s)) => s.clone(),
                                Some(other) if !other.is_null() => other.to_string(),
                                _ => String::new(),
                            };
                            let enum_values = v
                                .get("enum")
                                .and_then(Value::as_array)
                                .map(|e| {
                                    e.iter()
                                        .map(|x| {
                                            x.as_str().map_or_else(|| x.to_string(), str::to_string)
                                        })
                                        .collect()
                                })
                                .unwrap_or_default();
                            let description = v
                                .get("description")
                                .and_then(Value::as_str)
                                .map(str::to_string);
                            (
                                k.clone(),
                                ServerVariable {
                                    default,
                                    enum_values,
                                    description,
                                },
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Server {
                url,
                description: s
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                variables,
            })
        })
        .collect()
}

/// The operation's security: requirement alternatives and the schemes they name; warnings for unknown names.
pub fn security(
    docs: &Documents,
    op: &Value,
    warnings: &mut Vec<String>,
) -> (Vec<SecurityRequirement>, BTreeMap<String, SecurityScheme>) {
    let reqs = match op.get("security") {
        Some(Value::Array(a)) => a,
        _ => match docs.root().get("security") {
            Some(Value::Array(a)) => a,
            _ => return (Vec::new(), BTreeMap::new()),
        },
    };
    let defined = docs
        .root()
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let mut requirements = Vec::new();
    let mut schemes = BTreeMap::new();
    for req in reqs {
        let Some(req) = req.as_object() else { continue };
        if req.is_empty() {
            // `{}` makes authentication optional; represented as an alternative with no schemes.
            requirements.push(SecurityRequirement {
                schemes: Vec::new(),
            });
            continue;
        }
        let mut refs = Vec::new();
        for (name, scopes) in req {
            let scopes: Vec<String> = scopes
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            match defined.and_then(|d| d.get(name)).map(|s| docs.deref(0, s)) {
                Some(Ok((_, def))) => {
                    schemes.entry(name.clone()).or_insert_with(|| scheme(def));
                }
                _ => warnings.push(format!("security requirement names `{name}`, which `components.securitySchemes` does not define; it is ignored")),
            }
            refs.push(SecurityRef {
                scheme: name.clone(),
                scopes,
            });
        }
        refs.retain(|r| schemes.contains_key(&r.scheme));
        if !refs.is_empty() {
            requirements.push(SecurityRequirement { schemes: refs });
        }
    }
    (requirements, schemes)
}

/// One OpenAPI 3 security scheme object.
pub fn scheme(def: &Value) -> SecurityScheme {
    let s = |k: &str| def.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match def.get("type").and_then(Value::as_str).unwrap_or("") {
        "apiKey" => {
            let location = match def.get("in").and_then(Value::as_str) {
                Some("query") => ParamLocation::Query,
                Some("cookie") => ParamLocation::Cookie,
                _ => ParamLocation::Header,
            };
            SecurityScheme::ApiKey {
                name: s("name"),
                location,
            }
        }
        "http" => SecurityScheme::Http {
            scheme: s("scheme").to_ascii_lowercase(),
            bearer_format: def
                .get("bearerFormat")
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        "oauth2" => {
            let flows = def.get("flows").and_then(Value::as_object);
            let client_credentials =
                flows
                    .and_then(|f| f.get("clientCredentials"))
                    .map(|cc| OAuthFlow {
                        token_url: cc
                            .get("tokenUrl")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        scopes: cc
                            .get("scopes")
                            .and_then(Value::as_object)
                            .map(|s| s.keys().cloned().collect())
                            .unwrap_or_default(),
                    });
            let other_flows = flows
                .map(|f| {
                    f.keys()
                        .filter(|k| *k != "clientCredentials")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            SecurityScheme::OAuth2 {
                client_credentials,
                other_flows,
            }
        }
        "openIdConnect" => SecurityScheme::OpenIdConnect {
            url: s("openIdConnectUrl"),
        },
        "mutualTLS" => SecurityScheme::MutualTls,
        other => SecurityScheme::Unsupported {
            description: format!("security scheme type `{other}`"),
        },
    }
}
