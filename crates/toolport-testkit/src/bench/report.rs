//! The figures of one run, the targets of issue 2 next to them, as text for people and JSON for
//! scripts.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::Options;
use super::measure::{ColdStart, Counted, IdleMemory, Latency, Throughput};
use super::{Comparison, Yardstick};

/// Added latency at p50 with one session, in microseconds.
pub const TARGET_ADDED_P50_US: f64 = 100.0;
/// Added latency at p99 with one session, in microseconds.
pub const TARGET_ADDED_P99_US: f64 = 300.0;
/// Gateway throughput at 64 sessions as a share of direct.
pub const TARGET_THROUGHPUT_RATIO: f64 = 0.40;
/// Gateway memory per idle client session, in bytes (50 KB).
pub const TARGET_IDLE_BYTES: f64 = 50_000.0;
/// Time to `/healthz` with no backends, in milliseconds.
pub const TARGET_READY_MS: f64 = 100.0;

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// `/proc/loadavg` before and after the run: other work on the machine skews every figure.
    pub load_before: String,
    pub load_after: String,
    pub options: Options,
    pub http: Comparison,
    pub stdio: Option<Comparison>,
    pub idle: IdleMemory,
    /// What the idle sessions' `initialize`s caused upstream (should be nothing).
    pub idle_upstream: Counted,
    pub gateway_rss_kib: u64,
    pub cold: ColdStart,
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

impl Comparison {
    pub fn added_p50_us(&self) -> f64 {
        self.gateway_latency.p50_us - self.direct_latency.p50_us
    }

    pub fn added_p99_us(&self) -> f64 {
        self.gateway_latency.p99_us - self.direct_latency.p99_us
    }

    pub fn throughput_ratio(&self) -> f64 {
        self.gateway_throughput.calls_per_s / self.direct_throughput.calls_per_s.max(1e-9)
    }

    /// A plain proxy's throughput as a share of direct.
    pub fn proxy_ratio(&self, proxy: &Yardstick) -> f64 {
        proxy.throughput.calls_per_s / self.direct_throughput.calls_per_s.max(1e-9)
    }

    fn text(&self, out: &mut String) {
        let direct_label = if self.backend == "stdio" {
            "direct (HTTP fixture, baseline)"
        } else {
            "direct"
        };
        let _ = writeln!(out, "\n== backend over {} ==", self.backend);
        let lat = |out: &mut String, label: &str, l: &Latency| {
            let _ = writeln!(
                out,
                "  {label:<34} p50 {:>8.1} us  p99 {:>8.1} us  mean {:>8.1} us  max {:>9.1} us  ({} calls)",
                l.p50_us, l.p99_us, l.mean_us, l.max_us, l.calls
            );
        };
        let _ = writeln!(out, " latency, 1 session, sequential tools/call echo:");
        lat(out, direct_label, &self.direct_latency);
        for proxy in &self.proxies {
            lat(out, &format!("through {}", proxy.label), &proxy.latency);
        }
        lat(out, "through gateway", &self.gateway_latency);
        let p50 = self.added_p50_us();
        let p99 = self.added_p99_us();
        let _ = writeln!(
            out,
            "  added p50 {p50:>8.1} us   target <= {TARGET_ADDED_P50_US} us   {}",
            verdict(p50 <= TARGET_ADDED_P50_US)
        );
        let _ = writeln!(
            out,
            "  added p99 {p99:>8.1} us   target <= {TARGET_ADDED_P99_US} us   {}",
            verdict(p99 <= TARGET_ADDED_P99_US)
        );
        for proxy in &self.proxies {
            let _ = writeln!(
                out,
                "  the {} adds p50 {:.1} us, p99 {:.1} us (a yardstick)",
                proxy.label,
                proxy.latency.p50_us - self.direct_latency.p50_us,
                proxy.latency.p99_us - self.direct_latency.p99_us
            );
        }
        let tp = |out: &mut String, label: &str, t: &Throughput| {
            let _ = writeln!(
                out,
                "  {label:<34} {:>9.0} calls/s  ({} calls, {} errors, {:.2} s; p50 {:.0} us, p99 {:.0} us)",
                t.calls_per_s, t.calls, t.errors, t.seconds, t.latency.p50_us, t.latency.p99_us
            );
        };
        let _ = writeln!(
            out,
            " throughput, {} concurrent sessions:",
            self.gateway_throughput.sessions
        );
        let mut runs = vec![(direct_label.to_string(), &self.direct_throughput)];
        for proxy in &self.proxies {
            runs.push((format!("through {}", proxy.label), &proxy.throughput));
        }
        runs.push(("through gateway".to_string(), &self.gateway_throughput));
        for (label, t) in &runs {
            tp(out, label, t);
        }
        for (label, t) in &runs {
            let _ = writeln!(out, "  CPU {label:<30} {}", cpu_line(t));
        }
        let ratio = self.throughput_ratio();
        let _ = writeln!(
            out,
            "  gateway/direct {:>6.1} %   target >= {:.0} %   {}",
            ratio * 100.0,
            TARGET_THROUGHPUT_RATIO * 100.0,
            verdict(ratio >= TARGET_THROUGHPUT_RATIO)
        );
        for proxy in &self.proxies {
            let _ = writeln!(
                out,
                "  {}/direct {:>6.1} % (a yardstick; issue 2 quotes ~45 % for the plain proxy), gateway/{} {:.1} %",
                proxy.label,
                self.proxy_ratio(proxy) * 100.0,
                proxy.label,
                self.gateway_throughput.calls_per_s / proxy.throughput.calls_per_s.max(1e-9)
                    * 100.0
            );
        }
        let c = &self.counted;
        let _ = writeln!(
            out,
            " upstream calls: {} downstream tools/call sent through the gateway, backend received {} tools/call ({} echo) = {:.4} per call   target exactly 1   {}",
            c.sent,
            c.upstream_tools_call,
            c.upstream_echo,
            c.ratio(),
            verdict(c.exact())
        );
        if !c.other_methods.is_empty() {
            let _ = writeln!(
                out,
                "  other upstream methods in the same window: {}",
                methods(&c.other_methods)
            );
        }
    }

