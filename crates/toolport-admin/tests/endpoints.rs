//! Virtual endpoints through the admin API: create, list (paginated), read, change and delete,
//! tool selections (whole and one by one), the validation of slugs and selections against the
//! gateway's catalog, 409 clashes with the configuration and other endpoints, who may do what,
//! and another tenant's endpoint answering exactly like a missing one.

mod common;

use std::sync::atomic::Ordering;

use common::Fixture;
use serde_json::{Value, json};

const A: &str = "/api/v1/tenants/acme/endpoints";
const B: &str = "/api/v1/tenants/bravo/endpoints";

fn changes(fx: &Fixture) -> usize {
    fx.catalog.changes.load(Ordering::SeqCst)
}

async fn create(fx: &Fixture, path: &str, token: &str, body: Value) -> common::Reply {
    fx.call("POST", path, Some(token), Some(body)).await
}

#[tokio::test]
async fn endpoints_are_created_read_changed_and_deleted() {
    let fx = Fixture::new().await;
    let op = fx.operator.token.as_str();
    let created = create(
        &fx,
        A,
        op,
        json!({
            "slug": "dev-tools",
            "description": "What developers need",
            "tools": [
                {"upstream": "files", "tool": "read_file", "name": "read",
                 "description": "Reads a file of the project."},
                {"upstream": "files", "tool": "write_file"}
            ]
        }),
    )
    .await
    .ok(201);
    assert_eq!(created["slug"], "dev-tools");
    assert_eq!(created["tenant_id"], fx.a.id.as_str());
    assert_eq!(created["mode"], "tools");
    assert_eq!(
        created["tools"],
        json!([
            {"name": "read", "upstream": "files", "tool": "read_file",
             "description": "Reads a file of the project.", "visible": true},
            {"name": "write_file", "upstream": "files", "tool": "write_file",
             "description": null, "visible": true}
        ])
    );
    assert_eq!(changes(&fx), 1, "the gateway was told");
    let one = format!("{A}/dev-tools");
    assert_eq!(fx.get(&one, op).await.ok(200), created);

    let patched = fx
        .call(
            "PATCH",
            &one,
            Some(op),
            Some(json!({"description": "Renamed"})),
        )
        .await
        .ok(200);
    assert_eq!(patched["description"], "Renamed");
    assert_eq!(patched["tools"], created["tools"], "tools stay");

    let put = fx
        .call(
            "PUT",
            &format!("{one}/tools/read"),
            Some(op),
            Some(json!({"upstream": "files", "tool": "read_file", "visible": false})),
        )
        .await
        .ok(200);
    assert_eq!(put["tools"][0]["visible"], false);
    assert_eq!(
        put["tools"][0]["description"],
        Value::Null,
        "replaced whole"
    );

    let removed = fx
        .call("DELETE", &format!("{one}/tools/write_file"), Some(op), None)
        .await
        .ok(200);
    assert_eq!(removed["tools"].as_array().unwrap().len(), 1);
    fx.call("DELETE", &format!("{one}/tools/write_file"), Some(op), None)
        .await
        .problem(404);

    let replaced = fx
        .call(
            "PUT",
            &format!("{one}/tools"),
            Some(op),
            Some(json!({"tools": [{"upstream": "acme-only", "tool": "ping", "name": "health"}]})),
        )
        .await
        .ok(200);
    assert_eq!(replaced["tools"][0]["name"], "health");
    assert_eq!(changes(&fx), 5);

    let deleted = fx.call("DELETE", &one, Some(op), None).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.bytes.is_empty());
    fx.get(&one, op).await.problem(404);
    assert_eq!(changes(&fx), 6);
}

#[tokio::test]
async fn lists_are_paginated_by_slug() {
    let fx = Fixture::new().await;
    let op = fx.operator.token.as_str();
    for slug in ["c", "a", "b"] {
        create(&fx, A, op, json!({"slug": slug})).await.ok(201);
    }
    create(&fx, B, op, json!({"slug": "other"})).await.ok(201);
    let first = fx.get(&format!("{A}?limit=2"), op).await.ok(200);
    let slugs: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["a", "b"]);
    let next = first["next_after"].as_str().unwrap();
    let rest = fx
        .get(&format!("{A}?limit=2&after={next}"), op)
        .await
        .ok(200);
    assert_eq!(rest["items"][0]["slug"], "c");
    assert_eq!(rest["next_after"], Value::Null);
    fx.get(&format!("{A}?limit=0"), op).await.problem(400);
}

