//! What clients see of one backend: its snapshot with the configured filter applied, once with
//! original names (per-server endpoints) and once namespaced (aggregated endpoints). Rebuilt only
//! when the snapshot or the server's configuration changes, never per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::time::Instant;
use toolport_upstream::{Snapshot, Status};

use crate::admission::Caller;
use crate::config::ServerConfig;
use crate::names;

/// Whose instance of a per-user server a view shows.
#[derive(Debug, Clone)]
pub struct InstanceOf {
    /// The instance's own backend id (unique per start), which routes its requests and events.
    pub backend: Arc<str>,
    /// The user it runs for (with the token that started it; only tenant and user matter).
    pub owner: Arc<Caller>,
    /// When it was last used and what it is serving, for its idle timer.
    pub usage: Arc<InstanceUsage>,
}

/// The use of a per-user instance: an instance serving a request is never idle, and its idle
/// time counts from the end of its last request.
#[derive(Debug)]
pub struct InstanceUsage {
    last_used: Mutex<Instant>,
    in_flight: AtomicUsize,
}

impl Default for InstanceUsage {
    fn default() -> Self {
        Self {
            last_used: Mutex::new(Instant::now()),
            in_flight: AtomicUsize::new(0),
        }
    }
}

impl InstanceUsage {
    /// Counts a use now (a list, or a call about to start).
    pub fn touch(&self) {
        *self.last_used.lock().expect("last use lock") = Instant::now();
    }

    /// When it stops being idle for `idle`, unless used again; `None` while serving a request.
    pub fn idle_deadline(&self, idle: std::time::Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(*self.last_used.lock().expect("last use lock") + idle)
    }

    /// Marks a request in progress until the returned guard drops.
    pub fn begin(self: &Arc<Self>) -> InUse {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InUse(self.clone())
    }
}

/// A request in progress at a per-user instance.
#[derive(Debug)]
pub struct InUse(Arc<InstanceUsage>);

impl Drop for InUse {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One list in both spellings, with an index of the original names for routing.
#[derive(Debug, Default)]
pub struct Listing {
    pub plain: Vec<Value>,
    pub namespaced: Vec<Value>,
    names: std::collections::HashSet<String>,
}

impl Listing {
    /// Whether an item with this original name is listed (tools and prompts).
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    pub fn get(&self, namespaced: bool) -> &[Value] {
        if namespaced {
            &self.namespaced
        } else {
            &self.plain
        }
    }
}

/// Whether a tool may run as a task (`execution.taskSupport`, 2025-11-25 and later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    Optional,
    /// The tool runs only as a task.
    Required,
}

#[derive(Debug)]
pub struct BackendView {
    pub name: Arc<str>,
    pub config: ServerConfig,
    pub snapshot: Arc<Snapshot>,
    pub uri_alias: String,
    pub tools: Listing,
    pub prompts: Listing,
    pub resources: Listing,
    pub templates: Listing,
    /// Exposed (namespaced) name to original name, for tools and prompts.
    pub aliases: HashMap<String, String>,
    /// The tools (by original name) that declare `execution.taskSupport`; most backends have none.
    pub task_tools: HashMap<String, TaskSupport>,
    /// Set for a per-user instance; `None` for a shared backend (and a per-user server's
    /// placeholder, which lists nothing).
    pub instance: Option<InstanceOf>,
}

impl BackendView {
    pub fn build(name: Arc<str>, config: ServerConfig, snapshot: Arc<Snapshot>) -> Self {
        let uri_alias = names::uri_alias(&config.prefix);
        let mut aliases = HashMap::new();
        let tools = Self::names(&config, &snapshot.tools, true, &mut aliases);
        let prompts = Self::names(&config, &snapshot.prompts, false, &mut aliases);
        let resources = Self::uris(&uri_alias, &snapshot.resources, "uri");
        let templates = Self::uris(&uri_alias, &snapshot.resource_templates, "uriTemplate");
        let task_tools = snapshot
            .tools
            .iter()
            .filter_map(|tool| {
                let support = match tool.pointer("/execution/taskSupport")?.as_str()? {
                    "optional" => TaskSupport::Optional,
                    "required" => TaskSupport::Required,
                    _ => return None,
                };
                Some((tool.get("name")?.as_str()?.to_owned(), support))
            })
            .collect();
        Self {
            name,
            config,
            snapshot,
            uri_alias,
            tools,
            prompts,
            resources,
            templates,
            aliases,
            task_tools,
            instance: None,
        }
    }

    /// The id of the connection behind this view: the server's name, or a per-user instance's id.
    pub fn backend(&self) -> &Arc<str> {
        self.instance.as_ref().map_or(&self.name, |i| &i.backend)
    }

    /// Whether `caller` may see this view: shared backends everyone in scope, an instance only
    /// its owner.
    pub fn visible_to(&self, caller: Option<&Caller>) -> bool {
        match &self.instance {
            None => true,
            Some(instance) => caller.is_some_and(|c| c.same_user(&instance.owner)),
        }
    }

    fn names(
        config: &ServerConfig,
        items: &[Value],
        filtered: bool,
        aliases: &mut HashMap<String, String>,
    ) -> Listing {
        let mut listing = Listing::default();
        for item in items {
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                continue;
            };
            if filtered && !config.tools.admits(name) {
                continue;
            }
            // A name that already carries the namespace (an API's dispatch tools) keeps it.
            let exposed = if name
                .strip_prefix(config.prefix.as_str())
                .is_some_and(|rest| rest.starts_with(names::SEPARATOR))
                && names::is_client_safe(name)
            {
                name.to_string()
            } else {
                names::namespaced(&config.prefix, name)
            };
            if names::split(&exposed) != Some((config.prefix.as_str(), name)) {
                aliases.insert(exposed.clone(), name.to_string());
            }
            let mut renamed = item.clone();
            renamed["name"] = Value::String(exposed);
            listing.names.insert(name.to_string());
            listing.plain.push(item.clone());
            listing.namespaced.push(renamed);
        }
        listing
    }

    fn uris(alias: &str, items: &[Value], key: &str) -> Listing {
        let mut listing = Listing::default();
        for item in items {
            let Some(uri) = item.get(key).and_then(Value::as_str) else {
                continue;
            };
            let mut wrapped = item.clone();
            wrapped[key] = Value::String(names::wrap_uri(alias, uri));
            listing.plain.push(item.clone());
            listing.namespaced.push(wrapped);
        }
        listing
    }

    /// The original name behind an exposed tool or prompt name of this backend.
    pub fn original_name<'a>(&'a self, exposed: &'a str) -> Option<&'a str> {
        if let Some(original) = self.aliases.get(exposed) {
            return Some(original);
        }
        let (prefix, rest) = names::split(exposed)?;
        (prefix == self.config.prefix).then_some(rest)
    }

    pub fn status(&self) -> &Status {
        &self.snapshot.status
    }

    pub fn unavailable_reason(&self) -> String {
        match &self.snapshot.status {
            Status::Down { reason } => reason.clone(),
            Status::Starting => "still starting".into(),
            Status::Stopped => "stopped".into(),
            Status::Ready => "ready".into(),
        }
    }
}
