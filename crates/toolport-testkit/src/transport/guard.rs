//! DNS-rebinding defence: requests whose `Host` or `Origin` is not a loopback name are refused
//! with 403 before anything else happens.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::body::json_error;
use toolport_protocol::{ErrorCode, RequestId, RpcError};

/// Whether `host` (optionally with a port) names the local machine.
fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    )
}

/// The 403 answer when `Host` is missing or not loopback, or `Origin` is present and not a
/// loopback `http(s)` origin; `None` when the request may proceed.
pub(crate) fn refusal(headers: &HeaderMap) -> Option<Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_loopback(host) {
        return Some(forbidden(format!("Host {host:?} is not allowed")));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let allowed = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(is_loopback);
        if !allowed {
            return Some(forbidden(format!("Origin {origin:?} is not allowed")));
        }
    }
    None
}

fn forbidden(message: String) -> Response {
    json_error(
        StatusCode::FORBIDDEN,
        RequestId::Null,
        RpcError::new(
            ErrorCode::BACKEND_UNAVAILABLE,
            format!("Forbidden: {message}"),
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_with_and_without_ports() {
        for ok in ["localhost", "127.0.0.1:8080", "[::1]:3000", "LOCALHOST:1"] {
            assert!(is_loopback(ok), "{ok}");
        }
        for bad in ["evil.example.com", "evil.example.com:80", "127.0.0.2", ""] {
            assert!(!is_loopback(bad), "{bad}");
        }
    }

    #[test]
    fn foreign_origin_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:9".parse().unwrap());
        assert!(refusal(&h).is_none());
        h.insert(header::ORIGIN, "http://evil.example.com".parse().unwrap());
        assert!(refusal(&h).is_some());
        h.insert(header::ORIGIN, "http://localhost:9".parse().unwrap());
        assert!(refusal(&h).is_none());
    }
}
