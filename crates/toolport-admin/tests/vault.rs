//! `POST /api/v1/vault/rotate`: operators only; every tenant's secrets and the key check end up
//! sealed with the new key, still open to their values, and the old key is gone.

mod common;

use common::Fixture;
use serde_json::json;
use toolport_store::{PageRequest, Store};

#[tokio::test]
async fn rotation_reseals_every_tenants_secrets_under_the_new_key() {
    let fx = Fixture::new().await;
    let writes = [
        ("acme", "A_ONE", "value-a-1", &fx.operator.token),
        ("acme", "A_TWO", "value-a-2", &fx.operator.token),
        ("bravo", "B_ONE", "value-b-1", &fx.b_admin.token),
    ];
    for (tenant, name, value, token) in writes {
        fx.call(
            "PUT",
            &format!("/api/v1/tenants/{tenant}/secrets/{name}"),
            Some(token),
            Some(json!({"value": value})),
        )
        .await
        .ok(200);
    }
    let old = fx.vault.active_key_id();

    let refused = fx
        .call(
            "POST",
            "/api/v1/vault/rotate",
            Some(&fx.b_admin.token),
            None,
        )
        .await;
    assert!(
        refused.problem(403)["detail"]
            .as_str()
            .unwrap()
            .contains("operator")
    );
    assert_eq!(fx.vault.active_key_id(), old, "nothing rotated");

    let report = fx
        .call(
            "POST",
            "/api/v1/vault/rotate",
            Some(&fx.operator.token),
            None,
        )
        .await
        .ok(200);
    let new = fx.vault.active_key_id();
    assert_ne!(new, old);
    assert_eq!(report["key_id"], new.to_string());
    assert_eq!(report["retired_key_ids"], json!([old.to_string()]));
    assert_eq!(report["resealed_secrets"], 3);
    assert_eq!(fx.vault.key_ids(), vec![new], "the old key is retired");

    let stored = fx
        .store
        .list_sealed_secrets(&PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(stored.len(), 3);
    for secret in &stored {
        assert_eq!(secret.sealed.key_id(), new, "{}", secret.name);
        let (_, _, value, _) = writes.iter().find(|w| w.1 == secret.name).unwrap();
        let tenant = if secret.name.starts_with('A') {
            &fx.a.id
        } else {
            &fx.b.id
        };
        assert_eq!(
            fx.vault
                .open(tenant, &secret.name, &secret.sealed)
                .unwrap()
                .expose(),
            value.as_bytes()
        );
    }
    let check = fx.store.vault_key_check().await.unwrap();
    let check = check.expect("the rotation stores a key check");
    assert_eq!(check.key_id(), new);
    fx.vault.verify(&check).unwrap();
    let again = fx
        .call(
            "POST",
            "/api/v1/vault/rotate",
            Some(&fx.operator.token),
            None,
        )
        .await
        .ok(200);
    assert_eq!(
        again["resealed_secrets"], 3,
        "a second rotation re-seals them again"
    );
}
