//! Virtual endpoints end to end, with the real binary and the fixture MCP server: an endpoint made
//! with the CLI serves exactly its renamed, redescribed tool to a real MCP session (which the
//! fixture answers), nothing else exists there, its sessions hear of changes, another tenant's
//! token finds nothing on `/mcp/{slug}` or `/sse/{slug}`, and names clashing with the
//! configuration are refused by the API, on reload and at start. In process (open access): a
//! slug's sessions never reach another slug's tools, nor a later endpoint that took their slug.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::binary::{ADMIN_TOKEN, Gateway, cli, cli_output, fixture_server, initialize};
use support::{Client, TestGateway, config, fixture_stdio, server};
use toolport_gateway::{VirtualEndpoint, VirtualTool};
use toolport_import::Mode;

fn endpoint(slug: &str, id: &str, tools: &[(&str, &str)]) -> VirtualEndpoint {
    VirtualEndpoint {
        id: id.into(),
        tenant_id: "t".into(),
        slug: slug.into(),
        mode: Mode::Tools,
        tools: tools
            .iter()
            .map(|(exposed, tool)| VirtualTool {
                exposed: (*exposed).into(),
                upstream: "fx".into(),
                tool: (*tool).into(),
                description: None,
                visible: true,
            })
            .collect(),
    }
}

#[tokio::test]
async fn sessions_stay_within_their_own_endpoint() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    gw.gateway.set_virtual_endpoints(vec![
        endpoint("one", "id-1", &[("e1", "echo")]),
        endpoint("two", "id-2", &[("plus", "add")]),
    ]);
    let one = Client::connect(format!("{}/mcp/one", gw.base), "2025-11-25").await;
    let two = Client::connect(format!("{}/mcp/two", gw.base), "2025-11-25").await;
    assert_eq!(one.tool_names().await, ["e1"]);
    assert_eq!(two.tool_names().await, ["plus"]);
    let reply = one
        .request(
            1,
            "tools/call",
            json!({"name": "plus", "arguments": {"a": 1, "b": 2}}),
        )
        .await;
    assert_eq!(reply.error(1)["code"], -32602, "another slug's tool");

    // `one` is deleted and its slug taken by a new endpoint; `two` is deleted.
    gw.gateway
        .set_virtual_endpoints(vec![endpoint("one", "id-3", &[("plus2", "add")])]);
    assert_eq!(one.tool_names().await, Vec::<String>::new());
    for (id, name) in [(2, "e1"), (3, "plus2")] {
        let reply = one
            .request(
                id,
                "tools/call",
                json!({"name": name, "arguments": {"text": "x"}}),
            )
            .await;
        assert_eq!(reply.error(id)["code"], -32602, "{name}");
    }
    let reply = two.request(4, "tools/list", json!({})).await;
    assert_eq!(
        reply.status, 404,
        "a deleted endpoint is gone for its sessions too"
    );
    let fresh = Client::connect(format!("{}/mcp/one", gw.base), "2025-11-25").await;
    assert_eq!(fresh.tool_names().await, ["plus2"]);
    let gone = Client::new(format!("{}/mcp/two", gw.base))
        .post(initialize())
        .await;
    assert_eq!(gone.status, 404);
    gw.stop().await;
}

/// A tenant `bravo` with an admin whose token has `admin` and `mcp`; returns the token.
async fn bravo_token(gw: &Gateway) -> String {
    cli(gw, &["tenant", "create", "bravo"], "").await;
    let user = cli(
        gw,
        &["user", "create", "admin@bravo.test", "--name", "Bravo"],
        "",
    )
    .await;
    let user_id = user["id"].as_str().unwrap();
    cli(
        gw,
        &[
            "member", "add", user_id, "--role", "admin", "--tenant", "bravo",
        ],
        "",
    )
    .await;
    let created = cli(
        gw,
        &[
            "token",
            "create",
            "b",
            "--scope",
            "admin",
            "--scope",
            "mcp",
            "--user-id",
            user_id,
            "--tenant",
            "bravo",
        ],
        "",
    )
    .await;
    created["token"].as_str().unwrap().to_owned()
}

