//! The command line, declared with clap.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "toolport",
    version,
    about = "One MCP endpoint for every tool a team has"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the store, the vault's master key and the first administrator live.
#[derive(Debug, clap::Args)]
pub struct DataDirArg {
    /// Data directory (created on first run); default $XDG_DATA_HOME/toolport or
    /// ~/.local/share/toolport.
    #[arg(long = "data-dir", env = "TOOLPORT_DATA_DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway over HTTP (Streamable HTTP at /mcp, legacy SSE at /sse).
    Serve {
        /// The configuration file (mcpServers JSON as Claude Desktop, Cursor or VS Code write it, or TOML).
        #[arg(long, short, env = "TOOLPORT_CONFIG")]
        config: PathBuf,
        /// Address to listen on; overrides toolport.listen (default 127.0.0.1:8080).
        #[arg(long, short)]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Run the gateway over this process's stdin/stdout, for clients that spawn commands.
    Stdio {
        #[arg(long, short, env = "TOOLPORT_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Print the tools an API description (OpenAPI, Swagger, Postman, GraphQL) yields.
    Convert {
        /// A file path or an http(s) URL.
        source: String,
        /// openapi, swagger, postman or graphql (detected when absent).
        #[arg(long)]
        format: Option<toolport_import::Format>,
        /// tools, dispatch or search (chosen by operation count when absent).
        #[arg(long)]
        mode: Option<toolport_import::Mode>,
        /// Print {"tools": [...], "diagnostics": [...]} as JSON.
        #[arg(long)]
        json: bool,
        /// The API's name (prefixes dispatch/search tools); default: the file's stem.
        #[arg(long)]
        name: Option<String>,
        /// Hosts a URL may reach although they are loopback or private (e.g. localhost).
        #[arg(long = "allow-host")]
        allow_hosts: Vec<String>,
    },
    /// Act as an MCP client: list a server's tools or call one, printing JSON.
    Call(crate::call::CallArgs),
    /// Check a configuration file and print what it defines.
    Check {
        #[arg(long, short, env = "TOOLPORT_CONFIG")]
        config: PathBuf,
    },
    /// Manage tenants of a running gateway (operator).
    Tenant(crate::admin_cli::AdminArgs<crate::admin_cli::TenantCommand>),
    /// Manage users of a running gateway (operator).
    User(crate::admin_cli::AdminArgs<crate::admin_cli::UserCommand>),
    /// Manage a tenant's members.
    Member(crate::admin_cli::AdminArgs<crate::admin_cli::MemberCommand>),
    /// Manage API tokens.
    Token(crate::admin_cli::AdminArgs<crate::admin_cli::TokenCommand>),
    /// Manage vault secrets (write-only values).
    Secret(crate::admin_cli::AdminArgs<crate::admin_cli::SecretCommand>),
    /// Manage the tenant's own HTTP APIs (OpenAPI, Swagger, Postman, GraphQL).
    Api(crate::admin_cli::AdminArgs<crate::admin_cli::ApiCommand>),
    /// Manage the tenant's own MCP servers.
    Server(crate::admin_cli::AdminArgs<crate::admin_cli::ServerCommand>),
    /// Manage the tenant's virtual MCP endpoints (/mcp/SLUG) and their tools.
    Endpoint(crate::admin_cli::AdminArgs<crate::admin_cli::EndpointCommand>),
    /// Plans and their quotas; move a tenant to another plan (operator).
    Plan(crate::admin_cli::AdminArgs<crate::admin_cli::PlanCommand>),
    /// A tenant's metered tool calls and quota.
    Usage(crate::admin_cli::AdminArgs<crate::admin_cli::UsageCommand>),
    /// The audit log: tool calls and administrative changes.
    Audit(crate::admin_cli::AdminArgs<crate::admin_cli::AuditCommand>),
    /// The vault's master key (operator).
    Vault(crate::admin_cli::AdminArgs<crate::admin_cli::VaultCommand>),
}
