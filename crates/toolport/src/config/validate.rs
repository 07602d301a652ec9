//! From the file as written to the validated [`GatewayConfig`]: variables expanded, transports
//! inferred, names and references checked. Every error carries the key path it is about.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use toolport_gateway::config::{
    EndpointConfig, GatewayConfig, HttpSettings, McpAccess, PerUser, ServerConfig, Settings,
    TaskSettings, ToolFilter,
};
use toolport_gateway::names;
use toolport_metering::MeteringConfig;
use toolport_upstream::UpstreamSpec;

use super::breaker::circuit_breaker;
use super::interpolate::{SecretLookup, expand, expand_per_user};
use super::raw::{RawFile, RawServer};
use super::{Config, RegistrationPolicy};

/// A problem at a key path, e.g. `mcpServers.github.url`.
#[derive(Debug)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

pub(super) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        key: key.into(),
        message: message.into(),
    }
}

pub struct Context<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Resolves `${secret:NAME}` in credentials.
    pub secrets: SecretLookup<'a>,
    /// Directory of the config file: relative `cwd` and command paths are resolved against it.
    pub base_dir: &'a Path,
}

pub fn validate(raw: RawFile, cx: &Context<'_>) -> Result<Config, Invalid> {
    let (section, servers) = match (raw.mcp_servers, raw.servers) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "servers",
                "both \"mcpServers\" and \"servers\" are present; keep one",
            ));
        }
        (Some(s), None) => ("mcpServers", s),
        (None, Some(s)) => ("servers", s),
        (None, None) => ("mcpServers", BTreeMap::new()),
    };
    let settings_raw = raw.toolport;
    let defaults = Settings::default();
    let settings = Settings {
        request_timeout: settings_raw
            .request_timeout_ms
            .map_or(defaults.request_timeout, Duration::from_millis),
        ping_interval: settings_raw
            .ping_interval_ms
            .map_or(defaults.ping_interval, Duration::from_millis),
        page_size: settings_raw.page_size.unwrap_or(defaults.page_size),
        namespacing: settings_raw.namespacing.unwrap_or(defaults.namespacing),
        ssrf_allow_hosts: settings_raw.ssrf.allow_hosts.clone(),
        circuit_breaker: circuit_breaker(
            settings_raw.circuit_breaker.as_ref(),
            defaults.circuit_breaker,
            "toolport.circuitBreaker",
        )?,
        tasks: TaskSettings {
            sync_window: settings_raw
                .tasks
                .sync_window_ms
                .map_or(defaults.tasks.sync_window, Duration::from_millis),
            ttl: settings_raw
                .tasks
                .ttl_seconds
                .map_or(defaults.tasks.ttl, Duration::from_secs),
        },
    };
    if settings.tasks.ttl.is_zero() {
        return Err(invalid(
            "toolport.tasks.ttlSeconds",
            "must be at least 1 (a task must outlive the call that creates it)",
        ));
    }
    if settings.ping_interval < Duration::from_millis(100) {
        return Err(invalid("toolport.pingIntervalMs", "must be at least 100"));
    }
    let mut out = BTreeMap::new();
    let mut prefixes: HashMap<String, String> = HashMap::new();
    let mut aliases: HashMap<String, String> = HashMap::new();
    for (name, server) in servers {
        let key = format!("{section}.{name}");
        check_server_name(&name).map_err(|m| invalid(&key, m))?;
        if server.disabled {
            continue;
        }
        let config = server_config(&name, server, &key, &settings, cx)?;
        if let Some(other) = prefixes.insert(config.prefix.clone(), name.clone()) {
            return Err(invalid(
                format!("{key}.prefix"),
                format!(
                    "prefix {:?} is already used by server {other:?}",
                    config.prefix
                ),
            ));
        }
        let alias = names::uri_alias(&config.prefix);
        if let Some(other) = aliases.insert(alias.clone(), name.clone()) {
            return Err(invalid(
                format!("{key}.prefix"),
                format!(
                    "resource namespace {alias:?} clashes with server {other:?}; give one of them a different prefix"
                ),
            ));
        }
        out.insert(name, config);
    }
    for (name, api) in raw.apis {
        let key = format!("apis.{name}");
        check_server_name(&name).map_err(|m| invalid(&key, m))?;
        if api.disabled {
            continue;
        }
        if out.contains_key(&name) {
            return Err(invalid(
                &key,
                format!("{name:?} names both an MCP server and an API; rename one"),
            ));
        }
        let config = super::api::api_config(&name, api, &key, &settings, cx)?;
        if let Some(other) = prefixes.insert(config.prefix.clone(), name.clone()) {
            return Err(invalid(
                format!("{key}.prefix"),
                format!("prefix {:?} is already used by {other:?}", config.prefix),
            ));
        }
        out.insert(name, config);
    }
    let mut endpoints = BTreeMap::new();
    for (name, endpoint) in settings_raw.endpoints {
        let key = format!("toolport.endpoints.{name}");
        check_server_name(&name).map_err(|m| invalid(&key, m))?;
        if out.contains_key(&name) {
            return Err(invalid(
                &key,
                format!(
                    "endpoint {name:?} has the same name as a server; /mcp/{name} must mean one thing"
                ),
            ));
        }
        for server in &endpoint.servers {
            if !out.contains_key(server) {
                return Err(invalid(
                    format!("{key}.servers"),
                    format!("no server named {server:?} is configured"),
                ));
            }
        }
        if endpoint.servers.is_empty() && endpoint.tags.is_empty() {
            return Err(invalid(&key, "an endpoint needs \"tags\" or \"servers\""));
        }
        endpoints.insert(
            name,
            EndpointConfig {
                tags: endpoint.tags,
                servers: endpoint.servers,
            },
        );
    }
    let http_defaults = HttpSettings::default();
    let listen = match settings_raw.listen {
        None => http_defaults.listen,
        Some(l) => {
            let l = expand(&l, cx.env, None).map_err(|m| invalid("toolport.listen", m))?;
            l.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "toolport.listen",
                    format!("{l:?} is not an address; write it as \"127.0.0.1:8080\""),
                )
            })?
        }
    };
    let mcp_access = match settings_raw.mcp_access.as_deref() {
        None | Some("token") => McpAccess::Token,
        Some("open") if listen.ip().is_loopback() => McpAccess::Open,
        Some("open") => {
            return Err(invalid(
                "toolport.mcpAccess",
                format!(
                    "\"open\" is only allowed when listening on a loopback address, not {listen}; use \"token\" and give clients API tokens"
                ),
            ));
        }
        Some(other) => {
            return Err(invalid(
                "toolport.mcpAccess",
                format!("{other:?} is not an access mode: use \"token\" or \"open\""),
            ));
        }
    };
    let http = HttpSettings {
        listen,
        mcp_access,
        allowed_origins: settings_raw.allowed_origins,
        allowed_hosts: settings_raw.allowed_hosts,
        max_body_bytes: settings_raw
            .max_body_bytes
            .unwrap_or(http_defaults.max_body_bytes),
        session_idle: settings_raw
            .session_idle_seconds
            .map_or(http_defaults.session_idle, Duration::from_secs),
    };
    for name in settings_raw.limits.upstreams.keys() {
        if !out.contains_key(name) {
            return Err(invalid(
                format!("toolport.limits.upstreams.{name}"),
                format!("no server or API is named {name:?}; name one of those configured"),
            ));
        }
    }
    Ok(Config {
        gateway: GatewayConfig {
            servers: out,
            endpoints,
            settings,
            http,
        },
        metering: MeteringConfig {
            limits: settings_raw.limits,
            plans: settings_raw.plans,
            redaction: settings_raw.audit_redaction,
        },
        registration: RegistrationPolicy {
            allow_stdio: settings_raw.allow_registered_stdio.unwrap_or(false),
        },
    })
}

