//! The admin commands (`toolport tenant|user|member|token|secret|api|server|endpoint|plan|usage|
//! audit|vault …`): the admin REST API of a running gateway on the command line. Each prints the API's JSON
//! answer; an error answer (RFC 9457 problem details) becomes a one-line message and a non-zero
//! exit.

mod backends;

pub use backends::{ApiCommand, ServerCommand};

use std::io::{IsTerminal as _, Read as _, Write as _};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Where the gateway is and who is asking.
#[derive(Debug, Args)]
pub struct Connection {
    /// The gateway's base URL.
    #[arg(
        long,
        env = "TOOLPORT_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// An API token with the `admin` scope (`operator` for tenants and users).
    #[arg(long, env = "TOOLPORT_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// The tenant (id or name) to act in; default: the token's own.
    #[arg(long, global = true)]
    tenant: Option<String>,
}

/// An admin command with the connection flags.
#[derive(Debug, Args)]
pub struct AdminArgs<C: Subcommand> {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: C,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// List tenants (an operator sees all).
    List,
    /// Create a tenant (operator).
    Create {
        name: String,
        /// free, pro, enterprise or a configured plan.
        #[arg(long, default_value = "free")]
        plan: String,
    },
    /// Show a tenant.
    Show { tenant: String },
    /// Delete a tenant with everything it owns (operator).
    Delete { tenant: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List users (operator).
    List,
    /// Create a user (operator).
    Create {
        email: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Delete a user with their memberships and tokens (operator).
    Delete { user: String },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// List the tenant's members.
    List,
    /// Add a user to the tenant.
    Add {
        user_id: String,
        /// owner, admin or member.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Change a member's role.
    Set { user_id: String, role: String },
    /// Remove a member.
    Remove { user_id: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List the tenant's tokens (never their text).
    List,
    /// Create a token; its text is printed this once.
    Create {
        /// A label ("laptop", "ci").
        name: String,
        /// Scopes: operator, admin, mcp, mcp:ENDPOINT (repeatable; default mcp).
        #[arg(long = "scope", default_values_t = ["mcp".to_string()])]
        scopes: Vec<String>,
        /// The user it belongs to; default: the caller.
        #[arg(long)]
        user_id: Option<String>,
        /// Lifetime in seconds; default: no expiry.
        #[arg(long)]
        expires_in: Option<u64>,
    },
    /// Revoke a token (it stops working at once).
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// List the tenant's secrets (names and dates only; values are write-only).
    List {
        /// Your own secrets (for servers using `${user_secret:NAME}`) instead of the tenant's.
        #[arg(long)]
        mine: bool,
    },
    /// Set a secret. The value is read from stdin (never from the command line, where other users
    /// could see it), or from an environment variable with --from-env.
    Set {
        name: String,
        /// Take the value from this environment variable instead of stdin.
        #[arg(long, value_name = "VAR")]
        from_env: Option<String>,
        /// Set your own secret (any role) instead of the tenant's.
        #[arg(long)]
        mine: bool,
    },
    /// Delete a secret.
    Delete {
        name: String,
        /// Delete your own secret instead of the tenant's.
        #[arg(long)]
        mine: bool,
    },
}

impl SecretCommand {
    fn mine(&self) -> bool {
        match self {
            Self::List { mine } | Self::Set { mine, .. } | Self::Delete { mine, .. } => *mine,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// List the tenant's virtual endpoints with their tools.
    List,
    /// Create a virtual endpoint, served at /mcp/SLUG (add tools with `endpoint tool add`).
    Create {
        /// Lower-case letters, digits, `_` and `-`.
        slug: String,
        #[arg(long, default_value = "")]
        description: String,
        /// How it exposes its tools: tools, dispatch or search.
        #[arg(long, default_value = "tools")]
        mode: String,
    },
    /// Show an endpoint with its tools.
    Show { slug: String },
    /// Change an endpoint's description or mode.
    Update {
        slug: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        mode: Option<String>,
    },
    /// Delete an endpoint; its sessions lose every tool at once.
    Delete { slug: String },
    /// Manage the tools an endpoint exposes.
    #[command(subcommand)]
    Tool(EndpointToolCommand),
}

#[derive(Debug, Subcommand)]
pub enum EndpointToolCommand {
    /// Expose a backend's tool on the endpoint (or replace the tool of that name).
    Add {
        slug: String,
        /// The backend: a server or API of the gateway's configuration.
        upstream: String,
        /// The backend's own name for the tool.
        tool: String,
        /// The name clients see (default: the backend's name).
        #[arg(long = "as", value_name = "NAME")]
        name: Option<String>,
        /// A description clients see instead of the backend's.
        #[arg(long)]
        description: Option<String>,
        /// Keep it in the selection without listing it or letting clients call it.
        #[arg(long)]
        hidden: bool,
    },
    /// Remove a tool (by the name clients see) from the endpoint.
    Remove { slug: String, name: String },
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// List the plans and their limits.
    List,
    /// Move a tenant to another plan (operator).
    Set { tenant: String, plan: String },
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// The tenant's calls summed over a range (default: this month so far) and its quota.
    Summary {
        /// Start, Unix seconds.
        #[arg(long)]
        from: Option<i64>,
        /// End (exclusive), Unix seconds.
        #[arg(long)]
        to: Option<i64>,
    },
    /// The tenant's latest calls, newest first.
    Events {
        /// Only this tool.
        #[arg(long)]
        tool: Option<String>,
        /// Only calls through this endpoint.
        #[arg(long)]
        endpoint: Option<String>,
        /// How many (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The latest audit entries, newest first: the tenant's, or with --all every tenant's
    /// (operator).
    List {
        /// Every entry of the gateway (operator).
        #[arg(long)]
        all: bool,
        /// How many (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Rotate the master key of the running gateway: a new key, every secret of every tenant
    /// re-sealed with it, the old key retired. Prints the new key's id and what was re-sealed.
    Rotate,
}

/// One admin command.
#[derive(Debug)]
pub enum AdminCommand {
    Tenant(TenantCommand),
    User(UserCommand),
    Member(MemberCommand),
    Token(TokenCommand),
    Secret(SecretCommand),
    Api(ApiCommand),
    Server(ServerCommand),
    Endpoint(EndpointCommand),
    Plan(PlanCommand),
    Usage(UsageCommand),
    Audit(AuditCommand),
    Vault(VaultCommand),
}

/// Runs `command` against the gateway and prints the answer.
pub async fn run(connection: Connection, command: AdminCommand) -> anyhow::Result<()> {
    let api = Api::new(connection)?;
    let answer = match command {
        AdminCommand::Tenant(c) => tenant(&api, c).await?,
        AdminCommand::User(c) => user(&api, c).await?,
        AdminCommand::Member(c) => {
            let t = api.tenant_path().await?;
            match c {
                MemberCommand::List => api.list(&format!("{t}/members")).await?,
                MemberCommand::Add { user_id, role } => {
                    api.send(
                        "POST",
                        &format!("{t}/members"),
                        Some(json!({"user_id": user_id, "role": role})),
                    )
                    .await?
                }
                MemberCommand::Set { user_id, role } => {
                    api.send(
                        "PUT",
                        &format!("{t}/members/{user_id}"),
                        Some(json!({"role": role})),
                    )
                    .await?
                }
                MemberCommand::Remove { user_id } => {
                    api.send("DELETE", &format!("{t}/members/{user_id}"), None)
                        .await?
                }
            }
        }
        AdminCommand::Token(c) => {
            let t = api.tenant_path().await?;
            match c {
                TokenCommand::List => api.list(&format!("{t}/tokens")).await?,
                TokenCommand::Create {
                    name,
                    scopes,
                    user_id,
                    expires_in,
                } => {
                    let mut body = json!({"name": name, "scopes": scopes});
                    if let Some(user_id) = user_id {
                        body["user_id"] = json!(user_id);
                    }
                    if let Some(seconds) = expires_in {
                        body["expires_in_seconds"] = json!(seconds);
                    }
                    api.send("POST", &format!("{t}/tokens"), Some(body)).await?
                }
                TokenCommand::Revoke { id } => {
                    api.send("DELETE", &format!("{t}/tokens/{id}"), None)
                        .await?
                }
            }
        }
        AdminCommand::Secret(c) => {
            // Your own secrets live in your token's tenant, whatever --tenant says.
            let t = if c.mine() {
                if api.tenant.is_some() {
                    bail!("--mine acts in your token's own tenant; leave out --tenant");
                }
                "me".to_owned()
            } else {
                api.tenant_path().await?
            };
            match c {
                SecretCommand::List { .. } => api.list(&format!("{t}/secrets")).await?,
                SecretCommand::Set { name, from_env, .. } => {
                    let value = secret_value(&name, from_env.as_deref())?;
                    api.send(
                        "PUT",
                        &format!("{t}/secrets/{name}"),
                        Some(json!({"value": value})),
                    )
                    .await?
                }
                SecretCommand::Delete { name, .. } => {
                    api.send("DELETE", &format!("{t}/secrets/{name}"), None)
                        .await?
                }
            }
        }
        AdminCommand::Api(c) => backends::api(&api, &api.tenant_path().await?, c).await?,
        AdminCommand::Server(c) => backends::server(&api, &api.tenant_path().await?, c).await?,
        AdminCommand::Endpoint(c) => {
            let t = api.tenant_path().await?;
            endpoint(&api, &format!("{t}/endpoints"), c).await?
        }
        AdminCommand::Plan(PlanCommand::List) => {
            api.send("GET", "plans", None).await?["items"].take()
        }
        AdminCommand::Plan(PlanCommand::Set { tenant, plan }) => {
            api.send(
                "PUT",
                &format!("tenants/{tenant}/plan"),
                Some(json!({"plan": plan})),
            )
            .await?
        }
        AdminCommand::Usage(c) => usage(&api, c).await?,
        AdminCommand::Audit(AuditCommand::List { all, limit }) => {
            let path = if all {
                "audit".to_owned()
            } else {
                format!("{}/audit", api.tenant_path().await?)
            };
            let limit = limit.to_string();
            api.request("GET", &path, &[("limit", &limit)], None)
                .await?["items"]
                .take()
        }
        AdminCommand::Vault(VaultCommand::Rotate) => api.send("POST", "vault/rotate", None).await?,
    };
    let mut out = std::io::stdout().lock();
    if !answer.is_null() {
        serde_json::to_writer_pretty(&mut out, &answer)?;
        writeln!(out)?;
    }
    Ok(())
}

async fn tenant(api: &Api, command: TenantCommand) -> anyhow::Result<Value> {
    match command {
        TenantCommand::List => api.list("tenants").await,
        TenantCommand::Create { name, plan } => {
            api.send("POST", "tenants", Some(json!({"name": name, "plan": plan})))
                .await
        }
        TenantCommand::Show { tenant } => api.send("GET", &format!("tenants/{tenant}"), None).await,
        TenantCommand::Delete { tenant } => {
            api.send("DELETE", &format!("tenants/{tenant}"), None).await
        }
    }
}

async fn user(api: &Api, command: UserCommand) -> anyhow::Result<Value> {
    match command {
        UserCommand::List => api.list("users").await,
        UserCommand::Create { email, name } => {
            // Without --name, the part of the email before `@` names the user.
            let name = if name.is_empty() {
                email.split('@').next().unwrap_or(&email).to_owned()
            } else {
                name
            };
            api.send("POST", "users", Some(json!({"email": email, "name": name})))
                .await
        }
        UserCommand::Delete { user } => api.send("DELETE", &format!("users/{user}"), None).await,
    }
}

async fn endpoint(api: &Api, base: &str, command: EndpointCommand) -> anyhow::Result<Value> {
    match command {
        EndpointCommand::List => api.list(base).await,
        EndpointCommand::Create {
            slug,
            description,
            mode,
        } => {
            let body = json!({"slug": slug, "description": description, "mode": mode});
            api.send("POST", base, Some(body)).await
        }
        EndpointCommand::Show { slug } => api.send("GET", &format!("{base}/{slug}"), None).await,
        EndpointCommand::Update {
            slug,
            description,
            mode,
        } => {
            let mut body = json!({});
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            if let Some(mode) = mode {
                body["mode"] = json!(mode);
            }
            api.send("PATCH", &format!("{base}/{slug}"), Some(body))
                .await
        }
        EndpointCommand::Delete { slug } => {
            api.send("DELETE", &format!("{base}/{slug}"), None).await
        }
        EndpointCommand::Tool(EndpointToolCommand::Add {
            slug,
            upstream,
            tool,
            name,
            description,
            hidden,
        }) => {
            let name = name.unwrap_or_else(|| tool.clone());
            let mut body = json!({"upstream": upstream, "tool": tool, "visible": !hidden});
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            api.send("PUT", &format!("{base}/{slug}/tools/{name}"), Some(body))
                .await
        }
        EndpointCommand::Tool(EndpointToolCommand::Remove { slug, name }) => {
            api.send("DELETE", &format!("{base}/{slug}/tools/{name}"), None)
                .await
        }
    }
}

async fn usage(api: &Api, command: UsageCommand) -> anyhow::Result<Value> {
    let t = api.tenant_path().await?;
    match command {
        UsageCommand::Summary { from, to } => {
            let (from, to) = (from.map(|v| v.to_string()), to.map(|v| v.to_string()));
            let query: Vec<(&str, &str)> = [("from", from.as_deref()), ("to", to.as_deref())]
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect();
            api.request("GET", &format!("{t}/usage"), &query, None)
                .await
        }
        UsageCommand::Events {
            tool,
            endpoint,
            limit,
        } => {
            let limit = limit.to_string();
            let mut query = vec![("limit", limit.as_str())];
            query.extend(tool.as_deref().map(|v| ("tool", v)));
            query.extend(endpoint.as_deref().map(|v| ("endpoint", v)));
            let mut page = api
                .request("GET", &format!("{t}/usage/events"), &query, None)
                .await?;
            Ok(page["items"].take())
        }
    }
}

/// The secret's value from an environment variable or stdin (one trailing newline dropped).
fn secret_value(name: &str, from_env: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = from_env {
        return std::env::var(var)
            .with_context(|| format!("environment variable {var} is not set"));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("value of secret {name} (end with Ctrl-D): ");
    }
    let mut value = String::new();
    stdin
        .lock()
        .read_to_string(&mut value)
        .context("cannot read the secret's value from stdin")?;
    let trimmed = value.strip_suffix('\n').unwrap_or(&value);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    if trimmed.is_empty() {
        bail!("the secret's value is empty; pipe it on stdin or use --from-env VAR");
    }
    Ok(trimmed.to_owned())
}

/// A client of `/api/v1`.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
    tenant: Option<String>,
}

impl Api {
    fn new(connection: Connection) -> anyhow::Result<Self> {
        let token = connection.token.context(
            "no API token: pass --token or set TOOLPORT_TOKEN (the first administrator's token is printed when the gateway first starts)",
        )?;
        Ok(Self {
            http: reqwest::Client::new(),
            base: format!("{}/api/v1", connection.url.trim_end_matches('/')),
            token,
            tenant: connection.tenant,
        })
    }

    /// `tenants/{tenant}` of `--tenant`, or of the token's own tenant.
    async fn tenant_path(&self) -> anyhow::Result<String> {
        let tenant = match &self.tenant {
            Some(t) => t.clone(),
            None => self.send("GET", "me", None).await?["tenant_id"]
                .as_str()
                .context("the gateway's /api/v1/me answer has no tenant_id")?
                .to_owned(),
        };
        Ok(format!("tenants/{tenant}"))
    }

    /// Every page of a list, as one JSON array.
    async fn list(&self, path: &str) -> anyhow::Result<Value> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("limit", "1000")];
            if let Some(cursor) = &after {
                query.push(("after", cursor));
            }
            let page = self.request("GET", path, &query, None).await?;
            if let Some(batch) = page["items"].as_array() {
                items.extend(batch.iter().cloned());
            }
            match page["next_after"].as_str() {
                Some(cursor) => after = Some(cursor.to_owned()),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        self.request(method, path, &[], body).await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self
            .http
            .request(method.clone(), &url)
            .query(query)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the gateway at {url}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let detail = problem["detail"]
                .as_str()
                .or_else(|| problem["title"].as_str())
                .unwrap_or(text.as_str());
            bail!("{method} {url}: {status}: {detail}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{method} {url}: the answer is not JSON"))
    }
}
