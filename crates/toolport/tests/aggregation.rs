//! Many backends behind one endpoint: namespacing, routing, per-server endpoints, filters, tags,
//! pagination, and exactly one upstream request per downstream request.

mod support;

use serde_json::json;
use support::{Client, TestGateway, config, fixture_stdio, server, upstream_counts};
use toolport_gateway::EndpointConfig;
use toolport_testkit::spawn_http;
use toolport_upstream::UpstreamSpec;

#[tokio::test]
async fn backends_of_every_transport_are_merged_and_routed() {
    let http = spawn_http(&["--name", "web"])
        .await
        .expect("fixture over HTTP");
    let sse = toolport_testkit::spawn_sse(&["--name", "old"])
        .await
        .expect("fixture over SSE");
    let gw = TestGateway::start(config(vec![
        server("local", fixture_stdio(&["--name", "local"])),
        server(
            "web",
            UpstreamSpec::StreamableHttp {
                url: http.url().to_string(),
                headers: Default::default(),
            },
        ),
        server(
            "old",
            UpstreamSpec::Sse {
                url: sse.url().to_string(),
                headers: Default::default(),
            },
        ),
    ]))
    .await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-06-18").await;
    let names = client.tool_names().await;
    for prefix in ["local", "web", "old"] {
        assert!(
            names.contains(&format!("{prefix}__echo")),
            "{prefix}__echo missing from {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .all(|n| toolport_gateway::names::is_client_safe(n)),
        "{names:?}"
    );
    for (i, prefix) in ["local", "web", "old"].iter().enumerate() {
        let result = client
            .call(
                10 + i as i64,
                &format!("{prefix}__echo"),
                json!({"text": prefix}),
            )
            .await;
        assert_eq!(result["content"][0]["text"], *prefix);
    }
    let info = client.call(20, "web__add", json!({"a": 2, "b": 3})).await;
    assert_eq!(info["structuredContent"]["sum"], 5.0);
    gw.stop().await;
}

#[tokio::test]
async fn one_upstream_request_per_downstream_request() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let before = upstream_counts(&client, "fx__call_count").await;
    for i in 0..25 {
        client.call(100 + i, "fx__echo", json!({"text": "x"})).await;
    }
    for _ in 0..5 {
        client.tool_names().await;
    }
    let after = upstream_counts(&client, "fx__call_count").await;
    let calls = |v: &serde_json::Value| v["methods"]["tools/call"].as_u64().unwrap_or(0);
    let lists = |v: &serde_json::Value| v["methods"]["tools/list"].as_u64().unwrap_or(0);
    // 25 echo calls plus the second call_count itself.
    assert_eq!(
        calls(&after) - calls(&before),
        26,
        "before {before}, after {after}"
    );
    // Lists are served from the catalog the gateway keeps; the backend was asked once at start.
    assert_eq!(lists(&after), lists(&before));
    assert_eq!(
        after["methods"]["initialize"], 1,
        "no per-call initialize: {after}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn per_server_endpoint_keeps_names_and_mirrors_the_backend() {
    let gw = TestGateway::start(config(vec![
        server("a", fixture_stdio(&["--name", "alpha"])),
        server("b", fixture_stdio(&["--name", "beta"])),
    ]))
    .await;
    gw.ready().await;
    let client = Client::new(format!("{}/mcp/a", gw.base));
    let init = client
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .await;
    assert_eq!(init.result(1)["serverInfo"]["name"], "alpha");
    let client = Client::connect(format!("{}/mcp/a", gw.base), "2025-11-25").await;
    let names = client.tool_names().await;
    assert!(
        names.contains(&"echo".to_string()) && !names.iter().any(|n| n.contains("__")),
        "{names:?}"
    );
    assert_eq!(
        client.call(2, "echo", json!({"text": "hi"})).await["content"][0]["text"],
        "hi"
    );
    let missing = Client::new(format!("{}/mcp/nope", gw.base))
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
        .await;
    assert_eq!(missing.status, 404);
    gw.stop().await;
}

#[tokio::test]
async fn filters_tags_endpoints_and_pagination() {
    let (name_a, mut a) = server("a", fixture_stdio(&[]));
    a.tools.allow = vec!["echo".into(), "add".into(), "slow".into()];
    a.tools.deny = vec!["slow".into()];
    a.tags = vec!["dev".into()];
    let (name_b, b) = server("b", fixture_stdio(&[]));
    let mut cfg = config(vec![(name_a, a), (name_b, b)]);
    cfg.settings.page_size = 2;
    cfg.endpoints.insert(
        "devtools".into(),
        EndpointConfig {
            tags: vec!["dev".into()],
            servers: vec![],
        },
    );
    let gw = TestGateway::start(cfg).await;
    gw.ready().await;

    let tagged = Client::connect(format!("{}/mcp?tags=dev", gw.base), "2025-11-25").await;
    let endpoint = Client::connect(format!("{}/mcp/devtools", gw.base), "2025-11-25").await;
    for client in [&tagged, &endpoint] {
        // Walk the pages: two tools per page, opaque cursors.
        let mut names = Vec::new();
        let mut cursor = None;
        for id in 0..10 {
            let params = cursor.map_or(json!({}), |c| json!({"cursor": c}));
            let reply = client.request(id, "tools/list", params).await;
            let page = reply.result(id);
            let tools = page["tools"].as_array().unwrap();
            assert!(tools.len() <= 2);
            names.extend(
                tools
                    .iter()
                    .map(|t| t["name"].as_str().unwrap().to_string()),
            );
            cursor = page.get("nextCursor").cloned();
            if cursor.is_none() {
                break;
            }
        }
        names.sort();
        assert_eq!(names, ["a__add", "a__echo"]);
        let denied = client
            .request(
                50,
                "tools/call",
                json!({"name": "a__slow", "arguments": {}}),
            )
            .await;
        assert_eq!(denied.error(50)["code"], -32602);
        let other = client
            .request(
                51,
                "tools/call",
                json!({"name": "b__echo", "arguments": {"text": "x"}}),
            )
            .await;
        assert_eq!(
            other.error(51)["code"],
            -32602,
            "b is outside the tag selection"
        );
    }
    let bad_cursor = tagged
        .request(60, "tools/list", json!({"cursor": "???"}))
        .await;
    assert!(
        bad_cursor.error(60)["message"]
            .as_str()
            .unwrap()
            .contains("cursor")
    );
    gw.stop().await;
}

#[tokio::test]
async fn resources_prompts_and_completions_route_through_namespaces() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let client = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let list = client.request(1, "resources/list", json!({})).await;
    let uris: Vec<String> = list.result(1)["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap().to_string())
        .collect();
    assert!(
        uris.contains(&"fx+test://static-text".to_string()),
        "{uris:?}"
    );
    let read = client
        .request(2, "resources/read", json!({"uri": "fx+test://static-text"}))
        .await;
    let contents = &read.result(2)["contents"][0];
    assert_eq!(contents["uri"], "fx+test://static-text");
    assert!(
        contents["text"]
            .as_str()
            .unwrap()
            .contains("static text resource")
    );
    let templated = client
        .request(
            3,
            "resources/read",
            json!({"uri": "fx+test://template/123/data"}),
        )
        .await;
    assert!(
        templated.result(3)["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("123")
    );
    // A resource embedded in a tool result carries the same namespaced URI.
    let embedded = client
        .call(7, "fx__test_embedded_resource", json!({}))
        .await;
    assert_eq!(
        embedded["content"][0]["resource"]["uri"], "fx+test://embedded-resource",
        "{embedded}"
    );
    let unknown = client
        .request(4, "resources/read", json!({"uri": "nobody+test://x"}))
        .await;
    assert_eq!(unknown.error(4)["code"], -32002);
    let prompt = client
        .request(5, "prompts/get", json!({"name": "fx__test_prompt_with_arguments", "arguments": {"arg1": "one", "arg2": "two"}}))
        .await;
    let text = prompt.result(5).to_string();
    assert!(text.contains("one") && text.contains("two"), "{text}");
    let completion = client
        .request(6, "completion/complete", json!({"ref": {"type": "ref/prompt", "name": "fx__test_prompt_with_arguments"}, "argument": {"name": "arg1", "value": "t"}}))
        .await;
    assert!(completion.result(6)["completion"]["values"].is_array());
    gw.stop().await;
}
