//! Usage events and the audit log against real SQLite files in a temporary directory: batches,
//! summaries on a known data set, newest-first pagination, tenant scoping, the quota count's
//! boundaries, audited calls listed with the audit log, and migration 2 on a database made at
//! version 1.

use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};
use toolport_store::{
    AuditEntry, AuditOutcome, CallAudit, CallStatus, EndpointUsage, PageRequest, SqliteStore,
    Store, StoreError, TOOL_CALL_ACTION, ToolUsage, UsageCounts, UsageEvent, UsageFilter,
};

async fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir).await.expect("open store")
}

/// 2026-03-01T00:00:00Z, a start of month, in seconds.
const T0: i64 = 1_772_323_200;

fn event(tenant: &str, tool: &str, status: CallStatus, at_ms: i64) -> UsageEvent {
    UsageEvent {
        tenant_id: tenant.into(),
        user_id: Some("user-1".into()),
        token_id: Some("token-1".into()),
        endpoint: Some("main".into()),
        tool: tool.into(),
        upstream: "github".into(),
        status,
        latency_ms: 10,
        request_bytes: 100,
        response_bytes: 1000,
        at_ms,
        audit: None,
    }
}

fn audit(tenant: Option<&str>, action: &str, at_ms: i64) -> AuditEntry {
    AuditEntry {
        at_ms,
        tenant_id: tenant.map(str::to_owned),
        actor_user_id: Some("user-1".into()),
        actor_token_id: None,
        action: action.into(),
        target: format!("target-{at_ms}"),
        detail: json!({"b": 1, "a": [true, null, "x"], "password": "[redacted]"}),
        outcome: AuditOutcome::Ok,
    }
}

/// Every event of a tenant's history matching `filter`, walking the pages of `limit`.
async fn walk(
    store: &SqliteStore,
    tenant: &str,
    filter: &UsageFilter,
    limit: u32,
) -> Vec<UsageEvent> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = store.usage_history(tenant, filter, &page).await.unwrap();
        assert!(got.items.len() <= limit as usize);
        all.extend(got.items);
        match got.next_after {
            Some(cursor) => page = PageRequest::after(limit, cursor),
            None => return all,
        }
    }
}

#[tokio::test]
async fn usage_batches_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    store.record_usage(&[]).await.unwrap();

    let mut anonymous = event("t", "search", CallStatus::Rejected, T0 * 1000 + 5);
    anonymous.user_id = None;
    anonymous.token_id = None;
    anonymous.endpoint = None;
    anonymous.latency_ms = 0;
    anonymous.request_bytes = u64::MAX;
    anonymous.audit = Some(CallAudit {
        arguments: r#"{"q":"rust","n":[1,null]}"#.into(),
        note: Some("rate limit reached".into()),
    });
    let batch = vec![
        event("t", "create_issue", CallStatus::Ok, T0 * 1000 + 1),
        event("t", "list_issues", CallStatus::Error, T0 * 1000 + 3),
        anonymous.clone(),
    ];
    store.record_usage(&batch).await.unwrap();
    store.close().await;

    let store = open(tmp.path()).await;
    let page = store
        .usage_history("t", &UsageFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.next_after, None);
    // Beyond i64::MAX a counter is kept at i64::MAX.
    let mut expected_anonymous = anonymous;
    expected_anonymous.request_bytes = i64::MAX as u64;
    assert_eq!(
        page.items,
        vec![expected_anonymous, batch[1].clone(), batch[0].clone()]
    );
}

#[tokio::test]
async fn large_batches_are_written_whole() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let batch: Vec<UsageEvent> = (0..1203)
        .map(|i| event("t", "tool", CallStatus::Ok, T0 * 1000 + i))
        .collect();
    store.record_usage(&batch).await.unwrap();
    assert_eq!(store.count_calls("t", T0).await.unwrap(), 1203);
    let summary = store.usage_summary("t", T0, T0 + 3600).await.unwrap();
    assert_eq!(summary.totals.calls, 1203);
    assert_eq!(summary.request_bytes, 120_300);
}

