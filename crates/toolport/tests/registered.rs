//! APIs and MCP servers a tenant registers through the admin API and the CLI (`toolport api`,
//! `toolport server`): served to that tenant's tokens only, with the tenant's vault secrets
//! injected (and re-injected when they change), selectable into its virtual endpoints, kept across
//! restarts, gone when deleted; and refused, with the key and the way out, where a tenant may not
//! go (stdio commands, private addresses, local files, literal credentials, names the
//! configuration uses, the plan's limits).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::Client;
use support::binary::{
    ADMIN_TOKEN, Gateway, PING_SPEC, cli_output_as, fixture_server, recording_api, tenant_token,
};
use toolport_store::Role;

/// A tenant `name` on `plan` with an owner whose token has the `admin` and `mcp` scopes.
async fn tenant_owner(gw: &Gateway, name: &str, plan: &str) -> String {
    let email = format!("owner@{name}.test");
    tenant_token(
        &gw.data_dir(),
        name,
        plan,
        &email,
        Role::Owner,
        &["admin", "mcp"],
    )
    .await
}

/// Runs `toolport ARGS` with `token`; the printed JSON, or the error line when it fails.
async fn cli_as(gw: &Gateway, token: &str, args: &[&str], stdin: &str) -> Result<Value, String> {
    let output = cli_output_as(gw, token, args, stdin).await;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap()
    })
}

