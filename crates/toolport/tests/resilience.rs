//! Backends that crash, hang or take too long: the gateway restarts them, keeps the others
//! serving, tells clients, and never mixes up concurrent clients.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Client, TestGateway, config, fixture_stdio, server, wait_for};

#[tokio::test]
async fn a_crashed_backend_restarts_and_others_keep_serving() {
    let gw = TestGateway::start(config(vec![
        server("fragile", fixture_stdio(&[])),
        server("steady", fixture_stdio(&[])),
    ]))
    .await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let mut stream = client.open_stream().await;
    // The crash takes the call down with it: a clear error naming the server.
    let crashed = client
        .request(
            1,
            "tools/call",
            json!({"name": "fragile__crash", "arguments": {}}),
        )
        .await;
    let message = crashed.error(1)["message"].as_str().unwrap().to_string();
    assert!(message.contains("fragile"), "{message}");
    // Clients learn that the list changed, the other backend keeps answering, and the crashed one
    // comes back by itself.
    let note = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .expect("a notification")
        .unwrap();
    assert_eq!(note["method"], "notifications/tools/list_changed");
    assert_eq!(
        client
            .call(2, "steady__echo", json!({"text": "still here"}))
            .await["content"][0]["text"],
        "still here"
    );
    wait_for("fragile to restart", Duration::from_secs(15), || {
        gw.gateway
            .readiness()
            .iter()
            .any(|b| b.name == "fragile" && b.state == "ready" && b.restarts >= 1)
    })
    .await;
    assert_eq!(
        client
            .call(3, "fragile__echo", json!({"text": "back"}))
            .await["content"][0]["text"],
        "back"
    );
    let metrics = reqwest::get(format!("{}/metrics", gw.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("toolport_backend_restarts{backend=\"fragile\"} 1"),
        "{metrics}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn calls_to_a_dead_backend_fail_fast_with_its_name() {
    let dead = toolport_upstream::UpstreamSpec::Stdio {
        command: "/nonexistent/toolport-test-server".into(),
        args: vec![],
        env: Default::default(),
        cwd: None,
    };
    let gw = TestGateway::start(config(vec![
        server("ghost", dead),
        server("fx", fixture_stdio(&[])),
    ]))
    .await;
    wait_for("fx ready", Duration::from_secs(30), || {
        gw.gateway
            .readiness()
            .iter()
            .any(|b| b.name == "fx" && b.state == "ready")
    })
    .await;
    let ready = reqwest::get(format!("{}/readyz", gw.base)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    let ghost = body["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "ghost")
        .unwrap()
        .clone();
    assert!(
        ghost["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot start"),
        "{ghost}"
    );
    let client = Client::connect(format!("{}/mcp/ghost", gw.base), "2025-11-25").await;
    let reply = client
        .request(
            1,
            "tools/call",
            json!({"name": "anything", "arguments": {}}),
        )
        .await;
    let err = reply.error(1);
    assert_eq!(err["code"], -32000);
    assert!(err["message"].as_str().unwrap().contains("ghost"), "{err}");
    gw.stop().await;
}

#[tokio::test]
async fn slow_calls_time_out_and_are_cancelled_upstream() {
    let (name, mut fx) = server("fx", fixture_stdio(&[]));
    fx.timeout = Duration::from_millis(300);
    let gw = TestGateway::start(config(vec![(name, fx)])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let started = std::time::Instant::now();
    let reply = client
        .request(
            1,
            "tools/call",
            json!({"name": "fx__slow", "arguments": {"ms": 5000}}),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let err = reply.error(1);
    assert_eq!(err["code"], -32001);
    assert!(
        err["message"].as_str().unwrap().contains("within 300 ms"),
        "{err}"
    );
    let counts = support::upstream_counts(&client, "fx__call_count").await;
    assert_eq!(counts["methods"]["notifications/cancelled"], 1, "{counts}");
    gw.stop().await;
}

#[tokio::test]
async fn client_cancellation_reaches_the_backend() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let slow = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .request(
                    7,
                    "tools/call",
                    json!({"name": "fx__slow", "arguments": {"ms": 20000}}),
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ack = client.post(json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7, "reason": "user"}})).await;
    assert_eq!(ack.status, 202);
    tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("the call ends once cancelled")
        .unwrap();
    let counts = support::upstream_counts(&client, "fx__call_count").await;
    assert_eq!(counts["methods"]["notifications/cancelled"], 1, "{counts}");
    gw.stop().await;
}

#[tokio::test]
async fn progress_and_sampling_reach_the_right_client() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let reply = client
        .request(3, "tools/call", json!({"name": "fx__test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": "mine"}}))
        .await;
    let progress: Vec<_> = reply
        .messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3, "{:?}", reply.messages);
    assert!(
        progress
            .iter()
            .all(|p| p["params"]["progressToken"] == "mine")
    );
    assert_eq!(
        reply.messages.last().unwrap()["id"],
        3,
        "the response comes after its progress"
    );

    // Sampling: the backend's request arrives on the call's stream; the client answers by POST.
    let call = {
        let client = client.clone();
        tokio::spawn(async move {
            let resp = client
                .http
                .post(&client.url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header(support::SESSION, client.session.clone().unwrap())
                .body(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "fx__test_sampling", "arguments": {"prompt": "hello?"}}}).to_string())
                .send()
                .await
                .unwrap();
            let mut events = eventsource_stream::Eventsource::eventsource(resp.bytes_stream());
            let mut seen = Vec::new();
            while let Some(Ok(e)) = futures::StreamExt::next(&mut events).await {
                let v: serde_json::Value = serde_json::from_str(&e.data).unwrap();
                if v["method"] == "sampling/createMessage" {
                    let answer = json!({"jsonrpc": "2.0", "id": v["id"], "result": {"role": "assistant", "content": {"type": "text", "text": "from the client"}, "model": "m", "stopReason": "endTurn"}});
                    assert_eq!(client.post(answer).await.status, 202);
                }
                seen.push(v);
            }
            seen
        })
    };
    let seen = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .unwrap()
        .unwrap();
    let request = seen
        .iter()
        .find(|m| m["method"] == "sampling/createMessage")
        .expect("sampling relayed");
    assert_eq!(
        request["params"]["messages"][0]["content"]["text"],
        "hello?"
    );
    let result = seen
        .iter()
        .find(|m| m["id"] == 4)
        .expect("the call's result");
    assert!(result.to_string().contains("from the client"), "{result}");
    gw.stop().await;
}

#[tokio::test]
async fn concurrent_sessions_never_see_each_others_answers() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let mut tasks = Vec::new();
    for s in 0..16 {
        let url = format!("{}/mcp", gw.base);
        tasks.push(tokio::spawn(async move {
            let client = Client::connect(url, "2025-06-18").await;
            for i in 0..20 {
                // Every session reuses the same request ids on purpose.
                let text = format!("session {s} call {i}");
                let result = client.call(i, "fx__echo", json!({"text": text})).await;
                assert_eq!(result["content"][0]["text"], text);
            }
        }));
    }
    for t in tasks {
        t.await.expect("session task");
    }
    assert_eq!(gw.gateway.session_count(), 16);
    gw.stop().await;
}