/// A POST of `initialize` to `path` with `token`: status and body.
async fn initialize_at(gw: &Gateway, path: &str, token: &str) -> (u16, String) {
    let reply = reqwest::Client::new()
        .post(format!("{}{path}", gw.base()))
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(token)
        .json(&initialize())
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

/// A GET of the legacy SSE stream at `path` with `token`: status and body (when it is not a
/// stream).
async fn sse_at(gw: &Gateway, path: &str, token: &str) -> (u16, String) {
    let reply = reqwest::Client::new()
        .get(format!("{}{path}", gw.base()))
        .header("accept", "text/event-stream")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    assert_ne!(status, 200, "{path} opened a stream");
    (status, reply.text().await.unwrap())
}

/// Waits (at most 10 s) for a notification with `method` on a session stream.
async fn notified(stream: &mut tokio::sync::mpsc::UnboundedReceiver<Value>, method: &str) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(message) = stream.recv().await {
            if message["method"] == method {
                return;
            }
        }
        panic!("the session stream ended before {method}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {method} within 10 s"));
}

#[tokio::test]
async fn a_virtual_endpoint_serves_exactly_its_tools_to_its_own_tenant() {
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {"fx": fixture_server()}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    support::wait_for_async("the fixture's tools", Duration::from_secs(30), async || {
        let aggregate =
            Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
        aggregate.tool_names().await.contains(&"fx__echo".into())
    })
    .await;

    let created = cli(
        &gw,
        &[
            "endpoint",
            "create",
            "team",
            "--description",
            "The team's tools",
        ],
        "",
    )
    .await;
    assert_eq!(created["slug"], "team");
    let added = cli(
        &gw,
        &[
            "endpoint",
            "tool",
            "add",
            "team",
            "fx",
            "echo",
            "--as",
            "say",
            "--description",
            "Repeats what you say.",
        ],
        "",
    )
    .await;
    assert_eq!(added["tools"][0]["name"], "say");

    // A real MCP session on /mcp/team: exactly the one tool, renamed and redescribed, with the
    // fixture's own input schema; the fixture answers the call.
    let url = format!("{}/mcp/team", gw.base());
    let client = Client::connect_as(&url, "2025-11-25", ADMIN_TOKEN).await;
    let listed = client.request(1, "tools/list", json!({})).await;
    let tools = listed.result(1)["tools"].as_array().unwrap().clone();
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0]["name"], "say");
    assert_eq!(tools[0]["description"], "Repeats what you say.");
    assert_eq!(
        tools[0]["inputSchema"]["properties"]["text"]["type"],
        "string"
    );
    let answer = client.call(2, "say", json!({"text": "hello team"})).await;
    assert_eq!(answer["content"][0]["text"], "hello team");

    // Nothing else exists there: the backend's own name of the tool, its other tools, prompts
    // and resources.
    for (id, name) in [
        (3, "echo"),
        (4, "add"),
        (5, "fx__echo"),
        (6, "no_such_tool"),
    ] {
        let reply = client
            .request(
                id,
                "tools/call",
                json!({"name": name, "arguments": {"text": "x", "a": 1, "b": 2}}),
            )
            .await;
        let error = reply.error(id);
        assert_eq!(error["code"], -32602, "{name}: {error}");
        assert_eq!(
            error["message"],
            format!("unknown tool {name:?}; call tools/list to see the available tools"),
            "{name} must look like a tool that does not exist"
        );
    }
    let prompts = client.request(7, "prompts/list", json!({})).await;
    assert_eq!(prompts.result(7)["prompts"], json!([]));
    let resources = client.request(8, "resources/list", json!({})).await;
    assert_eq!(resources.result(8)["resources"], json!([]));

    // Its sessions hear of a change, and see it.
    let mut stream = client.open_stream().await;
    cli(
        &gw,
        &[
            "endpoint", "tool", "add", "team", "fx", "add", "--as", "sum", "--hidden",
        ],
        "",
    )
    .await;
    notified(&mut stream, "notifications/tools/list_changed").await;
    assert_eq!(
        client.tool_names().await,
        ["say"],
        "hidden tools stay hidden"
    );
    let reply = client
        .request(
            9,
            "tools/call",
            json!({"name": "sum", "arguments": {"a": 1, "b": 2}}),
        )
        .await;
    assert_eq!(reply.error(9)["code"], -32602);
    cli(&gw, &["endpoint", "tool", "remove", "team", "sum"], "").await;

    // Another tenant's token: exactly the 404 of a slug that does not exist, on both transports,
    // although it may use every endpoint of its own tenant.
    let other = bravo_token(&gw).await;
    let (status, body) = initialize_at(&gw, "/mcp/team", &other).await;
    let (ghost_status, ghost_body) = initialize_at(&gw, "/mcp/nothing", &other).await;
    assert_eq!((status, ghost_status), (404, 404));
    assert_eq!(body, ghost_body.replace("nothing", "team"));
    let (status, body) = sse_at(&gw, "/sse/team", &other).await;
    let (_, ghost_body) = sse_at(&gw, "/sse/nothing", &other).await;
    assert_eq!(status, 404);
    assert_eq!(body, ghost_body.replace("nothing", "team"));
    // Nor can it reach the session, or the endpoint through its own tenant's admin API.
    let mut intruder = client.clone();
    intruder.token = Some(other.clone());
    assert_eq!(
        intruder.request(10, "tools/list", json!({})).await.status,
        404
    );
    let refused = cli_output(
        &gw,
        &[
            "endpoint", "show", "team", "--tenant", "bravo", "--token", &other,
        ],
        "",
    )
    .await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("endpoint not found"));
    // The owner's session is untouched.
    assert_eq!(
        client.call(11, "say", json!({"text": "still mine"})).await["content"][0]["text"],
        "still mine"
    );

    // Ending the session ends its stream, which would otherwise hold the shutdown up.
    let ended = reqwest::Client::new()
        .delete(&url)
        .bearer_auth(ADMIN_TOKEN)
        .header(support::SESSION, client.session.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    drop(stream);

    // The rest of the endpoint commands.
    let updated = cli(
        &gw,
        &["endpoint", "update", "team", "--description", "Renamed"],
        "",
    )
    .await;
    assert_eq!(updated["description"], "Renamed");
    let listed = cli(&gw, &["endpoint", "list"], "").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["tools"][0]["tool"], "echo");
    cli(&gw, &["endpoint", "delete", "team"], "").await;
    let (status, _) = initialize_at(&gw, "/mcp/team", ADMIN_TOKEN).await;
    assert_eq!(status, 404, "a deleted endpoint is gone at once");
    gw.stop().await;
}

