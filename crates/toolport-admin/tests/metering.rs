//! Plans, usage, the audit log and the per-token rate limit through the admin API: who may see and
//! change what, what changes are audited, and the 429 with `Retry-After`.

mod common;

use std::time::Duration;

use common::Fixture;
use serde_json::{Value, json};
use toolport_metering::{MeteringConfig, RateLimits};
use toolport_store::{CallStatus, Store, UsageEvent};

/// Polls `path` with `token` until `done` holds for its JSON (the audit writer flushes in
/// batches).
async fn eventually(fx: &Fixture, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let body = fx.get(path, token).await.ok(200);
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "GET {path} never matched: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn event(tenant: &str, tool: &str, status: CallStatus, at_ms: i64) -> UsageEvent {
    UsageEvent {
        tenant_id: tenant.to_owned(),
        user_id: Some("u1".into()),
        token_id: Some("t1".into()),
        endpoint: None,
        tool: tool.to_owned(),
        upstream: "github".into(),
        status,
        latency_ms: 12,
        request_bytes: 10,
        response_bytes: 100,
        at_ms,
        audit: None,
    }
}

#[tokio::test]
async fn plans_are_listed_and_only_operators_move_a_tenant() {
    let fx = Fixture::new().await;
    let plans = fx.get("/api/v1/plans", &fx.b_member.token).await.ok(200);
    let names: Vec<&str> = plans["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["enterprise", "free", "pro"]);
    assert_eq!(plans["items"][1]["calls_per_month"], 1000);
    assert_eq!(plans["items"][0]["calls_per_month"], Value::Null);

    let path = format!("/api/v1/tenants/{}/plan", fx.b.id);
    let body = Some(json!({"plan": "pro"}));
    let denied = fx
        .call("PUT", &path, Some(&fx.b_admin.token), body.clone())
        .await;
    denied.problem(403);
    let unknown = fx
        .call(
            "PUT",
            &path,
            Some(&fx.operator.token),
            Some(json!({"plan": "platinum"})),
        )
        .await
        .problem(409);
    assert!(
        unknown["detail"]
            .as_str()
            .unwrap()
            .contains("enterprise, free, pro")
    );
    let moved = fx
        .call("PUT", &path, Some(&fx.operator.token), body)
        .await
        .ok(200);
    assert_eq!(moved["plan"], "pro");
    assert_eq!(fx.store.tenant(&fx.b.id).await.unwrap().plan, "pro");
    let quota = fx.meter.quota(&fx.b.id).await.unwrap();
    assert_eq!(quota.limits.calls_per_month, Some(100_000));

    // Creating a tenant on a plan nobody configured is refused too.
    fx.call(
        "POST",
        "/api/v1/tenants",
        Some(&fx.operator.token),
        Some(json!({"name": "charlie", "plan": "platinum"})),
    )
    .await
    .problem(409);
    fx.call(
        "POST",
        "/api/v1/tenants",
        Some(&fx.operator.token),
        Some(json!({"name": "charlie", "plan": "no spaces"})),
    )
    .await
    .problem(422);
}

#[tokio::test]
async fn usage_is_summed_and_listed_for_the_tenant_only() {
    let fx = Fixture::new().await;
    let now_ms = toolport_store::model::now_ms();
    fx.store
        .record_usage(&[
            event(&fx.b.id, "create_issue", CallStatus::Ok, now_ms - 3_000),
            event(&fx.b.id, "create_issue", CallStatus::Error, now_ms - 2_000),
            event(&fx.b.id, "list_repos", CallStatus::Rejected, now_ms - 1_000),
            event(&fx.a.id, "list_repos", CallStatus::Ok, now_ms - 1_000),
        ])
        .await
        .unwrap();
    let summary = fx
        .get(
            &format!("/api/v1/tenants/{}/usage", fx.b.name),
            &fx.b_admin.token,
        )
        .await
        .ok(200);
    assert_eq!(
        summary["totals"],
        json!({"calls": 3, "errors": 1, "rejected": 1})
    );
    assert_eq!(summary["by_tool"][0]["tool"], "create_issue");
    assert_eq!(summary["request_bytes"], 30);
    assert_eq!(summary["quota"]["plan"], "free");
    assert_eq!(summary["quota"]["used"], 2, "rejected calls do not count");
    assert_eq!(summary["quota"]["calls_per_month"], 1000);

    let events = fx
        .get(
            &format!(
                "/api/v1/tenants/{}/usage/events?tool=create_issue&limit=1",
                fx.b.id
            ),
            &fx.b_admin.token,
        )
        .await
        .ok(200);
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    assert_eq!(events["items"][0]["status"], "error", "newest first");
    let next = events["next_after"].as_str().unwrap();
    let rest = fx
        .get(
            &format!(
                "/api/v1/tenants/{}/usage/events?tool=create_issue&after={next}",
                fx.b.id
            ),
            &fx.b_admin.token,
        )
        .await
        .ok(200);
    assert_eq!(rest["items"][0]["status"], "ok");
    assert_eq!(rest["next_after"], Value::Null);

    // Another tenant's usage does not exist for B, whatever the query says.
    for path in [
        format!("/api/v1/tenants/{}/usage", fx.a.id),
        format!("/api/v1/tenants/{}/usage/events?from=nonsense", fx.a.id),
    ] {
        fx.get(&path, &fx.b_admin.token).await.problem(404);
    }
    // An empty range sums nothing; times before 1970 and foreign cursors are malformed.
    let empty = fx
        .get(
            &format!("/api/v1/tenants/{}/usage?from=10&to=5", fx.b.id),
            &fx.b_admin.token,
        )
        .await
        .ok(200);
    assert_eq!(empty["totals"]["calls"], 0);
    let bad = fx
        .get(
            &format!("/api/v1/tenants/{}/usage/events?to=-1", fx.b.id),
            &fx.b_admin.token,
        )
        .await
        .problem(400);
    assert!(bad["detail"].as_str().unwrap().contains("`to`"));
    for path in [
        format!("/api/v1/tenants/{}/usage/events?after=%C3%98", fx.b.id),
        format!("/api/v1/tenants/{}/audit?after=12", fx.b.id),
    ] {
        let bad = fx.get(&path, &fx.b_admin.token).await.problem(400);
        assert!(bad["detail"].as_str().unwrap().contains("`after`"), "{bad}");
    }
    fx.get(
        &format!("/api/v1/tenants/{}/usage?from=soon", fx.b.id),
        &fx.b_admin.token,
    )
    .await
    .problem(400);
}

#[tokio::test]
async fn administrative_changes_are_audited_and_the_log_is_isolated() {
    let fx = Fixture::new().await;
    let created = fx
        .call(
            "POST",
            &format!("/api/v1/tenants/{}/tokens", fx.b.id),
            Some(&fx.b_admin.token),
            Some(json!({"name": "ci", "scopes": ["mcp"]})),
        )
        .await
        .ok(201);
    fx.call(
        "PUT",
        &format!("/api/v1/tenants/{}/secrets/GH", fx.b.id),
        Some(&fx.b_admin.token),
        Some(json!({"value": "never-in-the-audit-log"})),
    )
    .await
    .ok(200);
    let path = format!("/api/v1/tenants/{}/audit", fx.b.id);
    let log = eventually(&fx, &path, &fx.b_admin.token, |body| {
        body["items"].as_array().is_some_and(|i| i.len() == 2)
    })
    .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items[0]["action"], "secret.put", "newest first");
    assert_eq!(items[0]["target"], "GH");
    assert_eq!(items[1]["action"], "token.create");
    assert_eq!(items[1]["target"], created["id"]);
    assert_eq!(items[1]["actor_user_id"], json!(fx.b_admin.user.id));
    assert_eq!(items[1]["outcome"], "ok");
    assert!(!log.to_string().contains("never-in-the-audit-log"));

    // A member cannot read it; another tenant gets 404; the gateway-wide log is operators' only.
    fx.get(&path, &fx.b_member.token).await.problem(403);
    fx.get(&path, &fx.a_member.token).await.problem(404);
    fx.get("/api/v1/audit", &fx.b_admin.token)
        .await
        .problem(403);
    // The two refusals of tenant b's callers are audited too (the other tenant's 404 is not: the
    // log does not exist for it); the writer may flush them at any time, so wait for all four.
    let all = eventually(&fx, "/api/v1/audit", &fx.operator.token, |body| {
        body["items"].as_array().is_some_and(|i| i.len() == 4)
    })
    .await;
    let member_refused = format!("GET {path}");
    let entries: Vec<(&str, &str)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["tenant_id"], json!(fx.b.id), "{i}");
            (i["action"].as_str().unwrap(), i["target"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("admin.denied", "GET /api/v1/audit"),
            ("admin.denied", member_refused.as_str()),
            ("secret.put", "GH"),
            ("token.create", created["id"].as_str().unwrap()),
        ],
        "newest first"
    );
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after() {
    let fx = Fixture::with_metering(&MeteringConfig {
        limits: RateLimits {
            per_token: Some("2/min".parse().unwrap()),
            ..RateLimits::default()
        },
        ..MeteringConfig::default()
    })
    .await;
    for _ in 0..2 {
        fx.get("/api/v1/me", &fx.b_admin.token).await.ok(200);
    }
    let limited = fx.get("/api/v1/me", &fx.b_admin.token).await;
    let problem = limited.problem(429);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=30).contains(&retry),
        "2/min refills one every 30 s: {retry}"
    );
    assert!(problem["detail"].as_str().unwrap().contains("retry in"));
    // Another token has its own bucket.
    fx.get("/api/v1/me", &fx.b_member.token).await.ok(200);
}

#[tokio::test]
async fn a_plan_limits_how_many_endpoints_a_tenant_has() {
    let fx = Fixture::new().await;
    let path = format!("/api/v1/tenants/{}/endpoints", fx.b.id);
    let create = async |slug: &str| {
        fx.call(
            "POST",
            &path,
            Some(&fx.b_admin.token),
            Some(json!({"slug": slug})),
        )
        .await
    };
    create("first").await.ok(201);
    let refused = create("second").await.problem(409);
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("the plan allows 1 endpoints"), "{detail}");
    // On a larger plan the second one fits.
    fx.store.set_tenant_plan(&fx.b.id, "pro").await.unwrap();
    fx.meter.forget_tenant(&fx.b.id);
    create("second").await.ok(201);
}
