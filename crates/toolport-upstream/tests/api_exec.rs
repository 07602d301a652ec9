//! API tools executed against a local recording server: every parameter location and style, every
//! body type, server selection, and the calls of the dispatch and search modes.

mod support;

use serde_json::{Value, json};
use support::{Recorder, Reply, backend, is_error, text};
use toolport_import::{ExecutionPlan, Mode};
use toolport_upstream::api::{ApiBackend, ApiConfig, SpecSource};

fn styles_spec() -> String {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Styles", "version": "1"},
        "servers": [{"url": "https://unused.example/"}],
        "paths": {
            "/items/{id}/{lab}/{mat}": {"get": {
                "operationId": "getItem",
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "lab", "in": "path", "required": true, "style": "label", "explode": true,
                     "schema": {"type": "array", "items": {"type": "integer"}}},
                    {"name": "mat", "in": "path", "required": true, "style": "matrix",
                     "schema": {"type": "object"}},
                    {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                    {"name": "ids", "in": "query", "explode": false,
                     "schema": {"type": "array", "items": {"type": "integer"}}},
                    {"name": "sp", "in": "query", "style": "spaceDelimited", "explode": false,
                     "schema": {"type": "array", "items": {"type": "string"}}},
                    {"name": "pp", "in": "query", "style": "pipeDelimited", "explode": false,
                     "schema": {"type": "array", "items": {"type": "string"}}},
                    {"name": "filter", "in": "query", "style": "deepObject", "explode": true,
                     "schema": {"type": "object"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "raw", "in": "query", "allowReserved": true, "schema": {"type": "string"}},
                    {"name": "obj", "in": "query", "schema": {"type": "object"}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                    {"name": "session", "in": "cookie", "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "ok"}}
            }},
            "/json": {"post": {"operationId": "postJson",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}}}},
                "responses": {"200": {"description": "ok"}}}},
            "/form": {"post": {"operationId": "postForm",
                "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}}}}}},
                "responses": {"200": {"description": "ok"}}}},
            "/upload": {"post": {"operationId": "upload",
                "requestBody": {"content": {"multipart/form-data": {"schema": {
                    "type": "object", "properties": {"title": {"type": "string"},
                    "file": {"type": "string", "format": "binary"}}}}}},
                "responses": {"200": {"description": "ok"}}}},
            "/text": {"post": {"operationId": "postText",
                "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}},
                "responses": {"200": {"description": "ok"}}}},
            "/octets": {"put": {"operationId": "putOctets",
                "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"200": {"description": "ok"}}}},
            "/other": {
                "servers": [{"url": "http://{host}:{port}/path-level"}],
                "get": {"operationId": "otherServer", "servers": [{"url": "http://{host}:{port}/op-level",
                    "variables": {"host": {"default": "127.0.0.1"}, "port": {"default": "PORT"}}}],
                    "responses": {"200": {"description": "ok"}}}
            }
        }
    })
    .to_string()
}

/// The input property that feeds the parameter `name` of `tool`.
fn prop(b: &ApiBackend, tool: &str, name: &str) -> String {
    let Some(ExecutionPlan::Http(plan)) = b.conversion().tool(tool).map(|t| &t.plan) else {
        panic!("no HTTP tool {tool}");
    };
    plan.parameters
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.property.clone())
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

/// Arguments for a body: under `body` when the tool takes it whole, else spread.
fn body_args(b: &ApiBackend, tool: &str, body: Value) -> Value {
    let schema = b
        .conversion()
        .tool(tool)
        .expect("tool")
        .tool
        .input_schema
        .value();
    if schema["properties"].get("body").is_some() {
        json!({"body": body})
    } else {
        body
    }
}

async fn ok_server() -> Recorder {
    Recorder::start(|_| Reply::json(json!({"ok": true}))).await
}

