//! `toolport-bench`: measures the gateway against a fast backend called directly, in one run, and
//! compares the figures with the targets of issue 2.
//!
//! Layout: [`client`] (a lean MCP client over hyper), [`procs`] (the fixture, the plain proxy and
//! `toolport serve` as child processes, `/proc` readings), [`plain_proxy`] (the reverse proxies the
//! gateway is held against, run as `toolport-plain-proxy`), [`measure`] (latency, throughput, idle memory, cold
//! start, upstream call counts), [`report`] (text and JSON output, targets).

pub mod client;
mod error;
pub mod measure;
pub mod plain_proxy;
pub mod procs;
pub mod report;

use std::net::SocketAddr;
use std::time::Duration;

pub use error::BenchError;
pub use report::Report;

use client::Session;
use measure::{Counted, Latency, Throughput};
use procs::{Binaries, GatewayProcess};

/// The server names the gateway gives the two fixture backends (`/mcp/{name}`).
pub const HTTP_SERVER: &str = "fixture_http";
pub const STDIO_SERVER: &str = "fixture_stdio";

/// What to run and for how long.
#[derive(Debug, Clone)]
pub struct Options {
    /// Length of each throughput run.
    pub duration: Duration,
    /// Concurrent sessions in the throughput runs.
    pub sessions: usize,
    /// Sequential calls in each one-session latency run.
    pub calls: usize,
    /// Unmeasured calls before each latency run.
    pub warmup: usize,
    /// Idle sessions opened for the memory reading.
    pub idle_sessions: usize,
    /// Cold starts to time.
    pub cold_runs: usize,
    /// Also measure the gateway in front of a stdio backend.
    pub stdio: bool,
    /// Latency and throughput are measured in this many rounds, alternating direct and gateway,
    /// each with its share of `calls` and `duration`; the figures pool all rounds.
    pub rounds: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(10),
            sessions: 64,
            calls: 10_000,
            warmup: 1_000,
            idle_sessions: 1_000,
            cold_runs: 10,
            stdio: true,
            rounds: 4,
        }
    }
}

/// Direct and through-the-gateway figures of one backend transport.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub backend: &'static str,
    pub direct_latency: Latency,
    pub gateway_latency: Latency,
    pub direct_throughput: Throughput,
    pub gateway_throughput: Throughput,
    /// The same calls through the plain reverse proxies (HTTP backend only): bodies unread, then
    /// read as JSON-RPC.
    pub proxies: Vec<Yardstick>,
    pub counted: Counted,
}

/// What a plain reverse proxy achieved in front of the same backend.
#[derive(Debug, Clone)]
pub struct Yardstick {
    /// How the report names it ("plain proxy").
    pub label: &'static str,
    /// Its key in the JSON report ("plain_proxy").
    pub key: &'static str,
    pub latency: Latency,
    pub throughput: Throughput,
}

fn progress(what: &str) {
    eprintln!("toolport-bench: {what}");
}

fn gateway_config(bins: &Binaries, fixture: SocketAddr, stdio: bool) -> String {
    let mut servers = serde_json::Map::new();
    servers.insert(
        HTTP_SERVER.into(),
        serde_json::json!({"type": "http", "url": format!("http://{fixture}/mcp")}),
    );
    if stdio {
        servers.insert(
            STDIO_SERVER.into(),
            serde_json::json!({
                "command": bins.fixture.to_string_lossy(),
                "args": ["--transport", "stdio"],
            }),
        );
    }
    serde_json::json!({"mcpServers": servers, "toolport": {"mcpAccess": "open"}}).to_string()
}