#[tokio::test]
async fn bad_slugs_modes_and_selections_are_refused_naming_the_problem() {
    let fx = Fixture::new().await;
    let admin = fx.b_admin.token.as_str();
    // Values the document already rules out: 422.
    let malformed = [
        (json!({"slug": "Dev"}), "pattern ^[a-z0-9][a-z0-9_-]{0,62}$"),
        (json!({"slug": "-dev"}), "`slug`"),
        (json!({"slug": "x", "mode": "fast"}), "unknown variant"),
        (
            json!({"slug": "x", "tools": [{"upstream": "files", "tool": "read_file", "name": "a.b"}]}),
            "`tools[0].name`",
        ),
        (
            json!({"slug": "x", "description": "d".repeat(1025)}),
            "at most 1024",
        ),
        (json!({"slug": "x", "owner": "me"}), "unknown field"),
    ];
    // Selections the gateway's current backends do not allow: 409.
    let conflicting = [
        (
            json!({"slug": "x", "tools": [{"upstream": "nowhere", "tool": "t"}]}),
            "no backend named \"nowhere\" is available to this tenant",
        ),
        (
            json!({"slug": "x", "tools": [{"upstream": "acme-only", "tool": "ping"}]}),
            "no backend named \"acme-only\" is available to this tenant",
        ),
        (
            json!({"slug": "x", "tools": [{"upstream": "files", "tool": "delete_all"}]}),
            "has no tool \"delete_all\"; its tools: read_file, write_file",
        ),
        (
            json!({"slug": "x", "tools": [
                {"upstream": "files", "tool": "read_file", "name": "same"},
                {"upstream": "files", "tool": "write_file", "name": "same"}
            ]}),
            "`tools[1]` and `tools[0]` are both named \"same\"",
        ),
    ];
    for (status, cases) in [(422, &malformed[..]), (409, &conflicting[..])] {
        for (body, expected) in cases {
            let problem = create(&fx, B, admin, body.clone()).await.problem(status);
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.contains(expected), "{body}: {detail}");
        }
    }
    assert_eq!(changes(&fx), 0, "nothing was created");
    // A backend that is not up yet cannot be checked: the selection is accepted.
    let accepted = create(
        &fx,
        B,
        admin,
        json!({"slug": "early", "tools": [{"upstream": "starting", "tool": "anything"}]}),
    )
    .await
    .ok(201);
    assert_eq!(accepted["tools"][0]["tool"], "anything");
    let problem = fx
        .call(
            "PUT",
            &format!("{B}/early/tools/bad.name"),
            Some(admin),
            Some(json!({"upstream": "files", "tool": "read_file"})),
        )
        .await
        .problem(422);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("name (in the path)")
    );
    let patched = fx
        .call(
            "PATCH",
            &format!("{B}/early"),
            Some(admin),
            Some(json!({"mode": "search"})),
        )
        .await
        .ok(200);
    assert_eq!(patched["mode"], "search");
}

#[tokio::test]
async fn slugs_clashing_with_the_configuration_or_another_endpoint_are_409() {
    let fx = Fixture::new().await;
    let problem = create(&fx, B, &fx.b_admin.token, json!({"slug": "github"}))
        .await
        .problem(409);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("slug `github` cannot be used") && detail.contains("configuration file"),
        "{detail}"
    );
    create(&fx, A, &fx.operator.token, json!({"slug": "shared"}))
        .await
        .ok(201);
    let problem = create(&fx, B, &fx.b_admin.token, json!({"slug": "shared"}))
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("an endpoint with slug `shared` exists")
    );
}

#[tokio::test]
async fn members_read_and_owners_or_admins_write() {
    let fx = Fixture::new().await;
    create(&fx, B, &fx.b_admin.token, json!({"slug": "team"}))
        .await
        .ok(201);
    let member = fx.b_member.token.as_str();
    fx.get(B, member).await.ok(200);
    fx.get(&format!("{B}/team"), member).await.ok(200);
    let writes = [
        ("POST", B.to_owned(), Some(json!({"slug": "mine"}))),
        (
            "PATCH",
            format!("{B}/team"),
            Some(json!({"description": "x"})),
        ),
        ("DELETE", format!("{B}/team"), None),
        ("PUT", format!("{B}/team/tools"), Some(json!({"tools": []}))),
        (
            "PUT",
            format!("{B}/team/tools/t"),
            Some(json!({"upstream": "files", "tool": "read_file"})),
        ),
        ("DELETE", format!("{B}/team/tools/t"), None),
    ];
    for (method, path, body) in &writes {
        let problem = fx
            .call(method, path, Some(member), body.clone())
            .await
            .problem(403);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("owner or admin"),
            "{method} {path}"
        );
    }
    // Without the `admin` scope, not even reading.
    fx.get(B, &fx.b_mcp.token).await.problem(403);
}

#[tokio::test]
async fn another_tenants_endpoint_is_missing_in_ones_own_tenant() {
    let fx = Fixture::new().await;
    create(
        &fx,
        A,
        &fx.operator.token,
        json!({"slug": "secret-tools", "tools": [{"upstream": "files", "tool": "read_file"}]}),
    )
    .await
    .ok(201);
    let before = fx
        .get(&format!("{A}/secret-tools"), &fx.operator.token)
        .await;
    let admin = Some(fx.b_admin.token.as_str());
    let requests = |slug: &str| {
        [
            ("GET", format!("{B}/{slug}"), None),
            (
                "PATCH",
                format!("{B}/{slug}"),
                Some(json!({"description": "mine now"})),
            ),
            ("DELETE", format!("{B}/{slug}"), None),
            (
                "PUT",
                format!("{B}/{slug}/tools"),
                Some(json!({"tools": []})),
            ),
            (
                "PUT",
                format!("{B}/{slug}/tools/read_file"),
                Some(json!({"upstream": "files", "tool": "read_file"})),
            ),
            ("DELETE", format!("{B}/{slug}/tools/read_file"), None),
        ]
    };
    for ((method, real, body), (_, ghost, _)) in requests("secret-tools")
        .into_iter()
        .zip(requests("no-such-endpoint"))
    {
        let real_reply = fx.call(method, &real, admin, body.clone()).await;
        let ghost_reply = fx.call(method, &ghost, admin, body).await;
        real_reply.problem(404);
        assert_eq!(real_reply.bytes, ghost_reply.bytes, "{method} {real}");
    }
    let listed = fx.get(B, &fx.b_admin.token).await.ok(200);
    assert_eq!(listed["items"], json!([]));
    let after = fx
        .get(&format!("{A}/secret-tools"), &fx.operator.token)
        .await;
    assert_eq!(after.bytes, before.bytes, "tenant A's endpoint changed");
}
