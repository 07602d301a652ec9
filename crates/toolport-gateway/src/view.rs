//! What clients see of one backend: its snapshot with the configured filter applied, once with
//! original names (per-server endpoints) and once namespaced (aggregated endpoints). Rebuilt only
//! when the snapshot or the server's configuration changes, never per request.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use toolport_upstream::{Snapshot, Status};

use crate::config::ServerConfig;
use crate::names;

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
}

impl BackendView {
    pub fn build(name: Arc<str>, config: ServerConfig, snapshot: Arc<Snapshot>) -> Self {
        let uri_alias = names::uri_alias(&config.prefix);
        let mut aliases = HashMap::new();
        let tools = Self::names(&config, &snapshot.tools, true, &mut aliases);
        let prompts = Self::names(&config, &snapshot.prompts, false, &mut aliases);
        let resources = Self::uris(&uri_alias, &snapshot.resources, "uri");
        let templates = Self::uris(&uri_alias, &snapshot.resource_templates, "uriTemplate");
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
