//! Shared set-up of the admin API tests: a real SQLite store in a temp dir, a real vault, the
//! router driven with `tower::ServiceExt::oneshot`, and the actors every test uses.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use toolport_admin::rotation::reseal_all;
use toolport_admin::{
    AdminState, BackendRegistry, BackendState, CheckedBackend, EndpointCatalog, KeyRotation,
    RegistrationRefusal, RotationError, RotationReport, TokenAuthenticator, UpstreamTools, router,
};
use toolport_metering::{
    AuditLog, BatchConfig, CallMeter, MeteringConfig, Redactor, UsageRecorder,
};
use toolport_store::{BackendKind, NewBackend, NewToken, Role, SqliteStore, Store, Tenant, User};
use toolport_vault::{MasterKey, Vault};
use tower::ServiceExt;

/// Every route the router serves, written once: (method, path template). The OpenAPI test checks
/// the document against it both ways, and the router test checks the router against it.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/me/secrets"),
    ("PUT", "/api/v1/me/secrets/{name}"),
    ("DELETE", "/api/v1/me/secrets/{name}"),
    ("GET", "/api/v1/tenants"),
    ("POST", "/api/v1/tenants"),
    ("GET", "/api/v1/tenants/{tenant}"),
    ("DELETE", "/api/v1/tenants/{tenant}"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{user}"),
    ("DELETE", "/api/v1/users/{user}"),
    ("GET", "/api/v1/tenants/{tenant}/members"),
    ("POST", "/api/v1/tenants/{tenant}/members"),
    ("PUT", "/api/v1/tenants/{tenant}/members/{user}"),
    ("DELETE", "/api/v1/tenants/{tenant}/members/{user}"),
    ("GET", "/api/v1/tenants/{tenant}/tokens"),
    ("POST", "/api/v1/tenants/{tenant}/tokens"),
    ("GET", "/api/v1/tenants/{tenant}/tokens/{id}"),
    ("DELETE", "/api/v1/tenants/{tenant}/tokens/{id}"),
    ("GET", "/api/v1/tenants/{tenant}/secrets"),
    ("PUT", "/api/v1/tenants/{tenant}/secrets/{name}"),
    ("DELETE", "/api/v1/tenants/{tenant}/secrets/{name}"),
    ("GET", "/api/v1/tenants/{tenant}/endpoints"),
    ("POST", "/api/v1/tenants/{tenant}/endpoints"),
    ("GET", "/api/v1/tenants/{tenant}/endpoints/{slug}"),
    ("PATCH", "/api/v1/tenants/{tenant}/endpoints/{slug}"),
    ("DELETE", "/api/v1/tenants/{tenant}/endpoints/{slug}"),
    ("PUT", "/api/v1/tenants/{tenant}/endpoints/{slug}/tools"),
    (
        "PUT",
        "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}",
    ),
    (
        "DELETE",
        "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}",
    ),
    ("GET", "/api/v1/tenants/{tenant}/apis"),
    ("POST", "/api/v1/tenants/{tenant}/apis"),
    ("GET", "/api/v1/tenants/{tenant}/apis/{name}"),
    ("PUT", "/api/v1/tenants/{tenant}/apis/{name}"),
    ("DELETE", "/api/v1/tenants/{tenant}/apis/{name}"),
    ("GET", "/api/v1/tenants/{tenant}/servers"),
    ("POST", "/api/v1/tenants/{tenant}/servers"),
    ("GET", "/api/v1/tenants/{tenant}/servers/{name}"),
    ("PUT", "/api/v1/tenants/{tenant}/servers/{name}"),
    ("DELETE", "/api/v1/tenants/{tenant}/servers/{name}"),
    ("GET", "/api/v1/plans"),
    ("PUT", "/api/v1/tenants/{tenant}/plan"),
    ("GET", "/api/v1/tenants/{tenant}/usage"),
    ("GET", "/api/v1/tenants/{tenant}/usage/events"),
    ("GET", "/api/v1/tenants/{tenant}/audit"),
    ("GET", "/api/v1/audit"),
    ("POST", "/api/v1/vault/rotate"),
];

/// The gateway as the endpoint routes see it, in tests: `/mcp/github` is a configured server;
/// backend `files` (ready, tools `read_file` and `write_file`) and `starting` (not up yet) are
/// granted to every tenant, `acme-only` (ready, tool `ping`) to tenant `acme` only.
#[derive(Debug, Default)]
pub struct TestCatalog {
    /// How many times the gateway was told that endpoints changed.
    pub changes: AtomicUsize,
}

