//! Merged lists of tools, prompts, resources and templates across the backends a session sees,
//! served from the backends' cached catalogs and paginated with opaque cursors.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use toolport_protocol::Request;

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::registry::ListKind;
use crate::session::Session;

impl Gateway {
    pub(super) fn list(
        &self,
        session: &Arc<Session>,
        request: &Request,
        kind: ListKind,
        templates: bool,
    ) -> Result<Value, GatewayError> {
        let config = self.config();
        let settings = &config.settings;
        let namespaced = session.scope.namespaced() && settings.namespacing;
        let key = match (kind, templates) {
            (ListKind::Tools, _) => "tools",
            (ListKind::Prompts, _) => "prompts",
            (ListKind::Resources, false) => "resources",
            (ListKind::Resources, true) => "resourceTemplates",
        };
        let views = self.views_for(session);
        // A virtual endpoint's items (it sees no whole backend, so `views` is empty for it).
        let composed = if templates {
            Vec::new()
        } else {
            self.virtual_listing(session, kind)
        };
        let mut items: Vec<&Value> = composed.iter().collect();
        let mut seen = HashSet::new();
        let identity = if templates {
            "uriTemplate"
        } else if kind == ListKind::Resources {
            "uri"
        } else {
            "name"
        };
        for view in &views {
            let listing = match (kind, templates) {
                (ListKind::Tools, _) => &view.tools,
                (ListKind::Prompts, _) => &view.prompts,
                (ListKind::Resources, false) => &view.resources,
                (ListKind::Resources, true) => &view.templates,
            };
            for item in listing.get(namespaced) {
                // Without namespacing, the first server (by name) wins a name clash.
                if !namespaced
                    && session.scope.namespaced()
                    && !seen.insert(
                        item.get(identity)
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    )
                {
                    continue;
                }
                items.push(item);
            }
        }
        let cursor = request
            .params
            .as_ref()
            .and_then(|p| p.get("cursor"))
            .and_then(Value::as_str);
        let (start, end, next) = page(items.len(), cursor, settings.page_size)?;
        let mut result = Map::new();
        result.insert(
            key.into(),
            Value::Array(items[start..end].iter().map(|v| (*v).clone()).collect()),
        );
        if let Some(next) = next {
            result.insert("nextCursor".into(), Value::String(next));
        }
        Ok(Value::Object(result))
    }
}

/// The slice of a list of `len` items that a cursor selects, and the cursor of the next page.
fn page(
    len: usize,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<(usize, usize, Option<String>), GatewayError> {
    let start = match cursor {
        None => 0,
        Some(c) => URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("o").and_then(|n| n.parse::<usize>().ok()))
            .filter(|n| *n <= len)
            .ok_or_else(|| {
                GatewayError::InvalidParams(format!(
                    "invalid cursor {c:?}: pass back a nextCursor from a previous page"
                ))
            })?,
    };
    if page_size == 0 || len - start <= page_size {
        return Ok((start, len, None));
    }
    let end = start + page_size;
    Ok((start, end, Some(URL_SAFE_NO_PAD.encode(format!("o{end}")))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_list_once() {
        let mut cursor = None;
        let mut seen = 0;
        loop {
            let (start, end, next) = page(10, cursor.as_deref(), 3).unwrap();
            assert_eq!(start, seen);
            seen = end;
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, 10);
    }

    #[test]
    fn bad_cursors_are_refused() {
        assert!(page(10, Some("garbage!"), 3).is_err());
        let beyond = URL_SAFE_NO_PAD.encode("o11");
        assert!(page(10, Some(&beyond), 3).is_err());
        assert_eq!(page(5, None, 0).unwrap(), (0, 5, None));
    }
}
