//! The processes a benchmark run starts (the fixture backend and `toolport serve`), where their
//! binaries are, and what can be read about them from `/proc`; all are killed when dropped.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::process::{Child, Command};

use super::client::Conn;
use super::error::BenchError;
use crate::process::{FixtureProcess, spawn_announcing, spawn_listening};

/// A release binary: `$ENV` when set, else `NAME` next to the running benchmark.
pub fn locate(name: &str, env: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Where `toolport`, `toolport-fixture` and `toolport-plain-proxy` are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub toolport: PathBuf,
    pub fixture: PathBuf,
    pub plain_proxy: PathBuf,
}

impl Binaries {
    pub fn locate() -> Self {
        Self {
            toolport: locate("toolport", "TOOLPORT_BIN"),
            fixture: locate("toolport-fixture", "TOOLPORT_FIXTURE_BIN"),
            plain_proxy: locate("toolport-plain-proxy", "TOOLPORT_PLAIN_PROXY_BIN"),
        }
    }
}

/// A fixture over Streamable HTTP on a free loopback port.
pub async fn start_fixture(bins: &Binaries) -> Result<(FixtureProcess, SocketAddr), BenchError> {
    if !bins.fixture.exists() {
        return Err(BenchError::Start {
            bin: bins.fixture.clone(),
            env: "TOOLPORT_FIXTURE_BIN",
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    let fixture = spawn_listening(&bins.fixture, "http", &[]).await?;
    let addr = announced_addr(&fixture, "the fixture's announced URL")?;
    Ok((fixture, addr))
}

/// A plain reverse proxy in front of the fixture at `upstream`, on a free loopback port; with
/// `json_rpc`, the one that reads the messages it forwards.
pub async fn start_plain_proxy(
    bins: &Binaries,
    upstream: SocketAddr,
    json_rpc: bool,
) -> Result<(FixtureProcess, SocketAddr), BenchError> {
    if !bins.plain_proxy.exists() {
        return Err(BenchError::Start {
            bin: bins.plain_proxy.clone(),
            env: "TOOLPORT_PLAIN_PROXY_BIN",
            source: std::io::ErrorKind::NotFound.into(),
        });
    }
    let upstream = upstream.to_string();
    let mut args = vec!["--upstream", upstream.as_str()];
    if json_rpc {
        args.push("--json-rpc");
    }
    let proxy = spawn_announcing(&bins.plain_proxy, &args).await?;
    let addr = announced_addr(&proxy, "the plain proxy's announced URL")?;
    Ok((proxy, addr))
}

fn announced_addr(process: &FixtureProcess, what: &str) -> Result<SocketAddr, BenchError> {
    process
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| BenchError::protocol(what, format!("{e}")))
}

/// A port the OS considers free right now (there is a small window before the gateway binds it).
pub fn free_port() -> Result<SocketAddr, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(BenchError::Port)?;
    listener.local_addr().map_err(BenchError::Port)
}

/// `VmRSS` of a process, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64, BenchError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|source| BenchError::Proc { pid, source })?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| BenchError::Proc {
            pid,
            source: std::io::Error::other("no VmRSS line"),
        })
}

/// User plus system CPU time a process has used so far, in seconds (`/proc/PID/stat`, with the
/// usual 100 clock ticks per second); `None` for `self`.
pub fn cpu_seconds(pid: Option<u32>) -> Result<f64, BenchError> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |p| format!("/proc/{p}/stat"),
    );
    let proc_err = |source| BenchError::Proc {
        pid: pid.unwrap_or_else(std::process::id),
        source,
    };
    let stat = std::fs::read_to_string(path).map_err(proc_err)?;
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(utime), Some(stime)) => Ok((utime + stime) as f64 / 100.0),
        _ => Err(proc_err(std::io::Error::other("unreadable stat line"))),
    }
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minutes), or `?`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

/// A running `toolport serve` with a config file of the benchmark's own (in a temporary
/// directory, with its log beside it); killed when dropped.
#[derive(Debug)]
pub struct GatewayProcess {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
    pub spawned: Instant,
    dir: tempfile::TempDir,
}

impl GatewayProcess {
    /// Writes `config` (mcpServers JSON) and spawns `toolport serve --config .. --listen ..`.
    /// Logs (`RUST_LOG`, `warn` unless set) go to `gateway.log` in the temporary directory.
    pub fn spawn(bin: &Path, config: &str) -> Result<Self, BenchError> {
        let dir = tempfile::Builder::new()
            .prefix("toolport-bench")
            .tempdir()
            .map_err(BenchError::Config)?;
        let path = dir.path().join("toolport.json");
        std::fs::write(&path, config).map_err(BenchError::Config)?;
        let log =
            std::fs::File::create(dir.path().join("gateway.log")).map_err(BenchError::Config)?;
        let addr = free_port()?;
        let start = |source| BenchError::Start {
            bin: bin.to_path_buf(),
            env: "TOOLPORT_BIN",
            source,
        };
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .arg("--config")
            .arg(&path)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        let spawned = Instant::now();
        let child = command.spawn().map_err(start)?;
        let pid = child
            .id()
            .ok_or_else(|| start(std::io::Error::other("exited at once")))?;
        Ok(Self {
            child,
            addr,
            pid,
            spawned,
            dir,
        })
    }

    /// The last lines of the gateway's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Polls `path` (every 200 us) until it answers 200; returns the time since spawning.
    pub async fn wait_for(&mut self, path: &str, limit: Duration) -> Result<Duration, BenchError> {
        let deadline = self.spawned + limit;
        while Instant::now() < deadline {
            if let Ok(StatusCode::OK) = Conn::get_status(self.addr, path).await {
                return Ok(self.spawned.elapsed());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BenchError::protocol(
                    "toolport serve",
                    format!("exited with {status}; log:\n{}", self.log_tail()),
                ));
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        Err(BenchError::Timeout {
            what: format!("GET {path} answering 200; log:\n{}", self.log_tail()),
            limit,
        })
    }

    pub fn rss_kib(&self) -> Result<u64, BenchError> {
        rss_kib(self.pid)
    }

    /// Kills the gateway and waits for it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
