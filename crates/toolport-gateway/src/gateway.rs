//! The gateway object: owns the backend registry, the open client sessions and the routing tables
//! that connect them, and runs the two background tasks that relay backend events and list changes.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolport_protocol::{Message, Notification};
use toolport_upstream::{McpHttpClient, NotificationHook, Status};

use crate::admission::{CallGate, Caller};
use crate::breaker::{Breakers, CircuitState};
use crate::composed::VirtualMap;
use crate::config::{GatewayConfig, ServerConfig};
use crate::metrics::Metrics;
use crate::per_user::UserCredentials;
use crate::registry::{Change, Registry, RegistryDeps};
use crate::session::{Grant, Scope, Session, Sink};
use crate::view::BackendView;

/// Where a progress notification for a remapped token goes.
#[derive(Debug, Clone)]
pub(crate) struct ProgressRoute {
    pub sink: Sink,
    pub original: Value,
}

/// Where messages related to one backend request go (its client session and response stream).
#[derive(Debug, Clone)]
pub(crate) struct RequestRoute {
    pub session: Weak<Session>,
    pub sink: Sink,
}

/// A backend's readiness as `/readyz` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackendReadiness {
    pub name: String,
    pub transport: &'static str,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub protocol: Option<&'static str>,
    pub tools: usize,
    pub restarts: u64,
    /// The circuit breaker: `closed`, `open` (calls refused) or `half_open` (one probe let through).
    pub circuit: CircuitState,
    /// For a server that runs one instance per user (state `per_user`): how many run now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<usize>,
}

impl BackendReadiness {
    /// Whether this backend lets the gateway count as ready: a shared backend when it is ready; a
    /// per-user server always (it has no shared instance; each user's starts on demand).
    pub fn is_ready(&self) -> bool {
        self.state == "ready" || self.instances.is_some()
    }
}

pub struct Gateway {
    pub(crate) registry: Arc<Registry>,
    pub(crate) config: RwLock<Arc<GatewayConfig>>,
    pub(crate) virtual_endpoints: RwLock<Arc<VirtualMap>>,
    pub(crate) sessions: Mutex<HashMap<String, Arc<Session>>>,
    pub(crate) progress: Mutex<HashMap<String, ProgressRoute>>,
    pub(crate) routes: Mutex<HashMap<(Arc<str>, i64), RequestRoute>>,
    pub(crate) next_token: AtomicU64,
    pub(crate) suspended: Mutex<HashMap<String, crate::dispatch::SuspendedCall>>,
    /// Tool calls running or ended as tasks (the tasks extension), by task id.
    pub(crate) client_tasks: Mutex<crate::dispatch::TaskTable>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) call_gate: OnceLock<Arc<dyn CallGate>>,
    /// The tenant owning the configuration ([`Gateway::set_administrator_tenant`]).
    administrator: OnceLock<String>,
    pub(crate) user_credentials: OnceLock<Arc<dyn UserCredentials>>,
    pub(crate) breakers: Arc<Breakers>,
    pub(crate) shutdown: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

