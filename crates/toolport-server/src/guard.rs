//! DNS-rebinding defence: requests whose Host or Origin is not the gateway's own are refused with
//! 403 before any MCP processing.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use toolport_gateway::config::HttpSettings;

use crate::error::HttpError;

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The host part of a `host[:port]` value (IPv6 literals keep their brackets).
fn host_part(value: &str) -> &str {
    if value.starts_with('[') {
        return value.split_inclusive(']').next().unwrap_or(value);
    }
    value.rsplit_once(':').map_or(value, |(h, _)| h)
}

pub fn host_allowed(value: &str, allowed: &[String], listen_is_loopback: bool) -> bool {
    let host = host_part(value).to_ascii_lowercase();
    if allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&host) || a.eq_ignore_ascii_case(value))
    {
        return true;
    }
    if LOOPBACK_NAMES.contains(&host.as_str()) {
        return true;
    }
    // A gateway bound to a public address with no allow-list accepts any Host.
    !listen_is_loopback && allowed.is_empty()
}

pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && LOOPBACK_NAMES.contains(&host_part(rest).to_ascii_lowercase().as_str())
}

/// The 403 for a request whose Host or Origin is not the gateway's own; `None` when it may go on.
/// [`crate::access::admit`] asks it first, before anything else is read.
pub fn refusal(settings: &HttpSettings, headers: &HeaderMap) -> Option<HttpError> {
    let loopback = settings.listen.ip().is_loopback();
    if let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok())
        && !host_allowed(host, &settings.allowed_hosts, loopback)
    {
        return Some(HttpError::forbidden(format!(
            "Host {host:?} is not allowed; add it to toolport.allowedHosts in the configuration"
        )));
    }
    if let Some(origin) = headers.get(ORIGIN).and_then(|h| h.to_str().ok())
        && !origin_allowed(origin, &settings.allowed_origins)
    {
        return Some(HttpError::forbidden(format!(
            "Origin {origin:?} is not allowed; add it to toolport.allowedOrigins in the configuration"
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_others_do_not() {
        for ok in ["localhost", "localhost:8080", "127.0.0.1:1", "[::1]:9"] {
            assert!(host_allowed(ok, &[], true), "{ok}");
        }
        assert!(!host_allowed("evil.example.com", &[], true));
        assert!(!host_allowed("evil.example.com:80", &[], true));
        assert!(host_allowed(
            "gw.internal:80",
            &["gw.internal".into()],
            true
        ));
        assert!(host_allowed("anything", &[], false));
        assert!(!host_allowed("anything", &["gw.internal".into()], false));
    }

    #[test]
    fn origins() {
        assert!(origin_allowed("http://localhost:3000", &[]));
        assert!(origin_allowed("https://127.0.0.1", &[]));
        assert!(!origin_allowed("http://evil.example.com", &[]));
        assert!(!origin_allowed("null", &[]));
        assert!(origin_allowed(
            "https://app.example.com",
            &["https://app.example.com".into()]
        ));
    }
}
