//! OpenAPI/Swagger conversion rules on small documents written for each rule: names, parameters,
//! bodies, references, servers, security, annotations, filters and the traps of real documents.

mod common;

use serde_json::{Value, json};
use toolport_import::{
    BodyBinding, Conversion, ConvertOptions, DiagnosticKind, ExecutionPlan, Filter, HttpPlan,
    ParamLocation, ParamStyle, RefuseLoader, SecurityScheme, Selector, convert,
};

fn run(doc: Value) -> Conversion {
    run_with(doc, ConvertOptions::default())
}

fn run_with(doc: Value, options: ConvertOptions) -> Conversion {
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    let conv = convert(&bytes, &options, &RefuseLoader)
        .unwrap_or_else(|e| panic!("conversion failed: {e}"));
    common::check(&conv).unwrap_or_else(|e| panic!("invariant broken: {e}"));
    conv
}

fn http(conv: &Conversion, name: &str) -> HttpPlan {
    match conv.tool(name).map(|t| &t.plan) {
        Some(ExecutionPlan::Http(p)) => p.clone(),
        other => panic!("no HTTP tool `{name}`: {other:?}"),
    }
}

fn oas(paths: Value) -> Value {
    json!({"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths})
}

#[test]
fn names_are_sanitised_unique_and_bounded() {
    let long = "x".repeat(100);
    let conv = run(oas(json!({
        "/a": {"get": {"operationId": "repos/get-content", "responses": {}}, "post": {"operationId": "repos/get-content", "responses": {}}},
        "/b/{id}": {"get": {"responses": {}}, "delete": {"operationId": long, "responses": {}}},
    })));
    let names: Vec<&str> = conv.tools.iter().map(|t| t.tool.name.as_str()).collect();
    assert_eq!(
        names[..3],
        ["repos_get-content", "repos_get-content_2", "get_b_id"]
    );
    assert!(
        names[3].starts_with("xxxx") && names[3].len() == 64,
        "{}",
        names[3]
    );
    let again = run(oas(
        json!({"/b/{id}": {"delete": {"operationId": "x".repeat(100), "responses": {}}}}),
    ));
    assert_eq!(
        again.tools[0].tool.name, names[3],
        "names must be deterministic"
    );
}

#[test]
fn parameters_collide_into_distinct_properties_with_styles() {
    let conv = run(oas(json!({"/items/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "get": {"operationId": "getItem", "parameters": [
            {"name": "id", "in": "query", "schema": {"type": "string"}},
            {"name": "X-Trace", "in": "header", "required": true, "schema": {"type": "string"}},
            {"name": "filter", "in": "query", "style": "deepObject", "explode": true, "schema": {"type": "object"}},
            {"name": "tags", "in": "query", "style": "pipeDelimited", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "session", "in": "cookie", "schema": {"type": "string"}},
            {"name": "Accept", "in": "header", "schema": {"type": "string"}}
        ], "responses": {}}
    }})));
    let t = conv
        .tool("getItem")
        .map(|t| t.tool.input_schema.value())
        .unwrap_or_default();
    let props: Vec<&String> = t["properties"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        props,
        ["id", "query_id", "filter", "tags", "X-Trace", "session"]
    );
    assert_eq!(t["required"], json!(["id", "X-Trace"]));
    let plan = http(&conv, "getItem");
    let by = |p: &str| {
        plan.parameters
            .iter()
            .find(|b| b.property == p)
            .cloned()
            .unwrap_or_else(|| panic!("no binding {p}"))
    };
    assert_eq!(
        (by("query_id").name.as_str(), by("query_id").location),
        ("id", ParamLocation::Query)
    );
    assert_eq!(
        (by("filter").style, by("filter").explode),
        (ParamStyle::DeepObject, true)
    );
    assert_eq!(
        (by("tags").style, by("tags").explode),
        (ParamStyle::PipeDelimited, false)
    );
    assert_eq!(by("session").location, ParamLocation::Cookie);
    assert_eq!(
        (by("id").style, by("id").location),
        (ParamStyle::Simple, ParamLocation::Path)
    );
}