impl Gateway {
    /// Starts the gateway with `config`; every task it spawns stops when `shutdown` fires.
    pub async fn start(config: GatewayConfig, shutdown: CancellationToken) -> Arc<Self> {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (changes_tx, changes_rx) = mpsc::unbounded_channel();
        let metrics = Arc::new(Metrics::default());
        let breakers = Arc::new(Breakers::new(metrics.clone(), Arc::new(Instant::now)));
        let http = McpHttpClient::new();
        let gateway = Arc::new_cyclic(|weak: &Weak<Self>| {
            let weak = weak.clone();
            let hooks = Arc::new(move |backend: Arc<str>| -> NotificationHook {
                let weak = weak.clone();
                Arc::new(move |n, related| {
                    if let Some(gateway) = weak.upgrade() {
                        gateway.relay_notification(&backend, n, related);
                    }
                })
            });
            let registry = Arc::new(Registry::new(RegistryDeps {
                http,
                events: events_tx,
                changes: changes_tx,
                metrics: metrics.clone(),
                breakers: breakers.clone(),
                shutdown: shutdown.clone(),
                hooks,
            }));
            Self {
                registry,
                config: RwLock::new(Arc::new(config.clone())),
                virtual_endpoints: RwLock::default(),
                sessions: Mutex::new(HashMap::new()),
                progress: Mutex::new(HashMap::new()),
                routes: Mutex::new(HashMap::new()),
                next_token: AtomicU64::new(1),
                suspended: Mutex::new(HashMap::new()),
                client_tasks: Mutex::default(),
                metrics,
                call_gate: OnceLock::new(),
                administrator: OnceLock::new(),
                user_credentials: OnceLock::new(),
                breakers,
                shutdown: shutdown.clone(),
                tasks: Mutex::new(Vec::new()),
            }
        });
        let relay = tokio::spawn(gateway.clone().relay_events(events_rx));
        let announce = tokio::spawn(gateway.clone().announce_changes(changes_rx));
        gateway
            .tasks
            .lock()
            .expect("tasks lock")
            .extend([relay, announce]);
        gateway
            .registry
            .apply(&config.servers, &config.settings)
            .await;
        gateway
    }

    /// Applies a new configuration: servers whose definition changed restart, the others keep
    /// running with their sessions.
    pub async fn apply(&self, config: GatewayConfig) {
        self.registry.apply(&config.servers, &config.settings).await;
        *self.config.write().expect("config lock") = Arc::new(config);
    }

