//! The commands: wiring configuration, gateway, transports, hot reload and signals together.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use toolport_admin::{AdminState, Authenticate};
use toolport_gateway::Gateway;
use toolport_gateway::config::McpAccess;
use toolport_metering::CallMeter;
use toolport_server::AppState;
use toolport_store::{SqliteStore, Store};

use crate::admin_cli::{self, AdminCommand};
use crate::cli::{Cli, Command, DataDirArg};
use crate::config::{self, Config, ConfigError};
use crate::endpoints::{self, EndpointSync};
use crate::metering::Metering;
use crate::registrations::Registrations;
use crate::rotation::GatewayRotation;
use crate::secrets::ConfigSecrets;
use crate::tenancy::{self, Tenancy};
use crate::user_credentials::StoredUserCredentials;

/// How long `toolport stdio` waits for its backends' first start before serving.
const STDIO_SETTLE: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            config,
            listen,
            data,
        } => serve(&config, listen, data).await,
        Command::Stdio { config, data } => stdio(&config, data).await,
        Command::Check { config } => check(&config),
        Command::Call(args) => crate::call::run(args).await,
        Command::Tenant(a) => admin_cli::run(a.connection, AdminCommand::Tenant(a.command)).await,
        Command::User(a) => admin_cli::run(a.connection, AdminCommand::User(a.command)).await,
        Command::Member(a) => admin_cli::run(a.connection, AdminCommand::Member(a.command)).await,
        Command::Token(a) => admin_cli::run(a.connection, AdminCommand::Token(a.command)).await,
        Command::Secret(a) => admin_cli::run(a.connection, AdminCommand::Secret(a.command)).await,
        Command::Plan(a) => admin_cli::run(a.connection, AdminCommand::Plan(a.command)).await,
        Command::Usage(a) => admin_cli::run(a.connection, AdminCommand::Usage(a.command)).await,
        Command::Audit(a) => admin_cli::run(a.connection, AdminCommand::Audit(a.command)).await,
        Command::Vault(a) => admin_cli::run(a.connection, AdminCommand::Vault(a.command)).await,
        Command::Api(a) => admin_cli::run(a.connection, AdminCommand::Api(a.command)).await,
        Command::Server(a) => admin_cli::run(a.connection, AdminCommand::Server(a.command)).await,
        Command::Endpoint(a) => {
            admin_cli::run(a.connection, AdminCommand::Endpoint(a.command)).await
        }
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

/// The configuration as first read, with the secrets it was built from.
struct Loaded {
    secrets: Arc<ConfigSecrets>,
    config: Config,
}

/// Reads the administrator's secrets and the configuration file (nothing is started yet).
async fn load(path: &Path, tenancy: &Tenancy) -> anyhow::Result<Loaded> {
    let secrets = Arc::new(
        ConfigSecrets::load(
            &tenancy.store,
            tenancy.vault.clone(),
            tenancy.admin_tenant.id.clone(),
        )
        .await?,
    );
    let config = config::load(path, &|name| secrets.lookup(name))?;
    Ok(Loaded { secrets, config })
}

/// What `start` leaves running beside the gateway, for the admin API.
struct Started {
    gateway: Arc<Gateway>,
    endpoints: Arc<EndpointSync>,
    registrations: Arc<Registrations>,
}

/// Starts the gateway with `meter` as its call gate, the tenants' registered backends and their
/// virtual endpoints, and keeps it in line with the file (and the secrets it uses) and the
/// registrations until shutdown. A file that names a server or endpoint like a virtual endpoint
/// is refused: at start with an error, on reload with a log line.
async fn start(
    path: &Path,
    tenancy: &Tenancy,
    loaded: Loaded,
    meter: Arc<CallMeter<SqliteStore>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Started> {
    let Loaded {
        secrets,
        config: initial,
    } = loaded;
    let stored = tenancy
        .store
        .all_endpoints()
        .await
        .context("cannot read the virtual endpoints")?;
    if let Some(message) = endpoints::clash(&initial.gateway, |name| {
        stored
            .iter()
            .find(|e| e.slug == name)
            .map(|e| e.tenant_id.clone())
    }) {
        anyhow::bail!("{}: {message}", path.display());
    }
    let (tx, mut rx) = watch::channel(initial.clone());
    let registrations = Arc::new(Registrations::new(
        tenancy.store.clone(),
        tenancy.vault.clone(),
        rx.clone(),
    ));
    let merged = registrations.merge(&initial).await;
    let gateway = Gateway::start(merged, shutdown.child_token()).await;
    gateway.set_call_gate(meter.clone());
    gateway.set_administrator_tenant(tenancy.admin_tenant.name.clone());
    gateway.set_user_credentials(Arc::new(StoredUserCredentials::new(
        tenancy.store.clone(),
        tenancy.vault.clone(),
    )));
    let served = endpoints::served(&tenancy.store, &gateway.config(), stored)
        .await
        .context("cannot read the virtual endpoints")?;
    gateway.set_virtual_endpoints(served);
    let sync = Arc::new(EndpointSync::new(
        gateway.clone(),
        tenancy.store.clone(),
        tenancy.admin_tenant.id.clone(),
    ));
    registrations.attach(gateway.clone(), sync.clone());
    registrations.clone().spawn_secret_poller(shutdown.clone());
    let (rebuild_tx, rebuild_rx) = tokio::sync::mpsc::unbounded_channel();
    secrets
        .clone()
        .spawn_poller(tenancy.store.clone(), rebuild_tx, shutdown.clone());
    let file = path.to_path_buf();
    let serving = gateway.clone();
    let loader: config::watch::Loader = Box::new(move || {
        let config = config::load(&file, &|name| secrets.lookup(name))?;
        let owner_of = |name: &str| serving.virtual_endpoint(name).map(|e| e.tenant_id.clone());
        match endpoints::clash(&config.gateway, owner_of) {
            Some(message) => Err(ConfigError::Clash {
                path: file.clone(),
                message,
            }),
            None => Ok(config),
        }
    });
    config::watch::spawn(path.to_path_buf(), loader, rebuild_rx, tx, shutdown.clone())
        .with_context(|| format!("cannot watch {} for changes", path.display()))?;
    let g = gateway.clone();
    let stop = shutdown.clone();
    let applier = registrations.clone();
    let mut requests = registrations.requests();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                changed = rx.changed() => if changed.is_err() { return },
                changed = requests.changed() => if changed.is_err() { return },
            }
            let version = *requests.borrow_and_update();
            let file = rx.borrow_and_update().clone();
            if file.gateway.http.listen != g.config().http.listen {
                tracing::warn!(
                    "toolport.listen changed; restart toolport to listen on {}",
                    file.gateway.http.listen
                );
            }
            meter.configure(&file.metering);
            g.apply(applier.merge(&file).await).await;
            applier.applied(version);
        }
    });
    Ok(Started {
        gateway,
        endpoints: sync,
        registrations,
    })
}

