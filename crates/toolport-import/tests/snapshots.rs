//! Snapshot tests (insta) of whole conversions: the Petstore family in every format version, a Postman
//! collection and a slice of GitHub GraphQL. Tools, plans and diagnostics are all in the snapshot.

mod common;

use serde_json::{Value, json};
use toolport_import::{ConvertOptions, Filter, RefuseLoader, Selector, convert};

/// Snapshots live in `tests/snapshots`, found from this crate's manifest directory (not from `cargo
/// metadata`, so they are found even while a sibling crate's manifest is broken).
fn assert_snapshot(name: &str, value: Value) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_json_snapshot!(format!("snapshots__{name}"), value));
}

fn snapshot_of(rel: &str, options: ConvertOptions) -> Value {
    let bytes = std::fs::read(common::specs_dir().join(rel)).unwrap_or_default();
    let conv = convert(&bytes, &options, &RefuseLoader).unwrap_or_else(|e| panic!("{rel}: {e}"));
    common::check(&conv).unwrap_or_else(|e| panic!("{rel}: {e}"));
    json!({
        "format": conv.format,
        "title": conv.title,
        "operation_count": conv.operation_count,
        "tools": conv.tools,
        "diagnostics": conv.diagnostics,
    })
}

#[test]
fn petstore_swagger_2_0() {
    assert_snapshot(
        "petstore_swagger_2_0",
        snapshot_of(
            "openapi/petstore.swagger2.0.json",
            ConvertOptions::default(),
        ),
    );
}

#[test]
fn petstore_openapi_3_0() {
    assert_snapshot(
        "petstore_openapi_3_0",
        snapshot_of("openapi/petstore.3.0.0.json", ConvertOptions::default()),
    );
}

#[test]
fn petstore_openapi_3_1() {
    assert_snapshot(
        "petstore_openapi_3_1",
        snapshot_of("openapi/petstore.3.1.0.json", ConvertOptions::default()),
    );
}

#[test]
fn petstore_openapi_3_2() {
    assert_snapshot(
        "petstore_openapi_3_2",
        snapshot_of("openapi/petstore.3.2.0.yaml", ConvertOptions::default()),
    );
}

#[test]
fn petstore_extended_swagger_2_0() {
    assert_snapshot(
        "petstore_extended_swagger_2_0",
        snapshot_of(
            "swagger2/petstore-extended.swagger2.0.json",
            ConvertOptions::default(),
        ),
    );
}

#[test]
fn postman_swagger_petstore_collection() {
    assert_snapshot(
        "postman_swagger_petstore_collection",
        snapshot_of(
            "postman/crate-postman_collection/swagger-petstore-v2.1.0.json",
            ConvertOptions::default(),
        ),
    );
}

#[test]
fn github_graphql_slice() {
    let filter = Filter {
        include: Selector {
            operations: vec![
                "viewer".into(),
                "repository".into(),
                "search".into(),
                "mutation_addComment".into(),
                "mutation_createIssue".into(),
            ],
            ..Default::default()
        },
        ..Default::default()
    };
    let mut snap = snapshot_of(
        "graphql/github.schema.graphql",
        ConvertOptions {
            filter,
            ..Default::default()
        },
    );
    // The 267 excluded root fields are counted, not listed.
    if let Some(d) = snap.get_mut("diagnostics").and_then(Value::as_array_mut) {
        d.retain(|d| d["kind"] != "excluded");
    }
    assert_snapshot("github_graphql_slice", snap);
}
