//! Servers that run with each user's own credentials: one instance per (server, tenant, user),
//! started on demand with the definition a [`UserCredentials`] resolver fills in (installed from
//! outside: the gateway knows no store or vault), shared by all of that user's sessions, and
//! stopped after the server's idle time, when its definition or the user's secrets change, and on
//! shutdown.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use toolport_upstream::Status;

use crate::admission::Caller;
use crate::config::ServerConfig;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::names;
use crate::registry::{Change, Entry, ListKind, Registry};
use crate::session::{Scope, Session};
use crate::view::{BackendView, InstanceOf, InstanceUsage};

/// How long a list waits for the user's instances to start; a later start announces
/// `list_changed`.
const LIST_WAIT: Duration = Duration::from_secs(2);
/// The longest a call waits for the user's instance to start (the server's timeout if shorter).
const CALL_WAIT: Duration = Duration::from_secs(30);

/// The future [`UserCredentials::resolve`] returns.
pub type Resolution<'a> = Pin<Box<dyn Future<Output = Result<ServerConfig, String>> + Send + 'a>>;

/// Fills a per-user server's definition with the caller's own secrets. Installed once with
/// [`Gateway::set_user_credentials`]; without one, per-user servers cannot run.
pub trait UserCredentials: Send + Sync + Debug {
    /// `definition` with `caller`'s secrets filled in, or a message telling the user what to set
    /// (never quoting a value).
    fn resolve<'a>(
        &'a self,
        caller: &'a Caller,
        server: &'a str,
        definition: &'a ServerConfig,
    ) -> Resolution<'a>;
}

/// (server, tenant id, user id).
type InstanceKey = (Arc<str>, String, String);

struct Running {
    entry: Entry,
    backend: Arc<str>,
    owner: Arc<Caller>,
    /// The filled-in definition it runs with; a different one restarts it.
    definition: ServerConfig,
    usage: Arc<InstanceUsage>,
    idle_task: JoinHandle<()>,
}

/// The running per-user instances.
#[derive(Default)]
pub(crate) struct Instances {
    running: tokio::sync::Mutex<HashMap<InstanceKey, Running>>,
    views: Arc<RwLock<HashMap<InstanceKey, Arc<BackendView>>>>,
    generation: AtomicU64,
}

fn key_of(server: &Arc<str>, caller: &Caller) -> InstanceKey {
    (
        server.clone(),
        caller.tenant_id.clone(),
        caller.user_id.clone(),
    )
}

impl Instances {
    /// The view of `caller`'s instance of `server`, if one runs.
    pub(crate) fn view(&self, server: &Arc<str>, caller: &Caller) -> Option<Arc<BackendView>> {
        self.views
            .read()
            .expect("instance views lock")
            .get(&key_of(server, caller))
            .cloned()
    }

    /// The view of the instance whose backend id is `backend`.
    pub(crate) fn by_backend(&self, backend: &str) -> Option<Arc<BackendView>> {
        self.views
            .read()
            .expect("instance views lock")
            .values()
            .find(|v| v.backend().as_ref() == backend)
            .cloned()
    }

    /// How many instances of `server` run.
    pub(crate) fn count(&self, server: &str) -> usize {
        self.views
            .read()
            .expect("instance views lock")
            .keys()
            .filter(|(s, _, _)| s.as_ref() == server)
            .count()
    }
}