async fn admin_request(
    gw: &Gateway,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/api/v1/{path}", gw.base()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.unwrap();
    let status = reply.status().as_u16();
    let text = reply.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Polls `tools/list` of a new session until `check` holds (lists follow registrations at once,
/// but a new backend needs a moment to start).
async fn tools_until(gw: &Gateway, token: &str, check: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut tools = Vec::new();
    for _ in 0..100 {
        let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", token).await;
        tools = client.tool_names().await;
        if check(&tools) {
            return tools;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the tool list never got there: {tools:?}")
}

#[tokio::test]
async fn a_tenants_own_api_and_server_serve_it_alone_with_its_secrets() {
    let (api_url, seen) = recording_api().await;
    let web = toolport_testkit::spawn_http(&["--name", "web"])
        .await
        .unwrap();
    let mut gw = Gateway::new();
    gw.write_config(json!({
        "mcpServers": {"files": fixture_server()},
        "toolport": {"ssrf": {"allowHosts": ["127.0.0.1"]}}
    }));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let acme = tenant_owner(&gw, "acme", "pro").await;
    let bravo = tenant_owner(&gw, "bravo", "pro").await;

    cli_as(&gw, &acme, &["secret", "set", "API_TOKEN"], "first")
        .await
        .unwrap();
    // A description over the server's 4 MiB body limit still uploads.
    let mut spec: Value = serde_json::from_str(PING_SPEC).unwrap();
    spec["info"]["description"] = json!("x".repeat(5 * 1024 * 1024));
    let spec_path = gw.data_dir().join("ping.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let added = cli_as(
        &gw,
        &acme,
        &[
            "api",
            "add",
            "ping",
            spec_path.to_str().unwrap(),
            "--base-url",
            &api_url,
            "--bearer-secret",
            "API_TOKEN",
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(added["kind"], "api");
    assert_eq!(added["definition"]["auth"]["token"], "${secret:API_TOKEN}");
    assert!(added["document_bytes"].as_u64().unwrap() > 5 * 1024 * 1024);
    let server = cli_as(&gw, &acme, &["server", "add", "web", web.url()], "")
        .await
        .unwrap();
    assert_eq!(server["kind"], "server");

    let tools = tools_until(&gw, &acme, |t| {
        t.iter().any(|n| n == "ping__ping") && t.iter().any(|n| n == "web__echo")
    })
    .await;
    assert!(
        !tools.iter().any(|n| n == "files__echo"),
        "ungranted file server: {tools:?}"
    );
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", &acme).await;
    let pinged = client.call(2, "ping__ping", json!({})).await;
    assert_eq!(pinged["structuredContent"]["pong"], true, "{pinged}");
    assert_eq!(seen.lock().unwrap().last().unwrap(), "Bearer first");
    let echoed = client.call(3, "web__echo", json!({"text": "hi"})).await;
    assert_eq!(echoed["content"][0]["text"], "hi");

    // Only acme sees them: not bravo, not even the administrator.
    for token in [&bravo, ADMIN_TOKEN] {
        let other = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", token).await;
        let names = other.tool_names().await;
        assert!(
            names
                .iter()
                .all(|n| !n.starts_with("ping__") && !n.starts_with("web__")),
            "{names:?}"
        );
        let refused = other
            .request(
                4,
                "tools/call",
                json!({"name": "ping__ping", "arguments": {}}),
            )
            .await;
        assert!(
            refused.error(4)["message"]
                .as_str()
                .unwrap()
                .contains("unknown tool")
        );
    }
    let (status, problem) = admin_request(
        &gw,
        &bravo,
        reqwest::Method::GET,
        "tenants/acme/apis/ping",
        None,
    )
    .await;
    let (missing, _) = admin_request(
        &gw,
        &bravo,
        reqwest::Method::GET,
        "tenants/nowhere/apis/ping",
        None,
    )
    .await;
    assert_eq!((status, missing), (404, 404), "{problem}");

    // The state shows in the list; a changed secret is injected without a restart.
    let listed = cli_as(&gw, &acme, &["api", "list"], "").await.unwrap();
    assert_eq!(listed[0]["name"], "ping");
    assert_eq!(listed[0]["state"]["state"], "ready", "{listed}");
    assert_eq!(listed[0]["state"]["tools"], 1);
    cli_as(&gw, &acme, &["secret", "set", "API_TOKEN"], "second")
        .await
        .unwrap();
    let mut injected = String::new();
    // The poll finds the change within seconds; the restart reloads a 5 MiB description.
    for attempt in 0..300 {
        // The API restarts with the new value: meanwhile a call may find no such tool.
        let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", &acme).await;
        let params = json!({"name": "ping__ping", "arguments": {}});
        client.request(10 + attempt, "tools/call", params).await;
        injected = seen.lock().unwrap().last().unwrap().clone();
        if injected == "Bearer second" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(injected, "Bearer second");

    // A virtual endpoint of acme selects the registered server's tool by the tenant's name.
    cli_as(&gw, &acme, &["endpoint", "create", "acme-web"], "")
        .await
        .unwrap();
    cli_as(
        &gw,
        &acme,
        &[
            "endpoint", "tool", "add", "acme-web", "web", "echo", "--as", "say",
        ],
        "",
    )
    .await
    .unwrap();
    let composed =
        Client::connect_as(format!("{}/mcp/acme-web", gw.base()), "2025-11-25", &acme).await;
    let said = composed.call(2, "say", json!({"text": "composed"})).await;
    assert_eq!(said["content"][0]["text"], "composed");

    // Registrations survive a restart; a deleted one is gone at once.
    gw.stop().await;
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    tools_until(&gw, &acme, |t| t.iter().any(|n| n == "ping__ping")).await;
    cli_as(&gw, &acme, &["api", "remove", "ping"], "")
        .await
        .unwrap();
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", &acme).await;
    let names = client.tool_names().await;
    assert!(names.iter().all(|n| !n.starts_with("ping__")), "{names:?}");
    // The audit log is written in batches: wait for the last change to land.
    let mut actions = Vec::new();
    for _ in 0..50 {
        let audit = cli_as(&gw, &acme, &["audit", "list"], "").await.unwrap();
        actions = audit
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str().map(str::to_owned))
            .collect();
        if actions.iter().any(|a| a == "api.delete") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for action in ["api.register", "server.register", "api.delete"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not audited: {actions:?}"
        );
    }
    gw.stop().await;
}

#[tokio::test]
async fn what_a_tenant_may_not_register_is_refused_with_the_key_and_the_way_out() {
    let web = toolport_testkit::spawn_http(&[]).await.unwrap();
    let mut gw = Gateway::new();
    gw.write_config(json!({
        "mcpServers": {"files": fixture_server()},
        "toolport": {"plans": {"tiny": {"apis": 2, "toolsPerApi": 1}}}
    }));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let acme = tenant_owner(&gw, "acme", "tiny").await;
    let post = async |kind: &str, body: Value| {
        admin_request(
            &gw,
            &acme,
            reqwest::Method::POST,
            &format!("tenants/acme/{kind}"),
            Some(body),
        )
        .await
    };
    let ping: Value = serde_json::from_str(PING_SPEC).unwrap();
    let cases = [
        (
            "servers",
            json!({"name": "shell", "definition": {"command": "sh", "args": ["-c", "id"]}}),
            422,
            "allowRegisteredStdio",
        ),
        (
            "servers",
            json!({"name": "local", "definition": {"url": web.url()}}),
            422,
            "toolport.ssrf.allowHosts",
        ),
        (
            "apis",
            json!({"name": "files2", "definition": {"spec": "/etc/passwd"}}),
            422,
            "never read from the gateway's files",
        ),
        (
            "apis",
            json!({"name": "lit", "definition": {"auth": {"type": "bearer", "token": "abc"}},
                   "document": PING_SPEC}),
            422,
            "definition.auth.token",
        ),
        (
            "servers",
            json!({"name": "env", "definition": {"url": "https://mcp.example.com/${TOOLPORT_MASTER_KEY}"}}),
            422,
            "gateway's environment",
        ),
        (
            "apis",
            json!({"name": "files", "definition": {}, "document": PING_SPEC}),
            409,
            "configuration file",
        ),
        (
            "apis",
            json!({"name": "broken", "definition": {}, "document": "{\"openapi\": "}),
            422,
            "`document`",
        ),
        (
            "apis",
            json!({"name": "a__b", "definition": {}, "document": PING_SPEC}),
            422,
            "single `_`",
        ),
    ];
    for (kind, body, status, hint) in cases {
        let (got, problem) = post(kind, body.clone()).await;
        assert_eq!(got, status, "{body}: {problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(hint), "{body}: {detail}");
    }

    // The plan: one tool per API, two registrations.
    let mut two_tools = ping.clone();
    two_tools["paths"]["/pong"] =
        json!({"get": {"operationId": "pong", "responses": {"200": {"description": "ok"}}}});
    let (status, problem) = post(
        "apis",
        json!({"name": "wide", "definition": {}, "document": two_tools.to_string()}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("yields 2 tools"),
        "{problem}"
    );
    for name in ["one", "two"] {
        let (status, problem) = post(
            "apis",
            json!({"name": name, "definition": {}, "document": PING_SPEC}),
        )
        .await;
        assert_eq!(status, 201, "{problem}");
    }
    let (status, problem) = post(
        "apis",
        json!({"name": "one", "definition": {}, "document": PING_SPEC}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("already has"),
        "{problem}"
    );
    let (status, problem) = post(
        "apis",
        json!({"name": "three", "definition": {}, "document": PING_SPEC}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("plan"),
        "{problem}"
    );
    // An API is not a server, whatever its name.
    let (status, _) = admin_request(
        &gw,
        &acme,
        reqwest::Method::GET,
        "tenants/acme/servers/one",
        None,
    )
    .await;
    assert_eq!(status, 404);
    gw.stop().await;
}
