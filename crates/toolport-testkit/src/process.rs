//! Spawning `toolport-fixture` from integration tests of any crate: locating the built binary,
//! starting it on a free loopback port, reading the URL it announces, and killing it (and
//! reaping it) when the handle is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// How long a spawned fixture may take to announce its URL.
const START_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error(
        "cannot start {bin}: {source} (build it with `cargo build -p toolport-testkit --bin toolport-fixture`, or set TOOLPORT_FIXTURE_BIN)"
    )]
    Start {
        bin: PathBuf,
        source: std::io::Error,
    },
    #[error("the fixture exited or closed stdout before announcing its URL")]
    NoAnnouncement,
    #[error("the fixture did not announce its URL within {0:?}")]
    Timeout(Duration),
    #[error("unexpected first stdout line from the fixture: {0:?}")]
    BadAnnouncement(String),
    #[error("reading the fixture's stdout failed: {0}")]
    Read(std::io::Error),
}

/// The `toolport-fixture` binary: `$TOOLPORT_FIXTURE_BIN` or `$CARGO_BIN_EXE_toolport-fixture`
/// when set, else the binary next to the running test executable (`target/<profile>/`).
///
/// Cargo builds it before this crate's own tests and for `cargo test --workspace`; a test run
/// limited to another package needs `cargo build -p toolport-testkit --bin toolport-fixture`
/// first (the path is returned either way; spawning reports a missing file clearly).
pub fn fixture_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(locate).clone()
}

fn locate() -> PathBuf {
    for var in ["TOOLPORT_FIXTURE_BIN", "CARGO_BIN_EXE_toolport-fixture"] {
        if let Some(path) = std::env::var_os(var) {
            return path.into();
        }
    }
    let name = format!("toolport-fixture{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir.join(name)
}

/// A running fixture; killed and reaped on drop.
#[derive(Debug)]
pub struct FixtureProcess {
    child: Child,
    url: String,
    _stdout: BufReader<ChildStdout>,
}

impl FixtureProcess {
    /// The announced endpoint: `http://127.0.0.1:PORT/mcp` (or `/sse`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `http://127.0.0.1:PORT`, without the path.
    pub fn base_url(&self) -> &str {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        match self.url[after_scheme..].find('/') {
            Some(i) => &self.url[..after_scheme + i],
            None => &self.url,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The child, e.g. to wait for it after calling the `crash` tool.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for FixtureProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        for _ in 0..400 {
            match self.child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Ok(Some(_)) | Err(_) => return,
            }
        }
    }
}

/// Starts `toolport-fixture --transport http --listen 127.0.0.1:0 ARGS...` and waits for its
/// URL (`http://127.0.0.1:PORT/mcp`).
pub async fn spawn_http(args: &[&str]) -> Result<FixtureProcess, SpawnError> {
    spawn_listening(&fixture_bin(), "http", args).await
}

/// Starts the legacy HTTP+SSE transport; the URL is `http://127.0.0.1:PORT/sse`.
pub async fn spawn_sse(args: &[&str]) -> Result<FixtureProcess, SpawnError> {
    spawn_listening(&fixture_bin(), "sse", args).await
}

/// Starts `bin` (a `toolport-fixture`) with `--transport TRANSPORT --listen 127.0.0.1:0 ARGS`.
pub async fn spawn_listening(
    bin: &Path,
    transport: &str,
    args: &[&str],
) -> Result<FixtureProcess, SpawnError> {
    let mut full = vec!["--transport", transport, "--listen", "127.0.0.1:0"];
    full.extend_from_slice(args);
    spawn_announcing(bin, &full).await
}

/// Starts `bin ARGS` (the fixture, or another server of this crate that announces itself the same
/// way) and waits for its first stdout line, `listening URL`.
pub async fn spawn_announcing(bin: &Path, args: &[&str]) -> Result<FixtureProcess, SpawnError> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| SpawnError::Start {
            bin: bin.to_path_buf(),
            source,
        })?;
    let stdout = child.stdout.take().ok_or(SpawnError::NoAnnouncement)?;
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    let read = tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut line))
        .await
        .map_err(|_| SpawnError::Timeout(START_TIMEOUT))?
        .map_err(SpawnError::Read)?;
    if read == 0 {
        return Err(SpawnError::NoAnnouncement);
    }
    let url = line
        .trim()
        .strip_prefix("listening ")
        .ok_or_else(|| SpawnError::BadAnnouncement(line.clone()))?
        .to_owned();
    Ok(FixtureProcess {
        child,
        url,
        _stdout: stdout,
    })
}

/// A command that runs the fixture over stdio (`--transport stdio ARGS`), with stdin and stdout
/// piped, stderr inherited, killed when dropped.
pub fn stdio_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(fixture_bin());
    cmd.args(["--transport", "stdio"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    cmd
}
