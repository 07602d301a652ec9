//! Test support for Toolport: `toolport-fixture`, an MCP server of our own that implements every
//! fixture the MCP conformance suite calls plus the tools the gateway tests and benchmarks need,
//! and helpers that spawn it from integration tests in any crate of the workspace.
//!
//! Layout:
//! - [`config`]: the command line of `toolport-fixture` and the settings it yields.
//! - `fixture`: what the server does, independent of transport: sessions, the 2026-07-28
//!   stateless rules, tools, resources, prompts, completions, notification fan-out.
//! - `transport`: how bytes reach it: newline-delimited stdio, Streamable HTTP at `/mcp`
//!   (JSON or SSE answers, resumable streams), legacy HTTP+SSE at `/sse` + `/message`.
//! - [`process`]: locating the built binary and spawning it with a read URL, killed on drop.
//! - [`bench`]: the gateway benchmark behind the `toolport-bench` binary (issue 2).
//! - [`run`], [`http_router`], [`sse_router`]: the entry point the binary calls, and the HTTP
//!   apps for in-process tests.
//!
//! The fixture keeps no logs on the request path and answers single requests with plain JSON
//! unless something (a notification, a server-to-client request) has to travel first.

pub mod bench;
pub mod config;
mod error;
pub mod files;
mod fixture;
pub mod process;
mod transport;

pub use config::{Args, FixtureConfig, TransportKind};
pub use error::FixtureError;
pub use process::{
    FixtureProcess, SpawnError, fixture_bin, spawn_announcing, spawn_http, spawn_listening,
    spawn_sse, stdio_command,
};

/// The Streamable HTTP app (`/mcp`) of a fixture, for in-process tests (`tower::ServiceExt::oneshot`
/// or `axum::serve` on a listener of your own). Host/Origin checks apply: send `Host: 127.0.0.1`.
pub fn http_router(config: FixtureConfig) -> axum::Router {
    transport::http::router(fixture::Fixture::new(config))
}

/// The legacy HTTP+SSE app (`GET /sse`, `POST /message?sessionId=`) of a fixture.
pub fn sse_router(config: FixtureConfig) -> axum::Router {
    transport::sse::router(fixture::Fixture::new(config))
}

/// Runs the fixture with parsed arguments until its transport ends (stdin closed, or forever
/// for the HTTP transports). The first stdout line of the HTTP transports is
/// `listening <url>`.
pub async fn run(args: Args) -> Result<(), FixtureError> {
    let fixture = fixture::Fixture::new(args.fixture_config());
    match args.transport {
        TransportKind::Stdio => transport::stdio::serve(fixture).await,
        TransportKind::Http => transport::http::serve(fixture, args.listen).await,
        TransportKind::Sse => transport::sse::serve(fixture, args.listen).await,
    }
}
