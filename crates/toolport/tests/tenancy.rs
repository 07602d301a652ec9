//! The binary with its data directory: the first administrator, API tokens on the MCP routes,
//! sessions bound to their caller, the master key check, and vault secrets in the configuration
//! reaching the upstream (and nowhere else).

mod support;

use std::process::Stdio;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use serde_json::{Value, json};
use support::Client;
use support::binary::{
    ADMIN_TOKEN, Gateway, PING_SPEC, cli, initialize, other_tenant_token, recording_api,
    shared_fixture_server,
};
use toolport_store::{SqliteStore, Store};
use toolport_vault::{MasterKey, Vault};

#[tokio::test]
async fn mcp_routes_need_a_token_whose_scopes_cover_them() {
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {"fx": shared_fixture_server()}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>| {
        let mut req = http
            .post(format!("{}{path}", gw.base()))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    let missing = post("/mcp", None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="toolport""#
    );
    let wrong = post("/mcp/fx", Some("tp_not_a_real_token_at_all_000000"))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert_eq!(post("/mcp", Some(ADMIN_TOKEN)).await.unwrap().status(), 200);
    assert_eq!(
        post("/sse", None).await.unwrap().status(),
        401,
        "the legacy SSE route is guarded too"
    );

    // A token for another endpoint only: 403 naming the scope it would need.
    let narrow = other_tenant_token(&gw.data_dir(), &["mcp:elsewhere"]).await;
    let refused = post("/mcp/fx", Some(&narrow)).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("mcp:fx"));

    // Someone else's session does not exist for you.
    let admin = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    assert!(admin.tool_names().await.contains(&"fx__echo".to_string()));
    let other = other_tenant_token(&gw.data_dir(), &["mcp"]).await;
    let mut intruder = Client::new(format!("{}/mcp", gw.base()));
    intruder.session = admin.session.clone();
    intruder.token = Some(other);
    let reply = intruder
        .request(
            5,
            "tools/call",
            json!({"name": "fx__echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(reply.status, 404, "{reply:?}");
    // ... exactly as one that never existed, on every route that names a session.
    let never = "0123456789abcdef0123456789abcdef";
    let answer = |method: reqwest::Method, url: String, session: Option<&str>| {
        let mut req = http
            .request(method, url)
            .bearer_auth(intruder.token.as_deref().unwrap())
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "ping"}));
        if let Some(id) = session {
            req = req.header("mcp-session-id", id);
        }
        async move {
            let reply = req.send().await.unwrap();
            (reply.status(), reply.text().await.unwrap())
        }
    };
    let theirs = admin.session.clone().unwrap();
    let mcp = format!("{}/mcp", gw.base());
    for method in [
        reqwest::Method::POST,
        reqwest::Method::GET,
        reqwest::Method::DELETE,
    ] {
        let (status, body) = answer(method.clone(), mcp.clone(), Some(&theirs)).await;
        let missing = answer(method.clone(), mcp.clone(), Some(never)).await;
        assert_eq!(status, 404, "{method} {body}");
        assert_eq!((status, body.replace(&theirs, never)), missing, "{method}");
    }
    let legacy = http
        .get(format!("{}/sse", gw.base()))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    // The stream stays open (and with it the session) until the checks are done.
    let mut events = legacy.bytes_stream().eventsource();
    let endpoint = events.next().await.unwrap().unwrap();
    let (path, legacy_id) = endpoint.data.split_once("sessionId=").unwrap();
    let (status, body) = answer(
        reqwest::Method::POST,
        format!("{}{}", gw.base(), endpoint.data),
        None,
    )
    .await;
    let missing = answer(
        reqwest::Method::POST,
        format!("{}{path}sessionId={never}", gw.base()),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!((status, body.replace(legacy_id, never)), missing);
    let owners = http
        .post(format!("{}{}", gw.base(), endpoint.data))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"jsonrpc": "2.0", "id": 8, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        owners.status(),
        202,
        "the legacy session was alive throughout"
    );
    drop(events);
    assert_eq!(
        admin.call(6, "fx__echo", json!({"text": "mine"})).await["content"][0]["text"],
        "mine"
    );
    gw.stop().await;
    assert!(
        !gw.log().contains(ADMIN_TOKEN),
        "the admin token must not be logged"
    );
}

#[tokio::test]
async fn first_run_prints_the_administrator_token_once() {
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {}}));
    gw.start(&[]).await;
    gw.stop().await;
    let first = gw.log();
    let token = first
        .split_whitespace()
        .find(|w| w.starts_with("tp_"))
        .unwrap_or_else(|| panic!("no token printed on first run:\n{first}"))
        .to_string();
    assert!(first.contains("created a new master key"), "{first}");
    let mode = std::fs::metadata(gw.data_dir().join("master.key"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    gw.start(&[]).await;
    let second = gw.log();
    assert!(
        !second.contains("tp_"),
        "the token is shown once:\n{second}"
    );
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", &token).await;
    assert!(client.tool_names().await.is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn a_wrong_master_key_stops_the_start() {
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {}}));
    gw.start(&[]).await;
    gw.stop().await;
    let other = MasterKey::generate().export_base64();
    let output = gw
        .command(&[("TOOLPORT_MASTER_KEY", other.as_str())])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the master key does not open the vault"),
        "{stderr}"
    );
    assert!(!stderr.contains(other.as_str()), "the key is never printed");
}

