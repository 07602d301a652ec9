//! What the configuration file defines belongs to the administrator's tenant and reaches another
//! tenant only where a server's `tenants` grants it: on the aggregate `/mcp`, on `/mcp/{server}`
//! (an ungranted server answers exactly like a missing one) and for calls.

mod support;

use serde_json::json;
use support::Client;
use support::binary::{ADMIN_TOKEN, Gateway, fixture_server, initialize, other_tenant_token};

#[tokio::test]
async fn another_tenant_sees_only_the_servers_granted_to_it() {
    let mut gw = Gateway::new();
    let mut shared = fixture_server();
    shared["tenants"] = json!(["acme"]);
    gw.write_config(json!({"mcpServers": {"shared": shared, "private": fixture_server()}}));
    gw.start(&[("TOOLPORT_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let acme = other_tenant_token(&gw.data_dir(), &["mcp"]).await;

    let admin = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", ADMIN_TOKEN).await;
    let admin_tools = admin.tool_names().await;
    assert!(admin_tools.iter().any(|t| t.starts_with("private__")));
    assert!(admin_tools.iter().any(|t| t.starts_with("shared__")));

    let tenant = Client::connect_as(format!("{}/mcp", gw.base()), "2025-11-25", &acme).await;
    let tools = tenant.tool_names().await;
    assert!(tools.iter().any(|t| t == "shared__echo"), "{tools:?}");
    assert!(
        tools.iter().all(|t| t.starts_with("shared__")),
        "an ungranted server is listed: {tools:?}"
    );
    let refused = tenant
        .request(
            2,
            "tools/call",
            json!({"name": "private__echo", "arguments": {"text": "x"}}),
        )
        .await;
    let unknown = tenant
        .request(
            3,
            "tools/call",
            json!({"name": "nothing__echo", "arguments": {"text": "x"}}),
        )
        .await;
    let error = refused.error(2);
    assert_eq!(error["code"], unknown.error(3)["code"]);
    assert!(
        error["message"].as_str().unwrap().contains("unknown tool"),
        "{error}"
    );
    let echoed = tenant.call(4, "shared__echo", json!({"text": "hi"})).await;
    assert_eq!(echoed["content"][0]["text"], "hi");

    // /mcp/{server}: the ungranted server answers like a name that does not exist.
    let http = reqwest::Client::new();
    let post = async |path: &str| {
        let reply = http
            .post(format!("{}{path}", gw.base()))
            .bearer_auth(&acme)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize())
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    };
    let (private_status, private_body) = post("/mcp/private").await;
    let (missing_status, missing_body) = post("/mcp/nowhere").await;
    assert_eq!(private_status, 404);
    assert_eq!(
        private_body.replace("private", "NAME"),
        missing_body.replace("nowhere", "NAME")
    );
    assert_eq!(missing_status, 404);
    assert_eq!(post("/mcp/shared").await.0, 200);
    gw.stop().await;
}
