//! Shared pieces of the end-to-end tests: a gateway served on a loopback port with fixture
//! backends, and a small MCP client over plain HTTP that shows exactly what went over the wire.

#![allow(dead_code)]

pub mod binary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolport_gateway::Gateway;
use toolport_gateway::config::{
    CircuitBreakerSettings, GatewayConfig, HttpSettings, McpAccess, ServerConfig, Settings,
    ToolFilter,
};
use toolport_server::AppState;
use toolport_upstream::UpstreamSpec;

pub const SESSION: &str = "mcp-session-id";

/// The stateless protocol revision.
pub const V2026: &str = "2026-07-28";

/// A 2026-07-28 request: the revision and the client's capabilities in its `_meta`.
pub fn stateless_request(id: i64, method: &str, mut params: Value, capabilities: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": V2026,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Posts a 2026-07-28 request with the routing headers that must match its body.
pub async fn post_stateless(client: &Client, body: Value) -> Reply {
    let mut headers = vec![
        ("mcp-protocol-version", V2026.to_string()),
        (
            "mcp-method",
            body["method"].as_str().expect("method").to_string(),
        ),
    ];
    let params = &body["params"];
    if let Some(name) = ["name", "uri", "taskId"]
        .iter()
        .find_map(|key| params[*key].as_str())
    {
        headers.push(("mcp-name", name.to_string()));
    }
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post_with(body, &refs).await
}

/// A stdio backend running our fixture server.
pub fn fixture_stdio(extra: &[&str]) -> UpstreamSpec {
    let mut args = vec!["--transport".to_string(), "stdio".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    UpstreamSpec::Stdio {
        command: toolport_testkit::fixture_bin()
            .to_string_lossy()
            .into_owned(),
        args,
        env: BTreeMap::new(),
        cwd: None,
    }
}

pub fn server(name: &str, spec: UpstreamSpec) -> (String, ServerConfig) {
    (
        name.to_string(),
        ServerConfig {
            spec,
            tools: ToolFilter::default(),
            tags: Vec::new(),
            timeout: Duration::from_secs(20),
            prefix: name.to_string(),
            tenants: Vec::new(),
            owner: None,
            circuit_breaker: CircuitBreakerSettings::default(),
            per_user: None,
        },
    )
}

pub fn config(servers: Vec<(String, ServerConfig)>) -> GatewayConfig {
    GatewayConfig {
        servers: servers.into_iter().collect(),
        endpoints: BTreeMap::new(),
        settings: Settings::default(),
        http: HttpSettings {
            listen: "127.0.0.1:0".parse().expect("address"),
            mcp_access: McpAccess::Open,
            ..HttpSettings::default()
        },
    }
}

/// A gateway listening on a free loopback port; stopped (children terminated) on drop of `stop`.
pub struct TestGateway {
    pub base: String,
    pub gateway: Arc<Gateway>,
    pub shutdown: CancellationToken,
}

impl TestGateway {
    pub async fn start(config: GatewayConfig) -> Self {
        let shutdown = CancellationToken::new();
        let gateway = Gateway::start(config, shutdown.child_token()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(toolport_server::serve(
            listener,
            AppState::new(gateway.clone(), None),
            axum::Router::new(),
            shutdown.clone(),
        ));
        Self {
            base: format!("http://{addr}"),
            gateway,
            shutdown,
        }
    }

    /// Waits until every backend is ready (or panics after 30 s, naming the laggards).
    pub async fn ready(&self) {
        wait_for("every backend ready", Duration::from_secs(30), || {
            self.gateway.readiness().iter().all(|b| b.is_ready())
        })
        .await;
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.gateway.stop().await;
    }
}

pub async fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loopback port nothing listens on (for a gateway process told to listen there).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Like [`wait_for`] with an asynchronous check.
pub async fn wait_for_async(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let start = std::time::Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What one POST returned: status, headers, and the JSON-RPC messages in the body (one for a JSON
/// answer, every event for an SSE answer).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub messages: Vec<Value>,
}

impl Reply {
    /// The message that answers request `id`.
    pub fn answer(&self, id: i64) -> &Value {
        self.messages
            .iter()
            .find(|m| {
                m.get("id") == Some(&json!(id))
                    && (m.get("result").is_some() || m.get("error").is_some())
            })
            .unwrap_or_else(|| panic!("no answer to request {id} in {:?}", self.messages))
    }

    pub fn result(&self, id: i64) -> &Value {
        let a = self.answer(id);
        a.get("result")
            .unwrap_or_else(|| panic!("request {id} failed: {a}"))
    }

    pub fn error(&self, id: i64) -> &Value {
        let a = self.answer(id);
        a.get("error")
            .unwrap_or_else(|| panic!("request {id} succeeded: {a}"))
    }
}

/// A test MCP client over Streamable HTTP.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub session: Option<String>,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
}

impl Client {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.into(),
            session: None,
            token: None,
        }
    }

    /// A client that has completed the handshake with `version`.
    pub async fn connect(url: impl Into<String>, version: &str) -> Self {
        Self::connect_with(
            url,
            version,
            json!({"sampling": {}, "elicitation": {}, "roots": {}}),
        )
        .await
    }

    pub async fn connect_with(url: impl Into<String>, version: &str, capabilities: Value) -> Self {
        Self::new(url).handshake(version, capabilities).await
    }

    /// A client that sends `token` and has completed the handshake with `version`.
    pub async fn connect_as(url: impl Into<String>, version: &str, token: &str) -> Self {
        let mut client = Self::new(url);
        client.token = Some(token.to_string());
        client.handshake(version, json!({})).await
    }

    async fn handshake(self, version: &str, capabilities: Value) -> Self {
        let mut client = self;
        let reply = client
            .post(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": capabilities,
                "clientInfo": {"name": "toolport-tests", "version": "1"}}}),
            )
            .await;
        assert_eq!(reply.status, 200, "initialize failed: {reply:?}");
        client.session = Some(
            reply
                .headers
                .get(SESSION)
                .expect("a session id")
                .to_str()
                .expect("ascii")
                .to_string(),
        );
        let ack = client
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(ack.status, 202);
        client
    }

    pub async fn post(&self, body: Value) -> Reply {
        self.post_with(body, &[]).await
    }

    pub async fn post_with(&self, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        if let Some(s) = &self.session {
            req = req.header(SESSION, s);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read_reply(req.send().await.expect("POST")).await
    }

    /// Sends a request and returns its reply; answers relayed requests (sampling, elicitation) with
    /// `answer` as they arrive on the response stream.
    pub async fn request(&self, id: i64, method: &str, params: Value) -> Reply {
        self.post(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await
    }

    pub async fn call(&self, id: i64, tool: &str, arguments: Value) -> Value {
        self.request(
            id,
            "tools/call",
            json!({"name": tool, "arguments": arguments}),
        )
        .await
        .result(id)
        .clone()
    }

    pub async fn tool_names(&self) -> Vec<String> {
        let reply = self.request(1, "tools/list", json!({})).await;
        reply.result(1)["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_string())
            .collect()
    }

    /// Opens the session's GET stream; messages arrive on the returned channel.
    pub async fn open_stream(&self) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
        let mut req = self
            .http
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header(SESSION, self.session.as_deref().expect("session"));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("GET");
        assert_eq!(resp.status(), 200);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut events = resp.bytes_stream().eventsource();
            while let Some(Ok(event)) = events.next().await {
                if let Ok(v) = serde_json::from_str::<Value>(&event.data)
                    && tx.send(v).is_err()
                {
                    return;
                }
            }
        });
        rx
    }
}

pub async fn read_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let is_sse = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let messages = if is_sse {
        let mut out = Vec::new();
        let mut events = resp.bytes_stream().eventsource();
        while let Some(Ok(event)) = events.next().await {
            if let Ok(v) = serde_json::from_str(&event.data) {
                out.push(v);
            }
        }
        out
    } else {
        let text = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => items,
            Ok(v) => vec![v],
            Err(_) if text.is_empty() => Vec::new(),
            Err(_) => vec![json!({"raw": text})],
        }
    };
    Reply {
        status,
        headers,
        messages,
    }
}

/// The fixture's count of requests it received, by method.
pub async fn upstream_counts(client: &Client, tool: &str) -> Value {
    let result = client.call(9999, tool, json!({})).await;
    result
        .get("structuredContent")
        .cloned()
        .or_else(|| {
            result["content"][0]["text"]
                .as_str()
                .and_then(|t| serde_json::from_str(t).ok())
        })
        .unwrap_or_else(|| panic!("call_count gave {result}"))
}
