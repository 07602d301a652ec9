//! A short-lived cache of decrypted secrets for the hot path: a tool call that injects a credential
//! should not pay for key derivation and decryption every time, and a decrypted value should not
//! outlive a few minutes in memory.
//!
//! Entries are keyed by (tenant, secret name, fingerprint of the sealed value), so a secret that is
//! replaced or resealed is a different entry and never answered from a stale one. Entries expire
//! after a TTL (default 5 minutes), the cache holds at most `capacity` entries (least recently used
//! evicted first), and an evicted value is zeroised as soon as no caller still holds it (see
//! [`SecretBytes`]). Time comes from a [`Clock`] so tests can move it by hand.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::{Sealed, SecretBytes, Vault, VaultError};

/// A source of "now" (monotonic).
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at an arbitrary instant.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long and how many decrypted values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long a decrypted value is served from memory. Zero disables the cache.
    pub ttl: Duration,
    /// The most entries held at once. Zero disables the cache.
    pub capacity: usize,
}

impl CacheConfig {
    /// The default time to live: 5 minutes.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);
    /// The default bound: 1,024 entries.
    pub const DEFAULT_CAPACITY: usize = 1024;
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
            capacity: Self::DEFAULT_CAPACITY,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    tenant: String,
    name: String,
    fingerprint: [u8; 32],
}

struct Entry {
    value: SecretBytes,
    expires_at: Instant,
    /// Position in the recency order.
    tick: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<CacheKey, Entry>,
    /// tick -> key, oldest use first.
    recency: BTreeMap<u64, CacheKey>,
    next_tick: u64,
}

impl Inner {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(entry) = self.entries.remove(key) {
            self.recency.remove(&entry.tick);
        }
    }

    fn touch(&mut self, key: &CacheKey) {
        let tick = self.next_tick;
        self.next_tick += 1;
        if let Some(entry) = self.entries.get_mut(key) {
            self.recency.remove(&entry.tick);
            entry.tick = tick;
            self.recency.insert(tick, key.clone());
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&CacheKey, &Entry) -> bool) {
        let recency = &mut self.recency;
        self.entries.retain(|key, entry| {
            let kept = keep(key, entry);
            if !kept {
                recency.remove(&entry.tick);
            }
            kept
        });
    }
}