#[tokio::test]
async fn summary_numbers_are_right_on_a_known_data_set() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let base = T0 * 1000;
    let mut events = Vec::new();
    // Five reached calls with latencies 5, 50, 20, 40, 10 (sorted: 5 10 20 40 50; median 20,
    // mean 25) and two rejected ones whose latency (999) must not count.
    for (i, (tool, status, latency, endpoint)) in [
        ("create_issue", CallStatus::Ok, 5, Some("main")),
        ("create_issue", CallStatus::Error, 50, Some("main")),
        ("list_issues", CallStatus::Ok, 20, Some("ci")),
        ("list_issues", CallStatus::Ok, 40, None),
        ("create_issue", CallStatus::Ok, 10, Some("main")),
        ("create_issue", CallStatus::Rejected, 999, Some("main")),
        ("list_issues", CallStatus::Rejected, 999, Some("ci")),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = event("t", tool, status, base + i64::try_from(i).unwrap() * 1000);
        e.latency_ms = latency;
        e.endpoint = endpoint.map(str::to_owned);
        e.request_bytes = 10 * (i as u64 + 1);
        e.response_bytes = 1;
        events.push(e);
    }
    // Another upstream with a tool of the same name: a separate row.
    let mut other = event("t", "list_issues", CallStatus::Ok, base + 500);
    other.upstream = "gitlab".into();
    other.latency_ms = 30;
    other.endpoint = None;
    other.request_bytes = 0;
    other.response_bytes = 0;
    events.push(other);
    // Outside the range: exactly at `to`, and just before `from`.
    events.push(event(
        "t",
        "create_issue",
        CallStatus::Ok,
        (T0 + 3600) * 1000,
    ));
    events.push(event("t", "create_issue", CallStatus::Ok, base - 1));
    store.record_usage(&events).await.unwrap();

    let s = store.usage_summary("t", T0, T0 + 3600).await.unwrap();
    assert_eq!((s.from, s.to), (T0, T0 + 3600));
    assert_eq!(
        s.totals,
        UsageCounts {
            calls: 8,
            errors: 1,
            rejected: 2
        }
    );
    assert_eq!(s.request_bytes, 10 + 20 + 30 + 40 + 50 + 60 + 70);
    assert_eq!(s.response_bytes, 7);
    // Reached: 5 10 20 30 40 50 → mean 155/6 = 25 (rounded down), lower median 20.
    assert_eq!(s.avg_latency_ms, Some(25));
    assert_eq!(s.p50_latency_ms, Some(20));
    let tool = |upstream: &str, tool: &str, calls, errors, rejected| ToolUsage {
        upstream: upstream.into(),
        tool: tool.into(),
        counts: UsageCounts {
            calls,
            errors,
            rejected,
        },
    };
    assert_eq!(
        s.by_tool,
        vec![
            tool("github", "create_issue", 4, 1, 1),
            tool("github", "list_issues", 3, 0, 1),
            tool("gitlab", "list_issues", 1, 0, 0),
        ]
    );
    let endpoint = |name: Option<&str>, calls, errors, rejected| EndpointUsage {
        endpoint: name.map(str::to_owned),
        counts: UsageCounts {
            calls,
            errors,
            rejected,
        },
    };
    assert_eq!(
        s.by_endpoint,
        vec![
            endpoint(Some("main"), 4, 1, 1),
            endpoint(None, 2, 0, 0),
            endpoint(Some("ci"), 2, 0, 1),
        ]
    );

    let empty = store
        .usage_summary("t", T0 - 7200, T0 - 3600)
        .await
        .unwrap();
    assert_eq!(empty.totals, UsageCounts::default());
    assert_eq!(empty.avg_latency_ms, None);
    assert_eq!(empty.p50_latency_ms, None);
    assert!(empty.by_tool.is_empty() && empty.by_endpoint.is_empty());
}