#[tokio::test]
async fn every_parameter_location_and_style_is_serialised() {
    let server = ok_server().await;
    let b = backend("styles", &styles_spec(), |c| {
        c.base_url = Some(server.url("/base"))
    })
    .await;
    let mut args = serde_json::Map::new();
    for (name, value) in [
        ("id", json!("a b/c")),
        ("lab", json!([1, 2])),
        ("mat", json!({"role": "admin", "n": 1})),
        ("tags", json!(["x", "y z"])),
        ("ids", json!([1, 2])),
        ("sp", json!(["a", "b"])),
        ("pp", json!(["a", "b"])),
        ("filter", json!({"color": "red", "size": 2})),
        ("q", json!("é&=")),
        ("raw", json!("a/b?c")),
        ("obj", json!({"k": "v"})),
        ("X-Trace", json!("abc")),
        ("session", json!("s 1")),
    ] {
        args.insert(prop(&b, "getItem", name), value);
    }
    let r = b.call("getItem", Value::Object(args)).await.expect("call");
    assert!(!is_error(&r), "{r}");
    let got = server.last();
    assert_eq!(got.method, "GET");
    assert_eq!(got.path, "/base/items/a%20b%2Fc/.1.2/;mat=role,admin,n,1");
    assert_eq!(
        got.query.as_deref(),
        Some(
            "tags=x&tags=y%20z&ids=1,2&sp=a%20b&pp=a|b&filter[color]=red&filter[size]=2&q=%C3%A9%26%3D&raw=a/b?c&k=v"
        )
    );
    assert_eq!(got.header("x-trace"), Some("abc"));
    assert_eq!(got.header("cookie"), Some("session=s%201"));
}

#[tokio::test]
async fn missing_required_and_dot_segments_are_argument_errors() {
    let server = ok_server().await;
    let b = backend("styles", &styles_spec(), |c| {
        c.base_url = Some(server.url(""))
    })
    .await;
    let r = b.call("getItem", json!({})).await.expect("call");
    assert!(is_error(&r));
    assert!(text(&r).contains("missing required argument"), "{r}");
    let mut args = serde_json::Map::new();
    args.insert(prop(&b, "getItem", "id"), json!(".."));
    args.insert(prop(&b, "getItem", "lab"), json!([1]));
    args.insert(prop(&b, "getItem", "mat"), json!({"a": 1}));
    let r = b.call("getItem", Value::Object(args)).await.expect("call");
    assert!(is_error(&r) && text(&r).contains("`..`"), "{r}");
    let r = b
        .call("getItem", json!("not an object"))
        .await
        .expect("call");
    assert!(is_error(&r));
    assert!(server.requests().is_empty());
    assert!(b.call("noSuchTool", json!({})).await.is_err());
}

