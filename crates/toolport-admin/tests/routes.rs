//! The happy path of every route, and pagination.

mod common;

use common::Fixture;
use serde_json::{Value, json};
use toolport_store::Store;

fn ids(page: &Value, key: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn me_describes_the_calling_token() {
    let fx = Fixture::new().await;
    let me = fx.get("/api/v1/me", &fx.operator.token).await.ok(200);
    assert_eq!(me["token_id"], fx.operator.token_id.as_str());
    assert_eq!(me["tenant_id"], fx.a.id.as_str());
    assert_eq!(me["user_id"], fx.operator.user.id.as_str());
    assert_eq!(me["role"], "owner");
    assert_eq!(me["scopes"], json!(["operator", "admin", "mcp"]));
    assert_eq!(me["expires_at"], Value::Null);
    let me = fx.get("/api/v1/me", &fx.b_mcp.token).await.ok(200);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["scopes"], json!(["mcp"]));
}

#[tokio::test]
async fn tenants_lifecycle() {
    let fx = Fixture::new().await;
    let op = fx.operator.token.as_str();

    let list = fx.get("/api/v1/tenants", op).await.ok(200);
    assert_eq!(ids(&list, "name"), ["acme", "bravo"]);
    assert_eq!(list["next_after"], Value::Null);

    let created = fx
        .call(
            "POST",
            "/api/v1/tenants",
            Some(op),
            Some(json!({"name": "charlie"})),
        )
        .await
        .ok(201);
    assert_eq!(created["name"], "charlie");
    assert_eq!(created["plan"], "free");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(created["created_at"].as_i64().unwrap() > 0);

    let with_plan = fx
        .call(
            "POST",
            "/api/v1/tenants",
            Some(op),
            Some(json!({"name": "delta", "plan": "enterprise"})),
        )
        .await
        .ok(201);
    assert_eq!(with_plan["plan"], "enterprise");

    let dup = fx
        .call(
            "POST",
            "/api/v1/tenants",
            Some(op),
            Some(json!({"name": "charlie"})),
        )
        .await;
    assert!(
        dup.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("charlie")
    );

    let by_id = fx.get(&format!("/api/v1/tenants/{id}"), op).await.ok(200);
    let by_name = fx.get("/api/v1/tenants/charlie", op).await.ok(200);
    assert_eq!(by_id, created);
    assert_eq!(by_name, created);

    let deleted = fx
        .call("DELETE", "/api/v1/tenants/charlie", Some(op), None)
        .await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.bytes.is_empty());
    fx.get(&format!("/api/v1/tenants/{id}"), op)
        .await
        .problem(404);
    fx.call("DELETE", &format!("/api/v1/tenants/{id}"), Some(op), None)
        .await
        .problem(404);
    assert!(fx.store.tenant(&id).await.is_err());

    // Someone else sees only their own tenant, by id or by name.
    let own = fx.get("/api/v1/tenants", &fx.b_admin.token).await.ok(200);
    assert_eq!(ids(&own, "id"), [fx.b.id.as_str()]);
    let own = fx
        .get("/api/v1/tenants?after=bravo", &fx.b_admin.token)
        .await
        .ok(200);
    assert_eq!(own["items"], json!([]));
    let own = fx
        .get("/api/v1/tenants/bravo", &fx.b_member.token)
        .await
        .ok(200);
    assert_eq!(own["id"], fx.b.id.as_str());
}

