//! Config loading over the formats users already have, and the errors they get when it is wrong.

use std::path::Path;
use std::time::Duration;

use toolport_upstream::UpstreamSpec;

use super::{ConfigError, parse};

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("s3cret".into()),
        "PORT" => Some("9999".into()),
        _ => None,
    }
}

fn secrets(name: &str) -> Result<String, String> {
    match name {
        "gh" => Ok("ghp_from_vault".into()),
        other => Err(format!("secret {other:?} is not set")),
    }
}

fn json(text: &str) -> Result<toolport_gateway::GatewayConfig, ConfigError> {
    json_all(text).map(|config| config.gateway)
}

fn json_all(text: &str) -> Result<super::Config, ConfigError> {
    parse(
        text,
        Path::new("/etc/toolport/config.json"),
        Path::new("/etc/toolport"),
        &env,
        &secrets,
    )
}

const CLAUDE_DESKTOP: &str = r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
      "env": {"API_KEY": "${TOKEN}"}
    },
    "remote": {"type": "http", "url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}},
    "legacy": {"url": "http://127.0.0.1:${PORT}/sse"}
  }
}"#;

#[test]
fn claude_desktop_file_loads_with_transports_inferred() {
    let config = json(CLAUDE_DESKTOP).unwrap();
    assert_eq!(config.servers.len(), 3);
    let UpstreamSpec::Stdio {
        command, args, env, ..
    } = &config.servers["filesystem"].spec
    else {
        panic!("filesystem should be stdio");
    };
    assert_eq!(command, "npx");
    assert_eq!(args[1], "@modelcontextprotocol/server-filesystem");
    assert_eq!(env["API_KEY"], "s3cret");
    assert!(matches!(
        &config.servers["remote"].spec,
        UpstreamSpec::StreamableHttp { headers, .. } if headers["Authorization"] == "Bearer s3cret"
    ));
    assert!(matches!(
        &config.servers["legacy"].spec,
        UpstreamSpec::Sse { url, .. } if url == "http://127.0.0.1:9999/sse"
    ));
    assert_eq!(config.servers["filesystem"].prefix, "filesystem");
}

#[test]
fn toml_with_the_same_structure_loads_the_same() {
    let toml = r#"
[mcpServers.filesystem]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
env = { API_KEY = "${TOKEN}" }

[mcpServers.remote]
type = "http"
url = "https://example.com/mcp"
headers = { Authorization = "Bearer ${TOKEN}" }

[mcpServers.legacy]
url = "http://127.0.0.1:${PORT}/sse"
"#;
    let from_toml = parse(
        toml,
        Path::new("/etc/toolport/c.toml"),
        Path::new("/etc/toolport"),
        &env,
        &secrets,
    )
    .unwrap();
    assert_eq!(from_toml, json_all(CLAUDE_DESKTOP).unwrap());
}

#[test]
fn toolport_settings_live_beside_mcp_servers() {
    let config = json(
        r#"{
  // VS Code allows comments in its JSON.
  "servers": {
    "gh": {"command": "gh-mcp", "tags": ["dev"], "timeoutMs": 1500, "prefix": "github",
           "tools": {"allow": ["get_*"], "deny": ["get_secret"]}},
    "off": {"command": "x", "disabled": true}
  },
  "toolport": {"listen": "127.0.0.1:${PORT}", "requestTimeoutMs": 5000, "pageSize": 50,
               "allowedOrigins": ["https://app.example.com"],
               "endpoints": {"devtools": {"tags": ["dev"]}}}
}"#,
    )
    .unwrap();
    let gh = &config.servers["gh"];
    assert_eq!(gh.timeout, Duration::from_millis(1500));
    assert_eq!(gh.prefix, "github");
    assert!(gh.tools.admits("get_issue") && !gh.tools.admits("get_secret"));
    assert!(!config.servers.contains_key("off"));
    assert_eq!(config.http.listen.port(), 9999);
    assert_eq!(config.settings.page_size, 50);
    assert_eq!(config.endpoints["devtools"].tags, ["dev"]);
}

#[test]
fn utf8_bom_is_accepted() {
    assert!(json("\u{feff}{\"mcpServers\": {}}").is_ok());
}

