//! The decrypted-value cache: served from memory while fresh, re-opened after the TTL, bounded in
//! size, keyed so that a replaced or moved ciphertext never hits a stale entry.
//!
//! A cache hit does not touch the vault, so the tests tell hits from misses by passing a vault that
//! cannot open anything: a hit succeeds, a miss fails.

use std::sync::Arc;
use std::time::Duration;

use toolport_vault::{CacheConfig, ManualClock, MasterKey, SecretCache, Vault, VaultError};

fn vaults() -> (Vault, Vault) {
    (
        Vault::new(MasterKey::from_bytes([1; 32])),
        Vault::new(MasterKey::from_bytes([2; 32])),
    )
}

fn cache(ttl: Duration, capacity: usize) -> (SecretCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let cache = SecretCache::with_clock(CacheConfig { ttl, capacity }, clock.clone());
    (cache, clock)
}

#[test]
fn default_is_five_minutes() {
    let config = CacheConfig::default();
    assert_eq!(config.ttl, Duration::from_secs(300));
    assert!(config.capacity > 0);
}

#[test]
fn entries_expire_after_the_ttl() {
    let (vault, unable) = vaults();
    let (cache, clock) = cache(Duration::from_secs(300), 16);
    let sealed = vault.seal("t", "token", b"value").unwrap();

    assert_eq!(
        cache.open(&vault, "t", "token", &sealed).unwrap().expose(),
        b"value"
    );
    clock.advance(Duration::from_secs(299));
    assert_eq!(
        cache.open(&unable, "t", "token", &sealed).unwrap().expose(),
        b"value"
    );
    clock.advance(Duration::from_secs(1));
    let err = cache.open(&unable, "t", "token", &sealed).unwrap_err();
    assert!(matches!(err, VaultError::UnknownKey { .. }), "{err:?}");
    assert!(cache.is_empty(), "the expired entry was dropped");

    // Re-opened and cached again for another full TTL.
    cache.open(&vault, "t", "token", &sealed).unwrap();
    clock.advance(Duration::from_secs(299));
    assert!(cache.open(&unable, "t", "token", &sealed).is_ok());
}

#[test]
fn size_is_bounded_and_the_least_recently_used_goes_first() {
    let (vault, unable) = vaults();
    let (cache, _clock) = cache(Duration::from_secs(300), 3);
    let sealed: Vec<_> = (0..5)
        .map(|i| {
            vault
                .seal("t", &format!("s{i}"), format!("v{i}").as_bytes())
                .unwrap()
        })
        .collect();
    for (i, s) in sealed.iter().enumerate().take(3) {
        cache.open(&vault, "t", &format!("s{i}"), s).unwrap();
    }
    // Use s0 so that s1 becomes the least recently used.
    cache.open(&unable, "t", "s0", &sealed[0]).unwrap();
    cache.open(&vault, "t", "s3", &sealed[3]).unwrap();
    assert_eq!(cache.len(), 3);
    assert!(
        cache.open(&unable, "t", "s1", &sealed[1]).is_err(),
        "s1 evicted"
    );
    for i in [0, 2, 3] {
        let value = cache
            .open(&unable, "t", &format!("s{i}"), &sealed[i])
            .unwrap();
        assert_eq!(value.expose(), format!("v{i}").as_bytes());
    }
    for (i, s) in sealed.iter().enumerate() {
        cache.open(&vault, "t", &format!("s{i}"), s).unwrap();
        assert!(cache.len() <= 3);
    }
}

#[test]
fn the_key_includes_tenant_name_and_ciphertext() {
    let (vault, unable) = vaults();
    let (cache, _clock) = cache(Duration::from_secs(300), 16);
    let sealed = vault.seal("t", "token", b"old").unwrap();
    cache.open(&vault, "t", "token", &sealed).unwrap();
    // Another tenant or name with the same ciphertext is a miss (and then fails authentication).
    assert!(cache.open(&unable, "other", "token", &sealed).is_err());
    assert!(matches!(
        cache.open(&vault, "t", "other", &sealed),
        Err(VaultError::Decrypt { .. })
    ));
    // A replaced secret is a different entry.
    let replaced = vault.seal("t", "token", b"new").unwrap();
    assert_eq!(
        cache
            .open(&vault, "t", "token", &replaced)
            .unwrap()
            .expose(),
        b"new"
    );
    assert_eq!(
        cache.open(&unable, "t", "token", &sealed).unwrap().expose(),
        b"old"
    );
}

#[test]
fn invalidation_and_purging() {
    let (vault, unable) = vaults();
    let (cache, clock) = cache(Duration::from_secs(60), 16);
    let a = vault.seal("t1", "a", b"a").unwrap();
    let b = vault.seal("t1", "b", b"b").unwrap();
    let c = vault.seal("t2", "a", b"c").unwrap();
    for (tenant, name, sealed) in [("t1", "a", &a), ("t1", "b", &b), ("t2", "a", &c)] {
        cache.open(&vault, tenant, name, sealed).unwrap();
    }
    cache.invalidate("t1", "a");
    assert!(cache.open(&unable, "t1", "a", &a).is_err());
    assert!(cache.open(&unable, "t1", "b", &b).is_ok());
    cache.invalidate_tenant("t1");
    assert!(cache.open(&unable, "t1", "b", &b).is_err());
    assert_eq!(cache.len(), 1);

    clock.advance(Duration::from_secs(61));
    cache.purge_expired();
    assert!(cache.is_empty());
    cache.open(&vault, "t2", "a", &c).unwrap();
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn zero_capacity_or_ttl_disables_the_cache() {
    let (vault, unable) = vaults();
    let sealed = vault.seal("t", "n", b"v").unwrap();
    for (ttl, capacity) in [(Duration::ZERO, 16), (Duration::from_secs(60), 0)] {
        let (cache, _clock) = cache(ttl, capacity);
        cache.open(&vault, "t", "n", &sealed).unwrap();
        assert!(cache.is_empty());
        assert!(cache.open(&unable, "t", "n", &sealed).is_err());
    }
}

#[test]
fn errors_are_not_cached() {
    let (vault, unable) = vaults();
    let (cache, _clock) = cache(Duration::from_secs(60), 16);
    let sealed = vault.seal("t", "n", b"v").unwrap();
    assert!(cache.open(&unable, "t", "n", &sealed).is_err());
    assert!(cache.is_empty());
    assert!(cache.open(&vault, "t", "n", &sealed).is_ok());
}
