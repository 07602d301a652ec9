//! What a conversion shows to clients: the tools of its mode, and the `--json` document of `toolport convert`.

use serde_json::{Value, json};

use crate::model::{Conversion, McpTool, Mode};
use crate::modes::{dispatch, search};

/// The MCP tools to list for this conversion in its mode (every tool, or the meta-tools).
pub fn exposed_tools(conversion: &Conversion) -> Vec<McpTool> {
    match conversion.mode {
        Mode::Tools => conversion.tools.iter().map(|t| t.tool.clone()).collect(),
        Mode::Dispatch => dispatch::meta_tools(&conversion.api_name, conversion.title.as_deref()),
        Mode::Search => search::meta_tools(&conversion.api_name, conversion.title.as_deref()),
    }
}

/// `{"tools": [MCP Tool objects of the conversion's mode], "diagnostics": [...]}`.
pub fn render_json(conversion: &Conversion) -> Value {
    json!({
        "tools": exposed_tools(conversion),
        "diagnostics": conversion.diagnostics,
    })
}
