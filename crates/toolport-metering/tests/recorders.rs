//! The usage recorder and the audit log against a real SQLite store in a temporary directory:
//! everything recorded before shutdown is stored once the task ends, from many tasks at once, and
//! audit details are stored redacted.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolport_metering::{
    AuditLog, BatchConfig, REDACTED, RedactionConfig, Redactor, UsageRecorder,
};
use toolport_store::{
    AuditEntry, AuditOutcome, CallStatus, PageRequest, SqliteStore, Store, UsageEvent, UsageFilter,
};
use toolport_testkit::files::{contains, stored_files};

/// 2026-03-01T00:00:00Z in milliseconds.
const T0_MS: i64 = 1_772_323_200_000;

fn event(tenant: &str, n: u64) -> UsageEvent {
    UsageEvent {
        tenant_id: tenant.into(),
        user_id: None,
        token_id: Some("tok".into()),
        endpoint: None,
        tool: "search".into(),
        upstream: "docs".into(),
        status: CallStatus::Ok,
        latency_ms: n,
        request_bytes: n,
        response_bytes: 1,
        at_ms: T0_MS + i64::try_from(n).unwrap(),
        audit: None,
    }
}

fn batch_config() -> BatchConfig {
    BatchConfig {
        max_batch: 64,
        // Never fires during a test: batches are written when full, and at shutdown.
        flush_interval: Duration::from_secs(3600),
        ..BatchConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_recorded_before_shutdown_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(tmp.path()).await.unwrap());
    let shutdown = CancellationToken::new();
    let (recorder, task) =
        UsageRecorder::spawn(Arc::clone(&store), batch_config(), shutdown.clone());

    let producers: Vec<_> = (0..8u64)
        .map(|p| {
            let recorder = recorder.clone();
            tokio::spawn(async move {
                for i in 0..1000 {
                    recorder.record(event("t", p * 1000 + i));
                    if i % 100 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(recorder.dropped(), 0);

    let summary = store.usage_summary("t", 0, i64::MAX / 1000).await.unwrap();
    assert_eq!(summary.totals.calls, 8000);
    assert_eq!(summary.request_bytes, (0..8000u64).sum::<u64>());
    // Each event exactly once: the history holds 8,000 distinct request sizes.
    let mut sizes = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let got = store
            .usage_history("t", &UsageFilter::default(), &page)
            .await
            .unwrap();
        sizes.extend(got.items.into_iter().map(|e| e.request_bytes));
        match got.next_after {
            Some(c) => page = PageRequest::after(1000, c),
            None => break,
        }
    }
    sizes.sort_unstable();
    assert_eq!(sizes, (0..8000).collect::<Vec<u64>>());

    // After shutdown, recording is refused and counted, never blocking.
    recorder.record(event("t", 9999));
    assert_eq!(recorder.dropped(), 1);
}

#[tokio::test]
async fn a_store_failing_for_a_while_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(tmp.path()).await.unwrap());
    // Behind the store's back, the table goes away (writes fail), then comes back: the recorder
    // keeps its batch and retries until the write succeeds.
    let side = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        tmp.path().join("toolport.db").display()
    ))
    .await
    .unwrap();
    sqlx::raw_sql("ALTER TABLE usage_events RENAME TO usage_events_away")
        .execute(&side)
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let config = BatchConfig {
        max_batch: 10,
        retry_initial: Duration::from_millis(5),
        retry_max: Duration::from_millis(20),
        ..batch_config()
    };
    let (recorder, task) = UsageRecorder::spawn(Arc::clone(&store), config, shutdown.clone());
    for i in 0..10 {
        recorder.record(event("t", i));
    }
    // The full batch is tried (and fails) while this test sleeps.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        store.count_calls("t", 0).await.is_err(),
        "the table is away"
    );
    sqlx::raw_sql("ALTER TABLE usage_events_away RENAME TO usage_events")
        .execute(&side)
        .await
        .unwrap();
    side.close().await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(recorder.dropped(), 0);
    assert_eq!(store.count_calls("t", 0).await.unwrap(), 10);
}

#[tokio::test]
async fn audit_entries_are_stored_redacted() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(tmp.path()).await.unwrap());
    let shutdown = CancellationToken::new();
    let redactor = Redactor::new(&RedactionConfig {
        max_string_bytes: 8,
        ..RedactionConfig::default()
    });
    let (audit, task) = AuditLog::spawn(
        Arc::clone(&store),
        batch_config(),
        redactor,
        shutdown.clone(),
    );
    for i in 0..100 {
        audit.record(AuditEntry {
            at_ms: T0_MS + i,
            tenant_id: Some(if i % 2 == 0 { "a" } else { "b" }.into()),
            actor_user_id: Some("u".into()),
            actor_token_id: Some("tok".into()),
            action: "tool.call".into(),
            target: "github.create_issue".into(),
            detail: json!({
                "arguments": {"title": "short", "body": "a long body text", "api_key": "sk-live-1"},
                "headers": {"Authorization": "Bearer xyz"}
            }),
            outcome: AuditOutcome::Ok,
        });
    }
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(audit.dropped(), 0);

    let a = store
        .list_audit(Some("a"), &PageRequest::first(1000))
        .await
        .unwrap();
    assert_eq!(a.items.len(), 50);
    assert!(a.items.iter().all(|e| e.tenant_id.as_deref() == Some("a")));
    assert_eq!(
        a.items[0].detail,
        json!({
            "arguments": {"title": "short", "body": "a long b…[truncated 8 bytes]", "api_key": REDACTED},
            "headers": {"Authorization": REDACTED}
        })
    );
    store.close().await;
    for (path, bytes) in stored_files(tmp.path()) {
        for secret in [&b"sk-live-1"[..], b"Bearer xyz"] {
            assert!(!contains(&bytes, secret), "plaintext in {}", path.display());
        }
    }
}