#[tokio::test]
async fn names_clashing_with_the_configuration_are_refused() {
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {"fx": fixture_server()}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;

    // By the admin API: the slug of a configured server.
    let clash = cli_output(&gw, &["endpoint", "create", "fx"], "").await;
    assert!(!clash.status.success());
    let stderr = String::from_utf8_lossy(&clash.stderr);
    assert!(
        stderr.contains("409")
            && stderr.contains("/mcp/fx is a server (or API) of the gateway's configuration file"),
        "{stderr}"
    );

    // On reload: a server named like an endpoint is refused and the last good configuration stays.
    cli(&gw, &["endpoint", "create", "ops"], "").await;
    gw.write_config(json!({"mcpServers": {"fx": fixture_server(), "ops": fixture_server()}}));
    support::wait_for("the refused reload", Duration::from_secs(20), || {
        gw.log().contains("configuration refused")
    })
    .await;
    assert!(
        gw.log()
            .contains("/mcp/ops is already a virtual endpoint of tenant"),
        "{}",
        gw.log()
    );
    let ops = Client::connect_as(format!("{}/mcp/ops", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    assert_eq!(ops.tool_names().await, Vec::<String>::new());
    gw.stop().await;

    // At start: the same file stops the gateway with the reason.
    let output = gw
        .command(&[])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the configuration defines the server (or API) \"ops\"")
            && stderr.contains("toolport endpoint delete ops"),
        "{stderr}"
    );
}

