//! SSRF defence: every refused address class and numeric trick (no network), the allow-list, and the
//! client connecting only to vetted addresses (no DNS rebinding) against a loopback server.

mod support;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use support::{Recorder, Reply};
use toolport_upstream::api::ssrf::{classify, parse_host_ip};
use toolport_upstream::api::{
    AddressClass, FetchError, SafeClient, SsrfError, SsrfPolicy, StaticLookup,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("{s} is an address"))
}

#[test]
fn every_address_class_is_refused() {
    use AddressClass::*;
    let cases = [
        ("127.0.0.1", Loopback),
        ("127.255.0.9", Loopback),
        ("::1", Loopback),
        ("10.0.0.1", Private),
        ("172.16.0.1", Private),
        ("172.31.255.255", Private),
        ("192.168.1.1", Private),
        ("169.254.1.1", LinkLocal),
        ("fe80::1", LinkLocal),
        ("febf::1", LinkLocal),
        ("fc00::1", UniqueLocal),
        ("fd12:3456::1", UniqueLocal),
        ("100.64.0.1", SharedCgnat),
        ("100.127.255.254", SharedCgnat),
        ("0.0.0.0", Unspecified),
        ("::", Unspecified),
        ("255.255.255.255", Broadcast),
        ("224.0.0.1", Multicast),
        ("ff02::1", Multicast),
        ("169.254.169.254", CloudMetadata),
        ("fd00:ec2::254", CloudMetadata),
        ("100.100.100.200", CloudMetadata),
        ("0.1.2.3", Reserved),
        ("240.0.0.1", Reserved),
        ("192.0.2.10", Reserved),
        // IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms carry the IPv4 verdict.
        ("::ffff:127.0.0.1", Loopback),
        ("::ffff:169.254.169.254", CloudMetadata),
        ("::ffff:10.1.1.1", Private),
        ("::127.0.0.1", Loopback),
        ("::ffff:7f00:1", Loopback),
        ("64:ff9b::a00:1", Private),
        ("2002:c0a8:101::1", Private),
    ];
    let policy = SsrfPolicy::default();
    for (addr, class) in cases {
        assert_eq!(classify(ip(addr)), Some(class), "{addr}");
        let err = policy.check_ip(addr, ip(addr)).expect_err(addr);
        assert!(
            matches!(err, SsrfError::Refused { class: c, .. } if c == class),
            "{addr}: {err}"
        );
    }
}

#[test]
fn public_addresses_pass() {
    for addr in [
        "93.184.216.34",
        "8.8.8.8",
        "172.32.0.1",
        "100.128.0.1",
        "192.169.0.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
    ] {
        assert_eq!(classify(ip(addr)), None, "{addr}");
    }
}

#[test]
fn numeric_tricks_are_read_as_the_os_reads_them() {
    let policy = SsrfPolicy::default();
    for host in [
        "2130706433",
        "0177.0.0.1",
        "0x7f.1",
        "0x7f000001",
        "127.1",
        "0177.1",
        "017700000001",
        "127.0.0.1.",
    ] {
        assert_eq!(parse_host_ip(host), Some(ip("127.0.0.1")), "{host}");
        let url = url::Url::parse(&format!("http://{host}:8080/x")).expect("parses");
        let err = policy.check_url(&url).expect_err(host);
        assert!(err.to_string().contains("loopback"), "{host}: {err}");
    }
    assert_eq!(
        parse_host_ip("0xa9.0xfe.0xa9.0xfe"),
        Some(ip("169.254.169.254"))
    );
    assert_eq!(parse_host_ip("2852039166"), Some(ip("169.254.169.254")));
    assert_eq!(parse_host_ip("012.1"), Some(ip("10.0.0.1")));
    for url in [
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://0xa9fea9fe/",
        "http://[fd00:ec2::254]/",
        "http://0/",
    ] {
        let parsed = url::Url::parse(url).expect("parses");
        assert!(policy.check_url(&parsed).is_err(), "{url}");
    }
    for host in [
        "example.com",
        "1.2.3.4.example",
        "0x7g.1",
        "256.0.0.1",
        "1.2.3.4.5",
    ] {
        assert_eq!(parse_host_ip(host), None, "{host}");
    }
}

#[test]
fn other_schemes_are_refused() {
    let policy = SsrfPolicy::default();
    for url in [
        "file:///etc/passwd",
        "ftp://example.com/",
        "gopher://example.com/",
    ] {
        let parsed = url::Url::parse(url).expect("parses");
        assert!(
            matches!(policy.check_url(&parsed), Err(SsrfError::Scheme { .. })),
            "{url}"
        );
    }
}

