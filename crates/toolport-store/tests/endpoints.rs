//! Virtual endpoints in the SQLite store: creation with a selection, global slugs, tenant
//! isolation, pagination, updates, selection changes in one transaction, cascades and the
//! gateway's full listing.

use toolport_store::{
    EndpointChanges, EndpointMode, EndpointTool, NewEndpoint, PageRequest, SqliteStore, Store,
    StoreError,
};

fn tool(exposed: &str, upstream: &str, original: &str) -> EndpointTool {
    EndpointTool {
        exposed_name: exposed.into(),
        upstream: upstream.into(),
        tool: original.into(),
        description: None,
        visible: true,
    }
}

fn new_endpoint(tenant_id: &str, slug: &str, tools: Vec<EndpointTool>) -> NewEndpoint {
    NewEndpoint {
        tenant_id: tenant_id.into(),
        slug: slug.into(),
        description: format!("{slug} tools"),
        mode: EndpointMode::Tools,
        tools,
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
async fn created_endpoints_read_back_with_their_tools_in_name_order() {
    let (store, a, _) = store_with_tenants().await;
    let mut hidden = tool("zeta", "files", "read_file");
    hidden.visible = false;
    hidden.description = Some("Reads one file.".into());
    let created = store
        .create_endpoint(&new_endpoint(
            &a,
            "dev",
            vec![hidden.clone(), tool("alpha", "github", "search_repos")],
        ))
        .await
        .unwrap();
    assert_eq!(created.slug, "dev");
    assert_eq!(created.tenant_id, a);
    assert_eq!(created.tools[0].exposed_name, "alpha");
    assert_eq!(created.tools[1], hidden);
    let read = store.endpoint(&a, "dev").await.unwrap();
    assert_eq!(read, created);
    assert_eq!(store.all_endpoints().await.unwrap(), vec![created]);
}

#[tokio::test]
async fn slugs_are_unique_across_tenants_and_names_within_an_endpoint() {
    let (store, a, b) = store_with_tenants().await;
    store
        .create_endpoint(&new_endpoint(&a, "shared", vec![]))
        .await
        .unwrap();
    let err = store
        .create_endpoint(&new_endpoint(&b, "shared", vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("`shared`")),
        "{err}"
    );
    let err = store
        .create_endpoint(&new_endpoint(
            &b,
            "twice",
            vec![tool("x", "s", "one"), tool("x", "s", "two")],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("exposed name")),
        "{err}"
    );
    // All or nothing: the endpoint whose tools failed does not exist.
    assert!(matches!(
        store.endpoint(&b, "twice").await,
        Err(StoreError::NotFound("endpoint"))
    ));
    let err = store
        .create_endpoint(&new_endpoint("no-such-tenant", "orphan", vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

#[tokio::test]
async fn another_tenants_endpoint_is_missing() {
    let (store, a, b) = store_with_tenants().await;
    store
        .create_endpoint(&new_endpoint(&a, "mine", vec![tool("t", "s", "t")]))
        .await
        .unwrap();
    let before = store.endpoint(&a, "mine").await.unwrap();
    assert!(matches!(
        store.endpoint(&b, "mine").await,
        Err(StoreError::NotFound("endpoint"))
    ));
    assert!(matches!(
        store
            .update_endpoint(
                &b,
                "mine",
                &EndpointChanges {
                    description: Some("taken".into()),
                    mode: None
                }
            )
            .await,
        Err(StoreError::NotFound("endpoint"))
    ));
    assert!(matches!(
        store.set_endpoint_tools(&b, "mine", &[]).await,
        Err(StoreError::NotFound("endpoint"))
    ));
    assert!(matches!(
        store
            .put_endpoint_tool(&b, "mine", &tool("u", "s", "u"))
            .await,
        Err(StoreError::NotFound("endpoint"))
    ));
    assert!(matches!(
        store.remove_endpoint_tool(&b, "mine", "t").await,
        Err(StoreError::NotFound("endpoint"))
    ));
    assert!(matches!(
        store.delete_endpoint(&b, "mine").await,
        Err(StoreError::NotFound("endpoint"))
    ));
    let listed = store
        .list_endpoints(&b, &PageRequest::default())
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    assert_eq!(store.endpoint(&a, "mine").await.unwrap(), before);
}

#[tokio::test]
async fn lists_are_paginated_by_slug() {
    let (store, a, b) = store_with_tenants().await;
    for slug in ["c", "a", "e", "b", "d"] {
        store
            .create_endpoint(&new_endpoint(&a, slug, vec![tool(slug, "s", "t")]))
            .await
            .unwrap();
    }
    store
        .create_endpoint(&new_endpoint(&b, "b-only", vec![]))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let got = store.list_endpoints(&a, &page).await.unwrap();
        assert!(got.items.len() <= 2);
        for e in &got.items {
            assert_eq!(e.tools.len(), 1, "tools come with each endpoint");
            seen.push(e.slug.clone());
        }
        match got.next_after {
            Some(next) => page = PageRequest::after(2, next),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    let all: Vec<String> = store
        .all_endpoints()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.slug)
        .collect();
    assert_eq!(all, ["a", "b", "b-only", "c", "d", "e"]);
}

#[tokio::test]
async fn updates_and_selection_changes() {
    let (store, a, _) = store_with_tenants().await;
    store
        .create_endpoint(&new_endpoint(&a, "ops", vec![tool("one", "s", "one")]))
        .await
        .unwrap();
    let updated = store
        .update_endpoint(
            &a,
            "ops",
            &EndpointChanges {
                description: None,
                mode: Some(EndpointMode::Search),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.mode, EndpointMode::Search);
    assert_eq!(updated.description, "ops tools", "unchanged fields stay");

    let mut renamed = tool("one", "s", "other");
    renamed.description = Some("New words.".into());
    let put = store.put_endpoint_tool(&a, "ops", &renamed).await.unwrap();
    assert_eq!(
        put.tools,
        vec![renamed.clone()],
        "same exposed name replaces"
    );
    let put = store
        .put_endpoint_tool(&a, "ops", &tool("two", "s", "two"))
        .await
        .unwrap();
    assert_eq!(put.tools.len(), 2);

    // A replacement that breaks a rule changes nothing.
    let err = store
        .set_endpoint_tools(&a, "ops", &[tool("x", "s", "1"), tool("x", "s", "2")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(store.endpoint(&a, "ops").await.unwrap().tools, put.tools);

    let replaced = store
        .set_endpoint_tools(&a, "ops", &[tool("three", "t", "3")])
        .await
        .unwrap();
    assert_eq!(replaced.tools, vec![tool("three", "t", "3")]);
    assert!(matches!(
        store.remove_endpoint_tool(&a, "ops", "one").await,
        Err(StoreError::NotFound("endpoint tool"))
    ));
    let emptied = store
        .remove_endpoint_tool(&a, "ops", "three")
        .await
        .unwrap();
    assert!(emptied.tools.is_empty());
    store.delete_endpoint(&a, "ops").await.unwrap();
    assert!(matches!(
        store.endpoint(&a, "ops").await,
        Err(StoreError::NotFound("endpoint"))
    ));
}

#[tokio::test]
async fn deleting_a_tenant_deletes_its_endpoints_and_frees_their_slugs() {
    let (store, a, b) = store_with_tenants().await;
    store
        .create_endpoint(&new_endpoint(&a, "gone", vec![tool("t", "s", "t")]))
        .await
        .unwrap();
    store.delete_tenant(&a).await.unwrap();
    assert!(store.all_endpoints().await.unwrap().is_empty());
    let reused = store
        .create_endpoint(&new_endpoint(&b, "gone", vec![]))
        .await
        .unwrap();
    assert_eq!(reused.tenant_id, b);
    assert!(
        reused.tools.is_empty(),
        "no tool of the old endpoint is left"
    );
}

#[tokio::test]
async fn an_endpoint_beyond_the_tenants_limit_is_refused() {
    let (store, a, b) = store_with_tenants().await;
    let limited = |tenant: &str, slug: &str| NewEndpoint {
        at_most: Some(1),
        ..new_endpoint(tenant, slug, vec![])
    };
    store.create_endpoint(&limited(&a, "one")).await.unwrap();
    let err = store
        .create_endpoint(&limited(&a, "two"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LimitReached(1)), "{err:?}");
    // Another tenant's count is its own.
    store.create_endpoint(&limited(&b, "two")).await.unwrap();
}
