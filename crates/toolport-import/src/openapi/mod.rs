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
use crate::path_items::{PathItems, drop_example_objects};
use crate::schema::Documents;
use crate::schema::docs::escape;

/// The HTTP methods a path item may hold, lower case as written in documents (`query` is OpenAPI 3.2).
const METHODS: [&str; 9] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "query",
];

/// Document-wide facts every operation needs.
#[derive(Debug)]
pub(crate) struct Api<'d> {
    pub docs: &'d Documents<'d>,
    pub servers: Vec<Server>,
    /// Schema nodes one `inputSchema` may inline before references go to `$defs` (outputs get half).
    pub input_budget: usize,
}

/// Schema nodes all tools together may inline; spread over the operations so that very large APIs stay
/// bounded in memory (each tool's schemas shrink) while small APIs keep full schemas.
const TOTAL_BUDGET: usize = 1_500_000;

/// The per-tool input budget for a document of `operations` operations.
fn input_budget(operations: usize) -> usize {
    (TOTAL_BUDGET / operations.max(1)).clamp(60, 3000)
}

/// Title of the document and its operations, fed to the collector. `paths` are the root's path items
/// when the caller kept them apart (raw JSON text); otherwise they are taken out of `root` here.
pub(crate) fn convert(
    root: Value,
    paths: PathItems<'_>,
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
    let paths = if paths.is_empty() {
        PathItems::take(&mut root)
    } else {
        paths
    };
    drop_example_objects(&mut root, false);
    let docs = Documents::load(root, paths, source, loader)?;
    let servers = security::servers(docs.root().get("servers"));
    let operations = docs.paths().count_members(&METHODS);
    out.reserve(operations);
    let api = Api {
        docs: &docs,
        servers,
        input_budget: input_budget(operations),
    };
    for entry in docs.paths().iter() {
        // Parsed for this loop turn only (a raw item's tree is dropped once its operations are tools).
        let item = docs.paths().content(entry)?;
        let path = entry.path.as_str();
        if path.starts_with("x-") {
            continue;
        }
        let pointer = format!("/paths/{}", escape(path));
        let (doc, item) = match docs.deref(0, &item) {
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
