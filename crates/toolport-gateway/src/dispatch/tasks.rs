//! The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`): a tool call whose backend
//! marks the tool task-supporting (`execution.taskSupport`) and that has not answered within the
//! synchronous window becomes a task. The client polls it with `tasks/get`, answers the
//! backend's questions with `tasks/update` and stops it with `tasks/cancel`.
//!
//! The gateway runs the task itself over the backend's ordinary request, so backends of every
//! revision serve task-capable clients: the call keeps running in its own tokio task, the
//! backend's server-to-client requests become the task's `inputRequests`, and its answer (or
//! error) is inlined in `tasks/get`. A task belongs to the caller and endpoint that created it;
//! anyone else gets the error of an unknown task.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::task::AbortHandle;
use toolport_protocol::{Message, Request, RpcError, meta};

use super::stateless::{SuspendedCall, answer_questions, input_request, refuse_unsupported};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::registry::ListKind;
use crate::session::{Grant, Session};
use crate::view::{BackendView, TaskSupport};

/// The extension's identifier in `capabilities.extensions`.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// How often clients are told to poll a task.
const POLL_INTERVAL_MS: u64 = 500;

/// Tasks one tenant (or, without tenancy, everyone) may hold at once; beyond it calls are
/// answered synchronously, as for a client without the extension.
const MAX_TASKS_PER_TENANT: usize = 1_000;

/// The task methods of the extension.
pub(super) const TASK_METHODS: [&str; 3] = ["tasks/get", "tasks/update", "tasks/cancel"];

/// The 2025-11-25 task methods the extension removed.
pub(super) const REMOVED_TASK_METHODS: [&str; 2] = ["tasks/result", "tasks/list"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::InputRequired => "input_required",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// One task: the call's session (its caller, endpoint and relayed questions) and its state.
pub(crate) struct ClientTask {
    session: Arc<Session>,
    status: Status,
    created_at: SystemTime,
    updated_at: SystemTime,
    expires: Instant,
    ttl: Duration,
    /// The backend's unanswered questions, by the key the client answers under.
    asked: BTreeMap<String, Value>,
    /// The call's result, or its error, once it ended.
    outcome: Option<Result<Value, RpcError>>,
    runner: AbortHandle,
}

impl ClientTask {
    fn touch(&mut self, status: Status) {
        self.status = status;
        self.updated_at = SystemTime::now();
    }

    /// The task as `tasks/get` shows it (`detailed`) or as the call that created it returns it.
    fn view(&self, id: &str, detailed: bool) -> Value {
        let mut view = json!({
            "taskId": id,
            "status": self.status.as_str(),
            "createdAt": humantime::format_rfc3339_millis(self.created_at).to_string(),
            "lastUpdatedAt": humantime::format_rfc3339_millis(self.updated_at).to_string(),
            "ttlMs": u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX),
            "pollIntervalMs": POLL_INTERVAL_MS,
        });
        if !detailed {
            view["resultType"] = json!("task");
            return view;
        }
        match (&self.outcome, self.status) {
            (Some(Ok(result)), Status::Completed) => view["result"] = result.clone(),
            (Some(Err(error)), Status::Failed) => view["error"] = json!(error),
            (_, Status::InputRequired) => view["inputRequests"] = json!(self.asked),
            _ => {}
        }
        view
    }

    /// Whether `session` (a later request) may see this task: the same caller, on the same
    /// endpoint.
    fn visible_to(&self, session: &Session) -> bool {
        let same_caller = match (self.session.caller.as_deref(), session.caller.as_deref()) {
            (None, None) => true,
            (Some(owner), Some(caller)) => owner.same_user(caller),
            _ => false,
        };
        same_caller && self.session.scope == session.scope
    }

    /// Takes the backend's pending questions back from the session (nobody will answer them).
    fn forget_questions(&mut self) {
        let mut relayed = self.session.relayed.lock().expect("relayed lock");
        for key in std::mem::take(&mut self.asked).into_keys() {
            relayed.remove(&key);
        }
    }
}

