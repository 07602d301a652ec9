//! Master key rotation through the real binary: `toolport vault rotate` re-seals every secret
//! of every tenant while the gateway serves, the configuration's `${secret:…}` keeps its value,
//! the old key no longer opens the data directory, a secret written during a rotation is kept, the
//! environment-key rotation finishes at start, and no plaintext reaches the data directory.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::Client;
use support::binary::{
    ADMIN_TOKEN, Gateway, PING_SPEC, cli, cli_output, fixture_server, recording_api,
};
use toolport_store::{PageRequest, SqliteStore, Store};
use toolport_vault::{MasterKey, Vault, key_file};

const FIRST: &str = "rotation-secret-first-3b81c0";
const SECOND: &str = "rotation-secret-second-77e2d4";
const ACME: &str = "rotation-secret-acme-c4a915";

/// A configuration whose API `ping` authenticates with the vault secret `ping_token`.
fn with_ping_api(api_url: &str) -> Value {
    json!({"mcpServers": {"fx": fixture_server()}, "apis": {"ping": {
        "spec": "ping.json", "baseUrl": api_url,
        "auth": {"type": "bearer", "token": "${secret:ping_token}"}}},
        "toolport": {"ssrf": {"allowHosts": ["127.0.0.1"]}}})
}

/// Waits until the `ping` API is served and its last call carried `Bearer {value}`.
async fn wait_for_bearer(client: &Client, seen: &std::sync::Mutex<Vec<String>>, value: &str) {
    let expected = format!("Bearer {value}");
    support::wait_for_async(
        &format!("calls with {value}"),
        Duration::from_secs(20),
        async || {
            if !client
                .tool_names()
                .await
                .contains(&"ping__ping".to_string())
            {
                return false;
            }
            let result = client.call(2, "ping__ping", json!({})).await;
            result["isError"] != json!(true) && seen.lock().unwrap().last() == Some(&expected)
        },
    )
    .await;
}

/// Every secret of the data directory, opened with the keys of its key file (gateway stopped).
async fn stored_secrets(gw: &Gateway) -> Vec<(String, String, String)> {
    let (active, previous) = key_file::load_keys(&gw.data_dir().join("master.key")).unwrap();
    assert!(
        previous.is_empty(),
        "the key file holds only the active key"
    );
    let active_id = active.id();
    let vault = Vault::new(active);
    let store = SqliteStore::open(&gw.data_dir()).await.unwrap();
    let secrets = store
        .list_sealed_secrets(&PageRequest::first(1000))
        .await
        .unwrap()
        .items;
    let mut opened = Vec::new();
    for s in secrets {
        assert_eq!(
            s.sealed.key_id(),
            active_id,
            "{} sealed with the new key",
            s.name
        );
        let value = vault.open(&s.tenant_id, &s.name, &s.sealed).unwrap();
        opened.push((s.tenant_id, s.name, value.expose_str().unwrap().to_string()));
    }
    store.close().await;
    opened
}

fn assert_no_plaintext(gw: &Gateway, values: &[&str]) {
    for (path, bytes) in toolport_testkit::files::stored_files(&gw.data_dir()) {
        for value in values {
            assert!(
                !toolport_testkit::files::contains(&bytes, value.as_bytes()),
                "{value} found in {}",
                path.display()
            );
        }
    }
}

