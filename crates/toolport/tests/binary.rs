//! The `toolport` binary as users run it: hot reload of the config file, the stdio bridge,
//! clean shutdown (no orphaned children), and config errors that point at the problem.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, free_port};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_toolport");

fn fixture() -> String {
    toolport_testkit::fixture_bin()
        .to_string_lossy()
        .into_owned()
}

fn write_config(path: &Path, servers: Value, port: u16) {
    let text = json!({"mcpServers": servers, "toolport": {
        "listen": format!("127.0.0.1:{port}"),
        "mcpAccess": "open",
    }});
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&text).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn stdio_server(name: &str) -> Value {
    json!({"command": fixture(), "args": ["--transport", "stdio", "--name", name]})
}

async fn start(config: &Path) -> Child {
    Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(config.with_file_name("data"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start toolport")
}

async fn wait_ready(base: &str, servers: usize) {
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(resp) = http.get(format!("{base}/readyz")).send().await
            && let Ok(body) = resp.json::<Value>().await
            && body["status"] == "ready"
            && body["backends"].as_array().map(Vec::len) == Some(servers)
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "gateway not ready with {servers} servers"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn config_changes_apply_without_disturbing_other_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toolport.json");
    let port = free_port();
    write_config(&path, json!({"one": stdio_server("one")}), port);
    let mut child = start(&path).await;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base, 1).await;
    let client = Client::connect(format!("{base}/mcp"), "2025-11-25").await;
    let mut stream = client.open_stream().await;
    let readiness = || async {
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let restarts_of_one = |v: &Value| v["backends"][0]["restarts"].clone();
    let before = readiness().await;

    // Add a server: it appears, the session is told, `one` is untouched.
    write_config(
        &path,
        json!({"one": stdio_server("one"), "two": stdio_server("two")}),
        port,
    );
    wait_ready(&base, 2).await;
    let note = tokio::time::timeout(Duration::from_secs(5), stream.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert!(client.tool_names().await.contains(&"two__echo".to_string()));
    assert_eq!(
        client
            .call(2, "one__echo", json!({"text": "same session"}))
            .await["content"][0]["text"],
        "same session"
    );
    assert_eq!(
        restarts_of_one(&readiness().await),
        restarts_of_one(&before)
    );

    // An invalid file is refused; the last good configuration stays in force.
    std::fs::write(&path, b"{ this is not json").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(readiness().await["backends"].as_array().unwrap().len(), 2);
    assert_eq!(
        client.call(3, "two__echo", json!({"text": "still"})).await["content"][0]["text"],
        "still"
    );

    // Remove a server: its tools go away.
    write_config(&path, json!({"two": stdio_server("two")}), port);
    let start = Instant::now();
    loop {
        let names = client.tool_names().await;
        if !names.iter().any(|n| n.starts_with("one__")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "one__ tools still listed: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().await.unwrap();
    let mut log = String::new();
    if let Some(mut err) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = tokio::time::timeout(Duration::from_secs(2), err.read_to_string(&mut log)).await;
    }
    assert!(
        log.contains("configuration refused"),
        "no refusal logged:\n{log}"
    );
}

#[tokio::test]
async fn sigterm_stops_the_gateway_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toolport.json");
    let port = free_port();
    write_config(
        &path,
        json!({"a": stdio_server("a"), "b": stdio_server("b")}),
        port,
    );
    let mut child = start(&path).await;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base, 2).await;
    let gateway_pid = child.id().unwrap();
    let children = children_of(gateway_pid);
    assert_eq!(
        children.len(),
        2,
        "expected two fixture processes, got {children:?}"
    );
    nix_kill(gateway_pid);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "{status}");
    for pid in children {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid),
            "child {pid} outlived the gateway"
        );
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat"))
            && let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r.to_string())
            && rest
                .split_whitespace()
                .nth(1)
                .and_then(|pp| pp.parse::<u32>().ok())
                == Some(pid)
        {
            out.push(p);
        }
    }
    out
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
        .unwrap_or(true)
}

fn nix_kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn the_stdio_bridge_serves_a_desktop_client() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claude_desktop_config.json");
    write_config(&path, json!({"fx": stdio_server("fx")}), free_port());
    let mut child = Command::new(BIN)
        .args(["stdio", "--config"])
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut send = async |v: Value| {
        stdin.write_all(format!("{v}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    };
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "desktop", "version": "1"}}})).await;
    let init: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    // The backend may still be starting; ask until its tools are listed.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut id = 2;
    loop {
        send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})).await;
        let reply: Value = loop {
            let v: Value =
                serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
            if v["id"] == id {
                break v;
            }
        };
        if reply["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
        {
            break;
        }
        assert!(Instant::now() < deadline, "no tools over stdio: {reply}");
        id += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send(json!({"jsonrpc": "2.0", "id": 100, "method": "tools/call", "params": {"name": "fx__echo", "arguments": {"text": "over stdio"}}})).await;
    let reply: Value = loop {
        let v: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        if v["id"] == 100 {
            break v;
        }
    };
    assert_eq!(reply["result"]["content"][0]["text"], "over stdio");
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits when stdin closes")
        .unwrap();
    assert!(status.success());
}

#[test]
fn config_errors_name_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(
        f,
        "{{\n  \"mcpServers\": {{\n    \"x\": {{\"command\": 42}}\n  }}\n}}"
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json:3:"), "{err}");
    assert!(err.contains("mcpServers.x.command"), "{err}");
}
