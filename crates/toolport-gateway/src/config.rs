//! The one validated internal form of configuration. Every source (the config file, and the APIs
//! and servers tenants register through the admin API) is turned into a [`GatewayConfig`] before
//! the gateway sees it, and new versions reach the gateway through a watch channel.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use toolport_upstream::UpstreamSpec;
use toolport_upstream::api::ApiAuth;

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    pub servers: BTreeMap<String, ServerConfig>,
    /// Named endpoints (`/mcp/{name}`) selecting servers by tag, like 1MCP presets.
    pub endpoints: BTreeMap<String, EndpointConfig>,
    pub settings: Settings,
    pub http: HttpSettings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub spec: UpstreamSpec,
    pub tools: ToolFilter,
    pub tags: Vec<String>,
    /// Deadline for one call to this server.
    pub timeout: Duration,
    /// The namespace of this server's names on aggregated endpoints (default: the server name).
    pub prefix: String,
    /// Tenants (by name) granted this backend besides the administrator tenant, which owns the
    /// configuration and always has it; `*` grants every tenant. Empty: the administrator only.
    pub tenants: Vec<String>,
    /// The tenant (by name) that registered this backend through the admin API: it alone sees
    /// it, whatever `tenants` says. `None` for the configuration file's backends.
    pub owner: Option<String>,
    /// When calls to this server are refused after repeated failures.
    pub circuit_breaker: CircuitBreakerSettings,
    /// Set when the definition references a user's own secrets (`${user_secret:NAME}`): the
    /// server then runs one instance per (user, server), started on demand.
    pub per_user: Option<PerUser>,
}

impl ServerConfig {
    /// Whether the tenant named `tenant` may use this backend (compose it into its endpoints);
    /// `administrator` says whether that tenant is the one owning the configuration.
    pub fn granted_to(&self, tenant: &str, administrator: bool) -> bool {
        match &self.owner {
            Some(owner) => owner == tenant,
            None => administrator || self.tenants.iter().any(|t| t == "*" || t == tenant),
        }
    }

    /// True when switching from `self` to `other` needs a new connection; filter, tag, timeout
    /// and circuit breaker changes apply to the running connection.
    pub fn needs_restart(&self, other: &Self) -> bool {
        self.spec != other.spec || self.per_user != other.per_user
    }

    /// This definition with every `${user_secret:NAME}` replaced by `secrets(NAME)`, for a
    /// per-user instance. Only the places that may hold credentials are filled in: a stdio
    /// server's environment, an HTTP or SSE server's headers, and an API's headers and auth
    /// values. The error is the name of the first secret `secrets` does not have.
    pub fn with_user_secrets(
        &self,
        secrets: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, String> {
        let Some(per_user) = &self.per_user else {
            return Ok(self.clone());
        };
        let fill = |value: &mut String| -> Result<(), String> {
            for name in &per_user.secrets {
                let placeholder = user_secret_placeholder(name);
                if value.contains(&placeholder) {
                    let secret = secrets(name).ok_or_else(|| name.clone())?;
                    *value = value.replace(&placeholder, &secret);
                }
            }
            Ok(())
        };
        let mut filled = self.clone();
        match &mut filled.spec {
            UpstreamSpec::Stdio { env, .. } => env.values_mut().try_for_each(fill)?,
            UpstreamSpec::StreamableHttp { headers, .. } | UpstreamSpec::Sse { headers, .. } => {
                headers.values_mut().try_for_each(fill)?
            }
            UpstreamSpec::Api(api) => {
                api.headers.values_mut().try_for_each(fill)?;
                match &mut api.auth {
                    ApiAuth::None => {}
                    ApiAuth::ApiKey { value, .. } => fill(value)?,
                    ApiAuth::Bearer { token } => fill(token)?,
                    ApiAuth::Basic { password, .. } => fill(password)?,
                    ApiAuth::OAuth2ClientCredentials(oauth) => fill(&mut oauth.client_secret)?,
                }
            }
        }
        Ok(filled)
    }
}

/// How a value refers to the calling user's secret `name`; it stays in the validated definition
/// until a per-user instance is started.
pub fn user_secret_placeholder(name: &str) -> String {
    format!("${{user_secret:{name}}}")
}

/// A server that runs with each user's own credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerUser {
    /// The user secrets the definition references, sorted, without duplicates.
    pub secrets: Vec<String>,
    /// An instance nobody called for this long is stopped.
    pub idle: Duration,
}

impl PerUser {
    /// Idle time of an instance when the server sets none.
    pub const DEFAULT_IDLE: Duration = Duration::from_secs(300);
}

/// Which tools of a server are exposed. `allow` empty means all; `deny` wins over `allow`.
/// Patterns are exact names or contain `*` wildcards.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolFilter {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl ToolFilter {
    pub fn admits(&self, name: &str) -> bool {
        let allowed = self.allow.is_empty() || self.allow.iter().any(|p| wildcard_match(p, name));
        allowed && !self.deny.iter().any(|p| wildcard_match(p, name))
    }
}

