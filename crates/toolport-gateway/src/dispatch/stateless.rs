//! 2026-07-28 requests: no session, version and capabilities in every `_meta`, and server-to-client
//! requests turned into `input_required` results that the client answers by retrying.
//!
//! A call whose backend asks the client something is suspended: the backend request stays open,
//! the client receives `inputRequests` and an opaque `requestState`, and the retry carrying
//! `inputResponses` answers the backend and resumes waiting. A question the client declared no
//! capability for is refused to the backend, which decides whether to go on. Backends of older
//! revisions thus serve stateless clients unchanged. The same running call ([`SuspendedCall`])
//! serves a session client's call that may become a task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use toolport_protocol::{
    ErrorCode, Message, ProtocolVersion, Request, RequestId, Response, RpcError, meta,
};

use crate::admission::Caller;
use crate::gateway::Gateway;
use crate::session::{LOG_LEVELS, Scope, Session, Sink, log_rank};

/// How long a suspended call waits for the client's retry.
const SUSPEND_LIMIT: Duration = Duration::from_secs(600);

/// How long questions a backend asks together are gathered into one `input_required` round.
/// Questions wait for a person or a model, so this is short next to the round trip it saves.
const QUESTION_GATHERING: Duration = Duration::from_millis(20);

/// Methods that only exist in stateful revisions.
const STATEFUL_ONLY: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// What a stateless request declares about its client in `_meta`.
pub(crate) struct StatelessContext {
    pub version: ProtocolVersion,
    pub capabilities: Value,
    pub meta: serde_json::Map<String, Value>,
}

/// Reads and checks the `_meta` every 2026-07-28 request must carry.
pub(crate) fn stateless_context(request: &Request) -> Result<StatelessContext, RpcError> {
    let meta = request
        .params
        .as_ref()
        .and_then(meta::get)
        .cloned()
        .unwrap_or_default();
    let requested = meta
        .get(meta::PROTOCOL_VERSION_KEY)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RpcError::invalid_params(format!(
                "params._meta must carry {:?} (the protocol revision) on every request",
                meta::PROTOCOL_VERSION_KEY
            ))
        })?;
    let version =
        ProtocolVersion::parse(requested)
            .filter(|v| v.is_stateless())
            .ok_or_else(|| {
                RpcError::new(
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            format!("protocol revision {requested:?} is not supported without initialize"),
        )
        .with_data(json!({"supported": [ProtocolVersion::LATEST.as_str()], "requested": requested}))
            })?;
    let capabilities = meta
        .get(meta::CLIENT_CAPABILITIES_KEY)
        .cloned()
        .ok_or_else(|| {
            RpcError::invalid_params(format!(
                "params._meta must carry {:?} on every request",
                meta::CLIENT_CAPABILITIES_KEY
            ))
        })?;
    Ok(StatelessContext {
        version,
        capabilities,
        meta,
    })
}

/// A refused stateless request, for the HTTP edge to choose its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatelessError {
    /// 400: invalid `_meta`, header mismatch, unsupported version, missing capability.
    BadRequest,
    /// 404: a method that does not exist in this revision.
    NotFound,
}

impl StatelessError {
    /// The HTTP class of a JSON-RPC error code in a stateless exchange.
    pub fn of(code: ErrorCode) -> Option<Self> {
        match code {
            ErrorCode::METHOD_NOT_FOUND => Some(Self::NotFound),
            ErrorCode::INVALID_PARAMS
            | ErrorCode::HEADER_MISMATCH
            | ErrorCode::MISSING_CLIENT_CAPABILITY
            | ErrorCode::UNSUPPORTED_PROTOCOL_VERSION => Some(Self::BadRequest),
            _ => None,
        }
    }
}

/// A call running in its own tokio task, with the messages related to it: suspended while its
/// client answers, driven while it waits, or adopted as a task ([`super::tasks`]).
pub(crate) struct SuspendedCall {
    pub(super) session: Arc<Session>,
    pub(super) task: JoinHandle<Response>,
    pub(super) related: mpsc::UnboundedReceiver<Message>,
    /// Questions asked and not yet answered, by key.
    pub(super) asked: BTreeMap<String, Value>,
    since: Instant,
    /// How long to wait for the answer before the call becomes a task; `None` never does.
    window: Option<Duration>,
}

