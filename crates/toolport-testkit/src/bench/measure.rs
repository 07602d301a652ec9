//! The measurements themselves: sequential latency on one session, throughput of many concurrent
//! sessions over a fixed time, memory of idle sessions, time to first `/healthz`, and the
//! fixture's own count of what reached it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use super::client::{Conn, Session};
use super::error::BenchError;
use super::procs::{GatewayProcess, cpu_seconds};

/// Per-session cap on calls in a throughput run, so the loop is bounded whatever the clock does.
const MAX_CALLS_PER_SESSION: u64 = 10_000_000;
/// How many sessions are opened at once when many are needed.
const OPEN_CONCURRENCY: usize = 64;

/// Percentiles of a set of call latencies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub calls: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    pub max_us: f64,
}

impl Latency {
    pub fn of(mut ns: Vec<u64>) -> Self {
        if ns.is_empty() {
            return Self::default();
        }
        ns.sort_unstable();
        let at = |q: f64| {
            let i = ((ns.len() as f64 * q).ceil() as usize).clamp(1, ns.len()) - 1;
            ns[i] as f64 / 1000.0
        };
        Self {
            calls: ns.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            mean_us: ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1000.0,
            max_us: *ns.last().expect("not empty") as f64 / 1000.0,
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `calls` sequential `echo` calls on one session (after `warmup` unmeasured ones); the
/// latency of each, in nanoseconds.
pub async fn latency(
    addr: SocketAddr,
    path: &str,
    calls: usize,
    warmup: usize,
) -> Result<Vec<u64>, BenchError> {
    let mut session = Session::open(addr, path).await?;
    for _ in 0..warmup {
        session.echo().await?;
    }
    let mut ns = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        session.echo().await?;
        ns.push(nanos(t.elapsed()));
    }
    Ok(ns)
}

/// What `sessions` concurrent sessions achieved in a fixed time.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    pub sessions: usize,
    pub calls: u64,
    pub errors: u64,
    pub seconds: f64,
    pub calls_per_s: f64,
    pub latency: Latency,
    /// CPU seconds each watched process used during the run, as (label, seconds).
    pub cpu: Vec<(&'static str, f64)>,
}

impl Throughput {
    /// Every call sent, answered or not.
    pub fn sent(&self) -> u64 {
        self.calls + self.errors
    }

    /// The figures of several runs taken together (calls and seconds added, latencies pooled).
    pub fn of_runs(sessions: usize, runs: Vec<Run>) -> Self {
        let mut out = Self {
            sessions,
            ..Self::default()
        };
        let mut samples = Vec::new();
        for run in runs {
            out.calls += run.calls;
            out.errors += run.errors;
            out.seconds += run.seconds;
            samples.extend(run.samples);
            for (label, secs) in run.cpu {
                match out.cpu.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, total)) => *total += secs,
                    None => out.cpu.push((label, secs)),
                }
            }
        }
        out.calls_per_s = out.calls as f64 / out.seconds.max(1e-9);
        out.latency = Latency::of(samples);
        out
    }
}

/// One throughput run before it is summarised.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub calls: u64,
    pub errors: u64,
    pub seconds: f64,
    pub samples: Vec<u64>,
    pub cpu: Vec<(&'static str, f64)>,
}

impl Run {
    /// Every call sent, answered or not (not counting the one warm-up call per session).
    pub fn sent(&self) -> u64 {
        self.calls + self.errors
    }
}

