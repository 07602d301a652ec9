//! The circuit breaker end to end: an HTTP API on loopback that fails, and a fixture MCP server
//! that times out, open their circuits; refused calls never reach them (their own counters say
//! so), carry the retry delay, and after the cool-down one probe closes the circuit again.
//! `/readyz` and `/metrics` show each state.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use support::{
    Client, TestGateway, config, fixture_stdio, server, upstream_counts, wait_for_async,
};
use toolport_gateway::config::{CircuitBreakerSettings, ServerConfig, ToolFilter};
use toolport_upstream::UpstreamSpec;
use toolport_upstream::api::{ApiConfig, SpecSource};

const COOL_DOWN: Duration = Duration::from_millis(200);

/// An API whose one endpoint answers with the status the test sets, counting every request.
#[derive(Clone, Default)]
struct Flaky {
    status: Arc<AtomicU16>,
    requests: Arc<AtomicUsize>,
}

impl Flaky {
    fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn flaky_api() -> (String, Flaky) {
    let flaky = Flaky::default();
    flaky.answer_with(200);
    let state = flaky.clone();
    let app = axum::Router::new().route(
        "/status",
        get(move || {
            let state = state.clone();
            async move {
                state.requests.fetch_add(1, Ordering::SeqCst);
                let status = StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
                (status, axum::Json(json!({"status": status.as_u16()})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, flaky)
}

fn api_server(base_url: &str, breaker: CircuitBreakerSettings) -> (String, ServerConfig) {
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Flaky", "version": "1"},
        "paths": {"/status": {"get": {"operationId": "getStatus",
            "responses": {"200": {"description": "ok"}}}}}
    });
    let mut api = ApiConfig::new(SpecSource::Bytes {
        source: String::new(),
        bytes: spec.to_string().into_bytes(),
    });
    api.base_url = Some(base_url.to_string());
    (
        "flaky".into(),
        ServerConfig {
            spec: UpstreamSpec::Api(Box::new(api)),
            tools: ToolFilter::default(),
            tags: vec![],
            timeout: Duration::from_secs(20),
            prefix: "flaky".into(),
            tenants: Vec::new(),
            owner: None,
            circuit_breaker: breaker,
            per_user: None,
        },
    )
}

async fn readiness(gw: &TestGateway, backend: &str) -> Value {
    let body: Value = reqwest::get(format!("{}/readyz", gw.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["backends"]
        .as_array()
        .and_then(|all| all.iter().find(|b| b["name"] == backend))
        .cloned()
        .unwrap_or_else(|| panic!("no backend {backend} in {body}"))
}

async fn circuit(gw: &TestGateway, backend: &str) -> String {
    readiness(gw, backend).await["circuit"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn metrics(gw: &TestGateway) -> String {
    reqwest::get(format!("{}/metrics", gw.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn wait_for_circuit(gw: &TestGateway, backend: &str, state: &str) {
    wait_for_async(
        &format!("the circuit of {backend} to be {state}"),
        Duration::from_secs(10),
        async || circuit(gw, backend).await == state,
    )
    .await;
}

fn is_error(result: &Value) -> bool {
    result["isError"] == json!(true)
}

#[tokio::test]
async fn a_failing_api_opens_its_circuit_refuses_without_calling_it_and_a_probe_closes_it() {
    let (base, flaky) = flaky_api().await;
    let breaker = CircuitBreakerSettings {
        failure_threshold: 3,
        open_for: COOL_DOWN,
    };
    let mut cfg = config(vec![api_server(&base, breaker)]);
    cfg.settings.ssrf_allow_hosts = vec!["127.0.0.1".into()];
    let gw = TestGateway::start(cfg).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;

    // Answers the caller got wrong (4xx) say nothing about the API's health.
    flaky.answer_with(404);
    for id in 1..=5 {
        assert!(is_error(
            &client.call(id, "flaky__getStatus", json!({})).await
        ));
    }
    assert_eq!(circuit(&gw, "flaky").await, "closed");

    // Three consecutive 5xx/429 answers open it; each of them reached the API.
    flaky.answer_with(503);
    assert!(is_error(
        &client.call(10, "flaky__getStatus", json!({})).await
    ));
    flaky.answer_with(429);
    assert!(is_error(
        &client.call(11, "flaky__getStatus", json!({})).await
    ));
    assert_eq!(circuit(&gw, "flaky").await, "closed");
    flaky.answer_with(500);
    assert!(is_error(
        &client.call(12, "flaky__getStatus", json!({})).await
    ));
    assert_eq!(flaky.requests(), 8);
    let ready = readiness(&gw, "flaky").await;
    assert_eq!(ready["circuit"], "open", "{ready}");
    assert_eq!(ready["state"], "ready", "the backend itself is up: {ready}");

    // Refused with the delay, by name, without reaching the API.
    flaky.answer_with(200);
    let refused = client
        .request(
            13,
            "tools/call",
            json!({"name": "flaky__getStatus", "arguments": {}}),
        )
        .await;
    let error = refused.error(13);
    assert_eq!(error["code"], -32000, "{error}");
    assert_eq!(error["data"]["server"], "flaky", "{error}");
    let retry_after = error["data"]["retryAfterMs"]
        .as_u64()
        .expect("retryAfterMs");
    assert!(retry_after <= 200, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("\"flaky\"") && message.contains("circuit breaker open"),
        "{message}"
    );
    assert_eq!(
        flaky.requests(),
        8,
        "the refused call never reached the API"
    );
    let text = metrics(&gw).await;
    assert!(
        text.contains(r#"toolport_backend_circuit_state{backend="flaky"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"toolport_backend_circuit_openings_total{backend="flaky"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"toolport_backend_circuit_refusals_total{backend="flaky"} 1"#),
        "{text}"
    );

    // After the cool-down, one probe goes through and its success closes the circuit.
    wait_for_circuit(&gw, "flaky", "half_open").await;
    assert!(
        metrics(&gw)
            .await
            .contains(r#"toolport_backend_circuit_state{backend="flaky"} 2"#)
    );
    let probe = client.call(14, "flaky__getStatus", json!({})).await;
    assert!(!is_error(&probe), "{probe}");
    assert_eq!(flaky.requests(), 9);
    assert_eq!(circuit(&gw, "flaky").await, "closed");
    assert!(
        metrics(&gw)
            .await
            .contains(r#"toolport_backend_circuit_state{backend="flaky"} 0"#)
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_failed_probe_reopens_the_circuit() {
    let (base, flaky) = flaky_api().await;
    let breaker = CircuitBreakerSettings {
        failure_threshold: 1,
        open_for: COOL_DOWN,
    };
    let mut cfg = config(vec![api_server(&base, breaker)]);
    cfg.settings.ssrf_allow_hosts = vec!["127.0.0.1".into()];
    let gw = TestGateway::start(cfg).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    flaky.answer_with(502);
    assert!(is_error(
        &client.call(1, "flaky__getStatus", json!({})).await
    ));
    assert_eq!(circuit(&gw, "flaky").await, "open");
    wait_for_circuit(&gw, "flaky", "half_open").await;
    assert!(is_error(
        &client.call(2, "flaky__getStatus", json!({})).await
    ));
    assert_eq!(flaky.requests(), 2, "the probe reached the API");
    assert_eq!(circuit(&gw, "flaky").await, "open");
    let refused = client
        .request(
            3,
            "tools/call",
            json!({"name": "flaky__getStatus", "arguments": {}}),
        )
        .await;
    assert_eq!(refused.error(3)["data"]["server"], "flaky");
    assert_eq!(flaky.requests(), 2);
    assert!(
        metrics(&gw)
            .await
            .contains(r#"toolport_backend_circuit_openings_total{backend="flaky"} 2"#)
    );
    gw.stop().await;
}

#[tokio::test]
async fn mcp_timeouts_open_the_circuit_but_json_rpc_errors_for_bad_arguments_do_not() {
    let (name, mut mcp) = server("mcp", fixture_stdio(&[]));
    mcp.timeout = Duration::from_millis(300);
    mcp.circuit_breaker = CircuitBreakerSettings {
        failure_threshold: 2,
        open_for: COOL_DOWN,
    };
    let gw = TestGateway::start(config(vec![(name, mcp)])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;

    // The backend answers these with a JSON-RPC error: it is working.
    for id in 1..=4 {
        let reply = client
            .request(
                id,
                "tools/call",
                json!({"name": "mcp__add", "arguments": {"a": 1}}),
            )
            .await;
        assert_eq!(reply.error(id)["code"], -32602);
    }
    assert_eq!(circuit(&gw, "mcp").await, "closed");

    for id in 5..=6 {
        let reply = client
            .request(
                id,
                "tools/call",
                json!({"name": "mcp__slow", "arguments": {"ms": 5000}}),
            )
            .await;
        assert_eq!(reply.error(id)["code"], -32001, "a timeout");
    }
    assert_eq!(circuit(&gw, "mcp").await, "open");
    let refused = client
        .request(
            7,
            "tools/call",
            json!({"name": "mcp__echo", "arguments": {"text": "refused"}}),
        )
        .await;
    assert_eq!(refused.error(7)["data"]["server"], "mcp");

    wait_for_circuit(&gw, "mcp", "half_open").await;
    let counts = upstream_counts(&client, "mcp__call_count").await;
    assert_eq!(
        counts["tools"]["echo"],
        Value::Null,
        "the refused call never reached the backend: {counts}"
    );
    assert_eq!(counts["tools"]["add"], 4, "{counts}");
    assert_eq!(circuit(&gw, "mcp").await, "closed");
    gw.stop().await;
}
