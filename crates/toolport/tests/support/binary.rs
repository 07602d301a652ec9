//! The `toolport` binary as a process: a configuration file and a data directory in a temporary
//! directory, started and stopped like an operator would, plus the admin CLI and a recording API.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use toolport_store::{NewToken, Role, SqliteStore, Store};

use super::free_port;

/// The `toolport` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_toolport");
/// The first administrator's token, imported through `TOOLPORT_ADMIN_TOKEN`.
pub const ADMIN_TOKEN: &str = "tp_test_administrator_token_0123456789";

/// A gateway process with a configuration file and a data directory in a temporary directory.
pub struct Gateway {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
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

/// The fixture granted to every tenant (`"tenants": ["*"]`), for tests whose second tenant uses it.
pub fn shared_fixture_server() -> Value {
    let mut server = fixture_server();
    server["tenants"] = json!(["*"]);
    server
}

/// An HTTP API that records the Authorization header of every call.
pub async fn recording_api() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/ping",
        axum::routing::get(move |headers: HeaderMap| {
            let record = record.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                record.lock().unwrap().push(auth);
                axum::Json(json!({"pong": true}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

pub const PING_SPEC: &str = r#"{"openapi": "3.0.3", "info": {"title": "ping", "version": "1"},
  "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}}"#;

/// Runs `toolport ARGS` against the gateway as the administrator, `stdin` on its standard input.
pub async fn cli_output(gw: &Gateway, args: &[&str], stdin: &str) -> Output {
    cli_output_as(gw, ADMIN_TOKEN, args, stdin).await
}

/// Like [`cli_output`] with another API token.
pub async fn cli_output_as(gw: &Gateway, token: &str, args: &[&str], stdin: &str) -> Output {
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

/// Like [`cli_output`] for a command that must succeed; returns the JSON it printed.
pub async fn cli(gw: &Gateway, args: &[&str], stdin: &str) -> Value {
    let output = cli_output(gw, args, stdin).await;
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

/// An `initialize` request of revision 2025-11-25.
pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "tenancy-test", "version": "1"}}})
}

/// A second tenant with a user whose token has `scopes`.
pub async fn other_tenant_token(data_dir: &Path, scopes: &[&str]) -> String {
    let email = format!("{}@acme.test", scopes.join("+"));
    tenant_token(data_dir, "acme", "free", &email, Role::Member, scopes).await
}

/// A token with `scopes` of a new user `email` with `role` in tenant `tenant` (created on `plan`
/// unless it exists).
pub async fn tenant_token(
    data_dir: &Path,
    tenant: &str,
    plan: &str,
    email: &str,
    role: Role,
    scopes: &[&str],
) -> String {
    let store = SqliteStore::open(data_dir).await.unwrap();
    let tenant = match store.tenant_by_name(tenant).await {
        Ok(t) => t,
        Err(_) => store.create_tenant(tenant, plan).await.unwrap(),
    };
    let user = store.create_user(email, "Dev").await.unwrap();
    store.add_member(&tenant.id, &user.id, role).await.unwrap();
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