#[tokio::test]
async fn history_is_newest_first_and_pagination_is_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    // 30 events over 10 distinct milliseconds (three share each), written in two batches out of
    // time order.
    let events: Vec<UsageEvent> = (0..30)
        .map(|i| {
            let mut e = event(
                "t",
                if i % 2 == 0 { "even" } else { "odd" },
                CallStatus::Ok,
                T0 * 1000 + (i % 10) * 1000,
            );
            e.request_bytes = u64::try_from(i).unwrap();
            e
        })
        .collect();
    store.record_usage(&events[15..]).await.unwrap();
    store.record_usage(&events[..15]).await.unwrap();

    let all = walk(&store, "t", &UsageFilter::default(), 7).await;
    assert_eq!(all.len(), 30);
    assert!(
        all.windows(2).all(|w| w[0].at_ms >= w[1].at_ms),
        "newest first"
    );
    let mut ids: Vec<u64> = all.iter().map(|e| e.request_bytes).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (0..30).collect::<Vec<u64>>(),
        "each event exactly once"
    );
    // The same walk gives the same order, whatever the page size.
    assert_eq!(walk(&store, "t", &UsageFilter::default(), 4).await, all);
    assert_eq!(walk(&store, "t", &UsageFilter::default(), 1000).await, all);

    // Events written while a client pages (newer ones) do not shift the pages after its cursor.
    let first = store
        .usage_history("t", &UsageFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    let fresh: Vec<UsageEvent> = (0..5)
        .map(|i| event("t", "late", CallStatus::Ok, T0 * 1000 + 60_000 + i))
        .collect();
    store.record_usage(&fresh).await.unwrap();
    let cursor = first.next_after.clone().unwrap();
    let second = store
        .usage_history(
            "t",
            &UsageFilter::default(),
            &PageRequest::after(10, cursor),
        )
        .await
        .unwrap();
    assert_eq!(second.items, all[10..20]);

    // Filters narrow; `from` is inclusive and `to` exclusive (seconds).
    let odd = walk(
        &store,
        "t",
        &UsageFilter {
            tool: Some("odd".into()),
            ..Default::default()
        },
        4,
    )
    .await;
    assert_eq!(odd.len(), 15);
    assert!(odd.iter().all(|e| e.tool == "odd"));
    let window = walk(
        &store,
        "t",
        &UsageFilter {
            from: Some(T0 + 2),
            to: Some(T0 + 5),
            ..Default::default()
        },
        100,
    )
    .await;
    assert_eq!(window.len(), 9);
    assert!(
        window
            .iter()
            .all(|e| (T0 + 2) * 1000 <= e.at_ms && e.at_ms < (T0 + 5) * 1000)
    );
    let none = walk(
        &store,
        "t",
        &UsageFilter {
            endpoint: Some("other".into()),
            ..Default::default()
        },
        10,
    )
    .await;
    assert!(none.is_empty());

    for bad in ["no-dot", "x.y", ""] {
        assert!(matches!(
            store
                .usage_history("t", &UsageFilter::default(), &PageRequest::after(5, bad))
                .await,
            Err(StoreError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn tenants_never_see_each_others_usage_or_audit() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    store
        .record_usage(&[
            event("a", "secret_tool", CallStatus::Ok, T0 * 1000),
            event("a", "secret_tool", CallStatus::Error, T0 * 1000 + 1),
            event("b", "tool", CallStatus::Ok, T0 * 1000 + 2),
        ])
        .await
        .unwrap();
    store
        .append_audit(&[
            audit(Some("a"), "secret.put", T0 * 1000),
            audit(Some("b"), "token.create", T0 * 1000 + 1),
            audit(None, "tenant.create", T0 * 1000 + 2),
        ])
        .await
        .unwrap();

    let b_history = walk(&store, "b", &UsageFilter::default(), 10).await;
    assert_eq!(b_history.len(), 1);
    assert!(b_history.iter().all(|e| e.tenant_id == "b"));
    let b_by_tool = walk(
        &store,
        "b",
        &UsageFilter {
            tool: Some("secret_tool".into()),
            ..Default::default()
        },
        10,
    )
    .await;
    assert!(b_by_tool.is_empty());
    let b_summary = store.usage_summary("b", T0, T0 + 60).await.unwrap();
    assert_eq!(b_summary.totals.calls, 1);
    assert_eq!(b_summary.by_tool.len(), 1);
    assert_eq!(b_summary.by_tool[0].tool, "tool");
    assert_eq!(store.count_calls("b", T0).await.unwrap(), 1);
    assert_eq!(store.count_calls("a", T0).await.unwrap(), 2);

    let b_audit = store
        .list_audit(Some("b"), &PageRequest::default())
        .await
        .unwrap();
    let actions: Vec<_> = b_audit.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.create"]);
    let everything = store
        .list_audit(None, &PageRequest::default())
        .await
        .unwrap();
    let actions: Vec<_> = everything.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["tenant.create", "token.create", "secret.put"]);
}

#[tokio::test]
async fn count_calls_counts_reached_calls_from_the_boundary_on() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let since = T0;
    store
        .record_usage(&[
            event("t", "x", CallStatus::Ok, since * 1000 - 1),
            event("t", "x", CallStatus::Ok, since * 1000),
            event("t", "x", CallStatus::Error, since * 1000 + 1),
            event("t", "x", CallStatus::Rejected, since * 1000 + 2),
            event("t", "x", CallStatus::Ok, (since + 86_400 * 40) * 1000),
            event("other", "x", CallStatus::Ok, since * 1000),
        ])
        .await
        .unwrap();
    assert_eq!(store.count_calls("t", since).await.unwrap(), 3);
    assert_eq!(store.count_calls("t", since + 1).await.unwrap(), 1);
    assert_eq!(store.count_calls("t", since - 1).await.unwrap(), 4);
    assert_eq!(store.count_calls("nobody", since).await.unwrap(), 0);
}

/// Every audit entry of `tenant` (`None`: the gateway's), walking the pages of `limit`.
async fn walk_audit(store: &SqliteStore, tenant: Option<&str>, limit: u32) -> Vec<AuditEntry> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let got = store.list_audit(tenant, &page).await.unwrap();
        assert!(got.items.len() <= limit as usize);
        all.extend(got.items);
        match got.next_after {
            Some(cursor) => page = PageRequest::after(limit, cursor),
            None => return all,
        }
    }
}

