//! Third-party backends behind the gateway: `@modelcontextprotocol/server-everything` (npm) over
//! stdio and Streamable HTTP, and a server written with the Python `mcp` SDK. Each test needs its
//! peer from the environment (`.ci/peers.sh` sets them) and says clearly when it is skipped.

mod support;

use std::collections::BTreeMap;

use serde_json::json;
use support::{Client, TestGateway, config, server};
use toolport_upstream::UpstreamSpec;

fn env(name: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty());
    if value.is_none() {
        eprintln!("SKIPPED: {name} is unset (.ci/peers.sh sets it)");
    }
    value
}

fn node() -> Option<String> {
    env("TOOLPORT_NODE_BIN").map(|dir| format!("{dir}/node"))
}

fn stdio(command: String, args: Vec<String>) -> UpstreamSpec {
    UpstreamSpec::Stdio {
        command,
        args,
        env: BTreeMap::new(),
        cwd: None,
    }
}

#[tokio::test]
async fn server_everything_over_stdio_and_streamable_http() {
    let (Some(node), Some(js)) = (node(), env("TOOLPORT_EVERYTHING_JS")) else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut http_server = tokio::process::Command::new(&node)
        .args([&js, "streamableHttp"])
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start server-everything over HTTP");
    let gw = TestGateway::start(config(vec![
        server("ev", stdio(node.clone(), vec![js.clone(), "stdio".into()])),
        server(
            "evh",
            UpstreamSpec::StreamableHttp {
                url: format!("http://127.0.0.1:{port}/mcp"),
                headers: BTreeMap::new(),
            },
        ),
    ]))
    .await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let names = client.tool_names().await;
    for name in ["ev__echo", "evh__echo"] {
        assert!(
            names.contains(&name.to_string()),
            "{name} missing from {names:?}"
        );
        let result = client
            .call(1, name, json!({"message": "through toolport"}))
            .await;
        assert!(
            result["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("through toolport"),
            "{result}"
        );
    }
    let prompts = client.request(2, "prompts/list", json!({})).await;
    assert!(!prompts.result(2)["prompts"].as_array().unwrap().is_empty());
    gw.stop().await;
    let _ = http_server.kill().await;
}

#[tokio::test]
async fn a_python_sdk_server_over_stdio() {
    let Some(python) = env("TOOLPORT_PYTHON") else {
        return;
    };
    let script = format!("{}/tests/backends/py_server.py", env!("CARGO_MANIFEST_DIR"));
    let gw = TestGateway::start(config(vec![server("py", stdio(python, vec![script]))])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-06-18").await;
    let names = client.tool_names().await;
    assert!(names.contains(&"py__shout".to_string()), "{names:?}");
    let shout = client.call(1, "py__shout", json!({"text": "hello"})).await;
    assert_eq!(shout["content"][0]["text"], "HELLO");
    let product = client
        .call(2, "py__multiply", json!({"a": 6, "b": 7}))
        .await;
    assert!(product.to_string().contains("42"), "{product}");
    gw.stop().await;
}
