//! Exposure modes for large APIs: `dispatch` (list/describe/call) and `search` (ranked search/call).
//! Meta-tool definitions plus the pure functions that answer them from a list of [`Operation`]s:
//! an API's converted tools ([`Conversion::tools`](crate::Conversion)), or any other tool set
//! served the same way (a gateway's virtual endpoint).

pub mod dispatch;
pub mod search;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::{ConvertedTool, McpTool, OperationInfo, ToolAnnotations};
use crate::naming::sanitize;

/// What the modes need of one operation: the tool a client calls, and where it comes from.
pub trait Operation {
    /// The MCP tool of the operation (its name is what `call_operation` takes).
    fn tool(&self) -> &McpTool;
    /// Its method, path, tags and summary, for listing and search.
    fn info(&self) -> &OperationInfo;
}

impl Operation for ConvertedTool {
    fn tool(&self) -> &McpTool {
        &self.tool
    }

    fn info(&self) -> &OperationInfo {
        &self.operation
    }
}

/// The operation named `name`.
pub fn find<'o, O: Operation>(ops: &'o [O], name: &str) -> Option<&'o O> {
    ops.iter().find(|o| o.tool().name == name)
}

/// One line of an operation listing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OperationSummary {
    /// The operation's tool name (what `call_operation` takes).
    pub name: String,
    pub method: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tags: Vec<String>,
}

impl OperationSummary {
    pub fn of<O: Operation>(o: &O) -> Self {
        let (tool, info) = (o.tool(), o.info());
        OperationSummary {
            name: tool.name.clone(),
            method: info.method.clone(),
            path: info.path.clone(),
            summary: tool.title.clone().or_else(|| info.summary.clone()),
            tags: info.tags.clone(),
        }
    }
}

/// The prefix of meta-tool names: the API name sanitised and short enough for every suffix to fit 64 characters.
pub fn prefix(api: &str) -> String {
    let mut p = sanitize(api, false);
    if p.is_empty() {
        p = "api".to_string();
    }
    p.truncate(40);
    p
}

/// `{api}__call_operation`: runs one operation by name with its arguments.
pub fn call_tool(api: &str, title: Option<&str>) -> McpTool {
    let about = title.map(|t| format!(" of {t}")).unwrap_or_default();
    McpTool {
        name: format!("{}__call_operation", prefix(api)),
        title: Some(format!("Call an operation{about}")),
        description: Some(format!(
            "Calls one operation{about} by name. Find the name and its input schema first, then pass the arguments as an object matching that schema."
        )),
        input_schema: json!({
            "type": "object",
            "properties": {
                "operation": {"type": "string", "description": "Operation name, as listed or found."},
                "arguments": {"type": "object", "description": "Arguments matching the operation's input schema.", "additionalProperties": true}
            },
            "required": ["operation"]
        }).into(),
        output_schema: None,
        annotations: ToolAnnotations {
            title: None,
            read_only_hint: Some(false),
            destructive_hint: Some(true),
            idempotent_hint: Some(false),
            open_world_hint: Some(true),
        },
    }
}

/// A call of `{api}__call_operation` resolved: the target operation and its arguments.
pub fn resolve_call<'o, O: Operation>(
    ops: &'o [O],
    arguments: &Value,
) -> Result<(&'o O, Value), String> {
    let name = arguments
        .get("operation")
        .and_then(Value::as_str)
        .ok_or("`operation` (the operation name) is required")?;
    let tool = find(ops, name).ok_or_else(|| {
        format!("no operation named `{name}`; list or search the operations to find its exact name")
    })?;
    let args = match arguments.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|e| format!("`arguments` is a string that is not a JSON object: {e}"))?,
        Some(_) => return Err("`arguments` must be an object".to_string()),
    };
    Ok((tool, args))
}

pub(crate) fn read_only(title: String) -> ToolAnnotations {
    ToolAnnotations {
        title: Some(title),
        read_only_hint: Some(true),
        destructive_hint: None,
        idempotent_hint: Some(true),
        open_world_hint: Some(false),
    }
}