/// Whether the client declared the extension, for the session or in this request's `_meta`.
pub(super) fn negotiated(session: &Session, request: &Request) -> bool {
    let declares = |capabilities: Option<&Value>| {
        capabilities
            .and_then(|c| c.get("extensions"))
            .and_then(|e| e.get(TASKS_EXTENSION))
            .is_some()
    };
    declares(Some(
        &session
            .state
            .lock()
            .expect("session lock")
            .client_capabilities,
    )) || declares(
        request
            .params
            .as_ref()
            .and_then(meta::get)
            .and_then(|m| m.get(meta::CLIENT_CAPABILITIES_KEY)),
    )
}

/// An ordinary call of a tool that runs only as a task: a stateless client without the
/// extension is refused (-32021); a session client of an older revision is left to the backend,
/// which may speak the 2025-11-25 tasks.
pub(super) fn refuse_required(
    session: &Session,
    request: &Request,
    view: &BackendView,
    original: &str,
) -> Result<(), GatewayError> {
    if session.stateful
        || view.task_tools.get(original) != Some(&TaskSupport::Required)
        || negotiated(session, request)
    {
        return Ok(());
    }
    Err(GatewayError::TasksExtensionRequired(format!(
        "tool {:?} runs only as a task",
        request.str_param("name").unwrap_or(original)
    )))
}

impl Gateway {
    /// The synchronous window after which a `tools/call` becomes a task, for a client that
    /// declared the extension and a tool its backend marks task-supporting; `None` runs it as an
    /// ordinary call (where [`refuse_required`] applies).
    pub(crate) async fn task_window(
        &self,
        session: &Arc<Session>,
        request: &Request,
    ) -> Option<Duration> {
        if request.method != "tools/call" || !negotiated(session, request) {
            return None;
        }
        self.task_support(session, request).await?;
        Some(self.config().settings.tasks.sync_window)
    }

    /// Whether the backend declared the called tool task-supporting.
    async fn task_support(&self, session: &Arc<Session>, request: &Request) -> Option<TaskSupport> {
        let exposed = request.str_param("name").ok()?;
        self.prepare_call(session, exposed).await.ok()?;
        let (view, original) = self
            .resolve_name(
                &session.scope,
                session.grant.as_ref(),
                session.caller.as_deref(),
                exposed,
                ListKind::Tools,
            )
            .ok()?;
        view.task_tools.get(&original).copied()
    }

