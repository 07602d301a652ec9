//! A local HTTP server for API execution tests: it records every request exactly as received (method,
//! raw path and query, headers, body) and answers with what the test's responder says.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use serde_json::Value;
use toolport_upstream::api::{ApiBackend, ApiConfig, SafeClient, SpecSource, SsrfPolicy};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Raw path, still percent-encoded.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client's address: one per connection.
    pub peer: SocketAddr,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn body_json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(v: Value) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: v.to_string().into_bytes(),
            delay: None,
        }
    }

    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body,
            delay: None,
        }
    }

    pub fn redirect(location: &str) -> Self {
        Reply {
            status: 302,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
            delay: None,
        }
    }
}

type Responder = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// The running server.
#[derive(Clone)]
pub struct Recorder {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Recorder {
    pub async fn start(respond: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let respond: Responder = Arc::new(respond);
        let log = requests.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let log = log.clone();
            let respond = respond.clone();
            async move { handle(req, log, respond).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        Recorder { addr, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    pub fn last(&self) -> Recorded {
        self.requests().pop().expect("a request was recorded")
    }
}

async fn handle(req: Request, log: Arc<Mutex<Vec<Recorded>>>, respond: Responder) -> Response {
    let (parts, body) = req.into_parts();
    let ConnectInfo(peer) = *parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .expect("the server is made with connect info");
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let rec = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        peer,
    };
    if let Ok(mut l) = log.lock() {
        l.push(rec.clone());
    }
    let reply = respond(&rec);
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    let mut b = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        b = b.header(k, v);
    }
    b.body(Body::from(reply.body)).expect("a valid response")
}

/// A client admitting loopback 127.0.0.1 (the recorder), nothing else private.
pub fn client() -> SafeClient {
    SafeClient::new(Arc::new(SsrfPolicy::new(vec!["127.0.0.1".into()]))).expect("client")
}

/// A backend over an inline description.
pub async fn backend(
    name: &str,
    spec: &str,
    configure: impl FnOnce(&mut ApiConfig),
) -> Arc<ApiBackend> {
    let mut config = ApiConfig::new(SpecSource::Bytes {
        source: String::new(),
        bytes: spec.as_bytes().to_vec(),
    });
    configure(&mut config);
    ApiBackend::load(name, config, client())
        .await
        .expect("the backend loads")
}

/// The text of a result's first content item.
pub fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

pub fn is_error(result: &Value) -> bool {
    result["isError"].as_bool().unwrap_or(false)
}

/// A document of the shared third-party corpus: `$TOOLPORT_SPECS_DIR`, else `shared/specs` beside
/// the repository (where CI puts it).
pub fn spec_path(relative: &str) -> String {
    let dir = std::env::var("TOOLPORT_SPECS_DIR")
        .unwrap_or_else(|_| format!("{}/../../../shared/specs", env!("CARGO_MANIFEST_DIR")));
    format!("{dir}/{relative}")
}
