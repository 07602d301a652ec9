//! Authentication (401), authorization (403), scope escalation, lock-out refusals (409) and
//! revocation taking effect at once.

mod common;

use axum::http::header;
use common::{Fixture, ROUTES, fill, token_for};
use serde_json::json;
use toolport_store::{NewToken, Role, Store};

fn sample_path(template: &str) -> String {
    fill(
        template,
        &[
            ("tenant", "acme"),
            ("user", "u1"),
            ("id", "t1"),
            ("name", "s1"),
            ("slug", "e1"),
        ],
    )
}

#[tokio::test]
async fn every_route_but_the_document_needs_a_token() {
    let fx = Fixture::new().await;
    for (method, template) in ROUTES {
        let path = sample_path(template);
        let body = matches!(*method, "POST" | "PUT").then(|| json!({}));
        let reply = fx.call(method, &path, None, body.clone()).await;
        if *template == "/api/v1/openapi.json" {
            assert_eq!(reply.status, 200);
            continue;
        }
        let problem = reply.problem(401);
        assert_eq!(
            problem["type"],
            "https://toolport.dev/problems/unauthorized"
        );
        assert_eq!(
            reply.headers[header::WWW_AUTHENTICATE],
            "Bearer realm=\"toolport\"",
            "{method} {path}"
        );

        let bad = fx
            .call(
                method,
                &path,
                Some("tp_not_a_real_token_0123456789abcdef"),
                body,
            )
            .await;
        bad.problem(401);
        let challenge = bad.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"toolport\""),
            "{challenge}"
        );
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }

    // Another scheme is no bearer token; a malformed bearer token is an invalid one.
    let basic = fx
        .send(
            axum::http::Request::get("/api/v1/me")
                .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    basic.problem(401);
    assert_eq!(
        basic.headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"toolport\""
    );
    let garbage = fx.get("/api/v1/me", "not-a-token").await;
    garbage.problem(401);
    assert!(
        garbage.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn missing_scopes_are_403_naming_the_scope() {
    let fx = Fixture::new().await;
    // Only `mcp`: no admin route in its own tenant.
    for path in [
        "/api/v1/tenants".to_owned(),
        "/api/v1/tenants/bravo".to_owned(),
        format!("/api/v1/tenants/{}/members", fx.b.id),
        "/api/v1/tenants/bravo/tokens".to_owned(),
        "/api/v1/tenants/bravo/secrets".to_owned(),
    ] {
        let problem = fx.get(&path, &fx.b_mcp.token).await.problem(403);
        assert!(
            problem["detail"].as_str().unwrap().contains("`admin`"),
            "{path}: {problem}"
        );
    }
    // `/me` needs no scope.
    fx.get("/api/v1/me", &fx.b_mcp.token).await.ok(200);

    // Admin but not operator: no users, no tenant creation or deletion.
    for (method, path, body) in [
        ("GET", "/api/v1/users".to_owned(), None),
        (
            "POST",
            "/api/v1/users".to_owned(),
            Some(json!({"email": "x@y", "name": "x"})),
        ),
        ("GET", format!("/api/v1/users/{}", fx.b_admin.user.id), None),
        (
            "DELETE",
            format!("/api/v1/users/{}", fx.b_member.user.id),
            None,
        ),
        (
            "POST",
            "/api/v1/tenants".to_owned(),
            Some(json!({"name": "mine"})),
        ),
        ("DELETE", "/api/v1/tenants/bravo".to_owned(), None),
    ] {
        let problem = fx
            .call(method, &path, Some(&fx.b_admin.token), body)
            .await
            .problem(403);
        assert!(
            problem["detail"].as_str().unwrap().contains("`operator`"),
            "{path}"
        );
    }
    assert!(fx.store.tenant_by_name("mine").await.is_err());
    assert!(fx.store.user(&fx.b_member.user.id).await.is_ok());
    assert!(fx.store.tenant(&fx.b.id).await.is_ok());
}

#[tokio::test]
async fn members_cannot_write_what_admins_manage() {
    let fx = Fixture::new().await;
    let member = fx.b_member.token.as_str();
    let stranger = fx.store.create_user("s@x.test", "S").await.unwrap();
    fx.store
        .put_secret(
            &fx.b.id,
            "KEEP",
            &fx.vault.seal(&fx.b.id, "KEEP", b"v").unwrap(),
        )
        .await
        .unwrap();
    let admins_token = token_for(&fx.store, &fx.b, &fx.b_admin.user, &["mcp"]).await;

    for (method, path, body) in [
        (
            "POST",
            "/api/v1/tenants/bravo/members".to_owned(),
            Some(json!({"user_id": stranger.id, "role": "member"})),
        ),
        (
            "PUT",
            format!("/api/v1/tenants/bravo/members/{}", fx.b_admin.user.id),
            Some(json!({"role": "member"})),
        ),
        (
            "DELETE",
            format!("/api/v1/tenants/bravo/members/{}", fx.b_admin.user.id),
            None,
        ),
        (
            "PUT",
            "/api/v1/tenants/bravo/secrets/KEEP".to_owned(),
            Some(json!({"value": "overwritten"})),
        ),
        (
            "DELETE",
            "/api/v1/tenants/bravo/secrets/KEEP".to_owned(),
            None,
        ),
        (
            "POST",
            "/api/v1/tenants/bravo/tokens".to_owned(),
            Some(json!({"name": "x", "scopes": ["mcp"], "user_id": fx.b_admin.user.id})),
        ),
        (
            "GET",
            format!("/api/v1/tenants/bravo/tokens/{}", admins_token.token_id),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/tenants/bravo/tokens/{}", admins_token.token_id),
            None,
        ),
    ] {
        let problem = fx
            .call(method, &path, Some(member), body)
            .await
            .problem(403);
        assert!(
            problem["detail"].as_str().unwrap().contains("role"),
            "{method} {path}: {problem}"
        );
    }
    // Nothing changed.
    let members = fx
        .store
        .list_members(&fx.b.id, &Default::default())
        .await
        .unwrap();
    assert_eq!(members.items.len(), 2);
    assert!(
        members
            .items
            .iter()
            .any(|m| m.user_id == fx.b_admin.user.id && m.role == Role::Admin)
    );
    let sealed = fx
        .store
        .sealed_secret(&fx.b.id, "KEEP")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fx.vault.open(&fx.b.id, "KEEP", &sealed).unwrap().expose(),
        b"v"
    );
    fx.get("/api/v1/me", &admins_token.token).await.ok(200);

    // Their own tokens are theirs to manage.
    let own = fx
        .call(
            "POST",
            "/api/v1/tenants/bravo/tokens",
            Some(member),
            Some(json!({"name": "mine", "scopes": ["mcp"]})),
        )
        .await
        .ok(201);
    let id = own["id"].as_str().unwrap();
    fx.get(&format!("/api/v1/tenants/bravo/tokens/{id}"), member)
        .await
        .ok(200);
    fx.call(
        "DELETE",
        &format!("/api/v1/tenants/bravo/tokens/{id}"),
        Some(member),
        None,
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn only_owners_touch_owners() {
    let fx = Fixture::new().await;
    let owner = common::actor(&fx.store, &fx.b, "owner@b.test", Role::Owner, &["admin"]).await;
    let newcomer = fx.store.create_user("n@b.test", "N").await.unwrap();
    let admin = Some(fx.b_admin.token.as_str());
    fx.call(
        "POST",
        "/api/v1/tenants/bravo/members",
        admin,
        Some(json!({"user_id": newcomer.id, "role": "owner"})),
    )
    .await
    .problem(403);
    fx.call(
        "PUT",
        &format!("/api/v1/tenants/bravo/members/{}", fx.b_member.user.id),
        admin,
        Some(json!({"role": "owner"})),
    )
    .await
    .problem(403);
    fx.call(
        "DELETE",
        &format!("/api/v1/tenants/bravo/members/{}", owner.user.id),
        admin,
        None,
    )
    .await
    .problem(403);
    // The owner may.
    fx.call(
        "PUT",
        &format!("/api/v1/tenants/bravo/members/{}", fx.b_member.user.id),
        Some(&owner.token),
        Some(json!({"role": "owner"})),
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn tokens_never_grant_more_than_their_creator() {
    let fx = Fixture::new().await;
    let path = "/api/v1/tenants/bravo/tokens";
    let admin = Some(fx.b_admin.token.as_str());
    let problem = fx
        .call(
            "POST",
            path,
            admin,
            Some(json!({"name": "x", "scopes": ["mcp", "operator"]})),
        )
        .await
        .problem(403);
    assert!(
        problem["detail"].as_str().unwrap().contains("`operator`"),
        "{problem}"
    );

    // A token limited to one endpoint cannot hand out others, nor all of them.
    let narrow = token_for(&fx.store, &fx.b, &fx.b_admin.user, &["admin", "mcp:github"]).await;
    for scope in ["mcp", "mcp:stripe", "operator"] {
        let problem = fx
            .call(
                "POST",
                path,
                Some(&narrow.token),
                Some(json!({"name": "x", "scopes": [scope]})),
            )
            .await
            .problem(403);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("`{scope}`")),
            "{problem}"
        );
    }
    fx.call(
        "POST",
        path,
        Some(&narrow.token),
        Some(json!({"name": "x", "scopes": ["mcp:github", "admin"]})),
    )
    .await
    .ok(201);

    // Unknown or malformed scope names are 422 naming them.
    for bad in ["root", "mcp:", "mcp:a b"] {
        let problem = fx
            .call(
                "POST",
                path,
                admin,
                Some(json!({"name": "x", "scopes": [bad]})),
            )
            .await
            .problem(422);
        assert!(
            problem["detail"].as_str().unwrap().contains(bad),
            "{problem}"
        );
    }
    fx.call(
        "POST",
        path,
        admin,
        Some(json!({"name": "x", "scopes": []})),
    )
    .await
    .problem(422);

    // A token that expires cannot create one that outlives it; by default the new one expires
    // with it.
    let now = toolport_store::model::now();
    let created = fx
        .store
        .create_token(&NewToken {
            tenant_id: fx.b.id.clone(),
            user_id: fx.b_admin.user.id.clone(),
            name: "short".into(),
            scopes: vec!["admin".into(), "mcp".into()],
            expires_at: Some(now + 600),
        })
        .await
        .unwrap();
    let short = Some(created.token.as_str());
    fx.call(
        "POST",
        path,
        short,
        Some(json!({"name": "x", "scopes": ["mcp"], "expires_in_seconds": 6000})),
    )
    .await
    .problem(403);
    let inherited = fx
        .call(
            "POST",
            path,
            short,
            Some(json!({"name": "x", "scopes": ["mcp"]})),
        )
        .await
        .ok(201);
    assert_eq!(inherited["expires_at"], now + 600);

    // Nor a token of a member whose role is higher than the caller's.
    let owner = common::actor(&fx.store, &fx.b, "owner@b.test", Role::Owner, &["admin"]).await;
    let problem = fx
        .call(
            "POST",
            path,
            admin,
            Some(json!({"name": "x", "scopes": ["mcp"], "user_id": owner.user.id})),
        )
        .await
        .problem(403);
    assert!(
        problem["detail"].as_str().unwrap().contains("`owner`"),
        "{problem}"
    );
    fx.call(
        "POST",
        path,
        Some(&owner.token),
        Some(json!({"name": "x", "scopes": ["admin"], "user_id": fx.b_admin.user.id})),
    )
    .await
    .ok(201);

    // Only members of the tenant get tokens there.
    let outsider = fx.store.create_user("out@x.test", "Out").await.unwrap();
    fx.call(
        "POST",
        path,
        admin,
        Some(json!({"name": "x", "scopes": ["mcp"], "user_id": outsider.id})),
    )
    .await
    .problem(409);
    assert!(
        fx.store
            .list_tokens(&fx.b.id, &Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .all(|t| t.user_id != outsider.id)
    );
}

#[tokio::test]
async fn revocation_and_removal_take_effect_at_once() {
    let fx = Fixture::new().await;
    let second = token_for(&fx.store, &fx.b, &fx.b_admin.user, &["admin"]).await;
    // Cached by a first use.
    fx.get("/api/v1/me", &second.token).await.ok(200);
    fx.call(
        "DELETE",
        &format!("/api/v1/tenants/bravo/tokens/{}", second.token_id),
        Some(&fx.b_admin.token),
        None,
    )
    .await
    .ok(200);
    let reply = fx.get("/api/v1/me", &second.token).await;
    reply.problem(401);
    assert!(
        reply.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Deleting a user stops their tokens at once.
    fx.get("/api/v1/me", &fx.b_member.token).await.ok(200);
    let deleted = fx
        .call(
            "DELETE",
            &format!("/api/v1/users/{}", fx.b_member.user.id),
            Some(&fx.operator.token),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    fx.get("/api/v1/me", &fx.b_member.token).await.problem(401);

    // Deleting a tenant stops its tokens at once.
    fx.get("/api/v1/me", &fx.b_admin.token).await.ok(200);
    let deleted = fx
        .call(
            "DELETE",
            &format!("/api/v1/tenants/{}", fx.b.id),
            Some(&fx.operator.token),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    fx.get("/api/v1/me", &fx.b_admin.token).await.problem(401);
    fx.get("/api/v1/me", &fx.operator.token).await.ok(200);
}

#[tokio::test]
async fn nothing_locks_the_caller_out() {
    let fx = Fixture::new().await;
    let op = Some(fx.operator.token.as_str());
    for (method, path) in [
        ("DELETE", format!("/api/v1/tenants/{}", fx.a.id)),
        ("DELETE", "/api/v1/tenants/acme".to_owned()),
        ("DELETE", format!("/api/v1/users/{}", fx.operator.user.id)),
        (
            "DELETE",
            format!("/api/v1/tenants/acme/tokens/{}", fx.operator.token_id),
        ),
        (
            "DELETE",
            format!("/api/v1/tenants/acme/members/{}", fx.operator.user.id),
        ),
    ] {
        let problem = fx.call(method, &path, op, None).await.problem(409);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("calling token"),
            "{path}: {problem}"
        );
    }
    fx.call(
        "PUT",
        &format!("/api/v1/tenants/acme/members/{}", fx.operator.user.id),
        op,
        Some(json!({"role": "member"})),
    )
    .await
    .problem(409);
    fx.call(
        "DELETE",
        &format!("/api/v1/tenants/bravo/members/{}", fx.b_admin.user.id),
        Some(&fx.b_admin.token),
        None,
    )
    .await
    .problem(409);
    // Everything still works.
    let me = fx.get("/api/v1/me", &fx.operator.token).await.ok(200);
    assert_eq!(me["role"], "owner");
    fx.get("/api/v1/tenants/acme", &fx.operator.token)
        .await
        .ok(200);
}
