//! The wires to a backend. Each transport runs as one task that owns its connection and feeds a
//! [`Peer`]; the task ends (and closes the peer) when the connection fails or shutdown is asked.
//! Once its session is set up, Streamable HTTP sends each request from the task that waits for its
//! answer (`Peer`'s direct exchange) rather than through its own.

mod http_client;
mod sse;
mod stdio;
mod streamable;

pub use http_client::{HttpError, McpHttpClient};

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::UpstreamError;
use crate::peer::{Inbound, NotificationHook, Peer};
use crate::spec::UpstreamSpec;

/// Opens a connection to `spec`. `name` labels logs (e.g. a stdio child's stderr lines).
pub async fn connect(
    name: &str,
    spec: &UpstreamSpec,
    http: &McpHttpClient,
    hook: Option<NotificationHook>,
    shutdown: CancellationToken,
) -> Result<(Arc<Peer>, mpsc::UnboundedReceiver<Inbound>), UpstreamError> {
    match spec {
        UpstreamSpec::Stdio {
            command,
            args,
            env,
            cwd,
        } => stdio::spawn(name, command, args, env, cwd.as_deref(), hook, shutdown),
        UpstreamSpec::StreamableHttp { url, headers } => {
            streamable::connect(name, url, headers, http.clone(), hook, shutdown)
        }
        UpstreamSpec::Sse { url, headers } => {
            sse::connect(name, url, headers, http.clone(), hook, shutdown).await
        }
        UpstreamSpec::Api(_) => Err(UpstreamError::Connect(format!(
            "{name} is an HTTP API, not an MCP server; it has no MCP connection"
        ))),
    }
}

/// Header map from configured pairs; invalid names or values are refused with the offender named.
fn header_map(
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<http::HeaderMap, UpstreamError> {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| UpstreamError::Connect(format!("invalid header name {k:?}")))?;
        let value = http::HeaderValue::from_str(v)
            .map_err(|_| UpstreamError::Connect(format!("invalid value for header {k:?}")))?;
        map.insert(name, value);
    }
    Ok(map)
}
