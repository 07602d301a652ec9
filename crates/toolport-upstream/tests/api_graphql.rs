//! GraphQL tools executed against a local recording server: the document with its variables, the
//! `selection` override, and GraphQL errors as `isError`.

mod support;

use serde_json::{Value, json};
use support::{Recorder, Reply, backend, is_error};
use toolport_import::ExecutionPlan;

#[tokio::test]
async fn graphql_posts_the_document_with_variables_and_selection() {
    let sdl = "type Query { repo(owner: String!, name: String!): Repo }\n\
               type Repo { id: ID! name: String stars: Int }";
    let server = Recorder::start(|r| {
        if r.body_text().contains("\"nope\"") {
            Reply::json(json!({"data": null, "errors": [{"message": "not found"}]}))
        } else {
            Reply::json(json!({"data": {"repo": {"id": "1"}}}))
        }
    })
    .await;
    let b = backend("gh", sdl, |c| c.base_url = Some(server.url("/graphql"))).await;
    let tool = b.conversion().tools[0].clone();
    let ExecutionPlan::Graphql(plan) = &tool.plan else {
        panic!("a GraphQL plan");
    };
    let mut args = serde_json::Map::new();
    for v in &plan.variables {
        args.insert(
            v.property.clone(),
            json!(if v.name == "owner" { "me" } else { "x" }),
        );
    }
    let r = b
        .call(&tool.tool.name, Value::Object(args.clone()))
        .await
        .expect("call");
    assert_eq!(r["structuredContent"]["data"]["repo"]["id"], "1", "{r}");
    let got = server.last();
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        ("POST", "/graphql")
    );
    let sent = got.body_json();
    assert_eq!(sent["variables"], json!({"owner": "me", "name": "x"}));
    let query = sent["query"].as_str().unwrap_or("");
    assert!(query.contains("repo(") && query.contains("name"), "{query}");

    if let Some(sel) = &plan.selection_property {
        args.insert(sel.clone(), json!("id"));
        b.call(&tool.tool.name, Value::Object(args.clone()))
            .await
            .expect("call");
        let query = server.last().body_json()["query"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(
            query.contains("{ id }") && !query.contains("stars"),
            "{query}"
        );
    }
    let owner = plan
        .variables
        .iter()
        .find(|v| v.name == "owner")
        .map(|v| v.property.clone());
    args.insert(owner.unwrap_or_default(), json!("nope"));
    let r = b
        .call(&tool.tool.name, Value::Object(args))
        .await
        .expect("call");
    assert!(
        is_error(&r),
        "GraphQL errors without data are an error: {r}"
    );
}