fn audited(tenant: &str, status: CallStatus, at_ms: i64, note: Option<&str>) -> UsageEvent {
    UsageEvent {
        audit: Some(CallAudit {
            arguments: format!(r#"{{"at":{at_ms},"password":"[redacted]"}}"#),
            note: note.map(str::to_owned),
        }),
        ..event(tenant, "create_issue", status, at_ms)
    }
}

#[tokio::test]
async fn audited_calls_are_listed_with_the_audit_log_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let base = T0 * 1000;
    // Calls and administrative entries interleaved in time, some in the same millisecond, written
    // in batches out of order; one call is not audited, one is another tenant's.
    store
        .record_usage(&[
            audited("a", CallStatus::Ok, base + 5, None),
            audited("a", CallStatus::Rejected, base + 1, Some("quota reached")),
            event("a", "not_audited", CallStatus::Ok, base + 2),
            audited("b", CallStatus::Error, base + 3, None),
        ])
        .await
        .unwrap();
    store
        .append_audit(&[
            audit(Some("a"), "token.create", base + 2),
            audit(None, "tenant.create", base),
        ])
        .await
        .unwrap();
    store
        .record_usage(&[audited("a", CallStatus::Error, base + 2, None)])
        .await
        .unwrap();
    store
        .append_audit(&[audit(Some("a"), "secret.put", base + 6)])
        .await
        .unwrap();
    store.close().await;
    let store = open(tmp.path()).await;

    let a = walk_audit(&store, Some("a"), 2).await;
    let listed: Vec<(i64, &str)> = a.iter().map(|e| (e.at_ms, e.action.as_str())).collect();
    assert_eq!(listed[0], (base + 6, "secret.put"));
    assert_eq!(listed[1], (base + 5, TOOL_CALL_ACTION));
    // Two entries of the same millisecond, either order, then the oldest.
    let mut same_ms = vec![listed[2], listed[3]];
    same_ms.sort_unstable();
    assert_eq!(
        same_ms,
        [(base + 2, "token.create"), (base + 2, TOOL_CALL_ACTION)]
    );
    assert_eq!(listed[4], (base + 1, TOOL_CALL_ACTION));
    assert_eq!(a.len(), 5);

    // A call's entry is made of its usage row.
    assert_eq!(
        a[4],
        AuditEntry {
            at_ms: base + 1,
            tenant_id: Some("a".into()),
            actor_user_id: Some("user-1".into()),
            actor_token_id: Some("token-1".into()),
            action: TOOL_CALL_ACTION.into(),
            target: "github/create_issue".into(),
            detail: json!({
                "arguments": {"at": base + 1, "password": "[redacted]"},
                "endpoint": "main",
                "status": "rejected",
                "latencyMs": 10,
                "note": "quota reached"
            }),
            outcome: AuditOutcome::Denied,
        }
    );
    let outcomes: Vec<AuditOutcome> = a
        .iter()
        .filter(|e| e.action == TOOL_CALL_ACTION)
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [AuditOutcome::Ok, AuditOutcome::Error, AuditOutcome::Denied]
    );
    assert!(a[1].detail.get("note").is_none());

    // The gateway's log: everything, each once, newest first, whatever the page size.
    for limit in [1, 2, 3, 100] {
        let all = walk_audit(&store, None, limit).await;
        assert_eq!(all.len(), 7, "page size {limit}");
        assert!(all.windows(2).all(|w| w[0].at_ms >= w[1].at_ms));
        assert_eq!(all[0].action, "secret.put");
        assert_eq!(all[6].action, "tenant.create");
        assert_eq!(all[2].tenant_id.as_deref(), Some("b"));
        for entry in &a {
            assert_eq!(all.iter().filter(|e| *e == entry).count(), 1, "{entry:?}");
        }
    }
    assert!(walk_audit(&store, Some("c"), 10).await.is_empty());
}