#[test]
fn relative_commands_resolve_against_the_config_directory() {
    let config =
        json(r#"{"mcpServers": {"local": {"command": "./bin/server", "cwd": "data"}}}"#).unwrap();
    let UpstreamSpec::Stdio { command, cwd, .. } = &config.servers["local"].spec else {
        panic!("stdio expected")
    };
    assert_eq!(command, "/etc/toolport/./bin/server");
    assert_eq!(cwd.as_deref(), Some(Path::new("/etc/toolport/data")));
}

fn error_of(text: &str) -> String {
    json(text).unwrap_err().to_string()
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let err = error_of("{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  }\n}");
    assert!(err.starts_with("/etc/toolport/config.json:3:"), "{err}");
}

#[test]
fn secrets_fill_credentials() {
    let config = json(
        r#"{"mcpServers": {
            "local": {"command": "x", "env": {"GITHUB_TOKEN": "${secret:gh}"}},
            "remote": {"url": "https://h/mcp", "headers": {"Authorization": "Bearer ${secret:gh}"}}
        }}"#,
    )
    .unwrap();
    let UpstreamSpec::Stdio { env, .. } = &config.servers["local"].spec else {
        panic!("stdio expected");
    };
    assert_eq!(env["GITHUB_TOKEN"], "ghp_from_vault");
    let UpstreamSpec::StreamableHttp { headers, .. } = &config.servers["remote"].spec else {
        panic!("http expected");
    };
    assert_eq!(headers["Authorization"], "Bearer ghp_from_vault");
}

#[test]
fn user_secrets_make_a_server_per_user() {
    let config = json(
        r#"{"mcpServers": {
            "local": {"command": "x", "env": {"GH_TOKEN": "${user_secret:GH_TOKEN}", "SHARED": "${secret:gh}"},
                      "idleSeconds": 60},
            "remote": {"url": "https://h/mcp",
                       "headers": {"Authorization": "Bearer ${user_secret:GH_TOKEN}", "X-Org": "${user_secret:ORG}"}},
            "plain": {"command": "y"}
        }}"#,
    )
    .unwrap();
    let local = &config.servers["local"];
    let per_user = local.per_user.as_ref().expect("local is per-user");
    assert_eq!(per_user.secrets, ["GH_TOKEN"]);
    assert_eq!(per_user.idle, Duration::from_secs(60));
    let UpstreamSpec::Stdio { env, .. } = &local.spec else {
        panic!("stdio expected");
    };
    // The user secret stays a placeholder; the administrator's secret is filled in.
    assert_eq!(env["GH_TOKEN"], "${user_secret:GH_TOKEN}");
    assert_eq!(env["SHARED"], "ghp_from_vault");
    let remote = config.servers["remote"].per_user.as_ref().unwrap();
    assert_eq!(remote.secrets, ["GH_TOKEN", "ORG"]);
    assert_eq!(remote.idle, toolport_gateway::PerUser::DEFAULT_IDLE);
    assert!(config.servers["plain"].per_user.is_none());

    // Filled in per user: only the placeholders, in env and headers.
    let filled = config.servers["remote"]
        .with_user_secrets(&|name| Some(format!("<{name}>")))
        .unwrap();
    let UpstreamSpec::StreamableHttp { headers, .. } = &filled.spec else {
        panic!("http expected");
    };
    assert_eq!(headers["Authorization"], "Bearer <GH_TOKEN>");
    assert_eq!(headers["X-Org"], "<ORG>");
    let missing = config.servers["remote"]
        .with_user_secrets(&|name| (name == "GH_TOKEN").then(|| "t".to_owned()))
        .unwrap_err();
    assert_eq!(missing, "ORG");
}

#[test]
fn user_secrets_make_an_api_per_user() {
    let config = json(
        r#"{"apis": {"gh": {"spec": "gh.json", "auth": {"type": "bearer", "token": "${user_secret:GH_TOKEN}"},
                            "headers": {"X-Team": "${user_secret:TEAM}"}, "idleSeconds": 30}}}"#,
    )
    .unwrap();
    let gh = &config.servers["gh"];
    let per_user = gh.per_user.as_ref().expect("gh is per-user");
    assert_eq!(per_user.secrets, ["GH_TOKEN", "TEAM"]);
    assert_eq!(per_user.idle, Duration::from_secs(30));
    let filled = gh
        .with_user_secrets(&|name| Some(format!("<{name}>")))
        .unwrap();
    let UpstreamSpec::Api(api) = &filled.spec else {
        panic!("api expected");
    };
    assert!(
        matches!(&api.auth, toolport_upstream::api::ApiAuth::Bearer { token } if token == "<GH_TOKEN>")
    );
    assert_eq!(api.headers["X-Team"], "<TEAM>");
}

