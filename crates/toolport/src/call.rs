//! `toolport call`: a small MCP client for people and CI — list a server's tools or call one and
//! print the JSON result — built on the same transports the gateway uses for its backends.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use toolport_upstream::{McpClient, McpClientOptions, UpstreamError, UpstreamSpec};

/// Which wire to use for a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// Legacy SSE when a path segment is `sse` (e.g. `/sse`, `/sse/NAME`), else Streamable HTTP.
    Auto,
    /// Streamable HTTP (2025-03-26 and later).
    Http,
    /// Legacy HTTP+SSE (2024-11-05): GET stream with an `endpoint` event, then POSTs.
    Sse,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  toolport call http://127.0.0.1:8080/mcp                      list the tools
  toolport call http://127.0.0.1:8080/mcp fx__echo --arg text=hi
  toolport call --arg a=1 --arg b=2 add http://127.0.0.1:8080/mcp   (the URL may come last)
  toolport call --stdio \"npx -y @modelcontextprotocol/server-everything\" echo --json-args '{\"message\":\"hi\"}'

`--arg k=v` sends v as JSON when it parses as JSON (numbers, booleans, null, arrays, objects) and
the tool's schema does not declare k a string; otherwise as a string. `--arg` wins over the same
key in `--json-args`.")]
pub struct CallArgs {
    /// The server's URL and the tool to call, in either order; without a tool, the tools are listed.
    #[arg(value_name = "URL|TOOL", num_args = 0..=2)]
    positional: Vec<String>,
    /// Run the server as a child process speaking stdio, e.g. "uvx mcp-server-time"
    /// (quotes and backslashes group words as in a shell).
    #[arg(long, value_name = "CMD ARGS")]
    stdio: Option<String>,
    /// Environment variable for the --stdio child (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// A tool argument (repeatable).
    #[arg(long = "arg", value_name = "K=V")]
    args: Vec<String>,
    /// Tool arguments as one JSON object.
    #[arg(long, value_name = "JSON")]
    json_args: Option<String>,
    /// List the tools (the default when no tool is given).
    #[arg(long)]
    list: bool,
    /// An HTTP header for every request, e.g. "Authorization: Bearer …" (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    headers: Vec<String>,
    /// The wire for a URL.
    #[arg(long, value_enum, default_value = "auto")]
    transport: Transport,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    timeout: u64,
}

/// What to do once connected.
#[derive(Debug, PartialEq)]
enum Action {
    List,
    Call {
        tool: String,
        json_args: Option<Map<String, Value>>,
        args: Vec<(String, String)>,
    },
}

pub async fn run(args: CallArgs) -> anyhow::Result<()> {
    let (spec, action) = plan(&args)?;
    let options = McpClientOptions {
        client_info: json!({"name": "toolport-call", "version": env!("CARGO_PKG_VERSION")}),
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..McpClientOptions::default()
    };
    let target = describe(&spec);
    let client = McpClient::connect("call", &spec, options)
        .await
        .map_err(|e| {
            let hint = if args.stdio.is_some() {
                " (run with RUST_LOG=info to see the server's stderr)"
            } else {
                ""
            };
            anyhow::anyhow!(
                "{}{hint}",
                explain(e, &format!("cannot connect to {target}"))
            )
        })?;
    let outcome = act(&client, action).await;
    client.close().await;
    let (value, tool_error) = outcome?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value)?;
    writeln!(out)?;
    out.flush()?;
    if let Some(tool) = tool_error {
        bail!("tool {tool:?} reported an error (isError: true)");
    }
    Ok(())
}

/// Runs the action; returns the JSON to print and, for a tool result with `isError`, the tool.
async fn act(client: &McpClient, action: Action) -> anyhow::Result<(Value, Option<String>)> {
    match action {
        Action::List => {
            let tools = client
                .list_all("tools/list", "tools")
                .await
                .map_err(|e| explain(e, "tools/list failed"))?;
            Ok((json!({ "tools": tools }), None))
        }
        Action::Call {
            tool,
            json_args,
            args,
        } => {
            // The list gives the argument types (for `--arg`) and a useful error for a typo.
            let tools = client.list_all("tools/list", "tools").await.ok();
            let schema = tools.as_ref().and_then(|tools| {
                tools
                    .iter()
                    .find(|t| t.get("name").and_then(Value::as_str) == Some(tool.as_str()))
                    .map(|t| t.get("inputSchema").cloned().unwrap_or(Value::Null))
            });
            if let Some(tools) = &tools
                && schema.is_none()
            {
                let names: Vec<&str> = tools
                    .iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str))
                    .collect();
                bail!(
                    "the server has no tool named {tool:?}; it has: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                );
            }
            let arguments = build_arguments(json_args, &args, schema.as_ref());
            let result = client
                .request(
                    "tools/call",
                    Some(json!({"name": tool, "arguments": arguments})),
                )
                .await
                .map_err(|e| explain(e, &format!("calling {tool:?} failed")))?;
            let failed = result.get("isError").and_then(Value::as_bool) == Some(true);
            Ok((result, failed.then_some(tool)))
        }
    }
}

