//! `toolport-plain-proxy`, the yardstick of `toolport-bench`: MCP sessions through it reach the
//! fixture unchanged, and a dead upstream is a 502, not a hung or dropped connection.

use std::path::PathBuf;

use http::StatusCode;
use toolport_testkit::bench::client::{Conn, Session};
use toolport_testkit::{FixtureProcess, spawn_announcing, spawn_http};

fn proxy_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_toolport-plain-proxy"))
}

async fn proxy_to(upstream: &str) -> (FixtureProcess, std::net::SocketAddr) {
    let proxy = spawn_announcing(&proxy_bin(), &["--upstream", upstream])
        .await
        .expect("the proxy starts");
    let addr = proxy
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the proxy announces a socket address");
    (proxy, addr)
}

#[tokio::test]
async fn sessions_through_the_proxy_reach_the_fixture() {
    let fixture = spawn_http(&[]).await.expect("the fixture starts");
    let upstream = fixture.base_url().trim_start_matches("http://").to_owned();
    let (_proxy, addr) = proxy_to(&upstream).await;

    let mut through = Session::open(addr, "/mcp")
        .await
        .expect("initialize through the proxy");
    for _ in 0..3 {
        through.echo().await.expect("echo through the proxy");
    }
    // The fixture counted the proxied calls: they arrived as they were sent.
    let counts = through
        .call_count()
        .await
        .expect("call_count through the proxy");
    assert_eq!(counts["tools"]["echo"], 3, "{counts}");
}

#[tokio::test]
async fn a_dead_upstream_is_a_bad_gateway() {
    // A port nobody listens on: bound, read, then released.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = free.local_addr().unwrap().to_string();
    drop(free);
    let (_proxy, addr) = proxy_to(&dead).await;

    let mut conn = Conn::open(addr)
        .await
        .expect("the proxy accepts connections");
    let reply = conn
        .post("/mcp", None, "{}".to_owned())
        .await
        .expect("the proxy answers");
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
}