/// Runs every measurement once and returns the figures.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    let load_before = procs::load_average();
    let bins = Binaries::locate();
    progress(&format!(
        "toolport = {}, fixture = {}",
        bins.toolport.display(),
        bins.fixture.display()
    ));
    let (fixture, fixture_addr) = procs::start_fixture(&bins).await?;
    let mut gateway = GatewayProcess::spawn(
        &bins.toolport,
        &gateway_config(&bins, fixture_addr, options.stdio),
    )?;
    gateway.wait_for("/readyz", Duration::from_secs(30)).await?;
    let gw = gateway.addr;
    progress(&format!(
        "gateway pid {} on {gw}, fixture pid {} on {fixture_addr}",
        gateway.pid,
        fixture.pid().unwrap_or(0)
    ));
    let (proxy, proxy_addr) = procs::start_plain_proxy(&bins, fixture_addr, false).await?;
    let (reader, reader_addr) = procs::start_plain_proxy(&bins, fixture_addr, true).await?;
    progress(&format!(
        "plain proxy pid {} on {proxy_addr}, JSON-RPC proxy pid {} on {reader_addr}",
        proxy.pid().unwrap_or(0),
        reader.pid().unwrap_or(0)
    ));
    let http_path = format!("/mcp/{HTTP_SERVER}");
    let stdio_path = format!("/mcp/{STDIO_SERVER}");

    let mut counter = Session::open(fixture_addr, "/mcp").await?;
    let direct = Target {
        addr: fixture_addr,
        path: "/mcp".into(),
        watched: vec![("client", None), ("backend", fixture.pid())],
    };
    let through_proxy = Target {
        addr: proxy_addr,
        path: "/mcp".into(),
        watched: vec![
            ("client", None),
            ("proxy", proxy.pid()),
            ("backend", fixture.pid()),
        ],
    };
    let through_reader = Target {
        addr: reader_addr,
        path: "/mcp".into(),
        watched: vec![
            ("client", None),
            ("proxy", reader.pid()),
            ("backend", fixture.pid()),
        ],
    };
    let through_http = Target {
        addr: gw,
        path: http_path.clone(),
        watched: vec![
            ("client", None),
            ("gateway", Some(gateway.pid)),
            ("backend", fixture.pid()),
        ],
    };
    // The stdio backend is the gateway's child; its CPU time is counted with nobody.
    let through_stdio = Target {
        addr: gw,
        path: stdio_path,
        watched: vec![("client", None), ("gateway", Some(gateway.pid))],
    };

    let rounds = options.rounds.max(1);
    let calls = options.calls.div_ceil(rounds);
    let warmup = options.warmup.div_ceil(rounds);
    let duration = options.duration / u32::try_from(rounds).unwrap_or(u32::MAX);
    let mut direct_acc = Acc::default();
    let mut proxy_acc = Acc::default();
    let mut reader_acc = Acc::default();
    let mut http_acc = Acc::default();
    let mut stdio_acc = Acc::default();
    let mut stdio_reader = if options.stdio {
        Some(Session::open(gw, &through_stdio.path).await?)
    } else {
        None
    };
    for round in 0..rounds {
        progress(&format!(
            "round {}/{rounds}: latency ({calls} calls) and throughput ({} sessions, {duration:?}), direct, through the plain proxies and through the gateway",
            round + 1,
            options.sessions
        ));
        // Rotate the order so that drift in the machine's load favours nobody.
        let mut order = [Leg::Direct, Leg::Proxy, Leg::Reader, Leg::Gateway];
        let legs = order.len();
        order.rotate_left(round % legs);
        for leg in order {
            match leg {
                Leg::Direct => direct_acc
                    .latency
                    .extend(direct.latency(calls, warmup).await?),
                Leg::Proxy => proxy_acc
                    .latency
                    .extend(through_proxy.latency(calls, warmup).await?),
                Leg::Reader => reader_acc
                    .latency
                    .extend(through_reader.latency(calls, warmup).await?),
                Leg::Gateway => {
                    through_http
                        .counted_latency(&mut counter, &mut http_acc, calls, warmup)
                        .await?;
                    if let Some(reader) = &mut stdio_reader {
                        through_stdio
                            .counted_latency(reader, &mut stdio_acc, calls, warmup)
                            .await?;
                    }
                }
            }
        }
        for leg in order {
            match leg {
                Leg::Direct => direct_acc
                    .runs
                    .push(direct.throughput(options.sessions, duration).await?),
                Leg::Proxy => proxy_acc
                    .runs
                    .push(through_proxy.throughput(options.sessions, duration).await?),
                Leg::Reader => reader_acc.runs.push(
                    through_reader
                        .throughput(options.sessions, duration)
                        .await?,
                ),
                Leg::Gateway => {
                    through_http
                        .counted_throughput(&mut counter, &mut http_acc, options.sessions, duration)
                        .await?;
                    if let Some(reader) = &mut stdio_reader {
                        through_stdio
                            .counted_throughput(reader, &mut stdio_acc, options.sessions, duration)
                            .await?;
                    }
                }
            }
        }
    }
    drop((proxy, reader));
    let direct_latency = Latency::of(direct_acc.latency);
    let direct_throughput = Throughput::of_runs(options.sessions, direct_acc.runs);
    let http = Comparison {
        backend: "Streamable HTTP",
        direct_latency,
        gateway_latency: Latency::of(http_acc.latency),
        direct_throughput: direct_throughput.clone(),
        gateway_throughput: Throughput::of_runs(options.sessions, http_acc.runs),
        proxies: vec![
            Yardstick {
                label: "plain proxy",
                key: "plain_proxy",
                latency: Latency::of(proxy_acc.latency),
                throughput: Throughput::of_runs(options.sessions, proxy_acc.runs),
            },
            Yardstick {
                label: "JSON-RPC proxy",
                key: "json_rpc_proxy",
                latency: Latency::of(reader_acc.latency),
                throughput: Throughput::of_runs(options.sessions, reader_acc.runs),
            },
        ],
        counted: http_acc.counted,
    };
    let stdio = stdio_reader.map(|_| Comparison {
        backend: "stdio",
        direct_latency,
        gateway_latency: Latency::of(stdio_acc.latency),
        direct_throughput,
        gateway_throughput: Throughput::of_runs(options.sessions, stdio_acc.runs),
        proxies: Vec::new(),
        counted: stdio_acc.counted,
    });

    let gateway_rss_kib = gateway.rss_kib()?;
    gateway.stop().await;

    progress(&format!(
        "idle memory: {} sessions through a fresh gateway",
        options.idle_sessions
    ));
    // A fresh process, so that memory freed by the load runs does not hide new allocations.
    let mut gateway = GatewayProcess::spawn(
        &bins.toolport,
        &gateway_config(&bins, fixture_addr, options.stdio),
    )?;
    gateway.wait_for("/readyz", Duration::from_secs(30)).await?;
    let init_before = counter.call_count().await?;
    let idle = measure::idle_memory(&gateway, &http_path, options.idle_sessions, 8).await?;
    let init_after = counter.call_count().await?;
    let idle_upstream = Counted::between(&init_before, &init_after, 0);
    gateway.stop().await;

    progress(&format!(
        "cold start: {} runs with no backends",
        options.cold_runs
    ));
    let cold = measure::cold_start(&bins.toolport, options.cold_runs).await?;

    Ok(Report {
        load_before,
        load_after: procs::load_average(),
        options: options.clone(),
        http,
        stdio,
        idle,
        idle_upstream,
        gateway_rss_kib,
        cold,
    })
}