/// Validates the command line into a backend and an action, before any I/O.
fn plan(args: &CallArgs) -> anyhow::Result<(UpstreamSpec, Action)> {
    let (urls, others): (Vec<&String>, Vec<&String>) =
        args.positional.iter().partition(|p| looks_like_url(p));
    let spec = match (&args.stdio, urls.as_slice()) {
        (Some(_), [url, ..]) => bail!("give either a URL ({url}) or --stdio, not both"),
        (Some(command), []) => {
            let mut words = split_command_line(command)?.into_iter();
            let program = words.next().context("--stdio needs a command")?;
            let env = pairs(&args.env, '=', "--env")?;
            UpstreamSpec::Stdio {
                command: program,
                args: words.collect(),
                env: env.into_iter().collect(),
                cwd: None,
            }
        }
        (None, [url]) => {
            let url = url.to_string();
            let headers: BTreeMap<String, String> =
                pairs(&args.headers, ':', "--header")?.into_iter().collect();
            let sse = match args.transport {
                Transport::Sse => true,
                Transport::Http => false,
                Transport::Auto => is_sse_path(&url),
            };
            if sse {
                UpstreamSpec::Sse { url, headers }
            } else {
                UpstreamSpec::StreamableHttp { url, headers }
            }
        }
        (None, []) => bail!("give the server's URL (http://…) or --stdio \"COMMAND ARGS\""),
        (None, _) => bail!("give one URL, not {}", urls.len()),
    };
    if !args.headers.is_empty() && args.stdio.is_some() {
        bail!("--header applies to URLs, not to --stdio");
    }
    if !args.env.is_empty() && args.stdio.is_none() {
        bail!("--env applies to --stdio");
    }
    let tool = match others.as_slice() {
        [] => None,
        [tool] => Some(tool.to_string()),
        more => bail!(
            "one tool at a time (got {}); a URL must start with http:// or https://",
            more.len()
        ),
    };
    let action = match (tool, args.list) {
        (Some(tool), false) => {
            let json_args = match &args.json_args {
                None => None,
                Some(text) => match serde_json::from_str(text) {
                    Ok(Value::Object(map)) => Some(map),
                    Ok(_) => bail!("--json-args must be a JSON object"),
                    Err(e) => bail!("--json-args is not valid JSON: {e}"),
                },
            };
            let args = pairs(&args.args, '=', "--arg")?;
            Action::Call {
                tool,
                json_args,
                args,
            }
        }
        (Some(tool), true) => bail!("give either --list or a tool ({tool}), not both"),
        (None, _) => {
            if !args.args.is_empty() || args.json_args.is_some() {
                bail!("--arg and --json-args need a tool to call");
            }
            Action::List
        }
    };
    Ok((spec, action))
}

fn looks_like_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// `/sse`, `/sse/NAME`: where legacy SSE servers (and Toolport's own SSE edge) live.
fn is_sse_path(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.split_once('/').map_or("", |(_, path)| path);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.split('/').any(|segment| segment == "sse")
}

fn pairs(items: &[String], sep: char, flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|item| match item.split_once(sep) {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim_start().to_string()))
            }
            _ => bail!("{flag} {item:?}: expected KEY{sep}VALUE"),
        })
        .collect()
}

/// `--json-args` first, then each `--arg` (parsed as JSON unless the schema says string).
fn build_arguments(
    json_args: Option<Map<String, Value>>,
    args: &[(String, String)],
    schema: Option<&Value>,
) -> Value {
    let mut out = json_args.unwrap_or_default();
    for (key, raw) in args {
        let wants_string = schema
            .and_then(|s| s.get("properties"))
            .and_then(|p| p.get(key))
            .is_some_and(declares_only_string);
        let value = if wants_string {
            Value::String(raw.clone())
        } else {
            serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.clone()))
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

fn declares_only_string(property: &Value) -> bool {
    match property.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => {
            types.iter().all(|t| t == "string" || t == "null")
                && types.iter().any(|t| t == "string")
        }
        _ => false,
    }
}

