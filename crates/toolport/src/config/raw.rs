//! The configuration file as users write it: the `mcpServers` map of Claude Desktop, Cursor and
//! VS Code (`servers` is accepted too), plus Toolport's own settings under `toolport` and a few
//! optional keys per server. Deserialised with serde; validation happens in `validate`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toolport_import::Selector;

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RawFile {
    #[serde(default)]
    pub mcp_servers: Option<BTreeMap<String, RawServer>>,
    /// VS Code's `.vscode/mcp.json` spelling.
    #[serde(default)]
    pub servers: Option<BTreeMap<String, RawServer>>,
    /// HTTP APIs described by OpenAPI, Swagger, Postman or GraphQL documents.
    #[serde(default)]
    pub apis: BTreeMap<String, RawApi>,
    #[serde(default)]
    pub toolport: RawSettings,
    // Other top-level keys (a desktop client's own settings) are ignored.
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RawServer {
    #[serde(rename = "type", alias = "transport")]
    pub kind: Option<String>,
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    // Toolport's own per-server settings.
    #[serde(default)]
    pub tools: RawToolFilter,
    #[serde(default)]
    pub tags: Vec<String>,
    pub timeout_ms: Option<u64>,
    pub prefix: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    /// Tenants (by name, or `*`) granted this server besides the administrator's.
    #[serde(default)]
    pub tenants: Vec<String>,
    pub circuit_breaker: Option<RawCircuitBreaker>,
    /// Seconds an unused per-user instance keeps running (servers using `${user_secret:…}`).
    pub idle_seconds: Option<u64>,
    /// Keys other clients add (e.g. `autoApprove`); kept to warn about likely typos.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawToolFilter {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawSettings {
    pub listen: Option<String>,
    pub request_timeout_ms: Option<u64>,
    pub ping_interval_ms: Option<u64>,
    pub page_size: Option<usize>,
    pub namespacing: Option<bool>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    pub max_body_bytes: Option<usize>,
    pub session_idle_seconds: Option<u64>,
    /// "token" (default) or "open".
    pub mcp_access: Option<String>,
    #[serde(default)]
    pub endpoints: BTreeMap<String, RawEndpoint>,
    #[serde(default)]
    pub ssrf: RawSsrf,
    #[serde(default)]
    pub limits: toolport_metering::RateLimits,
    #[serde(default)]
    pub plans: toolport_metering::PlansConfig,
    #[serde(default)]
    pub audit_redaction: toolport_metering::RedactionConfig,
    pub circuit_breaker: Option<RawCircuitBreaker>,
    #[serde(default)]
    pub tasks: RawTasks,
    /// Whether tenants may register stdio MCP servers (commands run on this host) through the
    /// admin API; remote servers and APIs need no permission.
    pub allow_registered_stdio: Option<bool>,
}

/// `toolport.tasks`: tool calls run as tasks for clients of the tasks extension.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawTasks {
    /// A task-supporting call answered within this many milliseconds gets no task.
    pub sync_window_ms: Option<u64>,
    /// Seconds a task is kept from its creation.
    pub ttl_seconds: Option<u64>,
}

/// `circuitBreaker`, in `toolport` (every server) or on one server or API (overriding it).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawCircuitBreaker {
    /// Consecutive failures that open the circuit; 0 turns the breaker off.
    pub failure_threshold: Option<u32>,
    /// Seconds an open circuit refuses calls (fractions allowed).
    pub open_seconds: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawSsrf {
    /// Hosts admitted although they resolve to loopback or private addresses.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawApi {
    /// Path (relative to the config file) or http(s) URL of the description (empty when the
    /// description of a registered API was uploaded).
    #[serde(default)]
    pub spec: String,
    pub format: Option<String>,
    pub base_url: Option<String>,
    pub auth: Option<RawAuth>,
    /// Operations to keep (by tag, operation, path glob, method); empty keeps all.
    #[serde(default)]
    pub include: Selector,
    #[serde(default)]
    pub exclude: Selector,
    pub mode: Option<String>,
    pub dispatch_threshold: Option<usize>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub timeout_ms: Option<u64>,
    pub max_response_bytes: Option<usize>,
    /// Postman `{{variables}}`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub prefix: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    /// Tenants (by name, or `*`) granted this API besides the administrator's.
    #[serde(default)]
    pub tenants: Vec<String>,
    pub circuit_breaker: Option<RawCircuitBreaker>,
    /// Seconds an unused per-user instance keeps running (APIs using `${user_secret:…}`).
    pub idle_seconds: Option<u64>,
}

/// Upstream credentials of an API, tagged by `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum RawAuth {
    None,
    #[serde(rename_all = "camelCase")]
    ApiKey {
        #[serde(rename = "in", default = "header_location")]
        location: String,
        name: String,
        value: String,
    },
    Bearer {
        token: String,
    },
    Basic {
        username: String,
        password: String,
    },
    #[serde(rename = "oauth2", rename_all = "camelCase")]
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        scopes: Vec<String>,
        audience: Option<String>,
        #[serde(default)]
        credentials_in_body: bool,
    },
}

fn header_location() -> String {
    "header".into()
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawEndpoint {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub servers: Vec<String>,
}
