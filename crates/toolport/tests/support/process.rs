//! A `toolport serve` process with its own configuration file and data directory in a temporary
//! directory, for the end-to-end tests of tenancy, limits and metering.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use toolport_store::{NewToken, Role, SqliteStore, Store};

use super::free_port;

pub const BIN: &str = env!("CARGO_BIN_EXE_toolport");
pub const ADMIN_TOKEN: &str = "tp_test_administrator_token_0123456789";

/// A gateway process with a configuration file and a data directory in a temporary directory.
pub struct GatewayProcess {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl GatewayProcess {
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

    /// Runs `toolport ARGS` against the gateway as the administrator; returns the JSON it printed.
    pub async fn cli(&self, args: &[&str], stdin: &str) -> Value {
        let mut child = Command::new(BIN)
            .args(args)
            .env("TOOLPORT_URL", self.base())
            .env("TOOLPORT_TOKEN", ADMIN_TOKEN)
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
        let output = child.wait_with_output().await.unwrap();
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

/// A second tenant with a user whose token has `scopes`.
pub async fn other_tenant_token(data_dir: &Path, scopes: &[&str]) -> String {
    let store = SqliteStore::open(data_dir).await.unwrap();
    let tenant = match store.tenant_by_name("acme").await {
        Ok(t) => t,
        Err(_) => store.create_tenant("acme", "free").await.unwrap(),
    };
    let user = store
        .create_user(&format!("{}@acme.test", scopes.join("+")), "Dev")
        .await
        .unwrap();
    store
        .add_member(&tenant.id, &user.id, Role::Member)
        .await
        .unwrap();
    let created = store
        .create_token(&NewToken {
            tenant_id: tenant.id,
            user_id: user.id,
            name: "test".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
        })
        .await
        .unwrap();
    store.close().await;
    created.token
}