async fn serve(
    path: &Path,
    listen: Option<std::net::SocketAddr>,
    data: DataDirArg,
) -> anyhow::Result<()> {
    let shutdown = shutdown_on_signals();
    let tenancy = tenancy::open(&tenancy::data_dir(data.dir)?).await?;
    let loaded = load(path, &tenancy).await?;
    let secrets = loaded.secrets.clone();
    let config = loaded.config.gateway.clone();
    let addr = listen.unwrap_or(config.http.listen);
    if config.http.mcp_access == McpAccess::Open && !addr.ip().is_loopback() {
        anyhow::bail!(
            "toolport.mcpAccess is \"open\" but the gateway would listen on {addr}, which is not a loopback address; use \"token\" or listen on 127.0.0.1"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let metering = Metering::start(&tenancy, &loaded.config.metering);
    let started = start(path, &tenancy, loaded, metering.meter.clone(), &shutdown).await?;
    let gateway = started.gateway.clone();
    match config.http.mcp_access {
        McpAccess::Token => tracing::info!(
            "toolport listening on http://{bound}/mcp ({} servers); MCP and admin routes need an API token",
            config.servers.len()
        ),
        McpAccess::Open => tracing::warn!(
            "toolport listening on http://{bound}/mcp ({} servers); the MCP routes are open (toolport.mcpAccess = \"open\"): anyone who can reach this loopback address can use every tool",
            config.servers.len()
        ),
    }
    let admin = admin_api(&tenancy, secrets, metering.meter.clone(), started);
    let auth: Arc<dyn Authenticate> = tenancy.auth.clone();
    toolport_server::serve(
        listener,
        AppState::new(gateway.clone(), Some(auth)),
        admin,
        shutdown.clone(),
    )
    .await
    .context("HTTP server failed")?;
    gateway.stop().await;
    metering.drain().await;
    tenancy.store.close().await;
    Ok(())
}

/// The admin REST API at /api/v1, sharing the MCP edge's authenticator (a revocation through the
/// API stops the token on the MCP routes at once), metering through the gateway's call meter,
/// rotating the master key in this process, and managing endpoints and registered backends in
/// the running gateway.
fn admin_api(
    tenancy: &Tenancy,
    secrets: Arc<ConfigSecrets>,
    meter: Arc<CallMeter<SqliteStore>>,
    started: Started,
) -> axum::Router {
    let rotation = Arc::new(GatewayRotation::new(
        tenancy.store.clone(),
        tenancy.vault.clone(),
        tenancy.key_source.clone(),
        secrets,
    ));
    toolport_admin::router(
        AdminState::new(
            tenancy.store.clone(),
            tenancy.vault.clone(),
            tenancy.auth.clone(),
            meter,
        )
        .with_key_rotation(rotation)
        .with_endpoint_catalog(started.endpoints)
        .with_backend_registry(started.registrations)
        .with_administrator_tenant(tenancy.admin_tenant.id.clone()),
    )
}

async fn stdio(path: &Path, data: DataDirArg) -> anyhow::Result<()> {
    let shutdown = shutdown_on_signals();
    let tenancy = tenancy::open(&tenancy::data_dir(data.dir)?).await?;
    let loaded = load(path, &tenancy).await?;
    let metering = Metering::start(&tenancy, &loaded.config.metering);
    let gateway = start(path, &tenancy, loaded, metering.meter.clone(), &shutdown)
        .await?
        .gateway;
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
    metering.drain().await;
    tenancy.store.close().await;
    Ok(())
}

fn check(path: &Path) -> anyhow::Result<()> {
    // Secrets are not read here: any name passes, and the values stay out of the output.
    let config = config::load(path, &|_| Ok("<secret>".to_owned()))?.gateway;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{}: valid; {} servers",
            path.display(),
            config.servers.len()
        );
        for (name, server) in &config.servers {
            let per_user = match &server.per_user {
                Some(p) => format!(", per user: {}", p.secrets.join(", ")),
                None => String::new(),
            };
            println!(
                "  {name} ({}, prefix {:?}, tags {:?}{per_user})",
                server.spec.kind(),
                server.prefix,
                server.tags
            );
        }
    }
    Ok(())
}