impl SuspendedCall {
    /// Runs `request` as an ordinary call in its own tokio task, keeping its related messages.
    pub(super) fn start(
        gateway: &Arc<Gateway>,
        session: Arc<Session>,
        request: Request,
        window: Option<Duration>,
    ) -> Self {
        let (related_tx, related) = mpsc::unbounded_channel();
        let gateway = gateway.clone();
        let call_session = session.clone();
        let task = tokio::spawn(async move {
            gateway
                .answer_request(&call_session, request, &related_tx)
                .await
        });
        Self {
            session,
            task,
            related,
            asked: BTreeMap::new(),
            since: Instant::now(),
            window,
        }
    }
}

impl Drop for SuspendedCall {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gateway {
    /// Serves one stateless request. Progress and other notifications for it go to `sink`.
    pub async fn handle_stateless(
        self: &Arc<Self>,
        scope: Scope,
        caller: Option<Arc<Caller>>,
        request: Request,
        sink: &Sink,
    ) -> Response {
        let id = request.id.clone();
        match self.stateless(scope, caller, request, sink).await {
            Ok(response) => response,
            Err(error) => Response::error(id, error),
        }
    }

    async fn stateless(
        self: &Arc<Self>,
        scope: Scope,
        caller: Option<Arc<Caller>>,
        mut request: Request,
        sink: &Sink,
    ) -> Result<Response, RpcError> {
        let id = request.id.clone();
        let StatelessContext {
            version,
            capabilities,
            meta,
        } = stateless_context(&request)?;
        if STATEFUL_ONLY.contains(&request.method.as_str()) {
            return Err(RpcError::method_not_found(&format!(
                "{} (it does not exist in protocol revision {version})",
                request.method
            )));
        }
        if let Some(state) = request
            .params
            .as_mut()
            .and_then(|p| p.as_object_mut())
            .and_then(|p| p.remove("requestState"))
        {
            let answers = request
                .params
                .as_mut()
                .and_then(|p| p.as_object_mut())
                .and_then(|p| p.remove("inputResponses"));
            return self
                .resume(state, caller.as_deref(), answers, request.id, sink)
                .await;
        }
        let session = self.stateless_session(scope, caller, sink.clone());
        // Set before the task decision, which reads the client's capabilities.
        {
            let mut state = session.state.lock().expect("session lock");
            state.version = version;
            state.client_capabilities = capabilities;
            state.client_info = meta
                .get(meta::CLIENT_INFO_KEY)
                .cloned()
                .unwrap_or(Value::Null);
            state.initialized = true;
            // Without a logLevel a stateless client receives no log messages at all.
            state.log_level = Some(
                meta.get("io.modelcontextprotocol/logLevel")
                    .and_then(Value::as_str)
                    .and_then(log_rank)
                    .unwrap_or(LOG_LEVELS.len()),
            );
        }
        let window = self.task_window(&session, &request).await;
        let call = SuspendedCall::start(self, session, request, window);
        self.drive(call, id, sink).await
    }

    /// Waits for a call's result, passing notifications on. A stateless client's call is
    /// suspended at the first question (a session's client gets it on `sink`); a call still
    /// running when its window closes becomes a task.
    pub(super) async fn drive(
        self: &Arc<Self>,
        mut call: SuspendedCall,
        id: RequestId,
        sink: &Sink,
    ) -> Result<Response, RpcError> {
        let mut deadline = call.window.map(|w| tokio::time::Instant::now() + w);
        loop {
            tokio::select! {
                () = until(deadline) => {
                    match self.adopt_task(call) {
                        Ok(created) => return Ok(Response::ok(id, created)),
                        // Its tenant holds too many tasks: the call is answered synchronously.
                        Err(back) => {
                            call = *back;
                            call.window = None;
                            deadline = None;
                        }
                    }
                }
                joined = &mut call.task => {
                    // Notifications relayed before the answer go out before it.
                    while let Ok(message) = call.related.try_recv() {
                        let _ = sink.send(message);
                    }
                    let mut response = joined.map_err(|e| RpcError::internal(format!("the call failed: {e}")))?;
                    response.id = id;
                    return Ok(response);
                }
                message = call.related.recv() => match message {
                    Some(Message::Request(question)) if call.session.stateful => {
                        let _ = sink.send(Message::Request(question));
                    }
                    Some(Message::Request(question)) => {
                        ask(&mut call, question);
                        // A backend may ask several things at once: they go in one round.
                        let gathering = tokio::time::sleep(QUESTION_GATHERING);
                        tokio::pin!(gathering);
                        loop {
                            tokio::select! {
                                () = &mut gathering => break,
                                message = call.related.recv() => match message {
                                    Some(Message::Request(question)) => ask(&mut call, question),
                                    Some(other) => { let _ = sink.send(other); }
                                    None => break,
                                },
                            }
                        }
                        // Every question was refused: the backend goes on without, or fails.
                        if call.asked.is_empty() {
                            continue;
                        }
                        let asked = call.asked.clone();
                        let result = input_required(&asked, self.suspend(call));
                        return Ok(Response::ok(id, result));
                    }
                    Some(other) => { let _ = sink.send(other); }
                    None => {}
                }
            }
        }
    }

