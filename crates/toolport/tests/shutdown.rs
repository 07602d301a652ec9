//! A graceful shutdown does not wait for clients that keep streams open: the legacy SSE stream,
//! a session's GET stream and a 2026-07-28 subscription all end when the gateway stops.

mod support;

use std::time::Duration;

use serde_json::json;
use support::binary::{Gateway, fixture_server};

#[tokio::test]
async fn open_streams_end_when_the_gateway_stops() {
    let mut gw = Gateway::new();
    gw.write_config(json!({
        "mcpServers": {"fx": fixture_server()},
        "toolport": {"mcpAccess": "open"}
    }));
    gw.start(&[]).await;
    let http = reqwest::Client::new();

    let legacy = http
        .get(format!("{}/sse", gw.base()))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);

    let init = http
        .post(format!("{}/mcp", gw.base()))
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "shutdown-test", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let standalone = http
        .get(format!("{}/mcp", gw.base()))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(standalone.status(), 200);

    // Both streams stay open (neither response is read); the gateway still stops on SIGTERM
    // (`stop` fails the test if the process outlives its grace period).
    gw.stop().await;
    for stream in [legacy, standalone] {
        let body = tokio::time::timeout(Duration::from_secs(5), stream.bytes())
            .await
            .expect("the stream ends with the gateway");
        drop(body);
    }
}