    fn json(&self) -> Value {
        let lat = |l: &Latency| {
            json!({"calls": l.calls, "p50_us": l.p50_us, "p99_us": l.p99_us,
                   "mean_us": l.mean_us, "max_us": l.max_us})
        };
        let tp = |t: &Throughput| {
            json!({"sessions": t.sessions, "calls": t.calls, "errors": t.errors,
                   "seconds": t.seconds, "calls_per_s": t.calls_per_s, "latency": lat(&t.latency),
                   "cpu_seconds": t.cpu.iter().map(|(l, s)| (l.to_string(), json!(s))).collect::<serde_json::Map<_, _>>()})
        };
        let mut report = json!({
            "backend": self.backend,
            "latency_1_session": {"direct": lat(&self.direct_latency),
                                  "gateway": lat(&self.gateway_latency),
                                  "added_p50_us": self.added_p50_us(),
                                  "added_p99_us": self.added_p99_us()},
            "throughput": {"direct": tp(&self.direct_throughput),
                           "gateway": tp(&self.gateway_throughput),
                           "ratio": self.throughput_ratio()},
            "upstream_calls": counted_json(&self.counted),
        });
        for p in &self.proxies {
            report[p.key] = json!({
                "latency_1_session": lat(&p.latency),
                "throughput": tp(&p.throughput),
                "ratio": self.proxy_ratio(p),
            });
        }
        report
    }
}

