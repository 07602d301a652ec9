//! [`CallMeter`]: the gateway's call gate. Before a tool call reaches its backend it checks the
//! rate limits (per token, endpoint and upstream) and the tenant's monthly quota; every call,
//! admitted or refused, is recorded as usage and in the audit log, both in one record: a usage
//! event carrying its audit entry's redacted arguments (the store lists it in the audit log).
//!
//! The gate runs on every call, so it takes one read of the settings per call, writes the
//! arguments once (redacting as it writes, never copying them) and queues one record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use toolport_gateway::{
    CallEnd, CallGate, CallOutcome, CallRequest, CallTicket, Refusal, admission::Admission,
};
use toolport_store::{CallAudit, CallStatus, Store, StoreError, UsageEvent};

use crate::audit::AuditLog;
use crate::config::{MeteringConfig, RateLimits};
use crate::plans::{PlanLimits, Plans};
use crate::quota::{CallPermit, QuotaError, QuotaGuard};
use crate::rate::{Rate, RateLimiter, RetryAfter};
use crate::redact::Redactor;
use crate::usage::UsageRecorder;

/// How long a tenant's plan is remembered; a plan change takes effect within this.
const PLAN_TTL: Duration = Duration::from_secs(10);

/// A tenant's plan and its use this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaStatus {
    /// The plan's name.
    pub plan: String,
    /// Its limits (`free`'s when the configuration no longer has the plan).
    pub limits: PlanLimits,
    /// Calls counted this month.
    pub used: u64,
    /// When the count resets (Unix seconds, UTC).
    pub resets_at: i64,
}

/// The limits, plans and redaction rule in force (replaced as a whole on reload).
#[derive(Debug)]
struct Settings {
    limits: RateLimits,
    plans: Arc<Plans>,
    redactor: Redactor,
}

/// Rate limits, quotas, usage and audit for tool calls, and the same rate limit per token for the
/// admin API. Share one in an `Arc`: install it in the gateway and hand it to the admin API.
pub struct CallMeter<S> {
    store: Arc<S>,
    settings: RwLock<Arc<Settings>>,
    limiter: RateLimiter,
    quota: QuotaGuard<S>,
    usage: UsageRecorder,
    audit: AuditLog,
    plan_cache: Mutex<HashMap<String, (Arc<str>, Instant)>>,
    /// The tenant billed for calls without a caller (open MCP routes, `toolport stdio`).
    default_tenant: String,
}

