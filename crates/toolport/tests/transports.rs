//! Every northbound transport and protocol era: Streamable HTTP sessions, 2026-07-28 stateless
//! requests (with `input_required` for a backend's questions), and the legacy HTTP+SSE transport.

mod support;

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use support::{
    Client, TestGateway, V2026, config, fixture_stdio, post_stateless, server,
    stateless_request as stateless,
};

/// The gateway in front of a fixture that speaks 2025-11-25 at most, and a client of `/mcp`.
async fn gateway_over_a_2025_backend() -> (TestGateway, Client) {
    let gw = TestGateway::start(config(vec![server(
        "fx",
        fixture_stdio(&["--max-protocol", "2025-11-25"]),
    )]))
    .await;
    gw.ready().await;
    let client = Client::new(format!("{}/mcp", gw.base));
    (gw, client)
}

#[tokio::test]
async fn stateless_clients_are_served_without_a_session() {
    let (gw, client) = gateway_over_a_2025_backend().await;
    let discover = post_stateless(
        &client,
        stateless(1, "server/discover", json!({}), json!({})),
    )
    .await;
    let result = discover.result(1);
    assert!(
        result["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!(V2026))
    );
    assert_eq!(result["resultType"], "complete");
    assert!(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"].is_string());
    let list = post_stateless(&client, stateless(2, "tools/list", json!({}), json!({}))).await;
    let list = list.result(2);
    assert_eq!(list["resultType"], "complete");
    assert!(list["ttlMs"].is_u64());
    assert!(["public", "private"].contains(&list["cacheScope"].as_str().unwrap()));
    let call = post_stateless(
        &client,
        stateless(
            3,
            "tools/call",
            json!({"name": "fx__echo", "arguments": {"text": "hi"}}),
            json!({}),
        ),
    )
    .await;
    assert_eq!(call.result(3)["content"][0]["text"], "hi");
    assert_eq!(call.result(3)["resultType"], "complete");

    // Refusals carry the right status and code.
    let no_meta = client
        .post_with(
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}}),
            &[
                ("mcp-protocol-version", V2026),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    assert_eq!(
        (no_meta.status, no_meta.error(4)["code"].clone()),
        (400, json!(-32602))
    );
    let mut bad = stateless(5, "server/discover", json!({}), json!({}));
    bad["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("v999");
    let unsupported = client
        .post_with(
            bad,
            &[
                ("mcp-protocol-version", "v999"),
                ("mcp-method", "server/discover"),
            ],
        )
        .await;
    assert_eq!(
        (unsupported.status, unsupported.error(5)["code"].clone()),
        (400, json!(-32022))
    );
    let init = post_stateless(&client, stateless(6, "initialize", json!({}), json!({}))).await;
    assert_eq!(
        (init.status, init.error(6)["code"].clone()),
        (404, json!(-32601))
    );
    let wrong_method = client
        .post_with(
            stateless(7, "tools/list", json!({}), json!({})),
            &[
                ("mcp-protocol-version", V2026),
                ("mcp-method", "prompts/list"),
            ],
        )
        .await;
    assert_eq!(
        (wrong_method.status, wrong_method.error(7)["code"].clone()),
        (400, json!(-32020))
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_backends_question_becomes_input_required_for_stateless_clients() {
    let (gw, client) = gateway_over_a_2025_backend().await;
    let caps = json!({"sampling": {}});
    let first = post_stateless(
        &client,
        stateless(
            1,
            "tools/call",
            json!({"name": "fx__test_sampling", "arguments": {"prompt": "capital?"}}),
            caps.clone(),
        ),
    )
    .await;
    let first = first.result(1).clone();
    assert_eq!(first["resultType"], "input_required", "{first}");
    let (key, question) = first["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(question["method"], "sampling/createMessage");
    let state = first["requestState"].as_str().unwrap();
    let mut retry = stateless(
        2,
        "tools/call",
        json!({"name": "fx__test_sampling", "arguments": {"prompt": "capital?"}}),
        caps.clone(),
    );
    retry["params"]["requestState"] = json!(state);
    retry["params"]["inputResponses"] = json!({key.clone(): {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m", "stopReason": "endTurn"}});
    let done = post_stateless(&client, retry.clone()).await;
    let done = done.result(2);
    assert_eq!(done["resultType"], "complete");
    assert!(done.to_string().contains("Paris"), "{done}");
    // A state that was used (or forged) is refused.
    let replay = post_stateless(&client, retry).await;
    assert_eq!(replay.error(2)["code"], -32602);
    // Without the capability the question cannot be asked: -32021 naming it.
    let missing = post_stateless(
        &client,
        stateless(
            3,
            "tools/call",
            json!({"name": "fx__test_sampling", "arguments": {"prompt": "x"}}),
            json!({}),
        ),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.error(3)["data"]["requiredCapabilities"],
        json!({"sampling": {}})
    );
    gw.stop().await;
}

#[tokio::test]
async fn questions_a_backend_asks_together_go_to_a_stateless_client_in_one_round() {
    let (gw, client) = gateway_over_a_2025_backend().await;
    let caps = json!({"sampling": {}, "elicitation": {}, "roots": {}});
    let params = json!({"name": "fx__test_input_required_result_multiple_inputs", "arguments": {}});
    let first = post_stateless(
        &client,
        stateless(1, "tools/call", params.clone(), caps.clone()),
    )
    .await;
    let first = first.result(1).clone();
    assert_eq!(first["resultType"], "input_required", "{first}");
    let mut methods: Vec<&str> = first["inputRequests"]
        .as_object()
        .unwrap()
        .values()
        .map(|q| q["method"].as_str().unwrap())
        .collect();
    methods.sort_unstable();
    assert_eq!(
        methods,
        ["elicitation/create", "roots/list", "sampling/createMessage"],
        "{first}"
    );
    let answers: serde_json::Map<String, Value> = first["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, question)| {
            let answer = match question["method"].as_str().unwrap() {
                "elicitation/create" => json!({"action": "accept", "content": {"name": "Ada"}}),
                "roots/list" => json!({"roots": []}),
                _ => json!({"role": "assistant", "content": {"type": "text", "text": "Paris"},
                    "model": "m", "stopReason": "endTurn"}),
            };
            (key.clone(), answer)
        })
        .collect();
    let mut retry = stateless(2, "tools/call", params, caps);
    retry["params"]["requestState"] = first["requestState"].clone();
    retry["params"]["inputResponses"] = Value::Object(answers);
    let done = post_stateless(&client, retry).await;
    assert_eq!(
        done.result(2)["content"][0]["text"],
        "All 3 inputs received; name=Ada"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_question_the_client_cannot_answer_is_refused_and_the_backend_goes_on() {
    let (gw, client) = gateway_over_a_2025_backend().await;
    // The tool asks for elicitation and sampling when it may; this client can only sample.
    let params = json!({"name": "fx__test_input_required_result_capabilities", "arguments": {}});
    let reply = post_stateless(
        &client,
        stateless(1, "tools/call", params, json!({"sampling": {}})),
    )
    .await;
    let first = reply.result(1);
    assert_eq!(first["resultType"], "input_required", "{first}");
    let methods: Vec<&str> = first["inputRequests"]
        .as_object()
        .unwrap()
        .values()
        .map(|q| q["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["sampling/createMessage"], "{first}");
    gw.stop().await;
}

#[tokio::test]
async fn legacy_sse_clients_are_served() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/sse", gw.base))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut events = resp.bytes_stream().eventsource();
    let endpoint = events.next().await.unwrap().unwrap();
    assert_eq!(endpoint.event, "endpoint");
    let post_url = format!("{}{}", gw.base, endpoint.data);
    let send = |body: Value| {
        let http = http.clone();
        let url = post_url.clone();
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}}})).await,
        202
    );
    let init: Value = serde_json::from_str(&events.next().await.unwrap().unwrap().data).unwrap();
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "fx__echo", "arguments": {"text": "sse"}}})).await;
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let e = events.next().await.unwrap().unwrap();
            let v: Value = serde_json::from_str(&e.data).unwrap();
            if v["id"] == 2 {
                return v;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(answer["result"]["content"][0]["text"], "sse");
    assert_eq!(gw.gateway.session_count(), 1);
    drop(events);
    support::wait_for("the SSE session to close", Duration::from_secs(5), || {
        gw.gateway.session_count() == 0
    })
    .await;
    gw.stop().await;
}
