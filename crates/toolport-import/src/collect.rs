//! The shared end of every format: names each operation, applies the filter, and files it as a tool or a diagnostic.

use serde_json::Value;

use crate::filter::CompiledFilter;
use crate::model::{
    ConvertedTool, Diagnostic, DiagnosticKind, ExecutionPlan, McpTool, OperationInfo,
    ToolAnnotations,
};
use crate::naming::Namer;
use crate::shared_texts::SharedTexts;

/// Longest `title`, in characters.
pub const MAX_TITLE: usize = 120;
/// Longest `description`, in characters.
pub const MAX_DESCRIPTION: usize = 1024;

/// A converted operation before it gets its name.
#[derive(Debug)]
pub struct Draft {
    pub title: Option<String>,
    pub description: Option<String>,
    pub input_schema: Value,
    pub output_schema: Option<Value>,
    pub annotations: ToolAnnotations,
    pub plan: ExecutionPlan,
    /// Parts of the operation that were dropped or approximated.
    pub warnings: Vec<String>,
}

/// Collects tools and diagnostics so that together they account for every operation.
#[derive(Debug)]
pub struct Collector<'f> {
    namer: Namer,
    filter: &'f CompiledFilter,
    schemas: SharedTexts,
    pub tools: Vec<ConvertedTool>,
    pub diagnostics: Vec<Diagnostic>,
    pub operation_count: usize,
}

impl<'f> Collector<'f> {
    pub fn new(filter: &'f CompiledFilter) -> Self {
        Collector {
            namer: Namer::tools(),
            filter,
            schemas: SharedTexts::default(),
            tools: Vec::new(),
            diagnostics: Vec::new(),
            operation_count: 0,
        }
    }

    /// Makes room for `operations` more tools (the tool list is the largest part of a conversion of a
    /// large API; growing it by doubling would leave up to half of it unused).
    pub fn reserve(&mut self, operations: usize) {
        self.tools.reserve_exact(operations);
    }

    /// Records one operation. `preferred` is the name wanted (operationId), `fallback` is used when it is empty
    /// after sanitising. `build` runs only for operations the filter keeps.
    pub fn add(
        &mut self,
        info: OperationInfo,
        preferred: &str,
        fallback: &str,
        build: impl FnOnce() -> Result<Draft, String>,
    ) {
        self.operation_count += 1;
        let name = self.namer.claim(preferred, fallback);
        let label = format!("{} {}", info.method, info.path);
        if let Some(why) = self.filter.rejects(&info, &name) {
            self.diagnostics.push(Diagnostic {
                kind: DiagnosticKind::Excluded,
                operation: label,
                pointer: info.pointer,
                message: why.to_string(),
            });
            return;
        }
        match build() {
            Ok(draft) => {
                for w in draft.warnings {
                    self.diagnostics.push(Diagnostic {
                        kind: DiagnosticKind::Warning,
                        operation: label.clone(),
                        pointer: info.pointer.clone(),
                        message: w,
                    });
                }
                let tool = McpTool {
                    name,
                    title: draft.title,
                    description: draft.description,
                    input_schema: self.schemas.json(&draft.input_schema),
                    output_schema: draft.output_schema.as_ref().map(|o| self.schemas.json(o)),
                    annotations: draft.annotations,
                };
                self.tools.push(ConvertedTool {
                    tool,
                    plan: draft.plan,
                    operation: info,
                });
            }
            Err(why) => self.diagnostics.push(Diagnostic {
                kind: DiagnosticKind::Skipped,
                operation: label,
                pointer: info.pointer,
                message: why,
            }),
        }
    }
}

/// Cuts `s` to at most `max` characters (on a character boundary), marking the cut with `…`.
pub fn bound(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => format!("{}…", s[..i].trim_end()),
        _ => s.to_string(),
    }
}

/// Title and description from an operation's summary and description.
pub fn title_and_description(
    summary: Option<&str>,
    description: Option<&str>,
) -> (Option<String>, Option<String>) {
    let summary = summary.map(str::trim).filter(|s| !s.is_empty());
    let description = description.map(str::trim).filter(|s| !s.is_empty());
    let title = summary.map(|s| bound(s.lines().next().unwrap_or(s), MAX_TITLE));
    let text = match (summary, description) {
        (Some(s), Some(d)) if d.starts_with(s) => d.to_string(),
        (Some(s), Some(d)) => format!("{s}\n\n{d}"),
        (Some(s), None) => s.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => return (title, None),
    };
    (title, Some(bound(&text, MAX_DESCRIPTION)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_on_char_boundaries() {
        assert_eq!(bound("héllo wörld", 5), "héll…");
        assert_eq!(bound("short", 10), "short");
        let (t, d) = title_and_description(Some("List pets"), Some("Lists all pets."));
        assert_eq!(t.as_deref(), Some("List pets"));
        assert_eq!(d.as_deref(), Some("List pets\n\nLists all pets."));
    }
}
