//! `toolport-plain-proxy`: the plain reverse proxy `toolport-bench` compares the gateway with;
//! everything lives in `toolport_testkit::bench::plain_proxy`.

use std::net::SocketAddr;

use clap::Parser;

/// Forwards every HTTP/1.1 request to one upstream, bodies unread.
#[derive(Debug, Parser)]
#[command(name = "toolport-plain-proxy", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free one (printed as `listening http://ADDR`).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The upstream's address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    upstream: SocketAddr,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match toolport_testkit::bench::plain_proxy::serve(cli.listen, cli.upstream).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("toolport-plain-proxy: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
