//! Real MCP clients through the gateway: the MCP Inspector CLI and the Python `mcp` library (each
//! found through an environment variable; without it the test says `SKIPPED: <VAR> unset` and
//! passes); our own `toolport call`; and a version matrix of clients of every revision against
//! backends of every stateful revision. The last two need nothing but the fixture.
//!
//! - `TOOLPORT_INSPECTOR`: a command line running the Inspector CLI with Node 22, e.g.
//!   `node .../@modelcontextprotocol/inspector/clients/launcher/build/index.js --cli`.
//! - `TOOLPORT_PYTHON`: a Python with `mcp` (2.x) installed; runs `tests/clients/mcp_client.py`.
//!
//! `.ci/conformance.sh` installs both and sets the variables.

mod support;

use std::io::Write as _;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Client, TestGateway, config, fixture_stdio, server};
use toolport_upstream::{McpClient, McpClientOptions, UpstreamSpec};

const PYTHON_CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/mcp_client.py");

/// The command line in `var`, or `None` after saying, on the real stderr (uncaptured, so the skip
/// shows in every run), that the test is skipped.
fn tool_command(var: &str, test: &str) -> Option<Vec<String>> {
    match std::env::var(var) {
        Ok(line) if !line.trim().is_empty() => {
            Some(line.split_whitespace().map(str::to_owned).collect())
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {var} unset ({test} needs it; .ci/conformance.sh sets it)"
            );
            None
        }
    }
}

/// A gateway fronting the fixture over stdio as server `fx` (tools `fx__*`).
async fn gateway() -> TestGateway {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    gw
}

/// A configuration file for `toolport stdio` with the same single backend.
/// A configuration with the fixture over stdio, and a data directory beside it.
struct StdioBridge {
    dir: tempfile::TempDir,
}

impl StdioBridge {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let body = json!({"mcpServers": {"fx": {
            "command": toolport_testkit::fixture_bin(),
            "args": ["--transport", "stdio"],
        }}});
        std::fs::write(dir.path().join("toolport.json"), body.to_string()).expect("write config");
        Self { dir }
    }

    /// `toolport stdio --config … --data-dir …`, as a client spawns it.
    fn command(&self) -> Vec<String> {
        let path = |p: &str| self.dir.path().join(p).to_string_lossy().into_owned();
        vec![
            env!("CARGO_BIN_EXE_toolport").to_string(),
            "stdio".into(),
            "--config".into(),
            path("toolport.json"),
            "--data-dir".into(),
            path("data"),
        ]
    }
}

struct Run {
    stdout: String,
    stderr: String,
}

/// Runs `command + args` (60 s at most); panics with both streams when it fails.
async fn run(command: &[String], args: &[&str]) -> Run {
    let (program, prefix) = command.split_first().expect("a command");
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(program)
            .args(prefix)
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{program} {args:?} did not finish within 60 s"))
    .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let run = Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        output.status.success(),
        "{program} {args:?} exited with {}\nstdout: {}\nstderr: {}",
        output.status,
        run.stdout,
        run.stderr
    );
    run
}

// --- MCP Inspector CLI --------------------------------------------------------------------------

/// Runs the Inspector with `--format json` among `args`, which makes it print one object:
/// `{"result": …}`.
async fn inspector(command: &[String], args: &[&str]) -> Value {
    let out = run(command, args).await;
    let value: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "inspector printed no JSON ({e}): {}\nstderr: {}",
            out.stdout, out.stderr
        )
    });
    value
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("inspector reported no result: {value}"))
}

/// Lists the tools and calls `fx__echo` through `target` (URL + flags, or `-- CMD ARGS`).
async fn inspector_list_and_call(command: &[String], target: &[&str], text: &str) {
    let (mut before, after) = split_target(target);
    before.extend(["--format", "json"]);
    let mut list = before.clone();
    list.extend(["--method", "tools/list"]);
    list.extend(&after);
    let tools = inspector(command, &list).await;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {tools}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"fx__echo"), "fx__echo missing: {names:?}");
    let arg = format!("text={text}");
    let mut call = before;
    call.extend([
        "--method",
        "tools/call",
        "--tool-name",
        "fx__echo",
        "--tool-arg",
        &arg,
    ]);
    call.extend(&after);
    let result = inspector(command, &call).await;
    assert_eq!(result["content"][0]["text"], text, "{result}");
    assert_ne!(result["isError"], true, "{result}");
}

/// A stdio target (`-- CMD ARGS`) must come after the other flags.
fn split_target<'a>(target: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    match target.iter().position(|a| *a == "--") {
        Some(i) => (target[..i].to_vec(), target[i..].to_vec()),
        None => (target.to_vec(), Vec::new()),
    }
}