#[test]
fn bodies_spread_when_unambiguous_and_drop_read_only() {
    let pet = json!({"type": "object", "required": ["name"], "properties": {"id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}, "tag": {"type": "string", "nullable": true}}});
    let mut doc = oas(json!({
        "/pets": {"post": {"operationId": "addPet", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
            "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}}},
        "/pets/{name}": {"put": {"operationId": "putPet", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}, "responses": {}}}
    }));
    doc["components"] = json!({"schemas": {"Pet": pet}});
    let conv = run(doc);
    let add = conv
        .tool("addPet")
        .map(|t| t.tool.clone())
        .unwrap_or_else(|| panic!("addPet"));
    assert_eq!(
        add.input_schema.value()["properties"],
        json!({"name": {"type": "string"}, "tag": {"type": ["string", "null"]}})
    );
    assert_eq!(add.input_schema.value()["required"], json!(["name"]));
    assert!(
        add.output_schema
            .as_ref()
            .is_some_and(|o| o.value()["properties"]["id"]["readOnly"] == json!(true)),
        "outputs keep readOnly fields"
    );
    match http(&conv, "addPet").body.map(|b| b.binding) {
        Some(BodyBinding::Spread { fields }) => assert_eq!(
            fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            ["name", "tag"]
        ),
        other => panic!("expected a spread body, got {other:?}"),
    }
    // `name` is also a path parameter: spreading would be ambiguous, so the body stays whole.
    let put = conv
        .tool("putPet")
        .map(|t| t.tool.input_schema.value())
        .unwrap_or_default();
    assert_eq!(put["required"], json!(["name", "body"]));
    assert!(
        matches!(http(&conv, "putPet").body.map(|b| b.binding), Some(BodyBinding::Property { property }) if property == "body")
    );
    assert_eq!(
        conv.tool("putPet")
            .and_then(|t| t.tool.annotations.idempotent_hint),
        Some(true)
    );
}

#[test]
fn circular_refs_property_named_ref_and_example_refs() {
    let mut doc = oas(json!({"/nodes": {"post": {"operationId": "addNode",
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}, "responses": {}}}}));
    doc["components"] = json!({"schemas": {
        "Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}, "member": {"$ref": "#/components/schemas/Member"}}},
        "Member": {"type": "object", "properties": {"$ref": {"type": "string", "description": "SCIM reference URI"}, "value": {"type": "string"}},
            "example": {"$ref": "#/components/schemas/Nowhere", "value": "1"}}
    }});
    let conv = run(doc);
    let s = conv
        .tool("addNode")
        .map(|t| t.tool.input_schema.value())
        .unwrap_or_default();
    // The body is spread (its fields are unambiguous); the cycle stays a `$defs` entry.
    assert_eq!(s["properties"]["children"]["items"]["$ref"], "#/$defs/Node");
    assert_eq!(
        s["$defs"]["Node"]["properties"]["children"]["items"]["$ref"],
        "#/$defs/Node"
    );
    let member = &s["properties"]["member"];
    assert_eq!(member["properties"]["$ref"]["type"], "string");
    assert_eq!(member["example"]["$ref"], "#/components/schemas/Nowhere");
    assert!(conv.diagnostics.is_empty(), "{:?}", conv.diagnostics);
}

#[test]
fn servers_security_and_annotations() {
    let mut doc = oas(json!({
        "/a": {"servers": [{"url": "https://{region}.api.example.com/v1", "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}}}],
            "get": {"operationId": "a", "responses": {}},
            "delete": {"operationId": "d", "servers": [{"url": "https://admin.example.com"}], "security": [{"cc": ["write"]}], "responses": {}}},
        "/b": {"head": {"operationId": "b", "security": [], "responses": {}}}
    }));
    doc["servers"] = json!([{"url": "https://api.example.com"}]);
    doc["security"] = json!([{"key": []}, {"bearer": []}]);
    doc["components"] = json!({"securitySchemes": {
        "key": {"type": "apiKey", "name": "X-Key", "in": "query"},
        "bearer": {"type": "http", "scheme": "Bearer"},
        "cc": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth.example.com/token", "scopes": {"write": "w"}}}}
    }});
    let conv = run(doc);
    let a = http(&conv, "a");
    assert_eq!(a.servers[0].url, "https://{region}.api.example.com/v1");
    assert_eq!(a.servers[0].variables["region"].default, "eu");
    assert_eq!(a.security.len(), 2);
    assert_eq!(
        a.security_schemes["key"],
        SecurityScheme::ApiKey {
            name: "X-Key".into(),
            location: ParamLocation::Query
        }
    );
    assert!(
        matches!(&a.security_schemes["bearer"], SecurityScheme::Http { scheme, .. } if scheme == "bearer")
    );
    let d = http(&conv, "d");
    assert_eq!(d.servers[0].url, "https://admin.example.com");
    assert!(
        matches!(&d.security_schemes["cc"], SecurityScheme::OAuth2 { client_credentials: Some(f), .. } if f.token_url == "https://auth.example.com/token")
    );
    assert!(http(&conv, "b").security.is_empty());
    let ann = |n: &str| {
        conv.tool(n)
            .map(|t| t.tool.annotations.clone())
            .unwrap_or_default()
    };
    assert_eq!(ann("a").read_only_hint, Some(true));
    assert_eq!(ann("b").read_only_hint, Some(true));
    assert_eq!(ann("d").destructive_hint, Some(true));
}

#[test]
fn swagger_form_data_and_body_are_translated() {
    let doc = json!({"swagger": "2.0", "info": {"title": "S", "version": "1"}, "host": "h.example.com", "basePath": "/api", "schemes": ["http"],
        "paths": {"/upload": {"post": {"operationId": "upload", "consumes": ["multipart/form-data"], "parameters": [
            {"name": "file", "in": "formData", "type": "file", "required": true},
            {"name": "note", "in": "formData", "type": "string", "x-nullable": true},
            {"name": "ids", "in": "query", "type": "array", "items": {"type": "integer"}, "collectionFormat": "multi"}
        ], "responses": {"200": {"description": "ok", "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}}},
        "/json": {"put": {"operationId": "putJson", "parameters": [{"name": "payload", "in": "body", "required": true, "schema": {"$ref": "#/definitions/P"}}], "responses": {}}}},
        "definitions": {"P": {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}}}}
    });
    let conv = run(doc);
    let up = http(&conv, "upload");
    assert_eq!(up.servers[0].url, "http://h.example.com/api");
    let body = up.body.unwrap_or_else(|| panic!("upload has a body"));
    assert_eq!(body.content_type, "multipart/form-data");
    assert_eq!(body.binary_fields, ["file"]);
    let s = conv
        .tool("upload")
        .map(|t| t.tool.input_schema.value())
        .unwrap_or_default();
    assert_eq!(
        s["properties"]["file"],
        json!({"type": "string", "format": "binary", "contentEncoding": "base64"})
    );
    assert_eq!(s["properties"]["note"]["type"], json!(["string", "null"]));
    assert_eq!(s["required"], json!(["file"]));
    assert!(
        up.parameters
            .iter()
            .any(|p| p.name == "ids" && p.explode && p.style == ParamStyle::Form)
    );
    assert!(
        conv.tool("upload")
            .is_some_and(|t| t.tool.output_schema.is_some())
    );
    let pj = conv
        .tool("putJson")
        .map(|t| t.tool.input_schema.value())
        .unwrap_or_default();
    assert_eq!(
        pj["properties"]["a"],
        json!({"type": "integer", "exclusiveMinimum": 0})
    );
}

#[test]
fn filters_exclude_operations_but_account_for_them() {
    let doc = oas(json!({
        "/repos/{o}/{r}": {"get": {"operationId": "getRepo", "tags": ["repos"], "responses": {}}, "delete": {"operationId": "deleteRepo", "tags": ["repos"], "responses": {}}},
        "/users/{u}": {"get": {"operationId": "getUser", "tags": ["users"], "responses": {}}}
    }));
    let filter = Filter {
        include: Selector {
            paths: vec!["/repos/**".into()],
            ..Default::default()
        },
        exclude: Selector {
            methods: vec!["delete".into()],
            ..Default::default()
        },
    };
    let conv = run_with(
        doc.clone(),
        ConvertOptions {
            filter,
            ..Default::default()
        },
    );
    assert_eq!(
        conv.tools
            .iter()
            .map(|t| t.tool.name.as_str())
            .collect::<Vec<_>>(),
        ["getRepo"]
    );
    assert_eq!(
        conv.diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Excluded)
            .count(),
        2
    );
    let by_tag = Filter {
        include: Selector {
            tags: vec!["USERS".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let conv = run_with(
        doc,
        ConvertOptions {
            filter: by_tag,
            ..Default::default()
        },
    );
    assert_eq!(conv.tools.len(), 1);
}

#[test]
fn broken_operations_become_diagnostics_and_webhooks_are_not_tools() {
    let mut doc = oas(json!({
        "/ok": {"get": {"operationId": "ok", "responses": {}, "callbacks": {"cb": {"{$request.body#/url}": {"post": {"responses": {}}}}}}},
        "/bad": {"get": {"operationId": "bad", "parameters": [{"$ref": "#/components/parameters/Missing"}], "responses": {}}},
        "/ext": {"get": {"operationId": "ext", "requestBody": {"content": {"application/json": {"schema": {"$ref": "other.yaml#/Thing"}}}}, "responses": {}}}
    }));
    doc["webhooks"] = json!({"newPet": {"post": {"responses": {}}}});
    let conv = run(doc);
    assert_eq!(conv.operation_count, 3);
    assert_eq!(conv.tools.len(), 2);
    let skipped: Vec<_> = conv
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0]
            .message
            .contains("#/components/parameters/Missing"),
        "{}",
        skipped[0].message
    );
    assert_eq!(skipped[0].pointer, "/paths/~1bad/get");
    let warn = conv
        .diagnostics
        .iter()
        .find(|d| d.kind == DiagnosticKind::Warning)
        .map(|d| d.message.clone())
        .unwrap_or_default();
    assert!(
        warn.contains("other.yaml") && warn.contains("no document loader"),
        "{warn}"
    );
}

#[test]
fn external_refs_resolve_through_the_loader() {
    let dir =
        common::specs_dir().join("tricky/datamodel-code-generator-openapi/paths_external_ref");
    let path = dir.join("openapi.yaml");
    let bytes = std::fs::read(&path).unwrap_or_default();
    let options = ConvertOptions {
        source: path.to_string_lossy().into_owned(),
        ..Default::default()
    };
    let with_fs = convert(&bytes, &options, &common::FsLoader).unwrap_or_else(|e| panic!("{e}"));
    let refused = convert(&bytes, &options, &RefuseLoader).unwrap_or_else(|e| panic!("{e}"));
    let warnings = |c: &Conversion| {
        c.diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Warning)
            .count()
    };
    common::check(&with_fs).unwrap_or_else(|e| panic!("{e}"));
    let body = with_fs
        .tool("createCat")
        .map(|t| t.tool.input_schema.value())
        .unwrap_or_default();
    assert!(
        body["properties"]
            .as_object()
            .is_some_and(|p| !p.is_empty() && !p.contains_key("$ref")),
        "the external Cat schema is inlined: {body}"
    );
    assert_eq!(warnings(&with_fs), 0, "{:?}", with_fs.diagnostics);
    assert!(
        warnings(&refused) > 0,
        "the refusing loader must leave a trace"
    );
}
