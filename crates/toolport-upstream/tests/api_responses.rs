//! API responses as MCP content (JSON, text, images, binary, errors, truncation), timeouts and
//! redirects (followed, re-checked, bounded), and which answers mean the API itself failed,
//! against a local recording server.

mod support;

use std::time::Duration;

use base64::Engine;
use serde_json::json;
use support::{Recorder, Reply, backend, is_error, text};

const SPEC: &str = r#"{
  "openapi": "3.0.3",
  "info": {"title": "Responses", "version": "1"},
  "paths": {
    "/r/{kind}": {"get": {"operationId": "fetch",
      "parameters": [{"name": "kind", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "ok"}}}}
  }
}"#;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfakeimage";

async fn server() -> Recorder {
    let port_holder = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let holder = port_holder.clone();
    let rec = Recorder::start(move |r| {
        let port = holder.get().copied().unwrap_or(0);
        match r.path.as_str() {
            "/r/object" => Reply::json(json!({"id": 1, "tags": ["a"]})),
            "/r/array" => Reply::json(json!([1, 2, 3])),
            "/r/text" => Reply::bytes(200, "text/plain; charset=utf-8", b"hello there".to_vec()),
            "/r/image" => Reply::bytes(200, "image/png", PNG.to_vec()),
            "/r/pdf" => Reply::bytes(200, "application/pdf", b"%PDF-1.4 \x00\x01".to_vec()),
            "/r/empty" => Reply::bytes(204, "text/plain", Vec::new()),
            "/r/missing" => Reply::bytes(
                404,
                "application/json",
                br#"{"message":"no such pet"}"#.to_vec(),
            ),
            "/r/boom" => Reply::bytes(500, "text/html", b"<h1>Internal error</h1>".to_vec()),
            "/r/busy" => Reply::bytes(429, "text/plain", b"slow down".to_vec()),
            "/r/big" => Reply::bytes(200, "text/plain", "é".repeat(3000).into_bytes()),
            "/r/bigjson" => Reply::json(json!({"data": "x".repeat(5000)})),
            "/r/bigimage" => Reply::bytes(200, "image/png", vec![7; 5000]),
            "/r/slow" => Reply {
                delay: Some(Duration::from_secs(3)),
                ..Reply::json(json!({}))
            },
            "/r/hop" => Reply::redirect("/r/object"),
            "/r/loop" => Reply::redirect("/r/loop"),
            "/r/to-private" => Reply::redirect("http://10.0.0.7/secret"),
            "/r/to-metadata" => Reply::redirect("http://169.254.169.254/latest/meta-data/"),
            "/r/to-decimal" => Reply::redirect(&format!("http://2130706434:{port}/r/object")),
            _ => Reply::bytes(404, "text/plain", b"unknown".to_vec()),
        }
    })
    .await;
    let _ = port_holder.set(rec.addr.port());
    rec
}

#[tokio::test]
async fn json_becomes_structured_content_plus_text() {
    let s = server().await;
    let b = backend("resp", SPEC, |c| c.base_url = Some(s.url(""))).await;
    let r = b
        .call("fetch", json!({"kind": "object"}))
        .await
        .expect("call");
    assert_eq!(r["structuredContent"], json!({"id": 1, "tags": ["a"]}));
    assert_eq!(r["content"][0]["type"], "text");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text(&r)).ok(),
        Some(json!({"id": 1, "tags": ["a"]}))
    );
    assert!(!is_error(&r));
    let r = b
        .call("fetch", json!({"kind": "array"}))
        .await
        .expect("call");
    assert_eq!(r["structuredContent"], json!({"items": [1, 2, 3]}));
}

#[tokio::test]
async fn text_images_binary_and_empty_bodies() {
    let s = server().await;
    let b = backend("resp", SPEC, |c| c.base_url = Some(s.url(""))).await;
    let r = b
        .call("fetch", json!({"kind": "text"}))
        .await
        .expect("call");
    assert_eq!(
        r["content"],
        json!([{"type": "text", "text": "hello there"}])
    );
    assert!(r.get("structuredContent").is_none());

    let r = b
        .call("fetch", json!({"kind": "image"}))
        .await
        .expect("call");
    assert_eq!(r["content"][0]["type"], "image");
    assert_eq!(r["content"][0]["mimeType"], "image/png");
    let data = r["content"][0]["data"].as_str().unwrap_or("");
    assert_eq!(
        base64::engine::general_purpose::STANDARD.decode(data).ok(),
        Some(PNG.to_vec())
    );

    let r = b.call("fetch", json!({"kind": "pdf"})).await.expect("call");
    let res = &r["content"][0]["resource"];
    assert_eq!(r["content"][0]["type"], "resource");
    assert_eq!(res["mimeType"], "application/pdf");
    assert_eq!(res["uri"], s.url("/r/pdf"));
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(res["blob"].as_str().unwrap_or(""))
            .ok(),
        Some(b"%PDF-1.4 \x00\x01".to_vec())
    );

    let r = b
        .call("fetch", json!({"kind": "empty"}))
        .await
        .expect("call");
    assert!(!is_error(&r) && text(&r).contains("204"), "{r}");
}

#[tokio::test]
async fn non_2xx_is_an_error_result_with_status_and_excerpt() {
    let s = server().await;
    let b = backend("resp", SPEC, |c| c.base_url = Some(s.url(""))).await;
    let r = b
        .call("fetch", json!({"kind": "missing"}))
        .await
        .expect("call");
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains("HTTP 404") && t.contains("no such pet") && t.contains("GET"),
        "{t}"
    );
    let r = b
        .call("fetch", json!({"kind": "boom"}))
        .await
        .expect("call");
    assert!(is_error(&r) && text(&r).contains("500") && text(&r).contains("Internal error"));
}