#[tokio::test]
async fn tenants_paginate() {
    let fx = Fixture::new().await;
    for i in 0..7 {
        fx.store
            .create_tenant(&format!("t{i}"), "free")
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/tenants?limit=3&after={a}"),
            None => "/api/v1/tenants?limit=3".to_owned(),
        };
        let page = fx.get(&path, &fx.operator.token).await.ok(200);
        let names = ids(&page, "name");
        assert!(names.len() <= 3);
        seen.extend(names);
        pages += 1;
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = ["acme", "bravo"].map(String::from).to_vec();
    expected.extend((0..7).map(|i| format!("t{i}")));
    assert_eq!(seen, expected);

    let all = fx
        .get("/api/v1/tenants?limit=1000", &fx.operator.token)
        .await
        .ok(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn users_lifecycle() {
    let fx = Fixture::new().await;
    let op = fx.operator.token.as_str();
    let created = fx
        .call(
            "POST",
            "/api/v1/users",
            Some(op),
            Some(json!({"email": "new@x.test", "name": "New Person"})),
        )
        .await
        .ok(201);
    assert_eq!(created["email"], "new@x.test");
    assert_eq!(created["name"], "New Person");
    let id = created["id"].as_str().unwrap().to_owned();

    let list = fx.get("/api/v1/users?limit=2", op).await.ok(200);
    assert_eq!(ids(&list, "email"), ["admin@b.test", "member@a.test"]);
    assert_eq!(list["next_after"], "member@a.test");
    let rest = fx
        .get("/api/v1/users?limit=10&after=member%40a.test", op)
        .await
        .ok(200);
    assert_eq!(
        ids(&rest, "email"),
        ["member@b.test", "new@x.test", "op@a.test"]
    );
    assert_eq!(rest["next_after"], Value::Null);

    assert_eq!(
        fx.get(&format!("/api/v1/users/{id}"), op).await.ok(200),
        created
    );
    fx.call(
        "POST",
        "/api/v1/users",
        Some(op),
        Some(json!({"email": "new@x.test", "name": "Again"})),
    )
    .await
    .problem(409);

    let deleted = fx
        .call("DELETE", &format!("/api/v1/users/{id}"), Some(op), None)
        .await;
    assert_eq!(deleted.status, 204);
    fx.get(&format!("/api/v1/users/{id}"), op)
        .await
        .problem(404);
    fx.get("/api/v1/users/no-such-user", op).await.problem(404);
}

#[tokio::test]
async fn members_lifecycle() {
    let fx = Fixture::new().await;
    let admin = fx.b_admin.token.as_str();
    let path = format!("/api/v1/tenants/{}/members", fx.b.id);

    let list = fx.get(&path, admin).await.ok(200);
    let mut expected = vec![fx.b_admin.user.id.clone(), fx.b_member.user.id.clone()];
    expected.sort();
    assert_eq!(ids(&list, "user_id"), expected);
    let first = fx.get(&format!("{path}?limit=1"), admin).await.ok(200);
    assert_eq!(ids(&first, "user_id"), expected[..1]);
    assert_eq!(first["next_after"], expected[0].as_str());
    let second = fx
        .get(&format!("{path}?limit=1&after={}", expected[0]), admin)
        .await
        .ok(200);
    assert_eq!(ids(&second, "user_id"), expected[1..]);

    let newcomer = fx.store.create_user("new@b.test", "New").await.unwrap();
    let added = fx
        .call(
            "POST",
            &path,
            Some(admin),
            Some(json!({"user_id": newcomer.id, "role": "member"})),
        )
        .await
        .ok(201);
    assert_eq!(added["role"], "member");
    assert_eq!(added["tenant_id"], fx.b.id.as_str());
    fx.call(
        "POST",
        &path,
        Some(admin),
        Some(json!({"user_id": newcomer.id, "role": "member"})),
    )
    .await
    .problem(409);

    // A role change reaches the member's cached token at once.
    assert_eq!(
        fx.get("/api/v1/me", &fx.b_member.token).await.ok(200)["role"],
        "member"
    );
    let changed = fx
        .call(
            "PUT",
            &format!("/api/v1/tenants/bravo/members/{}", fx.b_member.user.id),
            Some(admin),
            Some(json!({"role": "admin"})),
        )
        .await
        .ok(200);
    assert_eq!(changed["role"], "admin");
    assert_eq!(
        fx.get("/api/v1/me", &fx.b_member.token).await.ok(200)["role"],
        "admin"
    );

    // Removing a member stops their tokens at once.
    let removed = fx
        .call(
            "DELETE",
            &format!("{path}/{}", fx.b_member.user.id),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    fx.get("/api/v1/me", &fx.b_member.token).await.problem(401);
    fx.call(
        "DELETE",
        &format!("{path}/{}", fx.b_member.user.id),
        Some(admin),
        None,
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn tokens_lifecycle() {
    let fx = Fixture::new().await;
    let admin = fx.b_admin.token.as_str();
    let path = format!("/api/v1/tenants/{}/tokens", fx.b.name);

    let created = fx
        .call(
            "POST",
            &path,
            Some(admin),
            Some(json!({"name": "ci", "scopes": ["mcp", "mcp"], "expires_in_seconds": 3600})),
        )
        .await;
    assert_eq!(created.headers["cache-control"], "no-store");
    let created = created.ok(201);
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tp_"));
    assert_eq!(created["scopes"], json!(["mcp"]));
    assert_eq!(created["user_id"], fx.b_admin.user.id.as_str());
    assert_eq!(created["revoked_at"], Value::Null);
    let expires = created["expires_at"].as_i64().unwrap();
    let now = toolport_store::model::now();
    assert!((now + 3590..=now + 3610).contains(&expires));
    let id = created["id"].as_str().unwrap().to_owned();

    // The new token works, and is never shown again.
    assert_eq!(
        fx.get("/api/v1/me", &token).await.ok(200)["token_id"],
        id.as_str()
    );
    let got = fx.get(&format!("{path}/{id}"), admin).await.ok(200);
    assert_eq!(got["name"], "ci");
    assert!(got.get("token").is_none());
    assert!(!fx.get(&path, admin).await.text().contains(&token));

    // For another member, by an admin.
    let for_member = fx
        .call(
            "POST",
            &path,
            Some(admin),
            Some(json!({"name": "theirs", "scopes": ["mcp"], "user_id": fx.b_member.user.id})),
        )
        .await
        .ok(201);
    assert_eq!(for_member["user_id"], fx.b_member.user.id.as_str());
    assert_eq!(for_member["expires_at"], Value::Null);

    let list = fx.get(&path, admin).await.ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 5);
    let mut all = ids(&list, "id");
    let sorted = {
        let mut s = all.clone();
        s.sort();
        s
    };
    assert_eq!(all, sorted);
    // Pages of two cover the same tokens.
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let page = fx
            .get(&format!("{path}?limit=2&after={after}"), admin)
            .await
            .ok(200);
        paged.extend(ids(&page, "id"));
        match page["next_after"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(paged, all);

    // A member with the admin scope lists only their own tokens.
    let own = fx.get(&path, &fx.b_member.token).await.ok(200);
    let own_users: Vec<_> = own["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["user_id"].clone())
        .collect();
    assert_eq!(own_users.len(), 2);
    assert!(own_users.iter().all(|u| u == fx.b_member.user.id.as_str()));
    let own_paged = fx
        .get(&format!("{path}?limit=1"), &fx.b_member.token)
        .await
        .ok(200);
    assert_eq!(own_paged["items"].as_array().unwrap().len(), 1);
    let next = own_paged["next_after"].as_str().unwrap();
    let own_rest = fx
        .get(&format!("{path}?limit=1&after={next}"), &fx.b_member.token)
        .await
        .ok(200);
    assert_eq!(
        own_rest["items"][0]["user_id"],
        fx.b_member.user.id.as_str()
    );

    // Revoke: the record says so and the token stops at once.
    let revoked = fx
        .call("DELETE", &format!("{path}/{id}"), Some(admin), None)
        .await
        .ok(200);
    assert!(revoked["revoked_at"].as_i64().is_some());
    fx.get("/api/v1/me", &token).await.problem(401);
    let again = fx
        .call("DELETE", &format!("{path}/{id}"), Some(admin), None)
        .await
        .ok(200);
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    fx.get(&format!("{path}/no-such-token"), admin)
        .await
        .problem(404);
    all.retain(|t| *t != id);
}

#[tokio::test]
async fn secrets_lifecycle() {
    let fx = Fixture::new().await;
    let admin = fx.b_admin.token.as_str();
    let path = format!("/api/v1/tenants/{}/secrets", fx.b.id);

    let meta = fx
        .call(
            "PUT",
            &format!("{path}/GITHUB_TOKEN"),
            Some(admin),
            Some(json!({"value": "ghp_x"})),
        )
        .await
        .ok(200);
    assert_eq!(meta["name"], "GITHUB_TOKEN");
    let created_at = meta["created_at"].as_i64().unwrap();
    assert_eq!(meta["updated_at"].as_i64().unwrap(), created_at);
    assert_eq!(meta.as_object().unwrap().len(), 3);
    let sealed = fx
        .store
        .sealed_secret(&fx.b.id, "GITHUB_TOKEN")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fx.vault
            .open(&fx.b.id, "GITHUB_TOKEN", &sealed)
            .unwrap()
            .expose(),
        b"ghp_x"
    );

    let replaced = fx
        .call(
            "PUT",
            &format!("{path}/GITHUB_TOKEN"),
            Some(admin),
            Some(json!({"value": "ghp_y"})),
        )
        .await
        .ok(200);
    assert_eq!(replaced["created_at"].as_i64().unwrap(), created_at);
    let sealed = fx
        .store
        .sealed_secret(&fx.b.id, "GITHUB_TOKEN")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fx.vault
            .open(&fx.b.id, "GITHUB_TOKEN", &sealed)
            .unwrap()
            .expose(),
        b"ghp_y"
    );

    fx.call(
        "PUT",
        &format!("{path}/a.b-c_d"),
        Some(admin),
        Some(json!({"value": "v"})),
    )
    .await
    .ok(200);
    let list = fx.get(&path, admin).await.ok(200);
    assert_eq!(ids(&list, "name"), ["GITHUB_TOKEN", "a.b-c_d"]);
    let page = fx
        .get(&format!("{path}?limit=1"), &fx.b_member.token)
        .await
        .ok(200);
    assert_eq!(ids(&page, "name"), ["GITHUB_TOKEN"]);
    assert_eq!(page["next_after"], "GITHUB_TOKEN");

    let deleted = fx
        .call("DELETE", &format!("{path}/GITHUB_TOKEN"), Some(admin), None)
        .await;
    assert_eq!(deleted.status, 204);
    fx.call("DELETE", &format!("{path}/GITHUB_TOKEN"), Some(admin), None)
        .await
        .problem(404);
    assert!(
        fx.store
            .sealed_secret(&fx.b.id, "GITHUB_TOKEN")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn merges_into_a_server_router_with_its_own_fallback() {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use std::sync::Arc;
    use tower::ServiceExt;

    let fx = Fixture::new().await;
    let admin = toolport_admin::router(toolport_admin::AdminState::new(
        Arc::clone(&fx.store),
        Arc::clone(&fx.vault),
        Arc::clone(&fx.auth),
        Arc::clone(&fx.meter),
    ));
    let server = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async { (StatusCode::IM_A_TEAPOT, "server fallback") })
        .merge(admin);
    let call = |path: &str, token: Option<&str>| {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        server.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    assert_eq!(call("/healthz", None).await.unwrap().status(), 200);
    assert_eq!(call("/elsewhere", None).await.unwrap().status(), 418);
    assert_eq!(call("/api/v1/nope", None).await.unwrap().status(), 404);
    assert_eq!(
        call("/api/v1/me", Some(&fx.operator.token))
            .await
            .unwrap()
            .status(),
        200
    );
}
