//! Usage recording benchmark: 100,000 events (each with its audit entry's arguments, as the call
//! gate records them) through the [`UsageRecorder`] (batched, off the caller's path) into a
//! temporary SQLite store, against the same events written one `INSERT` (one transaction) per
//! event, in the same run. Prints events per second for both, their ratio,
//! and the distribution of the time one `record()` call takes.
//!
//! Run: `cargo run --release -p toolport-metering --example usage_bench [EVENTS]`

#![allow(clippy::print_stdout)]

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use toolport_metering::{BatchConfig, UsageRecorder};
use toolport_store::{CallAudit, CallStatus, SqliteStore, Store, UsageEvent};

const DEFAULT_EVENTS: usize = 100_000;

/// 2026-03-01T00:00:00Z in milliseconds.
const T0_MS: i64 = 1_772_323_200_000;

fn events(n: usize) -> Vec<UsageEvent> {
    (0..n)
        .map(|i| UsageEvent {
            tenant_id: format!("tenant-{}", i % 10),
            user_id: Some(format!("user-{}", i % 100)),
            token_id: Some(format!("token-{}", i % 100)),
            endpoint: Some(format!("endpoint-{}", i % 3)),
            tool: format!("tool_{}", i % 50),
            upstream: format!("upstream-{}", i % 5),
            status: if i % 20 == 0 {
                CallStatus::Error
            } else {
                CallStatus::Ok
            },
            latency_ms: u64::try_from(i % 500).unwrap_or(0),
            request_bytes: 200,
            response_bytes: 2_000,
            at_ms: T0_MS + i64::try_from(i).unwrap_or(0),
            // Every call the gate records carries its audit entry's arguments.
            audit: Some(CallAudit {
                arguments: format!(r#"{{"query":"q{i}","limit":10}}"#),
                note: None,
            }),
        })
        .collect()
}

async fn stored(store: &SqliteStore) -> Result<u64, Box<dyn Error>> {
    let mut total = 0;
    for tenant in 0..10 {
        total += store.count_calls(&format!("tenant-{tenant}"), 0).await?;
    }
    Ok(total)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let n = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => DEFAULT_EVENTS,
    };
    println!("{n} usage events, SQLite in a temporary directory (WAL, synchronous=NORMAL)");

    // Batched, through the recorder.
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path()).await?);
    let shutdown = CancellationToken::new();
    let (recorder, task) =
        UsageRecorder::spawn(Arc::clone(&store), BatchConfig::default(), shutdown.clone());
    let mut calls = Vec::with_capacity(n);
    let batch_events = events(n);
    let started = Instant::now();
    for event in batch_events {
        let before = Instant::now();
        recorder.record(event);
        calls.push(before.elapsed());
    }
    let queued_in = started.elapsed();
    shutdown.cancel();
    task.await?;
    let batched = started.elapsed();
    let stored_batched = stored(&store).await?;
    if stored_batched != n as u64 || recorder.dropped() != 0 {
        return Err(format!(
            "recorder stored {stored_batched} of {n} ({} dropped)",
            recorder.dropped()
        )
        .into());
    }
    store.close().await;

    // Baseline: one INSERT per event, each its own transaction.
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path()).await?;
    let baseline_events = events(n);
    let started = Instant::now();
    for event in &baseline_events {
        store.record_usage(std::slice::from_ref(event)).await?;
    }
    let one_by_one = started.elapsed();
    let stored_baseline = stored(&store).await?;
    if stored_baseline != n as u64 {
        return Err(format!("baseline stored {stored_baseline} of {n}").into());
    }
    store.close().await;

    calls.sort_unstable();
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "recorder:      {:>10.0} events/s  ({n} stored in {batched:.2?}; all queued after {queued_in:.2?})",
        rate(batched)
    );
    println!(
        "one by one:    {:>10.0} events/s  ({n} stored in {one_by_one:.2?})",
        rate(one_by_one)
    );
    println!(
        "ratio:         {:>10.1}x",
        one_by_one.as_secs_f64() / batched.as_secs_f64()
    );
    println!(
        "record() call: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        percentile(&calls, 0.50),
        percentile(&calls, 0.99),
        percentile(&calls, 0.999),
        calls[calls.len() - 1]
    );
    Ok(())
}