/// Splits a command line into words: whitespace separates, single quotes keep everything,
/// double quotes keep everything but `\"` and `\\`, a backslash outside quotes escapes one char.
fn split_command_line(line: &str) -> anyhow::Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => bail!("unclosed ' in {line:?}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => bail!("unclosed \" in {line:?}"),
                        },
                        Some(c) => word.push(c),
                        None => bail!("unclosed \" in {line:?}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn describe(spec: &UpstreamSpec) -> String {
    match spec {
        UpstreamSpec::Stdio { command, args, .. } => {
            format!(
                "`{}`",
                std::iter::once(command)
                    .chain(args)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
        UpstreamSpec::StreamableHttp { url, .. } => format!("{url} (Streamable HTTP)"),
        UpstreamSpec::Sse { url, .. } => format!("{url} (legacy SSE)"),
        other => other.kind().to_string(),
    }
}

/// Turns an upstream error into a message with the server's JSON-RPC error shown in full.
fn explain(err: UpstreamError, what: &str) -> anyhow::Error {
    match err {
        UpstreamError::Rpc(e) => match &e.data {
            Some(data) => anyhow::anyhow!("{what}: {} (code {}; data {data})", e.message, e.code.0),
            None => anyhow::anyhow!("{what}: {} (code {})", e.message, e.code.0),
        },
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        call: CallArgs,
    }

    fn plan_of(argv: &[&str]) -> anyhow::Result<(UpstreamSpec, Action)> {
        let parsed = Wrapper::try_parse_from(std::iter::once("call").chain(argv.iter().copied()))?;
        plan(&parsed.call)
    }

    #[test]
    fn the_url_may_come_before_or_after_the_tool() {
        let first = plan_of(&["http://h/mcp", "add", "--arg", "a=1"]).unwrap();
        let last = plan_of(&["--arg", "a=1", "add", "http://h/mcp"]).unwrap();
        assert_eq!(first, last);
        assert_eq!(
            first.0,
            UpstreamSpec::StreamableHttp {
                url: "http://h/mcp".into(),
                headers: BTreeMap::new()
            }
        );
        assert!(matches!(first.1, Action::Call { ref tool, .. } if tool == "add"));
    }

    #[test]
    fn no_tool_lists_and_sse_paths_pick_legacy_sse() {
        let (spec, action) = plan_of(&["http://h/sse", "-H", "X-Key: v"]).unwrap();
        assert_eq!(action, Action::List);
        assert_eq!(
            spec,
            UpstreamSpec::Sse {
                url: "http://h/sse".into(),
                headers: [("X-Key".to_string(), "v".to_string())].into()
            }
        );
        let (spec, _) = plan_of(&["--transport", "http", "http://h/sse"]).unwrap();
        assert_eq!(spec.kind(), "http");
    }

    #[test]
    fn stdio_commands_are_split_like_a_shell() {
        let (spec, action) =
            plan_of(&["--stdio", "node 'my server.js' --x \"a \\\"b\\\"\"", "echo"]).unwrap();
        let UpstreamSpec::Stdio { command, args, .. } = spec else {
            panic!("not stdio")
        };
        assert_eq!(command, "node");
        assert_eq!(args, ["my server.js", "--x", "a \"b\""]);
        assert!(matches!(action, Action::Call { .. }));
    }

    #[test]
    fn contradictions_are_refused_with_a_reason() {
        for (argv, needle) in [
            (&["echo"][..], "URL"),
            (&["http://a/mcp", "http://b/mcp"][..], "one URL"),
            (&["--stdio", "x", "http://a/mcp"][..], "not both"),
            (&["--list", "http://a/mcp", "echo"][..], "--list"),
            (&["http://a/mcp", "--arg", "a=1"][..], "need a tool"),
            (&["http://a/mcp", "t", "--arg", "novalue"][..], "KEY=VALUE"),
            (&["http://a/mcp", "t", "--json-args", "[1]"][..], "object"),
            (&["--stdio", "'unclosed"][..], "unclosed"),
        ] {
            let err = plan_of(argv).expect_err(needle).to_string();
            assert!(err.contains(needle), "{argv:?}: {err}");
        }
    }

    #[test]
    fn arg_values_are_json_unless_the_schema_wants_a_string() {
        let schema = json!({"properties": {
            "a": {"type": "number"}, "text": {"type": "string"}, "opt": {"type": ["string", "null"]}}});
        let args: Vec<(String, String)> = [
            ("a", "1"),
            ("text", "123"),
            ("opt", "true"),
            ("flag", "true"),
            ("name", "bob"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let base = json!({"a": 0, "keep": [1]}).as_object().cloned();
        assert_eq!(
            build_arguments(base, &args, Some(&schema)),
            json!({"a": 1, "keep": [1], "text": "123", "opt": "true", "flag": true, "name": "bob"})
        );
        assert_eq!(build_arguments(None, &args[..1], None), json!({"a": 1}));
    }
}
