//! The 2026-07-28 HTTP header rules for stateless requests: `MCP-Protocol-Version`,
//! `Mcp-Method` and `Mcp-Name` must agree with the body, `Mcp-Param-*` headers with the
//! arguments they mirror, and protocol errors map to the HTTP statuses the transport pins.

use axum::http::{HeaderMap, StatusCode};
use toolport_protocol::jsonrpc::Request;
use toolport_protocol::{ErrorCode, RpcError};

use crate::fixture::{Fixture, stateless};

pub(super) const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The HTTP status of a stateless answer: 404 for unknown methods, 400 for the protocol errors
/// the 2026-07-28 transport pins to it.
pub(super) fn stateless_status(code: Option<ErrorCode>) -> StatusCode {
    match code.map(|c| c.0) {
        Some(-32601) => StatusCode::NOT_FOUND,
        Some(-32022..=-32020) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// Checks the standard headers of a stateless request against its body.
pub(super) fn check_headers(headers: &HeaderMap, req: &Request) -> Result<(), RpcError> {
    let mismatch = |m: String| RpcError::new(stateless::HEADER_MISMATCH, m);
    if headers.get(PROTOCOL_VERSION).is_none() {
        return Err(mismatch("Missing MCP-Protocol-Version header".into()));
    }
    match header(headers, MCP_METHOD).map(str::trim) {
        None => return Err(mismatch("Missing Mcp-Method header".into())),
        Some(m) if m != req.method => {
            return Err(mismatch(format!(
                "Mcp-Method header {m:?} does not match the body method {:?}",
                req.method
            )));
        }
        Some(_) => {}
    }
    let key = match req.method.as_str() {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return Ok(()),
    };
    let Some(expected) = req
        .params
        .as_ref()
        .and_then(|p| p.get(key))
        .and_then(|v| v.as_str())
    else {
        return Ok(());
    };
    match header(headers, MCP_NAME).map(str::trim) {
        None => Err(mismatch(format!(
            "Missing Mcp-Name header (params.{key} is {expected:?})"
        ))),
        Some(n) if n != expected => Err(mismatch(format!(
            "Mcp-Name header {n:?} does not match params.{key} {expected:?}"
        ))),
        Some(_) => Ok(()),
    }
}

/// Checks the `Mcp-Param-*` headers of a `tools/call` against the arguments they mirror: a
/// value present in the body needs its header, and `=?base64?...?=` values must decode.
pub(super) fn check_param_headers(
    fixture: &Fixture,
    headers: &HeaderMap,
    req: &Request,
) -> Result<(), RpcError> {
    if req.method != "tools/call" {
        return Ok(());
    }
    let params = req.params.as_ref();
    let Some(name) = params.and_then(|p| p.get("name")).and_then(|v| v.as_str()) else {
        return Ok(());
    };
    let local = name
        .strip_prefix(fixture.config.tools_prefix.as_str())
        .unwrap_or(name);
    let mismatch = |m: String| RpcError::new(stateless::HEADER_MISMATCH, m);
    for (arg, suffix) in fixture.header_params(local) {
        let Some(value) = params
            .and_then(|p| p.get("arguments"))
            .and_then(|a| a.get(arg.as_str()))
        else {
            continue;
        };
        let expected = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let header_name = format!("mcp-param-{}", suffix.to_ascii_lowercase());
        let Some(raw) = header(headers, &header_name).map(str::trim) else {
            return Err(mismatch(format!(
                "Missing Mcp-Param-{suffix} header for argument {arg:?}"
            )));
        };
        let actual = match raw
            .strip_prefix("=?base64?")
            .and_then(|r| r.strip_suffix("?="))
        {
            Some(encoded) => {
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| {
                        mismatch(format!("Mcp-Param-{suffix} is not valid Base64: {e}"))
                    })?;
                String::from_utf8(bytes)
                    .map_err(|_| mismatch(format!("Mcp-Param-{suffix} does not decode to UTF-8")))?
            }
            None => raw.to_owned(),
        };
        if actual != expected {
            return Err(mismatch(format!(
                "Mcp-Param-{suffix} header does not match argument {arg:?}"
            )));
        }
    }
    Ok(())
}
