//! Upstream credentials on the wire: API keys (header, query, cookie), bearer, basic, extra headers,
//! and OAuth2 client credentials (one token request per expiry window under concurrency, retry on 401).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use support::{Recorder, Reply, backend, is_error};
use toolport_upstream::api::{ApiAuth, ApiKeyLocation, OAuth2ClientCredentials};

const SPEC: &str = r#"{
  "openapi": "3.0.3",
  "info": {"title": "Auth", "version": "1"},
  "paths": {
    "/me": {"get": {"operationId": "me",
      "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}},
                     {"name": "c", "in": "cookie", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "ok"}}}}
  }
}"#;

async fn call_with(auth: ApiAuth) -> support::Recorded {
    let s = Recorder::start(|_| Reply::json(json!({"ok": true}))).await;
    let b = backend("authapi", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.auth = auth;
        c.headers.insert("X-Team".into(), "blue".into());
    })
    .await;
    let r = b
        .call(
            "me",
            json!({"q": "1", "c": "x", "Authorization": "Bearer stolen"}),
        )
        .await
        .expect("call");
    assert!(!is_error(&r), "{r}");
    s.last()
}

#[tokio::test]
async fn api_key_in_header_query_and_cookie() {
    let got = call_with(ApiAuth::ApiKey {
        location: ApiKeyLocation::Header,
        name: "X-Api-Key".into(),
        value: "k1".into(),
    })
    .await;
    assert_eq!(got.header("x-api-key"), Some("k1"));
    assert_eq!(got.header("x-team"), Some("blue"));
    assert!(
        !got.has_header("authorization"),
        "arguments never become auth headers"
    );

    let got = call_with(ApiAuth::ApiKey {
        location: ApiKeyLocation::Query,
        name: "api key".into(),
        value: "k&2".into(),
    })
    .await;
    assert_eq!(got.query.as_deref(), Some("q=1&api%20key=k%262"));

    let got = call_with(ApiAuth::ApiKey {
        location: ApiKeyLocation::Cookie,
        name: "sid".into(),
        value: "k3".into(),
    })
    .await;
    assert_eq!(got.header("cookie"), Some("c=x; sid=k3"));
}

#[tokio::test]
async fn bearer_and_basic() {
    let got = call_with(ApiAuth::Bearer {
        token: "t0k".into(),
    })
    .await;
    assert_eq!(got.header("authorization"), Some("Bearer t0k"));
    let got = call_with(ApiAuth::Basic {
        username: "ada".into(),
        password: "p:w".into(),
    })
    .await;
    // base64("ada:p:w")
    assert_eq!(got.header("authorization"), Some("Basic YWRhOnA6dw=="));
    let got = call_with(ApiAuth::None).await;
    assert!(!got.has_header("authorization"));
    assert_eq!(got.header("x-team"), Some("blue"));
}

fn oauth(s: &Recorder) -> ApiAuth {
    ApiAuth::OAuth2ClientCredentials(OAuth2ClientCredentials {
        token_url: s.url("/token"),
        client_id: "cid".into(),
        client_secret: "sec".into(),
        scopes: vec!["read".into(), "write".into()],
        audience: Some("https://api".into()),
        credentials_in_body: false,
    })
}

