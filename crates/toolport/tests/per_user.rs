//! Per-user credentials through the real binary: a stdio server whose environment references
//! `${user_secret:NAME}` runs one process per user, started on demand with that user's own secret,
//! shared by the user's sessions, stopped after `idleSeconds`, when the definition changes, when
//! the user's secret is deleted and on shutdown; a user without the secret gets a clear error and no process; no secret value reaches
//! the log or the data directory; an HTTP API gets each user's own credentials. In process: a
//! user's instance's list changes reach only that user's sessions and lists.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::binary::{
    ADMIN_TOKEN, Gateway, PING_SPEC, cli_output_as, fixture_server, other_tenant_token,
    recording_api,
};
use support::{Client, TestGateway, config, fixture_stdio, server, wait_for_async};
use toolport_gateway::{
    Caller, PerUser, Resolution, Scope, ServerConfig, Session, UserCredentials,
};
use toolport_protocol::{Message, Notification, Request, RequestId};
use toolport_testkit::files::{contains, stored_files};
use toolport_upstream::UpstreamSpec;

const ALICE_VALUE: &str = "ghp_alice-own-token-7d1e";
const BOB_VALUE: &str = "ghp_bob-own-token-42c9";
const IDLE_SECONDS: u64 = 5;

fn sha256(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `env_hash` of `GH_TOKEN` through the gateway: (hash, pid of the process that answered).
async fn env_hash(client: &Client, id: i64) -> (String, u64) {
    let result = client
        .call(id, "gh__env_hash", json!({"name": "GH_TOKEN"}))
        .await;
    let structured = &result["structuredContent"];
    (
        structured["sha256"]
            .as_str()
            .expect("GH_TOKEN is set")
            .to_owned(),
        structured["pid"].as_u64().expect("a pid"),
    )
}

fn is_alive(pid: u64) -> bool {
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

async fn readiness(gw: &Gateway) -> (u16, Value) {
    let resp = reqwest::get(format!("{}/readyz", gw.base())).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn set_own_secret(gw: &Gateway, token: &str, value: &str) {
    let output = cli_output_as(
        gw,
        token,
        &["secret", "set", "GH_TOKEN", "--mine"],
        &format!("{value}\n"),
    )
    .await;
    assert!(
        output.status.success(),
        "secret set --mine failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn each_user_runs_the_server_with_their_own_secret() {
    let mut gw = Gateway::new();
    let mut gh = fixture_server();
    gh["env"] = json!({"GH_TOKEN": "${user_secret:GH_TOKEN}"});
    gh["idleSeconds"] = json!(IDLE_SECONDS);
    gh["tenants"] = json!(["acme"]);
    gw.write_config(json!({"mcpServers": {"gh": gh}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;

    // Ready although no instance runs: the server has none shared.
    let (status, body) = readiness(&gw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["backends"][0]["state"], "per_user");
    assert_eq!(body["backends"][0]["instances"], 0);

    // Three users of one tenant; Alice and Bob set their own secret, Carol does not.
    let alice = other_tenant_token(&gw.data_dir(), &["mcp"]).await;
    let bob = other_tenant_token(&gw.data_dir(), &["mcp", "admin"]).await;
    let carol = other_tenant_token(&gw.data_dir(), &["mcp", "mcp:gh"]).await;
    set_own_secret(&gw, &alice, ALICE_VALUE).await;
    set_own_secret(&gw, &bob, BOB_VALUE).await;
    let listed = cli_output_as(&gw, &alice, &["secret", "list", "--mine"], "").await;
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["name"], "GH_TOKEN");
    assert!(!listed.to_string().contains(ALICE_VALUE));

    let mcp = format!("{}/mcp", gw.base());
    let alice_1 = Client::connect_as(&mcp, "2025-11-25", &alice).await;
    assert!(
        alice_1
            .tool_names()
            .await
            .contains(&"gh__env_hash".to_owned())
    );
    let (alice_hash, alice_pid) = env_hash(&alice_1, 2).await;
    assert_eq!(alice_hash, sha256(ALICE_VALUE));

    // Another session of Alice's shares her process.
    let alice_2 = Client::connect_as(&mcp, "2025-11-25", &alice).await;
    assert_eq!(env_hash(&alice_2, 2).await, (alice_hash.clone(), alice_pid));

    // Bob gets his own process with his own value.
    let bob_1 = Client::connect_as(&mcp, "2025-11-25", &bob).await;
    let (bob_hash, bob_pid) = env_hash(&bob_1, 2).await;
    assert_eq!(bob_hash, sha256(BOB_VALUE));
    assert_ne!(bob_pid, alice_pid);
    assert!(is_alive(alice_pid) && is_alive(bob_pid));

    // Carol lacks the secret: no tools of the server, a clear error, and no process.
    let carol_1 = Client::connect_as(&mcp, "2025-11-25", &carol).await;
    assert!(
        !carol_1
            .tool_names()
            .await
            .iter()
            .any(|n| n.starts_with("gh__"))
    );
    let reply = carol_1
        .request(
            2,
            "tools/call",
            json!({"name": "gh__env_hash", "arguments": {"name": "GH_TOKEN"}}),
        )
        .await;
    let error = reply.error(2);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("server \"gh\" runs with each user's own credentials")
            && message.contains("toolport secret set GH_TOKEN --mine"),
        "{error}"
    );
    assert_eq!(error["data"]["server"], "gh");
    let (_, body) = readiness(&gw).await;
    assert_eq!(body["backends"][0]["instances"], 2, "{body}");

    // Unused for idleSeconds, both processes stop.
    wait_for_async(
        "the idle instances to stop",
        Duration::from_secs(30),
        async || readiness(&gw).await.1["backends"][0]["instances"] == 0,
    )
    .await;
    wait_for_async(
        "the idle processes to exit",
        Duration::from_secs(10),
        async || !is_alive(alice_pid) && !is_alive(bob_pid),
    )
    .await;

    // The next call starts a new process for Alice, still with her value.
    let (again_hash, again_pid) = env_hash(&alice_1, 3).await;
    assert_eq!(again_hash, sha256(ALICE_VALUE));
    assert_ne!(again_pid, alice_pid);

    // A changed definition stops the running instances; the next call starts one anew.
    gh["idleSeconds"] = json!(600);
    gw.write_config(json!({"mcpServers": {"gh": gh}}));
    wait_for_async(
        "the redefined server's instance to stop",
        Duration::from_secs(30),
        async || !is_alive(again_pid),
    )
    .await;
    let (_, restarted_pid) = env_hash(&alice_1, 4).await;
    assert_ne!(restarted_pid, again_pid);

    // Deleting her secret: her next call says what to set, her process stops, her lists lose
    // the server.
    let deleted = cli_output_as(&gw, &alice, &["secret", "delete", "GH_TOKEN", "--mine"], "").await;
    assert!(deleted.status.success());
    let reply = alice_1
        .request(
            5,
            "tools/call",
            json!({"name": "gh__env_hash", "arguments": {"name": "GH_TOKEN"}}),
        )
        .await;
    let message = reply.error(5)["message"].as_str().unwrap().to_owned();
    assert!(message.contains("set your secret GH_TOKEN"), "{message}");
    wait_for_async(
        "alice's process to stop",
        Duration::from_secs(10),
        async || !is_alive(restarted_pid),
    )
    .await;
    assert!(
        !alice_1
            .tool_names()
            .await
            .iter()
            .any(|n| n.starts_with("gh__"))
    );

    // Shutdown stops the instances that still run.
    let (_, bob_again_pid) = env_hash(&bob_1, 3).await;
    gw.stop().await;
    assert!(
        !is_alive(bob_again_pid),
        "shutdown stops the user's instance"
    );
    let log = gw.log();
    assert!(log.contains("starting the user's instance"), "{log}");
    for value in [ALICE_VALUE, BOB_VALUE] {
        assert!(!log.contains(value), "the log leaks a user's secret");
        for (path, bytes) in stored_files(&gw.data_dir()) {
            assert!(
                !contains(&bytes, value.as_bytes()),
                "{} holds a user's secret in plaintext",
                path.display()
            );
        }
    }
}

/// Fills `${user_secret:GH_TOKEN}` with a value per user id, like the binary's store-backed
/// resolver does.
#[derive(Debug)]
struct UserValues(BTreeMap<String, String>);

impl UserCredentials for UserValues {
    fn resolve<'a>(
        &'a self,
        caller: &'a Caller,
        server: &'a str,
        definition: &'a ServerConfig,
    ) -> Resolution<'a> {
        Box::pin(async move {
            let value = self.0.get(&caller.user_id).cloned();
            definition
                .with_user_secrets(&|_| value.clone())
                .map_err(|name| format!("{server}: set {name}"))
        })
    }
}

fn caller(user: &str) -> Option<Arc<Caller>> {
    Some(Arc::new(Caller {
        tenant_id: "t".into(),
        tenant_name: "team".into(),
        user_id: user.into(),
        token_id: format!("{user}-token"),
    }))
}

async fn ask(
    gateway: &Arc<toolport_gateway::Gateway>,
    session: &Arc<Session>,
    id: i64,
    method: &str,
    params: Value,
) -> Value {
    let (sink, _) = tokio::sync::mpsc::unbounded_channel();
    let request = Request::new(RequestId::Number(id), method, Some(params));
    let response = gateway
        .handle(session, Message::Request(request), &sink)
        .await
        .expect("a response");
    response.outcome.expect("a result")
}

async fn tool_names(
    gateway: &Arc<toolport_gateway::Gateway>,
    session: &Arc<Session>,
) -> Vec<String> {
    ask(gateway, session, 1, "tools/list", json!({})).await["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_users_list_changes_reach_only_that_users_sessions() {
    let (name, mut gh) = server("gh", fixture_stdio(&[]));
    let UpstreamSpec::Stdio { env, .. } = &mut gh.spec else {
        unreachable!("the fixture runs over stdio");
    };
    env.insert("GH_TOKEN".into(), "${user_secret:GH_TOKEN}".into());
    gh.per_user = Some(PerUser {
        secrets: vec!["GH_TOKEN".into()],
        idle: PerUser::DEFAULT_IDLE,
    });
    let gw = TestGateway::start(config(vec![(name, gh)])).await;
    gw.gateway
        .set_user_credentials(Arc::new(UserValues(BTreeMap::from([
            ("alice".to_owned(), "a".to_owned()),
            ("bob".to_owned(), "b".to_owned()),
        ]))));
    let mut sessions = Vec::new();
    for user in ["alice", "bob", "carol"] {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let session = gw
            .gateway
            .open_session(user.into(), Scope::All, caller(user), tx);
        ask(
            &gw.gateway,
            &session,
            0,
            "initialize",
            json!({
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": user, "version": "1"}}),
        )
        .await;
        let (sink, _) = tokio::sync::mpsc::unbounded_channel();
        gw.gateway
            .handle(
                &session,
                Message::Notification(Notification::new("notifications/initialized", None)),
                &sink,
            )
            .await;
        sessions.push((session, rx));
    }
    let [(alice, _), (bob, _), (carol, carol_rx)] = &mut sessions[..] else {
        unreachable!()
    };
    let toggle = "gh__toggle_tool".to_owned();
    assert!(tool_names(&gw.gateway, alice).await.contains(&toggle));
    assert!(tool_names(&gw.gateway, bob).await.contains(&toggle));
    // Carol has no value: she has no instance, so nothing of gh ever changes for her.
    assert!(!tool_names(&gw.gateway, carol).await.contains(&toggle));

    // Alice's instance changes its tools: her list changes, Bob's and Carol's do not, and Carol
    // hears of no change.
    ask(
        &gw.gateway,
        alice,
        2,
        "tools/call",
        json!({"name": "gh__toggle_tool", "arguments": {}}),
    )
    .await;
    wait_for_async(
        "alice's list to change",
        Duration::from_secs(10),
        async || {
            tool_names(&gw.gateway, alice)
                .await
                .contains(&"gh__extra".to_owned())
        },
    )
    .await;
    assert!(
        !tool_names(&gw.gateway, bob)
            .await
            .contains(&"gh__extra".to_owned())
    );
    while let Ok(message) = carol_rx.try_recv() {
        assert!(
            !matches!(&message, Message::Notification(n) if n.method.ends_with("list_changed")),
            "carol heard of alice's list change: {message:?}"
        );
    }
    gw.stop().await;
}

#[tokio::test]
async fn each_user_calls_the_same_api_with_their_own_credentials() {
    const ALICE_API: &str = "alice-api-key-5e0a";
    const BOB_API: &str = "bob-api-key-c31f";
    let (api_url, seen) = recording_api().await;
    let mut gw = Gateway::new();
    std::fs::write(gw.dir.path().join("ping.json"), PING_SPEC).unwrap();
    gw.write_config(json!({"mcpServers": {}, "apis": {"ping": {
        "spec": "ping.json", "baseUrl": api_url,
        "auth": {"type": "bearer", "token": "${user_secret:PING_KEY}"}, "tenants": ["acme"]}},
        "toolport": {"ssrf": {"allowHosts": ["127.0.0.1"]}}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;

    let mcp = format!("{}/mcp", gw.base());
    for (scopes, value) in [(&["mcp"][..], ALICE_API), (&["mcp", "admin"][..], BOB_API)] {
        let token = other_tenant_token(&gw.data_dir(), scopes).await;
        let output = cli_output_as(
            &gw,
            &token,
            &["secret", "set", "PING_KEY", "--mine"],
            &format!("{value}\n"),
        )
        .await;
        assert!(output.status.success());
        let client = Client::connect_as(&mcp, "2025-11-25", &token).await;
        let result = client.call(2, "ping__ping", json!({})).await;
        assert_ne!(result["isError"], json!(true), "{result}");
        assert_eq!(
            seen.lock().unwrap().last().unwrap(),
            &format!("Bearer {value}")
        );
    }
    gw.stop().await;
    let log = gw.log();
    assert!(!log.contains(ALICE_API) && !log.contains(BOB_API), "{log}");
}

#[tokio::test]
async fn a_virtual_endpoint_serves_a_per_user_server_through_the_users_own_instance() {
    let mut gw = Gateway::new();
    let mut gh = fixture_server();
    gh["env"] = json!({"GH_TOKEN": "${user_secret:GH_TOKEN}"});
    gh["tenants"] = json!(["acme"]);
    gw.write_config(json!({"mcpServers": {"gh": gh}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let alice = other_tenant_token(&gw.data_dir(), &["mcp"]).await;
    set_own_secret(&gw, &alice, ALICE_VALUE).await;
    // The operator composes acme's endpoint before anyone has started an instance.
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/tenants/acme/endpoints", gw.base()))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"slug": "acme-tools",
                      "tools": [{"upstream": "gh", "tool": "env_hash", "name": "my_hash"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());

    // A call on the endpoint starts Alice's own instance, with her value.
    let client = Client::connect_as(
        format!("{}/mcp/acme-tools", gw.base()),
        "2025-11-25",
        &alice,
    )
    .await;
    let result = client.call(2, "my_hash", json!({"name": "GH_TOKEN"})).await;
    assert_eq!(
        result["structuredContent"]["sha256"],
        sha256(ALICE_VALUE),
        "{result}"
    );
    assert_eq!(client.tool_names().await, ["my_hash"]);
    let ended = reqwest::Client::new()
        .delete(format!("{}/mcp/acme-tools", gw.base()))
        .bearer_auth(&alice)
        .header(support::SESSION, client.session.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    gw.stop().await;
}
