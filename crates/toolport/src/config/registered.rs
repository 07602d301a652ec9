//! Definitions tenants register through the admin API: one `apis` or `mcpServers` entry as JSON,
//! validated into the same [`ServerConfig`] as the file's, under stricter rules, because a tenant
//! is not the operator of this host:
//! - no `${VAR}`: the gateway's environment is the operator's (it may hold the master key);
//! - no local files: an API's description is uploaded or fetched from an http(s) URL;
//! - API credentials (`auth` values) only as `${secret:NAME}` (the tenant's vault) or
//!   `${user_secret:NAME}` (each member's own), never as literal values in the definition;
//! - no `tenants`, `prefix` or `disabled`: the backend is the tenant's own, named by its name;
//! - stdio servers (a command on this host) only where `toolport.allowRegisteredStdio` says so;
//! - remote servers and APIs keep to the SSRF policy (the gateway vets their connections).

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;
use toolport_gateway::config::{ServerConfig, Settings};
use toolport_store::BackendKind;
use toolport_upstream::api::SpecSource;

use super::RegistrationPolicy;
use super::api::api_config_from;
use super::interpolate::SecretLookup;
use super::raw::{RawApi, RawAuth, RawServer};
use super::validate::{Context, Invalid, check_server_name, invalid, server_config};

/// Keys of the file's entries that a registration may not set, and why.
const REFUSED_KEYS: &[(&str, &str)] = &[
    (
        "tenants",
        "a registered backend belongs to the tenant that registers it; remove `tenants`",
    ),
    (
        "prefix",
        "a registered backend's tools are namespaced by its name; remove `prefix`",
    ),
    (
        "disabled",
        "delete the registration instead of disabling it; remove `disabled`",
    ),
    (
        "cwd",
        "a registered server runs in the gateway's data directory; remove `cwd`",
    ),
];

/// One registration as stored.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    /// The owning tenant's name.
    pub owner: &'a str,
    pub kind: BackendKind,
    pub name: &'a str,
    /// The JSON of the entry.
    pub definition: &'a str,
    /// An API's uploaded description.
    pub document: Option<&'a str>,
}

/// Validates a registration; `secrets` resolves `${secret:NAME}` in the owner's vault. Errors
/// name the key path under `definition` (or `name`, `document`).
pub fn registered_config(
    registration: &Registration<'_>,
    settings: &Settings,
    policy: RegistrationPolicy,
    secrets: SecretLookup<'_>,
) -> Result<ServerConfig, Invalid> {
    let Registration {
        owner,
        kind,
        name,
        definition,
        document,
    } = *registration;
    check_server_name(name).map_err(|m| invalid("name", m))?;
    let value: Value = serde_json::from_str(definition)
        .map_err(|e| invalid("definition", format!("is not JSON: {e}")))?;
    let Value::Object(entry) = &value else {
        return Err(invalid("definition", "must be a JSON object"));
    };
    for (refused, why) in REFUSED_KEYS {
        if entry.contains_key(*refused) {
            return Err(invalid(format!("definition.{refused}"), *why));
        }
    }
    refuse_environment(&value, "definition")?;
    let no_environment = |_: &str| None;
    let cx = Context {
        env: &no_environment,
        secrets,
        base_dir: Path::new("/"),
    };
    let mut config = match kind {
        BackendKind::Server => {
            if document.is_some() {
                return Err(invalid(
                    "document",
                    "only an API has a description; remove `document`",
                ));
            }
            let raw: RawServer = parse(value)?;
            // The file tolerates other clients' keys; a registration is written for Toolport.
            if let Some(unknown) = raw.other.keys().next() {
                return Err(invalid(
                    format!("definition.{unknown}"),
                    "is not a key of an MCP server entry (type, command, args, env, url, \
                     headers, tools, tags, timeoutMs, circuitBreaker, idleSeconds)",
                ));
            }
            if raw.command.is_some() && !policy.allow_stdio {
                return Err(invalid(
                    "definition.command",
                    "stdio servers run a command on the gateway's host, which this gateway does \
                     not allow for registered servers; register a remote server (\"url\"), or ask \
                     the operator to set toolport.allowRegisteredStdio",
                ));
            }
            server_config(name, raw, "definition", settings, &cx)?
        }
        BackendKind::Api => {
            let raw: RawApi = parse(value)?;
            if let Some(auth) = &raw.auth {
                check_auth_references(auth)?;
            }
            let spec = match (document, raw.spec.as_str()) {
                (Some(_), spec) if !spec.is_empty() => {
                    return Err(invalid(
                        "definition.spec",
                        "the description is uploaded as `document`; remove `spec`, or send the \
                         URL in `spec` without a `document`",
                    ));
                }
                (Some(text), _) => SpecSource::Bytes {
                    source: String::new(),
                    bytes: text.as_bytes().to_vec(),
                },
                (None, "") => {
                    return Err(invalid(
                        "definition.spec",
                        "give the https URL of the API description, or upload it as `document`",
                    ));
                }
                (None, url) if url.starts_with("https://") || url.starts_with("http://") => {
                    SpecSource::Location(url.to_owned())
                }
                (None, other) => {
                    return Err(invalid(
                        "definition.spec",
                        format!(
                            "{other:?} is not an http(s) URL; a registered API's description is \
                             fetched from a URL or uploaded as `document`, never read from the \
                             gateway's files"
                        ),
                    ));
                }
            };
            api_config_from(name, raw, spec, "definition", settings, &cx)?
        }
    };
    config.owner = Some(owner.to_owned());
    Ok(config)
}