async fn inspector_has_eras(command: &[String]) -> bool {
    run(command, &["--help"])
        .await
        .stdout
        .contains("--protocol-era")
}

#[tokio::test]
async fn inspector_over_streamable_http_in_both_protocol_eras() {
    let Some(inspector) = tool_command("TOOLPORT_INSPECTOR", "inspector over Streamable HTTP")
    else {
        return;
    };
    let gw = gateway().await;
    let url = format!("{}/mcp", gw.base);
    if !inspector_has_eras(&inspector).await {
        let _ = writeln!(
            std::io::stderr(),
            "NOTE: this Inspector has no --protocol-era (2.12 has); testing its default era only"
        );
        inspector_list_and_call(&inspector, &[&url, "--transport", "http"], "inspector-http").await;
        gw.stop().await;
        return;
    }
    for era in ["legacy", "modern"] {
        let sessions = gw.gateway.session_count();
        inspector_list_and_call(
            &inspector,
            &[&url, "--transport", "http", "--protocol-era", era],
            &format!("inspector-http-{era}"),
        )
        .await;
        if era == "modern" {
            // 2026-07-28 is stateless: the modern era must not have opened a session.
            assert_eq!(
                gw.gateway.session_count(),
                sessions,
                "modern era opened a session"
            );
        }
    }
    gw.stop().await;
}

#[tokio::test]
async fn inspector_over_legacy_sse() {
    let Some(inspector) = tool_command("TOOLPORT_INSPECTOR", "inspector over legacy SSE") else {
        return;
    };
    let gw = gateway().await;
    let url = format!("{}/sse", gw.base);
    inspector_list_and_call(&inspector, &[&url, "--transport", "sse"], "inspector-sse").await;
    gw.stop().await;
}

#[tokio::test]
async fn inspector_through_the_stdio_bridge() {
    let Some(inspector) = tool_command("TOOLPORT_INSPECTOR", "inspector over toolport stdio")
    else {
        return;
    };
    let bridge = StdioBridge::new();
    let mut args = vec!["--".to_string()];
    args.extend(bridge.command());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    inspector_list_and_call(&inspector, &args, "inspector-stdio").await;
}

#[tokio::test]
async fn inspector_through_the_stdio_bridge_in_the_modern_era() {
    let Some(inspector) = tool_command("TOOLPORT_INSPECTOR", "inspector over toolport stdio")
    else {
        return;
    };
    let bridge = StdioBridge::new();
    let mut args = vec!["--protocol-era".to_string(), "modern".into(), "--".into()];
    args.extend(bridge.command());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    inspector_list_and_call(&inspector, &args, "inspector-stdio-modern").await;
}

// --- Python `mcp` ------------------------------------------------------------------------------

/// Runs tests/clients/mcp_client.py and checks its summary; returns the negotiated revision.
async fn python_list_and_call(
    python: &[String],
    transport: &str,
    mode: &str,
    target: &[&str],
) -> String {
    let text = format!("python-{transport}-{mode}");
    let mut args = vec![
        PYTHON_CLIENT,
        "--transport",
        transport,
        "--mode",
        mode,
        "--tool",
        "fx__echo",
        "--text",
        &text,
    ];
    args.extend(target);
    let out = run(python, &args).await;
    let summary: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "mcp_client.py printed no JSON ({e}): {}\nstderr: {}",
            out.stdout, out.stderr
        )
    });
    let tools: Vec<&str> = summary["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tools.contains(&"fx__echo"), "{summary}");
    assert_eq!(summary["isError"], false, "{summary}");
    assert_eq!(summary["content"][0]["text"], text.as_str(), "{summary}");
    summary["protocolVersion"]
        .as_str()
        .expect("protocolVersion")
        .to_string()
}

