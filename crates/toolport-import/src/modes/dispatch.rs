//! Dispatch mode: `{api}__list_operations` (query/tag filter), `{api}__describe_operation`, `{api}__call_operation`.

use serde_json::{Value, json};

use super::{Operation, OperationSummary, call_tool, find, prefix, read_only};
use crate::model::McpTool;

/// Default and largest page size of `list_operations`.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// The three meta-tools of an API in dispatch mode.
pub fn meta_tools(api: &str, title: Option<&str>) -> Vec<McpTool> {
    let p = prefix(api);
    let about = title.map(|t| format!(" of {t}")).unwrap_or_default();
    vec![
        McpTool {
            name: format!("{p}__list_operations"),
            title: Some(format!("List operations{about}")),
            description: Some(format!(
                "Lists the operations{about} (name, method, path, summary, tags). Filter with `query` (words matched in name, path and summary) and `tag`; page with `offset`/`limit`."
            )),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words that must all appear in the name, path, summary or tags."},
                    "tag": {"type": "string", "description": "Only operations with this tag."},
                    "offset": {"type": "integer", "minimum": 0, "default": 0},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
                }
            }).into(),
            output_schema: None,
            annotations: read_only(format!("List operations{about}")),
        },
        McpTool {
            name: format!("{p}__describe_operation"),
            title: Some(format!("Describe an operation{about}")),
            description: Some("Returns one operation's description and input schema, to call it with the call tool.".to_string()),
            input_schema: json!({
                "type": "object",
                "properties": {"operation": {"type": "string", "description": "Operation name from the listing."}},
                "required": ["operation"]
            }).into(),
            output_schema: None,
            annotations: read_only(format!("Describe an operation{about}")),
        },
        call_tool(api, title),
    ]
}

/// Answers `list_operations`: `{"total": N, "offset": O, "operations": [...]}`.
pub fn list_operations<O: Operation>(
    ops: &[O],
    query: Option<&str>,
    tag: Option<&str>,
    offset: usize,
    limit: usize,
) -> Value {
    let words: Vec<String> = query
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let matching: Vec<OperationSummary> = ops
        .iter()
        .filter(|o| tag.is_none_or(|tag| o.info().tags.iter().any(|x| x.eq_ignore_ascii_case(tag))))
        .filter(|o| {
            if words.is_empty() {
                return true;
            }
            let (tool, info) = (o.tool(), o.info());
            let hay = format!(
                "{} {} {} {} {}",
                tool.name,
                info.path,
                tool.title.as_deref().unwrap_or(""),
                info.summary.as_deref().unwrap_or(""),
                info.tags.join(" ")
            )
            .to_lowercase();
            words.iter().all(|w| hay.contains(w.as_str()))
        })
        .map(OperationSummary::of)
        .collect();
    let limit = limit.clamp(1, MAX_LIMIT);
    let total = matching.len();
    let page: Vec<OperationSummary> = matching.into_iter().skip(offset).take(limit).collect();
    json!({"total": total, "offset": offset, "operations": page})
}

/// Answers `describe_operation`: name, title, description, method, path, tags, inputSchema, outputSchema.
pub fn describe_operation<O: Operation>(ops: &[O], name: &str) -> Option<Value> {
    let o = find(ops, name)?;
    let (tool, info) = (o.tool(), o.info());
    let mut v = json!({
        "name": tool.name,
        "method": info.method,
        "path": info.path,
        "tags": info.tags,
        "inputSchema": tool.input_schema.value(),
    });
    if let Some(title) = &tool.title {
        v["title"] = Value::from(title.as_str());
    }
    if let Some(d) = &tool.description {
        v["description"] = Value::from(d.as_str());
    }
    if let Some(o) = &tool.output_schema {
        v["outputSchema"] = o.value();
    }
    Some(v)
}
