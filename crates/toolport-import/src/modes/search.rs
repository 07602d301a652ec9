//! Search mode: `{api}__search_operations` ranks operations with BM25 over names, paths, summaries,
//! descriptions and tags; `{api}__call_operation` runs the chosen one.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Operation, OperationSummary, call_tool, prefix, read_only};
use crate::model::McpTool;

/// BM25 parameters (the usual values).
const K1: f64 = 1.2;
const B: f64 = 0.5;

/// Words too common to rank by.
const STOPWORDS: [&str; 14] = [
    "a", "an", "the", "of", "to", "for", "in", "on", "by", "and", "or", "with", "is", "my",
];

/// The two meta-tools of an API in search mode.
pub fn meta_tools(api: &str, title: Option<&str>) -> Vec<McpTool> {
    let about = title.map(|t| format!(" of {t}")).unwrap_or_default();
    vec![
        McpTool {
            name: format!("{}__search_operations", prefix(api)),
            title: Some(format!("Search operations{about}")),
            description: Some(format!(
                "Finds the operations{about} that best match a description of what you want to do; returns each one's name, summary and input schema, best first."
            )),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What you want to do, in a few words."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5}
                },
                "required": ["query"]
            }).into(),
            output_schema: None,
            annotations: read_only(format!("Search operations{about}")),
        },
        call_tool(api, title),
    ]
}

/// An inverted index over a list of operations.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    postings: HashMap<String, Vec<(usize, f64)>>,
    lengths: Vec<f64>,
    avg_len: f64,
}

/// Lower-case, lightly stemmed words of `text` (split at non-alphanumerics and camelCase boundaries), stopwords dropped.
pub fn tokenize(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// Plural forms to their singular (`issues` -> `issue`, `repositories` -> `repository`).
fn stem(w: &str) -> String {
    if w.len() > 4
        && let Some(base) = w.strip_suffix("ies")
    {
        return format!("{base}y");
    }
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        return w[..w.len() - 1].to_string();
    }
    w.to_string()
}

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = c.is_lowercase() || c.is_numeric();
            cur.extend(c.to_lowercase());
        } else {
            prev_lower = false;
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl SearchIndex {
    /// Indexes every operation. Names, tags and titles weigh more than descriptions.
    pub fn new<O: Operation>(ops: &[O]) -> Self {
        let mut postings: HashMap<String, Vec<(usize, f64)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(ops.len());
        for (i, o) in ops.iter().enumerate() {
            let (tool, info) = (o.tool(), o.info());
            let mut tf: HashMap<String, f64> = HashMap::new();
            let mut len = 0.0;
            let description = crate::collect::bound(tool.description.as_deref().unwrap_or(""), 300);
            let fields: [(&str, f64); 6] = [
                (&tool.name, 3.0),
                (tool.title.as_deref().unwrap_or(""), 2.0),
                (&info.tags.join(" "), 2.0),
                (&info.path, 1.5),
                (info.summary.as_deref().unwrap_or(""), 1.0),
                (description.as_str(), 0.5),
            ];
            for (text, weight) in fields {
                for tok in tokenize(text) {
                    *tf.entry(tok).or_default() += weight;
                    len += weight;
                }
            }
            for (tok, f) in tf {
                postings.entry(tok).or_default().push((i, f));
            }
            lengths.push(len);
        }
        let avg_len = if lengths.is_empty() {
            1.0
        } else {
            (lengths.iter().sum::<f64>() / lengths.len() as f64).max(1.0)
        };
        SearchIndex {
            postings,
            lengths,
            avg_len,
        }
    }

    /// Tool indices with their BM25 scores, best first (ties in document order).
    pub fn search(&self, query: &str, limit: usize) -> Vec<(usize, f64)> {
        let n = self.lengths.len() as f64;
        let mut scores: HashMap<usize, f64> = HashMap::new();
        let mut terms = tokenize(query);
        terms.sort();
        terms.dedup();
        for term in terms {
            let Some(list) = self.postings.get(&term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in list {
                let len = self.lengths.get(doc).copied().unwrap_or(self.avg_len);
                let s = idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / self.avg_len));
                *scores.entry(doc).or_default() += s;
            }
        }
        let mut ranked: Vec<(usize, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked
    }
}

/// Answers `search_operations`: `{"results": [{name, method, path, summary, tags, score, inputSchema}]}`.
pub fn search_operations<O: Operation>(
    ops: &[O],
    index: &SearchIndex,
    query: &str,
    limit: usize,
) -> Value {
    let results: Vec<Value> = index
        .search(query, limit.clamp(1, 20))
        .into_iter()
        .filter_map(|(i, score)| {
            let o = ops.get(i)?;
            let mut v = serde_json::to_value(OperationSummary::of(o)).ok()?;
            v["score"] = json!((score * 1000.0).round() / 1000.0);
            v["inputSchema"] = o.tool().input_schema.value();
            Some(v)
        })
        .collect();
    json!({"results": results})
}
