//! OpenAPI 3.0/3.1/3.2 (and upgraded Swagger 2.0): walks `paths`, one tool per operation; webhooks and callbacks are not tools.

mod body;
mod operation;
mod security;

use serde_json::Value;

use crate::collect::Collector;
use crate::error::ImportError;
use crate::loader::DocumentLoader;
use crate::model::{Format, OperationInfo, Server};
use crate::naming::method_path_name;
use crate::schema::Documents;
use crate::schema::docs::escape;

/// The HTTP methods a path item may hold, lower case as written in documents (`query` is OpenAPI 3.2).
const METHODS: [&str; 9] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

/// Document-wide facts every operation needs.
#[derive(Debug)]
pub(crate) struct Api<'d> {
    pub docs: &'d Documents,
    pub servers: Vec<Server>,
    /// Schema nodes one `inputSchema` may inline before references go to `$defs` (outputs get half).
    pub input_budget: usize,
}

/// Schema nodes all tools together may inline; spread over the operations so that very large APIs stay
/// bounded in memory (each tool's schemas shrink) while small APIs keep full schemas.
const TOTAL_BUDGET: usize = 1_500_000;

/// The per-tool input budget for this document.
fn input_budget(root: &Value) -> usize {
    let ops: usize = root
        .get("paths")
        .and_then(Value::as_object)
        .map(|p| {
            p.values()
                .filter_map(Value::as_object)
                .map(|item| {
                    item.keys()
                        .filter(|k| METHODS.contains(&k.as_str()))
                        .count()
                })
                .sum()
        })
        .unwrap_or(0);
    (TOTAL_BUDGET / ops.max(1)).clamp(60, 3000)
}

/// Title of the document and its operations, fed to the collector.
pub(crate) fn convert(
    root: Value,
    format: Format,
    source: &str,
    loader: &dyn DocumentLoader,
    out: &mut Collector<'_>,
) -> Result<Option<String>, ImportError> {
    let label = if format == Format::Swagger {
        "Swagger 2.0"
    } else {
        "OpenAPI"
    };
    if !root.is_object() {
        return Err(ImportError::invalid(
            label,
            "",
            "the document is not an object",
        ));
    }
    if let Some(paths) = root.get("paths")
        && !paths.is_object()
        && !paths.is_null()
    {
        return Err(ImportError::invalid(
            label,
            "/paths",
            "`paths` must be an object mapping paths to path items",
        ));
    }
    let title = root
        .pointer("/info/title")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut root = root;
    drop_example_objects(&mut root, false);
    let docs = Documents::load(root, source, loader);
    let servers = security::servers(docs.root().get("servers"));
    let api = Api {
        docs: &docs,
        servers,
        input_budget: input_budget(docs.root()),
    };
    let Some(paths) = docs.root().get("paths").and_then(Value::as_object) else {
        return Ok(title);
    };
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue;
        }
        let pointer = format!("/paths/{}", escape(path));
        let (doc, item) = match docs.deref(0, item) {
            Ok(v) => v,
            Err(e) => {
                let info = info_for(None, "ANY", path, &pointer, &Value::Null);
                out.add(info, "", &method_path_name("any", path), || {
                    Err(format!("the path item could not be resolved: {e}"))
                });
                continue;
            }
        };
        let Some(item_obj) = item.as_object() else {
            continue;
        };
        let mut ops: Vec<(String, &Value, String)> = Vec::new();
        for m in METHODS {
            if let Some(op) = item_obj.get(m) {
                ops.push((m.to_ascii_uppercase(), op, format!("{pointer}/{m}")));
            }
        }
        if let Some(Value::Object(extra)) = item_obj.get("additionalOperations") {
            for (m, op) in extra {
                ops.push((
                    m.to_ascii_uppercase(),
                    op,
                    format!("{pointer}/additionalOperations/{}", escape(m)),
                ));
            }
        }
        for (method, op, op_pointer) in ops {
            let op_id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
            let info = info_for(
                Some(op_id).filter(|s| !s.is_empty()),
                &method,
                path,
                &op_pointer,
                op,
            );
            let fallback = method_path_name(&method, path);
            out.add(info, op_id, &fallback, || {
                operation::build(&api, doc, path, &method, item, op)
            });
        }
    }
    Ok(title)
}

fn info_for(
    id: Option<&str>,
    method: &str,
    path: &str,
    pointer: &str,
    op: &Value,
) -> OperationInfo {
    OperationInfo {
        id: id.map(str::to_string),
        method: method.to_string(),
        path: path.to_string(),
        tags: op
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        summary: op
            .get("summary")
            .and_then(Value::as_str)
            .map(str::to_string),
        deprecated: op
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        pointer: pointer.to_string(),
    }
}

/// Removes what conversion never reads and large documents are full of: `components.examples` and the
/// `examples` maps of media types and parameters (schema `examples` arrays stay). Frees memory early.
fn drop_example_objects(v: &mut Value, in_names: bool) {
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