fn parse<T: DeserializeOwned>(value: Value) -> Result<T, Invalid> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let key = if path == "." {
            "definition".to_owned()
        } else {
            format!("definition.{path}")
        };
        invalid(key, err.into_inner().to_string())
    })
}

/// Refuses `${VAR}` anywhere in `value` (at key path `key`); vault references are let through.
fn refuse_environment(value: &Value, key: &str) -> Result<(), Invalid> {
    match value {
        Value::String(text) => match environment_reference(text) {
            Some(variable) => Err(invalid(
                key,
                format!(
                    "${{{variable}}} reads the gateway's environment, which registered backends \
                     cannot; keep the value in the tenant's vault (`toolport secret set NAME`) \
                     and write ${{secret:NAME}}"
                ),
            )),
            None => Ok(()),
        },
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| refuse_environment(item, &format!("{key}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| refuse_environment(v, &format!("{key}.{k}"))),
        _ => Ok(()),
    }
}

/// The first `${...}` in `text` that is not a vault reference (`$${` is a literal).
fn environment_reference(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let escaped = rest[..start].ends_with('$');
        let after = &rest[start + 2..];
        let body = after.split('}').next().unwrap_or(after);
        if !escaped && !body.starts_with("secret:") && !body.starts_with("user_secret:") {
            return Some(body);
        }
        rest = after;
    }
    None
}

/// API credentials must come from a vault, never be written into the definition.
fn check_auth_references(auth: &RawAuth) -> Result<(), Invalid> {
    let (field, value) = match auth {
        RawAuth::None => return Ok(()),
        RawAuth::ApiKey { value, .. } => ("value", value),
        RawAuth::Bearer { token } => ("token", token),
        RawAuth::Basic { password, .. } => ("password", password),
        RawAuth::OAuth2 { client_secret, .. } => ("clientSecret", client_secret),
    };
    if value.contains("${secret:") || value.contains("${user_secret:") {
        Ok(())
    } else {
        Err(invalid(
            format!("definition.auth.{field}"),
            "write the credential as ${secret:NAME} (a secret of the tenant, set with `toolport \
             secret set NAME`) or ${user_secret:NAME} (each member's own); a registration never \
             holds credentials itself",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(name: &str) -> Result<String, String> {
        match name {
            "TOKEN" => Ok("s3cret".into()),
            other => Err(format!("secret {other:?} is not set")),
        }
    }

    fn check(
        kind: BackendKind,
        definition: &str,
        document: Option<&str>,
    ) -> Result<ServerConfig, Invalid> {
        registered_config(
            &Registration {
                owner: "acme",
                kind,
                name: "github",
                definition,
                document,
            },
            &Settings::default(),
            RegistrationPolicy::default(),
            &secrets,
        )
    }

    fn refused(kind: BackendKind, definition: &str, document: Option<&str>) -> Invalid {
        match check(kind, definition, document) {
            Ok(config) => panic!("accepted: {config:?}"),
            Err(invalid) => invalid,
        }
    }

    #[test]
    fn a_remote_server_is_owned_by_its_tenant_with_secrets_resolved() {
        let config = check(
            BackendKind::Server,
            r#"{"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${secret:TOKEN}"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(config.owner.as_deref(), Some("acme"));
        assert_eq!(config.prefix, "github");
        assert!(config.tenants.is_empty());
        match config.spec {
            toolport_upstream::UpstreamSpec::StreamableHttp { headers, .. } => {
                assert_eq!(headers["Authorization"], "Bearer s3cret");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_uploaded_api_description_is_kept_as_bytes_without_a_location() {
        let config = check(
            BackendKind::Api,
            r#"{"auth": {"type": "bearer", "token": "${secret:TOKEN}"}, "mode": "search"}"#,
            Some("openapi: 3.1.0"),
        )
        .unwrap();
        let toolport_upstream::UpstreamSpec::Api(api) = config.spec else {
            panic!("not an API")
        };
        assert_eq!(
            api.spec,
            SpecSource::Bytes {
                source: String::new(),
                bytes: b"openapi: 3.1.0".to_vec()
            }
        );
    }

    #[test]
    fn what_only_the_operator_may_do_is_refused_with_the_key_and_the_way_out() {
        let cases = [
            (
                BackendKind::Server,
                r#"{"command": "rm", "args": ["-rf", "/"]}"#,
                None,
                "definition.command",
                "allowRegisteredStdio",
            ),
            (
                BackendKind::Server,
                r#"{"url": "https://x.example/${HOME}"}"#,
                None,
                "definition.url",
                "${secret:NAME}",
            ),
            (
                BackendKind::Server,
                r#"{"url": "https://x.example", "tenants": ["*"]}"#,
                None,
                "definition.tenants",
                "remove",
            ),
            (
                BackendKind::Api,
                r#"{"spec": "/etc/passwd"}"#,
                None,
                "definition.spec",
                "never read from the gateway's files",
            ),
            (BackendKind::Api, r#"{}"#, None, "definition.spec", "upload"),
            (
                BackendKind::Api,
                r#"{"spec": "https://x.example/openapi.json"}"#,
                Some("{}"),
                "definition.spec",
                "remove `spec`",
            ),
            (
                BackendKind::Api,
                r#"{"spec": "https://x.example/o.json", "auth": {"type": "bearer", "token": "literal"}}"#,
                None,
                "definition.auth.token",
                "${secret:NAME}",
            ),
            (
                BackendKind::Api,
                r#"{"spec": "https://x.example/o.json", "auth": {"type": "bearer", "token": "${secret:MISSING}"}}"#,
                None,
                "definition.auth.token",
                "MISSING",
            ),
            (
                BackendKind::Api,
                r#"{"spec": "https://x.example/o.json", "mode": "everything"}"#,
                None,
                "definition.mode",
                "everything",
            ),
            (
                BackendKind::Api,
                r#"{"spec": "https://x.example/o.json", "bogus": 1}"#,
                None,
                "definition.bogus",
                "unknown field",
            ),
            (
                BackendKind::Server,
                r#"["https://x.example"]"#,
                None,
                "definition",
                "object",
            ),
            (
                BackendKind::Server,
                r#"{"url": "https://x.example"}"#,
                Some("{}"),
                "document",
                "only an API",
            ),
            (
                BackendKind::Server,
                r#"{"url": "https://x.example", "autoApprove": []}"#,
                None,
                "definition.autoApprove",
                "not a key",
            ),
        ];
        for (kind, definition, document, key, hint) in cases {
            let err = refused(kind, definition, document);
            assert_eq!(err.key, key, "{definition}: {}", err.message);
            assert!(
                err.message.contains(hint) || err.key.contains(hint),
                "{definition}: {}",
                err.message
            );
        }
    }

    #[test]
    fn literal_dollar_braces_and_vault_references_are_not_environment() {
        assert_eq!(environment_reference("a $${HOME} b"), None);
        assert_eq!(environment_reference("${secret:X} ${user_secret:Y}"), None);
        assert_eq!(environment_reference("${secret:X}${PATH}"), Some("PATH"));
    }
}
