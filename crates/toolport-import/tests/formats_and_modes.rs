//! Postman and GraphQL conversion on the corpus and small collections, and the dispatch/search modes.

mod common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use toolport_import::modes::{dispatch, resolve_call, search};
use toolport_import::{
    BodyBinding, Conversion, ConvertOptions, ExecutionPlan, Format, Mode, ParamLocation,
    RefuseLoader, SecurityScheme, convert, exposed_tools, render_json,
};

fn corpus(rel: &str, options: ConvertOptions) -> Conversion {
    let bytes = std::fs::read(common::specs_dir().join(rel)).unwrap_or_default();
    let conv = convert(&bytes, &options, &RefuseLoader).unwrap_or_else(|e| panic!("{rel}: {e}"));
    common::check(&conv).unwrap_or_else(|e| panic!("{rel}: {e}"));
    conv
}

#[test]
fn postman_variables_auth_folders_and_bodies() {
    let collection = json!({
        "info": {"name": "Demo", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "variable": [{"key": "base", "value": "https://api.example.com"}, {"key": "ver", "value": "v1"}],
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}"}]},
        "item": [{"name": "Users", "item": [
            {"name": "Get user", "request": {"method": "GET", "url": {"raw": "{{base}}/{{ver}}/users/:id?verbose=true", "variable": [{"key": "id", "value": ""}],
                "query": [{"key": "verbose", "value": "true"}, {"key": "off", "value": "1", "disabled": true}]}}},
            {"name": "Create user", "request": {"method": "POST", "header": [{"key": "Content-Type", "value": "application/json"}, {"key": "X-Tenant", "value": "{{tenant}}"}],
                "body": {"mode": "raw", "raw": "{\"name\": \"Ann\", \"age\": 3}", "options": {"raw": {"language": "json"}}}, "url": "{{base}}/{{ver}}/users"}},
            {"name": "Upload", "request": {"method": "POST", "auth": {"type": "apikey", "apikey": [{"key": "key", "value": "X-Key"}, {"key": "value", "value": "k"}]},
                "body": {"mode": "formdata", "formdata": [{"key": "f", "type": "file", "src": []}, {"key": "note", "value": "hi", "type": "text"}]}, "url": "{{base}}/upload"}}
        ]}]
    });
    let bytes = serde_json::to_vec(&collection).unwrap_or_default();
    let options = ConvertOptions {
        variables: BTreeMap::from([("ver".to_string(), "v2".to_string())]),
        ..Default::default()
    };
    let conv = convert(&bytes, &options, &RefuseLoader).unwrap_or_else(|e| panic!("{e}"));
    common::check(&conv).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(conv.format, Format::Postman);
    let names: Vec<&str> = conv.tools.iter().map(|t| t.tool.name.as_str()).collect();
    assert_eq!(
        names,
        ["Users_Get_user", "Users_Create_user", "Users_Upload"]
    );
    assert_eq!(conv.tools[0].operation.tags, ["Users"]);
    let plan = |i: usize| match &conv.tools[i].plan {
        ExecutionPlan::Http(p) => p.clone(),
        other => panic!("{other:?}"),
    };
    let get = plan(0);
    assert_eq!(get.servers[0].url, "https://api.example.com");
    assert_eq!(
        get.path, "/v2/users/{id}",
        "caller variables override the collection's"
    );
    assert_eq!(
        conv.tools[0].tool.input_schema.value()["required"],
        json!(["id"])
    );
    assert_eq!(
        get.parameters
            .iter()
            .map(|p| (p.name.as_str(), p.location))
            .collect::<Vec<_>>(),
        [
            ("id", ParamLocation::Path),
            ("verbose", ParamLocation::Query)
        ]
    );
    assert_eq!(get.parameters[1].fixed.as_deref(), Some("true"));
    assert!(
        matches!(&get.security_schemes["postman_bearer"], SecurityScheme::Http { scheme, .. } if scheme == "bearer")
    );
    let create = plan(1);
    assert!(
        matches!(create.body.as_ref().map(|b| &b.binding), Some(BodyBinding::Spread { fields }) if fields.len() == 2)
    );
    assert_eq!(
        conv.tools[1].tool.input_schema.value()["properties"]["age"]["type"],
        "integer"
    );
    assert!(
        create
            .parameters
            .iter()
            .any(|p| p.name == "X-Tenant" && p.location == ParamLocation::Header && p.required)
    );
    let upload = plan(2);
    assert_eq!(
        upload
            .body
            .as_ref()
            .map(|b| (b.content_type.as_str(), b.binary_fields.clone())),
        Some(("multipart/form-data", vec!["f".to_string()]))
    );
    assert_eq!(
        upload.security_schemes["postman_apikey"],
        SecurityScheme::ApiKey {
            name: "X-Key".into(),
            location: ParamLocation::Header
        }
    );
}

