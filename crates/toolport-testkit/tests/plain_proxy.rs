//! `toolport-plain-proxy`, the yardsticks of `toolport-bench`: MCP sessions through it reach the
//! fixture unchanged (bodies unread or read as JSON-RPC), the reading proxy gives every answer
//! its client's id back, and a dead upstream is a 502, not a hung or dropped connection.

use std::path::PathBuf;

use http::StatusCode;
use toolport_testkit::bench::client::{Conn, Session};
use toolport_testkit::{FixtureProcess, spawn_announcing, spawn_http};

fn proxy_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_toolport-plain-proxy"))
}

async fn proxy_to(upstream: &str, extra: &[&str]) -> (FixtureProcess, std::net::SocketAddr) {
    let mut args = vec!["--upstream", upstream];
    args.extend_from_slice(extra);
    let proxy = spawn_announcing(&proxy_bin(), &args)
        .await
        .expect("the proxy starts");
    let addr = proxy
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the proxy announces a socket address");
    (proxy, addr)
}

#[tokio::test]
async fn sessions_through_the_proxy_reach_the_fixture() {
    sessions_reach_the_fixture(&[]).await;
}

#[tokio::test]
async fn sessions_through_the_json_rpc_proxy_reach_the_fixture() {
    sessions_reach_the_fixture(&["--json-rpc"]).await;
}

async fn sessions_reach_the_fixture(extra: &[&str]) {
    let fixture = spawn_http(&[]).await.expect("the fixture starts");
    let upstream = fixture.base_url().trim_start_matches("http://").to_owned();
    let (_proxy, addr) = proxy_to(&upstream, extra).await;

    let mut through = Session::open(addr, "/mcp")
        .await
        .expect("initialize through the proxy");
    for _ in 0..3 {
        through.echo().await.expect("echo through the proxy");
    }
    // The fixture counted the proxied calls: they arrived as they were sent.
    let counts = through
        .call_count()
        .await
        .expect("call_count through the proxy");
    assert_eq!(counts["tools"]["echo"], 3, "{counts}");
}

#[tokio::test]
async fn a_dead_upstream_is_a_bad_gateway() {
    // A port nobody listens on: bound, read, then released.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = free.local_addr().unwrap().to_string();
    drop(free);
    let (_proxy, addr) = proxy_to(&dead, &[]).await;

    let mut conn = Conn::open(addr)
        .await
        .expect("the proxy accepts connections");
    let reply = conn
        .post("/mcp", None, "{}".to_owned())
        .await
        .expect("the proxy answers");
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn the_json_rpc_proxy_answers_with_the_clients_id() {
    let fixture = spawn_http(&[]).await.expect("the fixture starts");
    let upstream = fixture.base_url().trim_start_matches("http://").to_owned();
    let (_proxy, addr) = proxy_to(&upstream, &["--json-rpc"]).await;

    let mut conn = Conn::open(addr)
        .await
        .expect("the proxy accepts connections");
    // A string id: the proxy sends the fixture a number of its own, so only a proxy that puts
    // the client's id back answers with this one.
    let initialize = r#"{"jsonrpc":"2.0","id":"client-7","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let reply = conn
        .post("/mcp", None, initialize.to_owned())
        .await
        .expect("the proxy answers");
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.sse, "the fixture answers initialize with JSON");
    let answer: serde_json::Value = serde_json::from_slice(&reply.body).expect("a JSON answer");
    assert_eq!(answer["id"], "client-7", "{answer}");
    assert!(answer["result"]["serverInfo"].is_object(), "{answer}");

    let refused = conn
        .post("/mcp", None, "not json".to_owned())
        .await
        .expect("the proxy answers");
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(&refused.body[..], b"the body is not JSON");
}
