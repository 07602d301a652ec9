//! Users' own secrets in the SQLite store, sealed by a real vault: kept only sealed, bound to their
//! tenant and user (a ciphertext copied to another user's row does not open), isolated per user
//! and tenant, removed with the membership, and re-sealed by a master key rotation pass.

use toolport_store::{
    PageRequest, Role, SqliteStore, Store, StoreError, Tenant, User, user_secret_vault_name,
};
use toolport_testkit::files::{contains, stored_files};
use toolport_vault::{MasterKey, Vault};

async fn member(store: &SqliteStore, tenant: &Tenant, email: &str) -> User {
    let user = store.create_user(email, email).await.unwrap();
    store
        .add_member(&tenant.id, &user.id, Role::Member)
        .await
        .unwrap();
    user
}

fn seal(
    vault: &Vault,
    tenant: &Tenant,
    user: &User,
    name: &str,
    value: &str,
) -> toolport_vault::Sealed {
    vault
        .seal(
            &tenant.id,
            &user_secret_vault_name(&user.id, name),
            value.as_bytes(),
        )
        .unwrap()
}

#[tokio::test]
async fn user_secrets_are_sealed_per_user_and_never_on_disk_in_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::new(MasterKey::generate());
    let store = SqliteStore::open(tmp.path()).await.unwrap();
    let tenant = store.create_tenant("acme", "free").await.unwrap();
    let alice = member(&store, &tenant, "alice@example.com").await;
    let bob = member(&store, &tenant, "bob@example.com").await;

    let alice_value = "ghp_alice-plaintext-never-on-disk";
    let meta = store
        .put_user_secret(
            &tenant.id,
            &alice.id,
            "GH_TOKEN",
            &seal(&vault, &tenant, &alice, "GH_TOKEN", alice_value),
        )
        .await
        .unwrap();
    assert_eq!(
        (meta.tenant_id.as_str(), meta.name.as_str()),
        (tenant.id.as_str(), "GH_TOKEN")
    );
    store
        .put_user_secret(
            &tenant.id,
            &bob.id,
            "GH_TOKEN",
            &seal(&vault, &tenant, &bob, "GH_TOKEN", "ghp_bob-plaintext"),
        )
        .await
        .unwrap();

    // Each user reads back their own value.
    let alices = store
        .sealed_user_secret(&tenant.id, &alice.id, "GH_TOKEN")
        .await
        .unwrap()
        .unwrap();
    let name = user_secret_vault_name(&alice.id, "GH_TOKEN");
    assert_eq!(
        vault.open(&tenant.id, &name, &alices).unwrap().expose(),
        alice_value.as_bytes()
    );

    // Alice's ciphertext copied into Bob's row does not open as Bob's secret.
    store
        .put_user_secret(&tenant.id, &bob.id, "STOLEN", &alices)
        .await
        .unwrap();
    let copied = store
        .sealed_user_secret(&tenant.id, &bob.id, "STOLEN")
        .await
        .unwrap()
        .unwrap();
    assert!(
        vault
            .open(
                &tenant.id,
                &user_secret_vault_name(&bob.id, "STOLEN"),
                &copied
            )
            .is_err()
    );
    assert!(
        vault
            .open(
                &tenant.id,
                &user_secret_vault_name(&bob.id, "GH_TOKEN"),
                &copied
            )
            .is_err()
    );
    // Nor as a tenant secret of the same name.
    assert!(vault.open(&tenant.id, "GH_TOKEN", &copied).is_err());

    // Lists show one user's names only, paginated by name.
    let page = store
        .list_user_secrets(&tenant.id, &bob.id, &PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].name, "GH_TOKEN");
    let next = store
        .list_user_secrets(
            &tenant.id,
            &bob.id,
            &PageRequest::after(1, page.next_after.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(next.items[0].name, "STOLEN");
    assert_eq!(next.next_after, None);
    let alices_list = store
        .list_user_secrets(&tenant.id, &alice.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(alices_list.items.len(), 1);
    // User secrets are not tenant secrets.
    assert!(
        store
            .list_secrets(&tenant.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    store
        .delete_user_secret(&tenant.id, &bob.id, "STOLEN")
        .await
        .unwrap();
    assert!(matches!(
        store
            .delete_user_secret(&tenant.id, &bob.id, "STOLEN")
            .await,
        Err(StoreError::NotFound("secret"))
    ));
    store.close().await;

    let bytes: Vec<u8> = stored_files(tmp.path())
        .into_iter()
        .flat_map(|(_, b)| b)
        .collect();
    assert!(!contains(&bytes, alice_value.as_bytes()));
    assert!(!contains(&bytes, b"ghp_bob-plaintext"));
    assert!(contains(&bytes, b"tpv1:"));
}

#[tokio::test]
async fn user_secrets_belong_to_a_membership() {
    let vault = Vault::new(MasterKey::generate());
    let store = SqliteStore::open_in_memory().await.unwrap();
    let acme = store.create_tenant("acme", "free").await.unwrap();
    let other = store.create_tenant("other", "free").await.unwrap();
    let alice = member(&store, &acme, "alice@example.com").await;
    let sealed = seal(&vault, &acme, &alice, "TOKEN", "v");

    // Not a member of `other`: nothing can be written there, and nothing is visible.
    assert!(matches!(
        store
            .put_user_secret(&other.id, &alice.id, "TOKEN", &sealed)
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .put_user_secret(&acme.id, &alice.id, "TOKEN", &sealed)
        .await
        .unwrap();
    assert!(
        store
            .sealed_user_secret(&other.id, &alice.id, "TOKEN")
            .await
            .unwrap()
            .is_none()
    );

    // Leaving the tenant removes the user's secrets there.
    store.remove_member(&acme.id, &alice.id).await.unwrap();
    assert!(
        store
            .sealed_user_secret(&acme.id, &alice.id, "TOKEN")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_rotation_pass_reseals_user_secrets_too() {
    let vault = Vault::new(MasterKey::generate());
    let store = SqliteStore::open_in_memory().await.unwrap();
    let tenant = store.create_tenant("acme", "free").await.unwrap();
    let alice = member(&store, &tenant, "alice@example.com").await;
    store
        .put_secret(
            &tenant.id,
            "shared",
            &vault.seal(&tenant.id, "shared", b"tenant value").unwrap(),
        )
        .await
        .unwrap();
    store
        .put_user_secret(
            &tenant.id,
            &alice.id,
            "TOKEN",
            &seal(&vault, &tenant, &alice, "TOKEN", "alice value"),
        )
        .await
        .unwrap();
    let old_key = vault.rotate(MasterKey::generate()).unwrap();

    let mut page = PageRequest::first(1);
    let mut names = Vec::new();
    loop {
        let got = store.list_sealed_secrets(&page).await.unwrap();
        for row in &got.items {
            names.push(row.name.clone());
            let new = vault
                .reseal(&row.tenant_id, &row.name, &row.sealed)
                .unwrap();
            assert!(
                store
                    .reseal_secret(&row.tenant_id, &row.name, &row.sealed, &new)
                    .await
                    .unwrap()
            );
        }
        match got.next_after {
            Some(cursor) => page = PageRequest::after(1, cursor),
            None => break,
        }
    }
    assert_eq!(
        names,
        [
            "shared".to_string(),
            user_secret_vault_name(&alice.id, "TOKEN")
        ]
    );
    vault.retire(old_key).unwrap();

    let sealed = store
        .sealed_user_secret(&tenant.id, &alice.id, "TOKEN")
        .await
        .unwrap()
        .unwrap();
    let name = user_secret_vault_name(&alice.id, "TOKEN");
    assert_eq!(
        vault.open(&tenant.id, &name, &sealed).unwrap().expose(),
        b"alice value"
    );
}
