//! Keeps one backend connected: connect, `initialize`, fetch the catalog, ping, and reconnect with
//! exponential backoff when the connection dies or hangs. The current state is published as an
//! immutable [`Snapshot`] through a watch channel, so readers on the hot path never wait.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolport_protocol::{Message, ProtocolVersion, Response};

use crate::api::client::SystemLookup;
use crate::api::{ApiBackend, ApiConfig, SafeClient, SsrfPolicy};
use crate::error::UpstreamError;
use crate::peer::{Inbound, NotificationHook, Peer};
use crate::spec::UpstreamSpec;
use crate::transport::{self, McpHttpClient};

#[derive(Clone)]
pub struct SupervisorOptions {
    /// Deadline for the handshake, list fetches and pings.
    pub request_timeout: Duration,
    pub ping_interval: Duration,
    /// Consecutive failed pings after which the backend is considered hung and restarted.
    pub ping_failures: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub client_info: Value,
    /// Capabilities announced to backends: what Toolport can relay to its clients.
    pub client_capabilities: Value,
    /// Where the backend's notifications go (see [`NotificationHook`]).
    pub hook: Option<NotificationHook>,
    /// Which addresses an HTTP API (and its description's URL) may reach.
    pub ssrf: Arc<SsrfPolicy>,
    /// Whether an HTTP or SSE MCP server is held to `ssrf` too: set for the backends tenants
    /// register, while the configuration file's may reach loopback and private addresses.
    pub vet_mcp_urls: bool,
}

impl std::fmt::Debug for SupervisorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorOptions")
            .field("request_timeout", &self.request_timeout)
            .field("ping_interval", &self.ping_interval)
            .finish_non_exhaustive()
    }
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(15),
            ping_failures: 2,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            client_info: json!({"name": "toolport", "version": env!("CARGO_PKG_VERSION")}),
            client_capabilities: json!({"roots": {"listChanged": true}, "sampling": {}, "elicitation": {}}),
            hook: None,
            ssrf: Arc::new(SsrfPolicy::new(Vec::new())),
            vet_mcp_urls: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Starting,
    Ready,
    Down { reason: String },
    Stopped,
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ready => "ready",
            Self::Down { .. } => "down",
            Self::Stopped => "stopped",
        }
    }
}

/// Everything known about a backend at one moment. Lists are shared, never copied per reader.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: Status,
    pub peer: Option<Arc<Peer>>,
    pub protocol: Option<ProtocolVersion>,
    pub server_info: Value,
    pub capabilities: Value,
    pub instructions: Option<String>,
    pub tools: Arc<Vec<Value>>,
    pub prompts: Arc<Vec<Value>>,
    pub resources: Arc<Vec<Value>>,
    pub resource_templates: Arc<Vec<Value>>,
    pub restarts: u64,
    /// Set for an HTTP API backend (which has no MCP connection) once its description is loaded.
    pub api: Option<Arc<ApiBackend>>,
}

