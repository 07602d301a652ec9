//! The transports that carry JSON-RPC to and from the fixture.
//!
//! - `stdio`: newline-delimited messages on stdin/stdout.
//! - `http`: Streamable HTTP at `/mcp`, stateful sessions and 2026-07-28 stateless requests.
//! - `sse`: legacy HTTP+SSE (`GET /sse`, `POST /message?sessionId=`).
//! - `guard`: the Host/Origin checks both HTTP transports apply (DNS rebinding defence).
//! - `body`: SSE framing and streaming bodies shared by the HTTP transports.
//! - `http_headers`, `http_stream`: the 2026-07-28 header rules and the resumable SSE streams
//!   of `http`.

pub(crate) mod body;
pub(crate) mod guard;
pub(crate) mod http;
mod http_headers;
mod http_stream;
pub(crate) mod sse;
pub(crate) mod stdio;

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::error::FixtureError;

/// Binds `addr` and announces the URL of `path` as the first stdout line.
pub(crate) async fn bind_and_announce(
    addr: SocketAddr,
    path: &str,
) -> Result<TcpListener, FixtureError> {
    use std::io::Write as _;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| FixtureError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| FixtureError::Bind { addr, source })?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening http://{bound}{path}").map_err(FixtureError::Stdio)?;
    stdout.flush().map_err(FixtureError::Stdio)?;
    Ok(listener)
}