/// Matches `name` against a pattern where `*` stands for any run of characters.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndpointConfig {
    /// Servers carrying any of these tags are part of the endpoint.
    pub tags: Vec<String>,
    /// Servers named explicitly.
    pub servers: Vec<String>,
}

/// The circuit breaker of one backend: after `failure_threshold` consecutive failures calls are
/// refused for `open_for`, then one probe call decides whether it closes again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CircuitBreakerSettings {
    /// Consecutive failures that open the circuit; 0 turns the breaker off.
    pub failure_threshold: u32,
    /// How long an open circuit refuses calls before it lets one probe through.
    pub open_for: Duration,
}

impl CircuitBreakerSettings {
    pub fn enabled(&self) -> bool {
        self.failure_threshold > 0
    }
}

impl Default for CircuitBreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Default deadline for a call when a server sets none.
    pub request_timeout: Duration,
    pub ping_interval: Duration,
    /// Items per page of merged lists; 0 means one page.
    pub page_size: usize,
    /// Prefix names with the server's namespace on aggregated endpoints.
    pub namespacing: bool,
    /// Hosts that HTTP APIs may reach although they resolve to loopback or private addresses.
    pub ssrf_allow_hosts: Vec<String>,
    /// The circuit breaker of servers that set none of their own.
    pub circuit_breaker: CircuitBreakerSettings,
    /// Tool calls run as tasks for clients of the tasks extension.
    pub tasks: TaskSettings,
}

/// When a task-supporting tool call becomes a task, and how long a task is kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskSettings {
    /// A call answered within this time is answered directly, without a task.
    pub sync_window: Duration,
    /// How long a task is kept from its creation (running or ended) for `tasks/get`.
    pub ttl: Duration,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            sync_window: Duration::from_millis(250),
            ttl: Duration::from_secs(3600),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(15),
            page_size: 0,
            namespacing: true,
            ssrf_allow_hosts: Vec::new(),
            circuit_breaker: CircuitBreakerSettings::default(),
            tasks: TaskSettings::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    /// Origins admitted besides loopback ones (`http://localhost:*` style entries allowed).
    pub allowed_origins: Vec<String>,
    /// Host header values admitted besides loopback names.
    pub allowed_hosts: Vec<String>,
    pub max_body_bytes: usize,
    /// Idle time after which a Streamable HTTP session is forgotten.
    pub session_idle: Duration,
    /// Whether the MCP routes ask for an API token.
    pub mcp_access: McpAccess,
}

/// Who may use the MCP routes (the admin API always needs a token).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum McpAccess {
    /// Every request carries a valid API token whose scopes cover the endpoint.
    #[default]
    Token,
    /// No token needed; allowed only on a loopback address (a local, single-user gateway).
    Open,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body_bytes: 4 * 1024 * 1024,
            session_idle: Duration::from_secs(30 * 60),
            mcp_access: McpAccess::Token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("get_*", "get_user"));
        assert!(!wildcard_match("get_*", "set_user"));
        assert!(wildcard_match("*_user", "get_user"));
        assert!(wildcard_match("a*c*e", "abcde"));
        assert!(!wildcard_match("a*c*e", "abcd"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exact2"));
    }

    #[test]
    fn grants_name_tenants_the_administrator_has_everything_but_registrations() {
        let mut server = ServerConfig {
            spec: UpstreamSpec::Stdio {
                command: "x".into(),
                args: Vec::new(),
                env: Default::default(),
                cwd: None,
            },
            tools: ToolFilter::default(),
            tags: Vec::new(),
            timeout: Duration::from_secs(1),
            prefix: "x".into(),
            tenants: Vec::new(),
            owner: None,
            per_user: None,
            circuit_breaker: CircuitBreakerSettings::default(),
        };
        assert!(server.granted_to("default", true));
        assert!(!server.granted_to("team-a", false));
        server.tenants = vec!["team-a".into()];
        assert!(server.granted_to("team-a", false));
        assert!(!server.granted_to("team-b", false));
        server.tenants = vec!["*".into()];
        assert!(server.granted_to("team-b", false));
        // A tenant's own registration is its alone, the administrator's tenant's included.
        server.owner = Some("team-a".into());
        assert!(server.granted_to("team-a", false));
        assert!(!server.granted_to("team-b", false));
        assert!(!server.granted_to("default", true));
    }

    #[test]
    fn deny_wins_over_allow() {
        let f = ToolFilter {
            allow: vec!["read_*".into()],
            deny: vec!["read_secret".into()],
        };
        assert!(f.admits("read_file"));
        assert!(!f.admits("read_secret"));
        assert!(!f.admits("write_file"));
        assert!(ToolFilter::default().admits("x"));
    }
}
