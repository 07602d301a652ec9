//! Drives `toolport-fixture --transport stdio` like a client would: the handshake, tools,
//! a sampling round trip, progress, errors for bad input, stateless requests and
//! `--max-protocol`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use toolport_testkit::stdio_command;

struct Peer {
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl Peer {
    fn spawn(args: &[&str]) -> Self {
        let mut child = stdio_command(args).spawn().expect("spawn toolport-fixture");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        Self {
            stdin,
            lines: BufReader::new(stdout).lines(),
            _child: child,
        }
    }

    async fn send_raw(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn send(&mut self, msg: Value) {
        self.send_raw(&msg.to_string()).await;
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
            .await
            .expect("fixture answered in time")
            .unwrap()
            .expect("fixture closed stdout");
        serde_json::from_str(&line).unwrap()
    }

    /// Sends a request and returns (response, messages that arrived before it).
    async fn request(&mut self, id: i64, method: &str, params: Value) -> (Value, Vec<Value>) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let mut before = Vec::new();
        loop {
            let msg = self.recv().await;
            if msg["id"] == id && msg.get("method").is_none() {
                return (msg, before);
            }
            before.push(msg);
        }
    }

    async fn initialize(&mut self, version: &str) -> Value {
        let (resp, _) = self
            .request(
                0,
                "initialize",
                json!({"protocolVersion": version, "capabilities": {"sampling": {}},
                    "clientInfo": {"name": "stdio-test", "version": "1"}}),
            )
            .await;
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        resp
    }
}

#[tokio::test]
async fn handshake_list_and_echo() {
    let mut peer = Peer::spawn(&["--name", "alpha"]);
    let init = peer.initialize("2025-06-18").await;
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(init["result"]["serverInfo"]["name"], "alpha");
    let (list, _) = peer.request(1, "tools/list", json!({})).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for expected in ["echo", "add", "slow", "call_count", "test_simple_text"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let (echo, _) = peer
        .request(
            2,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hello"}}),
        )
        .await;
    assert_eq!(echo["result"]["content"][0]["text"], "hello");
    let (add, _) = peer
        .request(
            3,
            "tools/call",
            json!({"name": "add", "arguments": {"a": 2, "b": 3.5}}),
        )
        .await;
    assert_eq!(add["result"]["structuredContent"]["sum"], 5.5);
}

#[tokio::test]
async fn sampling_round_trip() {
    let mut peer = Peer::spawn(&[]);
    peer.initialize("2025-11-25").await;
    peer.send(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "test_sampling", "arguments": {"prompt": "2+2?"}}}))
        .await;
    let ask = peer.recv().await;
    assert_eq!(ask["method"], "sampling/createMessage");
    assert_eq!(ask["params"]["messages"][0]["content"]["text"], "2+2?");
    peer.send(json!({"jsonrpc": "2.0", "id": ask["id"], "result": {
        "role": "assistant", "content": {"type": "text", "text": "4"}, "model": "m"}}))
        .await;
    let done = peer.recv().await;
    assert_eq!(done["id"], 7);
    assert_eq!(done["result"]["content"][0]["text"], "LLM response: 4");
}

#[tokio::test]
async fn progress_precedes_the_result() {
    let mut peer = Peer::spawn(&[]);
    peer.initialize("2025-03-26").await;
    let (resp, before) = peer
        .request(
            4,
            "tools/call",
            json!({"name": "slow", "arguments": {"ms": 50}, "_meta": {"progressToken": "p1"}}),
        )
        .await;
    assert_eq!(resp["result"]["content"][0]["text"], "slept 50 ms");
    let progress: Vec<f64> = before
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| {
            assert_eq!(m["params"]["progressToken"], "p1");
            m["params"]["progress"].as_f64().unwrap()
        })
        .collect();
    assert!(progress.len() >= 10, "{before:?}");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn cancelled_request_gets_no_answer() {
    let mut peer = Peer::spawn(&[]);
    peer.initialize("2025-06-18").await;
    peer.send(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "slow", "arguments": {"ms": 5000}}}))
        .await;
    peer.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 9, "reason": "test"}}),
    )
    .await;
    let (counts, _) = peer
        .request(10, "tools/call", json!({"name": "call_count"}))
        .await;
    assert_eq!(counts["result"]["structuredContent"]["tools"]["slow"], 1);
    assert_eq!(
        counts["result"]["structuredContent"]["methods"]["tools/call"],
        2
    );
}

#[tokio::test]
async fn bad_input_gets_json_rpc_errors() {
    let mut peer = Peer::spawn(&[]);
    peer.send_raw("{not json").await;
    assert_eq!(peer.recv().await["error"]["code"], -32700);
    peer.send_raw(r#"{"jsonrpc":"2.0","id":5,"method":"nope/nope"}"#)
        .await;
    assert_eq!(peer.recv().await["error"]["code"], -32601);
    let (unknown, _) = peer
        .request(6, "tools/call", json!({"name": "no_such_tool"}))
        .await;
    assert_eq!(unknown["error"]["code"], -32602);
}

#[tokio::test]
async fn stateless_requests_need_no_initialize() {
    let mut peer = Peer::spawn(&[]);
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}});
    let (discover, _) = peer
        .request(1, "server/discover", json!({"_meta": meta}))
        .await;
    assert_eq!(discover["result"]["supportedVersions"][0], "2026-07-28");
    let (list, _) = peer.request(2, "tools/list", json!({"_meta": meta})).await;
    assert_eq!(list["result"]["resultType"], "complete");
    assert!(list["result"]["ttlMs"].is_u64());
    let (ask, _) = peer
        .request(
            3,
            "tools/call",
            json!({"name": "test_sampling", "arguments": {"prompt": "hi"}, "_meta": meta}),
        )
        .await;
    assert_eq!(
        ask["error"]["code"], -32021,
        "no sampling capability declared"
    );
}

#[tokio::test]
async fn max_protocol_caps_negotiation() {
    let mut peer = Peer::spawn(&["--max-protocol", "2025-03-26"]);
    let init = peer.initialize("2025-11-25").await;
    assert_eq!(init["result"]["protocolVersion"], "2025-03-26");
    let (discover, _) = peer.request(1, "server/discover", json!({})).await;
    assert_eq!(discover["error"]["code"], -32601);
}