impl<S> std::fmt::Debug for CallMeter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallMeter")
            .field("default_tenant", &self.default_tenant)
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> CallMeter<S> {
    /// A meter over `store` with `config`, recording tool calls (with their audit entries) through
    /// `usage`; `audit` is the log the admin API records its changes in, redacted by the same rule.
    /// Calls without a caller are billed to `default_tenant`.
    pub fn new(
        store: Arc<S>,
        config: &MeteringConfig,
        usage: UsageRecorder,
        audit: AuditLog,
        default_tenant: String,
    ) -> Self {
        audit.set_redactor(Redactor::new(&config.redaction));
        Self {
            quota: QuotaGuard::new(Arc::clone(&store)),
            store,
            settings: RwLock::new(Arc::new(Settings::from(config))),
            limiter: RateLimiter::new(),
            usage,
            audit,
            plan_cache: Mutex::new(HashMap::new()),
            default_tenant,
        }
    }

    /// Applies a reloaded configuration; calls already admitted keep what they were given.
    pub fn configure(&self, config: &MeteringConfig) {
        self.audit.set_redactor(Redactor::new(&config.redaction));
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Settings::from(config));
    }

    /// The plans in force.
    pub fn plans(&self) -> Arc<Plans> {
        Arc::clone(&self.settings().plans)
    }

    /// The audit log the admin API records its changes in (tool calls are recorded with their
    /// usage).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Takes one admin API request from the token's bucket (`limits.perToken`; admin requests
    /// have a bucket of their own, so that managing the gateway never eats into tool calls).
    pub fn check_admin_request(&self, token_id: &str) -> Result<(), RetryAfter> {
        match self.settings().limits.per_token {
            Some(rate) => self.limiter.check(&format!("admin:{token_id}"), rate),
            None => Ok(()),
        }
    }

    /// Forgets a tenant's remembered plan (after the admin API changed it).
    pub fn forget_tenant(&self, tenant_id: &str) {
        self.plan_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(tenant_id);
    }

    /// A tenant's plan and how much of its monthly call quota is used.
    pub async fn quota(&self, tenant_id: &str) -> Result<QuotaStatus, StoreError> {
        let plan = self.plan_name(tenant_id).await?;
        let limits = *self.settings().plans.resolve(&plan);
        let (used, resets_at) = self.quota.used(tenant_id).await?;
        Ok(QuotaStatus {
            plan: plan.to_string(),
            limits,
            used,
            resets_at,
        })
    }

    /// The limits of a tenant's plan (a plan name the configuration no longer has gets `free`).
    pub async fn plan_of(&self, tenant_id: &str) -> Result<PlanLimits, StoreError> {
        let name = self.plan_name(tenant_id).await?;
        Ok(*self.settings().plans.resolve(&name))
    }

    async fn plan_name(&self, tenant_id: &str) -> Result<Arc<str>, StoreError> {
        if let Some((plan, at)) = self
            .plan_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tenant_id)
            && at.elapsed() < PLAN_TTL
        {
            return Ok(Arc::clone(plan));
        }
        let plan: Arc<str> = self.store.tenant(tenant_id).await?.plan.into();
        self.plan_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant_id.to_owned(), (Arc::clone(&plan), Instant::now()));
        Ok(plan)
    }

    fn settings(&self) -> Arc<Settings> {
        Arc::clone(&self.settings.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The buckets a call draws from, in order: its token, its endpoint, its upstream.
    fn check_rates(&self, limits: &RateLimits, call: &CallRequest<'_>) -> Result<(), Refusal> {
        if let (Some(rate), Some(caller)) = (limits.per_token, call.caller) {
            self.take(&format!("token:{}", caller.token_id), rate, || {
                "this token".to_owned()
            })?;
        }
        if let Some(rate) = limits.per_endpoint {
            let endpoint = call.endpoint.unwrap_or("/mcp");
            self.take(&format!("endpoint:{endpoint}"), rate, || {
                format!("endpoint {endpoint:?}")
            })?;
        }
        if let Some(rate) = limits.upstream(call.upstream) {
            self.take(&format!("upstream:{}", call.upstream), rate, || {
                format!("server {:?}", call.upstream)
            })?;
        }
        Ok(())
    }

    /// One token from `key`'s bucket, or a refusal naming the `limit`.
    fn take(&self, key: &str, rate: Rate, limit: impl FnOnce() -> String) -> Result<(), Refusal> {
        self.limiter
            .check(key, rate)
            .map_err(|RetryAfter(retry_after)| Refusal::RateLimited {
                limit: limit(),
                retry_after,
            })
    }

    async fn admit_call(&self, call: CallRequest<'_>) -> Result<Box<dyn CallTicket>, Refusal> {
        let settings = self.settings();
        let record = CallRecord::new(call, &self.default_tenant, &settings.redactor);
        let admitted = match self.check_rates(&settings.limits, &call) {
            Ok(()) => {
                self.take_quota(&settings.plans, &record.event.tenant_id)
                    .await
            }
            Err(refusal) => Err(refusal),
        };
        match admitted {
            Ok(permit) => Ok(Box::new(Ticket {
                record: Some(record),
                permit: Some(permit),
                usage: self.usage.clone(),
            })),
            Err(refusal) => {
                let latency = record.started.elapsed();
                record.write(
                    &self.usage,
                    CallStatus::Rejected,
                    latency,
                    Some(refusal.to_string()),
                );
                Err(refusal)
            }
        }
    }

    async fn take_quota(&self, plans: &Plans, tenant_id: &str) -> Result<CallPermit, Refusal> {
        let unavailable = |e: StoreError| Refusal::Unavailable(e.to_string());
        let plan_name = self.plan_name(tenant_id).await.map_err(unavailable)?;
        let plan = *plans.resolve(&plan_name);
        self.quota
            .admit_call(tenant_id, &plan)
            .await
            .map_err(|e| match e {
                QuotaError::Exceeded(exceeded) => Refusal::QuotaExceeded {
                    message: format!("{exceeded}; ask an operator for a larger plan"),
                    resets_at: exceeded.resets_at,
                },
                QuotaError::Store(e) => unavailable(e),
            })
    }
}

impl From<&MeteringConfig> for Settings {
    fn from(config: &MeteringConfig) -> Self {
        Self {
            limits: config.limits.clone(),
            plans: Arc::new(Plans::from_config(&config.plans)),
            redactor: Redactor::new(&config.redaction),
        }
    }
}

impl<S: Store + 'static> CallGate for CallMeter<S> {
    fn admit<'a>(&'a self, call: CallRequest<'a>) -> Admission<'a> {
        Box::pin(self.admit_call(call))
    }
}