#[tokio::test]
async fn python_mcp_over_streamable_http() {
    let Some(python) = tool_command("TOOLPORT_PYTHON", "python mcp over Streamable HTTP") else {
        return;
    };
    let gw = gateway().await;
    let url = format!("{}/mcp", gw.base);
    // `legacy` is the initialize handshake; `auto` probes server/discover and must pick the
    // stateless revision; a pinned `2026-07-28` skips the probe.
    for (mode, expected) in [
        ("legacy", "2025-11-25"),
        ("auto", "2026-07-28"),
        ("2026-07-28", "2026-07-28"),
    ] {
        let version = python_list_and_call(&python, "http", mode, &[&url]).await;
        assert_eq!(version, expected, "mode {mode}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn python_mcp_over_legacy_sse() {
    let Some(python) = tool_command("TOOLPORT_PYTHON", "python mcp over legacy SSE") else {
        return;
    };
    let gw = gateway().await;
    let url = format!("{}/sse", gw.base);
    let version = python_list_and_call(&python, "sse", "legacy", &[&url]).await;
    assert_eq!(version, "2025-11-25");
    gw.stop().await;
}

#[tokio::test]
async fn python_mcp_through_the_stdio_bridge() {
    let Some(python) = tool_command("TOOLPORT_PYTHON", "python mcp over toolport stdio") else {
        return;
    };
    let bridge = StdioBridge::new();
    let mut target = vec!["--".to_string()];
    target.extend(bridge.command());
    let target: Vec<&str> = target.iter().map(String::as_str).collect();
    let version = python_list_and_call(&python, "stdio", "legacy", &target).await;
    assert_eq!(version, "2025-11-25");
}

#[tokio::test]
async fn python_mcp_through_the_stdio_bridge_statelessly() {
    let Some(python) = tool_command("TOOLPORT_PYTHON", "python mcp over toolport stdio") else {
        return;
    };
    let bridge = StdioBridge::new();
    let mut target = vec!["--".to_string()];
    target.extend(bridge.command());
    let target: Vec<&str> = target.iter().map(String::as_str).collect();
    let version = python_list_and_call(&python, "stdio", "auto", &target).await;
    assert_eq!(version, "2026-07-28");
}

// --- `toolport call` ----------------------------------------------------------------------------

/// Runs `toolport call ARGS` and returns (success, stdout, stderr).
async fn toolport_call(args: &[&str]) -> (bool, String, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_toolport"))
            .arg("call")
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("toolport call finishes within 60 s")
    .expect("toolport runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[tokio::test]
async fn toolport_call_lists_and_calls_over_every_transport() {
    let gw = gateway().await;
    let http = format!("{}/mcp", gw.base);
    let sse = format!("{}/sse", gw.base);
    let fixture = toolport_testkit::fixture_bin();
    let stdio = format!("{} --transport stdio", fixture.display());

    let (ok, out, err) = toolport_call(&[&http]).await;
    assert!(ok, "{err}");
    let tools = json_of(&out);
    assert!(
        tools["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .any(|t| t["name"] == "fx__echo"),
        "{out}"
    );
    // Numbers stay numbers; the URL may come last; legacy SSE is picked from the path.
    for target in [&http, &sse] {
        let (ok, out, err) =
            toolport_call(&["--arg", "a=2", "--arg", "b=3", "fx__add", target]).await;
        assert!(ok, "{target}: {err}");
        assert_eq!(json_of(&out)["structuredContent"]["sum"], 5.0, "{out}");
    }
    // `text` is declared a string, so 123 stays the string "123".
    let (ok, out, err) = toolport_call(&["--stdio", &stdio, "echo", "--arg", "text=123"]).await;
    assert!(ok, "{err}");
    assert_eq!(json_of(&out)["content"][0]["text"], "123", "{out}");
    gw.stop().await;
}

#[tokio::test]
async fn toolport_call_fails_clearly() {
    let gw = gateway().await;
    let http = format!("{}/mcp", gw.base);
    // A tool error is printed, and the exit status says it failed.
    let (ok, out, err) = toolport_call(&[&http, "fx__test_error_handling"]).await;
    assert!(!ok, "isError must fail the command: {out}");
    assert_eq!(json_of(&out)["isError"], true, "{out}");
    assert!(err.contains("reported an error"), "{err}");
    // A typo names the tools that exist.
    let (ok, _, err) = toolport_call(&[&http, "fx__ehco"]).await;
    assert!(!ok);
    assert!(
        err.contains("no tool named \"fx__ehco\"") && err.contains("fx__echo"),
        "{err}"
    );
    gw.stop().await;
    // Nobody listening: the command says where it tried.
    let (ok, _, err) = toolport_call(&[&http]).await;
    assert!(!ok);
    assert!(
        err.contains("cannot connect to") && err.contains(&http),
        "{err}"
    );
}

// --- version matrix -----------------------------------------------------------------------------

/// Backends capped at each stateful revision, each on the transport of its era.
const BACKENDS: [(&str, &str); 4] = [
    ("v20241105", "2024-11-05"),
    ("v20250326", "2025-03-26"),
    ("v20250618", "2025-06-18"),
    ("v20251125", "2025-11-25"),
];

#[tokio::test]
async fn every_client_revision_reaches_every_backend_revision() {
    let sse = toolport_testkit::spawn_sse(&["--max-protocol", "2024-11-05"])
        .await
        .expect("fixture over legacy SSE");
    let http = toolport_testkit::spawn_http(&["--max-protocol", "2025-03-26"])
        .await
        .expect("fixture over Streamable HTTP");
    let gw = TestGateway::start(config(vec![
        server(
            "v20241105",
            UpstreamSpec::Sse {
                url: sse.url().to_string(),
                headers: Default::default(),
            },
        ),
        server(
            "v20250326",
            UpstreamSpec::StreamableHttp {
                url: http.url().to_string(),
                headers: Default::default(),
            },
        ),
        server(
            "v20250618",
            fixture_stdio(&["--max-protocol", "2025-06-18"]),
        ),
        server(
            "v20251125",
            fixture_stdio(&["--max-protocol", "2025-11-25"]),
        ),
    ]))
    .await;
    gw.ready().await;
    for backend in gw.gateway.readiness() {
        let (_, cap) = BACKENDS
            .iter()
            .find(|(name, _)| *name == backend.name)
            .expect("a configured backend");
        assert_eq!(
            backend.protocol,
            Some(*cap),
            "backend {} negotiated {:?}",
            backend.name,
            backend.protocol
        );
    }

    // Stateful clients, through the same client code the gateway uses southbound: 2024-11-05 on
    // its era's legacy SSE, the others on Streamable HTTP.
    for client_revision in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let spec = if client_revision == "2024-11-05" {
            UpstreamSpec::Sse {
                url: format!("{}/sse", gw.base),
                headers: Default::default(),
            }
        } else {
            UpstreamSpec::StreamableHttp {
                url: format!("{}/mcp", gw.base),
                headers: Default::default(),
            }
        };
        let options = McpClientOptions {
            protocol_version: toolport_protocol::ProtocolVersion::parse(client_revision)
                .expect("known revision"),
            timeout: Duration::from_secs(20),
            ..McpClientOptions::default()
        };
        let client = McpClient::connect("matrix", &spec, options)
            .await
            .unwrap_or_else(|e| panic!("client {client_revision}: {e}"));
        assert_eq!(
            client.protocol.as_str(),
            client_revision,
            "negotiated revision"
        );
        let tools = client
            .list_all("tools/list", "tools")
            .await
            .unwrap_or_else(|e| panic!("client {client_revision}: tools/list: {e}"));
        for (backend, backend_revision) in BACKENDS {
            let tool = format!("{backend}__echo");
            assert!(
                tools.iter().any(|t| t["name"] == tool.as_str()),
                "client {client_revision} does not see {tool}"
            );
            let text = format!("{client_revision} -> {backend_revision}");
            let result = client
                .request(
                    "tools/call",
                    Some(json!({"name": tool, "arguments": {"text": text}})),
                )
                .await
                .unwrap_or_else(|e| panic!("client {client_revision} -> {backend}: {e}"));
            assert_eq!(result["content"][0]["text"], text.as_str(), "{result}");
        }
        client.close().await;
    }

    // A 2026-07-28 client: no initialize, no session; `_meta` and headers on every request.
    let modern = Client::new(format!("{}/mcp", gw.base));
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "matrix", "version": "1"},
    });
    let base_headers = [("mcp-protocol-version", "2026-07-28")];
    let list = modern
        .post_with(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}}),
            &[base_headers[0], ("mcp-method", "tools/list")],
        )
        .await;
    assert_eq!(list.status, 200, "{list:?}");
    assert!(
        list.headers.get(support::SESSION).is_none(),
        "stateless: no session id"
    );
    let listed = list.result(1);
    assert_eq!(listed["resultType"], "complete", "{listed}");
    assert!(listed["ttlMs"].is_u64(), "ttlMs: {listed}");
    assert!(
        matches!(listed["cacheScope"].as_str(), Some("public" | "private")),
        "cacheScope: {listed}"
    );
    for (i, (backend, backend_revision)) in BACKENDS.iter().enumerate() {
        let tool = format!("{backend}__echo");
        assert!(
            listed["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .any(|t| t["name"] == tool.as_str()),
            "2026-07-28 client does not see {tool}"
        );
        let id = 10 + i as i64;
        let text = format!("2026-07-28 -> {backend_revision}");
        let reply = modern
            .post_with(
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
                    "name": tool, "arguments": {"text": text}, "_meta": meta}}),
                &[
                    base_headers[0],
                    ("mcp-method", "tools/call"),
                    ("mcp-name", &tool),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let result = reply.result(id);
        assert_eq!(result["resultType"], "complete", "{result}");
        assert_eq!(result["content"][0]["text"], text.as_str(), "{result}");
    }
    gw.stop().await;
    drop((sse, http));
}
