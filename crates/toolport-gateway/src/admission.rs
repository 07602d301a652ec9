//! The call gate: what the gateway asks before a tool call goes to a backend, and tells once it has
//! ended, so that tenancy (rate limits, quotas, usage, audit) sees every call while the gateway
//! knows nothing of stores, plans or tenants beyond the caller's ids.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;

/// Who a session acts for, as the edge authenticated them (absent when the MCP routes are open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    /// The tenant's name: configuration grants name tenants.
    pub tenant_name: String,
    pub user_id: String,
    /// The API token's id (never its text).
    pub token_id: String,
}

impl Caller {
    /// Whether `other` is the same user of the same tenant (whichever of their tokens it used).
    pub fn same_user(&self, other: &Self) -> bool {
        self.tenant_id == other.tenant_id && self.user_id == other.user_id
    }
}

/// A tool call about to be sent to a backend.
#[derive(Debug, Clone, Copy)]
pub struct CallRequest<'a> {
    pub caller: Option<&'a Caller>,
    /// The endpoint the session came through: a server or endpoint name; `None` for the
    /// aggregate endpoint (`/mcp`, `/sse`, stdio).
    pub endpoint: Option<&'a str>,
    /// The backend that owns the tool.
    pub upstream: &'a str,
    /// The tool's name as the backend knows it.
    pub tool: &'a str,
    /// The call's `arguments`, as the client sent them.
    pub arguments: Option<&'a Value>,
    /// Size of the arguments as JSON.
    pub request_bytes: u64,
}

/// Why the gate refused a call; the call never reaches the backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A token bucket is empty.
    #[error("rate limit of {limit} reached; retry in {} ms", retry_after.as_millis())]
    RateLimited {
        /// Which limit: `this token`, `endpoint "x"`, `server "y"`.
        limit: String,
        retry_after: Duration,
    },
    /// The tenant's plan allows no more calls this month.
    #[error("{message}")]
    QuotaExceeded {
        message: String,
        /// When the quota resets, Unix seconds (UTC).
        resets_at: i64,
    },
    /// The gate cannot decide right now (its store failed); nothing is admitted unchecked.
    #[error("cannot check this call's limits right now ({0}); try again")]
    Unavailable(String),
}

/// How an admitted call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// The backend answered with a result that is not an error.
    Ok,
    /// The backend answered with an error (a JSON-RPC error or an `isError` result), or the way
    /// to it failed.
    Error,
    /// The gateway refused the call after admission, before it reached the backend (e.g. the
    /// backend's circuit is open).
    Refused,
}

/// What the gate is told when an admitted call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    pub end: CallEnd,
    /// From admission to the answer.
    pub latency: Duration,
    /// Size of the result as JSON (0 for an error).
    pub response_bytes: u64,
}

/// The future [`CallGate::admit`] returns.
pub type Admission<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn CallTicket>, Refusal>> + Send + 'a>>;

/// Decides whether a tool call may go to its backend. Installed once with
/// [`crate::Gateway::set_call_gate`]; without one every call is admitted.
pub trait CallGate: Send + Sync + Debug {
    /// Admits the call (and holds what it took, e.g. a unit of quota, in the ticket) or refuses
    /// it.
    fn admit<'a>(&'a self, call: CallRequest<'a>) -> Admission<'a>;
}

/// An admitted call. A ticket dropped without [`CallTicket::finish`] (the client went away
/// mid-call) must still account for the call.
pub trait CallTicket: Send {
    fn finish(self: Box<Self>, outcome: CallOutcome);
}
