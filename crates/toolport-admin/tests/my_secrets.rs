//! `/api/v1/me/secrets`: each user manages their own secrets in their token's tenant, any role;
//! values are write-only; another user's or tenant's secrets are never visible or changeable.

mod common;

use common::Fixture;
use serde_json::json;
use toolport_store::{Store, user_secret_vault_name};

const VALUE: &str = "ghp_my-own-value-3c9d-never-returned";

#[tokio::test]
async fn a_user_manages_only_their_own_secrets() {
    let fx = Fixture::new().await;
    let member = fx.b_member.token.as_str();
    let admin = fx.b_admin.token.as_str();
    let path = "/api/v1/me/secrets/GH_TOKEN";

    // Any role writes their own; the answer is metadata only.
    let put = fx
        .call("PUT", path, Some(member), Some(json!({"value": VALUE})))
        .await;
    let body = put.ok(200);
    assert_eq!(body["name"], "GH_TOKEN");
    assert!(!put.text().contains(VALUE));
    fx.call("PUT", path, Some(admin), Some(json!({"value": "admin's"})))
        .await
        .ok(200);

    // Lists show the caller's own names only.
    let mine = fx.get("/api/v1/me/secrets", member).await.ok(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["name"], "GH_TOKEN");
    assert!(!mine.to_string().contains(VALUE));
    // A user of another tenant sees none of them.
    let other = fx
        .get("/api/v1/me/secrets", &fx.operator.token)
        .await
        .ok(200);
    assert_eq!(other["items"], json!([]));
    // Nor are they tenant secrets.
    let tenant = fx.get("/api/v1/tenants/bravo/secrets", admin).await.ok(200);
    assert_eq!(tenant["items"], json!([]));

    // Stored sealed for that user: it opens only under the member's own name.
    let sealed = fx
        .store
        .sealed_user_secret(&fx.b.id, &fx.b_member.user.id, "GH_TOKEN")
        .await
        .unwrap()
        .unwrap();
    let own = user_secret_vault_name(&fx.b_member.user.id, "GH_TOKEN");
    assert_eq!(
        fx.vault.open(&fx.b.id, &own, &sealed).unwrap().expose(),
        VALUE.as_bytes()
    );
    let admins = user_secret_vault_name(&fx.b_admin.user.id, "GH_TOKEN");
    assert!(fx.vault.open(&fx.b.id, &admins, &sealed).is_err());

    // Deleting is the caller's own too: the admin's delete leaves the member's value.
    fx.call("DELETE", path, Some(admin), None).await;
    assert!(
        fx.store
            .sealed_user_secret(&fx.b.id, &fx.b_member.user.id, "GH_TOKEN")
            .await
            .unwrap()
            .is_some()
    );
    let gone = fx.call("DELETE", path, Some(admin), None).await;
    gone.problem(404);
    assert_eq!(
        fx.call("DELETE", path, Some(member), None).await.status,
        204
    );
    fx.call("DELETE", path, Some(member), None)
        .await
        .problem(404);
}

#[tokio::test]
async fn bad_requests_are_precise_problems() {
    let fx = Fixture::new().await;
    let member = Some(fx.b_member.token.as_str());
    fx.call(
        "PUT",
        "/api/v1/me/secrets/GH_TOKEN",
        None,
        Some(json!({"value": VALUE})),
    )
    .await
    .problem(401);
    let bad_name = fx
        .call(
            "PUT",
            "/api/v1/me/secrets/bad%20name",
            member,
            Some(json!({"value": VALUE})),
        )
        .await;
    let problem = bad_name.problem(422);
    assert!(problem["detail"].as_str().unwrap().contains("secret name"));
    let empty = fx
        .call(
            "PUT",
            "/api/v1/me/secrets/GH_TOKEN",
            member,
            Some(json!({"value": ""})),
        )
        .await;
    assert!(
        empty.problem(422)["detail"]
            .as_str()
            .unwrap()
            .contains("`value`")
    );
    let unknown = fx
        .call(
            "PUT",
            "/api/v1/me/secrets/GH_TOKEN",
            member,
            Some(json!({"value": VALUE, "extra": VALUE})),
        )
        .await;
    assert!(unknown.status.is_client_error());
    assert!(
        !unknown.text().contains(VALUE),
        "a bad body is never echoed"
    );
}
