//! Monthly call quotas against a real SQLite store: exact under concurrency, units given back by
//! released permits, month boundaries in UTC, unlimited plans still counted, store failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use toolport_metering::{PlanLimits, QuotaError, QuotaExceeded, QuotaGuard};
use toolport_store::{CallStatus, SqliteStore, Store, UsageEvent};

/// 2026-03-01T00:00:00Z and 2026-04-01T00:00:00Z.
const MARCH: i64 = 1_772_323_200;
const APRIL: i64 = 1_775_001_600;

fn plan(calls_per_month: u64) -> PlanLimits {
    PlanLimits {
        calls_per_month: Some(calls_per_month),
        ..PlanLimits::FREE
    }
}

/// `n` stored calls of `tenant` at `at` (seconds), with `status`.
async fn stored_calls(store: &SqliteStore, tenant: &str, n: usize, at: i64, status: CallStatus) {
    let events: Vec<UsageEvent> = (0..n)
        .map(|_| UsageEvent {
            tenant_id: tenant.into(),
            user_id: None,
            token_id: None,
            endpoint: None,
            tool: "t".into(),
            upstream: "u".into(),
            status,
            latency_ms: 1,
            request_bytes: 1,
            response_bytes: 1,
            at_ms: at * 1000,
            audit: None,
        })
        .collect();
    store.record_usage(&events).await.unwrap();
}

/// A guard whose clock the test sets.
fn guard(store: &Arc<SqliteStore>, now: &Arc<AtomicI64>) -> QuotaGuard<SqliteStore> {
    let now = Arc::clone(now);
    QuotaGuard::with_clock(Arc::clone(store), move || now.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admissions_admit_exactly_what_remains() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(tmp.path()).await.unwrap());
    // 990 calls this month (10 left of 1,000), plus some that do not count: last month's, and
    // rejected ones.
    stored_calls(&store, "t", 990, MARCH + 60, CallStatus::Ok).await;
    stored_calls(&store, "t", 50, MARCH - 1, CallStatus::Ok).await;
    stored_calls(&store, "t", 20, MARCH + 60, CallStatus::Rejected).await;
    let now = Arc::new(AtomicI64::new(MARCH + 3600));
    let guard = Arc::new(guard(&store, &now));
    let barrier = Arc::new(tokio::sync::Barrier::new(64));

    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let guard = Arc::clone(&guard);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                guard.admit_call("t", &PlanLimits::FREE).await
            })
        })
        .collect();
    let mut permits = Vec::new();
    let mut refusals = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(permit) => permits.push(permit),
            Err(QuotaError::Exceeded(e)) => refusals.push(e),
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(permits.len(), 10);
    assert_eq!(refusals.len(), 54);
    assert!(refusals.iter().all(|e| *e
        == QuotaExceeded {
            limit: 1000,
            used: 1000,
            resets_at: APRIL
        }));
    assert!(permits.iter().all(|p| p.resets_at() == APRIL));

    // The count lives in memory now: calls stored meanwhile (e.g. by another process) are not
    // re-read this month.
    stored_calls(&store, "t", 5, MARCH + 60, CallStatus::Ok).await;
    for permit in permits.drain(..3) {
        permit.release();
    }
    for _ in 0..3 {
        permits.push(guard.admit_call("t", &PlanLimits::FREE).await.unwrap());
    }
    assert!(matches!(
        guard.admit_call("t", &PlanLimits::FREE).await,
        Err(QuotaError::Exceeded(QuotaExceeded { used: 1000, .. }))
    ));
    // Other tenants have their own count.
    guard.admit_call("other", &PlanLimits::FREE).await.unwrap();
}

#[tokio::test]
async fn a_new_utc_month_reads_the_count_again() {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let now = Arc::new(AtomicI64::new(APRIL - 1));
    let guard = guard(&store, &now);
    let two = plan(2);
    let _a = guard.admit_call("t", &two).await.unwrap();
    let _b = guard.admit_call("t", &two).await.unwrap();
    let err = guard.admit_call("t", &two).await.unwrap_err();
    assert!(
        matches!(err, QuotaError::Exceeded(QuotaExceeded { resets_at, .. }) if resets_at == APRIL),
        "{err}"
    );
    assert!(err.to_string().contains("2 of 2"), "{err}");

    // One stored call in April already (say, from before a restart).
    stored_calls(&store, "t", 1, APRIL, CallStatus::Error).await;
    now.store(APRIL, Ordering::SeqCst);
    let permit = guard.admit_call("t", &two).await.unwrap();
    assert_eq!(permit.resets_at(), 1_777_593_600); // 2026-05-01
    assert!(guard.admit_call("t", &two).await.is_err());
}

#[tokio::test]
async fn unlimited_plans_admit_and_still_count() {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let now = Arc::new(AtomicI64::new(MARCH));
    let guard = guard(&store, &now);
    for _ in 0..5 {
        guard
            .admit_call("t", &PlanLimits::ENTERPRISE)
            .await
            .unwrap();
    }
    // Moved to a plan of 5 calls a month mid-month: the 5 calls made count.
    assert!(matches!(
        guard.admit_call("t", &plan(5)).await,
        Err(QuotaError::Exceeded(QuotaExceeded {
            used: 5,
            limit: 5,
            ..
        }))
    ));
    guard.admit_call("t", &plan(6)).await.unwrap();
    // A zero quota admits nothing.
    assert!(guard.admit_call("fresh", &plan(0)).await.is_err());
}

#[tokio::test]
async fn a_store_failure_is_reported_and_not_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(tmp.path()).await.unwrap());
    stored_calls(&store, "t", 1, MARCH, CallStatus::Ok).await;
    let now = Arc::new(AtomicI64::new(MARCH));
    let guard = guard(&store, &now);
    // Behind the store's back the table goes away: the count cannot be read.
    let side = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        tmp.path().join("toolport.db").display()
    ))
    .await
    .unwrap();
    sqlx::raw_sql("ALTER TABLE usage_events RENAME TO away")
        .execute(&side)
        .await
        .unwrap();
    assert!(matches!(
        guard.admit_call("t", &plan(2)).await,
        Err(QuotaError::Store(_))
    ));
    // Back again: the same guard reads the count now (1 used, 1 left).
    sqlx::raw_sql("ALTER TABLE away RENAME TO usage_events")
        .execute(&side)
        .await
        .unwrap();
    side.close().await;
    guard.admit_call("t", &plan(2)).await.unwrap();
    assert!(matches!(
        guard.admit_call("t", &plan(2)).await,
        Err(QuotaError::Exceeded(QuotaExceeded { used: 2, .. }))
    ));
}
