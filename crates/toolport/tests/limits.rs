//! Limits and metering through the binary: plan quotas and rate limits refuse calls before they
//! reach the backend (the fixture's own request count proves it, under concurrent calls), every
//! call is recorded as usage and in the audit log with its arguments redacted, and the admin API
//! answers a token over its rate with 429 and `Retry-After`.

mod support;

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use support::binary::{ADMIN_TOKEN, Gateway, cli, other_tenant_token, shared_fixture_server};
use support::{Client, upstream_counts, wait_for_async};
use toolport_testkit::files::{contains, stored_files};

/// The `echo` calls the fixture itself received.
async fn echoes_received(gw: &Gateway) -> u64 {
    let admin = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    upstream_counts(&admin, "fx__call_count").await["tools"]["echo"]
        .as_u64()
        .unwrap_or(0)
}

async fn admin_get(gw: &Gateway, path: &str) -> Value {
    let reply = reqwest::Client::new()
        .get(format!("{}{path}", gw.base()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "GET {path}");
    reply.json().await.unwrap()
}

#[tokio::test]
async fn a_plan_quota_admits_exactly_its_calls_under_concurrency_and_meters_them_all() {
    let mut gw = Gateway::new();
    gw.write_config(json!({
        "mcpServers": {"fx": shared_fixture_server()},
        "toolport": {"plans": {"free": {"callsPerMonth": 5}}}
    }));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let token = other_tenant_token(&gw.data_dir(), &["mcp"]).await;
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", &token).await;

    let calls = (0..20).map(|i| {
        let client = &client;
        async move {
            client
                .request(
                    i,
                    "tools/call",
                    json!({"name": "fx__echo",
                           "arguments": {"text": "hi", "password": "hunter2-do-not-store"}}),
                )
                .await
                .answer(i)
                .clone()
        }
    });
    let answers = join_all(calls).await;
    let admitted = answers.iter().filter(|a| a.get("result").is_some()).count();
    let refused: Vec<&Value> = answers.iter().filter_map(|a| a.get("error")).collect();
    assert_eq!(
        admitted, 5,
        "the free plan here allows 5 calls: {answers:?}"
    );
    assert_eq!(refused.len(), 15);
    for error in &refused {
        assert_eq!(error["code"], -32003, "{error}");
        assert_eq!(error["data"]["reason"], "quota_exceeded", "{error}");
        assert!(error["data"]["resetsAt"].as_i64().unwrap() > 0);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("5 of 5 used"), "{message}");
    }
    assert_eq!(
        echoes_received(&gw).await,
        5,
        "refused calls reached the fixture"
    );

    // Every call is metered: the 5 admitted and the 15 refused.
    let mut usage = Value::Null;
    wait_for_async(
        "usage of all 20 calls",
        Duration::from_secs(10),
        async || {
            usage = admin_get(&gw, "/api/v1/tenants/acme/usage").await;
            usage["totals"]["calls"] == 20
        },
    )
    .await;
    assert_eq!(usage["totals"]["rejected"], 15, "{usage}");
    assert_eq!(usage["totals"]["errors"], 0, "{usage}");
    assert_eq!(
        usage["quota"],
        json!({"plan": "free", "calls_per_month": 5, "used": 5,
               "resets_at": usage["quota"]["resets_at"]})
    );
    let from_cli = cli(&gw, &["usage", "summary", "--tenant", "acme"], "").await;
    assert_eq!(from_cli["totals"], usage["totals"]);
    assert_eq!(usage["by_tool"][0]["upstream"], "fx");
    assert_eq!(usage["by_tool"][0]["tool"], "echo");
    let events = admin_get(&gw, "/api/v1/tenants/acme/usage/events?limit=5").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 5);
    assert!(events["next_after"].is_string());

    // The audit log has each call, with the password redacted before it was stored.
    let audit = admin_get(&gw, "/api/v1/tenants/acme/audit?limit=1000").await;
    let calls: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "tool.call")
        .collect();
    assert_eq!(calls.len(), 20, "{audit}");
    assert!(calls.iter().all(|e| e["target"] == "fx/echo"));
    assert!(
        calls
            .iter()
            .all(|e| e["detail"]["arguments"]["password"] == "[redacted]")
    );
    assert_eq!(
        calls.iter().filter(|e| e["outcome"] == "denied").count(),
        15
    );
    let latest = cli(
        &gw,
        &["audit", "list", "--tenant", "acme", "--limit", "3"],
        "",
    )
    .await;
    assert_eq!(latest.as_array().unwrap().len(), 3);
    let plans = cli(&gw, &["plan", "list"], "").await;
    assert_eq!(
        plans[1],
        json!({"name": "free", "calls_per_month": 5, "apis": 3,
                                 "endpoints": 1, "tools_per_api": 50})
    );
    gw.stop().await;
    for (path, bytes) in stored_files(&gw.data_dir()) {
        assert!(
            !contains(&bytes, b"hunter2-do-not-store"),
            "a redacted argument reached {}",
            path.display()
        );
    }
}

#[tokio::test]
async fn rate_limits_refuse_with_the_retry_delay_on_mcp_and_429_on_the_admin_api() {
    let mut gw = Gateway::new();
    gw.write_config(json!({
        "mcpServers": {"fx": shared_fixture_server()},
        "toolport": {"limits": {"perToken": "3/min"}}
    }));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let token = other_tenant_token(&gw.data_dir(), &["mcp", "admin"]).await;
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", &token).await;
    for id in 1..=3 {
        let result = client.call(id, "fx__echo", json!({"text": "hi"})).await;
        assert_eq!(result["content"][0]["text"], "hi");
    }
    let reply = client
        .request(
            4,
            "tools/call",
            json!({"name": "fx__echo", "arguments": {"text": "hi"}}),
        )
        .await;
    let error = reply.error(4);
    assert_eq!(error["code"], -32003, "{error}");
    assert_eq!(error["data"]["reason"], "rate_limited");
    assert_eq!(error["data"]["limit"], "this token");
    let retry = error["data"]["retryAfterMs"].as_u64().unwrap();
    assert!(
        (1..=20_000).contains(&retry),
        "3/min refills one call every 20 s: {retry}"
    );
    assert_eq!(
        echoes_received(&gw).await,
        3,
        "the refused call reached the fixture"
    );

    // The admin API has a bucket of its own per token, at the same rate: 429 on the fourth.
    let http = reqwest::Client::new();
    let me = || {
        http.get(format!("{}/api/v1/me", gw.base()))
            .bearer_auth(&token)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(me().await.unwrap().status(), 200);
    }
    let limited = me().await.unwrap();
    assert_eq!(limited.status(), 429);
    let seconds: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&seconds), "{seconds}");
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["status"], 429);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("toolport.limits.perToken")
    );
    gw.stop().await;
}