impl EndpointCatalog for TestCatalog {
    fn reserved(&self, name: &str) -> Option<String> {
        (name == "github")
            .then(|| "/mcp/github is a server (or API) of the gateway's configuration file".into())
    }

    fn upstream_tools(&self, tenant: &Tenant, upstream: &str) -> Option<UpstreamTools> {
        let ready = |tools: &[&str]| UpstreamTools {
            ready: true,
            tools: tools.iter().map(|t| (*t).to_owned()).collect(),
        };
        match upstream {
            "files" => Some(ready(&["read_file", "write_file"])),
            "starting" => Some(UpstreamTools {
                ready: false,
                tools: Vec::new(),
            }),
            "acme-only" if tenant.name == "acme" => Some(ready(&["ping"])),
            _ => None,
        }
    }

    fn endpoints_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }
}

/// Registrations in tests: a definition with `"invalid": true` breaks a rule, the name `github`
/// clashes with the configuration, an API yields one tool per `operationId` in its document.
impl BackendRegistry for TestCatalog {
    fn check<'a>(
        &'a self,
        _tenant: &'a Tenant,
        backend: &'a NewBackend,
    ) -> Pin<Box<dyn Future<Output = Result<CheckedBackend, RegistrationRefusal>> + Send + 'a>>
    {
        let definition: Value = serde_json::from_str(&backend.definition).unwrap();
        let checked = if definition["invalid"] == true {
            Err(RegistrationRefusal::Invalid {
                key: "definition.invalid".into(),
                message: "is not allowed".into(),
            })
        } else if backend.name == "github" {
            Err(RegistrationRefusal::Conflict(
                "`github` is taken by the configuration file".into(),
            ))
        } else {
            Ok(CheckedBackend {
                tools: (backend.kind == BackendKind::Api).then(|| {
                    let document = backend.document.as_deref().unwrap_or_default();
                    document.matches("operationId").count() as u64
                }),
            })
        };
        Box::pin(std::future::ready(checked))
    }

    fn state(&self, _tenant: &Tenant, _name: &str) -> Option<BackendState> {
        Some(BackendState {
            state: "ready".into(),
            reason: None,
            tools: 1,
        })
    }

    fn backends_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.changes.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(()))
    }
}

/// A user with a token.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub token: String,
    pub token_id: String,
}

/// The world of a test.
pub struct Fixture {
    pub dir: TempDir,
    pub store: Arc<SqliteStore>,
    pub vault: Arc<Vault>,
    pub auth: Arc<TokenAuthenticator<SqliteStore>>,
    pub catalog: Arc<TestCatalog>,
    pub meter: Arc<CallMeter<SqliteStore>>,
    pub app: Router,
    /// Tenant A (the operator's).
    pub a: Tenant,
    /// Tenant B.
    pub b: Tenant,
    /// Tenant A, owner, scopes operator + admin + mcp.
    pub operator: Actor,
    /// Tenant A, member, with a token (`mcp`) and nothing else: a record to protect.
    pub a_member: Actor,
    /// Tenant B, admin role, scopes admin + mcp.
    pub b_admin: Actor,
    /// Tenant B, member role, scopes admin + mcp.
    pub b_member: Actor,
    /// Tenant B, the admin's user, scope mcp only.
    pub b_mcp: Actor,
}

/// A JSON-ish reply.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .map_or("", |v| v.to_str().unwrap())
    }

    /// Asserts this is a problem+json of `status` and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(self.content_type(), "application/problem+json");
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .starts_with("https://toolport.dev/problems/")
        );
        assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        body
    }

    /// Asserts `status` and a JSON body, and returns it.
    #[track_caller]
    pub fn ok(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(self.content_type(), "application/json");
        self.json()
    }
}

