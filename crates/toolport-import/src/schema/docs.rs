//! The set of documents `$ref`s may point into: the root plus external files fetched up front through the loader.

use std::collections::HashMap;

use serde_json::Value;

use crate::decode;
use crate::error::ImportError;
use crate::loader::{DocumentLoader, resolve_location};
use crate::path_items::PathItems;

/// Index of a document in a [`Documents`] set; 0 is the root.
pub type DocId = usize;

/// A resolved reference: the document and the JSON pointer inside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefKey {
    pub doc: DocId,
    pub pointer: String,
}

#[derive(Debug)]
struct Doc {
    location: String,
    root: Value,
    anchors: HashMap<String, String>,
}

/// The root document and every external document it references (transitively), loaded before conversion
/// so resolution never does I/O (a path item kept as raw text is parsed when a `$ref` first points into it).
#[derive(Debug)]
pub struct Documents<'t> {
    docs: Vec<Doc>,
    /// The root's path items (the root holds `"paths": null` in their place when there are any).
    paths: PathItems<'t>,
    by_location: HashMap<String, DocId>,
    failures: HashMap<String, String>,
}

/// Documents beyond this many are not loaded (a guard against reference explosions).
const MAX_DOCUMENTS: usize = 256;

impl<'t> Documents<'t> {
    /// Wraps `root` and its path items and loads every external document they reference. Fails only when
    /// a path item that has to be read for that is not valid JSON.
    pub fn load(
        root: Value,
        paths: PathItems<'t>,
        location: &str,
        loader: &dyn DocumentLoader,
    ) -> Result<Self, ImportError> {
        let mut set = Documents {
            docs: Vec::new(),
            paths,
            by_location: HashMap::new(),
            failures: HashMap::new(),
        };
        set.add(location.to_string(), root);
        let mut root_wanted = Vec::new();
        for item in set.paths.iter() {
            if !item.may_hold_anchor_or_external_ref() {
                continue;
            }
            let value = set.paths.content(item)?;
            collect_external(&value, location, &mut root_wanted);
            let mut path = vec!["paths", item.path.as_str()];
            collect_anchors(&value, &mut path, &mut set.docs[0].anchors);
        }
        let mut next = 0;
        while next < set.docs.len() {
            let mut wanted = std::mem::take(&mut root_wanted);
            let base = set.docs[next].location.clone();
            collect_external(&set.docs[next].root, &base, &mut wanted);
            for loc in wanted {
                if set.by_location.contains_key(&loc) || set.failures.contains_key(&loc) {
                    continue;
                }
                if set.docs.len() >= MAX_DOCUMENTS {
                    set.failures.insert(
                        loc,
                        format!("more than {MAX_DOCUMENTS} referenced documents"),
                    );
                    continue;
                }
                match loader.load(&loc) {
                    Ok(bytes) => match decode::text(&bytes).and_then(decode::parse_structured) {
                        Ok(v) => set.add(loc, v),
                        Err(e) => {
                            set.failures.insert(loc, e.to_string());
                        }
                    },
                    Err(e) => {
                        set.failures.insert(loc, e.to_string());
                    }
                }
            }
            next += 1;
        }
        Ok(set)
    }

    fn add(&mut self, location: String, root: Value) {
        let mut anchors = HashMap::new();
        let mut path = Vec::new();
        collect_anchors(&root, &mut path, &mut anchors);
        self.by_location.insert(location.clone(), self.docs.len());
        self.docs.push(Doc {
            location,
            root,
            anchors,
        });
    }

    /// The root document (without its path items).
    pub fn root(&self) -> &Value {
        &self.docs[0].root
    }

