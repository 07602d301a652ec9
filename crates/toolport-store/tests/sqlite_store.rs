//! The SQLite store against real database files in a temporary directory: migrations, persistence,
//! tokens kept only as hashes, secrets kept only sealed, conflicts, tenant isolation, pagination.

use std::path::Path;

use toolport_store::model::now;
use toolport_store::{
    NewToken, PageRequest, Role, SqliteStore, Store, StoreError, TOKEN_PREFIX, Tenant, User,
};
use toolport_testkit::files::{contains, stored_files};
use toolport_vault::{MasterKey, Vault};

async fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir).await.expect("open store")
}

/// Every byte the store wrote: the database file and, if present, its WAL and shared memory.
fn all_bytes(dir: &Path) -> Vec<u8> {
    stored_files(dir)
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect()
}

async fn tenant_with_user(store: &SqliteStore, tenant: &str) -> (Tenant, User) {
    let t = store.create_tenant(tenant, "free").await.unwrap();
    let u = store
        .create_user(&format!("{tenant}@example.com"), tenant)
        .await
        .unwrap();
    store.add_member(&t.id, &u.id, Role::Owner).await.unwrap();
    (t, u)
}

fn new_token(tenant: &Tenant, user: &User, expires_at: Option<i64>) -> NewToken {
    NewToken {
        tenant_id: tenant.id.clone(),
        user_id: user.id.clone(),
        name: "laptop".into(),
        scopes: vec!["admin".into(), "mcp".into()],
        expires_at,
    }
}

#[tokio::test]
async fn migrations_apply_once_and_reopen_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let store = open(&dir).await;
    assert!(dir.join("toolport.db").is_file());
    assert_eq!(store.path(), Some(dir.join("toolport.db").as_path()));
    assert_eq!(store.applied_on_open(), &[1, 2, 3, 4, 5, 6]);
    assert_eq!(store.schema_version().await.unwrap(), 6);
    store.close().await;

    for _ in 0..2 {
        let again = open(&dir).await;
        assert!(again.applied_on_open().is_empty());
        assert_eq!(again.schema_version().await.unwrap(), 6);
        again.close().await;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[tokio::test]
async fn edited_or_newer_schema_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    open(tmp.path()).await.close().await;
    let db = tmp.path().join("toolport.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();

    sqlx::query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        .execute(&pool)
        .await
        .unwrap();
    let err = SqliteStore::open(tmp.path()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Migration(m) if m.contains("differs")),
        "{err}"
    );

    sqlx::query(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, 'x', 'x', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let err = SqliteStore::open(tmp.path()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Migration(m) if m.contains("newer")),
        "{err}"
    );
    pool.close().await;
}

#[tokio::test]
async fn data_persists_across_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::new(MasterKey::generate());
    let store = open(tmp.path()).await;
    let (tenant, user) = tenant_with_user(&store, "acme").await;
    let created = store
        .create_token(&new_token(&tenant, &user, None))
        .await
        .unwrap();
    let sealed = vault.seal(&tenant.id, "github", b"ghp_persisted").unwrap();
    store
        .put_secret(&tenant.id, "github", &sealed)
        .await
        .unwrap();
    let check = vault.key_check().unwrap();
    store.set_vault_key_check(&check).await.unwrap();
    store.close().await;

    let store = open(tmp.path()).await;
    assert_eq!(store.tenant(&tenant.id).await.unwrap(), tenant);
    assert_eq!(store.tenant_by_name("acme").await.unwrap(), tenant);
    assert_eq!(store.user_by_email("acme@example.com").await.unwrap(), user);
    let members = store.memberships_of_user(&user.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, Role::Owner);
    let record = store.authenticate_token(&created.token).await.unwrap();
    assert_eq!(record.unwrap().id, created.record.id);
    let back = store
        .sealed_secret(&tenant.id, "github")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        vault.open(&tenant.id, "github", &back).unwrap().expose(),
        b"ghp_persisted"
    );
    vault
        .verify(&store.vault_key_check().await.unwrap().unwrap())
        .unwrap();
    store.close().await;
}