/// Server and endpoint names become URL segments and name prefixes.
pub(super) fn check_server_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.contains(names::SEPARATOR);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid name {name:?}: use 1-48 letters, digits, '-', '_' or '.', without \"__\""
        ))
    }
}

pub(super) fn server_config(
    name: &str,
    server: RawServer,
    key: &str,
    settings: &Settings,
    cx: &Context<'_>,
) -> Result<ServerConfig, Invalid> {
    for other in server.other.keys() {
        tracing::warn!("{key}.{other}: unknown key, ignored");
    }
    let x = |field: &str, value: &str| {
        expand(value, cx.env, None).map_err(|m| invalid(format!("{key}.{field}"), m))
    };
    let mut user_secrets = Vec::new();
    let mut credential = |field: &str, value: &str| {
        expand_per_user(value, cx.env, cx.secrets, &mut user_secrets)
            .map_err(|m| invalid(format!("{key}.{field}"), m))
    };
    let kind = server.kind.as_deref().map(str::to_ascii_lowercase);
    let spec = match (kind.as_deref(), &server.command, &server.url) {
        (Some("stdio") | None, Some(command), None) => {
            let mut env = BTreeMap::new();
            for (k, v) in &server.env {
                env.insert(k.clone(), credential(&format!("env.{k}"), v)?);
            }
            let args = server
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| x(&format!("args[{i}]"), a))
                .collect::<Result<Vec<_>, _>>()?;
            let mut command = x("command", command)?;
            if command.contains('/') && Path::new(&command).is_relative() {
                command = cx.base_dir.join(&command).to_string_lossy().into_owned();
            }
            let cwd = match &server.cwd {
                Some(c) => Some(cx.base_dir.join(x("cwd", c)?)),
                None => None,
            };
            UpstreamSpec::Stdio {
                command,
                args,
                env,
                cwd,
            }
        }
        (Some("http" | "streamable-http" | "streamablehttp" | "sse") | None, None, Some(url)) => {
            let url = x("url", url)?;
            check_url(&url).map_err(|m| invalid(format!("{key}.url"), m))?;
            let mut headers = BTreeMap::new();
            for (h, v) in &server.headers {
                headers.insert(h.clone(), credential(&format!("headers.{h}"), v)?);
            }
            let sse = kind.as_deref() == Some("sse")
                || (kind.is_none() && url.trim_end_matches('/').ends_with("/sse"));
            if sse {
                UpstreamSpec::Sse { url, headers }
            } else {
                UpstreamSpec::StreamableHttp { url, headers }
            }
        }
        (_, Some(_), Some(_)) => {
            return Err(invalid(key, "has both \"command\" and \"url\"; keep one"));
        }
        (_, None, None) => {
            return Err(invalid(
                key,
                "needs \"command\" (a local stdio server) or \"url\" (a remote server)",
            ));
        }
        (Some(other), _, _) => {
            return Err(invalid(
                format!("{key}.type"),
                format!(
                    "unknown or mismatched type {other:?}: use \"stdio\" with \"command\", or \"http\"/\"sse\" with \"url\""
                ),
            ));
        }
    };
    let per_user = per_user(user_secrets, server.idle_seconds, key)?;
    let prefix = server.prefix.unwrap_or_else(|| name.to_string());
    check_server_name(&prefix).map_err(|m| invalid(format!("{key}.prefix"), m))?;
    let circuit_breaker = circuit_breaker(
        server.circuit_breaker.as_ref(),
        settings.circuit_breaker,
        &format!("{key}.circuitBreaker"),
    )?;
    Ok(ServerConfig {
        spec,
        tools: ToolFilter {
            allow: server.tools.allow,
            deny: server.tools.deny,
        },
        tags: server.tags,
        timeout: server
            .timeout_ms
            .map_or(settings.request_timeout, Duration::from_millis),
        prefix,
        tenants: grants(&server.tenants, key)?,
        owner: None,
        circuit_breaker,
        per_user,
    })
}

