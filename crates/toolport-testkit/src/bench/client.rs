//! The benchmark's MCP client: one HTTP/1.1 keep-alive connection driven by hyper (no pool, no
//! TLS, no redirects, Nagle off), and Streamable HTTP sessions on top of it, so that the client
//! costs as little CPU as possible on a machine it shares with the gateway and the backend.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use tokio::net::TcpStream;

use super::error::BenchError;

/// The revision the benchmark speaks: the newest one with sessions (`Mcp-Session-Id`).
pub const PROTOCOL_VERSION: &str = "2025-11-25";
const SESSION_ID: &str = "mcp-session-id";
const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";

/// What one HTTP exchange returned.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub session: Option<HeaderValue>,
    pub sse: bool,
    pub body: Bytes,
}

/// One keep-alive HTTP/1.1 connection to a loopback server. The connection task ends when this
/// handle is dropped.
#[derive(Debug)]
pub struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Result<Self, BenchError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| BenchError::Connect { addr, source })?;
        stream
            .set_nodelay(true)
            .map_err(|source| BenchError::Connect { addr, source })?;
        let (sender, connection) =
            http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|source| BenchError::Http {
                    what: format!("the handshake with {addr}"),
                    source,
                })?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let host = HeaderValue::from_str(&addr.to_string()).expect("socket addresses are ASCII");
        Ok(Self { addr, host, sender })
    }

    /// POSTs `body` to `path`, with the session header when given.
    pub async fn post(
        &mut self,
        path: &str,
        session: Option<&HeaderValue>,
        body: String,
    ) -> Result<Reply, BenchError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, ACCEPT_BOTH);
        if let Some(id) = session {
            request = request
                .header(SESSION_ID, id.clone())
                .header(MCP_PROTOCOL_VERSION, PROTOCOL_VERSION);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request");
        self.exchange(request, path).await
    }

    /// GETs `path` on a connection of its own and returns the status; used for `/healthz`.
    pub async fn get_status(addr: SocketAddr, path: &str) -> Result<StatusCode, BenchError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| BenchError::Connect { addr, source })?;
        let (mut sender, connection) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|source| BenchError::Http {
                what: format!("the handshake with {addr}"),
                source,
            })?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = Request::builder()
            .uri(path)
            .header(HOST, addr.to_string())
            .body(Empty::new())
            .expect("a valid request");
        let response = sender
            .send_request(request)
            .await
            .map_err(|source| BenchError::Http {
                what: format!("GET {path}"),
                source,
            })?;
        Ok(response.status())
    }

    async fn exchange(
        &mut self,
        request: Request<Full<Bytes>>,
        path: &str,
    ) -> Result<Reply, BenchError> {
        let what = || format!("POST http://{}{path}", self.addr);
        self.sender
            .ready()
            .await
            .map_err(|source| BenchError::Http {
                what: what(),
                source,
            })?;
        let response =
            self.sender
                .send_request(request)
                .await
                .map_err(|source| BenchError::Http {
                    what: what(),
                    source,
                })?;
        let status = response.status();
        let session = response.headers().get(SESSION_ID).cloned();
        let sse = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|source| BenchError::Http {
                what: what(),
                source,
            })?
            .to_bytes();
        Ok(Reply {
            status,
            session,
            sse,
            body,
        })
    }
}

/// A JSON-RPC response, read only as far as the benchmark needs.
#[derive(Deserialize)]
struct Answer<R> {
    result: Option<R>,
    error: Option<Value>,
}

/// The JSON-RPC message in a reply: the body itself for JSON, the last `data:` line for SSE.
fn message(reply: &Reply) -> &[u8] {
    if !reply.sse {
        return &reply.body;
    }
    reply
        .body
        .split(|b| *b == b'\n')
        .filter_map(|line| line.strip_prefix(b"data:"))
        .map(<[u8]>::trim_ascii)
        .rfind(|data| !data.is_empty())
        .unwrap_or_default()
}

fn result_of<'a, R: Deserialize<'a>>(what: &str, reply: &'a Reply) -> Result<R, BenchError> {
    if reply.status != StatusCode::OK {
        return Err(BenchError::protocol(
            what,
            format!(
                "HTTP {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ),
        ));
    }
    let answer: Answer<R> = serde_json::from_slice(message(reply)).map_err(|e| {
        BenchError::protocol(
            what,
            format!(
                "unreadable answer ({e}): {}",
                String::from_utf8_lossy(&reply.body)
            ),
        )
    })?;
    match (answer.result, answer.error) {
        (Some(result), None) => Ok(result),
        (_, Some(error)) => Err(BenchError::protocol(
            what,
            format!("JSON-RPC error {error}"),
        )),
        (None, None) => Err(BenchError::protocol(what, "neither result nor error")),
    }
}

/// An initialized MCP session over Streamable HTTP.
#[derive(Debug)]
pub struct Session {
    conn: Conn,
    path: String,
    id: HeaderValue,
    next_id: u64,
}

impl Session {
    /// `initialize` then `notifications/initialized` on a new connection.
    pub async fn open(addr: SocketAddr, path: &str) -> Result<Self, BenchError> {
        let conn = Conn::open(addr).await?;
        Self::open_on(conn, path).await
    }

    /// `initialize` then `notifications/initialized` on `conn`.
    pub async fn open_on(mut conn: Conn, path: &str) -> Result<Self, BenchError> {
        let id = Self::handshake(&mut conn, path).await?;
        Ok(Self {
            conn,
            path: path.to_owned(),
            id,
            next_id: 1,
        })
    }

    /// Opens a session on `conn` and returns only its id (the connection stays usable for more
    /// sessions): what an idle client leaves behind in the gateway.
    pub async fn handshake(conn: &mut Conn, path: &str) -> Result<HeaderValue, BenchError> {
        let init = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"toolport-bench","version":"1"}}}}}}"#
        );
        let what = format!("initialize at {path}");
        let reply = conn.post(path, None, init).await?;
        result_of::<IgnoredAny>(&what, &reply)?;
        let id = reply
            .session
            .ok_or_else(|| BenchError::protocol(&what, "no Mcp-Session-Id header in the answer"))?;
        let ack = conn
            .post(
                path,
                Some(&id),
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned(),
            )
            .await?;
        if ack.status != StatusCode::ACCEPTED {
            return Err(BenchError::protocol(
                "notifications/initialized",
                format!("expected HTTP 202, got {}", ack.status),
            ));
        }
        Ok(id)
    }

    fn call_body(&mut self, tool: &str, arguments: &str) -> String {
        let id = self.next_id;
        self.next_id += 1;
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
        )
    }

    /// `tools/call echo {"text": "bench"}`; succeeds only on a JSON-RPC result.
    pub async fn echo(&mut self) -> Result<(), BenchError> {
        let body = self.call_body("echo", r#"{"text":"bench"}"#);
        let reply = self.conn.post(&self.path, Some(&self.id), body).await?;
        result_of::<IgnoredAny>("tools/call echo", &reply).map(drop)
    }

    /// `tools/call call_count`: the fixture's `structuredContent` (`{"methods": .., "tools": ..}`).
    pub async fn call_count(&mut self) -> Result<Value, BenchError> {
        let body = self.call_body("call_count", "{}");
        let reply = self.conn.post(&self.path, Some(&self.id), body).await?;
        let result: Value = result_of("tools/call call_count", &reply)?;
        result
            .get("structuredContent")
            .cloned()
            .ok_or_else(|| BenchError::protocol("call_count", "no structuredContent"))
    }
}
