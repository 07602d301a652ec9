//! Every tool of real descriptions called against a local server, with no arguments and with arguments
//! made from its input schema: each call ends in a `CallToolResult` (never a panic or a protocol error).

mod support;

use serde_json::{Map, Value, json};
use support::{Recorder, Reply, client};
use toolport_upstream::api::{ApiBackend, ApiConfig, SpecSource};

const SPECS: &[&str] = &[
    "openapi/petstore.3.1.0.json",
    "openapi/petstore.3.2.0.yaml",
    "openapi/scalar-galaxy.3.1.1.yaml",
    "openapi/train-travel.3.1.0.json",
    "openapi/docker.openapiv3-crate.3.0.0.yaml",
    "openapi/twilio.openapiv3-crate.3.0.0.json",
    "postman/postman-echo.v2.1.json",
    "postman/kmk-blog.v2.1.json",
];

/// A value of the schema's type (enough to exercise every serialiser).
fn sample(schema: &Value, depth: usize) -> Value {
    if let Some(v) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return v.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    };
    match ty {
        "integer" => json!(3),
        "number" => json!(2.5),
        "boolean" => json!(true),
        "array" if depth < 3 => json!([
            sample(schema.get("items").unwrap_or(&Value::Null), depth + 1),
            "é/ &"
        ]),
        "object" if depth < 3 => {
            let mut m = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, s) in props.iter().take(8) {
                    m.insert(k.clone(), sample(s, depth + 1));
                }
            }
            Value::Object(m)
        }
        _ if schema.get("format").and_then(Value::as_str) == Some("binary") => json!("aGVsbG8="),
        _ => json!("a b/é?#&"),
    }
}

#[tokio::test]
async fn every_tool_of_real_descriptions_yields_a_result() {
    let server = Recorder::start(|r| {
        if r.path.ends_with("/empty") {
            Reply::bytes(204, "text/plain", Vec::new())
        } else {
            Reply::json(json!({"ok": true}))
        }
    })
    .await;
    let mut calls = 0;
    for spec in SPECS {
        let mut config = ApiConfig::new(SpecSource::Location(support::spec_path(spec)));
        config.base_url = Some(server.url("/base"));
        config.mode = Some(toolport_import::Mode::Tools);
        let b = ApiBackend::load("corpus", config, client())
            .await
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert!(!b.conversion().tools.is_empty(), "{spec}");
        for t in &b.conversion().tools {
            let schema = t.tool.input_schema.value();
            for args in [json!({}), sample(&schema, 0)] {
                let r = b
                    .call(&t.tool.name, args.clone())
                    .await
                    .unwrap_or_else(|e| panic!("{spec} {}: {e}", t.tool.name));
                assert!(
                    r["content"].is_array(),
                    "{spec} {} {args}: {r}",
                    t.tool.name
                );
                calls += 1;
            }
        }
    }
    let sent = server.requests();
    assert!(calls > 200, "{calls} calls");
    assert!(
        sent.len() > calls / 3,
        "{} requests for {calls} calls",
        sent.len()
    );
    assert!(sent.iter().all(|r| r.path.starts_with("/base")));
}