/// Opens `n` sessions, `OPEN_CONCURRENCY` at a time, each on its own connection.
async fn open_sessions(addr: SocketAddr, path: &str, n: usize) -> Result<Vec<Session>, BenchError> {
    futures::stream::iter(0..n)
        .map(|_| Session::open(addr, path))
        .buffer_unordered(OPEN_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// A process whose CPU time a throughput run reports: `None` is the benchmark itself.
pub type Watched = (&'static str, Option<u32>);

fn cpu_all(watched: &[Watched]) -> Result<Vec<f64>, BenchError> {
    watched.iter().map(|(_, pid)| cpu_seconds(*pid)).collect()
}

/// `sessions` sessions (each on its own keep-alive connection) call `echo` back to back for
/// `duration`; one warm-up call each first. Reports the CPU time of `watched` processes.
pub async fn throughput(
    addr: SocketAddr,
    path: &str,
    sessions: usize,
    duration: Duration,
    watched: &[Watched],
) -> Result<Run, BenchError> {
    let mut opened = open_sessions(addr, path, sessions).await?;
    for s in &mut opened {
        s.echo().await?;
    }
    let cpu_before = cpu_all(watched)?;
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + duration;
    let tasks: Vec<_> = opened
        .into_iter()
        .map(|mut session| {
            tokio::spawn(async move {
                tokio::time::sleep_until(start.into()).await;
                let (mut calls, mut errors) = (0u64, 0u64);
                let mut ns = Vec::with_capacity(4096);
                let mut last = Instant::now();
                for _ in 0..MAX_CALLS_PER_SESSION {
                    if last >= end {
                        break;
                    }
                    let t = Instant::now();
                    let ok = session.echo().await.is_ok();
                    last = Instant::now();
                    if ok {
                        calls += 1;
                        ns.push(nanos(last - t));
                    } else {
                        errors += 1;
                    }
                }
                (calls, errors, ns, last)
            })
        })
        .collect();
    let mut result = Run::default();
    let mut finished = start;
    for task in tasks {
        let (calls, errors, ns, last) = task
            .await
            .map_err(|e| BenchError::protocol("a benchmark session", e.to_string()))?;
        result.calls += calls;
        result.errors += errors;
        result.samples.extend(ns);
        finished = finished.max(last);
    }
    result.seconds = (finished - start).as_secs_f64();
    let cpu_after = cpu_all(watched)?;
    result.cpu = watched
        .iter()
        .zip(cpu_before.iter().zip(cpu_after))
        .map(|((label, _), (before, after))| (*label, after - before))
        .collect();
    Ok(result)
}

/// Gateway memory held by idle, initialized sessions.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdleMemory {
    pub sessions: usize,
    /// Sessions opened over a few reused connections: the gateway's session state only.
    pub shared_conns: usize,
    pub shared_base_kib: u64,
    pub shared_after_kib: u64,
    /// One keep-alive connection per session, left open: session state plus connection buffers.
    pub own_base_kib: u64,
    pub own_after_kib: u64,
}

impl IdleMemory {
    pub fn shared_bytes_per_session(&self) -> f64 {
        per_session(self.shared_base_kib, self.shared_after_kib, self.sessions)
    }

    pub fn own_bytes_per_session(&self) -> f64 {
        per_session(self.own_base_kib, self.own_after_kib, self.sessions)
    }
}

fn per_session(base: u64, after: u64, n: usize) -> f64 {
    after.saturating_sub(base) as f64 * 1024.0 / n.max(1) as f64
}

/// How long the gateway is given to settle before its RSS is read.
const SETTLE: Duration = Duration::from_millis(500);

/// Opens `n` idle sessions twice: over `shared_conns` reused connections, then each on a
/// connection of its own kept open; reads the gateway's RSS before and after each.
pub async fn idle_memory(
    gateway: &GatewayProcess,
    path: &str,
    n: usize,
    shared_conns: usize,
) -> Result<IdleMemory, BenchError> {
    let addr = gateway.addr;
    let shared_conns = shared_conns.clamp(1, n.max(1));
    // One session first, so that one-time allocations (first connection, lazily built state)
    // are in the baseline.
    let mut warm = Conn::open(addr).await?;
    Session::handshake(&mut warm, path).await?;
    tokio::time::sleep(SETTLE).await;
    let shared_base_kib = gateway.rss_kib()?;
    let per_conn = n.div_ceil(shared_conns);
    let results = futures::future::join_all((0..shared_conns).map(|c| async move {
        let mut conn = Conn::open(addr).await?;
        let count = per_conn.min(n.saturating_sub(c * per_conn));
        for _ in 0..count {
            Session::handshake(&mut conn, path).await?;
        }
        Ok::<_, BenchError>(())
    }))
    .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    tokio::time::sleep(SETTLE).await;
    let shared_after_kib = gateway.rss_kib()?;

    let own_base_kib = shared_after_kib;
    let kept = open_sessions(addr, path, n).await?;
    tokio::time::sleep(SETTLE).await;
    let own_after_kib = gateway.rss_kib()?;
    drop(kept);
    Ok(IdleMemory {
        sessions: n,
        shared_conns,
        shared_base_kib,
        shared_after_kib,
        own_base_kib,
        own_after_kib,
    })
}

/// Time from spawning `toolport serve` (no backends) to the first 200 from `/healthz`.
#[derive(Debug, Clone, Default)]
pub struct ColdStart {
    pub runs_ms: Vec<f64>,
    pub rss_at_ready_kib: u64,
}

impl ColdStart {
    pub fn median_ms(&self) -> f64 {
        let mut v = self.runs_ms.clone();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    pub fn min_ms(&self) -> f64 {
        self.runs_ms.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max_ms(&self) -> f64 {
        self.runs_ms.iter().copied().fold(0.0, f64::max)
    }
}

/// `runs` cold starts of `toolport serve` with an empty `mcpServers`.
pub async fn cold_start(toolport: &std::path::Path, runs: usize) -> Result<ColdStart, BenchError> {
    let mut out = ColdStart::default();
    for _ in 0..runs {
        let mut gateway = GatewayProcess::spawn(
            toolport,
            r#"{"mcpServers": {}, "toolport": {"mcpAccess": "open"}}"#,
        )?;
        let ready = gateway
            .wait_for("/healthz", Duration::from_secs(10))
            .await?;
        out.runs_ms.push(ready.as_secs_f64() * 1000.0);
        out.rss_at_ready_kib = out.rss_at_ready_kib.max(gateway.rss_kib()?);
        gateway.stop().await;
    }
    Ok(out)
}

/// The fixture's counters (`call_count`), as differences between two snapshots.
#[derive(Debug, Clone, Default)]
pub struct Counted {
    /// Downstream `tools/call echo` requests sent through the gateway (answered or not).
    pub sent: u64,
    /// Upstream `tools/call` requests the fixture received, minus the `call_count` that read it.
    pub upstream_tools_call: u64,
    /// Upstream `echo` calls the fixture received.
    pub upstream_echo: u64,
    /// Other upstream methods received in the window (health pings and the like), `method: n`.
    pub other_methods: Vec<(String, u64)>,
}

impl Counted {
    /// Upstream `tools/call` per downstream call.
    pub fn ratio(&self) -> f64 {
        self.upstream_tools_call as f64 / self.sent.max(1) as f64
    }

    pub fn exact(&self) -> bool {
        self.upstream_tools_call == self.sent && self.upstream_echo == self.sent
    }

    /// `after - before` of two `call_count` snapshots taken over the same backend; the second
    /// snapshot counts itself as one `tools/call`.
    pub fn between(before: &Value, after: &Value, sent: u64) -> Self {
        let get = |v: &Value, group: &str, key: &str| {
            v.get(group)
                .and_then(|g| g.get(key))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let delta =
            |group: &str, key: &str| get(after, group, key).saturating_sub(get(before, group, key));
        let mut other_methods = Vec::new();
        if let Some(methods) = after.get("methods").and_then(Value::as_object) {
            for name in methods.keys() {
                let d = delta("methods", name);
                if name != "tools/call" && d > 0 {
                    other_methods.push((name.clone(), d));
                }
            }
        }
        other_methods.sort();
        Self {
            sent,
            upstream_tools_call: delta("methods", "tools/call").saturating_sub(1),
            upstream_echo: delta("tools", "echo"),
            other_methods,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latency::of((1..=100).map(|us| us * 1000).collect());
        assert_eq!((l.p50_us, l.p99_us, l.max_us), (50.0, 99.0, 100.0));
        assert_eq!(Latency::of(Vec::new()).calls, 0);
    }

    #[test]
    fn counts_leave_out_the_reading_call() {
        let before = json!({"methods": {"tools/call": 10, "ping": 1}, "tools": {"echo": 9}});
        let after = json!({"methods": {"tools/call": 16, "ping": 2, "initialize": 1}, "tools": {"echo": 14}});
        let c = Counted::between(&before, &after, 5);
        assert_eq!((c.upstream_tools_call, c.upstream_echo), (5, 5));
        assert!(c.exact());
        assert_eq!(
            c.other_methods,
            vec![("initialize".to_owned(), 1), ("ping".to_owned(), 1)]
        );
    }
}