#[tokio::test]
async fn token_text_is_never_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let (tenant, user) = tenant_with_user(&store, "acme").await;
    let created = store
        .create_token(&new_token(&tenant, &user, None))
        .await
        .unwrap();
    assert!(created.token.starts_with(TOKEN_PREFIX));
    assert_eq!(created.token.len(), TOKEN_PREFIX.len() + 32);
    assert!(!format!("{created:?}").contains(&created.token));
    assert!(
        store
            .authenticate_token(&created.token)
            .await
            .unwrap()
            .is_some()
    );
    store.close().await;

    let bytes = all_bytes(tmp.path());
    assert!(!contains(&bytes, created.token.as_bytes()));
    // Not even the random part alone.
    assert!(!contains(
        &bytes,
        &created.token.as_bytes()[TOKEN_PREFIX.len()..]
    ));
    // The scan does see what is there: the token's record is in the file.
    assert!(contains(&bytes, created.record.id.as_bytes()));
}

#[tokio::test]
async fn authentication_rejects_unknown_revoked_and_expired_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let (tenant, user) = tenant_with_user(&store, "acme").await;

    let live = store
        .create_token(&new_token(&tenant, &user, Some(now() + 3600)))
        .await
        .unwrap();
    assert_eq!(live.record.last_used_at, None);
    let before = now();
    let record = store
        .authenticate_token(&live.token)
        .await
        .unwrap()
        .expect("live token authenticates");
    assert_eq!(record.tenant_id, tenant.id);
    assert_eq!(record.user_id, user.id);
    assert_eq!(record.scopes, vec!["admin".to_owned(), "mcp".to_owned()]);
    let used = record.last_used_at.expect("use recorded");
    assert!(used >= before);
    let stored = store.token(&tenant.id, &live.record.id).await.unwrap();
    assert_eq!(stored.last_used_at, Some(used));

    assert!(
        store
            .authenticate_token("tp_unknown")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.authenticate_token("").await.unwrap().is_none());
    let without_prefix = &live.token[TOKEN_PREFIX.len()..];
    assert!(
        store
            .authenticate_token(without_prefix)
            .await
            .unwrap()
            .is_none()
    );

    let expired = store
        .create_token(&new_token(&tenant, &user, Some(now() - 10)))
        .await
        .unwrap();
    assert!(
        store
            .authenticate_token(&expired.token)
            .await
            .unwrap()
            .is_none()
    );
    let stored = store.token(&tenant.id, &expired.record.id).await.unwrap();
    assert_eq!(
        stored.last_used_at, None,
        "a refused token is not marked used"
    );

    let revoked = store
        .revoke_token(&tenant.id, &live.record.id)
        .await
        .unwrap();
    let revoked_at = revoked.revoked_at.expect("revoked");
    assert!(
        store
            .authenticate_token(&live.token)
            .await
            .unwrap()
            .is_none()
    );
    let again = store
        .revoke_token(&tenant.id, &live.record.id)
        .await
        .unwrap();
    assert_eq!(again.revoked_at, Some(revoked_at));
    assert!(matches!(
        store.revoke_token(&tenant.id, "no-such-token").await,
        Err(StoreError::NotFound("token"))
    ));
}

