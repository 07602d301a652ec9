//! Turns a source schema into a self-contained JSON Schema 2020-12 value: `$ref`s inlined, cycles (and
//! very large graphs) kept as `$defs` + `$ref`, `allOf` merged where safe, readOnly/writeOnly filtered.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::docs::{DocId, Documents, RefKey};
use super::keywords;
use crate::naming::sanitize;

/// Whether the schema describes what the client sends (drop `readOnly`) or receives (drop `writeOnly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

/// Nesting depth beyond which a schema is replaced by `{}` (a guard, real documents stay far below).
const MAX_DEPTH: usize = 64;
/// Once a root has produced `budget * HARD_FACTOR` nodes, references not yet built are left unexpanded
/// (`{}` with a note) so one tool's schema stays bounded whatever the reference graph.
const HARD_FACTOR: usize = 2;

/// Builds the schemas of one root (one `inputSchema` or one `outputSchema`); `$defs` are shared within it.
#[derive(Debug)]
pub struct SchemaBuilder<'d> {
    docs: &'d Documents<'d>,
    dir: Direction,
    defs: Map<String, Value>,
    def_names: HashMap<RefKey, String>,
    taken_names: HashSet<String>,
    stack: Vec<RefKey>,
    needs_def: HashSet<RefKey>,
    /// Inlined expansions with the node count they cost.
    memo: HashMap<RefKey, (Value, usize)>,
    produced: usize,
    budget: usize,
    depth: usize,
    /// Problems met (unresolvable references); the schema stays usable (the part becomes `{}`).
    pub warnings: Vec<String>,
}

impl<'d> SchemaBuilder<'d> {
    /// `budget`: schema nodes to inline before further references go to `$defs` instead.
    pub fn new(docs: &'d Documents<'d>, dir: Direction, budget: usize) -> Self {
        SchemaBuilder {
            docs,
            dir,
            defs: Map::new(),
            def_names: HashMap::new(),
            taken_names: HashSet::new(),
            stack: Vec::new(),
            needs_def: HashSet::new(),
            memo: HashMap::new(),
            produced: 0,
            budget,
            depth: 0,
            warnings: Vec::new(),
        }
    }

    pub fn documents(&self) -> &'d Documents<'d> {
        self.docs
    }

    /// Converts the schema `v` found in document `doc`.
    pub fn schema(&mut self, doc: DocId, v: &Value) -> Value {
        match v {
            Value::Bool(b) => Value::Bool(*b),
            Value::Object(m) => {
                if self.depth >= MAX_DEPTH {
                    return Value::Object(Map::new());
                }
                self.depth += 1;
                let out = self.object(doc, m);
                self.depth -= 1;
                out
            }
            _ => Value::Object(Map::new()),
        }
    }

    /// The built root with the collected `$defs` attached.
    pub fn finish(mut self, root: Value) -> (Value, Vec<String>) {
        let root = match root {
            Value::Object(mut m) if !self.defs.is_empty() => {
                m.insert(
                    "$defs".to_string(),
                    Value::Object(std::mem::take(&mut self.defs)),
                );
                Value::Object(m)
            }
            other => other,
        };
        (root, self.warnings)
    }

    /// True when the built schema is (or references a finished `$def` that is) marked read-only / write-only.
    pub fn is_hidden(&self, schema: &Value) -> bool {
        let key = match self.dir {
            Direction::Input => "readOnly",
            Direction::Output => "writeOnly",
        };
        if schema.get(key) == Some(&Value::Bool(true)) {
            return true;
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str)
            && let Some(name) = r.strip_prefix("#/$defs/")
        {
            return self.defs.get(name).and_then(|d| d.get(key)) == Some(&Value::Bool(true));
        }
        false
    }

