//! Validating one `apis` entry: the description's location, format and mode, credentials with
//! `${VAR}` expanded, filters, limits; the result is a server whose backend is an HTTP API.

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use toolport_gateway::config::{ServerConfig, Settings, ToolFilter};
use toolport_import::{Filter, Format, Mode};
use toolport_upstream::UpstreamSpec;
use toolport_upstream::api::{
    ApiAuth, ApiConfig, ApiKeyLocation, OAuth2ClientCredentials, SpecSource,
};

use super::breaker::circuit_breaker;
use super::interpolate::{expand, expand_per_user};
use super::raw::{RawApi, RawAuth};
use super::validate::{Context, Invalid, check_server_name, invalid, per_user};

/// The API's own HTTP deadline; the gateway allows a little more so the API's clearer error wins.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const GATEWAY_MARGIN: Duration = Duration::from_secs(1);

pub fn api_config(
    name: &str,
    raw: RawApi,
    key: &str,
    settings: &Settings,
    cx: &Context<'_>,
) -> Result<ServerConfig, Invalid> {
    let mut spec =
        expand(&raw.spec, cx.env, None).map_err(|m| invalid(format!("{key}.spec"), m))?;
    if spec.is_empty() {
        return Err(invalid(
            format!("{key}.spec"),
            "give the path or https URL of the API description",
        ));
    }
    if !spec.contains("://") && Path::new(&spec).is_relative() {
        spec = cx.base_dir.join(&spec).to_string_lossy().into_owned();
    }
    api_config_from(name, raw, SpecSource::Location(spec), key, settings, cx)
}

/// Like [`api_config`] with the description's source already decided (`raw.spec` is ignored).
pub(super) fn api_config_from(
    name: &str,
    raw: RawApi,
    spec: SpecSource,
    key: &str,
    settings: &Settings,
    cx: &Context<'_>,
) -> Result<ServerConfig, Invalid> {
    let x = |field: &str, value: &str| {
        expand(value, cx.env, None).map_err(|m| invalid(format!("{key}.{field}"), m))
    };
    // Auth values and headers may also reference the calling user's own secrets (which makes the
    // API per-user); variables may end up in URLs, so they take the administrator's only.
    let user_secrets = RefCell::new(Vec::new());
    let credential = |field: &str, value: &str| {
        expand_per_user(value, cx.env, cx.secrets, &mut user_secrets.borrow_mut())
            .map_err(|m| invalid(format!("{key}.{field}"), m))
    };
    let shared_credential = |field: &str, value: &str| {
        expand(value, cx.env, Some(cx.secrets)).map_err(|m| invalid(format!("{key}.{field}"), m))
    };
    let mut config = ApiConfig::new(spec);
    if let Some(format) = &raw.format {
        config.format = Some(
            format
                .parse::<Format>()
                .map_err(|m| invalid(format!("{key}.format"), m))?,
        );
    }
    if let Some(mode) = &raw.mode {
        config.mode = Some(
            mode.parse::<Mode>()
                .map_err(|m| invalid(format!("{key}.mode"), m))?,
        );
    }
    if let Some(threshold) = raw.dispatch_threshold {
        config.dispatch_threshold = threshold;
    }
    config.base_url = raw
        .base_url
        .as_deref()
        .map(|u| x("baseUrl", u))
        .transpose()?;
    if let Some(auth) = raw.auth {
        config.auth = auth_config(auth, key, &x, &credential)?;
    }
    for (h, v) in &raw.headers {
        config
            .headers
            .insert(h.clone(), credential(&format!("headers.{h}"), v)?);
    }
    for (k, v) in &raw.variables {
        config
            .variables
            .insert(k.clone(), shared_credential(&format!("variables.{k}"), v)?);
    }
    config.filter = Filter {
        include: raw.include,
        exclude: raw.exclude,
    };
    config.timeout = raw
        .timeout_ms
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    if let Some(max) = raw.max_response_bytes {
        config.max_response_bytes = max;
    }
    let prefix = raw.prefix.unwrap_or_else(|| name.to_string());
    check_server_name(&prefix).map_err(|m| invalid(format!("{key}.prefix"), m))?;
    let circuit_breaker = circuit_breaker(
        raw.circuit_breaker.as_ref(),
        settings.circuit_breaker,
        &format!("{key}.circuitBreaker"),
    )?;
    Ok(ServerConfig {
        timeout: config.timeout + GATEWAY_MARGIN,
        spec: UpstreamSpec::Api(Box::new(config)),
        tools: ToolFilter::default(),
        tags: raw.tags,
        prefix,
        tenants: super::validate::grants(&raw.tenants, key)?,
        owner: None,
        circuit_breaker,
        per_user: per_user(user_secrets.into_inner(), raw.idle_seconds, key)?,
    })
}

fn auth_config(
    auth: RawAuth,
    key: &str,
    x: &dyn Fn(&str, &str) -> Result<String, Invalid>,
    credential: &dyn Fn(&str, &str) -> Result<String, Invalid>,
) -> Result<ApiAuth, Invalid> {
    Ok(match auth {
        RawAuth::None => ApiAuth::None,
        RawAuth::ApiKey {
            location,
            name,
            value,
        } => ApiAuth::ApiKey {
            location: match location.to_ascii_lowercase().as_str() {
                "header" => ApiKeyLocation::Header,
                "query" => ApiKeyLocation::Query,
                "cookie" => ApiKeyLocation::Cookie,
                other => {
                    return Err(invalid(
                        format!("{key}.auth.in"),
                        format!(
                            "{other:?} is not a place for an API key: use \"header\", \"query\" or \"cookie\""
                        ),
                    ));
                }
            },
            name: x("auth.name", &name)?,
            value: credential("auth.value", &value)?,
        },
        RawAuth::Bearer { token } => ApiAuth::Bearer {
            token: credential("auth.token", &token)?,
        },
        RawAuth::Basic { username, password } => ApiAuth::Basic {
            username: x("auth.username", &username)?,
            password: credential("auth.password", &password)?,
        },
        RawAuth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scopes,
            audience,
            credentials_in_body,
        } => ApiAuth::OAuth2ClientCredentials(OAuth2ClientCredentials {
            token_url: x("auth.tokenUrl", &token_url)?,
            client_id: x("auth.clientId", &client_id)?,
            client_secret: credential("auth.clientSecret", &client_secret)?,
            scopes,
            audience,
            credentials_in_body,
        }),
    })
}
