//! Drives `toolport-fixture` over Streamable HTTP (sessions, JSON and SSE answers, a sampling
//! round trip, progress, resumption), 2026-07-28 stateless requests, the Host/Origin guard,
//! the legacy HTTP+SSE transport and `crash`.

use std::time::Duration;

use futures::StreamExt;
use reqwest::Client;
use serde_json::{Value, json};
use toolport_testkit::{FixtureProcess, spawn_http, spawn_sse};

const ACCEPT: &str = "application/json, text/event-stream";

/// Reads SSE events (`data:` payloads, and the `id:` of each event) from a streaming body.
struct Events {
    body: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buf: String,
}

impl Events {
    fn new(resp: reqwest::Response) -> Self {
        Self {
            body: resp.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next event as (id, data); `None` at the end of the stream.
    async fn next(&mut self) -> Option<(Option<String>, String)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                return Some((id, data));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("SSE event in time")?
                .ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next JSON-RPC message, skipping priming events.
    async fn message(&mut self) -> Option<Value> {
        loop {
            let (_, data) = self.next().await?;
            if !data.is_empty() {
                return Some(serde_json::from_str(&data).unwrap());
            }
        }
    }
}

struct Session {
    client: Client,
    url: String,
    id: String,
}

impl Session {
    async fn open(fixture: &FixtureProcess, version: &str) -> (Self, Value) {
        let client = Client::new();
        let resp = client
            .post(fixture.url())
            .header("accept", ACCEPT)
            .json(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": {"sampling": {}},
                "clientInfo": {"name": "http-test", "version": "1"}}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let id = resp.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let init: Value = resp.json().await.unwrap();
        let session = Self {
            client,
            url: fixture.url().to_owned(),
            id,
        };
        let ack = session
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(ack.status(), 202);
        (session, init)
    }

    async fn post(&self, body: Value) -> reqwest::Response {
        self.client
            .post(&self.url)
            .header("accept", ACCEPT)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", "2025-11-25")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn call(&self, id: i64, method: &str, params: Value) -> Value {
        let resp = self
            .post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "a request that sends nothing first is answered with plain JSON"
        );
        resp.json().await.unwrap()
    }
}

#[tokio::test]
async fn session_list_echo_and_delete() {
    let fixture = spawn_http(&["--name", "beta"]).await.unwrap();
    let (session, init) = Session::open(&fixture, "2025-06-18").await;
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(init["result"]["serverInfo"]["name"], "beta");
    let list = session.call(1, "tools/list", json!({})).await;
    assert!(list["result"]["tools"].as_array().unwrap().len() > 20);
    let echo = session
        .call(
            2,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(echo["result"]["content"][0]["text"], "hi");
    let counts = session
        .call(3, "tools/call", json!({"name": "call_count"}))
        .await;
    let methods = &counts["result"]["structuredContent"]["methods"];
    assert_eq!(methods["initialize"], 1);
    assert_eq!(methods["tools/list"], 1);
    assert_eq!(methods["tools/call"], 2);
    let deleted = session
        .client
        .delete(&session.url)
        .header("mcp-session-id", &session.id)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    let gone = session
        .post(json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}))
        .await;
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn sampling_round_trip_over_sse() {
    let fixture = spawn_http(&[]).await.unwrap();
    let (session, _) = Session::open(&fixture, "2025-11-25").await;
    let resp = session
        .post(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "test_sampling", "arguments": {"prompt": "capital?"}}}))
        .await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut events = Events::new(resp);
    let ask = events.message().await.unwrap();
    assert_eq!(ask["method"], "sampling/createMessage");
    let answered = session
        .post(json!({"jsonrpc": "2.0", "id": ask["id"], "result": {
            "role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"}}))
        .await;
    assert_eq!(answered.status(), 202);
    let done = events.message().await.unwrap();
    assert_eq!(done["id"], 5);
    assert_eq!(done["result"]["content"][0]["text"], "LLM response: Paris");
}

#[tokio::test]
async fn progress_then_result_on_one_stream() {
    let fixture = spawn_http(&[]).await.unwrap();
    let (session, _) = Session::open(&fixture, "2025-03-26").await;
    let resp = session
        .post(
            json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {
            "name": "slow", "arguments": {"ms": 50}, "_meta": {"progressToken": 42}}}),
        )
        .await;
    let mut events = Events::new(resp);
    let mut progress = 0;
    loop {
        let msg = events.message().await.unwrap();
        if msg["method"] == "notifications/progress" {
            assert_eq!(msg["params"]["progressToken"], 42);
            progress += 1;
        } else {
            assert_eq!(msg["id"], 6);
            break;
        }
    }
    assert_eq!(progress, 11);
}

