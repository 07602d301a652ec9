//! Include/exclude filters by tag, operation id or tool name, path glob (`/repos/**`) and HTTP method.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::error::ImportError;
use crate::model::OperationInfo;

/// Operations to keep: those matching `include` (when it names anything) and not matching `exclude`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Filter {
    #[serde(default)]
    pub include: Selector,
    #[serde(default)]
    pub exclude: Selector,
}

/// Matches an operation when any of its lists matches (an empty selector matches nothing).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Selector {
    /// Tags (Postman: folder names), compared case-insensitively.
    #[serde(default)]
    pub tags: Vec<String>,
    /// operationIds or generated tool names, exact.
    #[serde(default)]
    pub operations: Vec<String>,
    /// Path globs: `*` stays within one segment, `**` spans segments (`/repos/**`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// HTTP methods, case-insensitive (`query`/`mutation` for GraphQL).
    #[serde(default)]
    pub methods: Vec<String>,
}

impl Selector {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
            && self.operations.is_empty()
            && self.paths.is_empty()
            && self.methods.is_empty()
    }
}

/// A filter with its globs compiled.
#[derive(Debug)]
pub struct CompiledFilter {
    include: Option<CompiledSelector>,
    exclude: Option<CompiledSelector>,
}

#[derive(Debug)]
struct CompiledSelector {
    selector: Selector,
    globs: GlobSet,
}

impl CompiledSelector {
    fn new(selector: &Selector) -> Result<Option<Self>, ImportError> {
        if selector.is_empty() {
            return Ok(None);
        }
        let mut b = GlobSetBuilder::new();
        for p in &selector.paths {
            let glob = GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map_err(|e| ImportError::InvalidGlob {
                    glob: p.clone(),
                    message: e.kind().to_string(),
                })?;
            b.add(glob);
        }
        let globs = b.build().map_err(|e| ImportError::InvalidGlob {
            glob: selector.paths.join(", "),
            message: e.to_string(),
        })?;
        Ok(Some(CompiledSelector {
            selector: selector.clone(),
            globs,
        }))
    }

    fn matches(&self, op: &OperationInfo, name: &str) -> bool {
        let s = &self.selector;
        s.tags
            .iter()
            .any(|t| op.tags.iter().any(|o| o.eq_ignore_ascii_case(t)))
            || s.operations
                .iter()
                .any(|o| o == name || op.id.as_deref() == Some(o.as_str()))
            || s.methods.iter().any(|m| m.eq_ignore_ascii_case(&op.method))
            || (!s.paths.is_empty() && self.globs.is_match(&op.path))
    }
}

impl CompiledFilter {
    pub fn new(filter: &Filter) -> Result<Self, ImportError> {
        Ok(CompiledFilter {
            include: CompiledSelector::new(&filter.include)?,
            exclude: CompiledSelector::new(&filter.exclude)?,
        })
    }

    /// `None` when kept, otherwise why it was left out.
    pub fn rejects(&self, op: &OperationInfo, name: &str) -> Option<&'static str> {
        if let Some(inc) = &self.include
            && !inc.matches(op, name)
        {
            return Some("not matched by the include filter");
        }
        if let Some(exc) = &self.exclude
            && exc.matches(op, name)
        {
            return Some("matched by the exclude filter");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: &str, path: &str, tags: &[&str]) -> OperationInfo {
        OperationInfo {
            id: Some("opId".into()),
            method: method.into(),
            path: path.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            summary: None,
            deprecated: false,
            pointer: String::new(),
        }
    }

    #[test]
    fn globs_tags_methods_and_names() {
        let f = Filter {
            include: Selector {
                paths: vec!["/repos/**".into()],
                ..Default::default()
            },
            exclude: Selector {
                methods: vec!["delete".into()],
                tags: vec!["Admin".into()],
                ..Default::default()
            },
        };
        let c = CompiledFilter::new(&f).ok();
        let c = c.as_ref();
        let rejects = |o: &OperationInfo| c.and_then(|c| c.rejects(o, "n"));
        assert_eq!(rejects(&op("GET", "/repos/{owner}/{repo}", &[])), None);
        assert!(rejects(&op("GET", "/users/{u}", &[])).is_some());
        assert!(rejects(&op("DELETE", "/repos/{owner}/{repo}", &[])).is_some());
        assert!(rejects(&op("GET", "/repos/x", &["admin"])).is_some());
        let by_name = Filter {
            include: Selector {
                operations: vec!["n".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            CompiledFilter::new(&by_name)
                .ok()
                .and_then(|c| c.rejects(&op("GET", "/x", &[]), "n")),
            None
        );
        assert!(
            CompiledFilter::new(&Filter {
                include: Selector {
                    paths: vec!["/a/{".into()],
                    ..Default::default()
                },
                ..Default::default()
            })
            .is_err()
        );
    }
}