/// The call meter of a fixture: its writers flush every 20 ms, so tests see entries quickly.
pub fn meter(
    store: &Arc<SqliteStore>,
    config: &MeteringConfig,
    default_tenant: &str,
) -> Arc<CallMeter<SqliteStore>> {
    let batch = BatchConfig {
        flush_interval: std::time::Duration::from_millis(20),
        ..BatchConfig::default()
    };
    let stop = CancellationToken::new();
    let (usage, _) = UsageRecorder::spawn(Arc::clone(store), batch.clone(), stop.clone());
    let (audit, _) = AuditLog::spawn(
        Arc::clone(store),
        batch,
        Redactor::new(&config.redaction),
        stop,
    );
    Arc::new(CallMeter::new(
        Arc::clone(store),
        config,
        usage,
        audit,
        default_tenant.to_owned(),
    ))
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with_metering(&MeteringConfig::default()).await
    }

    /// A fixture whose meter has `config` (rate limits, plans).
    pub async fn with_metering(config: &MeteringConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
        let vault = Arc::new(Vault::new(MasterKey::generate()));
        let auth = Arc::new(TokenAuthenticator::new(Arc::clone(&store)));
        let catalog = Arc::new(TestCatalog::default());
        let a = store.create_tenant("acme", "pro").await.unwrap();
        let meter = meter(&store, config, &a.id);
        let rotation = Arc::new(InMemoryRotation {
            store: Arc::clone(&store),
            vault: Arc::clone(&vault),
            running: tokio::sync::Mutex::new(()),
        });
        let app = router(
            AdminState::new(
                Arc::clone(&store),
                Arc::clone(&vault),
                Arc::clone(&auth),
                Arc::clone(&meter),
            )
            .with_key_rotation(rotation)
            .with_endpoint_catalog(catalog.clone())
            .with_backend_registry(catalog.clone()),
        );
        let b = store.create_tenant("bravo", "free").await.unwrap();
        let operator = actor(
            &store,
            &a,
            "op@a.test",
            Role::Owner,
            &["operator", "admin", "mcp"],
        )
        .await;
        let a_member = actor(&store, &a, "member@a.test", Role::Member, &["mcp"]).await;
        let b_admin = actor(&store, &b, "admin@b.test", Role::Admin, &["admin", "mcp"]).await;
        let b_member = actor(&store, &b, "member@b.test", Role::Member, &["admin", "mcp"]).await;
        let b_mcp = token_for(&store, &b, &b_admin.user, &["mcp"]).await;
        Self {
            dir,
            store,
            vault,
            auth,
            catalog,
            meter,
            app,
            a,
            b,
            operator,
            a_member,
            b_admin,
            b_member,
            b_mcp,
        }
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|b| ("application/json", serde_json::to_vec(&b).unwrap()));
        self.raw(method, path, token, body).await
    }

    /// Sends a request with a body of any content type.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some((content_type, bytes)) => request
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
            None => request.body(Body::empty()),
        }
        .unwrap();
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            bytes,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }
}

/// A new user, member of `tenant` with `role`, with a token of `scopes`.
pub async fn actor(
    store: &SqliteStore,
    tenant: &Tenant,
    email: &str,
    role: Role,
    scopes: &[&str],
) -> Actor {
    let user = store.create_user(email, email).await.unwrap();
    store.add_member(&tenant.id, &user.id, role).await.unwrap();
    token_for(store, tenant, &user, scopes).await
}

/// A new token of `user` in `tenant`.
pub async fn token_for(
    store: &SqliteStore,
    tenant: &Tenant,
    user: &User,
    scopes: &[&str],
) -> Actor {
    let created = store
        .create_token(&NewToken {
            tenant_id: tenant.id.clone(),
            user_id: user.id.clone(),
            name: format!("{} token", user.email),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: None,
        })
        .await
        .unwrap();
    Actor {
        user: user.clone(),
        token: created.token,
        token_id: created.record.id,
    }
}

/// Fills a template with values.
pub fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    let mut path = template.to_owned();
    for (name, value) in pairs {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    path
}

impl Fixture {
    /// A new user (no memberships); returns the id.
    pub async fn store_user(&self, email: &str) -> String {
        self.store.create_user(email, email).await.unwrap().id
    }
}

/// The rotation of the admin tests: the binary's steps without its key file (a new key in memory,
/// every secret and the key check re-sealed, the old key retired).
#[derive(Debug)]
pub struct InMemoryRotation {
    store: Arc<SqliteStore>,
    vault: Arc<Vault>,
    running: tokio::sync::Mutex<()>,
}

impl KeyRotation for InMemoryRotation {
    fn rotate(
        &self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<RotationReport, RotationError>> + Send + '_>,
    > {
        Box::pin(async move {
            let _running = self
                .running
                .try_lock()
                .map_err(|_| RotationError::InProgress)?;
            let old = self.vault.rotate(MasterKey::generate())?;
            let resealed = reseal_all(self.store.as_ref(), &self.vault).await?;
            self.store
                .set_vault_key_check(&self.vault.key_check()?)
                .await?;
            self.vault.retire(old)?;
            Ok(RotationReport {
                key_id: self.vault.active_key_id().to_string(),
                retired_key_ids: vec![old.to_string()],
                resealed_secrets: resealed,
                key_check_resealed: true,
            })
        })
    }
}
