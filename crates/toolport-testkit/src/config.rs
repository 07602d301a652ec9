//! The command line of `toolport-fixture` and the transport-independent settings it yields.

use std::net::SocketAddr;

use clap::{Parser, ValueEnum};
use toolport_protocol::ProtocolVersion;

/// Which transport the fixture serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportKind {
    /// Newline-delimited JSON-RPC on stdin/stdout.
    Stdio,
    /// Streamable HTTP at `/mcp` (and 2026-07-28 stateless requests on the same path).
    Http,
    /// Legacy HTTP+SSE: `GET /sse` plus `POST /message?sessionId=`.
    Sse,
}

/// `toolport-fixture --transport stdio|http|sse [--listen ADDR] [--name NAME]
/// [--tools-prefix P] [--max-protocol REV]`
#[derive(Debug, Clone, Parser)]
#[command(
    name = "toolport-fixture",
    version,
    about = "MCP fixture server for Toolport tests and the conformance suite"
)]
pub struct Args {
    /// Transport to serve.
    #[arg(long, value_enum, default_value = "stdio")]
    pub transport: TransportKind,
    /// Address for the HTTP transports; port 0 picks a free port. The bound URL is printed as
    /// the first stdout line: `listening http://ADDR/mcp` (or `/sse`).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// `serverInfo.name`, so that two instances are distinguishable.
    #[arg(long, default_value = "toolport-fixture")]
    pub name: String,
    /// Prefix added to every tool name (conformance runs need it empty).
    #[arg(long, default_value = "")]
    pub tools_prefix: String,
    /// Newest protocol revision to speak; below 2026-07-28 the fixture behaves like a backend
    /// of that era (no `server/discover`, no stateless requests).
    #[arg(long, default_value = "2026-07-28", value_parser = parse_revision)]
    pub max_protocol: ProtocolVersion,
}

fn parse_revision(s: &str) -> Result<ProtocolVersion, String> {
    ProtocolVersion::parse(s).ok_or_else(|| {
        format!(
            "unknown protocol revision {s:?}; known: {}",
            ProtocolVersion::supported_strings().join(", ")
        )
    })
}

/// Settings that shape what the fixture answers, whatever the transport.
#[derive(Debug, Clone)]
pub struct FixtureConfig {
    pub name: String,
    pub tools_prefix: String,
    pub max_protocol: ProtocolVersion,
}

impl Default for FixtureConfig {
    fn default() -> Self {
        Self {
            name: "toolport-fixture".into(),
            tools_prefix: String::new(),
            max_protocol: ProtocolVersion::LATEST,
        }
    }
}

impl Args {
    pub fn fixture_config(&self) -> FixtureConfig {
        FixtureConfig {
            name: self.name.clone(),
            tools_prefix: self.tools_prefix.clone(),
            max_protocol: self.max_protocol,
        }
    }
}
