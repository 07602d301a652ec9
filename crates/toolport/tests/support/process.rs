//! The `toolport` binary as a process: a configuration file and a data directory in a temporary
//! directory, started with `serve`, stopped with SIGTERM, its log kept for assertions.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::free_port;

pub const BIN: &str = env!("CARGO_BIN_EXE_toolport");
pub const ADMIN_TOKEN: &str = "tp_test_administrator_token_0123456789";

/// A gateway process with a configuration file and a data directory in a temporary directory.
pub struct Gateway {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub child: Option<Child>,
}

impl Gateway {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            child: None,
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("toolport.json")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("gateway.log")
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn write_config(&self, mut config: Value) {
        config["toolport"]["listen"] = json!(format!("127.0.0.1:{}", self.port));
        let tmp = self.config_path().with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        std::fs::rename(&tmp, self.config_path()).unwrap();
    }

    pub fn command(&self, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--config"])
            .arg(self.config_path())
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("RUST_LOG", "info")
            .env_remove("TOOLPORT_MASTER_KEY")
            .env_remove("TOOLPORT_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Starts the gateway (stderr to the log file) and waits until it answers.
    pub async fn start(&mut self, env: &[(&str, &str)]) {
        let log = std::fs::File::create(self.log_path()).unwrap();
        self.child = Some(self.command(env).stderr(log).spawn().unwrap());
        let start = Instant::now();
        loop {
            if let Ok(resp) = reqwest::get(format!("{}/readyz", self.base())).await
                && resp.status() == 200
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "gateway did not become ready; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().unwrap().to_string();
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap();
            tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .expect("gateway stops on SIGTERM")
                .unwrap();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

pub fn fixture_server() -> Value {
    json!({"command": toolport_testkit::fixture_bin(), "args": ["--transport", "stdio"]})
}

pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "tenancy-test", "version": "1"}}})
}

/// Runs `toolport ARGS` against the gateway with `token`, `stdin` as its input.
pub async fn cli_output(
    gw: &Gateway,
    token: &str,
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("TOOLPORT_URL", gw.base())
        .env("TOOLPORT_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut input, stdin.as_bytes())
        .await
        .unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

/// Runs `toolport ARGS` against the gateway as the administrator; returns the JSON it printed.
pub async fn cli(gw: &Gateway, args: &[&str], stdin: &str) -> Value {
    let output = cli_output(gw, ADMIN_TOKEN, args, stdin).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "toolport {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap()
    }
}
