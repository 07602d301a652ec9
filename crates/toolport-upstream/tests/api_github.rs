//! The GitHub REST description (1,200 operations, automatic dispatch mode) executed against a local
//! fake of one GitHub endpoint: listing, describing and calling `repos/get` through the meta-tools.

mod support;

use serde_json::json;
use support::{Recorder, Reply, client, is_error};
use toolport_upstream::api::{ApiAuth, ApiBackend, ApiConfig, SpecSource};

#[tokio::test]
async fn github_rest_in_dispatch_mode() {
    let server = Recorder::start(|r| {
        if r.path == "/repos/octocat/hello-world" {
            Reply::json(json!({"id": 1296269, "full_name": "octocat/Hello-World"}))
        } else {
            Reply::bytes(
                404,
                "application/json",
                br#"{"message":"Not Found"}"#.to_vec(),
            )
        }
    })
    .await;
    let mut config = ApiConfig::new(SpecSource::Location(support::spec_path(
        "openapi/github-api.github.com.3.0.3.json",
    )));
    config.base_url = Some(server.url(""));
    config.auth = ApiAuth::Bearer {
        token: "ghp_test".into(),
    };
    let b = ApiBackend::load("github", config, client())
        .await
        .expect("loads");
    let names: Vec<String> = b
        .tools()
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        names,
        [
            "github__list_operations",
            "github__describe_operation",
            "github__call_operation"
        ]
    );
    let listed = b
        .call(
            "github__list_operations",
            json!({"query": "repos get", "tag": "repos"}),
        )
        .await
        .expect("call");
    assert!(
        listed["structuredContent"]["total"].as_u64().unwrap_or(0) > 0,
        "{listed}"
    );
    let described = b
        .call(
            "github__describe_operation",
            json!({"operation": "repos_get"}),
        )
        .await
        .expect("call");
    assert_eq!(
        described["structuredContent"]["path"], "/repos/{owner}/{repo}",
        "{described}"
    );
    let r = b
        .call(
            "github__call_operation",
            json!({"operation": "repos_get", "arguments": {"owner": "octocat", "repo": "hello-world"}}),
        )
        .await
        .expect("call");
    assert_eq!(
        r["structuredContent"]["full_name"], "octocat/Hello-World",
        "{r}"
    );
    let got = server.last();
    assert_eq!(got.header("authorization"), Some("Bearer ghp_test"));
    let r = b
        .call(
            "github__call_operation",
            json!({"operation": "repos_get", "arguments": {"owner": "nobody", "repo": "x"}}),
        )
        .await
        .expect("call");
    assert!(
        is_error(&r) && support::text(&r).contains("Not Found"),
        "{r}"
    );
}