#[test]
fn postman_echo_keeps_every_request_and_flags_unsupported_auth() {
    let conv = corpus("postman/postman-echo.v2.1.json", ConvertOptions::default());
    assert_eq!(conv.tools.len(), 23);
    assert!(
        conv.diagnostics
            .iter()
            .any(|d| d.message.contains("Postman auth `digest`")),
        "{:?}",
        conv.diagnostics
    );
    let v20 = corpus(
        "postman/crate-postman_collection/swagger-petstore-v2.0.0.json",
        ConvertOptions::default(),
    );
    assert_eq!(v20.tools.len(), 20);
}

#[test]
fn graphql_introspection_and_sdl_give_the_same_tools() {
    let filter = toolport_import::Filter {
        include: toolport_import::Selector {
            operations: vec!["repository".into(), "mutation_addComment".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let opts = ConvertOptions {
        filter,
        ..Default::default()
    };
    let intro = corpus("graphql/github.introspection.json", opts.clone());
    let sdl = corpus("graphql/github.schema.graphql", opts);
    assert_eq!(intro.operation_count, 272);
    let names = |c: &Conversion| {
        c.tools
            .iter()
            .map(|t| t.tool.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&intro), ["repository", "mutation_addComment"]);
    assert_eq!(names(&intro), names(&sdl));
    let repo = &intro.tools[0];
    assert_eq!(
        repo.tool.input_schema.value()["required"],
        json!(["owner", "name"])
    );
    let ExecutionPlan::Graphql(plan) = &repo.plan else {
        panic!("GraphQL plan expected")
    };
    let doc = plan.document_for(None);
    assert!(doc.starts_with("query repository($owner: String!, $name: String!, $followRenames: Boolean) { repository(owner: $owner, name: $name, followRenames: $followRenames) { "), "{doc}");
    assert!(
        doc.contains("{ id name ") && doc.contains(" nameWithOwner ") && doc.ends_with("} }"),
        "{doc}"
    );
    assert!(doc.len() < 1500, "the default selection stays small: {doc}");
    let add = &intro.tools[1];
    assert_eq!(add.tool.annotations.read_only_hint, Some(false));
    assert_eq!(
        add.tool.input_schema.value()["properties"]["input"]["required"],
        json!(["subjectId", "body"])
    );
}

#[test]
fn dispatch_and_search_modes_answer_from_the_conversion() {
    let conv = corpus(
        "openapi/github-api.github.com.3.0.3.json",
        ConvertOptions {
            api_name: "github".into(),
            ..Default::default()
        },
    );
    assert_eq!(
        conv.mode,
        Mode::Dispatch,
        "1223 operations is above the default threshold"
    );
    let tools = exposed_tools(&conv);
    assert_eq!(
        tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        [
            "github__list_operations",
            "github__describe_operation",
            "github__call_operation"
        ]
    );
    for t in &tools {
        common::check_schema(&t.input_schema.value()).unwrap_or_else(|e| panic!("{}: {e}", t.name));
    }
    let listed =
        dispatch::list_operations(&conv.tools, Some("issue comment"), Some("issues"), 0, 5);
    assert!(listed["total"].as_u64().is_some_and(|n| n > 3), "{listed}");
    let first = listed["operations"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let described = dispatch::describe_operation(&conv.tools, &first).unwrap_or_default();
    assert_eq!(described["inputSchema"]["type"], "object");
    assert!(dispatch::describe_operation(&conv.tools, "no-such-op").is_none());

    let index = search::SearchIndex::new(&conv.tools);
    let found = search::search_operations(&conv.tools, &index, "create an issue", 5);
    let top: Vec<&str> = found["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(top.contains(&"issues_create"), "{top:?}");
    let (tool, args) = resolve_call(&conv.tools, &json!({"operation": "issues_create", "arguments": {"owner": "o", "repo": "r", "title": "t"}})).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tool.operation.path, "/repos/{owner}/{repo}/issues");
    assert_eq!(args["title"], "t");
    assert!(resolve_call(&conv.tools, &json!({"operation": "nope"})).is_err());

    let search_mode = Conversion {
        mode: Mode::Search,
        ..conv.clone()
    };
    let rendered = render_json(&search_mode);
    assert_eq!(rendered["tools"].as_array().map(Vec::len), Some(2));
    let small = corpus("openapi/petstore.3.0.0.json", ConvertOptions::default());
    assert_eq!(small.mode, Mode::Tools);
    assert_eq!(
        render_json(&small)["tools"].as_array().map(Vec::len),
        Some(20)
    );
    let _: &Value = &rendered["diagnostics"];
}