#[test]
fn refusals_say_how_to_allow_and_the_allow_list_admits() {
    let refused = SsrfPolicy::default()
        .check_ip("127.0.0.1", ip("127.0.0.1"))
        .expect_err("refused");
    assert!(
        refused
            .to_string()
            .contains("add \"127.0.0.1\" to toolport.ssrf.allowHosts"),
        "{refused}"
    );
    let policy = SsrfPolicy::new(vec![
        "127.0.0.1".into(),
        "localhost".into(),
        "10.0.0.0/8".into(),
    ]);
    assert!(policy.check_ip("127.0.0.1", ip("127.0.0.1")).is_ok());
    assert!(
        policy.check_ip("localhost", ip("::1")).is_ok(),
        "allowed by name"
    );
    assert!(
        policy.check_ip("x", ip("::ffff:127.0.0.1")).is_ok(),
        "mapped form of an allowed address"
    );
    assert!(
        policy.check_ip("x", ip("10.9.8.7")).is_ok(),
        "inside an allowed range"
    );
    assert!(policy.check_ip("x", ip("127.0.0.2")).is_err());
    assert!(policy.check_ip("x", ip("169.254.169.254")).is_err());
}

fn loopback_server() -> impl std::future::Future<Output = Recorder> {
    Recorder::start(|_| Reply::json(serde_json::json!({"ok": true})))
}

#[tokio::test]
async fn literal_loopback_is_refused_before_sending() {
    let s = loopback_server().await;
    let client = SafeClient::new(Arc::new(SsrfPolicy::default())).expect("client");
    let err = client
        .get_bytes(&s.url("/spec.json"), 1024, Duration::from_secs(5))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, FetchError::Ssrf(SsrfError::Refused { .. })),
        "{err}"
    );
    assert!(s.requests().is_empty());

    let allowed =
        SafeClient::new(Arc::new(SsrfPolicy::new(vec!["127.0.0.1".into()]))).expect("client");
    let body = allowed
        .get_bytes(&s.url("/spec.json"), 1024, Duration::from_secs(5))
        .await
        .expect("allowed");
    assert_eq!(body, br#"{"ok":true}"#);
}

#[tokio::test]
async fn names_connect_only_to_vetted_addresses() {
    let s = loopback_server().await;
    let port = s.addr.port();
    let lookup = Arc::new(StaticLookup::new([
        ("api.test".to_string(), vec![ip("127.0.0.1")]),
        (
            "rebind.test".to_string(),
            vec![ip("10.0.0.1"), ip("169.254.169.254")],
        ),
        (
            "mixed.test".to_string(),
            vec![ip("192.0.2.1"), ip("127.0.0.1")],
        ),
    ]));
    let get = |client: SafeClient, host: &'static str| async move {
        client
            .get_bytes(
                &format!("http://{host}:{port}/x"),
                1024,
                Duration::from_secs(5),
            )
            .await
    };

    let strict =
        SafeClient::with_lookup(Arc::new(SsrfPolicy::default()), lookup.clone()).expect("client");
    let err = get(strict.clone(), "api.test").await.expect_err("refused");
    assert!(
        matches!(&err, FetchError::Ssrf(SsrfError::Refused { host, .. }) if host == "api.test"),
        "{err}"
    );
    let err = get(strict.clone(), "rebind.test")
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            FetchError::Ssrf(SsrfError::Refused {
                class: AddressClass::Private,
                ..
            })
        ),
        "{err}"
    );
    let err = get(strict, "unknown.test").await.expect_err("unresolvable");
    assert!(
        matches!(err, FetchError::Ssrf(SsrfError::Resolve { .. })),
        "{err}"
    );
    assert!(s.requests().is_empty());

    let by_address = SafeClient::with_lookup(
        Arc::new(SsrfPolicy::new(vec!["127.0.0.1".into()])),
        lookup.clone(),
    )
    .expect("client");
    assert!(get(by_address.clone(), "api.test").await.is_ok());
    // Of several addresses only the vetted ones are dialled (192.0.2.1 would never answer).
    assert!(get(by_address, "mixed.test").await.is_ok());
    let by_name =
        SafeClient::with_lookup(Arc::new(SsrfPolicy::new(vec!["api.test".into()])), lookup)
            .expect("client");
    assert!(get(by_name, "api.test").await.is_ok());
    assert_eq!(s.requests().len(), 3);
    assert_eq!(
        s.last().header("host"),
        Some(format!("api.test:{port}").as_str())
    );
}