#[tokio::test]
async fn dispatch_and_search_modes_serve_the_selection_through_meta_tools() {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let mut dispatch = endpoint("ops", "id-d", &[("say", "echo"), ("plus", "add")]);
    dispatch.mode = Mode::Dispatch;
    let mut search = endpoint("find", "id-s", &[("say", "echo")]);
    search.mode = Mode::Search;
    gw.gateway.set_virtual_endpoints(vec![dispatch, search]);

    let ops = Client::connect(format!("{}/mcp/ops", gw.base), "2025-11-25").await;
    assert_eq!(
        ops.tool_names().await,
        [
            "ops__list_operations",
            "ops__describe_operation",
            "ops__call_operation"
        ]
    );
    let listed = ops.call(1, "ops__list_operations", json!({})).await;
    let names: Vec<&str> = listed["structuredContent"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["say", "plus"]);
    let described = ops
        .call(2, "ops__describe_operation", json!({"operation": "plus"}))
        .await;
    assert_eq!(described["structuredContent"]["path"], "fx/add");
    assert_eq!(
        described["structuredContent"]["inputSchema"]["required"],
        json!(["a", "b"])
    );
    let called = ops
        .call(
            3,
            "ops__call_operation",
            json!({"operation": "say", "arguments": {"text": "via dispatch"}}),
        )
        .await;
    assert_eq!(called["content"][0]["text"], "via dispatch");
    let unselected = ops
        .call(4, "ops__call_operation", json!({"operation": "echo"}))
        .await;
    assert_eq!(unselected["isError"], true, "{unselected}");

    let find = Client::connect(format!("{}/mcp/find", gw.base), "2025-11-25").await;
    assert_eq!(
        find.tool_names().await,
        ["find__search_operations", "find__call_operation"]
    );
    let found = find
        .call(
            5,
            "find__search_operations",
            json!({"query": "returns text"}),
        )
        .await;
    assert_eq!(found["structuredContent"]["results"][0]["name"], "say");
    let called = find
        .call(
            6,
            "find__call_operation",
            json!({"operation": "say", "arguments": {"text": "found"}}),
        )
        .await;
    assert_eq!(called["content"][0]["text"], "found");
    let reply = find
        .request(
            7,
            "tools/call",
            json!({"name": "find__list_operations", "arguments": {}}),
        )
        .await;
    assert_eq!(
        reply.error(7)["code"],
        -32602,
        "no such meta-tool in search mode"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_grant_removed_from_the_configuration_takes_the_tool_out_of_endpoints() {
    let mut gw = Gateway::new();
    let mut fx = fixture_server();
    fx["tenants"] = json!(["bravo"]);
    gw.write_config(json!({"mcpServers": {"fx": fx.clone()}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let bravo = bravo_token(&gw).await;
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/tenants/bravo/endpoints", gw.base()))
        .bearer_auth(&bravo)
        .json(&json!({"slug": "b-team",
                      "tools": [{"upstream": "fx", "tool": "echo", "name": "say"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let client =
        Client::connect_as(format!("{}/mcp/b-team", gw.base()), "2025-11-25", &bravo).await;
    assert_eq!(client.tool_names().await, ["say"]);
    assert_eq!(
        client.call(2, "say", json!({"text": "hi"})).await["content"][0]["text"],
        "hi"
    );

    // The administrator takes the grant back: the selection stays, but serves nothing.
    fx["tenants"] = json!([]);
    gw.write_config(json!({"mcpServers": {"fx": fx}}));
    support::wait_for_async(
        "the tool to leave the endpoint",
        Duration::from_secs(10),
        async || client.tool_names().await.is_empty(),
    )
    .await;
    let refused = client
        .request(
            3,
            "tools/call",
            json!({"name": "say", "arguments": {"text": "hi"}}),
        )
        .await;
    assert!(
        refused.error(3)["message"]
            .as_str()
            .unwrap()
            .contains("unknown tool"),
        "{:?}",
        refused.error(3)
    );
    let ended = reqwest::Client::new()
        .delete(format!("{}/mcp/b-team", gw.base()))
        .bearer_auth(&bravo)
        .header(support::SESSION, client.session.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    gw.stop().await;
}
