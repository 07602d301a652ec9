//! The commands: wiring configuration, gateway, transports, hot reload and signals together.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use toolport_gateway::{Gateway, GatewayConfig};
use toolport_server::AppState;

use crate::cli::{Cli, Command};
use crate::config;

/// How long `toolport stdio` waits for its backends' first start before serving.
const STDIO_SETTLE: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, listen } => serve(&config, listen).await,
        Command::Stdio { config } => stdio(&config).await,
        Command::Check { config } => check(&config),
        Command::Call(args) => crate::call::run(args).await,
        Command::Convert {
            source,
            format,
            mode,
            json,
            name,
            allow_hosts,
        } => {
            crate::convert::convert(crate::convert::ConvertArgs {
                source,
                format,
                mode,
                json,
                name,
                allow_hosts,
            })
            .await
        }
    }
}

/// Cancels the returned token on SIGINT or SIGTERM.
fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        t.cancel();
    });
    token
}

/// Starts the gateway and keeps it in line with the file until shutdown.
async fn start(
    path: &Path,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Arc<Gateway>, GatewayConfig)> {
    let initial = config::load(path)?;
    let gateway = Gateway::start(initial.clone(), shutdown.child_token()).await;
    let (tx, mut rx) = watch::channel(initial.clone());
    config::watch::spawn(path.to_path_buf(), tx, shutdown.clone())
        .with_context(|| format!("cannot watch {} for changes", path.display()))?;
    let g = gateway.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                changed = rx.changed() => if changed.is_err() { return },
            }
            let next = rx.borrow_and_update().clone();
            if next.http.listen != g.config().http.listen {
                tracing::warn!(
                    "toolport.listen changed; restart toolport to listen on {}",
                    next.http.listen
                );
            }
            g.apply(next).await;
        }
    });
    Ok((gateway, initial))
}

async fn serve(path: &Path, listen: Option<std::net::SocketAddr>) -> anyhow::Result<()> {
    let shutdown = shutdown_on_signals();
    let (gateway, config) = start(path, &shutdown).await?;
    let addr = listen.unwrap_or(config.http.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(
        "toolport listening on http://{bound}/mcp ({} servers); the endpoint needs no token, so keep it on loopback",
        config.servers.len()
    );
    toolport_server::serve(listener, AppState::new(gateway.clone()), shutdown.clone())
        .await
        .context("HTTP server failed")?;
    gateway.stop().await;
    Ok(())
}

async fn stdio(path: &Path) -> anyhow::Result<()> {
    let shutdown = shutdown_on_signals();
    let (gateway, _) = start(path, &shutdown).await?;
    // Desktop clients list tools as soon as they have spawned us: answer with the full catalog.
    gateway.settle(STDIO_SETTLE).await;
    toolport_server::stdio::serve(
        gateway.clone(),
        tokio::io::stdin(),
        tokio::io::stdout(),
        shutdown.clone(),
    )
    .await?;
    gateway.stop().await;
    Ok(())
}

fn check(path: &Path) -> anyhow::Result<()> {
    let config = config::load(path)?;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{}: valid; {} servers",
            path.display(),
            config.servers.len()
        );
        for (name, server) in &config.servers {
            println!(
                "  {name} ({}, prefix {:?}, tags {:?})",
                server.spec.kind(),
                server.prefix,
                server.tags
            );
        }
    }
    Ok(())
}