#[tokio::test]
async fn closed_stream_resumes_with_last_event_id() {
    let fixture = spawn_http(&[]).await.unwrap();
    let (session, _) = Session::open(&fixture, "2025-11-25").await;
    let resp = session
        .post(json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
            "params": {"name": "test_reconnection"}}))
        .await;
    let mut events = Events::new(resp);
    let (priming, data) = events.next().await.unwrap();
    assert!(data.is_empty());
    assert!(
        events.next().await.is_none(),
        "the stream closes before the answer"
    );
    let resumed = session
        .client
        .get(&session.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session.id)
        .header("last-event-id", priming.unwrap())
        .send()
        .await
        .unwrap();
    let done = Events::new(resumed).message().await.unwrap();
    assert_eq!(done["id"], 8);
}

#[tokio::test]
async fn stateless_requests_and_header_checks() {
    let fixture = spawn_http(&[]).await.unwrap();
    let client = Client::new();
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}});
    let post = |method: &'static str, name: Option<&'static str>, params: Value| {
        let mut req = client
            .post(fixture.url())
            .header("accept", ACCEPT)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = name {
            req = req.header("mcp-name", name);
        }
        req.json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
    };
    let discover: Value = post("server/discover", None, json!({"_meta": meta}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discover["result"]["resultType"], "complete");
    assert_eq!(discover["result"]["cacheScope"], "public");
    let ask: Value = post(
        "tools/call",
        Some("test_input_required_result_elicitation"),
        json!({"name": "test_input_required_result_elicitation", "_meta": meta}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(ask["result"]["resultType"], "input_required");
    assert_eq!(
        ask["result"]["inputRequests"]["user_name"]["method"],
        "elicitation/create"
    );
    let done: Value = post(
        "tools/call",
        Some("test_input_required_result_elicitation"),
        json!({"name": "test_input_required_result_elicitation", "_meta": meta,
            "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Ada"}}}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(done["result"]["content"][0]["text"], "Hello, Ada!");
    let mismatch = post(
        "tools/call",
        Some("wrong"),
        json!({"name": "echo", "_meta": meta}),
    )
    .await
    .unwrap();
    assert_eq!(mismatch.status(), 400);
    assert_eq!(
        mismatch.json::<Value>().await.unwrap()["error"]["code"],
        -32020
    );
    let removed = post("ping", None, json!({"_meta": meta})).await.unwrap();
    assert_eq!(removed.status(), 404);
}

#[tokio::test]
async fn foreign_host_or_origin_is_forbidden() {
    let fixture = spawn_http(&[]).await.unwrap();
    let resp = Client::new()
        .post(fixture.url())
        .header("origin", "http://evil.example.com")
        .header("accept", ACCEPT)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

#[tokio::test]
async fn legacy_sse_transport() {
    let fixture = spawn_sse(&[]).await.unwrap();
    let client = Client::new();
    let stream = client
        .get(fixture.url())
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let mut events = Events::new(stream);
    let (_, endpoint) = events.next().await.unwrap();
    assert!(endpoint.starts_with("/message?sessionId="), "{endpoint}");
    let post_url = format!("{}{endpoint}", fixture.base_url());
    let accepted = client
        .post(&post_url)
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2024-11-05", "capabilities": {},
            "clientInfo": {"name": "sse-test", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let init = events.message().await.unwrap();
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    client
        .post(&post_url)
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "over sse"}}}))
        .send()
        .await
        .unwrap();
    let echo = events.message().await.unwrap();
    assert_eq!(echo["result"]["content"][0]["text"], "over sse");
}

#[tokio::test]
async fn crash_exits_with_status_one() {
    let mut fixture = spawn_http(&[]).await.unwrap();
    let (session, _) = Session::open(&fixture, "2025-06-18").await;
    let _ = session
        .client
        .post(&session.url)
        .header("accept", ACCEPT)
        .header("mcp-session-id", &session.id)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "crash"}}))
        .send()
        .await;
    let status = tokio::time::timeout(Duration::from_secs(10), fixture.child_mut().wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}

#[tokio::test]
async fn list_changes_reach_other_sessions_on_their_get_stream() {
    let fixture = spawn_http(&[]).await.unwrap();
    let (watcher, _) = Session::open(&fixture, "2025-06-18").await;
    let (actor, _) = Session::open(&fixture, "2025-06-18").await;
    let stream = watcher
        .client
        .get(&watcher.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &watcher.id)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = Events::new(stream);
    let toggled = actor
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "toggle_tool"}}))
        .await;
    let mut own = Events::new(toggled);
    assert_eq!(
        own.message().await.unwrap()["method"],
        "notifications/tools/list_changed",
        "the caller hears about it on its own request stream"
    );
    assert_eq!(
        events.message().await.unwrap()["method"],
        "notifications/tools/list_changed"
    );
    let list = watcher.call(2, "tools/list", json!({})).await;
    let names = list["result"]["tools"].to_string();
    assert!(names.contains("\"extra\""), "{names}");
}

#[tokio::test]
async fn older_backend_refuses_stateless_requests() {
    let fixture = spawn_http(&["--max-protocol", "2025-03-26"]).await.unwrap();
    let resp = Client::new()
        .post(fixture.url())
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "server/discover")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (_, init) = Session::open(&fixture, "2025-11-25").await;
    assert_eq!(init["result"]["protocolVersion"], "2025-03-26");
}