    /// Follows `$ref`s of a built schema through finished `$defs`, for callers inspecting its shape.
    pub fn peek<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut cur = schema;
        for _ in 0..8 {
            match cur
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|n| self.defs.get(n))
            {
                Some(next) => cur = next,
                None => break,
            }
        }
        cur
    }

    fn object(&mut self, doc: DocId, m: &Map<String, Value>) -> Value {
        self.produced += 1;
        if let Some(Value::String(r)) = m.get("$ref") {
            return self.reference(doc, r, m);
        }
        let out = self.walk(doc, m);
        self.finish_object(out)
    }

    /// Builds the sub-schemas of `m` and copies its other keywords, without the final fixes.
    fn walk(&mut self, doc: DocId, m: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::with_capacity(m.len());
        for (k, val) in m {
            match k.as_str() {
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => {
                    if let Value::Object(props) = val {
                        let mut built = Map::with_capacity(props.len());
                        for (name, s) in props {
                            built.insert(name.clone(), self.schema(doc, s));
                        }
                        out.insert(k.clone(), Value::Object(built));
                    }
                }
                "items" => match val {
                    Value::Array(a) => {
                        let built: Vec<Value> = a.iter().map(|s| self.schema(doc, s)).collect();
                        out.insert("prefixItems".to_string(), Value::Array(built));
                    }
                    Value::Object(_) | Value::Bool(_) => {
                        out.insert(k.clone(), self.schema(doc, val));
                    }
                    _ => {}
                },
                "additionalProperties"
                | "not"
                | "contains"
                | "propertyNames"
                | "if"
                | "then"
                | "else"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "contentSchema" => {
                    if matches!(val, Value::Object(_) | Value::Bool(_)) {
                        out.insert(k.clone(), self.schema(doc, val));
                    }
                }
                // OpenAPI-only annotations that mean nothing to a tool caller.
                "additionalItems" | "xml" | "externalDocs" => {}
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    if let Value::Array(a) = val
                        && !a.is_empty()
                    {
                        let built: Vec<Value> = a.iter().map(|s| self.schema(doc, s)).collect();
                        out.insert(k.clone(), Value::Array(built));
                    }
                }
                "$ref" => {}
                // Examples document what comes back; they only weigh on output schemas.
                "example" | "examples" if self.dir == Direction::Output => {}
                _ => {
                    out.insert(k.clone(), val.clone());
                }
            }
        }
        out
    }

    fn finish_object(&mut self, mut out: Map<String, Value>) -> Value {
        let wrap_null = keywords::translate_nullable(&mut out);
        keywords::fix(&mut out);
        self.drop_hidden(&mut out);
        merge_all_of(&mut out);
        if wrap_null {
            return serde_json::json!({"anyOf": [Value::Object(out), {"type": "null"}]});
        }
        Value::Object(out)
    }

    fn drop_hidden(&self, out: &mut Map<String, Value>) {
        let Some(Value::Object(props)) = out.get("properties") else {
            return;
        };
        let hidden: Vec<String> = props
            .iter()
            .filter(|(_, s)| self.is_hidden(s))
            .map(|(k, _)| k.clone())
            .collect();
        if hidden.is_empty() {
            return;
        }
        if let Some(Value::Object(props)) = out.get_mut("properties") {
            for h in &hidden {
                props.shift_remove(h);
            }
        }
        if let Some(Value::Array(req)) = out.get_mut("required") {
            req.retain(|r| !r.as_str().is_some_and(|r| hidden.iter().any(|h| h == r)));
        }
    }

    fn reference(&mut self, doc: DocId, r: &str, m: &Map<String, Value>) -> Value {
        let target = match self.docs.resolve(doc, r) {
            Ok(key) if key.pointer.is_empty() && key.doc == 0 => {
                self.warnings.push(format!("`$ref: {r}` points at the whole document, not at a schema; that part accepts any value"));
                Value::Object(Map::new())
            }
            Ok(key) => self.expand(key),
            Err(e) => {
                self.warnings.push(e);
                Value::Object(Map::new())
            }
        };
        let siblings: Map<String, Value> = m
            .iter()
            .filter(|(k, _)| k.as_str() != "$ref")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if siblings.is_empty() {
            return target;
        }
        let sib = self.walk(doc, &siblings);
        let mut merged = match target {
            Value::Object(t) => t,
            other => {
                let mut w = Map::new();
                w.insert("allOf".to_string(), Value::Array(vec![other]));
                w
            }
        };
        for (k, v) in sib {
            merged.insert(k, v);
        }
        self.finish_object(merged)
    }

    fn expand(&mut self, key: RefKey) -> Value {
        if let Some(name) = self.def_names.get(&key)
            && self.defs.contains_key(name)
        {
            return ref_to(name);
        }
        if self.stack.contains(&key) {
            let name = self.def_name(&key);
            self.needs_def.insert(key);
            return ref_to(&name);
        }
        if let Some((v, n)) = self.memo.get(&key) {
            if self.produced + n <= self.budget {
                self.produced += n;
                return v.clone();
            }
            // Over budget: share the expansion through `$defs` instead of copying it again.
            if let Some((v, _)) = self.memo.remove(&key) {
                let name = self.def_name(&key);
                self.defs.insert(name.clone(), v);
                self.produced += 1;
                return ref_to(&name);
            }
        }
        let Some(target) = self.docs.get(&key) else {
            return Value::Object(Map::new());
        };
        if self.produced > self.budget.saturating_mul(HARD_FACTOR) {
            let name = key
                .pointer
                .rsplit('/')
                .next()
                .unwrap_or("schema")
                .replace("~1", "/")
                .replace("~0", "~");
            return serde_json::json!({"description": format!("`{name}` (not expanded: the schema is too large)")});
        }
        let force_def = self.produced > self.budget;
        let before = self.produced;
        self.stack.push(key.clone());
        let built = self.schema(key.doc, target);
        self.stack.pop();
        let cost = self.produced - before;
        if force_def || self.needs_def.contains(&key) {
            let name = self.def_name(&key);
            self.defs.insert(name.clone(), built);
            ref_to(&name)
        } else {
            self.memo.insert(key, (built.clone(), cost));
            built
        }
    }

    fn def_name(&mut self, key: &RefKey) -> String {
        if let Some(n) = self.def_names.get(key) {
            return n.clone();
        }
        let last = key
            .pointer
            .rsplit('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        let mut base = sanitize(&last, true);
        if base.is_empty() {
            base = "schema".to_string();
        }
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken_names.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.def_names.insert(key.clone(), name.clone());
        name
    }
}