#[tokio::test]
async fn imported_tokens_are_validated_and_work() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let (tenant, user) = tenant_with_user(&store, "acme").await;
    let spec = new_token(&tenant, &user, None);
    assert!(matches!(
        store.import_token(&spec, "hunter2").await,
        Err(StoreError::Invalid(m)) if !m.contains("hunter2")
    ));
    let text = "tp_automation-admin-token-0123456789";
    let record = store.import_token(&spec, text).await.unwrap();
    let authed = store.authenticate_token(text).await.unwrap().unwrap();
    assert_eq!(authed.id, record.id);
    assert!(matches!(
        store.import_token(&spec, text).await,
        Err(StoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn secrets_are_stored_sealed_and_listed_as_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::new(MasterKey::generate());
    let store = open(tmp.path()).await;
    let (tenant, _) = tenant_with_user(&store, "acme").await;
    let plaintext = "ghp_plaintext-that-must-never-be-on-disk";
    let sealed = vault
        .seal(&tenant.id, "github", plaintext.as_bytes())
        .unwrap();
    let meta = store
        .put_secret(&tenant.id, "github", &sealed)
        .await
        .unwrap();
    assert_eq!(meta.name, "github");
    assert_eq!(meta.tenant_id, tenant.id);

    let replacement = vault
        .seal(&tenant.id, "github", b"ghp_second-value")
        .unwrap();
    let replaced = store
        .put_secret(&tenant.id, "github", &replacement)
        .await
        .unwrap();
    assert_eq!(replaced.created_at, meta.created_at);
    assert!(replaced.updated_at >= meta.updated_at);
    let back = store
        .sealed_secret(&tenant.id, "github")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, replacement);
    assert_eq!(
        vault.open(&tenant.id, "github", &back).unwrap().expose(),
        b"ghp_second-value"
    );

    let page = store
        .list_secrets(&tenant.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items, vec![replaced]);
    assert_eq!(page.next_after, None);

    store.delete_secret(&tenant.id, "github").await.unwrap();
    assert!(
        store
            .sealed_secret(&tenant.id, "github")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.delete_secret(&tenant.id, "github").await,
        Err(StoreError::NotFound("secret"))
    ));
    assert!(matches!(
        store.put_secret("no-such-tenant", "x", &sealed).await,
        Err(StoreError::NotFound("tenant"))
    ));

    store
        .put_secret(
            &tenant.id,
            "kept",
            &vault
                .seal(&tenant.id, "kept", plaintext.as_bytes())
                .unwrap(),
        )
        .await
        .unwrap();
    store.close().await;
    let bytes = all_bytes(tmp.path());
    assert!(!contains(&bytes, plaintext.as_bytes()));
    assert!(!contains(&bytes, b"ghp_second-value"));
    assert!(
        contains(&bytes, b"tpv1:"),
        "the sealed text is what is stored"
    );
}