    /// A client's retry: answers the backend's questions and resumes the call.
    async fn resume(
        self: &Arc<Self>,
        state: Value,
        caller: Option<&Caller>,
        answers: Option<Value>,
        id: RequestId,
        sink: &Sink,
    ) -> Result<Response, RpcError> {
        let token = state.as_str().unwrap_or_default();
        let unknown = || {
            RpcError::invalid_params(
                "unknown or expired requestState: send the original request again without it",
            )
        };
        let mut call = {
            let mut suspended = self.suspended.lock().expect("suspended lock");
            // Another caller's suspended call does not exist for this one.
            let owned = suspended.get(token).is_some_and(|call| {
                match (call.session.caller.as_deref(), caller) {
                    (None, None) => true,
                    (Some(owner), Some(caller)) => owner.same_user(caller),
                    _ => false,
                }
            });
            if !owned {
                return Err(unknown());
            }
            suspended.remove(token).ok_or_else(unknown)?
        };
        if let Some(Value::Object(answers)) = answers {
            answer_questions(&call.session, &mut call.asked, &answers);
        }
        if !call.asked.is_empty() {
            let asked = call.asked.clone();
            return Ok(Response::ok(id, input_required(&asked, self.suspend(call))));
        }
        self.drive(call, id, sink).await
    }

    /// Parks a call under a fresh unguessable token; forgets calls parked too long.
    fn suspend(&self, call: SuspendedCall) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut suspended = self.suspended.lock().expect("suspended lock");
        suspended.retain(|_, c| c.since.elapsed() < SUSPEND_LIMIT);
        suspended.insert(token.clone(), call);
        token
    }
}

/// Passes the client's answers to the backend's questions (`asked`, by key) they match, taking
/// those questions off; answers to questions nobody asked are ignored.
pub(super) fn answer_questions(
    session: &Session,
    asked: &mut BTreeMap<String, Value>,
    answers: &serde_json::Map<String, Value>,
) {
    for (key, answer) in answers {
        if asked.remove(key).is_none() {
            continue;
        }
        let relayed = session.relayed.lock().expect("relayed lock").remove(key);
        if let Some(r) = relayed {
            let _ = r.peer.respond(Response::ok(r.upstream_id, answer.clone()));
        }
    }
}

/// Answers a backend's question with -32021 when the client has not declared the capability it
/// needs, as the client itself would, naming the capability in `data.requiredCapabilities`; the
/// backend then decides whether its call can go on without. Whether it did.
pub(super) fn refuse_unsupported(session: &Session, question: &Request) -> bool {
    let Some(capability) = required_capability(&question.method) else {
        return false;
    };
    if session.has_capability(capability) {
        return false;
    }
    let key = relayed_key(&question.id);
    if let Some(r) = session.relayed.lock().expect("relayed lock").remove(&key) {
        let refusal = RpcError::new(
            ErrorCode::MISSING_CLIENT_CAPABILITY,
            format!("the client did not declare the {capability:?} capability"),
        )
        .with_data(json!({"requiredCapabilities": {capability: {}}}));
        let _ = r.peer.respond(Response::error(r.upstream_id, refusal));
    }
    true
}

/// A backend's question as an input request: the key the client answers under, and
/// `{method, params}`.
pub(super) fn input_request(question: Request) -> (String, Value) {
    let params = question.params.unwrap_or_else(|| json!({}));
    (
        relayed_key(&question.id),
        json!({"method": question.method, "params": params}),
    )
}

/// Adds a backend's question to a stateless call's input requests, unless the client cannot
/// answer it.
fn ask(call: &mut SuspendedCall, question: Request) {
    if refuse_unsupported(&call.session, &question) {
        return;
    }
    let (key, request) = input_request(question);
    call.asked.insert(key, request);
}

/// Resolves at `deadline`, or never without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn relayed_key(id: &RequestId) -> String {
    match id {
        RequestId::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn required_capability(method: &str) -> Option<&'static str> {
    match method {
        "sampling/createMessage" => Some("sampling"),
        "elicitation/create" => Some("elicitation"),
        "roots/list" => Some("roots"),
        _ => None,
    }
}

fn input_required(asked: &BTreeMap<String, Value>, token: String) -> Value {
    json!({
        "resultType": "input_required",
        "inputRequests": asked,
        "requestState": token,
    })
}