/// The four ways to the HTTP fixture that each round measures.
#[derive(Debug, Clone, Copy)]
enum Leg {
    Direct,
    Proxy,
    /// The proxy that reads JSON-RPC.
    Reader,
    Gateway,
}

/// Where a measurement goes, and which processes' CPU time it reports.
struct Target {
    addr: SocketAddr,
    path: String,
    watched: Vec<measure::Watched>,
}

impl Target {
    async fn latency(&self, calls: usize, warmup: usize) -> Result<Vec<u64>, BenchError> {
        measure::latency(self.addr, &self.path, calls, warmup).await
    }

    async fn throughput(
        &self,
        sessions: usize,
        duration: Duration,
    ) -> Result<measure::Run, BenchError> {
        measure::throughput(self.addr, &self.path, sessions, duration, &self.watched).await
    }

    /// A latency run through the gateway, with what the backend (read on `reader`, a session
    /// of its own) counted meanwhile.
    async fn counted_latency(
        &self,
        reader: &mut Session,
        acc: &mut Acc,
        calls: usize,
        warmup: usize,
    ) -> Result<(), BenchError> {
        let before = reader.call_count().await?;
        acc.latency.extend(self.latency(calls, warmup).await?);
        let after = reader.call_count().await?;
        acc.count(Counted::between(&before, &after, (calls + warmup) as u64));
        Ok(())
    }

    /// A throughput run through the gateway, with what the backend counted meanwhile (each
    /// session's warm-up call included).
    async fn counted_throughput(
        &self,
        reader: &mut Session,
        acc: &mut Acc,
        sessions: usize,
        duration: Duration,
    ) -> Result<(), BenchError> {
        let before = reader.call_count().await?;
        let run = self.throughput(sessions, duration).await?;
        let after = reader.call_count().await?;
        acc.count(Counted::between(
            &before,
            &after,
            sessions as u64 + run.sent(),
        ));
        acc.runs.push(run);
        Ok(())
    }
}

/// The samples, runs and counts of one target over all rounds.
#[derive(Default)]
struct Acc {
    latency: Vec<u64>,
    runs: Vec<measure::Run>,
    counted: Counted,
}

impl Acc {
    fn count(&mut self, window: Counted) {
        self.counted = merge(std::mem::take(&mut self.counted), window);
    }
}

/// Adds the counts of two windows of the same backend.
fn merge(a: Counted, b: Counted) -> Counted {
    let mut other = a.other_methods;
    for (name, n) in b.other_methods {
        match other.iter_mut().find(|(m, _)| *m == name) {
            Some((_, total)) => *total += n,
            None => other.push((name, n)),
        }
    }
    Counted {
        sent: a.sent + b.sent,
        upstream_tools_call: a.upstream_tools_call + b.upstream_tools_call,
        upstream_echo: a.upstream_echo + b.upstream_echo,
        other_methods: other,
    }
}