#[tokio::test]
async fn unique_violations_are_conflicts() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let (tenant, user) = tenant_with_user(&store, "acme").await;
    let err = store.create_tenant("acme", "pro").await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("acme"));
    assert!(matches!(
        store.create_user("acme@example.com", "Other").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.add_member(&tenant.id, &user.id, Role::Member).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .add_member(&tenant.id, "no-such-user", Role::Member)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let mut spec = new_token(&tenant, &user, None);
    spec.tenant_id = "no-such-tenant".into();
    assert!(matches!(
        store.create_token(&spec).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn tenants_never_see_each_others_records() {
    let vault = Vault::new(MasterKey::generate());
    let store = SqliteStore::open_in_memory().await.unwrap();
    let (a, a_user) = tenant_with_user(&store, "a").await;
    let (b, b_user) = tenant_with_user(&store, "b").await;

    for (tenant, names) in [(&a, ["shared", "only-a"]), (&b, ["shared", "only-b"])] {
        for name in names {
            let sealed = vault.seal(&tenant.id, name, b"value").unwrap();
            store.put_secret(&tenant.id, name, &sealed).await.unwrap();
        }
    }
    let a_names: Vec<String> = store
        .list_secrets(&a.id, &PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .inspect(|s| assert_eq!(s.tenant_id, a.id))
        .map(|s| s.name)
        .collect();
    assert_eq!(a_names, ["only-a", "shared"]);
    assert!(
        store
            .sealed_secret(&b.id, "only-a")
            .await
            .unwrap()
            .is_none()
    );
    let b_shared = store.sealed_secret(&b.id, "shared").await.unwrap().unwrap();
    assert!(vault.open(&a.id, "shared", &b_shared).is_err());
    assert!(matches!(
        store.delete_secret(&b.id, "only-a").await,
        Err(StoreError::NotFound("secret"))
    ));
    assert!(
        store
            .sealed_secret(&a.id, "only-a")
            .await
            .unwrap()
            .is_some()
    );

    let a_token = store
        .create_token(&new_token(&a, &a_user, None))
        .await
        .unwrap();
    store
        .create_token(&new_token(&b, &b_user, None))
        .await
        .unwrap();
    assert!(matches!(
        store.token(&b.id, &a_token.record.id).await,
        Err(StoreError::NotFound("token"))
    ));
    assert!(matches!(
        store.revoke_token(&b.id, &a_token.record.id).await,
        Err(StoreError::NotFound("token"))
    ));
    assert!(
        store
            .authenticate_token(&a_token.token)
            .await
            .unwrap()
            .is_some()
    );
    let b_tokens = store
        .list_tokens(&b.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(b_tokens.items.len(), 1);
    assert!(b_tokens.items.iter().all(|t| t.tenant_id == b.id));

    let b_members = store
        .list_members(&b.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(b_members.items.len(), 1);
    assert_eq!(b_members.items[0].user_id, b_user.id);
}

#[tokio::test]
async fn lists_paginate_with_cursors() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    for name in ["e", "c", "a", "d", "b"] {
        store.create_tenant(name, "free").await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    let mut sizes = Vec::new();
    loop {
        let got = store.list_tenants(&page).await.unwrap();
        sizes.push(got.items.len());
        seen.extend(got.items.into_iter().map(|t| t.name));
        match got.next_after {
            Some(cursor) => page = PageRequest::after(2, cursor),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(sizes, [2, 2, 1]);

    let one = store.list_tenants(&PageRequest::first(0)).await.unwrap();
    assert_eq!(one.items.len(), 1, "a zero limit is served as one");
    let exact = store.list_tenants(&PageRequest::first(5)).await.unwrap();
    assert_eq!(exact.items.len(), 5);
    assert_eq!(exact.next_after, None);

    for email in ["z@x", "y@x", "x@x"] {
        store.create_user(email, "n").await.unwrap();
    }
    let users = store
        .list_users(&PageRequest::after(10, "x@x"))
        .await
        .unwrap();
    let emails: Vec<_> = users.items.into_iter().map(|u| u.email).collect();
    assert_eq!(emails, ["y@x", "z@x"]);
}

#[tokio::test]
async fn memberships_roles_and_cascading_deletes() {
    let vault = Vault::new(MasterKey::generate());
    let store = SqliteStore::open_in_memory().await.unwrap();
    let (tenant, owner) = tenant_with_user(&store, "acme").await;
    let other = store.create_tenant("other", "pro").await.unwrap();
    let member = store.create_user("m@example.com", "M").await.unwrap();
    store
        .add_member(&tenant.id, &member.id, Role::Member)
        .await
        .unwrap();
    store
        .add_member(&other.id, &member.id, Role::Admin)
        .await
        .unwrap();
    let changed = store
        .set_member_role(&tenant.id, &member.id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(changed.role, Role::Admin);
    assert_eq!(
        store.memberships_of_user(&member.id).await.unwrap().len(),
        2
    );
    store.remove_member(&other.id, &member.id).await.unwrap();
    assert!(matches!(
        store.remove_member(&other.id, &member.id).await,
        Err(StoreError::NotFound("membership"))
    ));
    assert!(matches!(
        store
            .set_member_role(&other.id, &member.id, Role::Owner)
            .await,
        Err(StoreError::NotFound("membership"))
    ));

    let token = store
        .create_token(&new_token(&tenant, &owner, None))
        .await
        .unwrap();
    let sealed = vault.seal(&tenant.id, "s", b"v").unwrap();
    store.put_secret(&tenant.id, "s", &sealed).await.unwrap();
    store.delete_tenant(&tenant.id).await.unwrap();
    assert!(matches!(
        store.tenant(&tenant.id).await,
        Err(StoreError::NotFound("tenant"))
    ));
    assert!(
        store
            .authenticate_token(&token.token)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .sealed_secret(&tenant.id, "s")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .memberships_of_user(&member.id)
            .await
            .unwrap()
            .is_empty()
    );

    store.delete_user(&member.id).await.unwrap();
    assert!(matches!(
        store.user(&member.id).await,
        Err(StoreError::NotFound("user"))
    ));
    assert_eq!(store.tenant(&other.id).await.unwrap().plan, "pro");
}

#[tokio::test]
async fn vault_key_check_is_one_replaceable_row() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    assert!(store.vault_key_check().await.unwrap().is_none());
    let vault = Vault::new(MasterKey::generate());
    store
        .set_vault_key_check(&vault.key_check().unwrap())
        .await
        .unwrap();
    vault
        .verify(&store.vault_key_check().await.unwrap().unwrap())
        .unwrap();

    let wrong = Vault::new(MasterKey::generate());
    assert!(
        wrong
            .verify(&store.vault_key_check().await.unwrap().unwrap())
            .is_err()
    );
    store
        .set_vault_key_check(&wrong.key_check().unwrap())
        .await
        .unwrap();
    wrong
        .verify(&store.vault_key_check().await.unwrap().unwrap())
        .unwrap();
}

/// Spawns work on a multi-threaded runtime through the generic interface: the futures are `Send`,
/// and concurrent writers on one file wait for each other (WAL, busy timeout) instead of failing.
async fn hammer<S: Store + 'static>(store: std::sync::Arc<S>, token: String) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = std::sync::Arc::clone(&store);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..10 {
                assert!(store.authenticate_token(&token).await.unwrap().is_some());
                store
                    .create_tenant(&format!("t-{i}-{j}"), "free")
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_use_from_many_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(tmp.path()).await);
    let (tenant, user) = tenant_with_user(&store, "acme").await;
    let created = store
        .create_token(&new_token(&tenant, &user, None))
        .await
        .unwrap();
    hammer(std::sync::Arc::clone(&store), created.token).await;
    let all = store.list_tenants(&PageRequest::first(1000)).await.unwrap();
    assert_eq!(all.items.len(), 81);
}

#[tokio::test]
async fn rotation_pass_reseals_every_secret_without_clobbering_writes() {
    let vault = Vault::new(MasterKey::generate());
    let store = SqliteStore::open_in_memory().await.unwrap();
    let mut tenants = Vec::new();
    for t in ["a", "b", "c"] {
        let tenant = store.create_tenant(t, "free").await.unwrap();
        for n in ["one", "two"] {
            let value = format!("{t}-{n}");
            let sealed = vault.seal(&tenant.id, n, value.as_bytes()).unwrap();
            store.put_secret(&tenant.id, n, &sealed).await.unwrap();
        }
        tenants.push(tenant);
    }
    let old_key = vault.rotate(MasterKey::generate()).unwrap();

    // A write lands between the pass reading a row and resealing it.
    let first = store
        .list_sealed_secrets(&PageRequest::first(1))
        .await
        .unwrap()
        .items
        .remove(0);
    let fresh = vault
        .seal(&first.tenant_id, &first.name, b"written meanwhile")
        .unwrap();
    store
        .put_secret(&first.tenant_id, &first.name, &fresh)
        .await
        .unwrap();
    let stale = vault
        .reseal(&first.tenant_id, &first.name, &first.sealed)
        .unwrap();
    assert!(
        !store
            .reseal_secret(&first.tenant_id, &first.name, &first.sealed, &stale)
            .await
            .unwrap()
    );

    // The pass, two rows per page.
    let mut page = PageRequest::first(2);
    let mut visited = 0;
    loop {
        let got = store.list_sealed_secrets(&page).await.unwrap();
        for row in &got.items {
            visited += 1;
            if vault.needs_reseal(&row.sealed) {
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
        }
        match got.next_after {
            Some(cursor) => page = PageRequest::after(2, cursor),
            None => break,
        }
    }
    assert_eq!(visited, 6);
    vault.retire(old_key).unwrap();

    for tenant in &tenants {
        for n in ["one", "two"] {
            let sealed = store.sealed_secret(&tenant.id, n).await.unwrap().unwrap();
            let opened = vault.open(&tenant.id, n, &sealed).unwrap();
            if tenant.id == first.tenant_id && n == first.name {
                assert_eq!(opened.expose(), b"written meanwhile");
            } else {
                assert_eq!(opened.expose(), format!("{}-{n}", tenant.name).as_bytes());
            }
        }
    }
    assert!(matches!(
        store
            .list_sealed_secrets(&PageRequest::after(2, "no-slash"))
            .await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_tenants_plan_changes_and_persists() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path()).await;
    let (tenant, _) = tenant_with_user(&store, "acme").await;
    let changed = store.set_tenant_plan(&tenant.id, "pro").await.unwrap();
    assert_eq!(
        (changed.id.as_str(), changed.plan.as_str()),
        (tenant.id.as_str(), "pro")
    );
    assert_eq!(store.tenant(&tenant.id).await.unwrap().plan, "pro");
    assert!(matches!(
        store.set_tenant_plan("missing", "pro").await,
        Err(StoreError::NotFound("tenant"))
    ));
    store.close().await;
    let reopened = open(tmp.path()).await;
    assert_eq!(reopened.tenant_by_name("acme").await.unwrap().plan, "pro");
}
