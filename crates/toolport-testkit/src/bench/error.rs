//! What can stop a benchmark run: a binary that is missing or will not start, a peer that does
//! not answer as MCP says it should, or a deadline that passed.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(
        "cannot start {bin}: {source} (build the release binaries with `cargo build --release -p toolport -p toolport-testkit --bins`, or set {env})"
    )]
    Start {
        bin: PathBuf,
        env: &'static str,
        source: std::io::Error,
    },
    #[error("starting the fixture failed: {0}")]
    Fixture(#[from] crate::process::SpawnError),
    #[error("cannot write the temporary gateway config: {0}")]
    Config(std::io::Error),
    #[error("cannot find a free loopback port: {0}")]
    Port(std::io::Error),
    #[error("connecting to {addr} failed: {source}")]
    Connect {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP exchange with {what} failed: {source}")]
    Http { what: String, source: hyper::Error },
    #[error("{what}: {detail}")]
    Protocol { what: String, detail: String },
    #[error("{what} did not happen within {limit:?}")]
    Timeout { what: String, limit: Duration },
    #[error("cannot read the memory of process {pid}: {source}")]
    Proc { pid: u32, source: std::io::Error },
}

impl BenchError {
    pub(crate) fn protocol(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Protocol {
            what: what.into(),
            detail: detail.into(),
        }
    }
}
