//! Tenant isolation: every tenant-scoped route, addressed by another tenant's token at tenant A
//! (by id and by name), answers exactly like a tenant that does not exist, and A is unchanged.

mod common;

use common::{Fixture, fill};
use serde_json::{Value, json};
use toolport_store::{BackendKind, NewBackend, PageRequest, Store};

/// Every tenant-scoped route with a body that would succeed for a caller allowed to use it.
fn tenant_routes(fx: &Fixture) -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/api/v1/tenants/{tenant}", None),
        ("DELETE", "/api/v1/tenants/{tenant}", None),
        ("GET", "/api/v1/tenants/{tenant}/members", None),
        (
            "POST",
            "/api/v1/tenants/{tenant}/members",
            Some(json!({"user_id": fx.b_member.user.id, "role": "admin"})),
        ),
        (
            "PUT",
            "/api/v1/tenants/{tenant}/members/{user}",
            Some(json!({"role": "admin"})),
        ),
        ("DELETE", "/api/v1/tenants/{tenant}/members/{user}", None),
        ("GET", "/api/v1/tenants/{tenant}/tokens", None),
        (
            "POST",
            "/api/v1/tenants/{tenant}/tokens",
            Some(json!({"name": "x", "scopes": ["mcp"]})),
        ),
        ("GET", "/api/v1/tenants/{tenant}/tokens/{id}", None),
        ("DELETE", "/api/v1/tenants/{tenant}/tokens/{id}", None),
        ("GET", "/api/v1/tenants/{tenant}/secrets", None),
        (
            "PUT",
            "/api/v1/tenants/{tenant}/secrets/{name}",
            Some(json!({"value": "overwrite"})),
        ),
        ("DELETE", "/api/v1/tenants/{tenant}/secrets/{name}", None),
        ("GET", "/api/v1/tenants/{tenant}/endpoints", None),
        (
            "POST",
            "/api/v1/tenants/{tenant}/endpoints",
            Some(json!({"slug": "b-made"})),
        ),
        ("GET", "/api/v1/tenants/{tenant}/endpoints/{slug}", None),
        (
            "PATCH",
            "/api/v1/tenants/{tenant}/endpoints/{slug}",
            Some(json!({"description": "taken"})),
        ),
        ("DELETE", "/api/v1/tenants/{tenant}/endpoints/{slug}", None),
        (
            "PUT",
            "/api/v1/tenants/{tenant}/endpoints/{slug}/tools",
            Some(json!({"tools": []})),
        ),
        (
            "PUT",
            "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}",
            Some(json!({"upstream": "files", "tool": "write_file"})),
        ),
        (
            "DELETE",
            "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}",
            None,
        ),
        ("GET", "/api/v1/tenants/{tenant}/apis", None),
        (
            "POST",
            "/api/v1/tenants/{tenant}/apis",
            Some(json!({"name": "b-made", "definition": {}, "document": "{}"})),
        ),
        ("GET", "/api/v1/tenants/{tenant}/apis/{name}", None),
        (
            "PUT",
            "/api/v1/tenants/{tenant}/apis/{name}",
            Some(json!({"definition": {}, "document": "{}"})),
        ),
        ("DELETE", "/api/v1/tenants/{tenant}/apis/{name}", None),
        ("GET", "/api/v1/tenants/{tenant}/servers", None),
        (
            "POST",
            "/api/v1/tenants/{tenant}/servers",
            Some(json!({"name": "b-made", "definition": {"url": "https://b.example/mcp"}})),
        ),
        ("GET", "/api/v1/tenants/{tenant}/servers/{name}", None),
        (
            "PUT",
            "/api/v1/tenants/{tenant}/servers/{name}",
            Some(json!({"definition": {"url": "https://b.example/mcp"}})),
        ),
        ("DELETE", "/api/v1/tenants/{tenant}/servers/{name}", None),
    ]
}

/// Everything of tenant A, as the store has it.
async fn snapshot(fx: &Fixture) -> String {
    let all = PageRequest::first(1000);
    let tenant = fx.store.tenant(&fx.a.id).await.unwrap();
    let members = fx.store.list_members(&fx.a.id, &all).await.unwrap();
    let tokens = fx.store.list_tokens(&fx.a.id, &all).await.unwrap();
    let secrets = fx.store.list_secrets(&fx.a.id, &all).await.unwrap();
    let sealed = fx.store.sealed_secret(&fx.a.id, "A_SECRET").await.unwrap();
    let endpoints = fx.store.list_endpoints(&fx.a.id, &all).await.unwrap();
    let backends = fx.store.list_backends(&fx.a.id, None, &all).await.unwrap();
    format!(
        "{tenant:?}\n{members:?}\n{tokens:?}\n{secrets:?}\n{sealed:?}\n{endpoints:?}\n{backends:?}"
    )
}