    /// The root document's path items.
    pub fn paths(&self) -> &PathItems<'t> {
        &self.paths
    }

    /// The value a resolved key points at.
    pub fn get(&self, key: &RefKey) -> Option<&Value> {
        if key.doc == 0
            && !self.paths.is_empty()
            && let Some(rest) = key.pointer.strip_prefix("/paths/")
        {
            let (segment, pointer) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let path = segment.replace("~1", "/").replace("~0", "~");
            return self.paths.get(&path, pointer);
        }
        self.docs.get(key.doc)?.root.pointer(&key.pointer)
    }

    /// Resolves a `$ref` string found in document `doc`.
    pub fn resolve(&self, doc: DocId, reference: &str) -> Result<RefKey, String> {
        let (file, fragment) = match reference.split_once('#') {
            Some((f, frag)) => (f, frag),
            None => (reference, ""),
        };
        let target = if file.is_empty() {
            doc
        } else {
            let base = self.docs.get(doc).map_or("", |d| d.location.as_str());
            let loc = resolve_location(base, file);
            match self.by_location.get(&loc) {
                Some(id) => *id,
                None => {
                    let why = self
                        .failures
                        .get(&loc)
                        .cloned()
                        .unwrap_or_else(|| "the document was not loaded".to_string());
                    return Err(format!("cannot resolve `{reference}`: {why}"));
                }
            }
        };
        let fragment = percent_decode(fragment);
        let pointer = if fragment.is_empty() || fragment.starts_with('/') {
            fragment
        } else {
            match self.docs.get(target).and_then(|d| d.anchors.get(&fragment)) {
                Some(p) => p.clone(),
                None => {
                    return Err(format!(
                        "cannot resolve `{reference}`: no `$anchor` named `{fragment}`"
                    ));
                }
            }
        };
        let key = RefKey {
            doc: target,
            pointer,
        };
        if self.get(&key).is_none() {
            return Err(format!(
                "cannot resolve `{reference}`: nothing at that location in the document"
            ));
        }
        Ok(key)
    }

    /// Follows `$ref` chains on a non-schema object (parameter, request body, response, ...).
    pub fn deref<'a>(&'a self, doc: DocId, value: &'a Value) -> Result<(DocId, &'a Value), String> {
        let mut cur = (doc, value);
        for _ in 0..32 {
            match cur.1.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let key = self.resolve(cur.0, r)?;
                    let v = self
                        .get(&key)
                        .ok_or_else(|| format!("cannot resolve `{r}`"))?;
                    cur = (key.doc, v);
                }
                None => return Ok(cur),
            }
        }
        Err("reference chain longer than 32 hops (circular `$ref`?)".to_string())
    }
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn collect_external(v: &Value, base: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                let file = r.split('#').next().unwrap_or("");
                if !file.is_empty() {
                    out.push(resolve_location(base, file));
                }
            }
            for (k, child) in m {
                // Example values are data, not schemas: never chase references found inside them.
                if k == "example" || k == "examples" || k == "x-examples" {
                    continue;
                }
                collect_external(child, base, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_external(c, base, out)),
        _ => {}
    }
}

fn collect_anchors<'a>(v: &'a Value, path: &mut Vec<&'a str>, out: &mut HashMap<String, String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(a)) = m.get("$anchor") {
                out.insert(a.clone(), pointer_of(path));
            }
            for (k, child) in m {
                if matches!(child, Value::Object(_) | Value::Array(_)) {
                    path.push(k.as_str());
                    collect_anchors(child, path, out);
                    path.pop();
                }
            }
        }
        Value::Array(a) => {
            // Anchors inside arrays (allOf members) are rare; index segments are rendered on demand.
            for (i, child) in a.iter().enumerate() {
                if let Value::Object(m) = child
                    && m.contains_key("$anchor")
                {
                    let mut p = pointer_of(path);
                    p.push('/');
                    p.push_str(&i.to_string());
                    if let Some(Value::String(a)) = m.get("$anchor") {
                        out.insert(a.clone(), p);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Renders path segments as a JSON pointer.
pub fn pointer_of(path: &[&str]) -> String {
    let mut s = String::new();
    for seg in path {
        s.push('/');
        s.push_str(&escape(seg));
    }
    s
}

/// Escapes one JSON pointer segment.
pub fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::RefuseLoader;
    use serde_json::json;

    #[test]
    fn resolves_local_pointers_anchors_and_reports_missing_files() {
        let root = json!({"x": {"$ref": "other.yaml#/x"}, "components": {"schemas": {"a/b": {"type": "string"}, "c": {"$anchor": "cee", "type": "integer"}}}});
        let Ok(d) = Documents::load(root, PathItems::default(), "x.yaml", &RefuseLoader) else {
            panic!("the document set did not load");
        };
        let k = d.resolve(0, "#/components/schemas/a~1b").ok();
        assert_eq!(
            d.get(&k.unwrap_or(RefKey {
                doc: 9,
                pointer: String::new()
            })),
            Some(&json!({"type": "string"}))
        );
        assert!(d.resolve(0, "#cee").is_ok());
        let err = d.resolve(0, "other.yaml#/x").err().unwrap_or_default();
        assert!(err.contains("no document loader"), "{err}");
        assert!(d.resolve(0, "#/nope").is_err());
    }
}