#[tokio::test]
async fn json_form_multipart_text_and_binary_bodies() {
    let server = ok_server().await;
    let b = backend("bodies", &styles_spec(), |c| {
        c.base_url = Some(server.url(""))
    })
    .await;

    let args = body_args(&b, "postJson", json!({"name": "rex", "tags": ["a"]}));
    assert!(!is_error(&b.call("postJson", args).await.expect("call")));
    let got = server.last();
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.body_json(), json!({"name": "rex", "tags": ["a"]}));

    let r = b.call("postJson", json!({})).await.expect("call");
    assert!(is_error(&r), "a required body must be given: {r}");

    let args = body_args(&b, "postForm", json!({"name": "a b&c", "n": 2}));
    assert!(!is_error(&b.call("postForm", args).await.expect("call")));
    let got = server.last();
    assert_eq!(
        got.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(got.body_text(), "name=a+b%26c&n=2");

    // "hello\0bin" in base64.
    let args = body_args(&b, "upload", json!({"title": "t", "file": "aGVsbG8AYmlu"}));
    let r = b.call("upload", args).await.expect("call");
    assert!(!is_error(&r), "{r}");
    let got = server.last();
    let ct = got.header("content-type").unwrap_or("").to_string();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let body = got.body_text();
    assert!(body.contains("name=\"title\"\r\n\r\nt\r\n"), "{body}");
    assert!(body.contains("name=\"file\"; filename=\"file\""), "{body}");
    assert!(
        body.contains("Content-Type: application/octet-stream"),
        "{body}"
    );
    assert!(got.body.windows(9).any(|w| w == b"hello\0bin"));

    let r = b
        .call("upload", body_args(&b, "upload", json!({"file": "***"})))
        .await
        .expect("call");
    assert!(is_error(&r) && text(&r).contains("base64"), "{r}");

    let link = json!({"type": "resource_link", "uri": server.url("/files/logo.png"), "mimeType": "image/png"});
    let r = b
        .call("upload", body_args(&b, "upload", json!({"file": link})))
        .await
        .expect("call");
    assert!(!is_error(&r), "{r}");
    let got = server.last();
    let body = got.body_text();
    assert!(
        body.contains("name=\"file\"; filename=\"logo.png\""),
        "{body}"
    );
    assert!(
        body.contains("Content-Type: image/png\r\n\r\n{\"ok\":true}"),
        "{body}"
    );
    let link = json!({"uri": "http://169.254.169.254/latest/meta-data/"});
    let r = b
        .call("upload", body_args(&b, "upload", json!({"file": link})))
        .await
        .expect("call");
    assert!(is_error(&r) && text(&r).contains("cloud-metadata"), "{r}");

    let args = body_args(&b, "postText", json!("plain words"));
    assert!(!is_error(&b.call("postText", args).await.expect("call")));
    let got = server.last();
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(got.body_text(), "plain words");

    let args = body_args(&b, "putOctets", json!("AAEC/w=="));
    assert!(!is_error(&b.call("putOctets", args).await.expect("call")));
    let got = server.last();
    assert_eq!(got.method, "PUT");
    assert_eq!(got.body, vec![0, 1, 2, 255]);
}

#[tokio::test]
async fn servers_with_variables_and_operation_level_servers() {
    let server = ok_server().await;
    let spec = styles_spec().replace("PORT", &server.addr.port().to_string());
    let b = backend("servers", &spec, |_| {}).await;
    let r = b.call("otherServer", json!({})).await.expect("call");
    assert!(!is_error(&r), "{r}");
    assert_eq!(server.last().path, "/op-level/other");
}

#[tokio::test]
async fn relative_servers_resolve_against_the_description_url() {
    let spec = json!({
        "openapi": "3.1.0", "info": {"title": "Rel", "version": "1"},
        "servers": [{"url": "/api/v2"}],
        "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}
    });
    let server = Recorder::start(move |r| {
        if r.path == "/specs/rel.json" {
            Reply::json(spec.clone())
        } else {
            Reply::json(json!({"pong": true}))
        }
    })
    .await;
    let config = ApiConfig::new(SpecSource::Location(server.url("/specs/rel.json")));
    let b = ApiBackend::load("rel", config, support::client())
        .await
        .expect("loads");
    let r = b.call("ping", json!({})).await.expect("call");
    assert_eq!(r["structuredContent"], json!({"pong": true}), "{r}");
    assert_eq!(server.last().path, "/api/v2/ping");
}

#[tokio::test]
async fn spec_loading_errors_name_the_api() {
    let config = ApiConfig::new(SpecSource::Location("/nonexistent/openapi.json".into()));
    let e = ApiBackend::load("ghost", config, support::client())
        .await
        .expect_err("fails");
    let msg = e.to_string();
    assert!(
        msg.contains("API `ghost`") && msg.contains("/nonexistent/openapi.json"),
        "{msg}"
    );

    let config = ApiConfig::new(SpecSource::Location("http://10.1.2.3/openapi.json".into()));
    let e = ApiBackend::load("inner", config, support::client())
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("toolport.ssrf.allowHosts"), "{e}");

    let config = ApiConfig::new(SpecSource::Bytes {
        source: "broken.json".into(),
        bytes: b"{\"openapi\": ".to_vec(),
    });
    let e = ApiBackend::load("broken", config, support::client())
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("API `broken`"), "{e}");
}

