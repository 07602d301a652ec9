//! The HTTP client of the MCP transports against a loopback server that answers as a Streamable
//! HTTP MCP server: redirects within the server's origin are followed with the message intact,
//! redirects elsewhere and loops are refused, a `Host` header the configuration sets is sent as
//! set, a vetting client connects only to the addresses its policy admits, and calls share one
//! connection while the server keeps it open and get new ones when it closes them.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Recorded, Recorder, Reply};
use toolport_upstream::api::{SsrfPolicy, StaticLookup};
use toolport_upstream::{McpClient, McpClientOptions, McpHttpClient, UpstreamSpec};

/// Answers at `path` as a stateless MCP server would: `initialize` and `ping` get results,
/// notifications 202, and the GET stream 405 (the server offers none).
fn mcp_reply(rec: &Recorded) -> Reply {
    if rec.method == "GET" {
        return Reply::bytes(405, "text/plain", Vec::new());
    }
    let message = rec.body_json();
    let Some(id) = message.get("id").cloned() else {
        return Reply::bytes(202, "text/plain", Vec::new());
    };
    let result = match message["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "serverInfo": {"name": "recorder", "version": "1"},
        }),
        _ => json!({}),
    };
    Reply::json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn redirect(status: u16, location: &str) -> Reply {
    Reply {
        status,
        ..Reply::redirect(location)
    }
}

fn spec(url: String) -> UpstreamSpec {
    UpstreamSpec::StreamableHttp {
        url,
        headers: [("x-api-key".to_string(), "secret".to_string())].into(),
    }
}

async fn connect(url: String, http: McpHttpClient) -> Result<McpClient, String> {
    let options = McpClientOptions {
        http,
        timeout: Duration::from_secs(5),
        ..McpClientOptions::default()
    };
    McpClient::connect("recorder", &spec(url), options)
        .await
        .map_err(|e| e.to_string())
}