    pub fn config(&self) -> Arc<GatewayConfig> {
        self.config.read().expect("config lock").clone()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The metrics in the text exposition format, with every backend's circuit state as of now
    /// (an open circuit turns half-open by the passing of time, not by an event).
    pub fn render_metrics(&self) -> String {
        for view in self.registry.views() {
            self.breakers.state(&view.name);
        }
        self.metrics.render()
    }

    /// Stops every backend (terminating children) and the background tasks.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.registry.stop_all().await;
        let tasks = std::mem::take(&mut *self.tasks.lock().expect("tasks lock"));
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Waits until every backend has finished its first start, ready or not, for at most `limit`.
    /// A client that lists tools right away (a desktop client spawning `toolport stdio`) then sees
    /// the whole catalog instead of the part that happened to be up.
    pub async fn settle(&self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline
            && self
                .registry
                .views()
                .iter()
                .any(|v| v.snapshot.status == Status::Starting && v.snapshot.restarts == 0)
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Registers a client session. Stateful sessions receive notifications until closed.
    pub fn open_session(
        &self,
        id: String,
        scope: Scope,
        caller: Option<Arc<Caller>>,
        outbound: Sink,
    ) -> Arc<Session> {
        let grant = self.grant_of(caller.as_deref());
        let session =
            Arc::new(Session::new(id.clone(), scope, caller, outbound, true).with_grant(grant));
        self.sessions
            .lock()
            .expect("sessions lock")
            .insert(id, session.clone());
        self.metrics.session_opened();
        session
    }

    /// A session for one stateless (2026-07-28) request; never registered.
    pub fn stateless_session(
        &self,
        scope: Scope,
        caller: Option<Arc<Caller>>,
        sink: Sink,
    ) -> Arc<Session> {
        let grant = self.grant_of(caller.as_deref());
        Arc::new(Session::new(String::new(), scope, caller, sink, false).with_grant(grant))
    }

    /// Installs the gate every tool call passes before it reaches a backend. Only the first
    /// installed gate counts; the binary installs one at start when tenancy is on.
    pub fn set_call_gate(&self, gate: Arc<dyn CallGate>) {
        if self.call_gate.set(gate).is_err() {
            tracing::warn!("a call gate is already installed; keeping it");
        }
    }

    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions
            .lock()
            .expect("sessions lock")
            .get(id)
            .cloned()
    }

    pub fn close_session(&self, id: &str) {
        let removed = self.sessions.lock().expect("sessions lock").remove(id);
        if let Some(session) = removed {
            self.metrics.session_closed();
            // Cancel what the session still had running at backends.
            let in_flight: Vec<_> = session
                .in_flight
                .lock()
                .expect("in-flight lock")
                .drain()
                .collect();
            for (_, call) in in_flight {
                call.cancel.cancel();
            }
        }
    }

    pub fn session_count(&self) -> usize {
        self.sessions.lock().expect("sessions lock").len()
    }

    /// Names the tenant that owns the configuration: its callers see every backend, others only
    /// the backends granted to their tenant. Without it (no tenancy) every caller sees everything.
    pub fn set_administrator_tenant(&self, name: String) {
        if self.administrator.set(name).is_err() {
            tracing::warn!("the administrator tenant is already set; keeping it");
        }
    }

    /// The tenant whose grants narrow what `caller` sees, if any.
    pub(crate) fn grant_of(&self, caller: Option<&Caller>) -> Option<Grant> {
        let caller = caller?;
        let administrator = self.administrator.get()?;
        Some(Grant {
            tenant: caller.tenant_name.clone(),
            administrator: caller.tenant_name == *administrator,
        })
    }

    /// Whether `caller` may use the configured server `name` (`/mcp/{name}`): it exists and is
    /// granted to the caller's tenant.
    pub fn server_visible(&self, name: &str, caller: Option<&Caller>) -> bool {
        let grant = self.grant_of(caller);
        self.config()
            .servers
            .get(name)
            .is_some_and(|server| granted(grant.as_ref(), server))
    }

    /// The views a session with `scope` and `grant` may see, ordered by server name.
    pub(crate) fn views_in_scope(
        &self,
        scope: &Scope,
        grant: Option<&Grant>,
    ) -> Vec<Arc<BackendView>> {
        if let Scope::Server(name) = scope {
            return self
                .registry
                .view(name)
                .into_iter()
                .filter(|v| granted(grant, &v.config))
                .collect();
        }
        let config = self.config();
        self.registry
            .views()
            .into_iter()
            .filter(|v| in_scope(&config, scope, grant, v))
            .collect()
    }

    /// The state of the configuration file's backends. Tenants' registered backends are left
    /// out: one tenant's dead API must not take the gateway out of a load balancer (the admin
    /// API shows their state to their tenant, through [`Gateway::backend_readiness`]).
    pub fn readiness(&self) -> Vec<BackendReadiness> {
        self.registry
            .views()
            .iter()
            .filter(|v| v.config.owner.is_none())
            .map(|v| self.readiness_of(v))
            .collect()
    }

    /// The state of one backend, by its key in the configuration.
    pub fn backend_readiness(&self, name: &str) -> Option<BackendReadiness> {
        self.registry.view(name).map(|v| self.readiness_of(&v))
    }

    fn readiness_of(&self, v: &BackendView) -> BackendReadiness {
        let snap = &v.snapshot;
        let per_user = v.config.per_user.is_some();
        BackendReadiness {
            name: v.name.to_string(),
            transport: v.config.spec.kind(),
            state: if per_user {
                "per_user"
            } else {
                snap.status.label()
            },
            reason: match &snap.status {
                Status::Down { reason } => Some(reason.clone()),
                _ => None,
            },
            protocol: snap.protocol.map(|p| p.as_str()),
            tools: v.tools.plain.len(),
            restarts: snap.restarts,
            circuit: self.breakers.state(&v.name),
            instances: per_user.then(|| self.registry.instances.count(&v.name)),
        }
    }

    /// The view behind a backend id: a shared backend's or a per-user instance's.
    pub(crate) fn backend_view(&self, backend: &str) -> Option<Arc<BackendView>> {
        self.registry
            .view(backend)
            .or_else(|| self.registry.instances.by_backend(backend))
    }

    /// Sessions that see `backend` and can receive notifications (an instance: its user's only).
    pub(crate) fn sessions_seeing(&self, backend: &str) -> Vec<Arc<Session>> {
        let config = self.config();
        let Some(view) = self.backend_view(backend) else {
            return Vec::new();
        };
        self.sessions
            .lock()
            .expect("sessions lock")
            .values()
            .filter(|s| {
                s.stateful
                    && in_scope(&config, &s.scope, s.grant.as_ref(), &view)
                    && view.visible_to(s.caller.as_deref())
            })
            .cloned()
            .collect()
    }

    async fn announce_changes(self: Arc<Self>, mut changes: mpsc::UnboundedReceiver<Change>) {
        loop {
            let change = tokio::select! {
                () = self.shutdown.cancelled() => return,
                c = changes.recv() => match c { Some(c) => c, None => return },
            };
            let config = self.config();
            let sessions: Vec<Arc<Session>> = self
                .sessions
                .lock()
                .expect("sessions lock")
                .values()
                .filter(|s| {
                    s.stateful
                        && (scope_may_include(&config, &s.scope, s.grant.as_ref(), &change.backend)
                            || self.virtual_uses(&s.scope, &change.backend))
                        && change.owner.as_ref().is_none_or(|owner| {
                            s.caller.as_ref().is_some_and(|c| c.same_user(owner))
                        })
                })
                .cloned()
                .collect();
            for session in sessions {
                if !session.state.lock().expect("session lock").initialized {
                    continue;
                }
                for kind in &change.kinds {
                    session.send(Message::Notification(Notification::new(
                        kind.notification(),
                        None,
                    )));
                }
            }
        }
    }
}

/// Whether a backend is granted to the tenant a session is narrowed to (`None`: not narrowed).
pub(crate) fn granted(grant: Option<&Grant>, server: &ServerConfig) -> bool {
    grant.is_none_or(|g| server.granted_to(&g.tenant, g.administrator))
}

/// Whether a backend's view belongs to a session's scope, as narrowed by its grant.
pub(crate) fn in_scope(
    config: &GatewayConfig,
    scope: &Scope,
    grant: Option<&Grant>,
    view: &BackendView,
) -> bool {
    granted(grant, &view.config) && in_scope_ungranted(config, scope, view)
}

fn in_scope_ungranted(config: &GatewayConfig, scope: &Scope, view: &BackendView) -> bool {
    match scope {
        Scope::All => true,
        Scope::Server(name) => *view.name == **name,
        Scope::Tags(tags) => view.config.tags.iter().any(|t| tags.contains(t)),
        Scope::Endpoint(name) => config.endpoints.get(name).is_some_and(|e| {
            e.servers.iter().any(|s| **s == *view.name)
                || view.config.tags.iter().any(|t| e.tags.contains(t))
        }),
        // A virtual endpoint sees single tools, never a whole backend (`composed`).
        Scope::Virtual { .. } => false,
    }
}

/// Like [`in_scope`] for a backend that may already be gone (removed servers announce once more).
fn scope_may_include(
    config: &GatewayConfig,
    scope: &Scope,
    grant: Option<&Grant>,
    backend: &str,
) -> bool {
    config
        .servers
        .get(backend)
        .is_none_or(|server| granted(grant, server))
        && scope_may_include_ungranted(config, scope, backend)
}

fn scope_may_include_ungranted(config: &GatewayConfig, scope: &Scope, backend: &str) -> bool {
    match scope {
        Scope::All => true,
        Scope::Server(name) => name == backend,
        Scope::Tags(tags) => config
            .servers
            .get(backend)
            .is_none_or(|s| s.tags.iter().any(|t| tags.contains(t))),
        Scope::Endpoint(name) => config.endpoints.get(name).is_some_and(|e| {
            e.servers.iter().any(|s| s == backend)
                || config
                    .servers
                    .get(backend)
                    .is_none_or(|s| s.tags.iter().any(|t| e.tags.contains(t)))
        }),
        Scope::Virtual { .. } => false,
    }
}