impl Snapshot {
    fn starting(restarts: u64) -> Self {
        Self {
            status: Status::Starting,
            peer: None,
            protocol: None,
            server_info: Value::Null,
            capabilities: Value::Null,
            instructions: None,
            tools: Arc::default(),
            prompts: Arc::default(),
            resources: Arc::default(),
            resource_templates: Arc::default(),
            restarts,
            api: None,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.status == Status::Ready
    }

    /// The connection when the backend is ready to take calls.
    pub fn ready_peer(&self) -> Option<&Arc<Peer>> {
        match self.status {
            Status::Ready => self.peer.as_ref(),
            _ => None,
        }
    }
}

/// A message the backend sent that someone else must act on (a client session, usually).
#[derive(Debug, Clone)]
pub struct BackendEvent {
    pub backend: Arc<str>,
    pub peer: Arc<Peer>,
    pub inbound: Inbound,
}

/// The handle to a supervised backend. Dropping it does not stop the task; call [`Self::stop`].
#[derive(Debug)]
pub struct Supervisor {
    state: watch::Receiver<Arc<Snapshot>>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// Starts supervising. The task stops when `shutdown` (or [`Self::stop`]) is signalled.
    pub fn spawn(
        name: &str,
        spec: UpstreamSpec,
        options: SupervisorOptions,
        http: McpHttpClient,
        events: mpsc::UnboundedSender<BackendEvent>,
        shutdown: &CancellationToken,
    ) -> Self {
        let stop = shutdown.child_token();
        let (tx, rx) = watch::channel(Arc::new(Snapshot::starting(0)));
        let worker = Worker {
            name: name.into(),
            spec,
            options,
            http,
            events,
            state: tx,
            stop: stop.clone(),
        };
        let task = tokio::spawn(worker.run());
        Self {
            state: rx,
            stop,
            task,
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.state.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.state.clone()
    }

    /// Stops the backend (terminating a child process) and waits until it is gone.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

struct Worker {
    name: Arc<str>,
    spec: UpstreamSpec,
    options: SupervisorOptions,
    http: McpHttpClient,
    events: mpsc::UnboundedSender<BackendEvent>,
    state: watch::Sender<Arc<Snapshot>>,
    stop: CancellationToken,
}

impl Worker {
    async fn run(self) {
        let mut backoff = self.options.backoff_initial;
        let mut restarts = 0u64;
        loop {
            self.state
                .send_replace(Arc::new(Snapshot::starting(restarts)));
            let started = Instant::now();
            let reason = self.session(restarts).await;
            if self.stop.is_cancelled() {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                backoff = self.options.backoff_initial;
            }
            tracing::warn!(
                server = %self.name,
                retry_in_ms = backoff.as_millis() as u64,
                "backend down: {reason}"
            );
            self.publish_down(reason);
            tokio::select! {
                () = self.stop.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.options.backoff_max);
            restarts += 1;
        }
        let mut last = (*self.state.borrow().clone()).clone();
        last.status = Status::Stopped;
        last.peer = None;
        last.api = None;
        self.state.send_replace(Arc::new(last));
    }

    fn publish_down(&self, reason: String) {
        let mut snap = (*self.state.borrow().clone()).clone();
        snap.status = Status::Down { reason };
        snap.peer = None;
        snap.api = None;
        snap.tools = Arc::default();
        snap.prompts = Arc::default();
        snap.resources = Arc::default();
        snap.resource_templates = Arc::default();
        self.state.send_replace(Arc::new(snap));
    }

    /// One connection's life; returns why it ended.
    async fn session(&self, restarts: u64) -> String {
        if let UpstreamSpec::Api(config) = &self.spec {
            return self.api_session(config, restarts).await;
        }
        let http = match self.http_client() {
            Ok(c) => c,
            Err(e) => return e,
        };
        let conn_stop = self.stop.child_token();
        // Whatever happens below, the connection (and any child process) ends with this function.
        let _guard = conn_stop.clone().drop_guard();
        let (peer, mut inbound) = match transport::connect(
            &self.name,
            &self.spec,
            &http,
            self.options.hook.clone(),
            conn_stop.clone(),
        )
        .await
        {
            Ok(c) => c,
            Err(e) => return e.to_string(),
        };
        let mut snap = match self.handshake(&peer, restarts).await {
            Ok(s) => s,
            Err(e) => return format!("initialize failed: {e}"),
        };
        if let Err(e) = self.refresh_all(&peer, &mut snap).await {
            return format!("listing the catalog failed: {e}");
        }
        snap.status = Status::Ready;
        tracing::info!(
            server = %self.name,
            protocol = snap.protocol.map(|p| p.as_str()).unwrap_or("?"),
            tools = snap.tools.len(),
            "backend ready"
        );
        self.state.send_replace(Arc::new(snap));

        let mut ping = tokio::time::interval(self.options.ping_interval);
        ping.tick().await;
        let mut failed_pings = 0;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return "stopped".into(),
                () = peer.closed() => return peer.close_reason(),
                _ = ping.tick() => {
                    match peer.request("ping", None, self.options.request_timeout.min(Duration::from_secs(10))).await {
                        Ok(_) => failed_pings = 0,
                        // A backend that does not implement ping is alive enough.
                        Err(UpstreamError::Rpc(_)) => failed_pings = 0,
                        Err(e) => {
                            failed_pings += 1;
                            tracing::warn!(server = %self.name, "ping failed ({failed_pings}): {e}");
                            if failed_pings >= self.options.ping_failures {
                                return format!("backend hung: {failed_pings} pings unanswered");
                            }
                        }
                    }
                }
                msg = inbound.recv() => {
                    let Some(msg) = msg else { return peer.close_reason() };
                    self.handle_inbound(&peer, msg).await;
                }
            }
        }
    }

    /// The client an HTTP or SSE server is reached with: the shared one, or, when the server must
    /// keep to the SSRF policy, one that checks the server's URL and vets every address it
    /// resolves.
    fn http_client(&self) -> Result<McpHttpClient, String> {
        let url = match &self.spec {
            UpstreamSpec::StreamableHttp { url, .. } | UpstreamSpec::Sse { url, .. }
                if self.options.vet_mcp_urls =>
            {
                url
            }
            _ => return Ok(self.http.clone()),
        };
        McpHttpClient::vetting(url, self.options.ssrf.clone(), Arc::new(SystemLookup))
            .map_err(|e| e.to_string())
    }

