//! JSON documents keep their path items as raw text until each is converted; these tests hold that path
//! to what the same document gives when read as one tree (YAML): references into `#/paths`, anchors and
//! external references inside path items, and syntax errors reported at the whole document's line.

mod common;

use serde_json::{Value, json};
use toolport_import::{
    Conversion, ConvertOptions, DocumentLoader, ImportError, LoadError, convert,
};

/// Serves `pet.json` from memory.
struct PetLoader;

impl DocumentLoader for PetLoader {
    fn load(&self, location: &str) -> Result<Vec<u8>, LoadError> {
        match location {
            "pet.json" => Ok(br#"{"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}"#.to_vec()),
            other => Err(LoadError::new(format!("no document `{other}`"))),
        }
    }
}

fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Path items", "version": "1"},
        "paths": {
            "/a/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"operationId": "getA", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "$anchor": "Thing", "type": "object", "properties": {"n": {"type": "string"}}
                }}}}}}
            },
            "/b/{id}": {
                "get": {
                    "operationId": "getB",
                    "parameters": [{"$ref": "#/paths/~1a~1%7Bid%7D/parameters/0"}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#Thing"}}}}}
                },
                "post": {
                    "operationId": "postB",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "pet.json#/Pet"}}}},
                    "responses": {}
                }
            }
        },
        "components": {"schemas": {"Unused": {"type": "string"}}}
    })
}

fn convert_text(text: &str, source: &str) -> Conversion {
    let options = ConvertOptions {
        source: source.to_string(),
        ..ConvertOptions::default()
    };
    let conv = convert(text.as_bytes(), &options, &PetLoader)
        .unwrap_or_else(|e| panic!("conversion of {source} failed: {e}"));
    common::check(&conv).unwrap_or_else(|e| panic!("invariant broken: {e}"));
    conv
}

#[test]
fn references_anchors_and_external_files_inside_path_items_resolve() {
    let conv = convert_text(&document().to_string(), "api.json");
    assert!(
        conv.diagnostics.is_empty(),
        "every reference resolves: {:?}",
        conv.diagnostics
    );
    let get_b = conv.tool("getB").map(|t| t.tool.clone());
    let input = get_b.as_ref().map(|t| t.input_schema.value());
    assert_eq!(
        input.map(|i| i["properties"]["id"].clone()),
        Some(json!({"type": "integer"})),
        "the parameter `$ref` into another path item"
    );
    let output = get_b.and_then(|t| t.output_schema).map(|o| o.value());
    assert_eq!(
        output.map(|o| o["properties"]["n"].clone()),
        Some(json!({"type": "string"})),
        "the `$anchor` defined inside another path item"
    );
    let post_b = conv.tool("postB").map(|t| t.tool.input_schema.value());
    assert_eq!(
        post_b.map(|i| i["required"].clone()),
        Some(json!(["id", "name"])),
        "the external `pet.json` body, spread into the input"
    );
}

#[test]
fn json_and_yaml_of_one_document_convert_alike() {
    let doc = document();
    let yaml = serde_norway::to_string(&doc).unwrap_or_default();
    let from_json = convert_text(&doc.to_string(), "api.json");
    let from_yaml = convert_text(&yaml, "api.yaml");
    assert_eq!(
        serde_json::to_value(&from_json).ok(),
        serde_json::to_value(&from_yaml).ok()
    );
}

#[test]
fn a_syntax_error_inside_a_path_item_is_reported_at_its_line_in_the_document() {
    let pretty = serde_json::to_string_pretty(&document()).unwrap_or_default();
    // A number out of range passes a syntax scan of the item but not its parse.
    let text = pretty.replacen("\"integer\"", "1e400", 1);
    let expected = serde_json::from_str::<Value>(&text)
        .err()
        .map(|e| (e.line(), e.column()));
    assert!(
        expected.is_some_and(|(line, _)| line > 5),
        "the broken number is deep in the document: {expected:?}"
    );
    match convert(text.as_bytes(), &ConvertOptions::default(), &PetLoader) {
        Err(ImportError::InvalidJson { line, column, .. }) => {
            assert_eq!(Some((line, column)), expected)
        }
        other => panic!(
            "expected invalid JSON, got {:?}",
            other.map(|c| c.tools.len())
        ),
    }
}

#[test]
fn an_invalid_extension_under_paths_fails_the_document_as_before() {
    let mut doc = document();
    doc["paths"]["x-extension"] = json!({"n": "NUMBER"});
    let text = doc.to_string().replace("\"NUMBER\"", "-1e999");
    let err = convert(text.as_bytes(), &ConvertOptions::default(), &PetLoader)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("invalid JSON"), "{err}");
}