#[test]
fn user_secrets_are_refused_outside_credentials() {
    let cases = [
        (
            r#"{"mcpServers": {"a": {"url": "https://h/${user_secret:T}"}}}"#,
            "mcpServers.a.url: ${user_secret:T} is not allowed here",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x", "args": ["${user_secret:T}"]}}}"#,
            "mcpServers.a.args[0]: ${user_secret:T} is not allowed here",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x", "env": {"K": "${user_secret:bad name}"}}}}"#,
            "invalid user secret name",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x", "idleSeconds": 5}}}"#,
            "mcpServers.a.idleSeconds: applies only to a server or API that uses ${user_secret:NAME}",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x", "env": {"K": "${user_secret:T}"}, "idleSeconds": 0}}}"#,
            "mcpServers.a.idleSeconds: must be at least 1",
        ),
        (
            r#"{"apis": {"p": {"spec": "p.yaml", "variables": {"v": "${user_secret:T}"}}}}"#,
            "apis.p.variables.v: ${user_secret:T} is not allowed here",
        ),
    ];
    for (text, needle) in cases {
        let err = error_of(text);
        assert!(err.contains(needle), "{text}\n=> {err}");
    }
}

#[test]
fn type_errors_carry_the_key_path_and_position() {
    let err = error_of(r#"{"mcpServers": {"a": {"command": "x", "args": "not-a-list"}}}"#);
    assert!(err.contains("mcpServers.a.args"), "{err}");
    assert!(err.contains(":1:"), "{err}");
}

#[test]
fn semantic_errors_say_what_would_be_right() {
    let cases = [
        (
            r#"{"mcpServers": {"a": {}}}"#,
            "mcpServers.a: needs \"command\"",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x", "url": "http://h/mcp"}}}"#,
            "both \"command\" and \"url\"",
        ),
        (
            r#"{"mcpServers": {"a": {"url": "ftp://h/x"}}}"#,
            "mcpServers.a.url",
        ),
        (
            r#"{"mcpServers": {"a": {"type": "sse", "command": "x"}}}"#,
            "mcpServers.a.type",
        ),
        (
            r#"{"mcpServers": {"bad__name": {"command": "x"}}}"#,
            "invalid name",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "${MISSING}"}}}"#,
            "MISSING is not set",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x", "env": {"K": "${secret:absent}"}}}}"#,
            "mcpServers.a.env.K: secret \"absent\" is not set",
        ),
        (
            r#"{"mcpServers": {"a": {"url": "https://h/${secret:gh}"}}}"#,
            "mcpServers.a.url: ${secret:gh} is not allowed here",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x"}}, "toolport": {"endpoints": {"a": {"tags": ["t"]}}}}"#,
            "same name as a server",
        ),
        (
            r#"{"mcpServers": {}, "toolport": {"endpoints": {"e": {"servers": ["ghost"]}}}}"#,
            "no server named \"ghost\"",
        ),
        (
            r#"{"mcpServers": {}, "toolport": {"listen": "8080"}}"#,
            "toolport.listen",
        ),
        (
            r#"{"mcpServers": {}, "toolport": {"lisen": "127.0.0.1:1"}}"#,
            "unknown field `lisen`",
        ),
        (
            r#"{"mcpServers": {"a": {"command": "x"}, "b": {"command": "y", "prefix": "a"}}}"#,
            "already used",
        ),
    ];
    for (text, needle) in cases {
        let err = error_of(text);
        assert!(err.contains(needle), "{text}\n=> {err}");
    }
}

#[test]
fn toml_errors_carry_line_and_column() {
    let err = parse(
        "[mcpServers.a]\ncommand = \"x\"\nargs = 3\n",
        Path::new("c.toml"),
        Path::new("."),
        &env,
        &secrets,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("c.toml:3:"), "{err}");
    assert!(err.contains("mcpServers.a.args"), "{err}");
}

#[test]
fn tenants_grant_servers_and_apis_and_bad_names_are_refused() {
    let config = json(
        r#"{"mcpServers": {"shared": {"command": "x", "tenants": ["team-a", "*"]},
                           "private": {"command": "y"}},
            "apis": {"pets": {"spec": "pets.yaml", "tenants": ["team-b"]}}}"#,
    )
    .unwrap();
    assert_eq!(config.servers["shared"].tenants, ["team-a", "*"]);
    assert!(config.servers["shared"].granted_to("anyone", false));
    assert!(!config.servers["private"].granted_to("team-a", false));
    assert!(config.servers["private"].granted_to("default", true));
    assert!(config.servers["pets"].granted_to("team-b", false));
    assert!(!config.servers["pets"].granted_to("team-a", false));

    let err = json(r#"{"mcpServers": {"s": {"command": "x", "tenants": ["team a"]}}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mcpServers.s.tenants") && err.contains("\"team a\" is not a tenant name"),
        "{err}"
    );
}

