//! The OpenAPI document: it parses, is OpenAPI 3.1, lists exactly the routes the router serves,
//! declares the bearer scheme and the problem responses, and every response the handlers really
//! send (status, content type, body) is the one the document declares.

mod common;

use std::collections::BTreeSet;

use common::{Fixture, ROUTES, Reply, fill};
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

async fn served_document(fx: &Fixture) -> Value {
    let reply = fx.call("GET", "/api/v1/openapi.json", None, None).await;
    let doc = reply.ok(200);
    assert_eq!(
        doc,
        serde_json::to_value(toolport_admin::openapi()).unwrap()
    );
    doc
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.iter().any(|m| m.eq_ignore_ascii_case(method)) {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn document_lists_exactly_the_served_routes() {
    let fx = Fixture::new().await;
    let doc = served_document(&fx).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].as_str().is_some());

    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(routes.len(), ROUTES.len(), "duplicate in ROUTES");
    assert_eq!(operations(&doc), routes, "document and route list differ");

    // The router serves each listed route (a request without a token reaches the handler's
    // authentication, not the not-found route), and no other method on those paths.
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    for path in paths {
        let concrete = fill(
            path,
            &[
                ("tenant", "t"),
                ("user", "u"),
                ("id", "i"),
                ("name", "n"),
                ("slug", "s"),
            ],
        );
        for method in METHODS {
            let listed = routes.contains(&(method.to_owned(), path.to_owned()));
            let reply = fx.call(method, &concrete, None, None).await;
            let status = reply.status.as_u16();
            if listed {
                let expected = if path.ends_with("openapi.json") {
                    200
                } else {
                    401
                };
                assert_eq!(status, expected, "{method} {path} is not served");
            } else {
                reply.problem(405);
            }
        }
    }
}

#[tokio::test]
async fn document_declares_security_and_problems() {
    let fx = Fixture::new().await;
    let doc = served_document(&fx).await;
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let problem = &doc["components"]["schemas"]["ProblemDetails"];
    let mut required: Vec<_> = problem["required"].as_array().unwrap().iter().collect();
    required.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(
        required,
        [
            &json!("detail"),
            &json!("status"),
            &json!("title"),
            &json!("type")
        ]
    );
    let challenge = &doc["components"]["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"];
    assert!(challenge.is_object());
    let retry = &doc["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"];
    assert!(retry.is_object());

    for (method, path) in ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        let responses = op["responses"].as_object().unwrap();
        if *path == "/api/v1/openapi.json" {
            assert_eq!(op["security"], json!([{}]), "the document is public");
            continue;
        }
        assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
        for status in ["401", "500"] {
            assert!(
                responses.contains_key(status),
                "{method} {path} lacks {status}"
            );
        }
        if path.contains("{") {
            for status in ["400", "404"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
        }
        if op.get("requestBody").is_some() {
            assert_eq!(op["requestBody"]["required"], true);
            for status in ["400", "413", "415", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
        }
        for (status, response) in responses {
            let code: u16 = status.parse().unwrap();
            let response = resolve_response(&doc, response);
            if code >= 400 {
                let content = response["content"].as_object().unwrap();
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/problem+json"]
                );
            }
        }
    }
}

fn resolve_response<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/components/responses/").unwrap();
            &doc["components"]["responses"][name]
        }
        None => response,
    }
}

