//! The HTTP edge refuses what it must before any MCP processing: foreign Host or Origin (403),
//! oversized bodies (413), malformed JSON-RPC (400 with a JSON-RPC error), unknown sessions (404),
//! and answers what it can: batches, pings, unknown methods. POSTs reach `/mcp` and `/mcp/{name}`
//! exactly as the router would route them: names percent-decoded, nothing else taken.

mod support;

use serde_json::json;
use support::{Client, TestGateway, config, fixture_stdio, server};

async fn gateway() -> TestGateway {
    let mut cfg = config(vec![server("fx", fixture_stdio(&[]))]);
    cfg.http.max_body_bytes = 64 * 1024;
    let gw = TestGateway::start(cfg).await;
    gw.ready().await;
    gw
}

fn initialize() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

#[tokio::test]
async fn foreign_host_or_origin_is_forbidden() {
    let gw = gateway().await;
    let client = Client::new(format!("{}/mcp", gw.base));
    let host = client
        .post_with(initialize(), &[("host", "evil.example.com")])
        .await;
    assert_eq!(host.status, 403);
    assert!(
        host.messages[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowedHosts")
    );
    let origin = client
        .post_with(initialize(), &[("origin", "http://evil.example.com")])
        .await;
    assert_eq!(origin.status, 403);
    let local = client
        .post_with(initialize(), &[("origin", "http://localhost:5173")])
        .await;
    assert_eq!(local.status, 200);
    // Health endpoints are not MCP and stay reachable for probes.
    let health = reqwest::get(format!("{}/healthz", gw.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let gw = gateway().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let big = "x".repeat(100 * 1024);
    let reply = client
        .request(
            2,
            "tools/call",
            json!({"name": "fx__echo", "arguments": {"text": big}}),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.messages[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maxBodyBytes")
    );
    // The session is unharmed.
    assert_eq!(
        client.call(3, "fx__echo", json!({"text": "ok"})).await["content"][0]["text"],
        "ok"
    );
    gw.stop().await;
}

#[tokio::test]
async fn malformed_messages_get_precise_json_rpc_errors() {
    let gw = gateway().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let raw = |body: &'static str| {
        let client = client.clone();
        async move {
            let resp = client
                .http
                .post(&client.url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header(support::SESSION, client.session.clone().unwrap())
                .body(body)
                .send()
                .await
                .unwrap();
            support::read_reply(resp).await
        }
    };
    let parse = raw("{not json").await;
    assert_eq!(parse.status, 400);
    assert_eq!(parse.messages[0]["error"]["code"], -32700);
    let no_version = raw(r#"{"id": 5, "method": "ping"}"#).await;
    assert_eq!(no_version.messages[0]["error"]["code"], -32600);
    assert_eq!(no_version.messages[0]["id"], 5);
    let unknown = client.request(6, "no/such/method", json!({})).await;
    assert_eq!(unknown.error(6)["code"], -32601);
    let no_name = client
        .request(7, "tools/call", json!({"arguments": {}}))
        .await;
    assert!(
        no_name.error(7)["message"]
            .as_str()
            .unwrap()
            .contains("params.name")
    );
    let ping = client.request(8, "ping", json!({})).await;
    assert_eq!(ping.result(8), &json!({}));
    // A batch mixes good and bad items; each gets its own answer.
    let batch = client
        .post(json!([
            {"jsonrpc": "2.0", "id": 10, "method": "ping"},
            {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {"name": "fx__echo", "arguments": {"text": "b"}}},
            {"jsonrpc": "1.0", "id": 12, "method": "ping"}
        ]))
        .await;
    assert_eq!(batch.messages.len(), 3);
    assert_eq!(batch.result(11)["content"][0]["text"], "b");
    assert_eq!(batch.error(12)["code"], -32600);
    gw.stop().await;
}

#[tokio::test]
async fn sessions_are_required_known_and_deletable() {
    let gw = gateway().await;
    let anonymous = Client::new(format!("{}/mcp", gw.base));
    let no_session = anonymous.request(1, "tools/list", json!({})).await;
    assert_eq!(no_session.status, 400);
    let mut stale = anonymous.clone();
    stale.session = Some("not-a-session".into());
    assert_eq!(stale.request(1, "tools/list", json!({})).await.status, 404);
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let deleted = client
        .http
        .delete(&client.url)
        .header(support::SESSION, client.session.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(client.request(2, "tools/list", json!({})).await.status, 404);
    gw.stop().await;
}

#[tokio::test]
async fn posts_are_routed_like_the_router_would() {
    let gw = gateway().await;
    // A percent-encoded server name is the server.
    let encoded = Client::connect(format!("{}/mcp/%66x", gw.base), "2025-11-25").await;
    assert_eq!(
        encoded.call(2, "echo", json!({"text": "decoded"})).await["content"][0]["text"],
        "decoded"
    );
    // Not UTF-8 once decoded: a 400 that says so.
    let invalid = Client::new(format!("{}/mcp/%FF", gw.base))
        .post_with(initialize(), &[])
        .await;
    assert_eq!(invalid.status, 400);
    assert!(
        invalid.messages[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8"),
        "{:?}",
        invalid.messages
    );
    // Paths the router has no POST route for stay unrouted.
    for path in ["/mcp/", "/mcp/fx/extra", "/mcpx"] {
        let reply = Client::new(format!("{}{path}", gw.base))
            .post_with(initialize(), &[])
            .await;
        assert_eq!(reply.status, 404, "{path}");
    }
    gw.stop().await;
}
