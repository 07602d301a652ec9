//! Setting an API up: descriptions from files (with external `$ref`s) and URLs, other formats
//! (Swagger 2.0, Postman) executed end to end, and configuration mistakes refused with precise errors.

mod support;

use serde_json::json;
use support::{Recorder, Reply, backend, client, is_error};
use toolport_upstream::api::{
    ApiAuth, ApiBackend, ApiConfig, ApiError, OAuth2ClientCredentials, SpecSource,
};

#[tokio::test]
async fn file_descriptions_load_their_external_refs() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("schemas")).expect("mkdir");
    std::fs::write(
        dir.path().join("schemas/pet.yaml"),
        "type: object\nproperties:\n  name: {type: string}\nrequired: [name]\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("openapi.yaml"),
        "openapi: 3.0.3\ninfo: {title: Ext, version: '1'}\npaths:\n  /pets:\n    post:\n      operationId: addPet\n      requestBody:\n        required: true\n        content:\n          application/json:\n            schema: {$ref: 'schemas/pet.yaml'}\n      responses: {'201': {description: created}}\n",
    )
    .expect("write");
    let s = Recorder::start(|_| Reply::json(json!({"id": 1}))).await;
    let mut config = ApiConfig::new(SpecSource::Location(
        dir.path().join("openapi.yaml").display().to_string(),
    ));
    config.base_url = Some(s.url("/v1"));
    let b = ApiBackend::load("ext", config, client())
        .await
        .expect("loads");
    assert!(
        b.conversion().diagnostics.is_empty(),
        "{:?}",
        b.conversion().diagnostics
    );
    let schema = b.conversion().tools[0].tool.input_schema.value();
    let args = if schema["properties"].get("body").is_some() {
        json!({"body": {"name": "rex"}})
    } else {
        json!({"name": "rex"})
    };
    let r = b.call("addPet", args).await.expect("call");
    assert!(!is_error(&r), "{r}");
    assert_eq!(s.last().body_json(), json!({"name": "rex"}));
    assert_eq!(s.last().path, "/v1/pets");
}

#[tokio::test]
async fn downloaded_descriptions_cannot_reference_local_files() {
    let spec = json!({
        "openapi": "3.0.3", "info": {"title": "Remote", "version": "1"},
        "paths": {"/x": {"post": {"operationId": "leak",
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "/etc/hostname"}}}},
            "responses": {"200": {"description": "ok"}}}}}
    });
    let s = Recorder::start(move |_| Reply::json(spec.clone())).await;
    let config = ApiConfig::new(SpecSource::Location(s.url("/openapi.json")));
    let b = ApiBackend::load("remote", config, client())
        .await
        .expect("loads");
    let diagnostics = format!("{:?}", b.conversion().diagnostics);
    assert!(diagnostics.contains("local file"), "{diagnostics}");
}

#[tokio::test]
async fn uploaded_descriptions_cannot_reference_local_files() {
    let spec = json!({
        "openapi": "3.0.3", "info": {"title": "Uploaded", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {"/x": {"post": {"operationId": "leak",
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "/etc/hostname"}}}},
            "responses": {"200": {"description": "ok"}}}}}
    });
    let config = ApiConfig::new(SpecSource::Bytes {
        source: String::new(),
        bytes: spec.to_string().into_bytes(),
    });
    let b = ApiBackend::load("uploaded", config, client())
        .await
        .expect("loads");
    let diagnostics = format!("{:?}", b.conversion().diagnostics);
    assert!(diagnostics.contains("local file"), "{diagnostics}");
}

#[tokio::test]
async fn swagger_2_and_postman_collections_execute() {
    let s = Recorder::start(|_| Reply::json(json!([{"id": 1}]))).await;
    let mut config = ApiConfig::new(SpecSource::Location(support::spec_path(
        "openapi/petstore.swagger2.0.json",
    )));
    config.base_url = Some(s.url("/v2"));
    let b = ApiBackend::load("swagger", config, client())
        .await
        .expect("loads");
    let r = b
        .call("findPetsByStatus", json!({"status": ["available", "sold"]}))
        .await
        .expect("call");
    assert_eq!(r["structuredContent"], json!({"items": [{"id": 1}]}), "{r}");
    let got = s.last();
    assert_eq!(got.path, "/v2/pet/findByStatus");
    assert_eq!(got.query.as_deref(), Some("status=available&status=sold"));

    let mut config = ApiConfig::new(SpecSource::Location(support::spec_path(
        "postman/p2o-fixtures-v21/AuthBasic.json",
    )));
    config.base_url = Some(s.url(""));
    config.auth = ApiAuth::Basic {
        username: "u".into(),
        password: "p".into(),
    };
    let b = ApiBackend::load("postman", config, client())
        .await
        .expect("loads");
    let r = b
        .call("Get_list_of_users", json!({"age": 30}))
        .await
        .expect("call");
    assert!(!is_error(&r), "{r}");
    let got = s.last();
    assert_eq!(got.path, "/users");
    assert_eq!(
        got.query.as_deref(),
        Some("age=30&name=Jhon&review=true&number=23.56"),
        "collection values fill the arguments not given"
    );
    assert_eq!(got.header("authorization"), Some("Basic dTpw"));
}

#[tokio::test]
async fn configuration_mistakes_are_refused_precisely() {
    let sdl = "type Query { hello: String }";
    let mut config = ApiConfig::new(SpecSource::Bytes {
        source: String::new(),
        bytes: sdl.as_bytes().to_vec(),
    });
    let e = ApiBackend::load("gql", config.clone(), client())
        .await
        .expect_err("needs an endpoint");
    assert!(matches!(e, ApiError::GraphqlEndpoint { .. }), "{e}");

    config.base_url = Some("ftp://example.com/graphql".into());
    let e = ApiBackend::load("gql", config.clone(), client())
        .await
        .expect_err("bad scheme");
    assert!(
        matches!(e, ApiError::BaseUrl { .. }) && e.to_string().contains("gql"),
        "{e}"
    );

    config.base_url = Some("https://example.com/graphql".into());
    config.headers.insert("Bad Header".into(), "x".into());
    let e = ApiBackend::load("gql", config.clone(), client())
        .await
        .expect_err("bad header");
    assert!(e.to_string().contains("`Bad Header`"), "{e}");

    config.headers.clear();
    config.auth = ApiAuth::OAuth2ClientCredentials(OAuth2ClientCredentials {
        token_url: "not a url".into(),
        ..Default::default()
    });
    let e = ApiBackend::load("gql", config, client())
        .await
        .expect_err("bad token URL");
    assert!(matches!(e, ApiError::Auth { .. }), "{e}");
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let auths = [
        ApiAuth::Bearer {
            token: "s3cret".into(),
        },
        ApiAuth::Basic {
            username: "u".into(),
            password: "s3cret".into(),
        },
        ApiAuth::OAuth2ClientCredentials(OAuth2ClientCredentials {
            client_secret: "s3cret".into(),
            ..Default::default()
        }),
    ];
    for a in auths {
        assert!(!format!("{a:?}").contains("s3cret"));
    }
    let b = backend("plain", "type Query { hello: String }", |c| {
        c.base_url = Some("https://example.com/graphql".into());
        c.auth = ApiAuth::Bearer {
            token: "s3cret".into(),
        };
    })
    .await;
    assert!(!format!("{b:?}").contains("s3cret"));
}