fn methods(requests: &[Recorded], path: &str) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.path == path)
        .map(|r| {
            let method = r.body_json()["method"].as_str().map(str::to_string);
            format!("{} {}", r.method, method.unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn a_redirect_within_the_origin_keeps_the_method_the_body_and_the_headers() {
    for status in [301, 302, 307, 308] {
        let server = Recorder::start(move |rec| match rec.path.as_str() {
            "/mcp" => redirect(status, "/mcp/"),
            "/mcp/" => mcp_reply(rec),
            _ => Reply::bytes(404, "text/plain", Vec::new()),
        })
        .await;
        let client = connect(server.url("/mcp"), McpHttpClient::new())
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_eq!(client.request("ping", None).await.expect("ping"), json!({}));
        client.close().await;

        let requests = server.requests();
        let arrived = methods(&requests, "/mcp/");
        assert_eq!(
            arrived[..4],
            [
                "POST initialize",
                "POST notifications/initialized",
                "GET ",
                "POST ping"
            ],
            "{status}"
        );
        // Each request was sent to the configured URL first: nothing is remembered across calls.
        assert_eq!(methods(&requests, "/mcp"), arrived, "{status}");
        let host = server.addr.to_string();
        for rec in requests.iter().filter(|r| r.path == "/mcp/") {
            assert_eq!(rec.header("x-api-key"), Some("secret"), "{status}");
            assert_eq!(rec.header("host"), Some(host.as_str()), "{status}");
            if rec.method == "POST" {
                assert_eq!(rec.header("content-type"), Some("application/json"));
                assert_eq!(rec.body_json()["jsonrpc"], "2.0");
            }
        }
    }
}

#[tokio::test]
async fn a_host_header_in_the_configuration_is_sent_as_configured() {
    let server = Recorder::start(mcp_reply).await;
    let spec = UpstreamSpec::StreamableHttp {
        url: server.url("/mcp"),
        headers: [("Host".to_string(), "mcp.internal".to_string())].into(),
    };
    let options = McpClientOptions {
        timeout: Duration::from_secs(5),
        ..McpClientOptions::default()
    };
    let client = McpClient::connect("recorder", &spec, options)
        .await
        .expect("connects");
    assert_eq!(client.request("ping", None).await.expect("ping"), json!({}));
    client.close().await;
    let posts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(posts.len() >= 3, "{posts:?}");
    for rec in &posts {
        assert_eq!(rec.header("host"), Some("mcp.internal"));
    }
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_refused_and_not_followed() {
    let server = Recorder::start(|rec| match rec.path.as_str() {
        "/elsewhere" => mcp_reply(rec),
        _ => Reply::bytes(404, "text/plain", Vec::new()),
    })
    .await;
    // The same server under another name is another origin: the configured headers must not
    // follow a redirect there.
    let elsewhere = format!("http://localhost:{}/elsewhere", server.addr.port());
    let redirecting = Recorder::start(move |_| redirect(307, &elsewhere)).await;
    let err = connect(redirecting.url("/mcp"), McpHttpClient::new())
        .await
        .expect_err("refused");
    assert!(
        err.contains("redirected to http://localhost:")
            && err.contains("another origin")
            && err.contains("configure the URL it redirects to"),
        "{err}"
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn a_redirect_loop_stops_with_an_error() {
    let server = Recorder::start(|rec| match rec.path.as_str() {
        "/a" => redirect(307, "/b"),
        _ => redirect(308, "/a"),
    })
    .await;
    let err = connect(server.url("/a"), McpHttpClient::new())
        .await
        .expect_err("loop");
    assert!(err.contains("stopped after 5 redirects"), "{err}");
    assert_eq!(
        server.requests().len(),
        6,
        "the first request and 5 redirects"
    );
}

#[tokio::test]
async fn a_vetting_client_connects_only_to_the_addresses_its_policy_admits() {
    let server = Recorder::start(mcp_reply).await;
    let url = format!("http://mcp.example:{}/mcp", server.addr.port());
    let lookup = Arc::new(StaticLookup::new([(
        "mcp.example".to_string(),
        vec!["127.0.0.1".parse().expect("an address")],
    )]));

    // An address literal never reaches the resolver: the URL itself is refused.
    let literal = McpHttpClient::vetting(
        &server.url("/mcp"),
        Arc::new(SsrfPolicy::default()),
        lookup.clone(),
    )
    .expect_err("a loopback literal");
    assert!(literal.to_string().contains("loopback"), "{literal}");

    let strict = McpHttpClient::vetting(&url, Arc::new(SsrfPolicy::default()), lookup.clone())
        .expect("a host name passes the URL check");
    let err = connect(url.clone(), strict).await.expect_err("refused");
    assert!(
        err.contains("refused to connect to `mcp.example` (127.0.0.1)") && err.contains("loopback"),
        "{err}"
    );
    assert!(server.requests().is_empty());

    let admitting = McpHttpClient::vetting(
        &url,
        Arc::new(SsrfPolicy::new(vec!["mcp.example".into()])),
        lookup,
    )
    .expect("an admitted host");
    let client = connect(url, admitting).await.expect("admitted");
    assert_eq!(client.server_info["name"], Value::from("recorder"));
    client.close().await;
    let first = &server.requests()[0];
    assert_eq!(
        first.header("host"),
        Some(format!("mcp.example:{}", server.addr.port()).as_str()),
        "the request names the host it was sent to"
    );
}

/// The `ping`s a server received.
fn pings(server: &Recorder) -> Vec<Recorded> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.body_json()["method"] == "ping")
        .collect()
}

fn peers(requests: &[Recorded]) -> HashSet<SocketAddr> {
    requests.iter().map(|r| r.peer).collect()
}

#[tokio::test]
async fn calls_one_after_another_share_one_connection() {
    let server = Recorder::start(mcp_reply).await;
    let client = connect(server.url("/mcp"), McpHttpClient::new())
        .await
        .expect("connects");
    for _ in 0..20 {
        assert_eq!(client.request("ping", None).await.expect("ping"), json!({}));
    }
    client.close().await;
    let pings = pings(&server);
    assert_eq!(pings.len(), 20);
    assert_eq!(peers(&pings).len(), 1, "{:?}", peers(&pings));
}

#[tokio::test]
async fn a_server_that_closes_each_connection_after_its_answer_gets_every_call_on_a_new_one() {
    let server = Recorder::start(|rec| {
        let mut reply = mcp_reply(rec);
        reply.headers.push(("connection".into(), "close".into()));
        reply
    })
    .await;
    let client = connect(server.url("/mcp"), McpHttpClient::new())
        .await
        .expect("connects");
    for _ in 0..10 {
        assert_eq!(client.request("ping", None).await.expect("ping"), json!({}));
    }
    client.close().await;
    let pings = pings(&server);
    assert_eq!(pings.len(), 10);
    assert_eq!(peers(&pings).len(), 10, "{:?}", peers(&pings));
}

/// Reads one request (head and body by its `Content-Length`) from `stream`; `None` at its end.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok().filter(|n| *n > 0)?;
        received.extend_from_slice(&buf[..n]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).into_owned();
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.trim().parse::<usize>().expect("a length"));
        if received.len() >= end + 4 + length {
            return Some((head, received[end + 4..end + 4 + length].to_vec()));
        }
    }
}

/// A server answering as `mcp_reply` does that closes a connection idle for `idle`, without
/// saying so in its answers (as a server's keep-alive timeout does); it counts the connections.
async fn closing_idle_connections(idle: Duration) -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, peer)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                while let Ok(Some((head, body))) =
                    tokio::time::timeout(idle, read_request(&mut stream)).await
                {
                    let rec = Recorded {
                        method: head.split(' ').next().unwrap_or_default().to_string(),
                        path: "/mcp".into(),
                        query: None,
                        headers: Vec::new(),
                        body,
                        peer,
                    };
                    let reply = mcp_reply(&rec);
                    let head = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        reply.status,
                        reply.body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&reply.body).await;
                }
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn a_connection_the_server_closed_while_it_was_idle_is_not_used_again() {
    let (addr, accepted) = closing_idle_connections(Duration::from_millis(50)).await;
    let client = connect(format!("http://{addr}/mcp"), McpHttpClient::new())
        .await
        .expect("connects");
    let before = accepted.load(Ordering::SeqCst);
    for _ in 0..3 {
        // Long enough for the server to have closed the connection of the last answer.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(client.request("ping", None).await.expect("ping"), json!({}));
    }
    client.close().await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        before + 3,
        "a new connection per ping"
    );
}