impl Registry {
    /// `caller`'s instance of the per-user server shown by `placeholder`, started (or restarted
    /// with new credentials) if needed; counts as a use for the idle timer.
    async fn user_instance(
        self: &Arc<Self>,
        resolver: &dyn UserCredentials,
        caller: &Arc<Caller>,
        placeholder: &BackendView,
        settings: &crate::config::Settings,
    ) -> Result<Arc<BackendView>, GatewayError> {
        let server = &placeholder.name;
        let key = key_of(server, caller);
        let definition = match resolver.resolve(caller, server, &placeholder.config).await {
            Ok(definition) => definition,
            Err(message) => {
                // Credentials that are gone (a deleted secret) no longer run anything.
                let mut running = self.instances.running.lock().await;
                if let Some(old) = running.remove(&key) {
                    tracing::info!(server = %server, user = %caller.user_id, "the user's credentials are unavailable; stopping the user's instance");
                    self.stop_instance(&key, old).await;
                }
                return Err(GatewayError::UserCredentials {
                    server: server.to_string(),
                    message,
                });
            }
        };
        let mut running = self.instances.running.lock().await;
        if let Some(current) = running.get(&key) {
            if current.definition == definition {
                current.usage.touch();
                drop(running);
                return self.instances.view(server, caller).ok_or_else(|| {
                    GatewayError::Unavailable {
                        server: server.to_string(),
                        reason: "its instance for this user just stopped; try again".into(),
                    }
                });
            }
            tracing::info!(server = %server, user = %caller.user_id, "user credentials changed; restarting the user's instance");
            if let Some(old) = running.remove(&key) {
                self.stop_instance(&key, old).await;
            }
        }
        let per_user = placeholder
            .config
            .per_user
            .clone()
            .expect("a placeholder belongs to a per-user server");
        let generation = self.instances.generation.fetch_add(1, Ordering::Relaxed);
        let backend: Arc<str> = format!(
            "{server}{}{}/{}#{generation}",
            names::SEPARATOR,
            caller.tenant_id,
            caller.user_id
        )
        .into();
        tracing::info!(server = %server, user = %caller.user_id, "starting the user's instance");
        let usage = Arc::new(InstanceUsage::default());
        let entry = self.spawn_backend(
            server.clone(),
            Some(InstanceOf {
                backend: backend.clone(),
                owner: caller.clone(),
                usage: usage.clone(),
            }),
            definition.clone(),
            settings,
            self.instances.views.clone(),
            key.clone(),
        );
        let idle_task = tokio::spawn(stop_when_idle(
            Arc::downgrade(self),
            key.clone(),
            backend.clone(),
            usage.clone(),
            per_user.idle,
            entry.stop.clone(),
        ));
        running.insert(
            key,
            Running {
                entry,
                backend,
                owner: caller.clone(),
                definition,
                usage,
                idle_task,
            },
        );
        drop(running);
        self.instances
            .view(server, caller)
            .ok_or_else(|| GatewayError::Unavailable {
                server: server.to_string(),
                reason: "its instance for this user stopped at once".into(),
            })
    }

    async fn stop_instance(&self, key: &InstanceKey, running: Running) {
        running.idle_task.abort();
        running.entry.stop().await;
        self.instances
            .views
            .write()
            .expect("instance views lock")
            .remove(key);
        let _ = self.deps.changes.send(Change {
            backend: key.0.clone(),
            kinds: vec![ListKind::Tools, ListKind::Prompts, ListKind::Resources],
            owner: Some(running.owner),
        });
    }

    /// Stops the instance `key` if it is still the one with `backend` id and nobody used it for
    /// `idle`.
    async fn stop_if_idle(&self, key: &InstanceKey, backend: &Arc<str>, idle: Duration) -> bool {
        let mut running = self.instances.running.lock().await;
        let idle_now = running.get(key).is_some_and(|r| {
            r.backend == *backend
                && r.usage
                    .idle_deadline(idle)
                    .is_some_and(|deadline| deadline <= Instant::now())
        });
        if !idle_now {
            return false;
        }
        if let Some(instance) = running.remove(key) {
            tracing::info!(server = %key.0, user = %key.2, "stopping the user's idle instance");
            // This runs on the idle task itself: stop the backend without waiting for that task.
            instance.entry.stop().await;
            self.instances
                .views
                .write()
                .expect("instance views lock")
                .remove(key);
        }
        true
    }

    /// Stops every instance of `server` (its definition changed or it is gone).
    pub(crate) async fn stop_instances_of(&self, server: &str) {
        let mut running = self.instances.running.lock().await;
        let keys: Vec<InstanceKey> = running
            .keys()
            .filter(|(s, _, _)| s.as_ref() == server)
            .cloned()
            .collect();
        for key in keys {
            if let Some(instance) = running.remove(&key) {
                self.stop_instance(&key, instance).await;
            }
        }
    }

    /// Stops every instance (shutdown).
    pub(crate) async fn stop_all_instances(&self) {
        let all = std::mem::take(&mut *self.instances.running.lock().await);
        let stops = all.into_iter().map(|(key, instance)| async move {
            instance.idle_task.abort();
            instance.entry.stop().await;
            tracing::debug!(server = %key.0, user = %key.2, "stopped the user's instance");
        });
        futures::future::join_all(stops).await;
        self.instances
            .views
            .write()
            .expect("instance views lock")
            .clear();
    }
}

/// Waits until the instance was not used for `idle`, then stops it; ends with the instance.
async fn stop_when_idle(
    registry: std::sync::Weak<Registry>,
    key: InstanceKey,
    backend: Arc<str>,
    usage: Arc<InstanceUsage>,
    idle: Duration,
    stop: CancellationToken,
) {
    loop {
        // While it serves a request, look again after one idle period.
        let deadline = usage
            .idle_deadline(idle)
            .unwrap_or_else(|| Instant::now() + idle);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep_until(deadline) => {}
        }
        let Some(registry) = registry.upgrade() else {
            return;
        };
        if registry.stop_if_idle(&key, &backend, idle).await {
            return;
        }
    }
}

impl Gateway {
    /// Installs the resolver of users' credentials. Only the first one counts.
    pub fn set_user_credentials(&self, resolver: Arc<dyn UserCredentials>) {
        if self.user_credentials.set(resolver).is_err() {
            tracing::warn!("a user credentials resolver is already installed; keeping it");
        }
    }