    /// Turns a running call into a task; gives the call back when its tenant holds too many.
    pub(super) fn adopt_task(
        self: &Arc<Self>,
        call: SuspendedCall,
    ) -> Result<Value, Box<SuspendedCall>> {
        let ttl = self.config().settings.tasks.ttl;
        let mut tasks = self.client_tasks.lock().expect("tasks lock");
        tasks.sweep();
        let grant = call.session.grant.clone();
        if count_of(&tasks, grant.as_ref()) >= MAX_TASKS_PER_TENANT {
            tracing::warn!(
                limit = MAX_TASKS_PER_TENANT,
                "too many tasks held: answering the call synchronously"
            );
            return Err(Box::new(call));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = SystemTime::now();
        let session = call.session.clone();
        let asked = call.asked.clone();
        let runner = tokio::spawn(self.clone().run_task(id.clone(), call)).abort_handle();
        let task = ClientTask {
            session,
            status: if asked.is_empty() {
                Status::Working
            } else {
                Status::InputRequired
            },
            created_at: now,
            updated_at: now,
            expires: Instant::now() + ttl,
            ttl,
            asked,
            outcome: None,
            runner,
        };
        let created = task.view(&id, false);
        tasks.tasks.insert(id, task);
        Ok(created)
    }

    /// Follows a task's call to its end: its questions become input requests, its answer the
    /// task's outcome. Stops (abandoning the call) on shutdown.
    async fn run_task(self: Arc<Self>, id: String, mut call: SuspendedCall) {
        let mut related_open = true;
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                joined = &mut call.task => {
                    let outcome = joined
                        .map_err(|e| RpcError::internal(format!("the call failed: {e}")))
                        .and_then(|response| response.outcome);
                    self.end_task(&id, outcome);
                    return;
                }
                message = call.related.recv(), if related_open => match message {
                    // The backend hears of a question the client cannot answer and decides.
                    Some(Message::Request(question))
                        if refuse_unsupported(&call.session, &question) => {}
                    Some(Message::Request(question)) => {
                        let (key, request) = input_request(question);
                        self.update_task(&id, |task| {
                            task.asked.insert(key, request);
                            task.touch(Status::InputRequired);
                        });
                    }
                    // A task's progress and log messages have no stream to go to.
                    Some(_) => {}
                    None => related_open = false,
                },
            }
        }
    }

    /// Records how a task's call ended.
    fn end_task(&self, id: &str, outcome: Result<Value, RpcError>) {
        self.update_task(id, |task| {
            task.forget_questions();
            let status = if outcome.is_ok() {
                Status::Completed
            } else {
                Status::Failed
            };
            task.outcome = Some(outcome);
            task.touch(status);
        });
    }

    /// Changes a task that has not ended yet.
    fn update_task(&self, id: &str, change: impl FnOnce(&mut ClientTask)) {
        let mut tasks = self.client_tasks.lock().expect("tasks lock");
        if let Some(task) = tasks.get_mut(id).filter(|t| !t.status.is_terminal()) {
            change(task);
        }
    }

    /// `tasks/get`, `tasks/update` and `tasks/cancel` of a client that declared the extension.
    pub(super) fn task_request(
        &self,
        session: &Session,
        request: &Request,
    ) -> Result<Value, GatewayError> {
        let id = request
            .str_param("taskId")
            .map_err(|e| GatewayError::InvalidParams(e.message))?;
        let mut tasks = self.client_tasks.lock().expect("tasks lock");
        tasks.sweep();
        let task = tasks
            .get_mut(id)
            .filter(|t| t.visible_to(session))
            .ok_or_else(|| GatewayError::UnknownTask(id.to_owned()))?;
        match request.method.as_str() {
            "tasks/get" => Ok(task.view(id, true)),
            "tasks/update" => {
                let answers = match request
                    .params
                    .as_ref()
                    .and_then(|p| p.get("inputResponses"))
                {
                    Some(Value::Object(answers)) => answers,
                    _ => {
                        return Err(GatewayError::InvalidParams(
                            "tasks/update needs params.inputResponses: an object of answers keyed like the task's inputRequests".into(),
                        ));
                    }
                };
                answer_task(task, answers);
                Ok(json!({}))
            }
            _ => {
                if !task.status.is_terminal() {
                    task.runner.abort();
                    task.forget_questions();
                    task.touch(Status::Cancelled);
                }
                Ok(json!({}))
            }
        }
    }
}

/// Passes the client's answers to the task's questions; the task works again once nothing is
/// left to answer.
fn answer_task(task: &mut ClientTask, answers: &serde_json::Map<String, Value>) {
    if task.status.is_terminal() {
        return;
    }
    answer_questions(&task.session, &mut task.asked, answers);
    if task.asked.is_empty() && task.status == Status::InputRequired {
        task.touch(Status::Working);
    }
}

/// Every task, by id, and when expired ones are next looked for.
#[derive(Default)]
pub(crate) struct TaskTable {
    tasks: HashMap<String, ClientTask>,
    next_sweep: Option<Instant>,
}

impl TaskTable {
    /// How often expired tasks are looked for: polls come often, and each sweep reads every task.
    const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

    /// Forgets tasks whose time to live has passed, stopping those still running.
    fn sweep(&mut self) {
        let now = Instant::now();
        if self.next_sweep.is_some_and(|next| now < next) {
            return;
        }
        self.next_sweep = Some(now + Self::SWEEP_INTERVAL);
        self.tasks.retain(|_, task| {
            let keep = task.expires > now;
            if !keep {
                task.runner.abort();
                task.forget_questions();
            }
            keep
        });
    }

    /// A task that has not expired, even if no sweep has removed it yet.
    fn get_mut(&mut self, id: &str) -> Option<&mut ClientTask> {
        let now = Instant::now();
        self.tasks.get_mut(id).filter(|task| task.expires > now)
    }
}

fn count_of(tasks: &TaskTable, grant: Option<&Grant>) -> usize {
    tasks
        .tasks
        .values()
        .filter(|t| t.session.grant.as_ref() == grant)
        .count()
}