#[tokio::test]
async fn oauth2_one_token_request_per_expiry_window_under_concurrency() {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let s = Recorder::start(move |r| {
        if r.path == "/token" {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Reply {
                delay: Some(Duration::from_millis(100)),
                ..Reply::json(json!({"access_token": format!("tok-{n}"), "token_type": "bearer", "expires_in": 2}))
            }
        } else {
            Reply::json(json!({"ok": true}))
        }
    })
    .await;
    let b = backend("oauthapi", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.auth = oauth(&s);
    })
    .await;
    let burst = |b: Arc<toolport_upstream::api::ApiBackend>| async move {
        let calls = (0..20).map(|_| {
            let b = b.clone();
            tokio::spawn(async move { b.call("me", json!({})).await })
        });
        for c in futures::future::join_all(calls).await {
            let r = c.expect("task").expect("call");
            assert!(!is_error(&r), "{r}");
        }
    };
    burst(b.clone()).await;
    assert_eq!(s.count("/token"), 1);
    let token_req = s
        .requests()
        .into_iter()
        .find(|r| r.path == "/token")
        .expect("token request");
    assert_eq!(
        token_req.body_text(),
        "grant_type=client_credentials&scope=read+write&audience=https%3A%2F%2Fapi"
    );
    // base64("cid:sec")
    assert_eq!(
        token_req.header("authorization"),
        Some("Basic Y2lkOnNlYw==")
    );
    let api_calls: Vec<_> = s
        .requests()
        .into_iter()
        .filter(|r| r.path == "/me")
        .collect();
    assert_eq!(api_calls.len(), 20);
    assert!(
        api_calls
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer tok-1"))
    );

    tokio::time::sleep(Duration::from_millis(2000)).await;
    burst(b.clone()).await;
    assert_eq!(s.count("/token"), 2, "one refresh after expiry");
    let last = s.last();
    assert_eq!(last.header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn oauth2_token_refused_by_the_api_is_replaced_once() {
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let s = Recorder::start(move |r| {
        if r.path == "/token" {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::json(json!({"access_token": format!("tok-{n}"), "expires_in": 3600}))
        } else if r.header("authorization") == Some("Bearer tok-1") {
            Reply::bytes(401, "application/json", br#"{"error":"revoked"}"#.to_vec())
        } else {
            Reply::json(json!({"ok": true}))
        }
    })
    .await;
    let b = backend("oauthapi", SPEC, |c| {
        c.base_url = Some(s.url(""));
        let ApiAuth::OAuth2ClientCredentials(mut o) = oauth(&s) else {
            return;
        };
        o.credentials_in_body = true;
        c.auth = ApiAuth::OAuth2ClientCredentials(o);
    })
    .await;
    let r = b.call("me", json!({})).await.expect("call");
    assert!(!is_error(&r), "{r}");
    assert_eq!(s.count("/token"), 2);
    assert_eq!(s.count("/me"), 2);
    let token_req = s
        .requests()
        .into_iter()
        .find(|r| r.path == "/token")
        .expect("token request");
    assert!(
        token_req
            .body_text()
            .ends_with("&client_id=cid&client_secret=sec")
    );
    assert!(!token_req.has_header("authorization"));
}

#[tokio::test]
async fn oauth2_token_endpoint_failure_is_an_error_result() {
    let s = Recorder::start(|r| {
        if r.path == "/token" {
            Reply::bytes(
                400,
                "application/json",
                br#"{"error":"invalid_client"}"#.to_vec(),
            )
        } else {
            Reply::json(json!({"ok": true}))
        }
    })
    .await;
    let b = backend("oauthapi", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.auth = oauth(&s);
    })
    .await;
    let r = b.call("me", json!({})).await.expect("call");
    assert!(is_error(&r));
    let t = support::text(&r);
    assert!(
        t.contains("invalid_client") && t.contains("HTTP 400"),
        "{t}"
    );
    assert_eq!(s.count("/me"), 0);
}

#[tokio::test]
async fn query_keys_stay_out_of_error_results() {
    let s = Recorder::start(|_| Reply {
        delay: Some(Duration::from_secs(3)),
        ..Reply::json(json!({}))
    })
    .await;
    let b = backend("keyed", SPEC, |c| {
        c.base_url = Some(s.url(""));
        c.timeout = Duration::from_millis(200);
        c.auth = ApiAuth::ApiKey {
            location: ApiKeyLocation::Query,
            name: "key".into(),
            value: "sekrit".into(),
        };
    })
    .await;
    let r = b.call("me", json!({"q": "1"})).await.expect("call");
    assert!(is_error(&r));
    let t = support::text(&r);
    assert!(t.contains("within 200 ms") && !t.contains("sekrit"), "{t}");
}