#[test]
fn limits_plans_and_redaction_are_read_and_checked() {
    let config = json_all(
        r#"{"mcpServers": {"a": {"command": "x"}},
            "toolport": {
              "limits": {"perToken": "10/s", "upstreams": {"a": {"rate": "60/min", "burst": 3}}},
              "plans": {"free": {"callsPerMonth": 50}},
              "auditRedaction": {"keyPatterns": ["ssn"]}}}"#,
    )
    .unwrap();
    let metering = &config.metering;
    assert_eq!(metering.limits.per_token.unwrap().burst, 10);
    assert_eq!(metering.limits.upstream("a").unwrap().burst, 3);
    let plans = toolport_metering::Plans::from_config(&metering.plans);
    assert_eq!(plans.resolve("free").calls_per_month, Some(50));
    assert_eq!(metering.redaction.key_patterns, ["ssn"]);

    let unknown = json_all(
        r#"{"mcpServers": {"a": {"command": "x"}},
            "toolport": {"limits": {"upstreams": {"b": "1/s"}}}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(unknown.contains("toolport.limits.upstreams.b"), "{unknown}");
    assert!(
        unknown.contains("no server or API is named \"b\""),
        "{unknown}"
    );

    let bad_rate = json_all(r#"{"toolport": {"limits": {"perEndpoint": "fast"}}}"#)
        .unwrap_err()
        .to_string();
    assert!(bad_rate.contains("invalid rate \"fast\""), "{bad_rate}");
}

#[test]
fn circuit_breaker_settings_default_apply_to_all_and_a_server_overrides_them() {
    let config = json(
        r#"{
  "mcpServers": {
    "plain": {"command": "srv"},
    "touchy": {"command": "srv", "circuitBreaker": {"failureThreshold": 1}},
    "off": {"command": "srv", "circuitBreaker": {"failureThreshold": 0, "openSeconds": 2}}
  },
  "apis": {"pets": {"spec": "pets.yaml", "circuitBreaker": {"openSeconds": 0.25}}},
  "toolport": {"circuitBreaker": {"failureThreshold": 3, "openSeconds": 10}}
}"#,
    )
    .unwrap();
    let breaker = |name: &str| config.servers[name].circuit_breaker;
    assert_eq!(config.settings.circuit_breaker.failure_threshold, 3);
    assert_eq!(breaker("plain").failure_threshold, 3);
    assert_eq!(breaker("plain").open_for, Duration::from_secs(10));
    assert_eq!(breaker("touchy").failure_threshold, 1);
    assert_eq!(breaker("touchy").open_for, Duration::from_secs(10));
    assert!(!breaker("off").enabled());
    assert_eq!(breaker("pets").failure_threshold, 3);
    assert_eq!(breaker("pets").open_for, Duration::from_millis(250));
    let defaults = json(r#"{"mcpServers": {"plain": {"command": "srv"}}}"#).unwrap();
    assert_eq!(
        defaults.servers["plain"].circuit_breaker.failure_threshold,
        5
    );
    assert_eq!(
        defaults.servers["plain"].circuit_breaker.open_for,
        Duration::from_secs(30)
    );
}

#[test]
fn circuit_breaker_errors_name_the_key_and_the_valid_range() {
    let e = error_of(r#"{"toolport": {"circuitBreaker": {"openSeconds": 0}}}"#);
    assert!(
        e.contains("toolport.circuitBreaker.openSeconds") && e.contains("above 0"),
        "{e}"
    );
    let e = error_of(
        r#"{"mcpServers": {"a": {"command": "x", "circuitBreaker": {"openSeconds": 100000}}}}"#,
    );
    assert!(
        e.contains("mcpServers.a.circuitBreaker.openSeconds") && e.contains("one day"),
        "{e}"
    );
    let e = error_of(r#"{"toolport": {"circuitBreaker": {"failureThreshold": -1}}}"#);
    assert!(e.contains("failureThreshold"), "{e}");
    let e = error_of(r#"{"toolport": {"circuitBreaker": {"threshold": 3}}}"#);
    assert!(e.contains("unknown field `threshold`"), "{e}");
}

#[test]
fn task_settings_have_defaults_and_refuse_a_zero_time_to_live() {
    let defaults = json(r#"{"mcpServers": {"plain": {"command": "srv"}}}"#).unwrap();
    assert_eq!(
        defaults.settings.tasks.sync_window,
        Duration::from_millis(250)
    );
    assert_eq!(defaults.settings.tasks.ttl, Duration::from_secs(3600));
    let set = json(r#"{"toolport": {"tasks": {"syncWindowMs": 0, "ttlSeconds": 60}}}"#).unwrap();
    assert_eq!(set.settings.tasks.sync_window, Duration::ZERO);
    assert_eq!(set.settings.tasks.ttl, Duration::from_secs(60));
    let e = error_of(r#"{"toolport": {"tasks": {"ttlSeconds": 0}}}"#);
    assert!(
        e.contains("toolport.tasks.ttlSeconds") && e.contains("at least 1"),
        "{e}"
    );
    let e = error_of(r#"{"toolport": {"tasks": {"windowMs": 5}}}"#);
    assert!(e.contains("unknown field `windowMs`"), "{e}");
}
