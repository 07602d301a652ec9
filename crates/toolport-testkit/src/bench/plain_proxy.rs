//! The yardsticks the benchmark holds the gateway against: a plain HTTP/1.1 reverse proxy (hyper's
//! server, hyper-util's pooled client, Nagle off) that forwards every request to one upstream and
//! streams both bodies through unread, and the same proxy reading JSON-RPC, which parses each
//! request and answer and swaps the request's id for one of its own on the way (the least any
//! MCP-aware gateway does). Issue 2 quotes the plain proxy at ~45 % of direct throughput;
//! measuring both in the same run shows what this machine allows, and what reading the messages
//! costs before any gateway feature.

use std::net::SocketAddr;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Either, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

type Upstream = Client<HttpConnector, Incoming>;
type Answer = Response<Either<Incoming, Empty<Bytes>>>;
type ReadUpstream = Client<HttpConnector, Full<Bytes>>;
type ReadAnswer = Response<Full<Bytes>>;

/// What the proxy does with the bodies it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bodies {
    /// Streamed through unread.
    Unread,
    /// Read whole: a JSON-RPC request's id is swapped for the proxy's own, and a JSON answer's id
    /// back for the client's; other bodies (SSE answers among them) pass through as they are.
    JsonRpc,
}

/// Listens on `listen`, prints `listening http://ADDR` as the first stdout line (as the fixture
/// does), and proxies every connection to `upstream` until the process ends.
pub async fn serve(
    listen: SocketAddr,
    upstream: SocketAddr,
    bodies: Bodies,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let listener = TcpListener::bind(listen).await?;
    let bound = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening http://{bound}")?;
    stdout.flush()?;
    drop(stdout);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let unread: Upstream = Client::builder(TokioExecutor::new()).build(connector.clone());
    let read: ReadUpstream = Client::builder(TokioExecutor::new()).build(connector);
    let ids = Arc::new(AtomicI64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let io = TokioIo::new(stream);
        // A connection that fails ends alone; the benchmark counts its errors.
        match bodies {
            Bodies::Unread => {
                let client = unread.clone();
                let service = service_fn(move |req| forward(client.clone(), upstream, req));
                tokio::spawn(http1::Builder::new().serve_connection(io, service));
            }
            Bodies::JsonRpc => {
                let (client, ids) = (read.clone(), ids.clone());
                let service =
                    service_fn(move |req| forward_read(client.clone(), ids.clone(), upstream, req));
                tokio::spawn(http1::Builder::new().serve_connection(io, service));
            }
        }
    }
}

fn upstream_uri(upstream: SocketAddr, uri: &Uri) -> Option<Uri> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    format!("http://{upstream}{path}").parse().ok()
}

async fn forward(
    client: Upstream,
    upstream: SocketAddr,
    req: Request<Incoming>,
) -> Result<Answer, std::convert::Infallible> {
    let (mut parts, body) = req.into_parts();
    let Some(uri) = upstream_uri(upstream, &parts.uri) else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    parts.uri = uri;
    match client.request(Request::from_parts(parts, body)).await {
        Ok(answer) => Ok(answer.map(Either::Left)),
        Err(_) => Ok(status(StatusCode::BAD_GATEWAY)),
    }
}

async fn forward_read(
    client: ReadUpstream,
    ids: Arc<AtomicI64>,
    upstream: SocketAddr,
    req: Request<Incoming>,
) -> Result<ReadAnswer, std::convert::Infallible> {
    let (mut parts, body) = req.into_parts();
    let Some(uri) = upstream_uri(upstream, &parts.uri) else {
        return Ok(text(StatusCode::BAD_REQUEST, "unusable request target"));
    };
    parts.uri = uri;
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(text(StatusCode::BAD_REQUEST, "unreadable request body"));
    };
    let Ok(mut message) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Ok(text(StatusCode::BAD_REQUEST, "the body is not JSON"));
    };
    let client_id = message
        .get_mut("id")
        .map(|id| std::mem::replace(id, ids.fetch_add(1, Ordering::Relaxed).into()));
    let Ok(body) = serde_json::to_vec(&message) else {
        return Ok(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot write the request",
        ));
    };
    parts.headers.remove(CONTENT_LENGTH);
    let request = Request::from_parts(parts, Full::new(Bytes::from(body)));
    let Ok(answer) = client.request(request).await else {
        return Ok(text(StatusCode::BAD_GATEWAY, "the upstream did not answer"));
    };
    let (mut parts, body) = answer.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(text(
            StatusCode::BAD_GATEWAY,
            "the upstream's answer broke off",
        ));
    };
    let json = parts
        .headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let body = match (json, client_id) {
        (true, Some(client_id)) => match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(mut answer) => {
                answer["id"] = client_id;
                serde_json::to_vec(&answer).map_or(body, Bytes::from)
            }
            Err(_) => body,
        },
        _ => body,
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.remove(TRANSFER_ENCODING);
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn text(code: StatusCode, message: &'static str) -> ReadAnswer {
    let mut answer = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *answer.status_mut() = code;
    answer
}

fn status(code: StatusCode) -> Answer {
    let mut answer = Response::new(Either::Right(Empty::new()));
    *answer.status_mut() = code;
    answer
}
