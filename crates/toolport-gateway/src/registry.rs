//! The running backends: one supervisor per configured server plus a task that keeps its
//! [`BackendView`] current and reports list changes. Applying a new configuration starts, stops or
//! restarts only the servers whose definition changed. A per-user server has no shared backend,
//! only a placeholder view (its instances are in `per_user`).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use toolport_upstream::api::SsrfPolicy;
use toolport_upstream::{
    BackendEvent, McpHttpClient, NotificationHook, Snapshot, Status, Supervisor, SupervisorOptions,
};

use crate::admission::Caller;
use crate::breaker::Breakers;
use crate::config::{ServerConfig, Settings};
use crate::metrics::Metrics;
use crate::per_user::Instances;
use crate::view::{BackendView, InstanceOf};

/// Which lists of a backend changed, for `notifications/*/list_changed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Prompts,
    Resources,
}

impl ListKind {
    pub fn notification(self) -> &'static str {
        match self {
            Self::Tools => "notifications/tools/list_changed",
            Self::Prompts => "notifications/prompts/list_changed",
            Self::Resources => "notifications/resources/list_changed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Change {
    /// The server's name.
    pub backend: Arc<str>,
    pub kinds: Vec<ListKind>,
    /// For a per-user instance, the user whose sessions see the change.
    pub owner: Option<Arc<Caller>>,
}

pub(crate) struct Entry {
    supervisor: Supervisor,
    config: watch::Sender<ServerConfig>,
    pub(crate) stop: CancellationToken,
    view_task: JoinHandle<()>,
}

impl Entry {
    /// Stops the backend and waits for it (child terminated).
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        let _ = self.view_task.await;
        self.supervisor.stop().await;
    }
}

/// Shared pieces every backend needs.
pub struct RegistryDeps {
    pub http: McpHttpClient,
    pub events: mpsc::UnboundedSender<BackendEvent>,
    pub changes: mpsc::UnboundedSender<Change>,
    pub metrics: Arc<Metrics>,
    pub(crate) breakers: Arc<Breakers>,
    pub shutdown: CancellationToken,
    /// Makes the notification hook of a backend (by name).
    pub hooks: Arc<dyn Fn(Arc<str>) -> NotificationHook + Send + Sync>,
}

pub struct Registry {
    pub(crate) deps: RegistryDeps,
    entries: tokio::sync::Mutex<BTreeMap<Arc<str>, Entry>>,
    /// Shared backends' views and per-user servers' placeholders, by server name.
    views: Arc<RwLock<HashMap<Arc<str>, Arc<BackendView>>>>,
    pub(crate) instances: Instances,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    pub fn new(deps: RegistryDeps) -> Self {
        Self {
            deps,
            entries: tokio::sync::Mutex::new(BTreeMap::new()),
            views: Arc::default(),
            instances: Instances::default(),
        }
    }

    pub fn view(&self, name: &str) -> Option<Arc<BackendView>> {
        self.views.read().expect("views lock").get(name).cloned()
    }

