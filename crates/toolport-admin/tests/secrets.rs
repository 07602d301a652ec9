//! Secret values are write-only: never in a response (body or header), a log line, or the
//! database file (main file and WAL), whatever the request looked like.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{Fixture, Reply};
use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;
use toolport_store::Store;

const VALUE: &str = "s3cr3t-VALUE-8f2b1c-do-not-leak";

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary, from a global subscriber (a thread-local one can miss
/// events whose callsites another test thread registered first).
fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        logs
    })
    .clone()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn assert_clean(reply: &Reply, what: &str) {
    assert!(
        !contains(&reply.bytes, VALUE),
        "{what}: body leaks the value: {}",
        reply.text()
    );
    for (name, value) in &reply.headers {
        assert!(
            !contains(value.as_bytes(), VALUE),
            "{what}: header {name} leaks the value"
        );
    }
}

#[tokio::test]
async fn values_never_leave() {
    let logs = capture_logs();

    let fx = Fixture::new().await;
    let admin = Some(fx.b_admin.token.as_str());
    let path = "/api/v1/tenants/bravo/secrets/LEAK_TEST";
    let mut replies = Vec::new();

    let put = fx
        .call("PUT", path, admin, Some(json!({"value": VALUE})))
        .await;
    put.ok(200);
    replies.push(("put", put));
    replies.push((
        "put again",
        fx.call("PUT", path, admin, Some(json!({"value": VALUE})))
            .await,
    ));
    replies.push((
        "list",
        fx.call("GET", "/api/v1/tenants/bravo/secrets", admin, None)
            .await,
    ));
    let raw = |body: String| Some(("application/json", body.into_bytes()));
    let bad_bodies = [
        ("trailing comma", format!("{{\"value\": \"{VALUE}\",}}")),
        (
            "unknown field",
            format!("{{\"value\": \"{VALUE}\", \"extra\": 1}}"),
        ),
        ("misspelt field", format!("{{\"valu\": \"{VALUE}\"}}")),
        ("array", format!("[\"{VALUE}\"]")),
        ("bare string", format!("\"{VALUE}\"")),
        ("unterminated", format!("{{\"value\": \"{VALUE}")),
        (
            "value as object",
            format!("{{\"value\": {{\"{VALUE}\": 1}}}}"),
        ),
        ("value as key", format!("{{\"{VALUE}\": \"x\"}}")),
        (
            "value as number field",
            format!("{{\"value\": 1, \"{VALUE}\": 2}}"),
        ),
    ];
    for (what, body) in bad_bodies {
        let reply = fx.raw("PUT", path, admin, raw(body)).await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 422),
            "{what}: {}",
            reply.status
        );
        reply.problem(reply.status.as_u16());
        replies.push((what, reply));
    }
    let text = Some(("text/plain", VALUE.as_bytes().to_vec()));
    let reply = fx.raw("PUT", path, admin, text).await;
    reply.problem(415);
    replies.push(("text/plain", reply));
    for (what, path, token) in [
        (
            "bad name",
            "/api/v1/tenants/bravo/secrets/bad%20name",
            admin,
        ),
        ("member", path, Some(fx.b_member.token.as_str())),
        (
            "other tenant",
            "/api/v1/tenants/acme/secrets/LEAK_TEST",
            admin,
        ),
        ("no token", path, None),
    ] {
        let reply = fx
            .call("PUT", path, token, Some(json!({"value": VALUE})))
            .await;
        assert!(reply.status.is_client_error(), "{what}");
        replies.push((what, reply));
    }
    for (what, reply) in &replies {
        assert_clean(reply, what);
    }

    // The store holds only sealed text, which opens to the value.
    let sealed = fx
        .store
        .sealed_secret(&fx.b.id, "LEAK_TEST")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        fx.vault
            .open(&fx.b.id, "LEAK_TEST", &sealed)
            .unwrap()
            .expose(),
        VALUE.as_bytes()
    );
    let db = fx.dir.path().join("toolport.db");
    let wal = fx.dir.path().join("toolport.db-wal");
    let read = |p: &std::path::Path| std::fs::read(p).unwrap_or_default();
    let (db_bytes, wal_bytes) = (read(&db), read(&wal));
    assert!(
        contains(&db_bytes, "LEAK_TEST") || contains(&wal_bytes, "LEAK_TEST"),
        "the secret's row should be in the database files"
    );
    assert!(!contains(&db_bytes, VALUE), "plaintext in toolport.db");
    assert!(!contains(&wal_bytes, VALUE), "plaintext in toolport.db-wal");
    // After a checkpoint that moves every WAL frame into the main file.
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint could not complete");
    conn.close().await.unwrap();
    let db_bytes = read(&db);
    assert!(
        contains(&db_bytes, "LEAK_TEST"),
        "checkpointed row should be in toolport.db"
    );
    assert!(
        !contains(&db_bytes, VALUE),
        "plaintext in toolport.db after checkpoint"
    );
    assert!(
        !contains(&read(&wal), VALUE),
        "plaintext in the WAL after checkpoint"
    );

    let logs = logs.0.lock().unwrap().clone();
    assert!(
        contains(&logs, "secret.put"),
        "the write should be logged (without its value)"
    );
    assert!(!contains(&logs, VALUE), "a log line leaks the value");
}

#[tokio::test]
async fn bad_names_and_values_are_refused() {
    let fx = Fixture::new().await;
    let admin = Some(fx.b_admin.token.as_str());
    for name in ["a%20b", "a%2Fb", &"x".repeat(129), "%C3%BC"] {
        let path = format!("/api/v1/tenants/bravo/secrets/{name}");
        let problem = fx
            .call("PUT", &path, admin, Some(json!({"value": "v"})))
            .await
            .problem(422);
        assert!(
            problem["detail"].as_str().unwrap().contains("secret name"),
            "{problem}"
        );
        fx.call("DELETE", &path, admin, None).await.problem(422);
    }
    fx.call(
        "PUT",
        "/api/v1/tenants/bravo/secrets/x",
        admin,
        Some(json!({"value": ""})),
    )
    .await
    .problem(422);
    let big = "x".repeat(65_537);
    fx.call(
        "PUT",
        "/api/v1/tenants/bravo/secrets/x",
        admin,
        Some(json!({"value": big})),
    )
    .await
    .problem(422);
    fx.call(
        "PUT",
        "/api/v1/tenants/bravo/secrets/x",
        admin,
        Some(json!({"value": "x".repeat(65_536)})),
    )
    .await
    .ok(200);
    let list = fx
        .get("/api/v1/tenants/bravo/secrets", &fx.b_admin.token)
        .await
        .ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