/// What is recorded of one call: its usage event, carrying its audit entry's arguments (redacted
/// when the call arrived: the caller's arguments are not kept), completed when the call ends.
#[derive(Debug)]
struct CallRecord {
    event: UsageEvent,
    started: Instant,
}

impl CallRecord {
    fn new(call: CallRequest<'_>, default_tenant: &str, redactor: &Redactor) -> Self {
        let caller = call.caller;
        let arguments = match call.arguments {
            Some(arguments) => redactor.redacted_json(arguments),
            None => "null".to_owned(),
        };
        Self {
            event: UsageEvent {
                tenant_id: caller.map_or(default_tenant, |c| &c.tenant_id).to_owned(),
                user_id: caller.map(|c| c.user_id.clone()),
                token_id: caller.map(|c| c.token_id.clone()),
                endpoint: call.endpoint.map(str::to_owned),
                tool: call.tool.to_owned(),
                upstream: call.upstream.to_owned(),
                status: CallStatus::Ok,
                latency_ms: 0,
                request_bytes: call.request_bytes,
                response_bytes: 0,
                at_ms: toolport_store::model::now_ms(),
                audit: Some(CallAudit {
                    arguments,
                    note: None,
                }),
            },
            started: Instant::now(),
        }
    }

    /// Queues the call's record, with a `note` on why it ended as it did when that is not plain.
    fn write(
        mut self,
        usage: &UsageRecorder,
        status: CallStatus,
        latency: Duration,
        note: Option<String>,
    ) {
        self.event.status = status;
        self.event.latency_ms = millis(latency);
        if let Some(audit) = &mut self.event.audit {
            audit.note = note;
        }
        usage.record(self.event);
    }
}

/// An admitted call. Dropped unfinished (the client went away mid-call), it is recorded as an
/// error and keeps its unit of quota: the backend may have done the work.
struct Ticket {
    record: Option<CallRecord>,
    permit: Option<CallPermit>,
    usage: UsageRecorder,
}

impl CallTicket for Ticket {
    fn finish(mut self: Box<Self>, outcome: CallOutcome) {
        let Some(mut record) = self.record.take() else {
            return;
        };
        record.event.response_bytes = outcome.response_bytes;
        let status = match outcome.end {
            CallEnd::Ok => CallStatus::Ok,
            CallEnd::Error => CallStatus::Error,
            CallEnd::Refused => {
                // It never reached the backend: give the quota back.
                if let Some(permit) = self.permit.take() {
                    permit.release();
                }
                CallStatus::Rejected
            }
        };
        record.write(&self.usage, status, outcome.latency, None);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            let latency = record.started.elapsed();
            record.write(
                &self.usage,
                CallStatus::Error,
                latency,
                Some("the client went away before the answer".to_owned()),
            );
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