/// Decrypted secrets kept for a short time. Share it (`Arc<SecretCache>`) next to the [`Vault`].
pub struct SecretCache {
    config: CacheConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl SecretCache {
    /// A cache on the system clock.
    pub fn new(config: CacheConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A cache on the given clock (tests pass a [`ManualClock`]).
    pub fn with_clock(config: CacheConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            config,
            clock,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> CacheConfig {
        self.config
    }

    fn enabled(&self) -> bool {
        self.config.capacity > 0 && !self.config.ttl.is_zero()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every mutation leaves the maps consistent before it can panic, so poisoning is ignored.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The decrypted value of `sealed` for (`tenant`, `secret_name`): from memory while fresh,
    /// otherwise opened with `vault` and remembered. Errors are not cached.
    pub fn open(
        &self,
        vault: &Vault,
        tenant: &str,
        secret_name: &str,
        sealed: &Sealed,
    ) -> Result<SecretBytes, VaultError> {
        if !self.enabled() {
            return vault.open(tenant, secret_name, sealed);
        }
        let key = CacheKey {
            tenant: tenant.to_owned(),
            name: secret_name.to_owned(),
            fingerprint: sealed.fingerprint(),
        };
        if let Some(value) = self.lookup(&key) {
            return Ok(value);
        }
        // Decrypt without holding the lock; two callers racing on a miss both decrypt, and the
        // second insert replaces the first (same plaintext).
        let value = vault.open(tenant, secret_name, sealed)?;
        self.insert(key, value.clone());
        Ok(value)
    }

    fn lookup(&self, key: &CacheKey) -> Option<SecretBytes> {
        let now = self.clock.now();
        let mut inner = self.inner();
        let entry = inner.entries.get(key)?;
        if entry.expires_at <= now {
            inner.remove(key);
            return None;
        }
        let value = entry.value.clone();
        inner.touch(key);
        Some(value)
    }

    fn insert(&self, key: CacheKey, value: SecretBytes) {
        let expires_at = self.clock.now() + self.config.ttl;
        let mut inner = self.inner();
        inner.remove(&key);
        while inner.entries.len() >= self.config.capacity {
            let Some((_, oldest)) = inner.recency.pop_first() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
        let tick = inner.next_tick;
        inner.next_tick += 1;
        inner.recency.insert(tick, key.clone());
        inner.entries.insert(
            key,
            Entry {
                value,
                expires_at,
                tick,
            },
        );
    }

    /// Forgets every cached value of one secret (call when it is replaced or deleted).
    pub fn invalidate(&self, tenant: &str, secret_name: &str) {
        self.inner()
            .retain(|k, _| !(k.tenant == tenant && k.name == secret_name));
    }

    /// Forgets every cached value of one tenant.
    pub fn invalidate_tenant(&self, tenant: &str) {
        self.inner().retain(|k, _| k.tenant != tenant);
    }

    /// Drops expired entries now (they are otherwise dropped when next looked up or evicted);
    /// a periodic task can call it so expired plaintext does not linger in idle caches.
    pub fn purge_expired(&self) {
        let now = self.clock.now();
        self.inner().retain(|_, e| e.expires_at > now);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.inner();
        inner.entries.clear();
        inner.recency.clear();
    }

    /// How many entries are held (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.inner().entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache")
            .field("ttl", &self.config.ttl)
            .field("capacity", &self.config.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;

    fn setup(capacity: usize) -> (Vault, SecretCache, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let cache = SecretCache::with_clock(
            CacheConfig {
                ttl: Duration::from_secs(60),
                capacity,
            },
            clock.clone(),
        );
        (Vault::new(MasterKey::from_bytes([1; 32])), cache, clock)
    }

    /// Evicted or expired values are released by the cache, so the plaintext is zeroised as soon
    /// as the last caller drops its handle ([`SecretBytes`] wipes its buffer on the last drop).
    #[test]
    fn the_cache_lets_go_of_evicted_and_expired_values() {
        let (vault, cache, clock) = setup(1);
        let a = vault.seal("t", "a", b"a").unwrap();
        let b = vault.seal("t", "b", b"b").unwrap();
        let held = cache.open(&vault, "t", "a", &a).unwrap();
        assert_eq!(held.holders(), 2, "caller and cache");
        cache.open(&vault, "t", "b", &b).unwrap();
        assert_eq!(held.holders(), 1, "evicted by size");

        let held = cache.open(&vault, "t", "b", &b).unwrap();
        assert_eq!(held.holders(), 2);
        clock.advance(Duration::from_secs(60));
        cache.purge_expired();
        assert_eq!(held.holders(), 1, "purged after the TTL");

        let held = cache.open(&vault, "t", "b", &b).unwrap();
        cache.clear();
        assert_eq!(held.holders(), 1, "cleared");
    }

    #[test]
    fn recency_order_stays_consistent() {
        let (vault, cache, _clock) = setup(4);
        let sealed: Vec<_> = (0..10)
            .map(|i| vault.seal("t", &format!("{i}"), b"v").unwrap())
            .collect();
        for round in 0..3 {
            for (i, s) in sealed.iter().enumerate() {
                if (i + round) % 3 != 0 {
                    cache.open(&vault, "t", &format!("{i}"), s).unwrap();
                }
            }
            cache.invalidate("t", "5");
            let inner = cache.inner();
            assert_eq!(inner.entries.len(), inner.recency.len());
            assert!(inner.entries.len() <= 4);
            for (tick, key) in &inner.recency {
                assert_eq!(inner.entries[key].tick, *tick);
            }
        }
    }
}