#[tokio::test]
async fn rotation_keeps_every_secret_readable_and_the_old_key_no_longer_opens_the_vault() {
    let (api_url, seen) = recording_api().await;
    let mut gw = Gateway::new();
    std::fs::write(gw.dir.path().join("ping.json"), PING_SPEC).unwrap();
    let env = [("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)];
    gw.write_config(json!({"mcpServers": {"fx": fixture_server()}}));
    gw.start(&env).await;
    cli(&gw, &["secret", "set", "ping_token"], FIRST).await;
    cli(&gw, &["tenant", "create", "acme"], "").await;
    cli(
        &gw,
        &["secret", "set", "acme_key", "--tenant", "acme"],
        ACME,
    )
    .await;
    gw.write_config(with_ping_api(&api_url));
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    wait_for_bearer(&client, &seen, FIRST).await;

    let key_path = gw.data_dir().join("master.key");
    let old_file = std::fs::read_to_string(&key_path).unwrap();
    let old_key = MasterKey::from_env_value(&old_file).unwrap();
    let report = cli(&gw, &["vault", "rotate"], "").await;
    assert_eq!(report["resealed_secrets"], 2, "{report}");
    assert_eq!(report["retired_key_ids"], json!([old_key.id().to_string()]));
    let new_file = std::fs::read_to_string(&key_path).unwrap();
    assert_ne!(new_file, old_file);
    let (active, previous) = key_file::load_keys(&key_path).unwrap();
    assert_eq!(report["key_id"], active.id().to_string());
    assert!(previous.is_empty(), "the old key is dropped from the file");

    // Still served with the same value; a new value after the rotation reaches the API too, so
    // the configuration is rebuilt from the re-sealed secrets.
    let result = client.call(3, "ping__ping", json!({})).await;
    assert_ne!(result["isError"], json!(true), "{result}");
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &format!("Bearer {FIRST}")
    );
    tokio::time::sleep(Duration::from_millis(1100)).await; // updated_at has 1 s resolution
    cli(&gw, &["secret", "set", "ping_token"], SECOND).await;
    wait_for_bearer(&client, &seen, SECOND).await;
    let listed = cli(&gw, &["secret", "list", "--tenant", "acme"], "").await;
    assert_eq!(listed[0]["name"], "acme_key", "{listed}");
    gw.stop().await;

    let mut values: Vec<String> = stored_secrets(&gw)
        .await
        .into_iter()
        .map(|(_, _, v)| v)
        .collect();
    values.sort();
    assert_eq!(values, [ACME, SECOND]);

    // The old key alone no longer opens the data directory, and says so.
    let old_text = old_key.export_base64();
    let refused = gw
        .command(&[("TOOLPORT_MASTER_KEY", old_text.as_str())])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the master key does not open the vault"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(old_text.as_str()),
        "the key is never printed"
    );

    // The key file opens it, and the log of the whole run holds no secret.
    gw.start(&[]).await;
    gw.stop().await;
    assert_no_plaintext(&gw, &[FIRST, SECOND, ACME]);
    let log = gw.log();
    assert!(!log.contains(FIRST) && !log.contains(SECOND), "{log}");
}

