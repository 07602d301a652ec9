//! A one-shot MCP client over the gateway's own transports, for `toolport call` and tests: connect,
//! `initialize`, send requests, close. No supervision, no catalog; the [`Supervisor`] does that
//! for long-lived backends.
//!
//! [`Supervisor`]: crate::Supervisor

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolport_protocol::{Message, ProtocolVersion, Response, RpcError};

use crate::error::UpstreamError;
use crate::peer::{Inbound, Peer};
use crate::spec::UpstreamSpec;
use crate::transport::{self, McpHttpClient};

/// How an [`McpClient`] introduces itself and how long it waits.
#[derive(Debug, Clone)]
pub struct McpClientOptions {
    pub client_info: Value,
    /// Capabilities announced in `initialize`. Requests the server sends for capabilities the
    /// client has not declared are answered with "method not found".
    pub capabilities: Value,
    /// The revision asked for in `initialize`; the server may answer with an older one.
    pub protocol_version: ProtocolVersion,
    /// Deadline of each request, `initialize` included.
    pub timeout: Duration,
    pub http: McpHttpClient,
}

impl Default for McpClientOptions {
    fn default() -> Self {
        Self {
            client_info: json!({"name": "toolport", "version": env!("CARGO_PKG_VERSION")}),
            capabilities: json!({}),
            protocol_version: ProtocolVersion::LATEST_STATEFUL,
            timeout: Duration::from_secs(60),
            http: McpHttpClient::new(),
        }
    }
}

/// An initialised connection to one MCP server.
#[derive(Debug)]
pub struct McpClient {
    peer: Arc<Peer>,
    shutdown: CancellationToken,
    inbound: JoinHandle<()>,
    timeout: Duration,
    /// The revision the server chose.
    pub protocol: ProtocolVersion,
    pub server_info: Value,
    pub capabilities: Value,
    pub instructions: Option<String>,
}

impl McpClient {
    /// Connects through the same transports the gateway uses and completes the handshake.
    pub async fn connect(
        name: &str,
        spec: &UpstreamSpec,
        options: McpClientOptions,
    ) -> Result<Self, UpstreamError> {
        let shutdown = CancellationToken::new();
        let (peer, inbound) =
            match transport::connect(name, spec, &options.http, None, shutdown.clone()).await {
                Ok(c) => c,
                Err(e) => {
                    shutdown.cancel();
                    return Err(e);
                }
            };
        let inbound = tokio::spawn(answer_inbound(peer.clone(), inbound));
        let mut client = Self {
            peer,
            shutdown,
            inbound,
            timeout: options.timeout,
            protocol: options.protocol_version,
            server_info: Value::Null,
            capabilities: json!({}),
            instructions: None,
        };
        if let Err(e) = client.initialize(&options).await {
            client.close().await;
            return Err(e);
        }
        Ok(client)
    }

    async fn initialize(&mut self, options: &McpClientOptions) -> Result<(), UpstreamError> {
        let params = json!({
            "protocolVersion": options.protocol_version.as_str(),
            "capabilities": options.capabilities,
            "clientInfo": options.client_info,
        });
        let result = self.request("initialize", Some(params)).await?;
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.protocol = ProtocolVersion::parse(version).ok_or_else(|| {
            UpstreamError::Protocol(format!(
                "the server chose protocol revision {version:?}, which Toolport does not speak"
            ))
        })?;
        self.server_info = result.get("serverInfo").cloned().unwrap_or(Value::Null);
        self.capabilities = result
            .get("capabilities")
            .cloned()
            .unwrap_or_else(|| json!({}));
        self.instructions = result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.peer.notify("notifications/initialized", None)
    }

    /// Sends one request and waits for its result.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, UpstreamError> {
        self.peer.request(method, params, self.timeout).await
    }

    /// Every item of a paginated list (`tools/list` + `"tools"`, …), following `nextCursor`.
    pub async fn list_all(&self, method: &str, key: &str) -> Result<Vec<Value>, UpstreamError> {
        self.peer.list_all(method, key, self.timeout).await
    }

    /// Ends the session (DELETE for Streamable HTTP, terminating a stdio child) and waits, briefly,
    /// until the transport is gone.
    pub async fn close(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.peer.closed()).await;
        self.inbound.abort();
    }
}

/// Answers what the server asks on its own: `ping`; anything else is refused, since this client
/// declares no sampling, elicitation or roots. Log messages go to the log.
async fn answer_inbound(peer: Arc<Peer>, mut inbound: mpsc::UnboundedReceiver<Inbound>) {
    while let Some(Inbound { message, .. }) = inbound.recv().await {
        match message {
            Message::Request(r) => {
                let response = if r.method == "ping" {
                    Response::ok(r.id, json!({}))
                } else {
                    Response::error(r.id, RpcError::method_not_found(&r.method))
                };
                let _ = peer.respond(response);
            }
            Message::Notification(n) if n.method == "notifications/message" => {
                let params = n.params.unwrap_or_default();
                let level = params
                    .get("level")
                    .and_then(Value::as_str)
                    .unwrap_or("info");
                let data = params.get("data").cloned().unwrap_or_default();
                tracing::info!(target: "toolport::backend", "server log ({level}): {data}");
            }
            Message::Notification(n) => tracing::debug!(method = %n.method, "notification"),
            Message::Response(_) => {}
        }
    }
}
