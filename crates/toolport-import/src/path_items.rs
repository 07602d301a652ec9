//! The root document's `paths`, held apart from the rest of the document. From JSON input each path item
//! stays raw text borrowed from the input and is parsed only while it is converted (or when a `$ref`
//! points into it), so a large description never exists as one parsed tree: a parsed `Value` costs
//! 6-18 times the text it came from.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::decode;
use crate::error::ImportError;

/// The path items of the root document, in document order.
///
/// When non-empty, the root `Value` holds `"paths": null` in their place (keeping the key order of the
/// document for format detection and messages).
#[derive(Debug, Default)]
pub struct PathItems<'t> {
    items: Vec<PathItem<'t>>,
    /// The whole document's text (raw items only): re-parsed to report a syntax error found inside an
    /// item with the line and column a parse of the whole document gives.
    document: &'t str,
}

/// One path item: its path template and its content.
#[derive(Debug)]
pub struct PathItem<'t> {
    pub path: String,
    content: Content<'t>,
}

#[derive(Debug)]
enum Content<'t> {
    Parsed(Value),
    Raw {
        text: &'t RawValue,
        /// Parsed once a `$ref` pointed into the item (`None`: it does not parse), kept for later lookups.
        referenced: OnceCell<Option<Value>>,
    },
}

impl<'t> PathItems<'t> {
    /// Takes an object-valued `paths` out of a parsed root, leaving the `null` placeholder.
    pub fn take(root: &mut Value) -> PathItems<'t> {
        let Some(slot) = root.get_mut("paths").filter(|p| p.is_object()) else {
            return PathItems::default();
        };
        let Value::Object(paths) = slot.take() else {
            return PathItems::default();
        };
        let items = paths
            .into_iter()
            .map(|(path, mut item)| {
                drop_example_objects(&mut item, false);
                PathItem {
                    path,
                    content: Content::Parsed(item),
                }
            })
            .collect();
        PathItems {
            items,
            document: "",
        }
    }

    /// Path items kept as raw text of `document` (`members` are the `paths` object's members, in order).
    pub fn raw(document: &'t str, members: Vec<(String, &'t RawValue)>) -> Self {
        let items = members
            .into_iter()
            .map(|(path, text)| PathItem {
                path,
                content: Content::Raw {
                    text,
                    referenced: OnceCell::new(),
                },
            })
            .collect();
        PathItems { items, document }
    }

    /// Puts the items back in place of the root's `null` placeholder (for formats read as one tree).
    pub fn restore(self, root: &mut Value) -> Result<(), ImportError> {
        if self.items.is_empty() {
            return Ok(());
        }
        let mut paths = serde_json::Map::with_capacity(self.items.len());
        for item in self.items {
            let value = match item.content {
                Content::Parsed(v) => v,
                Content::Raw { text, .. } => serde_json::from_str(text.get())
                    .map_err(|_| syntax_error(self.document, &item.path))?,
            };
            paths.insert(item.path, value);
        }
        if let Some(slot) = root.get_mut("paths") {
            *slot = Value::Object(paths);
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PathItem<'t>> {
        self.items.iter()
    }

    /// The item's content, parsed for the caller (and dropped with the `Cow`) when it is raw text.
    pub fn content<'a>(&'a self, item: &'a PathItem<'t>) -> Result<Cow<'a, Value>, ImportError> {
        match &item.content {
            Content::Parsed(v) => Ok(Cow::Borrowed(v)),
            Content::Raw { text, referenced } => {
                if let Some(Some(v)) = referenced.get() {
                    return Ok(Cow::Borrowed(v));
                }
                parse_raw(text)
                    .map(Cow::Owned)
                    .map_err(|_| syntax_error(self.document, &item.path))
            }
        }
    }

    /// The value at `pointer` inside the item of `path` (for `$ref`s into `#/paths/...`).
    pub fn get(&self, path: &str, pointer: &str) -> Option<&Value> {
        let item = self.items.iter().find(|i| i.path == path)?;
        let value = match &item.content {
            Content::Parsed(v) => v,
            Content::Raw { text, referenced } => {
                referenced.get_or_init(|| parse_raw(text).ok()).as_ref()?
            }
        };
        value.pointer(pointer)
    }

    /// The number of members named one of `names` in object-valued items (the operations, for `METHODS`).
    pub fn count_members(&self, names: &[&str]) -> usize {
        self.items
            .iter()
            .map(|item| match &item.content {
                Content::Parsed(v) => v.as_object().map_or(0, |m| {
                    m.keys().filter(|k| names.contains(&k.as_str())).count()
                }),
                Content::Raw { text, .. } => {
                    let mut de = serde_json::Deserializer::from_str(text.get());
                    de.deserialize_map(CountMembers(names)).unwrap_or(0)
                }
            })
            .sum()
    }
}

/// The error a parse of the whole `document` reports for the item of `path`, which did not parse on its own.
fn syntax_error(document: &str, path: &str) -> ImportError {
    match decode::parse_json(document) {
        Err(e) => e,
        Ok(_) => ImportError::invalid(
            "OpenAPI",
            format!("/paths/{}", crate::schema::docs::escape(path)),
            "the path item is not valid JSON",
        ),
    }
}

impl PathItem<'_> {
    /// False when the item's text can hold neither an `$anchor` nor a `$ref` to another document, so
    /// the document set need not parse it before conversion. Any `\u` escape counts as "can" (it could
    /// spell either key).
    pub fn may_hold_anchor_or_external_ref(&self) -> bool {
        let Content::Raw { text, .. } = &self.content else {
            return true;
        };
        let text = text.get();
        if text.contains("\\u") || text.contains("\"$anchor\"") {
            return true;
        }
        let mut rest = text;
        while let Some(i) = rest.find("\"$ref\"") {
            rest = &rest[i + "\"$ref\"".len()..];
            let local = rest
                .trim_start()
                .strip_prefix(':')
                .is_some_and(|v| v.trim_start().starts_with("\"#"));
            if !local {
                return true;
            }
        }
        false
    }
}

/// Parses a raw item as the root's members were parsed (example objects dropped).
fn parse_raw(text: &RawValue) -> Result<Value, serde_json::Error> {
    let mut v: Value = serde_json::from_str(text.get())?;
    drop_example_objects(&mut v, false);
    Ok(v)
}

/// Counts the distinct names among an object's members that are one of the given names, skipping the values.
struct CountMembers<'n>(&'n [&'n str]);

impl<'de> Visitor<'de> for CountMembers<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut found = vec![false; self.0.len()];
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if let Some(i) = self.0.iter().position(|n| *n == key) {
                found[i] = true;
            }
        }
        Ok(found.iter().filter(|f| **f).count())
    }
}

/// Removes what conversion never reads and large documents are full of: `components.examples` and the
/// `examples` maps of media types and parameters (schema `examples` arrays stay). Frees memory early.
pub fn drop_example_objects(v: &mut Value, in_names: bool) {
    match v {
        Value::Object(m) => {
            if !in_names && m.get("examples").is_some_and(Value::is_object) {
                m.shift_remove("examples");
            }
            for (k, child) in m.iter_mut() {
                let names = !in_names
                    && matches!(
                        k.as_str(),
                        "properties" | "patternProperties" | "$defs" | "definitions"
                    );
                drop_example_objects(child, names);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| drop_example_objects(c, false)),
        _ => {}
    }
}