#[tokio::test]
async fn audit_entries_round_trip_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    store.append_audit(&[]).await.unwrap();
    let mut entries: Vec<AuditEntry> = (0..12)
        .map(|i| {
            let mut e = audit(Some("t"), "tool.call", T0 * 1000 + i / 3);
            e.target = format!("tool-{i}");
            e
        })
        .collect();
    entries[4].outcome = AuditOutcome::Denied;
    entries[5].outcome = AuditOutcome::Error;
    entries[5].actor_token_id = Some("tok".into());
    entries[6].detail = json!("plain string");
    store.append_audit(&entries).await.unwrap();
    store.close().await;

    let store = open(tmp.path()).await;
    let mut seen = Vec::new();
    let mut page = PageRequest::first(5);
    loop {
        let got = store.list_audit(Some("t"), &page).await.unwrap();
        seen.extend(got.items);
        match got.next_after {
            Some(cursor) => page = PageRequest::after(5, cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert!(seen.windows(2).all(|w| w[0].at_ms >= w[1].at_ms));
    for original in &entries {
        assert_eq!(
            seen.iter().filter(|e| *e == original).count(),
            1,
            "{original:?}"
        );
    }
    // The detail's key order is kept.
    let detail = serde_json::to_string(&seen.last().unwrap().detail).unwrap();
    assert_eq!(
        detail,
        r#"{"b":1,"a":[true,null,"x"],"password":"[redacted]"}"#
    );
    assert!(matches!(
        store.list_audit(None, &PageRequest::after(5, "12.")).await,
        Ok(p) if p.items.is_empty()
    ));
}

#[tokio::test]
async fn migration_2_applies_to_a_version_1_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("toolport.db");
    // A database exactly as a version-1 build left it: its schema, its record of migration 1 and
    // a tenant.
    let v1 = include_str!("../migrations/sqlite/0001_initial.sql");
    let checksum: String = Sha256::digest(v1.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE schema_migrations (
             version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL,
             checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(v1).execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations VALUES (1, 'initial', ?, 0)")
        .bind(&checksum)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO tenants VALUES ('t1', 'acme', 'free', 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let store = open(tmp.path()).await;
    assert_eq!(store.applied_on_open(), &[2, 3, 4, 5, 6]);
    assert_eq!(store.schema_version().await.unwrap(), 6);
    assert_eq!(store.tenant("t1").await.unwrap().name, "acme");
    store
        .record_usage(&[event("t1", "x", CallStatus::Ok, T0 * 1000)])
        .await
        .unwrap();
    store
        .append_audit(&[audit(Some("t1"), "a", T0 * 1000)])
        .await
        .unwrap();
    store.close().await;

    let again = open(tmp.path()).await;
    assert!(again.applied_on_open().is_empty());
    assert_eq!(again.count_calls("t1", T0).await.unwrap(), 1);
    // Usage outlives its tenant: no foreign key.
    again.delete_tenant("t1").await.unwrap();
    assert_eq!(again.count_calls("t1", T0).await.unwrap(), 1);
    assert_eq!(
        again
            .list_audit(Some("t1"), &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn statuses_and_outcomes_parse_their_own_names() {
    for status in [CallStatus::Ok, CallStatus::Error, CallStatus::Rejected] {
        assert_eq!(status.as_str().parse::<CallStatus>().unwrap(), status);
        assert_eq!(status.to_string(), status.as_str());
    }
    for outcome in [AuditOutcome::Ok, AuditOutcome::Denied, AuditOutcome::Error] {
        assert_eq!(outcome.as_str().parse::<AuditOutcome>().unwrap(), outcome);
    }
    assert!(matches!(
        "OK".parse::<CallStatus>(),
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        "allowed".parse::<AuditOutcome>(),
        Err(StoreError::Invalid(_))
    ));
}