    /// Every view, ordered by server name so merged lists are deterministic.
    pub fn views(&self) -> Vec<Arc<BackendView>> {
        let mut all: Vec<_> = self
            .views
            .read()
            .expect("views lock")
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Brings the running set in line with `servers`.
    pub async fn apply(&self, servers: &BTreeMap<String, ServerConfig>, settings: &Settings) {
        let mut entries = self.entries.lock().await;
        let removed: Vec<Arc<str>> = entries
            .keys()
            .filter(|name| !servers.contains_key(name.as_ref()))
            .cloned()
            .collect();
        for name in removed {
            if let Some(entry) = entries.remove(&name) {
                tracing::info!(server = %name, "server removed from configuration");
                self.stop_entry(&name, entry).await;
            }
        }
        // Per-user servers that are gone or redefined: their instances stop (and restart on
        // demand with the new definition).
        let placeholders: Vec<Arc<BackendView>> = self
            .views()
            .into_iter()
            .filter(|v| v.config.per_user.is_some())
            .collect();
        for old in placeholders {
            if servers.get(old.name.as_ref()) != Some(&old.config) {
                self.views.write().expect("views lock").remove(&old.name);
                self.stop_instances_of(&old.name).await;
                self.announce_all(&old.name);
            }
        }
        for (name, config) in servers {
            let key: Arc<str> = name.as_str().into();
            if config.per_user.is_some() {
                if let Some(entry) = entries.remove(&key) {
                    tracing::info!(server = %name, "server now runs one instance per user");
                    self.stop_entry(&key, entry).await;
                }
                if self.view(name).is_none() {
                    self.views
                        .write()
                        .expect("views lock")
                        .insert(key.clone(), Arc::new(placeholder(key, config.clone())));
                }
                continue;
            }
            match entries.get(&key) {
                Some(entry) if !entry.config.borrow().needs_restart(config) => {
                    if *entry.config.borrow() != *config {
                        tracing::info!(server = %name, "server settings changed");
                        entry.config.send_replace(config.clone());
                    }
                    continue;
                }
                Some(_) => {
                    tracing::info!(server = %name, "server definition changed; restarting it");
                    if let Some(entry) = entries.remove(&key) {
                        self.stop_entry(&key, entry).await;
                    }
                }
                None => tracing::info!(server = %name, "starting server"),
            }
            let entry = self.start_entry(key.clone(), config.clone(), settings);
            entries.insert(key, entry);
        }
    }

    fn start_entry(&self, name: Arc<str>, config: ServerConfig, settings: &Settings) -> Entry {
        self.spawn_backend(
            name.clone(),
            None,
            config,
            settings,
            self.views.clone(),
            name,
        )
    }

    /// Starts the supervisor of one backend and the task that keeps its view in `views[key]`.
    /// `instance` is set for a per-user instance: its backend id names the connection.
    pub(crate) fn spawn_backend<K>(
        &self,
        name: Arc<str>,
        instance: Option<InstanceOf>,
        config: ServerConfig,
        settings: &Settings,
        views: Arc<RwLock<HashMap<K, Arc<BackendView>>>>,
        key: K,
    ) -> Entry
    where
        K: Clone + Eq + Hash + Send + Sync + 'static,
    {
        let backend = instance.as_ref().map_or(&name, |i| &i.backend).clone();
        let options = SupervisorOptions {
            ping_interval: settings.ping_interval,
            hook: Some((self.deps.hooks)(backend.clone())),
            ssrf: Arc::new(SsrfPolicy::new(settings.ssrf_allow_hosts.clone())),
            vet_mcp_urls: config.owner.is_some(),
            ..SupervisorOptions::default()
        };
        let supervisor = Supervisor::spawn(
            &backend,
            config.spec.clone(),
            options,
            self.deps.http.clone(),
            self.deps.events.clone(),
            &self.deps.shutdown,
        );
        let stop = self.deps.shutdown.child_token();
        // The view exists from the start, so readiness and routing never miss a configured server.
        let mut initial = BackendView::build(name.clone(), config.clone(), supervisor.snapshot());
        initial.instance = instance.clone();
        views
            .write()
            .expect("views lock")
            .insert(key.clone(), Arc::new(initial));
        let (config_tx, config_rx) = watch::channel(config);
        let view_task = tokio::spawn(track_view(
            ViewSlot {
                name,
                instance,
                views,
                key,
            },
            supervisor.subscribe(),
            config_rx,
            self.deps.changes.clone(),
            self.deps.metrics.clone(),
            stop.clone(),
        ));
        Entry {
            supervisor,
            config: config_tx,
            stop,
            view_task,
        }
    }

    /// Tells every session that sees `name` that all its lists changed.
    pub(crate) fn announce_all(&self, name: &Arc<str>) {
        let _ = self.deps.changes.send(Change {
            backend: name.clone(),
            kinds: vec![ListKind::Tools, ListKind::Prompts, ListKind::Resources],
            owner: None,
        });
    }

    async fn stop_entry(&self, name: &Arc<str>, entry: Entry) {
        entry.stop().await;
        self.views.write().expect("views lock").remove(name);
        self.deps.metrics.backend_removed(name);
        // A redefined server starts with a closed circuit; a removed one leaves nothing behind.
        self.deps.breakers.forget(name);
        self.announce_all(name);
    }

    /// Stops every backend and waits for them (children terminated).
    pub async fn stop_all(&self) {
        let mut entries = self.entries.lock().await;
        let all = std::mem::take(&mut *entries);
        let stops = all.into_iter().map(|(name, entry)| async move {
            entry.stop().await;
            tracing::debug!(server = %name, "stopped");
        });
        futures::future::join_all(stops).await;
        self.stop_all_instances().await;
        self.views.write().expect("views lock").clear();
    }
}

/// What a per-user server shows until a user's instance runs: its definition and nothing listed.
fn placeholder(name: Arc<str>, config: ServerConfig) -> BackendView {
    let snapshot = Snapshot {
        status: Status::Stopped,
        peer: None,
        protocol: None,
        server_info: serde_json::Value::Null,
        capabilities: serde_json::Value::Null,
        instructions: None,
        tools: Arc::default(),
        prompts: Arc::default(),
        resources: Arc::default(),
        resource_templates: Arc::default(),
        restarts: 0,
        api: None,
    };
    BackendView::build(name, config, Arc::new(snapshot))
}

/// Where a backend's view is kept.
struct ViewSlot<K> {
    name: Arc<str>,
    instance: Option<InstanceOf>,
    views: Arc<RwLock<HashMap<K, Arc<BackendView>>>>,
    key: K,
}

async fn track_view<K: Clone + Eq + Hash>(
    slot: ViewSlot<K>,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    mut config: watch::Receiver<ServerConfig>,
    changes: mpsc::UnboundedSender<Change>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let ViewSlot {
        name,
        instance,
        views,
        key,
    } = slot;
    let mut previous: Option<Arc<BackendView>> = None;
    loop {
        let snapshot = snapshots.borrow_and_update().clone();
        let cfg = config.borrow_and_update().clone();
        // Instances stay out of the metrics: their labels would carry tenant and user ids.
        if instance.is_none() {
            metrics.backend_state(&name, snapshot.status == Status::Ready, snapshot.restarts);
        }
        let mut view = BackendView::build(name.clone(), cfg, snapshot);
        view.instance = instance.clone();
        let view = Arc::new(view);
        let kinds = changed_lists(previous.as_deref(), &view);
        views
            .write()
            .expect("views lock")
            .insert(key.clone(), view.clone());
        if !kinds.is_empty() {
            let _ = changes.send(Change {
                backend: name.clone(),
                kinds,
                owner: instance.as_ref().map(|i| i.owner.clone()),
            });
        }
        previous = Some(view);
        tokio::select! {
            () = stop.cancelled() => return,
            r = snapshots.changed() => if r.is_err() { return },
            r = config.changed() => if r.is_err() { return },
        }
    }
}

fn changed_lists(old: Option<&BackendView>, new: &BackendView) -> Vec<ListKind> {
    let mut kinds = Vec::new();
    let Some(old) = old else {
        return kinds;
    };
    if old.tools.namespaced != new.tools.namespaced {
        kinds.push(ListKind::Tools);
    }
    if old.prompts.namespaced != new.prompts.namespaced {
        kinds.push(ListKind::Prompts);
    }
    if old.resources.namespaced != new.resources.namespaced
        || old.templates.namespaced != new.templates.namespaced
    {
        kinds.push(ListKind::Resources);
    }
    kinds
}
