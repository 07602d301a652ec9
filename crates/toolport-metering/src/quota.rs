//! [`QuotaGuard`]: admits a tenant's tool call only while its plan's monthly call quota has room,
//! exactly, however many calls arrive at once.
//!
//! The month's count is read from the store ([`Store::count_calls`]) once per tenant and month (the
//! first caller reads it, concurrent ones wait for that read), and from then on counted in memory
//! with one atomic compare-and-swap per admission, so N concurrent admissions with M units left
//! admit exactly M. The count is exact for this process: calls admitted by another gateway process
//! sharing the database are seen only at the next month's (or the next process start's) read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;
use toolport_store::{Store, StoreError, Timestamp};

use crate::calendar::month_bounds;
use crate::plans::PlanLimits;

/// The monthly call quota is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("monthly call quota reached ({used} of {limit} used); it resets at {resets_at}")]
pub struct QuotaExceeded {
    /// The plan's calls per month.
    pub limit: u64,
    /// Calls counted this month.
    pub used: u64,
    /// When the next month starts (Unix seconds, UTC).
    pub resets_at: Timestamp,
}

/// Why a call was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// The quota is used up.
    #[error(transparent)]
    Exceeded(#[from] QuotaExceeded),
    /// The month's count could not be read (nothing is cached: the next call tries again).
    #[error("reading the month's call count: {0}")]
    Store(#[from] StoreError),
}

/// One tenant's calls in one month.
#[derive(Debug)]
struct MonthCount {
    starts_at: Timestamp,
    resets_at: Timestamp,
    used: OnceCell<AtomicU64>,
}

/// An admitted call's unit of quota. Kept (the call counts) unless [`CallPermit::release`] gives it
/// back, so a call whose outcome is unknown (its request dropped mid-way) is counted.
#[derive(Debug)]
pub struct CallPermit {
    month: Arc<MonthCount>,
}

impl CallPermit {
    /// Gives the unit back: the call did not happen (e.g. it was rejected after admission).
    pub fn release(self) {
        if let Some(used) = self.month.used.get() {
            // Never below zero, even if the count was reloaded meanwhile.
            let _ = used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        }
    }

    /// When the quota this call counts against resets (Unix seconds, UTC).
    pub fn resets_at(&self) -> Timestamp {
        self.month.resets_at
    }
}

type WallClock = dyn Fn() -> Timestamp + Send + Sync;

/// Monthly call quotas per tenant. `Sync`: share one guard across every task.
pub struct QuotaGuard<S> {
    store: Arc<S>,
    clock: Box<WallClock>,
    months: Mutex<HashMap<String, Arc<MonthCount>>>,
}

impl<S> std::fmt::Debug for QuotaGuard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaGuard").finish_non_exhaustive()
    }
}

impl<S: Store> QuotaGuard<S> {
    /// A guard on the system clock.
    pub fn new(store: Arc<S>) -> Self {
        Self::with_clock(store, toolport_store::model::now)
    }

    /// A guard on the given wall clock (Unix seconds); tests move it across months.
    pub fn with_clock(
        store: Arc<S>,
        clock: impl Fn() -> Timestamp + Send + Sync + 'static,
    ) -> Self {
        Self {
            store,
            clock: Box::new(clock),
            months: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one call of `tenant_id` under `plan`'s monthly quota, or says when it resets. Calls
    /// under an unlimited plan are admitted and still counted (so that a change to a limited plan
    /// mid-month starts from the true count).
    pub async fn admit_call(
        &self,
        tenant_id: &str,
        plan: &PlanLimits,
    ) -> Result<CallPermit, QuotaError> {
        let month = self.month_of(tenant_id);
        let used = self.count(tenant_id, &month).await?;
        let Some(limit) = plan.calls_per_month else {
            used.fetch_add(1, Ordering::AcqRel);
            return Ok(CallPermit { month });
        };
        match used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        }) {
            Ok(_) => Ok(CallPermit { month }),
            Err(used) => Err(QuotaError::Exceeded(QuotaExceeded {
                limit,
                used,
                resets_at: month.resets_at,
            })),
        }
    }

    /// The calls a tenant has used this month (counting admitted calls not yet stored) and when
    /// the count resets (Unix seconds, UTC).
    pub async fn used(&self, tenant_id: &str) -> Result<(u64, Timestamp), StoreError> {
        let month = self.month_of(tenant_id);
        let used = self.count(tenant_id, &month).await?.load(Ordering::Acquire);
        Ok((used, month.resets_at))
    }

    /// The month's counter, read from the store by the first caller.
    async fn count<'m>(
        &self,
        tenant_id: &str,
        month: &'m MonthCount,
    ) -> Result<&'m AtomicU64, StoreError> {
        month
            .used
            .get_or_try_init(|| async {
                let count = self.store.count_calls(tenant_id, month.starts_at).await?;
                Ok(AtomicU64::new(count))
            })
            .await
    }

    /// The tenant's count for the current month, made (unloaded) when the month is new to it.
    fn month_of(&self, tenant_id: &str) -> Arc<MonthCount> {
        let (starts_at, resets_at) = month_bounds((self.clock)());
        let mut months = self.months.lock().unwrap_or_else(PoisonError::into_inner);
        match months.get(tenant_id) {
            Some(month) if month.starts_at == starts_at => Arc::clone(month),
            _ => {
                let month = Arc::new(MonthCount {
                    starts_at,
                    resets_at,
                    used: OnceCell::new(),
                });
                months.insert(tenant_id.to_owned(), Arc::clone(&month));
                month
            }
        }
    }
}