#[tokio::test]
async fn vault_secrets_reach_the_upstream_and_nowhere_else() {
    const FIRST: &str = "s3cr3t-value-first-7f3a9c";
    const SECOND: &str = "s3cr3t-value-second-51be02";
    let (api_url, seen) = recording_api().await;
    let mut gw = Gateway::new();
    std::fs::write(gw.dir.path().join("ping.json"), PING_SPEC).unwrap();
    let key = MasterKey::generate();
    let key_text = key.export_base64();
    let env = [
        ("TOOLPORT_MASTER_KEY", key_text.as_str()),
        ("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let with_api = json!({"mcpServers": {}, "apis": {"ping": {
        "spec": "ping.json", "baseUrl": api_url,
        "auth": {"type": "bearer", "token": "${secret:ping_token}"}}},
        "toolport": {"ssrf": {"allowHosts": ["127.0.0.1"]}}});

    // The configuration cannot start while the secret is missing, and says how to set it.
    gw.write_config(with_api.clone());
    let refused = gw
        .command(&env)
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("apis.ping.auth.token"), "{stderr}");
    assert!(
        stderr.contains("toolport secret set ping_token"),
        "{stderr}"
    );

    // Set it (sealed by the administrator tenant's vault), then start.
    let vault = Vault::new(MasterKey::from_env_value(&key_text).unwrap());
    let store = SqliteStore::open(&gw.data_dir()).await.unwrap();
    let tenant = store.tenant_by_name("default").await.unwrap();
    let put = async |value: &str| {
        let sealed = vault
            .seal(&tenant.id, "ping_token", value.as_bytes())
            .unwrap();
        store
            .put_secret(&tenant.id, "ping_token", &sealed)
            .await
            .unwrap();
    };
    put(FIRST).await;
    gw.start(&env).await;
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    support::wait_for_async("the ping tool", Duration::from_secs(20), async || {
        client
            .tool_names()
            .await
            .contains(&"ping__ping".to_string())
    })
    .await;
    let result = client.call(2, "ping__ping", json!({})).await;
    assert_ne!(result["isError"], json!(true), "{result}");
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {FIRST}")
    );

    // A new value is picked up without restarting the gateway (the API itself restarts with it,
    // so a call meanwhile may find it starting).
    put(SECOND).await;
    support::wait_for_async(
        "the new secret in use",
        Duration::from_secs(20),
        async || {
            let params = json!({"name": "ping__ping", "arguments": {}});
            client.request(3, "tools/call", params).await;
            seen.lock().unwrap().last().unwrap() == &format!("Bearer {SECOND}")
        },
    )
    .await;
    gw.stop().await;
    store.close().await;

    // Neither value is anywhere in the data directory or the log.
    for (path, bytes) in toolport_testkit::files::stored_files(&gw.data_dir()) {
        for value in [FIRST, SECOND] {
            assert!(
                !toolport_testkit::files::contains(&bytes, value.as_bytes()),
                "{value} found in {}",
                path.display()
            );
        }
    }
    let log = gw.log();
    assert!(!log.contains(FIRST) && !log.contains(SECOND), "{log}");
}

#[tokio::test]
async fn the_cli_manages_tenants_tokens_and_secrets_through_the_admin_api() {
    const VALUE: &str = "cli-secret-value-94c1d7";
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {"fx": shared_fixture_server()}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;

    let tenant = cli(&gw, &["tenant", "create", "acme", "--plan", "pro"], "").await;
    assert_eq!(tenant["name"], "acme");
    let user = cli(&gw, &["user", "create", "dev@acme.test"], "").await;
    assert_eq!(
        user["name"], "dev",
        "without --name, the email's local part"
    );
    let user_id = user["id"].as_str().unwrap();
    cli(&gw, &["member", "add", user_id, "--tenant", "acme"], "").await;
    let created = cli(
        &gw,
        &[
            "token",
            "create",
            "laptop",
            "--scope",
            "mcp:fx",
            "--user-id",
            user_id,
            "--tenant",
            "acme",
        ],
        "",
    )
    .await;
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("tp_"));

    // The new token reaches the endpoint it was scoped to, and stops at once when revoked.
    let client = Client::connect_as(format!("{}/mcp/fx", gw.base()), "2025-11-25", token).await;
    assert!(client.tool_names().await.contains(&"echo".to_string()));
    let listed = cli(&gw, &["token", "list", "--tenant", "acme"], "").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(token),
        "token text is shown once"
    );
    let id = created["id"].as_str().unwrap();
    cli(&gw, &["token", "revoke", id, "--tenant", "acme"], "").await;
    let refused = client.request(9, "tools/list", json!({})).await;
    assert_eq!(refused.status, 401);

    // Secrets: set from stdin, listed without their value.
    cli(&gw, &["secret", "set", "api_key"], &format!("{VALUE}\n")).await;
    let secrets = cli(&gw, &["secret", "list"], "").await;
    assert_eq!(secrets[0]["name"], "api_key");
    assert!(!secrets.to_string().contains(VALUE));

    // The document the admin API is generated from is served.
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", gw.base()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    // The administrator's tenant owns the configuration: even another operator cannot delete it.
    let operator = other_tenant_token(&gw.data_dir(), &["operator", "admin"]).await;
    let refused = reqwest::Client::new()
        .delete(format!("{}/api/v1/tenants/default", gw.base()))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("configuration file"));
    gw.stop().await;
    assert!(!gw.log().contains(VALUE));
}
