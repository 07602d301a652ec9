//! Toolport's metering: what each tool call costs a tenant and who did what, recorded off the
//! request's path; and the limits checked on it (rate limits, plan quotas), as the gateway's call
//! gate.
//!
//! Layout (one purpose per file):
//! - `batch`: the one batcher behind both recorders ([`BatchConfig`]): a bounded queue whose push
//!   never waits, a task writing batches (when `max_batch` are queued or every `flush_interval`),
//!   retrying failed writes with backoff, and draining the queue on shutdown.
//! - `usage`: [`UsageRecorder`], the hot-path handle for usage events (a tool call's, with its
//!   audit entry's redacted arguments: one record per call).
//! - `audit`: [`AuditLog`], the same for the admin API's audit entries, redacting each entry's
//!   detail first.
//! - `redact`: [`Redactor`] / [`RedactionConfig`]: sensitive keys' values replaced at any depth,
//!   long strings cut, in place or while writing a value as JSON text.
//! - `rate`: [`RateLimiter`], token buckets keyed by string, with an injectable [`Clock`].
//! - `plans`: [`Plans`], [`PlanLimits`] and [`PlansConfig`]: the built-in plans and their
//!   configured overrides.
//! - `quota`: [`QuotaGuard`]: exact monthly call quotas ([`CallPermit`], [`QuotaExceeded`]).
//! - `calendar`: UTC month boundaries for the quotas.
//! - `config`: [`MeteringConfig`] as the configuration file states it, rates as `"100/min"`.
//! - `gate`: [`CallMeter`], the gateway's call gate: rates and quota checked before a tool call
//!   reaches its backend, every call recorded as usage and audited (in one record).
//!
//! Every background task stops on a [`tokio_util::sync::CancellationToken`] passed in, and its
//! `JoinHandle` completes once everything queued before that is written.

mod audit;
mod batch;
mod calendar;
mod config;
mod gate;
mod plans;
mod quota;
mod rate;
mod redact;
mod usage;

pub use audit::AuditLog;
pub use batch::{BatchConfig, DROP_WARN_INTERVAL};
pub use calendar::month_bounds;
pub use config::{MeteringConfig, RateLimits, RateSyntaxError};
pub use gate::{CallMeter, QuotaStatus};
pub use plans::{Limit, LimitExceeded, PlanLimits, PlanOverride, Plans, PlansConfig, Resource};
pub use quota::{CallPermit, QuotaError, QuotaExceeded, QuotaGuard};
pub use rate::{Clock, MonotonicClock, Rate, RateLimiter, RetryAfter};
pub use redact::{
    DEFAULT_KEY_PATTERNS, DEFAULT_MAX_STRING_BYTES, REDACTED, RedactionConfig, Redactor,
};
pub use usage::UsageRecorder;