#[tokio::test]
async fn secrets_written_during_rotations_are_kept_and_concurrent_rotations_do_not_collide() {
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let http = reqwest::Client::new();
    let base = gw.base();
    let put = async |name: String, value: String| {
        let status = http
            .put(format!("{base}/api/v1/tenants/default/secrets/{name}"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"value": value}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    };
    for i in 0..50 {
        put(format!("steady_{i}"), format!("steady-value-{i}")).await;
    }
    let rotate = async || {
        http.post(format!("{base}/api/v1/vault/rotate"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
    };
    // Writers and rotations at the same time.
    let writes = async {
        for round in 0..40 {
            put("hot".into(), format!("hot-value-{round}")).await;
        }
    };
    let rotations = async {
        let answers = futures::future::join_all((0..4).map(|_| rotate())).await;
        let mut statuses = Vec::new();
        for answer in answers {
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.unwrap();
            if status == 409 {
                assert!(
                    body["detail"].as_str().unwrap().contains("already running"),
                    "{body}"
                );
            } else {
                assert_eq!(status, 200, "{body}");
            }
            statuses.push(status);
        }
        statuses
    };
    let ((), statuses) = tokio::join!(writes, rotations);
    assert!(statuses.contains(&200), "{statuses:?}");
    let last = rotate().await;
    assert_eq!(last.status(), 200);
    gw.stop().await;

    let secrets = stored_secrets(&gw).await;
    assert_eq!(secrets.len(), 51);
    let hot = secrets.iter().find(|(_, name, _)| name == "hot").unwrap();
    assert_eq!(hot.2, "hot-value-39", "the last write wins, re-sealed");
    for i in 0..50 {
        let name = format!("steady_{i}");
        let steady = secrets.iter().find(|(_, n, _)| *n == name).unwrap();
        assert_eq!(steady.2, format!("steady-value-{i}"));
    }
}

#[tokio::test]
async fn with_the_key_in_the_environment_rotation_happens_at_start_with_the_previous_key() {
    let (api_url, seen) = recording_api().await;
    let mut gw = Gateway::new();
    std::fs::write(gw.dir.path().join("ping.json"), PING_SPEC).unwrap();
    let old = MasterKey::generate().export_base64();
    let new = MasterKey::generate().export_base64();
    gw.write_config(json!({"mcpServers": {}}));
    gw.start(&[
        ("TOOLPORT_MASTER_KEY", old.as_str()),
        ("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN),
    ])
    .await;
    cli(&gw, &["secret", "set", "ping_token"], FIRST).await;

    // The gateway cannot store a key it did not get from a file: 409 saying how instead.
    let refused = cli_output(&gw, &["vault", "rotate"], "").await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("409") && stderr.contains("TOOLPORT_MASTER_KEY_PREVIOUS"),
        "{stderr}"
    );
    gw.stop().await;
    assert!(!gw.data_dir().join("master.key").exists());

    // The new key alone does not open it; with the old one as previous, the start re-seals.
    let alone = gw
        .command(&[("TOOLPORT_MASTER_KEY", new.as_str())])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!alone.status.success());
    gw.write_config(with_ping_api(&api_url));
    gw.start(&[
        ("TOOLPORT_MASTER_KEY", new.as_str()),
        ("TOOLPORT_MASTER_KEY_PREVIOUS", old.as_str()),
    ])
    .await;
    assert!(
        gw.log().contains("remove TOOLPORT_MASTER_KEY_PREVIOUS"),
        "{}",
        gw.log()
    );
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    wait_for_bearer(&client, &seen, FIRST).await;
    gw.stop().await;

    // From now on the new key alone opens it, and the old one is refused.
    gw.start(&[("TOOLPORT_MASTER_KEY", new.as_str())]).await;
    let client = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    wait_for_bearer(&client, &seen, FIRST).await;
    gw.stop().await;
    let stale = gw
        .command(&[("TOOLPORT_MASTER_KEY", old.as_str())])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(!stale.status.success());
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("the master key does not open the vault")
    );
    assert_no_plaintext(&gw, &[FIRST]);
}

#[tokio::test]
async fn a_rotation_interrupted_half_way_is_finished_by_the_next_start() {
    let mut gw = Gateway::new();
    gw.write_config(json!({"mcpServers": {}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    for (name, value) in [("one", FIRST), ("two", SECOND)] {
        cli(&gw, &["secret", "set", name], value).await;
    }
    gw.stop().await;

    // The state a crash leaves after the new key was stored and one secret re-sealed.
    let key_path = gw.data_dir().join("master.key");
    let (old, _) = key_file::load_keys(&key_path).unwrap();
    let old_id = old.id();
    let new = MasterKey::generate();
    let new_id = new.id();
    key_file::write_keys(&key_path, &[&new, &old]).unwrap();
    let vault = Vault::with_previous_keys(new, [old]);
    let store = SqliteStore::open(&gw.data_dir()).await.unwrap();
    let tenant = store.tenant_by_name("default").await.unwrap();
    let sealed = store
        .sealed_secret(&tenant.id, "one")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sealed.key_id(), old_id);
    let resealed = vault.reseal(&tenant.id, "one", &sealed).unwrap();
    assert!(
        store
            .reseal_secret(&tenant.id, "one", &sealed, &resealed)
            .await
            .unwrap()
    );
    store.close().await;

    gw.start(&[]).await;
    assert!(
        gw.log().contains("master key rotation finished"),
        "{}",
        gw.log()
    );
    gw.stop().await;
    let (active, _) = key_file::load_keys(&key_path).unwrap();
    assert_eq!(active.id(), new_id);
    let mut values: Vec<String> = stored_secrets(&gw)
        .await
        .into_iter()
        .map(|(_, _, v)| v)
        .collect();
    values.sort();
    assert_eq!(values, [FIRST, SECOND]);
    let store = SqliteStore::open(&gw.data_dir()).await.unwrap();
    let check = store.vault_key_check().await.unwrap().unwrap();
    assert_eq!(check.key_id(), new_id, "the key check follows");
    store.close().await;
}