#[tokio::test]
async fn another_tenant_is_answered_like_a_missing_one() {
    let fx = Fixture::new().await;
    let sealed = fx.vault.seal(&fx.a.id, "A_SECRET", b"a-value").unwrap();
    fx.store
        .put_secret(&fx.a.id, "A_SECRET", &sealed)
        .await
        .unwrap();
    // An endpoint of A whose tool has the secret's name, so `{name}` is a record either way.
    fx.call(
        "POST",
        "/api/v1/tenants/acme/endpoints",
        Some(&fx.operator.token),
        Some(json!({"slug": "a-tools",
                    "tools": [{"upstream": "files", "tool": "read_file", "name": "A_SECRET"}]})),
    )
    .await
    .ok(201);
    // And a registered API of A with that name too (the store's: registering needs a gateway).
    fx.store
        .create_backend(&NewBackend {
            tenant_id: fx.a.id.clone(),
            kind: BackendKind::Api,
            name: "A_SECRET".into(),
            definition: r#"{"spec": "https://a.example/openapi.json"}"#.into(),
            document: None,
            at_most: None,
        })
        .await
        .unwrap();
    let before = snapshot(&fx).await;
    let routes = tenant_routes(&fx);
    assert_eq!(routes.len(), 31);

    let records = [
        ("user", fx.a_member.user.id.as_str()),
        ("id", fx.a_member.token_id.as_str()),
        ("name", "A_SECRET"),
        ("slug", "a-tools"),
    ];
    let missing_id = "7d0d4c5e-0000-4000-8000-000000000000";
    for caller in [&fx.b_admin, &fx.b_member, &fx.b_mcp] {
        for (method, template, body) in &routes {
            let mut replies = Vec::new();
            for tenant in ["no-such-tenant", missing_id, fx.a.id.as_str(), "acme"] {
                let mut pairs = vec![("tenant", tenant)];
                pairs.extend(records);
                let path = fill(template, &pairs);
                let reply = fx
                    .call(method, &path, Some(&caller.token), body.clone())
                    .await;
                let problem = reply.problem(404);
                assert_eq!(problem["type"], "https://toolport.dev/problems/not-found");
                replies.push((path, reply.bytes));
            }
            let (first_path, first) = &replies[0];
            for (path, bytes) in &replies[1..] {
                assert_eq!(
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(first),
                    "{method} {path} differs from {first_path}"
                );
            }
        }
    }
    // Nor does the list of tenants show A.
    let list = fx.get("/api/v1/tenants", &fx.b_admin.token).await.ok(200);
    assert!(!list.to_string().contains(&fx.a.id));
    assert!(!list.to_string().contains("acme"));

    assert_eq!(snapshot(&fx).await, before, "tenant A changed");
    fx.get("/api/v1/me", &fx.a_member.token).await.ok(200);
}

#[tokio::test]
async fn another_tenants_records_are_missing_in_ones_own() {
    let fx = Fixture::new().await;
    let sealed = fx.vault.seal(&fx.a.id, "A_SECRET", b"a-value").unwrap();
    fx.store
        .put_secret(&fx.a.id, "A_SECRET", &sealed)
        .await
        .unwrap();
    let before = snapshot(&fx).await;
    let admin = Some(fx.b_admin.token.as_str());
    let pairs = |id: &str| {
        [
            (format!("/api/v1/tenants/bravo/tokens/{id}"), "GET", None),
            (format!("/api/v1/tenants/bravo/tokens/{id}"), "DELETE", None),
            (
                format!("/api/v1/tenants/bravo/members/{id}"),
                "PUT",
                Some(json!({"role": "admin"})),
            ),
            (
                format!("/api/v1/tenants/bravo/members/{id}"),
                "DELETE",
                None,
            ),
        ]
    };
    for ((path, method, body), (ghost_path, _, _)) in pairs(&fx.a_member.token_id)
        .into_iter()
        .take(2)
        .chain(pairs(&fx.a_member.user.id).into_iter().skip(2))
        .zip(pairs("ghost"))
    {
        let real = fx.call(method, &path, admin, body.clone()).await;
        let ghost = fx.call(method, &ghost_path, admin, body).await;
        real.problem(404);
        ghost.problem(404);
        assert_eq!(real.bytes, ghost.bytes, "{method} {path}");
    }
    let real = fx
        .call(
            "DELETE",
            "/api/v1/tenants/bravo/secrets/A_SECRET",
            admin,
            None,
        )
        .await;
    let ghost = fx
        .call("DELETE", "/api/v1/tenants/bravo/secrets/NOPE", admin, None)
        .await;
    real.problem(404);
    assert_eq!(real.bytes, ghost.bytes);
    let secrets = fx
        .get("/api/v1/tenants/bravo/secrets", &fx.b_admin.token)
        .await
        .ok(200);
    assert_eq!(secrets["items"], json!([]));

    assert_eq!(snapshot(&fx).await, before, "tenant A changed");
}

#[tokio::test]
async fn an_operator_addresses_every_tenant() {
    let fx = Fixture::new().await;
    let op = fx.operator.token.as_str();
    for key in [fx.b.id.as_str(), "bravo"] {
        fx.get(&format!("/api/v1/tenants/{key}"), op).await.ok(200);
        let members = fx
            .get(&format!("/api/v1/tenants/{key}/members"), op)
            .await
            .ok(200);
        assert_eq!(members["items"].as_array().unwrap().len(), 2);
    }
    fx.call(
        "PUT",
        "/api/v1/tenants/bravo/secrets/FROM_OPERATOR",
        Some(op),
        Some(json!({"value": "v"})),
    )
    .await
    .ok(200);
    let created = fx
        .call(
            "POST",
            "/api/v1/tenants/bravo/tokens",
            Some(op),
            Some(json!({"name": "for b", "scopes": ["mcp"], "user_id": fx.b_member.user.id})),
        )
        .await
        .ok(201);
    assert_eq!(created["tenant_id"], fx.b.id.as_str());
    // The operator is no member of B, so a token for itself there is refused.
    fx.call(
        "POST",
        "/api/v1/tenants/bravo/tokens",
        Some(op),
        Some(json!({"name": "mine", "scopes": ["mcp"]})),
    )
    .await
    .problem(409);
}
