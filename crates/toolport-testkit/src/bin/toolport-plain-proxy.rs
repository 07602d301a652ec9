//! `toolport-plain-proxy`: the plain reverse proxy `toolport-bench` compares the gateway with;
//! everything lives in `toolport_testkit::bench::plain_proxy`.

use std::net::SocketAddr;

use clap::Parser;
use toolport_testkit::bench::plain_proxy::Bodies;

/// Forwards every HTTP/1.1 request to one upstream, bodies unread (or, with `--json-rpc`, read).
#[derive(Debug, Parser)]
#[command(name = "toolport-plain-proxy", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free one (printed as `listening http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The upstream's address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    upstream: SocketAddr,
    /// Read each JSON-RPC body and swap the request's id for one of the proxy's own (and the
    /// answer's back), instead of streaming the bodies through unread.
    #[arg(long)]
    json_rpc: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let bodies = if cli.json_rpc {
        Bodies::JsonRpc
    } else {
        Bodies::Unread
    };
    match toolport_testkit::bench::plain_proxy::serve(cli.listen, cli.upstream, bodies).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("toolport-plain-proxy: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
