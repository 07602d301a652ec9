//! Shared helpers of the integration tests: where the specs are, a filesystem loader, and the invariants every conversion must keep.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use toolport_import::{Conversion, DiagnosticKind, DocumentLoader, LoadError, is_valid_tool_name};

/// `TOOLPORT_SPECS_DIR`, else `<repo>/../shared/specs`. Panics (fails the test) when the folder is missing.
pub fn specs_dir() -> PathBuf {
    let dir = match std::env::var_os("TOOLPORT_SPECS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs"),
    };
    assert!(
        dir.join("MANIFEST.tsv").is_file(),
        "the API descriptions corpus is missing at {} (expected MANIFEST.tsv there); clone the project so that shared/ sits next to the repository, or set TOOLPORT_SPECS_DIR",
        dir.display()
    );
    dir
}

/// Reads external `$ref` targets from disk; refuses URLs (tests run without network).
pub struct FsLoader;

impl DocumentLoader for FsLoader {
    fn load(&self, location: &str) -> Result<Vec<u8>, LoadError> {
        if location.contains("://") {
            return Err(LoadError::new(format!(
                "remote reference `{location}` not fetched in tests"
            )));
        }
        std::fs::read(location)
            .map_err(|e| LoadError::new(format!("cannot read `{location}`: {e}")))
    }
}

/// Every file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Checks the invariants of a conversion; returns a description of the first violation.
pub fn check(conv: &Conversion) -> Result<(), String> {
    let accounted = conv.tools.len()
        + conv
            .diagnostics
            .iter()
            .filter(|d| matches!(d.kind, DiagnosticKind::Skipped | DiagnosticKind::Excluded))
            .count();
    if accounted != conv.operation_count {
        return Err(format!(
            "{} tools + skipped/excluded diagnostics = {accounted}, but {} operations",
            conv.tools.len(),
            conv.operation_count
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for t in &conv.tools {
        let name = &t.tool.name;
        if !is_valid_tool_name(name) {
            return Err(format!("invalid tool name `{name}`"));
        }
        if !seen.insert(name.clone()) {
            return Err(format!("duplicate tool name `{name}`"));
        }
        let input = t.tool.input_schema.value();
        check_schema(&input).map_err(|e| format!("{name}: inputSchema: {e}"))?;
        if input.get("type") != Some(&Value::from("object")) {
            return Err(format!("{name}: inputSchema is not of type object"));
        }
        for key in input
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            if key.is_empty()
                || key.len() > 64
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            {
                return Err(format!(
                    "{name}: input property `{key}` does not match ^[a-zA-Z0-9_.-]{{1,64}}$"
                ));
            }
        }
        if let Some(o) = &t.tool.output_schema {
            check_schema(&o.value()).map_err(|e| format!("{name}: outputSchema: {e}"))?;
        }
        let plan = serde_json::to_value(&t.plan).map_err(|e| e.to_string())?;
        let back: toolport_import::ExecutionPlan = serde_json::from_value(plan)
            .map_err(|e| format!("{name}: plan does not round-trip: {e}"))?;
        if back != t.plan {
            return Err(format!("{name}: plan changed through serialisation"));
        }
    }
    Ok(())
}

/// Valid against the 2020-12 meta-schema, and every local `$ref` resolves inside the schema.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
        return Err(format!(
            "not valid JSON Schema 2020-12: {e} at {}",
            e.instance_path()
        ));
    }
    let mut refs = Vec::new();
    collect_refs(schema, &mut refs);
    for r in refs {
        let Some(ptr) = r.strip_prefix('#') else {
            return Err(format!("non-local $ref `{r}`"));
        };
        if schema.pointer(ptr).is_none() {
            return Err(format!("dangling $ref `{r}`"));
        }
    }
    Ok(())
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                match k.as_str() {
                    "$ref" if c.is_string() => out.push(c.as_str().unwrap_or_default().to_string()),
                    "example" | "examples" | "default" | "enum" | "const" => {}
                    _ if k.starts_with("x-") => {}
                    "properties" | "patternProperties" | "$defs" | "definitions"
                    | "dependentSchemas" => {
                        for s in c.as_object().into_iter().flatten().map(|(_, s)| s) {
                            collect_refs(s, out);
                        }
                    }
                    _ => collect_refs(c, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}
