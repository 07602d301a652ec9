//! A client session: what the client negotiated, which backends it may see, and the bookkeeping
//! that maps its requests to backend requests (and backend requests to it) so concurrent clients
//! never collide.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use toolport_protocol::{Message, ProtocolVersion, RequestId};
use toolport_upstream::Peer;

use crate::admission::Caller;

/// Where messages for a client go: the standalone stream of a session, or the response stream of
/// one request (Streamable HTTP POST).
pub type Sink = mpsc::UnboundedSender<Message>;

/// Which backends a session sees and how names are spelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every backend, namespaced.
    All,
    /// Backends carrying any of these tags, namespaced (`/mcp?tags=a,b`).
    Tags(Vec<String>),
    /// A named endpoint from the configuration, namespaced.
    Endpoint(String),
    /// One backend, names unchanged (`/mcp/{server}`).
    Server(String),
    /// A tenant's virtual endpoint (`/mcp/{slug}`): its selected tools under their exposed names.
    /// Bound to the endpoint's id, so a slug deleted and created again is another endpoint.
    Virtual { slug: String, endpoint_id: String },
}

impl Scope {
    pub fn namespaced(&self) -> bool {
        !matches!(self, Self::Server(_) | Self::Virtual { .. })
    }

    /// The endpoint's name as usage and limits know it; `None` for the aggregate endpoint.
    pub fn endpoint_name(&self) -> Option<&str> {
        match self {
            Self::All | Self::Tags(_) => None,
            Self::Endpoint(name) | Self::Server(name) => Some(name),
            Self::Virtual { slug, .. } => Some(slug),
        }
    }
}

/// Log levels of `logging/setLevel`, least severe first.
pub const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

pub fn log_rank(level: &str) -> Option<usize> {
    LOG_LEVELS.iter().position(|l| *l == level)
}

#[derive(Debug)]
pub struct SessionState {
    pub version: ProtocolVersion,
    pub client_capabilities: Value,
    pub client_info: Value,
    pub initialized: bool,
    /// Minimum rank of log messages forwarded; `None` forwards all.
    pub log_level: Option<usize>,
    /// (backend, original URI) pairs this session subscribed to.
    pub subscriptions: HashSet<(Arc<str>, String)>,
}

/// A client request being served by a backend.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub backend: Arc<str>,
    pub peer: Arc<Peer>,
    pub upstream_id: i64,
    /// Cancelled when the client cancels the request or the session closes.
    pub cancel: CancellationToken,
}

/// A backend's request (sampling, elicitation, roots) relayed to this client.
#[derive(Debug)]
pub struct RelayedRequest {
    pub peer: Arc<Peer>,
    pub upstream_id: RequestId,
}

/// The tenant a session's view of the backends is narrowed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The tenant's name (configuration grants and registrations name tenants).
    pub tenant: String,
    /// Whether it is the tenant owning the configuration, which has every configured backend.
    pub administrator: bool,
}

#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub scope: Scope,
    /// Who the session acts for; `None` when the MCP routes are open.
    pub caller: Option<Arc<Caller>>,
    /// The tenant whose grants narrow what the session sees (`tenants` of each server and API,
    /// and its own registered backends); `None` sees everything in its scope (no tenancy).
    pub grant: Option<Grant>,
    pub state: Mutex<SessionState>,
    outbound: Sink,
    pub in_flight: Mutex<HashMap<RequestId, InFlight>>,
    pub relayed: Mutex<HashMap<String, RelayedRequest>>,
    next_relayed: AtomicU64,
    /// Whether the session lives across requests (false for 2026-07-28 stateless requests).
    pub stateful: bool,
}

impl Session {
    pub fn new(
        id: String,
        scope: Scope,
        caller: Option<Arc<Caller>>,
        outbound: Sink,
        stateful: bool,
    ) -> Self {
        Self {
            id,
            scope,
            caller,
            grant: None,
            state: Mutex::new(SessionState {
                version: ProtocolVersion::LATEST_STATEFUL,
                client_capabilities: Value::Object(Default::default()),
                client_info: Value::Null,
                initialized: false,
                log_level: None,
                subscriptions: HashSet::new(),
            }),
            outbound,
            in_flight: Mutex::new(HashMap::new()),
            relayed: Mutex::new(HashMap::new()),
            next_relayed: AtomicU64::new(1),
            stateful,
        }
    }

    /// The session narrowed to the backends granted to a tenant.
    pub fn with_grant(mut self, grant: Option<Grant>) -> Self {
        self.grant = grant;
        self
    }

    pub fn version(&self) -> ProtocolVersion {
        self.state.lock().expect("session lock").version
    }

    /// Sends a message on the session's standalone stream.
    pub fn send(&self, message: Message) -> bool {
        self.outbound.send(message).is_ok()
    }

    pub fn outbound(&self) -> &Sink {
        &self.outbound
    }

    pub fn has_capability(&self, name: &str) -> bool {
        self.state
            .lock()
            .expect("session lock")
            .client_capabilities
            .get(name)
            .is_some()
    }

    /// A fresh id for a request relayed to this client.
    pub fn relayed_id(&self) -> String {
        format!("tp-{}", self.next_relayed.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether a log message at `level` passes this session's `logging/setLevel`.
    pub fn wants_log(&self, level: &str) -> bool {
        let min = self.state.lock().expect("session lock").log_level;
        match (min, log_rank(level)) {
            (Some(min), Some(rank)) => rank >= min,
            _ => true,
        }
    }
}
