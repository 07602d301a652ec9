//! The HTTP client of the MCP transports against a loopback server that answers as a Streamable
//! HTTP MCP server: redirects within the server's origin are followed with the message intact,
//! redirects elsewhere and loops are refused, a `Host` header the configuration sets is sent as
//! set, and a vetting client connects only to the addresses its policy admits.

mod support;

use std::sync::Arc;
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
