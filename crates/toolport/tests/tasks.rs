//! The tasks extension through the gateway: a task-supporting tool call that outlasts the
//! synchronous window becomes a task the client polls, answers and cancels, over a fixture
//! backend that knows nothing of tasks; clients without the extension get ordinary calls.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{
    Client, TestGateway, config, fixture_stdio, post_stateless, server, stateless_request,
};

const TASKS: &str = "io.modelcontextprotocol/tasks";

fn with_tasks() -> Value {
    json!({"elicitation": {}, "extensions": {TASKS: {}}})
}

async fn gateway() -> (TestGateway, Client) {
    let gw = TestGateway::start(config(vec![server("fx", fixture_stdio(&[]))])).await;
    gw.ready().await;
    let client = Client::new(format!("{}/mcp", gw.base));
    (gw, client)
}

/// A stateless request's answer (result or error) with the extension declared.
async fn ask(client: &Client, method: &str, params: Value) -> Value {
    let reply = post_stateless(client, stateless_request(1, method, params, with_tasks())).await;
    reply.answer(1).clone()
}

async fn call(client: &Client, tool: &str, arguments: Value) -> Value {
    ask(
        client,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
    .await["result"]
        .clone()
}

/// Polls `tasks/get` until the task's status is `status` (or it ended).
async fn poll_until(client: &Client, task: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let got = ask(client, "tasks/get", json!({"taskId": task})).await["result"].clone();
        let now = got["status"].as_str().unwrap_or_default().to_owned();
        if now == status || ["completed", "failed", "cancelled"].contains(&now.as_str()) {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {task} never became {status}: {got}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the fixture has received exactly one `notifications/cancelled`.
async fn backend_heard_one_cancellation(gw: &TestGateway) {
    let session = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    support::wait_for_async(
        "the cancellation to reach the backend",
        Duration::from_secs(10),
        async || {
            let counts = support::upstream_counts(&session, "fx__call_count").await;
            counts["methods"]["notifications/cancelled"] == json!(1)
        },
    )
    .await;
}

#[tokio::test]
async fn a_slow_call_becomes_a_task_that_is_polled_to_its_result() {
    let (gw, client) = gateway().await;
    let discover = ask(&client, "server/discover", json!({})).await;
    assert_eq!(
        discover["result"]["capabilities"]["extensions"][TASKS],
        json!({})
    );

    let created = call(
        &client,
        "fx__slow_compute",
        json!({"seconds": 1, "label": "a"}),
    )
    .await;
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working");
    assert!(created["ttlMs"].as_u64().unwrap() > 0);
    assert!(created["pollIntervalMs"].as_u64().unwrap() > 0);
    for key in ["createdAt", "lastUpdatedAt"] {
        let at = created[key].as_str().unwrap();
        assert!(
            at.len() >= 20 && at.as_bytes()[10] == b'T',
            "{key} is ISO 8601: {at}"
        );
    }
    for absent in ["result", "error", "inputRequests", "requestState", "task"] {
        assert!(created.get(absent).is_none(), "{absent} in {created}");
    }
    let id = created["taskId"].as_str().unwrap().to_owned();
    // It exists at once.
    let first = ask(&client, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(first["result"]["status"], "working", "{first}");
    assert_eq!(first["result"]["resultType"], "complete");

    let done = poll_until(&client, &id, "completed").await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "computed a in 1s");

    // A fast call is answered directly.
    let fast = call(&client, "fx__slow_compute", json!({"seconds": 0})).await;
    assert_eq!(fast["resultType"], "complete", "{fast}");
    assert!(fast.get("taskId").is_none());
    // A tool without task support never becomes a task, whatever the client sends.
    let greet = ask(
        &client,
        "tools/call",
        json!({"name": "fx__greet", "arguments": {"name": "x"}, "task": {"ttl": 1000}}),
    )
    .await;
    assert_eq!(greet["result"]["content"][0]["text"], "Hello, x!");

    // The task is its endpoint's: another endpoint does not know it.
    let elsewhere = Client::new(format!("{}/mcp/fx", gw.base));
    let unknown = ask(&elsewhere, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let unknown = ask(&client, "tasks/get", json!({"taskId": "no-such-task"})).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    // The 2025-11-25 methods the extension removed.
    for removed in ["tasks/result", "tasks/list"] {
        let answer = ask(&client, removed, json!({"taskId": id})).await;
        assert_eq!(answer["error"]["code"], -32601, "{removed}: {answer}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn tool_errors_complete_protocol_errors_fail_and_cancel_stops_the_call() {
    let (gw, client) = gateway().await;
    let failing = call(&client, "fx__failing_job", json!({})).await;
    let failing = poll_until(&client, failing["taskId"].as_str().unwrap(), "completed").await;
    assert_eq!(failing["status"], "completed", "{failing}");
    assert_eq!(failing["result"]["isError"], true);

    let crashed = call(&client, "fx__protocol_error_job", json!({})).await;
    let crashed = poll_until(&client, crashed["taskId"].as_str().unwrap(), "failed").await;
    assert_eq!(crashed["status"], "failed", "{crashed}");
    assert_eq!(crashed["error"]["code"], -32603);
    assert!(
        crashed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("crashed")
    );
    assert!(crashed.get("result").is_none());

    let long = call(&client, "fx__slow_compute", json!({"seconds": 60})).await;
    let id = long["taskId"].as_str().unwrap().to_owned();
    let ack = ask(&client, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(ack["result"], json!({"resultType": "complete"}), "{ack}");
    let cancelled = ask(&client, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(cancelled["result"]["status"], "cancelled");
    // Cancelling again changes nothing and says so the same way.
    let again = ask(&client, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(again["result"], json!({"resultType": "complete"}));
    backend_heard_one_cancellation(&gw).await;
    gw.stop().await;
}

#[tokio::test]
async fn a_tasks_questions_are_answered_with_tasks_update() {
    let (gw, client) = gateway().await;
    let created = call(&client, "fx__confirm_delete", json!({"filename": "a.txt"})).await;
    assert_eq!(created["resultType"], "task", "{created}");
    let id = created["taskId"].as_str().unwrap().to_owned();
    let waiting = poll_until(&client, &id, "input_required").await;
    assert_eq!(waiting["status"], "input_required", "{waiting}");
    let requests = waiting["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1);
    let (key, question) = requests.iter().next().unwrap();
    assert_eq!(question["method"], "elicitation/create");
    // Answers to questions nobody asked are ignored.
    let ignored = ask(
        &client,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {"nobody-asked": {}}}),
    )
    .await;
    assert_eq!(ignored["result"], json!({"resultType": "complete"}));
    let ack = ask(
        &client,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {
        key.clone(): {"action": "accept", "content": {"confirm": true}}}}),
    )
    .await;
    assert_eq!(ack["result"], json!({"resultType": "complete"}), "{ack}");
    let done = poll_until(&client, &id, "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "deleted a.txt");

    // Two questions at once, answered one at a time.
    let created = call(&client, "fx__multi_input", json!({})).await;
    let id = created["taskId"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let keys: Vec<String> = loop {
        let got = poll_until(&client, &id, "input_required").await;
        let keys: Vec<String> = got["inputRequests"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if keys.len() == 2 {
            break keys;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let answer = json!({"action": "accept", "content": {"name": "Ada", "confirm": true}});
    ask(
        &client,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {keys[0].clone(): answer}}),
    )
    .await;
    let partial = ask(&client, "tasks/get", json!({"taskId": id})).await["result"].clone();
    assert_eq!(partial["status"], "input_required");
    let left: Vec<&String> = partial["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(left, vec![&keys[1]]);
    ask(
        &client,
        "tasks/update",
        json!({"taskId": id, "inputResponses": {keys[1].clone(): answer}}),
    )
    .await;
    let done = poll_until(&client, &id, "completed").await;
    assert_eq!(
        done["result"]["content"][0]["text"],
        "Ada agreed to proceed"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_question_before_the_window_closes_is_a_round_trip_then_the_call_becomes_a_task() {
    let (gw, client) = gateway().await;
    let params = json!({"name": "fx__test_tool_with_task", "arguments": {}});
    let first = ask(&client, "tools/call", params.clone()).await["result"].clone();
    assert_eq!(first["resultType"], "input_required", "{first}");
    assert!(first.get("taskId").is_none());
    let key = first["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let mut retry = params;
    retry["inputResponses"] = json!({key: {"action": "accept", "content": {"name": "Alice"}}});
    retry["requestState"] = first["requestState"].clone();
    let second = ask(&client, "tools/call", retry).await["result"].clone();
    assert_eq!(second["resultType"], "task", "{second}");
    assert!(second.get("requestState").is_none());
    let done = poll_until(&client, second["taskId"].as_str().unwrap(), "completed").await;
    assert_eq!(done["result"]["content"][0]["text"], "Hello, Alice!");
    gw.stop().await;
}

#[tokio::test]
async fn clients_without_the_extension_get_ordinary_calls() {
    let (gw, client) = gateway().await;
    let plain = |id, method: &str, params| stateless_request(id, method, params, json!({}));
    // A task-supporting tool runs as an ordinary call.
    let sync = post_stateless(
        &client,
        plain(
            1,
            "tools/call",
            json!({"name": "fx__slow_compute", "arguments": {"seconds": 1}}),
        ),
    )
    .await;
    assert_eq!(sync.result(1)["content"][0]["text"], "computed job in 1s");
    // One that runs only as a task is refused, naming the extension.
    let required = post_stateless(
        &client,
        plain(
            2,
            "tools/call",
            json!({"name": "fx__failing_job", "arguments": {}}),
        ),
    )
    .await;
    assert_eq!(required.status, 400);
    let error = required.error(2);
    assert_eq!(error["code"], -32021);
    assert_eq!(
        error["data"]["requiredCapabilities"]["extensions"][TASKS],
        json!({})
    );
    assert!(error["message"].as_str().unwrap().contains(TASKS));
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let refused = post_stateless(
            &client,
            plain(3, method, json!({"taskId": "t", "inputResponses": {}})),
        )
        .await;
        assert_eq!(refused.error(3)["code"], -32021, "{method}");
    }
    // The per-request declaration is enough.
    let mut opted = plain(
        4,
        "tools/call",
        json!({"name": "fx__slow_compute", "arguments": {"seconds": 1}}),
    );
    opted["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] =
        json!({"extensions": {TASKS: {}}});
    let opted = post_stateless(&client, opted).await;
    assert_eq!(opted.result(4)["resultType"], "task");

    // A session client of an older revision is left to the backend: an ordinary call.
    let session = Client::connect(format!("{}/mcp", gw.base), "2025-11-25").await;
    let result = session.call(5, "fx__failing_job", json!({})).await;
    assert_eq!(result["isError"], true, "{result}");
    // One that declared the extension gets tasks too.
    let session = Client::connect_with(
        format!("{}/mcp", gw.base),
        "2025-11-25",
        json!({"extensions": {TASKS: {}}}),
    )
    .await;
    let created = session
        .call(6, "fx__slow_compute", json!({"seconds": 1, "label": "s"}))
        .await;
    assert_eq!(created["resultType"], "task", "{created}");
    let id = created["taskId"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let got = session.request(7, "tasks/get", json!({"taskId": id})).await;
        let got = got.result(7).clone();
        if got["status"] == "completed" {
            assert_eq!(got["result"]["content"][0]["text"], "computed s in 1s");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_task_is_forgotten_after_its_time_to_live_and_its_call_stopped() {
    let mut cfg = config(vec![server("fx", fixture_stdio(&[]))]);
    cfg.settings.tasks.ttl = Duration::from_secs(1);
    let gw = TestGateway::start(cfg).await;
    gw.ready().await;
    let client = Client::new(format!("{}/mcp", gw.base));
    let created = call(&client, "fx__slow_compute", json!({"seconds": 60})).await;
    assert_eq!(created["ttlMs"], 1000, "{created}");
    let id = created["taskId"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let gone = ask(&client, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(gone["error"]["code"], -32602, "{gone}");
    backend_heard_one_cancellation(&gw).await;
    gw.stop().await;
}

#[tokio::test]
async fn a_question_the_client_cannot_answer_is_refused_to_the_backend() {
    let (gw, client) = gateway().await;
    // The client declares the extension but not elicitation.
    let body = stateless_request(
        1,
        "tools/call",
        json!({"name": "fx__confirm_delete", "arguments": {"filename": "x"}}),
        json!({"extensions": {TASKS: {}}}),
    );
    let created = post_stateless(&client, body).await.result(1).clone();
    let id = created["taskId"].as_str().unwrap().to_owned();
    let ended = poll_until(&client, &id, "failed").await;
    assert_eq!(ended["status"], "failed", "{ended}");
    assert_eq!(ended["error"]["code"], -32021, "{ended}");
    gw.stop().await;
}
