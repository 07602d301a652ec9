//! [`RateLimiter`]: token buckets keyed by a string (`token:<id>`, `endpoint:<slug>`,
//! `upstream:<name>`), each checked against the [`Rate`] given with the call.
//!
//! Hand-written rather than `governor`'s keyed limiter: the rate here travels with each check (a
//! key's rate comes from configuration that hot reload may change, and one limiter serves keys of
//! different rates), while `governor` fixes one quota per limiter; and the clock must be injectable
//! for tests without its `FakeRelativeClock` plumbing. The state is a fixed set of mutex-guarded
//! shards (a check locks one shard for a few arithmetic operations), and buckets that have refilled
//! completely are swept out, since a full bucket is the same as no bucket: memory stays bounded by
//! the keys active within their refill time.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Shards of the bucket map; a power of two comfortably above the cores of a gateway host.
const SHARDS: usize = 64;

/// How often (in clock time) a shard is swept of idle buckets, on its next check.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A bucket that never refills (a rate of zero) is still forgotten after this long unused.
const MAX_IDLE: Duration = Duration::from_secs(3600);

/// A monotonic clock: time elapsed since an arbitrary, fixed origin.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Duration;
}

/// The real clock ([`Instant`]-based).
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A sustained rate with a burst: up to `burst` calls at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Calls per second, sustained (a non-positive or NaN rate never refills; infinity never
    /// limits).
    pub per_second: f64,
    /// Calls allowed at once (zero allows none).
    pub burst: u32,
}

/// A refused call: retry after this long (`Duration::MAX` when the bucket never refills).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit reached; retry after {0:?}")]
pub struct RetryAfter(pub Duration);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Duration,
    /// The rate of the last check, so that a sweep can tell whether the bucket is full.
    per_second: f64,
    burst: f64,
}

impl Bucket {
    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.updated).as_secs_f64();
        if elapsed > 0.0 && self.per_second > 0.0 {
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        }
        self.updated = self.updated.max(now);
    }

    /// Whether forgetting the bucket changes nothing (it would be recreated full).
    fn is_idle(&self, now: Duration) -> bool {
        let elapsed = now.saturating_sub(self.updated);
        let refilled = self.tokens + elapsed.as_secs_f64() * self.per_second.max(0.0);
        refilled >= self.burst || elapsed >= MAX_IDLE
    }
}

#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<String, Bucket>,
    last_sweep: Duration,
}

/// Token buckets by key. `Sync`: share one limiter (e.g. in an `Arc`) across every task.
#[derive(Debug)]
pub struct RateLimiter<C: Clock = MonotonicClock> {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    clock: C,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::with_clock(MonotonicClock::default())
    }
}

