//! The errors that end the fixture process (I/O at start-up); request-level problems are
//! JSON-RPC errors and never reach this type.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    #[error("stdio failed: {0}")]
    Stdio(std::io::Error),
}