/// A small JSON Schema check for what utoipa emits: `$ref`, `type` (one or several), `enum`,
/// `required`, `properties` (undeclared properties are errors, to catch undocumented fields),
/// `items`, `minItems`/`maxItems`, `minimum`/`maximum`, `minLength`/`maxLength`, `format: uri`.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        return check(doc, &doc["components"]["schemas"][name], value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array)
            && !options.iter().any(|o| check(doc, o, value, at).is_ok())
        {
            return Err(format!("{at}: matches none of {key}"));
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(doc, part, value, at)?;
        }
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            _ => unreachable!(),
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !ok {
            return Err(format!("{at}: {actual} is not {types:?}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} not in {options:?}"));
    }
    match value {
        Value::Object(map) => {
            for name in schema["required"].as_array().into_iter().flatten() {
                if !map.contains_key(name.as_str().unwrap()) {
                    return Err(format!("{at}: missing required {name}"));
                }
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, item) in map {
                    match props.get(key) {
                        Some(s) => check(doc, s, item, &format!("{at}.{key}"))?,
                        None => return Err(format!("{at}: undeclared property {key}")),
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(doc, s, item, &format!("{at}[{i}]"))?;
                }
            }
            let len = items.len() as u64;
            if schema
                .get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| len < m)
                || schema
                    .get("maxItems")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| len > m)
            {
                return Err(format!("{at}: {len} items out of bounds"));
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap();
            if schema
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| n < m)
                || schema
                    .get("maximum")
                    .and_then(Value::as_f64)
                    .is_some_and(|m| n > m)
            {
                return Err(format!("{at}: {n} out of bounds"));
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if schema
                .get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| len < m)
                || schema
                    .get("maxLength")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| len > m)
            {
                return Err(format!("{at}: length {len} out of bounds"));
            }
            if schema.get("format").and_then(Value::as_str) == Some("uri")
                && !s.starts_with("https://")
            {
                return Err(format!("{at}: {s} is not a URI"));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Asserts that `reply`, answered to `method template`, is declared by the document.
#[track_caller]
fn assert_declared(doc: &Value, method: &str, template: &str, reply: &Reply) -> u16 {
    let status = reply.status.as_u16();
    let op = &doc["paths"][template][method.to_lowercase()];
    assert!(op.is_object(), "{method} {template} is not documented");
    let Some(response) = op["responses"].get(status.to_string()) else {
        panic!(
            "{method} {template} answered {status}, which is not declared: {}",
            reply.text()
        );
    };
    let response = resolve_response(doc, response);
    match response.get("content").and_then(Value::as_object) {
        None => assert!(
            reply.bytes.is_empty(),
            "{method} {template} {status}: undeclared body"
        ),
        Some(content) => {
            let media = reply
                .content_type()
                .split(';')
                .next()
                .unwrap()
                .trim()
                .to_owned();
            let Some(declared) = content.get(&media) else {
                panic!("{method} {template} {status}: content type {media} is not declared");
            };
            let schema = &declared["schema"];
            if !schema.is_null() {
                let body = reply.json();
                if let Err(e) = check(doc, schema, &body, "body") {
                    panic!("{method} {template} {status}: {e}\n{body}");
                }
            }
        }
    }
    if let Some(headers) = response.get("headers").and_then(Value::as_object) {
        for name in headers.keys() {
            assert!(
                reply.headers.contains_key(name.as_str()),
                "{method} {template} {status}: no {name}"
            );
        }
    }
    status
}

#[tokio::test]
async fn real_responses_match_the_document() {
    let fx = Fixture::new().await;
    let doc = served_document(&fx).await;
    let op = fx.operator.token.clone();
    let admin = fx.b_admin.token.clone();
    let member = fx.b_member.token.clone();
    let mcp = fx.b_mcp.token.clone();
    let newcomer = fx.store_user("newcomer@b.test").await;
    let a_id = fx.a.id.clone();
    let b_admin_user = fx.b_admin.user.id.clone();

    let seen: std::cell::RefCell<BTreeSet<(String, String, u16)>> = Default::default();
    let run = async |method: &str,
                     template: &str,
                     pairs: &[(&str, &str)],
                     token: Option<&str>,
                     body: Option<Value>| {
        let reply = fx.call(method, &fill(template, pairs), token, body).await;
        let template = template.split('?').next().unwrap();
        let status = assert_declared(&doc, method, template, &reply);
        seen.borrow_mut()
            .insert((method.to_owned(), template.to_owned(), status));
        reply
    };

    let t = "/api/v1/tenants/{tenant}";
    run("GET", "/api/v1/openapi.json", &[], None, None).await;
    run("GET", "/api/v1/me", &[], Some(&op), None).await;
    run("GET", "/api/v1/me", &[], None, None).await;
    run("GET", "/api/v1/tenants", &[], Some(&op), None).await;
    run("GET", "/api/v1/tenants", &[], Some(&admin), None).await;
    run("GET", "/api/v1/tenants", &[], Some(&mcp), None).await;
    run("GET", "/api/v1/tenants", &[], Some(&op), None).await;
    run(
        "POST",
        "/api/v1/tenants",
        &[],
        Some(&op),
        Some(json!({"name": "charlie", "plan": null})),
    )
    .await;
    run(
        "POST",
        "/api/v1/tenants",
        &[],
        Some(&op),
        Some(json!({"name": "charlie"})),
    )
    .await;
    run(
        "POST",
        "/api/v1/tenants",
        &[],
        Some(&op),
        Some(json!({"name": 1})),
    )
    .await;
    run(
        "POST",
        "/api/v1/tenants",
        &[],
        Some(&admin),
        Some(json!({"name": "x"})),
    )
    .await;
    run("GET", t, &[("tenant", "bravo")], Some(&member), None).await;
    run("GET", t, &[("tenant", &a_id)], Some(&admin), None).await;
    run("DELETE", t, &[("tenant", "bravo")], Some(&admin), None).await;
    run("DELETE", t, &[("tenant", "acme")], Some(&op), None).await;
    run("DELETE", t, &[("tenant", "charlie")], Some(&op), None).await;

    run("GET", "/api/v1/users", &[], Some(&op), None).await;
    run("GET", "/api/v1/users", &[], Some(&op), None).await;
    let user = run(
        "POST",
        "/api/v1/users",
        &[],
        Some(&op),
        Some(json!({"email": "e@x", "name": "E"})),
    )
    .await
    .json();
    let uid = user["id"].as_str().unwrap();
    run(
        "POST",
        "/api/v1/users",
        &[],
        Some(&op),
        Some(json!({"email": "e@x", "name": "E"})),
    )
    .await;
    run(
        "GET",
        "/api/v1/users/{user}",
        &[("user", uid)],
        Some(&op),
        None,
    )
    .await;
    run(
        "GET",
        "/api/v1/users/{user}",
        &[("user", "nope")],
        Some(&op),
        None,
    )
    .await;
    run(
        "DELETE",
        "/api/v1/users/{user}",
        &[("user", uid)],
        Some(&op),
        None,
    )
    .await;
    run(
        "DELETE",
        "/api/v1/users/{user}",
        &[("user", &fx.operator.user.id)],
        Some(&op),
        None,
    )
    .await;

    let m = "/api/v1/tenants/{tenant}/members";
    let mu = "/api/v1/tenants/{tenant}/members/{user}";
    run("GET", m, &[("tenant", "bravo")], Some(&admin), None).await;
    run(
        "GET",
        &format!("{m}?limit=1"),
        &[("tenant", "bravo")],
        Some(&admin),
        None,
    )
    .await;
    run("GET", m, &[("tenant", "bravo")], Some(&mcp), None).await;
    run(
        "POST",
        m,
        &[("tenant", "bravo")],
        Some(&admin),
        Some(json!({"user_id": newcomer, "role": "member"})),
    )
    .await;
    run(
        "POST",
        m,
        &[("tenant", "bravo")],
        Some(&admin),
        Some(json!({"user_id": newcomer, "role": "member"})),
    )
    .await;
    run(
        "POST",
        m,
        &[("tenant", "bravo")],
        Some(&admin),
        Some(json!({"user_id": newcomer, "role": "god"})),
    )
    .await;
    run(
        "PUT",
        mu,
        &[("tenant", "bravo"), ("user", &newcomer)],
        Some(&admin),
        Some(json!({"role": "admin"})),
    )
    .await;
    run(
        "PUT",
        mu,
        &[("tenant", "bravo"), ("user", &b_admin_user)],
        Some(&member),
        Some(json!({"role": "member"})),
    )
    .await;
    run(
        "PUT",
        mu,
        &[("tenant", "bravo"), ("user", &b_admin_user)],
        Some(&admin),
        Some(json!({"role": "member"})),
    )
    .await;
    run(
        "DELETE",
        mu,
        &[("tenant", "bravo"), ("user", &newcomer)],
        Some(&admin),
        None,
    )
    .await;
    run(
        "DELETE",
        mu,
        &[("tenant", "bravo"), ("user", &newcomer)],
        Some(&admin),
        None,
    )
    .await;

    let k = "/api/v1/tenants/{tenant}/tokens";
    let ki = "/api/v1/tenants/{tenant}/tokens/{id}";
    let created = run(
        "POST",
        k,
        &[("tenant", "bravo")],
        Some(&admin),
        Some(json!({"name": "ci", "scopes": ["mcp"], "expires_in_seconds": 60})),
    )
    .await
    .json();
    let kid = created["id"].as_str().unwrap();
    run(
        "POST",
        k,
        &[("tenant", "bravo")],
        Some(&admin),
        Some(json!({"name": "ci", "scopes": ["operator"]})),
    )
    .await;
    run(
        "POST",
        k,
        &[("tenant", "bravo")],
        Some(&admin),
        Some(json!({"name": "ci", "scopes": ["nope"]})),
    )
    .await;
    run(
        "POST",
        k,
        &[("tenant", "bravo")],
        Some(&member),
        Some(json!({"name": "ci", "scopes": ["mcp"], "user_id": b_admin_user})),
    )
    .await;
    run("GET", k, &[("tenant", "bravo")], Some(&admin), None).await;
    run("GET", k, &[("tenant", "bravo")], Some(&member), None).await;
    run(
        "GET",
        &format!("{k}?limit=x"),
        &[("tenant", "bravo")],
        Some(&admin),
        None,
    )
    .await;
    run(
        "GET",
        ki,
        &[("tenant", "bravo"), ("id", kid)],
        Some(&admin),
        None,
    )
    .await;
    run(
        "GET",
        ki,
        &[("tenant", "bravo"), ("id", kid)],
        Some(&member),
        None,
    )
    .await;
    run(
        "DELETE",
        ki,
        &[("tenant", "bravo"), ("id", kid)],
        Some(&admin),
        None,
    )
    .await;
    run(
        "DELETE",
        ki,
        &[("tenant", "bravo"), ("id", "nope")],
        Some(&admin),
        None,
    )
    .await;
    run(
        "DELETE",
        ki,
        &[("tenant", "bravo"), ("id", &fx.b_admin.token_id)],
        Some(&admin),
        None,
    )
    .await;

    let ms = "/api/v1/me/secrets";
    let msn = "/api/v1/me/secrets/{name}";
    let mine = &[("name", "GH_TOKEN")];
    run("PUT", msn, mine, Some(&member), Some(json!({"value": "v"}))).await;
    run("PUT", msn, mine, Some(&member), Some(json!({"value": ""}))).await;
    run("PUT", msn, mine, Some(&member), Some(json!({"nope": 1}))).await;
    run("PUT", msn, mine, None, Some(json!({"value": "v"}))).await;
    run(
        "PUT",
        msn,
        &[("name", "bad%20name")],
        Some(&member),
        Some(json!({"value": "v"})),
    )
    .await;
    run("GET", ms, &[], Some(&member), None).await;
    run(
        "GET",
        "/api/v1/me/secrets?limit=0",
        &[],
        Some(&member),
        None,
    )
    .await;
    run("GET", ms, &[], None, None).await;
    run("DELETE", msn, mine, Some(&member), None).await;
    run("DELETE", msn, mine, Some(&member), None).await;

    let s = "/api/v1/tenants/{tenant}/secrets";
    let sn = "/api/v1/tenants/{tenant}/secrets/{name}";
    run(
        "PUT",
        sn,
        &[("tenant", "bravo"), ("name", "API_KEY")],
        Some(&admin),
        Some(json!({"value": "v"})),
    )
    .await;
    run(
        "PUT",
        sn,
        &[("tenant", "bravo"), ("name", "API_KEY")],
        Some(&member),
        Some(json!({"value": "v"})),
    )
    .await;
    run(
        "PUT",
        sn,
        &[("tenant", "bravo"), ("name", "bad%20name")],
        Some(&admin),
        Some(json!({"value": "v"})),
    )
    .await;
    let reply = fx
        .raw(
            "PUT",
            &fill(sn, &[("tenant", "bravo"), ("name", "X")]),
            Some(&admin),
            Some(("text/plain", b"v".to_vec())),
        )
        .await;
    seen.borrow_mut().insert((
        "PUT".into(),
        sn.into(),
        assert_declared(&doc, "PUT", sn, &reply),
    ));
    run("GET", s, &[("tenant", "bravo")], Some(&member), None).await;
    run(
        "DELETE",
        sn,
        &[("tenant", "bravo"), ("name", "API_KEY")],
        Some(&admin),
        None,
    )
    .await;
    run(
        "DELETE",
        sn,
        &[("tenant", "bravo"), ("name", "API_KEY")],
        Some(&admin),
        None,
    )
    .await;

    run("GET", "/api/v1/plans", &[], Some(&member), None).await;
    let plan = "/api/v1/tenants/{tenant}/plan";
    run(
        "PUT",
        plan,
        &[("tenant", "bravo")],
        Some(&op),
        Some(json!({"plan": "pro"})),
    )
    .await;
    run(
        "PUT",
        plan,
        &[("tenant", "bravo")],
        Some(&op),
        Some(json!({"plan": "gold"})),
    )
    .await;
    run(
        "PUT",
        plan,
        &[("tenant", "bravo")],
        Some(&admin),
        Some(json!({"plan": "pro"})),
    )
    .await;
    let usage = "/api/v1/tenants/{tenant}/usage";
    run("GET", usage, &[("tenant", "bravo")], Some(&admin), None).await;
    run("GET", usage, &[("tenant", &a_id)], Some(&admin), None).await;
    run(
        "GET",
        "/api/v1/tenants/{tenant}/usage?from=9&to=1",
        &[("tenant", "bravo")],
        Some(&admin),
        None,
    )
    .await;
    run(
        "GET",
        "/api/v1/tenants/{tenant}/usage/events?tool=x",
        &[("tenant", "bravo")],
        Some(&admin),
        None,
    )
    .await;
    let audit = "/api/v1/tenants/{tenant}/audit";
    run("GET", audit, &[("tenant", "bravo")], Some(&admin), None).await;
    run("GET", audit, &[("tenant", "bravo")], Some(&member), None).await;
    run("GET", "/api/v1/audit", &[], Some(&op), None).await;
    run("GET", "/api/v1/audit", &[], Some(&admin), None).await;
    run("POST", "/api/v1/vault/rotate", &[], Some(&admin), None).await;
    run("POST", "/api/v1/vault/rotate", &[], Some(&op), None).await;
    let e = "/api/v1/tenants/{tenant}/endpoints";
    let es = "/api/v1/tenants/{tenant}/endpoints/{slug}";
    let et = "/api/v1/tenants/{tenant}/endpoints/{slug}/tools";
    let etn = "/api/v1/tenants/{tenant}/endpoints/{slug}/tools/{name}";
    let bravo = [("tenant", "bravo"), ("slug", "team"), ("name", "read")];
    let selection = json!({"upstream": "files", "tool": "read_file", "description": "Reads."});
    run(
        "POST",
        e,
        &bravo,
        Some(&admin),
        Some(json!({"slug": "team", "tools": [selection.clone()]})),
    )
    .await;
    run(
        "POST",
        e,
        &bravo,
        Some(&admin),
        Some(json!({"slug": "team"})),
    )
    .await;
    run(
        "POST",
        e,
        &bravo,
        Some(&admin),
        Some(json!({"slug": "Bad"})),
    )
    .await;
    run("POST", e, &bravo, Some(&member), Some(json!({"slug": "m"}))).await;
    run("GET", e, &bravo, Some(&member), None).await;
    run("GET", es, &bravo, Some(&member), None).await;
    run(
        "GET",
        es,
        &[("tenant", "bravo"), ("slug", "nope")],
        Some(&admin),
        None,
    )
    .await;
    run(
        "PATCH",
        es,
        &bravo,
        Some(&admin),
        Some(json!({"description": "d"})),
    )
    .await;
    run(
        "PATCH",
        es,
        &bravo,
        Some(&admin),
        Some(json!({"mode": "search"})),
    )
    .await;
    run(
        "PUT",
        et,
        &bravo,
        Some(&admin),
        Some(json!({"tools": [{"upstream": "files", "tool": "write_file"}]})),
    )
    .await;
    run("PUT", etn, &bravo, Some(&admin), Some(selection.clone())).await;
    run(
        "PUT",
        etn,
        &bravo,
        Some(&admin),
        Some(json!({"upstream": "nowhere", "tool": "x"})),
    )
    .await;
    run("DELETE", etn, &bravo, Some(&admin), None).await;
    run("DELETE", etn, &bravo, Some(&admin), None).await;
    run("DELETE", es, &bravo, Some(&admin), None).await;
    run("DELETE", es, &bravo, Some(&admin), None).await;
    // Registered APIs and servers (bravo's admin may, its member may not).
    for (kind, one) in [("apis", "pets"), ("servers", "tracker")] {
        let list = format!("{t}/{kind}");
        let item = format!("{t}/{kind}/{{name}}");
        let b = [("tenant", "bravo")];
        let named = [("tenant", "bravo"), ("name", one)];
        let (definition, replacement) = if kind == "apis" {
            (
                json!({"name": one, "definition": {}, "document": "{\"operationId\": \"list\"}"}),
                json!({"definition": {"mode": "search"}, "document": "{}"}),
            )
        } else {
            (
                json!({"name": one, "definition": {"url": "https://mcp.example.com/mcp"}}),
                json!({"definition": {"url": "https://mcp.example.com/v2/mcp"}}),
            )
        };
        run("POST", &list, &b, Some(&admin), Some(definition.clone()))
            .await
            .ok(201);
        run("POST", &list, &b, Some(&admin), Some(definition))
            .await
            .problem(409);
        run(
            "POST",
            &list,
            &b,
            Some(&member),
            Some(json!({"name": "x", "definition": {}})),
        )
        .await
        .problem(403);
        run(
            "POST",
            &list,
            &b,
            Some(&admin),
            Some(json!({"name": "a__b", "definition": {}})),
        )
        .await
        .problem(422);
        run(
            "POST",
            &list,
            &b,
            Some(&admin),
            Some(json!({"name": "x", "definition": {"invalid": true}})),
        )
        .await
        .problem(422);
        run("GET", &list, &b, Some(&admin), None).await.ok(200);
        run("GET", &item, &named, Some(&admin), None).await.ok(200);
        run("PUT", &item, &named, Some(&admin), Some(replacement))
            .await
            .ok(200);
        run("DELETE", &item, &named, Some(&admin), None).await;
        run("DELETE", &item, &named, Some(&admin), None)
            .await
            .problem(404);
    }
    let seen = seen.into_inner();

    // Every route was seen succeeding at least once.
    for (method, path) in ROUTES {
        assert!(
            seen.iter()
                .any(|(m, p, s)| m == method && p == path && *s < 300),
            "{method} {path} never succeeded in this test"
        );
    }
    let statuses: BTreeSet<u16> = seen.iter().map(|(_, _, s)| *s).collect();
    for status in [200, 201, 204, 400, 401, 403, 404, 409, 415, 422] {
        assert!(statuses.contains(&status), "no {status} was checked");
    }
}