    /// An HTTP API: load and convert its description, then serve until stopped. A description
    /// that cannot be fetched or converted is retried with the same backoff as a dead server.
    async fn api_session(&self, config: &ApiConfig, restarts: u64) -> String {
        let client = match SafeClient::new(self.options.ssrf.clone()) {
            Ok(c) => c,
            Err(e) => return e.to_string(),
        };
        let backend = tokio::select! {
            () = self.stop.cancelled() => return "stopped".into(),
            loaded = ApiBackend::load(&self.name, config.clone(), client) => match loaded {
                Ok(b) => b,
                Err(e) => return e.to_string(),
            },
        };
        let mut snap = Snapshot::starting(restarts);
        let conversion = backend.conversion();
        snap.server_info = json!({
            "name": self.name.as_ref(),
            "title": conversion.title,
            "version": env!("CARGO_PKG_VERSION"),
        });
        snap.capabilities = json!({"tools": {}});
        snap.tools = Arc::new(backend.tools());
        snap.status = Status::Ready;
        tracing::info!(
            server = %self.name,
            format = conversion.format.as_str(),
            operations = conversion.operation_count,
            tools = snap.tools.len(),
            diagnostics = conversion.diagnostics.len(),
            "API ready"
        );
        snap.api = Some(backend);
        self.state.send_replace(Arc::new(snap));
        self.stop.cancelled().await;
        "stopped".into()
    }

    async fn handle_inbound(&self, peer: &Arc<Peer>, inbound: Inbound) {
        match &inbound.message {
            Message::Request(r) if r.method == "ping" => {
                let _ = peer.respond(Response::ok(r.id.clone(), json!({})));
            }
            Message::Notification(n) => {
                let list = match n.method.as_str() {
                    "notifications/tools/list_changed" => Some(List::Tools),
                    "notifications/prompts/list_changed" => Some(List::Prompts),
                    "notifications/resources/list_changed" => Some(List::Resources),
                    _ => None,
                };
                match list {
                    Some(list) => self.refresh_one(peer, list).await,
                    None => self.forward(peer, inbound),
                }
            }
            _ => self.forward(peer, inbound),
        }
    }

    fn forward(&self, peer: &Arc<Peer>, inbound: Inbound) {
        let _ = self.events.send(BackendEvent {
            backend: self.name.clone(),
            peer: peer.clone(),
            inbound,
        });
    }

    async fn handshake(&self, peer: &Arc<Peer>, restarts: u64) -> Result<Snapshot, UpstreamError> {
        let params = json!({
            "protocolVersion": ProtocolVersion::LATEST_STATEFUL.as_str(),
            "capabilities": self.options.client_capabilities,
            "clientInfo": self.options.client_info,
        });
        let result = peer
            .request("initialize", Some(params), self.options.request_timeout)
            .await?;
        let version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let protocol = ProtocolVersion::parse(version).ok_or_else(|| {
            UpstreamError::Protocol(format!(
                "the backend chose protocol revision {version:?}, which Toolport does not speak"
            ))
        })?;
        peer.notify("notifications/initialized", None)?;
        let mut snap = Snapshot::starting(restarts);
        snap.peer = Some(peer.clone());
        snap.protocol = Some(protocol);
        snap.server_info = result.get("serverInfo").cloned().unwrap_or(Value::Null);
        snap.capabilities = result
            .get("capabilities")
            .cloned()
            .unwrap_or_else(|| json!({}));
        snap.instructions = result
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(snap)
    }

    async fn refresh_all(&self, peer: &Peer, snap: &mut Snapshot) -> Result<(), UpstreamError> {
        for list in [List::Tools, List::Prompts, List::Resources] {
            self.fetch_into(peer, snap, list).await?;
        }
        Ok(())
    }

    async fn refresh_one(&self, peer: &Peer, list: List) {
        let mut snap = (*self.state.borrow().clone()).clone();
        match self.fetch_into(peer, &mut snap, list).await {
            Ok(()) => {
                self.state.send_replace(Arc::new(snap));
            }
            Err(e) => {
                tracing::warn!(server = %self.name, "refreshing after list_changed failed: {e}")
            }
        }
    }

    async fn fetch_into(
        &self,
        peer: &Peer,
        snap: &mut Snapshot,
        list: List,
    ) -> Result<(), UpstreamError> {
        let capability = match list {
            List::Tools => "tools",
            List::Prompts => "prompts",
            List::Resources => "resources",
        };
        if snap.capabilities.get(capability).is_none() {
            return Ok(());
        }
        let timeout = self.options.request_timeout;
        match list {
            List::Tools => {
                snap.tools = Arc::new(peer.list_all("tools/list", "tools", timeout).await?)
            }
            List::Prompts => {
                snap.prompts = Arc::new(peer.list_all("prompts/list", "prompts", timeout).await?);
            }
            List::Resources => {
                snap.resources = Arc::new(
                    peer.list_all("resources/list", "resources", timeout)
                        .await?,
                );
                // Templates are optional even for servers with resources.
                snap.resource_templates = Arc::new(
                    peer.list_all("resources/templates/list", "resourceTemplates", timeout)
                        .await
                        .unwrap_or_default(),
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum List {
    Tools,
    Prompts,
    Resources,
}
