//! Conversion benchmark: GitHub REST (13 MB, 1,223 operations) and a generated 10,000-operation document,
//! each converted in its own child process so peak memory (VmHWM) is per document.
//!
//! Run: `cargo run --release -p toolport-import --example convert_bench [SPECS_DIR]`

#![allow(clippy::print_stdout)]

use std::process::Command;
use std::time::Instant;

use serde_json::{Map, Value, json};
use toolport_import::{ConvertOptions, Mode, RefuseLoader, convert};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--case") {
        let label = args.get(1).cloned().unwrap_or_default();
        let path = args.get(2).cloned().unwrap_or_default();
        run_case(&label, &path);
        return;
    }
    let specs = args
        .first()
        .cloned()
        .unwrap_or_else(|| format!("{}/../../../shared/specs", env!("CARGO_MANIFEST_DIR")));
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot find own executable: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "| document | size | operations | tools | convert time (best of 3) | peak RSS (VmHWM) | peak / size | target |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    // Documents are generated here and handed to the children as files, so a child's peak memory
    // holds the document bytes and the conversion only.
    let dir = std::env::temp_dir();
    let github = format!("{specs}/openapi/github-api.github.com.3.0.3.json");
    let generated = dir
        .join("toolport-bench-10k.json")
        .to_string_lossy()
        .into_owned();
    let chained = dir
        .join("toolport-bench-10k-chained.json")
        .to_string_lossy()
        .into_owned();
    for (path, is_chained) in [(&generated, false), (&chained, true)] {
        if let Err(e) = std::fs::write(path, generate(10_000, is_chained)) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
    let cases = [
        ("GitHub REST (OpenAPI 3.0.3)", &github, "<= 1 s"),
        ("generated (OpenAPI 3.1)", &generated, "<= 10 s"),
        (
            "generated, every model reaching every other",
            &chained,
            "<= 10 s",
        ),
    ];
    for (label, path, target) in cases {
        match Command::new(&exe).args(["--case", label, path]).output() {
            Ok(out) if out.status.success() => print!(
                "{}",
                String::from_utf8_lossy(&out.stdout).replace("TARGET", target)
            ),
            Ok(out) => eprintln!("{label} failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => eprintln!("{label} could not start: {e}"),
        }
    }
}

fn run_case(label: &str, path: &str) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(1);
        }
    };
    let options = ConvertOptions {
        mode: Some(Mode::Tools),
        ..ConvertOptions::default()
    };
    let mut best = f64::MAX;
    let mut summary = (0, 0);
    let mut hwm_first_run = 0.0;
    for run in 0..3 {
        let start = Instant::now();
        match convert(&bytes, &options, &RefuseLoader) {
            Ok(conv) => {
                best = best.min(start.elapsed().as_secs_f64());
                if run == 0 {
                    // Peak of the first conversion (later runs reuse, and fragment, the same heap).
                    hwm_first_run = vm_hwm_kib().unwrap_or(0) as f64 * 1024.0;
                }
                summary = (conv.operation_count, conv.tools.len());
            }
            Err(e) => {
                eprintln!("conversion failed: {e}");
                std::process::exit(1);
            }
        }
    }
    let hwm = hwm_first_run;
    let size = bytes.len() as f64;
    println!(
        "| {label} | {:.1} MB | {} | {} | {:.3} s | {:.0} MB | {:.1}x | TARGET, < 10x |",
        size / 1e6,
        summary.0,
        summary.1,
        best,
        hwm / 1e6,
        hwm / size
    );
}

/// Peak resident set size of this process, in KiB.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// An OpenAPI document with `ops` operations over shared, nested and recursive component schemas:
/// 300 models, each with a self-reference (a cycle), an owner from 20 user schemas, an `allOf`, and
/// `related` items pointing at the next model when `chained` (so every model reaches all others: the
/// worst case for inlining).
fn generate(ops: usize, chained: bool) -> Vec<u8> {
    let mut schemas = Map::new();
    let models = 300;
    for i in 0..models {
        schemas.insert(
            format!("Model{i}"),
            json!({
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {"type": "integer", "readOnly": true},
                    "name": {"type": "string", "description": format!("Name of model {i}")},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "status": {"type": "string", "enum": ["active", "inactive"], "nullable": true},
                    "owner": {"$ref": format!("#/components/schemas/User{}", i % 20)},
                    "related": {"type": "array", "items": if chained { json!({"$ref": format!("#/components/schemas/Model{}", (i + 1) % models)}) } else { json!({"type": "integer"}) }},
                    "parent": {"$ref": format!("#/components/schemas/Model{i}")},
                    "meta": {"allOf": [{"$ref": "#/components/schemas/Meta"}, {"type": "object", "properties": {"rev": {"type": "integer"}}}]}
                }
            }),
        );
    }
    for u in 0..20 {
        schemas.insert(format!("User{u}"), json!({"type": "object", "properties": {"login": {"type": "string"}, "id": {"type": "integer"}, "email": {"type": "string", "format": "email"}}}));
    }
    schemas.insert("Meta".into(), json!({"type": "object", "properties": {"created": {"type": "string", "format": "date-time"}}}));
    let mut paths = Map::new();
    let methods = ["get", "post", "put", "patch", "delete"];
    let mut n = 0;
    let mut p = 0;
    while n < ops {
        let mut item = Map::new();
        for m in methods {
            if n >= ops {
                break;
            }
            let model = format!("#/components/schemas/Model{}", n % models);
            let mut op = json!({
                "operationId": format!("{m}Resource{p}"),
                "summary": format!("{m} resource {p}"),
                "tags": [format!("group{}", p % 50)],
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": model}}}}}
            });
            if m != "get" && m != "delete" {
                op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": model}}}});
            }
            item.insert(m.to_string(), op);
            n += 1;
        }
        paths.insert(format!("/resources{p}/{{id}}"), Value::Object(item));
        p += 1;
    }
    let doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Generated", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": paths,
        "components": {"schemas": schemas}
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}