#[tokio::test]
async fn petstore_operations_reach_the_local_server() {
    let server = Recorder::start(|r| {
        if r.path.starts_with("/v2/pet/") && r.method == "GET" {
            Reply::json(json!({"id": 7, "name": "rex", "photoUrls": []}))
        } else {
            Reply::bytes(200, "application/json", b"{}".to_vec())
        }
    })
    .await;
    let mut config = ApiConfig::new(SpecSource::Location(support::spec_path(
        "openapi/petstore.3.0.0.json",
    )));
    config.base_url = Some(server.url("/v2"));
    let b = ApiBackend::load("petstore", config, support::client())
        .await
        .expect("loads");
    assert!(b.tools().iter().any(|t| t["name"] == "getPetById"));
    let r = b
        .call("getPetById", json!({"petId": 7}))
        .await
        .expect("call");
    assert_eq!(r["structuredContent"]["name"], "rex", "{r}");
    assert_eq!(server.last().path, "/v2/pet/7");

    let api_key = prop(&b, "deletePet", "api_key");
    let pet_id = prop(&b, "deletePet", "petId");
    let r = b
        .call("deletePet", json!({api_key: "k-1", pet_id: 9}))
        .await
        .expect("call");
    assert!(!is_error(&r), "{r}");
    let got = server.last();
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("DELETE", "/v2/pet/9")
    );
    assert_eq!(got.header("api_key"), Some("k-1"));
}

#[tokio::test]
async fn dispatch_mode_lists_describes_and_calls() {
    let server = ok_server().await;
    let b = backend("shop", &styles_spec(), |c| {
        c.base_url = Some(server.url(""));
        c.mode = Some(Mode::Dispatch);
    })
    .await;
    let names: Vec<String> = b
        .tools()
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        names,
        [
            "shop__list_operations",
            "shop__describe_operation",
            "shop__call_operation"
        ]
    );
    let listed = b
        .call("shop__list_operations", json!({"query": "json"}))
        .await
        .expect("call");
    assert_eq!(
        listed["structuredContent"]["operations"][0]["name"], "postJson",
        "{listed}"
    );
    let described = b
        .call("shop__describe_operation", json!({"operation": "postText"}))
        .await
        .expect("call");
    assert!(
        described["structuredContent"]["inputSchema"].is_object(),
        "{described}"
    );
    let missing = b
        .call("shop__describe_operation", json!({"operation": "nope"}))
        .await
        .expect("call");
    assert!(is_error(&missing));
    let args = body_args(&b, "postText", json!("via dispatch"));
    let r = b
        .call(
            "shop__call_operation",
            json!({"operation": "postText", "arguments": args}),
        )
        .await
        .expect("call");
    assert!(!is_error(&r), "{r}");
    assert_eq!(server.last().body_text(), "via dispatch");
    assert!(
        b.call("postText", json!({})).await.is_err(),
        "operations are not tools in dispatch mode"
    );
}

#[tokio::test]
async fn search_mode_finds_and_calls() {
    let server = ok_server().await;
    let b = backend("shop", &styles_spec(), |c| {
        c.base_url = Some(server.url(""));
        c.mode = Some(Mode::Search);
    })
    .await;
    assert_eq!(b.tools().len(), 2);
    let found = b
        .call("shop__search_operations", json!({"query": "upload file"}))
        .await
        .expect("call");
    assert_eq!(
        found["structuredContent"]["results"][0]["name"], "upload",
        "{found}"
    );
    let args = body_args(&b, "postText", json!("via search"));
    let r = b
        .call(
            "shop__call_operation",
            json!({"operation": "postText", "arguments": args}),
        )
        .await
        .expect("call");
    assert!(!is_error(&r), "{r}");
    assert_eq!(server.last().body_text(), "via search");
    let r = b
        .call("shop__call_operation", json!({"operation": "ghost"}))
        .await
        .expect("call");
    assert!(is_error(&r) && text(&r).contains("ghost"));
}
