//! Registered APIs and MCP servers in the SQLite store: names unique per tenant across kinds,
//! tenant isolation, descriptions kept apart from lists, replacement, pagination, limits,
//! cascades and the gateway's full listing.

use toolport_store::{BackendKind, NewBackend, PageRequest, SqliteStore, Store, StoreError};

fn api(tenant_id: &str, name: &str, document: Option<&str>) -> NewBackend {
    NewBackend {
        tenant_id: tenant_id.into(),
        kind: BackendKind::Api,
        name: name.into(),
        definition: format!(r#"{{"baseUrl":"https://{name}.example.com"}}"#),
        document: document.map(str::to_owned),
        at_most: None,
    }
}

fn server(tenant_id: &str, name: &str) -> NewBackend {
    NewBackend {
        tenant_id: tenant_id.into(),
        kind: BackendKind::Server,
        name: name.into(),
        definition: r#"{"url":"https://mcp.example.com/mcp"}"#.into(),
        document: None,
        at_most: None,
    }
}

async fn store_with_tenants() -> (SqliteStore, String, String) {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let a = store.create_tenant("acme", "free").await.unwrap().id;
    let b = store.create_tenant("bravo", "free").await.unwrap().id;
    (store, a, b)
}

#[tokio::test]
async fn a_registration_reads_back_with_its_description_kept_apart() {
    let (store, a, _) = store_with_tenants().await;
    let created = store
        .create_backend(&api(&a, "petstore", Some("openapi: 3.1.0 # é")))
        .await
        .unwrap();
    assert_eq!(created.kind, BackendKind::Api);
    assert_eq!(created.tenant_id, a);
    let text = "openapi: 3.1.0 # é";
    assert_eq!(
        created.document_bytes,
        Some(text.len() as u64),
        "bytes, not characters"
    );
    assert_eq!(store.backend(&a, "petstore").await.unwrap(), created);
    assert_eq!(
        store
            .backend_document(&a, "petstore")
            .await
            .unwrap()
            .as_deref(),
        Some("openapi: 3.1.0 # é")
    );
    let plain = store.create_backend(&server(&a, "files")).await.unwrap();
    assert_eq!(plain.document_bytes, None);
    assert_eq!(store.backend_document(&a, "files").await.unwrap(), None);
}

#[tokio::test]
async fn names_are_unique_per_tenant_across_kinds_but_not_across_tenants() {
    let (store, a, b) = store_with_tenants().await;
    store
        .create_backend(&api(&a, "github", None))
        .await
        .unwrap();
    let err = store
        .create_backend(&server(&a, "github"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref m) if m.contains("github")),
        "{err:?}"
    );
    store.create_backend(&server(&b, "github")).await.unwrap();
    let page = PageRequest::first(10);
    for tenant in [&a, &b] {
        let held = store.list_backends(tenant, None, &page).await.unwrap();
        assert_eq!(held.items.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_never_pass_the_limit_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let a = store.create_tenant("acme", "free").await.unwrap().id;
    let mut first = server(&a, "first");
    first.at_most = Some(3);
    store.create_backend(&first).await.unwrap();
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let mut new = api(&a, &format!("api-{i}"), None);
            new.at_most = Some(3);
            tokio::spawn(async move { store.create_backend(&new).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.unwrap());
    }
    let created = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(created, 2, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert!(
            matches!(refused, StoreError::LimitReached(3)),
            "{refused:?}"
        );
    }
    let held = store
        .list_backends(&a, None, &PageRequest::first(20))
        .await
        .unwrap();
    assert_eq!(held.items.len(), 3);
}

#[tokio::test]
async fn another_tenants_registration_is_not_found_like_a_missing_one() {
    let (store, a, b) = store_with_tenants().await;
    store
        .create_backend(&api(&a, "github", Some("{}")))
        .await
        .unwrap();
    for err in [
        store.backend(&b, "github").await.unwrap_err(),
        store.backend_document(&b, "github").await.unwrap_err(),
        store
            .replace_backend(&api(&b, "github", None))
            .await
            .unwrap_err(),
        store.delete_backend(&b, "github").await.unwrap_err(),
        store.backend(&a, "missing").await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NotFound("backend")), "{err:?}");
    }
    assert!(
        store
            .list_backends(&b, None, &PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(store.backend(&a, "github").await.is_ok());
}

#[tokio::test]
async fn replacing_changes_definition_and_description_but_not_the_kind() {
    let (store, a, _) = store_with_tenants().await;
    let first = store
        .create_backend(&api(&a, "github", Some("v1")))
        .await
        .unwrap();
    let mut next = api(&a, "github", None);
    next.definition = r#"{"mode":"search"}"#.into();
    let replaced = store.replace_backend(&next).await.unwrap();
    assert_eq!(replaced.id, first.id);
    assert_eq!(replaced.definition, r#"{"mode":"search"}"#);
    assert_eq!(replaced.document_bytes, None);
    assert_eq!(replaced.created_at, first.created_at);
    let as_server = NewBackend {
        kind: BackendKind::Server,
        ..next
    };
    assert!(matches!(
        store.replace_backend(&as_server).await,
        Err(StoreError::NotFound("backend"))
    ));
}

#[tokio::test]
async fn lists_page_by_name_and_filter_by_kind() {
    let (store, a, _) = store_with_tenants().await;
    for name in ["c", "a", "e"] {
        store.create_backend(&api(&a, name, None)).await.unwrap();
    }
    for name in ["b", "d"] {
        store.create_backend(&server(&a, name)).await.unwrap();
    }
    let first = store
        .list_backends(&a, None, &PageRequest::first(3))
        .await
        .unwrap();
    let names: Vec<_> = first.items.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let rest = store
        .list_backends(&a, None, &PageRequest::after(3, first.next_after.unwrap()))
        .await
        .unwrap();
    let names: Vec<_> = rest.items.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["d", "e"]);
    assert_eq!(rest.next_after, None);
    let servers = store
        .list_backends(&a, Some(BackendKind::Server), &PageRequest::first(10))
        .await
        .unwrap();
    let names: Vec<_> = servers.items.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["b", "d"]);
}

#[tokio::test]
async fn deleting_the_tenant_deletes_its_registrations_and_the_full_listing_follows() {
    let (store, a, b) = store_with_tenants().await;
    store
        .create_backend(&api(&a, "github", Some("{}")))
        .await
        .unwrap();
    store.create_backend(&server(&b, "files")).await.unwrap();
    assert_eq!(store.all_backends().await.unwrap().len(), 2);
    store.delete_tenant(&a).await.unwrap();
    let left = store.all_backends().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].tenant_id.as_str(), left[0].name.as_str()),
        (b.as_str(), "files")
    );
    store.delete_backend(&b, "files").await.unwrap();
    assert!(store.all_backends().await.unwrap().is_empty());
    let missing = store
        .create_backend(&api("no-such-tenant", "x", None))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, StoreError::NotFound("tenant")),
        "{missing:?}"
    );
}
