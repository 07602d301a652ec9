//! APIs as tools, end to end: the GitHub REST description served through the gateway to an MCP
//! client, executed against a local fake of a few GitHub endpoints that records what it received.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{Value, json};
use support::{Client, TestGateway, config};
use toolport_gateway::config::{CircuitBreakerSettings, ServerConfig, ToolFilter};
use toolport_import::Mode;
use toolport_upstream::UpstreamSpec;
use toolport_upstream::api::{ApiAuth, ApiConfig, SpecSource};

#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Value>>>);

impl Recorded {
    fn push(&self, v: Value) {
        self.0.lock().unwrap().push(v);
    }
    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

async fn fake_github() -> (String, Recorded) {
    let recorded = Recorded::default();
    let app = axum::Router::new()
        .route(
            "/repos/{owner}/{repo}",
            get(|State(r): State<Recorded>, Path((owner, repo)): Path<(String, String)>, headers: HeaderMap| async move {
                r.push(json!({"route": "get repo", "owner": owner, "repo": repo,
                    "authorization": headers.get("authorization").and_then(|v| v.to_str().ok())}));
                Json(json!({"id": 1, "full_name": format!("{owner}/{repo}"), "private": false}))
            }),
        )
        .route(
            "/repos/{owner}/{repo}/issues",
            post(|State(r): State<Recorded>, Path((owner, repo)): Path<(String, String)>, Json(body): Json<Value>| async move {
                r.push(json!({"route": "create issue", "owner": owner, "repo": repo, "body": body}));
                (axum::http::StatusCode::CREATED, Json(json!({"number": 42, "title": body["title"]})))
            }),
        )
        .with_state(recorded.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, recorded)
}

fn github_api(base_url: &str, mode: Mode) -> (String, ServerConfig) {
    let spec = format!(
        "{}/../../../shared/specs/openapi/github-api.github.com.3.0.3.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut api = ApiConfig::new(SpecSource::Location(spec));
    api.base_url = Some(base_url.to_string());
    api.auth = ApiAuth::Bearer {
        token: "server-side-token".into(),
    };
    api.mode = Some(mode);
    api.timeout = Duration::from_secs(10);
    (
        "github".into(),
        ServerConfig {
            spec: UpstreamSpec::Api(Box::new(api)),
            tools: ToolFilter::default(),
            tags: vec![],
            timeout: Duration::from_secs(11),
            prefix: "github".into(),
            tenants: Vec::new(),
            owner: None,
            circuit_breaker: CircuitBreakerSettings::default(),
            per_user: None,
        },
    )
}

#[tokio::test]
async fn github_rest_operations_run_against_the_api_with_server_side_credentials() {
    let (base, recorded) = fake_github().await;
    let mut cfg = config(vec![github_api(&base, Mode::Tools)]);
    cfg.settings.ssrf_allow_hosts = vec!["127.0.0.1".into()];
    let gw = TestGateway::start(cfg).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let names = client.tool_names().await;
    assert_eq!(names.len(), 1223, "one tool per GitHub operation");
    assert!(names.contains(&"github__repos_get".to_string()));

    let reply = client
        .post_with(
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "github__repos_get", "arguments": {"owner": "octo", "repo": "hello"}}}),
            &[("authorization", "Bearer client-token-must-not-leak")],
        )
        .await;
    let result = reply.result(5);
    assert_eq!(
        result["structuredContent"]["full_name"], "octo/hello",
        "{result}"
    );
    let issue = client
        .call(
            6,
            "github__issues_create",
            json!({"owner": "octo", "repo": "hello", "title": "Bug", "body": "It broke"}),
        )
        .await;
    assert_eq!(issue["structuredContent"]["number"], 42, "{issue}");
    let seen = recorded.all();
    assert_eq!(seen[0]["authorization"], "Bearer server-side-token");
    assert_eq!(seen[1]["body"]["title"], "Bug");
    assert_eq!(
        seen.len(),
        2,
        "exactly the two calls reached the API: {seen:?}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn large_apis_default_to_dispatch_tools() {
    let (base, recorded) = fake_github().await;
    let (name, mut server) = github_api(&base, Mode::Tools);
    if let UpstreamSpec::Api(api) = &mut server.spec {
        api.mode = None;
    }
    let mut cfg = config(vec![(name, server)]);
    cfg.settings.ssrf_allow_hosts = vec!["127.0.0.1".into()];
    let gw = TestGateway::start(cfg).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let names = client.tool_names().await;
    assert!(
        names.contains(&"github__call_operation".to_string()),
        "{names:?}"
    );
    assert!(names.len() <= 4, "{names:?}");
    let found = client
        .call(1, "github__list_operations", json!({"query": "repos get"}))
        .await;
    assert!(found.to_string().contains("repos_get"), "{found}");
    let called = client
        .call(
            2,
            "github__call_operation",
            json!({"operation": "repos_get", "arguments": {"owner": "a", "repo": "b"}}),
        )
        .await;
    assert_eq!(called["structuredContent"]["full_name"], "a/b", "{called}");
    assert_eq!(recorded.all().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn loopback_apis_are_refused_unless_allowed() {
    let (base, recorded) = fake_github().await;
    let gw = TestGateway::start(config(vec![github_api(&base, Mode::Tools)])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let reply = client
        .request(
            1,
            "tools/call",
            json!({"name": "github__repos_get", "arguments": {"owner": "a", "repo": "b"}}),
        )
        .await;
    let text = reply.answer(1).to_string();
    assert!(
        text.contains("allowHosts"),
        "the refusal says how to allow it: {text}"
    );
    assert!(recorded.all().is_empty(), "nothing reached the API");
    gw.stop().await;
}