/// The `tenants` grant of a server or API: tenant names, or `*` for every tenant.
pub(super) fn grants(tenants: &[String], key: &str) -> Result<Vec<String>, Invalid> {
    for tenant in tenants {
        let name_like = tenant.len() <= 64
            && tenant.starts_with(|c: char| c.is_ascii_alphanumeric())
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if tenant != "*" && !name_like {
            return Err(invalid(
                format!("{key}.tenants"),
                format!(
                    "{tenant:?} is not a tenant name; list tenant names (letters, digits, `_`, `.`, `-`) or \"*\" for every tenant"
                ),
            ));
        }
    }
    Ok(tenants.to_vec())
}

/// A server whose credentials reference user secrets runs one instance per user.
pub(super) fn per_user(
    mut secrets: Vec<String>,
    idle_seconds: Option<u64>,
    key: &str,
) -> Result<Option<PerUser>, Invalid> {
    if secrets.is_empty() {
        return match idle_seconds {
            None => Ok(None),
            Some(_) => Err(invalid(
                format!("{key}.idleSeconds"),
                "applies only to a server or API that uses ${user_secret:NAME} in its credentials (one instance per user); remove it",
            )),
        };
    }
    secrets.sort();
    secrets.dedup();
    let idle = match idle_seconds {
        None => PerUser::DEFAULT_IDLE,
        Some(0) => {
            return Err(invalid(
                format!("{key}.idleSeconds"),
                "must be at least 1 (seconds an unused per-user instance keeps running)",
            ));
        }
        Some(s) => Duration::from_secs(s),
    };
    Ok(Some(PerUser { secrets, idle }))
}

fn check_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not a URL; write e.g. \"https://host/mcp\""))?;
    if !matches!(scheme, "http" | "https") {
        return Err(format!("{url:?}: only http and https URLs are supported"));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}