impl RateLimiter {
    /// A limiter on the real clock.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter on the given clock (tests use a manual one).
    pub fn with_clock(clock: C) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            clock,
        }
    }

    /// Takes one token from `key`'s bucket, or says how long until one is there. A new key starts
    /// with a full bucket; the bucket follows the latest `rate` given for its key.
    pub fn check(&self, key: &str, rate: Rate) -> Result<(), RetryAfter> {
        if rate.burst == 0 {
            return Err(RetryAfter(Duration::MAX));
        }
        let now = self.clock.now();
        let shard_index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        let mut guard = self.shards[shard_index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let shard = &mut *guard;
        if now.saturating_sub(shard.last_sweep) >= SWEEP_EVERY {
            shard.buckets.retain(|_, bucket| !bucket.is_idle(now));
            shard.last_sweep = now;
        }

        let burst = f64::from(rate.burst);
        let bucket = match shard.buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => shard.buckets.entry(key.to_owned()).or_insert(Bucket {
                tokens: burst,
                updated: now,
                per_second: rate.per_second,
                burst,
            }),
        };
        bucket.per_second = rate.per_second;
        bucket.burst = burst;
        bucket.tokens = bucket.tokens.min(burst);
        bucket.refill(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / rate.per_second;
        Err(RetryAfter(if wait > 0.0 {
            Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX)
        } else {
            // A non-positive or NaN rate: the bucket never refills.
            Duration::MAX
        }))
    }

    /// Buckets currently held (for metrics, and to see that idle ones go).
    pub fn tracked_keys(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .buckets
                    .len()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;

    /// A clock that moves only when told to.
    #[derive(Clone, Default)]
    struct ManualClock(Arc<AtomicU64>);

    impl ManualClock {
        fn advance(&self, by: Duration) {
            let nanos = u64::try_from(by.as_nanos()).unwrap();
            self.0.fetch_add(nanos, Ordering::SeqCst);
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Duration {
            Duration::from_nanos(self.0.load(Ordering::SeqCst))
        }
    }

    fn limiter() -> (RateLimiter<ManualClock>, ManualClock) {
        let clock = ManualClock::default();
        (RateLimiter::with_clock(clock.clone()), clock)
    }

    const TWO_PER_SECOND: Rate = Rate {
        per_second: 2.0,
        burst: 3,
    };

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let (limiter, clock) = limiter();
        for _ in 0..3 {
            limiter.check("token:a", TWO_PER_SECOND).unwrap();
        }
        assert_eq!(
            limiter.check("token:a", TWO_PER_SECOND),
            Err(RetryAfter(Duration::from_millis(500)))
        );
        clock.advance(Duration::from_millis(250));
        assert_eq!(
            limiter.check("token:a", TWO_PER_SECOND),
            Err(RetryAfter(Duration::from_millis(250)))
        );
        clock.advance(Duration::from_millis(250));
        limiter.check("token:a", TWO_PER_SECOND).unwrap();
        assert!(limiter.check("token:a", TWO_PER_SECOND).is_err());

        // A long pause refills up to the burst, not beyond.
        clock.advance(Duration::from_secs(3600));
        for _ in 0..3 {
            limiter.check("token:a", TWO_PER_SECOND).unwrap();
        }
        assert!(limiter.check("token:a", TWO_PER_SECOND).is_err());
    }

    #[test]
    fn keys_are_independent() {
        let (limiter, _clock) = limiter();
        let one = Rate {
            per_second: 1.0,
            burst: 1,
        };
        limiter.check("endpoint:a", one).unwrap();
        assert!(limiter.check("endpoint:a", one).is_err());
        limiter.check("endpoint:b", one).unwrap();
        limiter.check("upstream:a", one).unwrap();
        assert_eq!(limiter.tracked_keys(), 3);
    }

    #[test]
    fn degenerate_rates() {
        let (limiter, clock) = limiter();
        let none = Rate {
            per_second: 10.0,
            burst: 0,
        };
        assert_eq!(limiter.check("k", none), Err(RetryAfter(Duration::MAX)));
        let never_refills = Rate {
            per_second: 0.0,
            burst: 1,
        };
        limiter.check("z", never_refills).unwrap();
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            limiter.check("z", never_refills),
            Err(RetryAfter(Duration::MAX))
        );
        let unlimited = Rate {
            per_second: f64::INFINITY,
            burst: 1,
        };
        for _ in 0..100 {
            clock.advance(Duration::from_nanos(1));
            limiter.check("inf", unlimited).unwrap();
        }
    }

    #[test]
    fn a_lowered_burst_applies_at_once() {
        let (limiter, _clock) = limiter();
        limiter.check("k", TWO_PER_SECOND).unwrap();
        let lower = Rate {
            per_second: 2.0,
            burst: 1,
        };
        limiter.check("k", lower).unwrap();
        assert!(limiter.check("k", lower).is_err());
    }

    #[test]
    fn idle_buckets_are_swept() {
        let (limiter, clock) = limiter();
        // 4,000 keys over 64 shards touch every shard (a shard is missed with odds below 1e-25),
        // and each shard sweeps its idle buckets on its first check after `SWEEP_EVERY`.
        for i in 0..4000 {
            limiter
                .check(&format!("token:{i}"), TWO_PER_SECOND)
                .unwrap();
        }
        assert_eq!(limiter.tracked_keys(), 4000);
        clock.advance(SWEEP_EVERY);
        for i in 0..4000 {
            limiter
                .check(&format!("other:{i}"), TWO_PER_SECOND)
                .unwrap();
        }
        assert_eq!(limiter.tracked_keys(), 4000);

        // A bucket that has not refilled yet is kept, with its state.
        clock.advance(SWEEP_EVERY);
        let slow = Rate {
            per_second: 0.001,
            burst: 1,
        };
        limiter.check("slow", slow).unwrap();
        clock.advance(SWEEP_EVERY);
        for i in 0..4000 {
            limiter
                .check(&format!("third:{i}"), TWO_PER_SECOND)
                .unwrap();
        }
        assert_eq!(limiter.tracked_keys(), 4001);
        assert!(limiter.check("slow", slow).is_err());
    }

    #[test]
    fn concurrent_checks_admit_exactly_the_burst() {
        let (limiter, _clock) = limiter();
        let limiter = Arc::new(limiter);
        let admitted = Arc::new(AtomicUsize::new(0));
        let rate = Rate {
            per_second: 1.0,
            burst: 50,
        };
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                let admitted = Arc::clone(&admitted);
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        if limiter.check("shared", rate).is_ok() {
                            admitted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(admitted.load(Ordering::SeqCst), 50);
    }
}
