//! Every error is problem+json: malformed bodies, wrong content types, bad query values, unknown
//! routes, wrong methods, oversized bodies; never plain text, never 5xx.

mod common;

use axum::http::header;
use common::Fixture;
use serde_json::json;

#[tokio::test]
async fn malformed_bodies_are_problems() {
    let fx = Fixture::new().await;
    let op = Some(fx.operator.token.as_str());
    let json_body = |s: &str| Some(("application/json", s.as_bytes().to_vec()));

    for (body, status) in [
        ("{\"name\":", 400),
        ("not json", 400),
        ("", 400),
        ("{\"name\": 5}", 422),
        ("{}", 422),
        ("{\"name\": \"ok\", \"extra\": true}", 422),
        ("[\"ok\"]", 422),
        ("null", 422),
        ("{\"name\": \"ok\", \"plan\": 7}", 422),
    ] {
        let reply = fx.raw("POST", "/api/v1/tenants", op, json_body(body)).await;
        let problem = reply.problem(status);
        let slug = if status == 400 {
            "malformed-request"
        } else {
            "validation-failed"
        };
        assert_eq!(
            problem["type"],
            format!("https://toolport.dev/problems/{slug}"),
            "{body}"
        );
    }
    let missing = fx
        .raw("POST", "/api/v1/tenants", op, json_body("{}"))
        .await
        .problem(422);
    assert!(
        missing["detail"].as_str().unwrap().contains("name"),
        "{missing}"
    );

    // Content types.
    let none = fx
        .send(
            axum::http::Request::post("/api/v1/tenants")
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", fx.operator.token),
                )
                .body(axum::body::Body::from("{\"name\": \"x\"}"))
                .unwrap(),
        )
        .await;
    none.problem(415);
    let text = Some(("text/plain", b"{\"name\": \"x\"}".to_vec()));
    fx.raw("POST", "/api/v1/tenants", op, text)
        .await
        .problem(415);
    let charset = Some((
        "application/json; charset=utf-8",
        b"{\"name\": \"utf8\"}".to_vec(),
    ));
    fx.raw("POST", "/api/v1/tenants", op, charset).await.ok(201);

    // Values that parse but are not acceptable.
    for body in [
        json!({"name": ""}),
        json!({"name": "has space"}),
        json!({"name": "-dash-first"}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "fine", "plan": ""}),
        json!({"name": "fine", "plan": "a/b"}),
    ] {
        let problem = fx
            .call("POST", "/api/v1/tenants", op, Some(body.clone()))
            .await
            .problem(422);
        assert!(
            problem["detail"].as_str().unwrap().contains('`'),
            "{body}: {problem}"
        );
    }
    for body in [
        json!({"email": "a b@c", "name": "x"}),
        json!({"email": "", "name": "x"}),
        json!({"email": "a@b", "name": ""}),
        json!({"email": "a@b", "name": "line\nbreak"}),
    ] {
        fx.call("POST", "/api/v1/users", op, Some(body))
            .await
            .problem(422);
    }
    for body in [
        json!({"name": "x", "scopes": ["mcp"], "expires_in_seconds": 0}),
        json!({"name": "x", "scopes": ["mcp"], "expires_in_seconds": -5}),
        json!({"name": "x", "scopes": ["mcp"], "expires_in_seconds": 315_360_001_u64}),
        json!({"name": "", "scopes": ["mcp"]}),
        json!({"name": "x", "scopes": "mcp"}),
        json!({"name": "x"}),
    ] {
        fx.call("POST", "/api/v1/tenants/acme/tokens", op, Some(body))
            .await
            .problem(422);
    }
    fx.call(
        "POST",
        "/api/v1/tenants/acme/members",
        op,
        Some(json!({"user_id": "x", "role": "king"})),
    )
    .await
    .problem(422);
    fx.call(
        "POST",
        "/api/v1/tenants/acme/members",
        op,
        Some(json!({"user_id": "no-such-user", "role": "member"})),
    )
    .await
    .problem(404);

    // A body too large for the server.
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    fx.raw("POST", "/api/v1/tenants", op, json_body(&huge))
        .await
        .problem(413);
}

#[tokio::test]
async fn authorization_is_judged_before_the_body() {
    let fx = Fixture::new().await;
    let garbage = Some(("application/json", b"{oops".to_vec()));
    // Another tenant: 404, whatever the body.
    let reply = fx
        .raw(
            "POST",
            "/api/v1/tenants/acme/tokens",
            Some(&fx.b_admin.token),
            garbage.clone(),
        )
        .await;
    reply.problem(404);
    // Missing scope: 403, whatever the body.
    fx.raw(
        "POST",
        "/api/v1/tenants",
        Some(&fx.b_admin.token),
        garbage.clone(),
    )
    .await
    .problem(403);
    // No token: 401.
    fx.raw("POST", "/api/v1/tenants", None, garbage)
        .await
        .problem(401);
}

#[tokio::test]
async fn bad_query_values_are_400() {
    let fx = Fixture::new().await;
    for query in [
        "limit=abc",
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=1.5",
        "limit=99999999999",
    ] {
        for path in [
            "/api/v1/tenants",
            "/api/v1/users",
            "/api/v1/tenants/acme/tokens",
        ] {
            let problem = fx
                .get(&format!("{path}?{query}"), &fx.operator.token)
                .await
                .problem(400);
            assert!(
                problem["detail"].as_str().unwrap().contains("limit"),
                "{query}: {problem}"
            );
        }
    }
    fx.get(
        "/api/v1/tenants?limit=1&unknown=x&after=",
        &fx.operator.token,
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let fx = Fixture::new().await;
    for path in [
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/tenants/acme/unknown",
        "/api/v1/tenants/acme/tokens/a/b",
        "/api/v1/tenants/",
    ] {
        for token in [None, Some(fx.operator.token.as_str())] {
            let problem = fx.call("GET", path, token, None).await.problem(404);
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("no such route"),
                "{path}"
            );
        }
    }
    for (method, path, allowed) in [
        ("PATCH", "/api/v1/tenants", "GET,HEAD,POST"),
        ("POST", "/api/v1/me", "GET,HEAD"),
        ("PUT", "/api/v1/tenants/acme/tokens/x", "GET,HEAD,DELETE"),
        ("POST", "/api/v1/tenants/acme/secrets", "GET,HEAD"),
        ("DELETE", "/api/v1/openapi.json", "GET,HEAD"),
    ] {
        let reply = fx.call(method, path, Some(&fx.operator.token), None).await;
        reply.problem(405);
        let mut allow: Vec<_> = reply.headers[header::ALLOW]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        let mut expected: Vec<_> = allowed.split(',').map(str::to_owned).collect();
        allow.sort();
        expected.sort();
        assert_eq!(allow, expected, "{method} {path}");
    }
    // A path segment that is not UTF-8 once decoded.
    let problem = fx
        .get("/api/v1/tenants/%FF", &fx.operator.token)
        .await
        .problem(400);
    assert_eq!(
        problem["type"],
        "https://toolport.dev/problems/malformed-request"
    );
}