#[tokio::test]
async fn bodies_above_the_limit_are_truncated_with_a_notice() {
    let s = server().await;
    let b = backend("resp", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.max_response_bytes = 1001;
    })
    .await;
    let r = b.call("fetch", json!({"kind": "big"})).await.expect("call");
    assert!(!is_error(&r));
    // 1001 bytes end inside a two-byte character: 500 whole characters are kept.
    assert_eq!(text(&r), "é".repeat(500));
    let notice = r["content"][1]["text"].as_str().unwrap_or("");
    assert!(
        notice.contains("truncated") && notice.contains("1001"),
        "{notice}"
    );

    let r = b
        .call("fetch", json!({"kind": "bigjson"}))
        .await
        .expect("call");
    assert!(
        r.get("structuredContent").is_none(),
        "partial JSON is not structured"
    );
    assert_eq!(text(&r).len(), 1001);

    let r = b
        .call("fetch", json!({"kind": "bigimage"}))
        .await
        .expect("call");
    assert!(
        is_error(&r) && text(&r).contains("larger than 1001 bytes"),
        "{r}"
    );
}

#[tokio::test]
async fn timeouts_are_per_api_and_reported() {
    let s = server().await;
    let b = backend("slowapi", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.timeout = Duration::from_millis(300);
    })
    .await;
    let started = std::time::Instant::now();
    let r = b
        .call("fetch", json!({"kind": "slow"}))
        .await
        .expect("call");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(is_error(&r));
    assert!(
        text(&r).contains("within 300 ms") && text(&r).contains("slowapi"),
        "{r}"
    );
}

#[tokio::test]
async fn redirects_are_followed_and_rechecked() {
    let s = server().await;
    let b = backend("redir", SPEC, |c| c.base_url = Some(s.url(""))).await;
    let r = b.call("fetch", json!({"kind": "hop"})).await.expect("call");
    assert_eq!(r["structuredContent"]["id"], 1, "{r}");
    assert_eq!(s.count("/r/object"), 1);

    let r = b
        .call("fetch", json!({"kind": "to-private"}))
        .await
        .expect("call");
    assert!(is_error(&r));
    assert!(
        text(&r).contains("10.0.0.7") && text(&r).contains("private"),
        "{r}"
    );

    let r = b
        .call("fetch", json!({"kind": "to-metadata"}))
        .await
        .expect("call");
    assert!(is_error(&r) && text(&r).contains("cloud-metadata"), "{r}");

    // 2130706434 is 127.0.0.2: loopback, and not the allowed 127.0.0.1.
    let r = b
        .call("fetch", json!({"kind": "to-decimal"}))
        .await
        .expect("call");
    assert!(
        is_error(&r) && text(&r).contains("127.0.0.2") && text(&r).contains("loopback"),
        "{r}"
    );
    assert_eq!(s.count("/r/object"), 1);

    let r = b
        .call("fetch", json!({"kind": "loop"}))
        .await
        .expect("call");
    assert!(is_error(&r) && text(&r).contains("redirects"), "{r}");
    assert_eq!(
        s.count("/r/loop"),
        6,
        "the first request and five redirects"
    );
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_origin() {
    let other = Recorder::start(|_| Reply::json(json!({"elsewhere": true}))).await;
    let target = other.url("/landing");
    let s = Recorder::start(move |_| Reply::redirect(&target)).await;

    let open = backend("open", SPEC, |c| c.base_url = Some(s.url(""))).await;
    let r = open
        .call("fetch", json!({"kind": "x"}))
        .await
        .expect("call");
    assert_eq!(r["structuredContent"]["elsewhere"], true, "{r}");
    assert_eq!(other.requests().len(), 1);

    let keyed = backend("keyed", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.auth = toolport_upstream::api::ApiAuth::ApiKey {
            location: toolport_upstream::api::ApiKeyLocation::Header,
            name: "X-Api-Key".into(),
            value: "secret".into(),
        };
    })
    .await;
    let r = keyed
        .call("fetch", json!({"kind": "x"}))
        .await
        .expect("call");
    assert!(is_error(&r) && text(&r).contains("another origin"), "{r}");
    assert_eq!(
        other.requests().len(),
        1,
        "the key never reached the other origin"
    );
}

#[tokio::test]
async fn unreachable_timed_out_5xx_and_429_say_the_api_itself_failed() {
    let s = server().await;
    let b = backend("resp", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.timeout = Duration::from_millis(300);
    })
    .await;
    let failed = async |arguments: serde_json::Value| {
        let answer = b.call_observed("fetch", arguments).await.expect("call");
        answer.upstream_failed
    };
    assert!(!failed(json!({"kind": "object"})).await);
    assert!(
        !failed(json!({"kind": "missing"})).await,
        "a 404 is the caller's"
    );
    assert!(!failed(json!("not an object")).await, "bad arguments");
    assert!(failed(json!({"kind": "boom"})).await, "500");
    assert!(failed(json!({"kind": "busy"})).await, "429");
    assert!(failed(json!({"kind": "slow"})).await, "timed out");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let b = backend("resp", SPEC, |c| c.base_url = Some(nowhere)).await;
    let answer = b
        .call_observed("fetch", json!({"kind": "object"}))
        .await
        .expect("call");
    assert!(answer.upstream_failed, "{}", answer.result);
    assert!(is_error(&answer.result));
}