    /// `view` as `caller` sees it: a per-user server's placeholder becomes the caller's instance
    /// when one runs.
    pub(crate) fn for_caller(
        &self,
        caller: Option<&Caller>,
        view: Arc<BackendView>,
    ) -> Arc<BackendView> {
        if view.config.per_user.is_none() || view.instance.is_some() {
            return view;
        }
        caller
            .and_then(|c| self.registry.instances.view(&view.name, c))
            .unwrap_or(view)
    }

    /// The views a session may see, with its user's instances in place of per-user placeholders.
    pub(crate) fn views_for(&self, session: &Session) -> Vec<Arc<BackendView>> {
        self.views_in_scope(&session.scope, session.grant.as_ref())
            .into_iter()
            .map(|v| self.for_caller(session.caller.as_deref(), v))
            .collect()
    }

    /// Makes sure the session's user has a running instance of the per-user server behind
    /// `placeholder`, waiting up to `wait` for it to finish starting.
    pub(crate) async fn user_instance(
        &self,
        session: &Session,
        placeholder: &BackendView,
        wait: Duration,
    ) -> Result<Arc<BackendView>, GatewayError> {
        let server = placeholder.name.to_string();
        let Some(caller) = &session.caller else {
            return Err(GatewayError::UserCredentials {
                message: format!(
                    "server {server:?} runs with each user's own credentials, and this session has no user; connect with an API token"
                ),
                server,
            });
        };
        let Some(resolver) = self.user_credentials.get() else {
            return Err(GatewayError::UserCredentials {
                message: format!(
                    "server {server:?} runs with each user's own credentials, which this gateway cannot look up"
                ),
                server,
            });
        };
        let settings = self.config().settings.clone();
        let view = self
            .registry
            .user_instance(resolver.as_ref(), caller, placeholder, &settings)
            .await?;
        let deadline = Instant::now() + wait;
        let mut view = view;
        while view.snapshot.status == Status::Starting && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
            match self.registry.instances.view(&placeholder.name, caller) {
                Some(current) => view = current,
                None => break,
            }
        }
        Ok(view)
    }

    /// Before a list: starts the session user's instances of the per-user servers in scope,
    /// waiting a little for them; one that comes up later announces `list_changed`.
    pub(crate) async fn prepare_user_instances(&self, session: &Session) {
        if session.caller.is_none() {
            return;
        }
        let in_scope = match &session.scope {
            // A virtual endpoint sees single tools: the backends of its selection.
            Scope::Virtual { .. } => self
                .virtual_upstreams(&session.scope, None)
                .iter()
                .filter_map(|name| self.registry.view(name))
                .filter(|v| crate::gateway::granted(session.grant.as_ref(), &v.config))
                .collect(),
            scope => self.views_in_scope(scope, session.grant.as_ref()),
        };
        let placeholders: Vec<Arc<BackendView>> = in_scope
            .into_iter()
            .filter(|v| v.config.per_user.is_some())
            .collect();
        let starts = placeholders.iter().map(|p| async move {
            if let Err(err) = self.user_instance(session, p, LIST_WAIT).await {
                tracing::debug!(server = %p.name, "not listing a per-user server: {err}");
            }
        });
        futures::future::join_all(starts).await;
    }

    /// Before a call of `exposed`: when it names a tool or prompt of a per-user server, that
    /// server's instance for the session's user (started if needed), or why there is none.
    pub(crate) async fn prepare_call(
        &self,
        session: &Session,
        exposed: &str,
    ) -> Result<(), GatewayError> {
        let config = self.config();
        let placeholder = match &session.scope {
            Scope::Server(name) => self
                .registry
                .view(name)
                .filter(|v| crate::gateway::granted(session.grant.as_ref(), &v.config)),
            Scope::Virtual { .. } => self
                .virtual_upstreams(&session.scope, Some(exposed))
                .first()
                .and_then(|name| self.registry.view(name))
                .filter(|v| crate::gateway::granted(session.grant.as_ref(), &v.config)),
            scope if config.settings.namespacing => {
                names::split(exposed).and_then(|(prefix, _)| {
                    self.views_in_scope(scope, session.grant.as_ref())
                        .into_iter()
                        .find(|v| v.config.prefix == prefix)
                })
            }
            // Without namespacing a name does not say its server: start them all, like a list.
            _ => {
                self.prepare_user_instances(session).await;
                return Ok(());
            }
        };
        let Some(placeholder) = placeholder.filter(|v| v.config.per_user.is_some()) else {
            return Ok(());
        };
        let wait = placeholder.config.timeout.min(CALL_WAIT);
        // Boxed, so that the future of every other call stays small.
        Box::pin(self.user_instance(session, &placeholder, wait)).await?;
        Ok(())
    }
}
