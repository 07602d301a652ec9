//! `toolport api …` and `toolport server …`: the tenant's own HTTP APIs and MCP servers, through
//! the admin API. A definition is built from flags over an optional `--definition` file (one
//! `apis` or `mcpServers` entry as JSON); an API description given as a file is read here and
//! uploaded, one given as a URL is fetched by the gateway.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::Api;

#[derive(Debug, Subcommand)]
pub enum ApiCommand {
    /// List the tenant's APIs with their state.
    List,
    /// Register an API: its operations become tools NAME__operation on /mcp.
    Add {
        /// Namespace of its tools: letters, digits, `.`, `-`, single `_`.
        name: String,
        #[command(flatten)]
        definition: ApiDefinition,
    },
    /// Replace an API's definition and description.
    Replace {
        name: String,
        #[command(flatten)]
        definition: ApiDefinition,
    },
    /// Show an API with its state.
    Show { name: String },
    /// Delete an API; its tools go at once.
    Remove { name: String },
}

/// What an API is, from flags over an optional definition file.
#[derive(Debug, clap::Args)]
pub struct ApiDefinition {
    /// The description: a local file (uploaded) or an http(s) URL (fetched by the gateway).
    spec: Option<String>,
    /// A JSON file holding one `apis` entry of the configuration file; flags override it.
    #[arg(long, value_name = "FILE")]
    definition: Option<PathBuf>,
    /// The API's base URL, when the description's `servers` is not the one to call.
    #[arg(long)]
    base_url: Option<String>,
    /// tools, dispatch or search.
    #[arg(long)]
    mode: Option<String>,
    /// Send `Authorization: Bearer` with the tenant's secret of this name.
    #[arg(long, value_name = "SECRET")]
    bearer_secret: Option<String>,
    /// Send each member's own secret of this name as the bearer token (per-user credentials).
    #[arg(long, value_name = "SECRET", conflicts_with = "bearer_secret")]
    bearer_user_secret: Option<String>,
    /// An extra header, NAME=VALUE (repeatable; VALUE may be ${secret:NAME}).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// List the tenant's MCP servers with their state.
    List,
    /// Register a remote MCP server: its tools become NAME__tool on /mcp.
    Add {
        /// Namespace of its tools: letters, digits, `.`, `-`, single `_`.
        name: String,
        #[command(flatten)]
        definition: ServerDefinition,
    },
    /// Replace a server's definition (a changed connection restarts it).
    Replace {
        name: String,
        #[command(flatten)]
        definition: ServerDefinition,
    },
    /// Show a server with its state.
    Show { name: String },
    /// Delete a server; it is stopped and its tools go.
    Remove { name: String },
}

/// What a server is, from flags over an optional definition file.
#[derive(Debug, clap::Args)]
pub struct ServerDefinition {
    /// The server's URL (Streamable HTTP, or legacy SSE with --sse).
    #[arg(id = "server_url", value_name = "URL")]
    url: Option<String>,
    /// A JSON file holding one `mcpServers` entry of the configuration file; flags override it.
    #[arg(long, value_name = "FILE")]
    definition: Option<PathBuf>,
    /// The server speaks the legacy HTTP+SSE transport.
    #[arg(long)]
    sse: bool,
    /// A header, NAME=VALUE (repeatable; VALUE may be ${secret:NAME} or ${user_secret:NAME}).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
}

/// Runs an `api` command against the tenant path `t`.
pub async fn api(api: &Api, t: &str, command: ApiCommand) -> anyhow::Result<Value> {
    let base = format!("{t}/apis");
    match command {
        ApiCommand::List => api.list(&base).await,
        ApiCommand::Show { name } => api.send("GET", &format!("{base}/{name}"), None).await,
        ApiCommand::Remove { name } => api.send("DELETE", &format!("{base}/{name}"), None).await,
        ApiCommand::Add { name, definition } => {
            let mut body = definition.body()?;
            body["name"] = json!(name);
            api.send("POST", &base, Some(body)).await
        }
        ApiCommand::Replace { name, definition } => {
            let body = definition.body()?;
            api.send("PUT", &format!("{base}/{name}"), Some(body)).await
        }
    }
}

/// Runs a `server` command against the tenant path `t`.
pub async fn server(api: &Api, t: &str, command: ServerCommand) -> anyhow::Result<Value> {
    let base = format!("{t}/servers");
    match command {
        ServerCommand::List => api.list(&base).await,
        ServerCommand::Show { name } => api.send("GET", &format!("{base}/{name}"), None).await,
        ServerCommand::Remove { name } => api.send("DELETE", &format!("{base}/{name}"), None).await,
        ServerCommand::Add { name, definition } => {
            let body = json!({"name": name, "definition": definition.entry()?});
            api.send("POST", &base, Some(body)).await
        }
        ServerCommand::Replace { name, definition } => {
            let body = json!({"definition": definition.entry()?});
            api.send("PUT", &format!("{base}/{name}"), Some(body)).await
        }
    }
}

impl ApiDefinition {
    /// The request body: `definition`, and `document` when the description is a local file.
    fn body(self) -> anyhow::Result<Value> {
        let mut entry = read_entry(self.definition.as_deref())?;
        let mut document = None;
        match self.spec {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                entry.insert("spec".into(), json!(url));
            }
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read the description {path}"))?;
                entry.remove("spec");
                document = Some(text);
            }
            None if entry.contains_key("spec") => {}
            None => bail!("give the description: a file to upload or an http(s) URL"),
        }
        if let Some(url) = self.base_url {
            entry.insert("baseUrl".into(), json!(url));
        }
        if let Some(mode) = self.mode {
            entry.insert("mode".into(), json!(mode));
        }
        let bearer = match (self.bearer_secret, self.bearer_user_secret) {
            (Some(name), _) => Some(format!("${{secret:{name}}}")),
            (None, Some(name)) => Some(format!("${{user_secret:{name}}}")),
            (None, None) => None,
        };
        if let Some(token) = bearer {
            entry.insert("auth".into(), json!({"type": "bearer", "token": token}));
        }
        add_headers(&mut entry, &self.headers)?;
        Ok(json!({"definition": entry, "document": document}))
    }
}

impl ServerDefinition {
    fn entry(self) -> anyhow::Result<Map<String, Value>> {
        let mut entry = read_entry(self.definition.as_deref())?;
        if let Some(url) = self.url {
            entry.insert("url".into(), json!(url));
        }
        if self.sse {
            entry.insert("type".into(), json!("sse"));
        }
        if !entry.contains_key("url") && !entry.contains_key("command") {
            bail!("give the server's URL (or a --definition file)");
        }
        add_headers(&mut entry, &self.headers)?;
        Ok(entry)
    }
}

/// The JSON object in `path`, or an empty one.
fn read_entry(path: Option<&Path>) -> anyhow::Result<Map<String, Value>> {
    let Some(path) = path else {
        return Ok(Map::new());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))? {
        Value::Object(entry) => Ok(entry),
        _ => bail!(
            "{} must hold a JSON object (one configuration entry)",
            path.display()
        ),
    }
}

fn add_headers(entry: &mut Map<String, Value>, headers: &[String]) -> anyhow::Result<()> {
    for header in headers {
        let Some((name, value)) = header.split_once('=') else {
            bail!("--header {header:?}: write NAME=VALUE");
        };
        let map = entry
            .entry("headers")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(map) = map else {
            bail!("`headers` in the definition file must be an object");
        };
        map.insert(name.to_owned(), json!(value));
    }
    Ok(())
}