/// `client 1.62 s (81 %, 20 us/call), ...`: CPU time per process over a run, as a share of one
/// core and per answered call.
fn cpu_line(t: &Throughput) -> String {
    t.cpu
        .iter()
        .map(|(label, secs)| {
            format!(
                "{label} {secs:.2} s ({:.0} % of a core, {:.1} us/call)",
                secs / t.seconds.max(1e-9) * 100.0,
                secs * 1e6 / t.calls.max(1) as f64
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn methods(list: &[(String, u64)]) -> String {
    list.iter()
        .map(|(m, n)| format!("{m} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn counted_json(c: &Counted) -> Value {
    json!({"downstream": c.sent, "upstream_tools_call": c.upstream_tools_call,
           "upstream_echo": c.upstream_echo, "per_call": c.ratio(), "exact": c.exact(),
           "other_methods": c.other_methods.iter().map(|(m, n)| json!({"method": m, "count": n})).collect::<Vec<_>>()})
}

impl Report {
    /// Whether every target is met.
    pub fn all_pass(&self) -> bool {
        let c = &self.http;
        c.added_p50_us() <= TARGET_ADDED_P50_US
            && c.added_p99_us() <= TARGET_ADDED_P99_US
            && c.throughput_ratio() >= TARGET_THROUGHPUT_RATIO
            && self.idle.shared_bytes_per_session() <= TARGET_IDLE_BYTES
            && self.cold.median_ms() <= TARGET_READY_MS
            && c.counted.exact()
            && self.stdio.as_ref().is_none_or(|s| s.counted.exact())
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let o = &self.options;
        let _ = writeln!(
            out,
            "toolport-bench: {} cores shared by client, gateway and backend; load average {} before, {} after\n {} sequential calls per latency figure (after {} warm-up), {} sessions for {:.0} s per throughput figure, each split over {} rounds rotating direct, the two plain proxies and the gateway",
            std::thread::available_parallelism().map_or(0, usize::from),
            self.load_before,
            self.load_after,
            o.calls,
            o.warmup,
            o.sessions,
            o.duration.as_secs_f64(),
            o.rounds
        );
        self.http.text(&mut out);
        if let Some(stdio) = &self.stdio {
            stdio.text(&mut out);
        }
        let i = &self.idle;
        let _ = writeln!(
            out,
            "\n== gateway memory (VmRSS) ==\n {} idle initialized sessions over {} reused connections: {} -> {} KiB = {:.1} KB per session   target <= {:.0} KB   {}",
            i.sessions,
            i.shared_conns,
            i.shared_base_kib,
            i.shared_after_kib,
            i.shared_bytes_per_session() / 1000.0,
            TARGET_IDLE_BYTES / 1000.0,
            verdict(i.shared_bytes_per_session() <= TARGET_IDLE_BYTES)
        );
        let _ = writeln!(
            out,
            " {} idle sessions, each on its own open keep-alive connection: {} -> {} KiB = {:.1} KB per session+connection",
            i.sessions,
            i.own_base_kib,
            i.own_after_kib,
            i.own_bytes_per_session() / 1000.0
        );
        let _ = writeln!(
            out,
            " upstream requests caused by those {} downstream initializes: {}",
            2 * i.sessions,
            if self.idle_upstream.other_methods.is_empty()
                && self.idle_upstream.upstream_tools_call == 0
            {
                "none".to_owned()
            } else {
                methods(&self.idle_upstream.other_methods)
            }
        );
        let _ = writeln!(
            out,
            " gateway RSS after the load runs: {} KiB",
            self.gateway_rss_kib
        );
        let c = &self.cold;
        let _ = writeln!(
            out,
            "\n== cold start (spawn -> first 200 from /healthz, no backends) ==\n {} runs: median {:.1} ms, min {:.1} ms, max {:.1} ms   target <= {TARGET_READY_MS:.0} ms   {}\n RSS when ready: {} KiB",
            c.runs_ms.len(),
            c.median_ms(),
            c.min_ms(),
            c.max_ms(),
            verdict(c.median_ms() <= TARGET_READY_MS),
            c.rss_at_ready_kib
        );
        let _ = writeln!(
            out,
            "\nall targets met: {}",
            if self.all_pass() { "yes" } else { "no" }
        );
        out
    }

    pub fn json(&self) -> Value {
        let i = &self.idle;
        let o = &self.options;
        json!({
            "machine": {"cores": std::thread::available_parallelism().map_or(0, usize::from),
                        "load_before": self.load_before, "load_after": self.load_after},
            "options": {"duration_s": o.duration.as_secs_f64(), "sessions": o.sessions,
                        "calls": o.calls, "warmup": o.warmup, "idle_sessions": o.idle_sessions,
                        "cold_runs": o.cold_runs, "rounds": o.rounds},
            "http": self.http.json(),
            "stdio": self.stdio.as_ref().map(Comparison::json),
            "idle_memory": {
                "sessions": i.sessions,
                "shared_connections": {"connections": i.shared_conns, "base_kib": i.shared_base_kib,
                    "after_kib": i.shared_after_kib, "bytes_per_session": i.shared_bytes_per_session()},
                "own_connections": {"base_kib": i.own_base_kib, "after_kib": i.own_after_kib,
                    "bytes_per_session": i.own_bytes_per_session()},
                "upstream_during_initializes": counted_json(&self.idle_upstream),
            },
            "gateway_rss_kib": self.gateway_rss_kib,
            "cold_start": {"runs_ms": self.cold.runs_ms, "median_ms": self.cold.median_ms(),
                           "rss_at_ready_kib": self.cold.rss_at_ready_kib},
            "targets": {"added_p50_us": TARGET_ADDED_P50_US, "added_p99_us": TARGET_ADDED_P99_US,
                        "throughput_ratio": TARGET_THROUGHPUT_RATIO, "idle_bytes": TARGET_IDLE_BYTES,
                        "ready_ms": TARGET_READY_MS, "upstream_per_call": 1},
            "all_pass": self.all_pass(),
        })
    }
}