fn ref_to(name: &str) -> Value {
    let mut m = Map::new();
    m.insert("$ref".to_string(), Value::String(format!("#/$defs/{name}")));
    Value::Object(m)
}

const MERGEABLE: [&str; 6] = [
    "type",
    "properties",
    "required",
    "title",
    "description",
    "$comment",
];

/// Merges `allOf` members into the parent when they are plain object schemas that do not conflict.
fn merge_all_of(out: &mut Map<String, Value>) {
    let Some(Value::Array(members)) = out.get("allOf") else {
        return;
    };
    if members.len() == 1
        && let Some(only) = members[0].as_object()
        && only.keys().all(|k| !out.contains_key(k))
    {
        let only = only.clone();
        out.remove("allOf");
        for (k, v) in only {
            out.insert(k, v);
        }
        return;
    }
    let object_type = |v: Option<&Value>| v.is_none_or(|t| t == "object");
    let safe = members.iter().all(|m| {
        m.as_object().is_some_and(|o| {
            o.keys().all(|k| MERGEABLE.contains(&k.as_str())) && object_type(o.get("type"))
        })
    });
    let outer_safe = out.iter().all(|(k, v)| match k.as_str() {
        "type" => v == "object",
        "allOf" | "properties" | "required" | "title" | "description" | "default" | "example"
        | "deprecated" | "$comment" => true,
        other => other.starts_with("x-"),
    });
    if !safe || !outer_safe {
        return;
    }
    let mut props = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut description = None;
    let mut title = None;
    let mut sources: Vec<&Map<String, Value>> =
        members.iter().filter_map(Value::as_object).collect();
    sources.push(out);
    for src in &sources {
        if let Some(Value::Object(p)) = src.get("properties") {
            for (k, v) in p {
                match props.get(k) {
                    Some(existing) if existing != v => return,
                    _ => {
                        props.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        if let Some(Value::Array(r)) = src.get("required") {
            for x in r {
                if !required.contains(x) {
                    required.push(x.clone());
                }
            }
        }
        if description.is_none() {
            description = src.get("description").cloned();
        }
        if title.is_none() {
            title = src.get("title").cloned();
        }
    }
    if let Some(d) = out.get("description").cloned() {
        description = Some(d);
    }
    if let Some(t) = out.get("title").cloned() {
        title = Some(t);
    }
    out.remove("allOf");
    out.insert("type".to_string(), Value::from("object"));
    if let Some(t) = title {
        out.insert("title".to_string(), t);
    }
    if let Some(d) = description {
        out.insert("description".to_string(), d);
    }
    out.insert("properties".to_string(), Value::Object(props));
    if required.is_empty() {
        out.remove("required");
    } else {
        out.insert("required".to_string(), Value::Array(required));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::RefuseLoader;
    use crate::path_items::PathItems;
    use serde_json::json;

    fn build(doc: Value, schema: Value, dir: Direction) -> Value {
        let Ok(docs) = Documents::load(doc, PathItems::default(), "", &RefuseLoader) else {
            panic!("the document set did not load");
        };
        let mut b = SchemaBuilder::new(&docs, dir, 10_000);
        let s = b.schema(0, &schema);
        b.finish(s).0
    }

    #[test]
    fn circular_refs_become_defs() {
        let doc = json!({"components": {"schemas": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}, "v": {"type": "string"}}}}}});
        let out = build(
            doc,
            json!({"$ref": "#/components/schemas/Node"}),
            Direction::Input,
        );
        assert_eq!(out["$ref"], "#/$defs/Node");
        assert_eq!(
            out["$defs"]["Node"]["properties"]["child"]["$ref"],
            "#/$defs/Node"
        );
    }

    #[test]
    fn property_named_ref_and_examples_are_data() {
        let doc = json!({});
        let out = build(
            doc,
            json!({"type": "object", "properties": {"$ref": {"type": "string"}}, "example": {"$ref": "#/nowhere"}}),
            Direction::Input,
        );
        assert_eq!(out["properties"]["$ref"]["type"], "string");
        assert_eq!(out["example"]["$ref"], "#/nowhere");
    }

    #[test]
    fn read_only_dropped_from_inputs_and_all_of_merged() {
        let doc = json!({"components": {"schemas": {"Base": {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}}}}}});
        let s = json!({"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"tag": {"type": "string"}}}]});
        let out = build(doc.clone(), s.clone(), Direction::Input);
        assert_eq!(
            out,
            json!({"type": "object", "properties": {"name": {"type": "string"}, "tag": {"type": "string"}}, "required": ["name"]})
        );
        let out = build(doc, s, Direction::Output);
        assert!(out["properties"]["id"].is_object());
    }

    #[test]
    fn ref_siblings_override_target() {
        let doc =
            json!({"components": {"schemas": {"S": {"type": "string", "description": "old"}}}});
        let out = build(
            doc,
            json!({"$ref": "#/components/schemas/S", "description": "new", "nullable": true}),
            Direction::Input,
        );
        assert_eq!(
            out,
            json!({"type": ["string", "null"], "description": "new"})
        );
    }
}
