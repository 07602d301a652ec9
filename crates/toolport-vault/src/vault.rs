//! The vault proper: a key ring of master keys, sealing and opening secrets with per-tenant keys,
//! rotation, and the key check that lets a gateway refuse to start with the wrong master key.
//!
//! # Key design: per-tenant keys are *derived*, not wrapped
//!
//! A secret of tenant `T` is sealed with AES-256-GCM under
//! `K(T, v) = HKDF-SHA256(master_v, info = "toolport-vault/v1/tenant-data-key" | len(T) | T | v)`,
//! where `v` is the [`KeyId`] of master key `master_v` (a public fingerprint of it). The sealed
//! value records `v`; the associated data is `"toolport-vault/v1/secret" | len(T) | T | len(N) | N
//! | v` for secret name `N`, so a ciphertext copied to another tenant's row or another name fails
//! authentication, and so does one whose recorded key id was edited. Every nonce is 96 random bits.
//!
//! Why derivation rather than random data keys wrapped by the master key:
//!
//! - **Rotation has to re-encrypt the secrets anyway.** One rotates a master key because it may
//!   have leaked. With wrapped data keys, re-wrapping only changes the wrapping: whoever holds the
//!   old master key and a copy of the database still has every data key, so the secrets must be
//!   re-encrypted under new data keys regardless. Derivation makes that the only step: a new master
//!   key *is* a new set of tenant keys.
//! - **Zero downtime falls out of the key ring.** The vault holds one active key (used to seal) and
//!   any number of previous keys (used only to open). Because each sealed value names its key,
//!   every row is readable before, during and after re-encryption, whichever key sealed it;
//!   [`Vault::reseal`] moves rows one at a time, [`Vault::needs_reseal`] makes the pass resumable,
//!   and [`Vault::retire`] drops the old key once no row names it.
//! - **No key state to store.** There is no table of wrapped keys to create, migrate, back up,
//!   keep consistent between SQLite and PostgreSQL or between instances, or rotate atomically with
//!   the rows it protects. The database plus the master key is everything; any instance with the
//!   master key derives the same tenant keys, and the store never holds key material.
//! - **Per-tenant isolation is still cryptographic.** HKDF is one-way: a tenant key that leaks (say
//!   from a worker's memory) reveals neither the master key nor another tenant's key.
//! - **Cheap.** Deriving is a few HMAC-SHA256 blocks (microseconds) and needs no database round
//!   trip; the decrypted-value cache ([`crate::SecretCache`]) keeps the hot path off it entirely.
//!
//! What wrapping would have given and this design leaves out: crypto-shredding one tenant by
//! deleting its data key (here its rows are deleted instead), and rotating one tenant's key alone
//! (a per-tenant generation can join the HKDF info in a later format version).
//!
//! # Rotating without downtime
//!
//! One process (the embedded default, `toolport vault rotate`): the new key is written to the key
//! file next to the old one ([`Vault::write_key_file`]) before [`Vault::rotate`] makes it active
//! and keeps the old one for opening; every row for which [`Vault::needs_reseal`] is true is
//! resealed, a fresh [`Vault::key_check`] stored, the old key [`Vault::retire`]d and the key file
//! rewritten without it. A start with several keys in the file finishes an interrupted rotation.
//!
//! Several instances behind a load balancer: (1) give every instance the new key as an opening key
//! ([`Vault::add_opening_key`]), (2) make it the active key on every instance, (3) reseal, (4)
//! remove the old key. Between steps every instance can open every row.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, OsRng};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use zeroize::Zeroizing;

use crate::sealed::{NONCE_LEN, TAG_LEN};
use crate::{KeyError, KeyId, MasterKey, Sealed, SecretBytes, VaultError};

/// The largest secret the vault seals (1 MiB): far above tokens, passwords, PEM bundles and
/// service-account files, far below anything that belongs in a database cell.
pub const MAX_SECRET_LEN: usize = 1 << 20;

const DATA_KEY_INFO: &[u8] = b"toolport-vault/v1/tenant-data-key";
const SECRET_AAD: &[u8] = b"toolport-vault/v1/secret";
const KEY_CHECK_INFO: &[u8] = b"toolport-vault/v1/key-check";
const KEY_CHECK_PLAINTEXT: &[u8] = b"toolport-vault key check v1";

/// Seals and opens secrets with per-tenant keys derived from a ring of master keys.
///
/// Shared by reference (`Arc<Vault>`); rotation takes `&self` so a running gateway can rotate
/// without a restart.
pub struct Vault {
    ring: RwLock<KeyRing>,
}

struct KeyRing {
    active: Arc<MasterKey>,
    /// Keys kept for opening only, most recently active first.
    previous: Vec<Arc<MasterKey>>,
}

impl KeyRing {
    fn find(&self, id: KeyId) -> Option<&Arc<MasterKey>> {
        std::iter::once(&self.active)
            .chain(&self.previous)
            .find(|k| k.id() == id)
    }

    fn previous_ids(&self) -> Vec<KeyId> {
        self.previous.iter().map(|k| k.id()).collect()
    }
}

/// What a ciphertext is for; decides the derived key and the associated data.
#[derive(Clone, Copy)]
enum Purpose<'a> {
    Secret { tenant: &'a str, name: &'a str },
    KeyCheck,
}

impl Purpose<'_> {
    fn data_key(self, master: &MasterKey) -> Zeroizing<[u8; 32]> {
        let id = master.id();
        match self {
            Purpose::Secret { tenant, .. } => master.derive(&[
                DATA_KEY_INFO,
                &len_prefix(tenant),
                tenant.as_bytes(),
                id.as_bytes(),
            ]),
            Purpose::KeyCheck => master.derive(&[KEY_CHECK_INFO, id.as_bytes()]),
        }
    }

    /// Length-prefixed so that ("a:b", "c") and ("a", "b:c") never share associated data.
    fn associated_data(self, key_id: KeyId) -> Vec<u8> {
        let mut aad = Vec::new();
        match self {
            Purpose::Secret { tenant, name } => {
                aad.extend_from_slice(SECRET_AAD);
                aad.extend_from_slice(&len_prefix(tenant));
                aad.extend_from_slice(tenant.as_bytes());
                aad.extend_from_slice(&len_prefix(name));
                aad.extend_from_slice(name.as_bytes());
            }
            Purpose::KeyCheck => aad.extend_from_slice(KEY_CHECK_INFO),
        }
        aad.extend_from_slice(key_id.as_bytes());
        aad
    }
}

fn len_prefix(s: &str) -> [u8; 8] {
    (s.len() as u64).to_be_bytes()
}

fn cipher(data_key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(data_key))
}

fn encrypt(
    master: &MasterKey,
    purpose: Purpose<'_>,
    plaintext: &[u8],
) -> Result<Sealed, VaultError> {
    if plaintext.len() > MAX_SECRET_LEN {
        return Err(VaultError::TooLarge {
            len: plaintext.len(),
            max: MAX_SECRET_LEN,
        });
    }
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    // Room for the tag up front, so the buffer never reallocates and leaves plaintext behind.
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext);
    cipher(&purpose.data_key(master))
        .encrypt_in_place(
            Nonce::from_slice(&nonce),
            &purpose.associated_data(master.id()),
            &mut *buffer,
        )
        .map_err(|_| VaultError::Encrypt)?;
    // The buffer now holds only ciphertext and tag.
    Ok(Sealed::new(master.id(), nonce, buffer.to_vec()))
}

fn decrypt(
    master: &MasterKey,
    purpose: Purpose<'_>,
    sealed: &Sealed,
) -> Result<Zeroizing<Vec<u8>>, aes_gcm::Error> {
    let mut buffer = Zeroizing::new(sealed.ciphertext().to_vec());
    cipher(&purpose.data_key(master)).decrypt_in_place(
        Nonce::from_slice(sealed.nonce()),
        &purpose.associated_data(sealed.key_id()),
        &mut *buffer,
    )?;
    Ok(buffer)
}

impl Vault {
    /// A vault whose active (sealing) key is `active`.
    pub fn new(active: MasterKey) -> Self {
        Self::with_previous_keys(active, [])
    }

    /// A vault in the middle of a rotation: `active` seals, `previous` keys only open. Duplicates
    /// (by key id) are dropped.
    pub fn with_previous_keys(
        active: MasterKey,
        previous: impl IntoIterator<Item = MasterKey>,
    ) -> Self {
        let vault = Self {
            ring: RwLock::new(KeyRing {
                active: Arc::new(active),
                previous: Vec::new(),
            }),
        };
        for key in previous {
            vault.add_opening_key(key);
        }
        vault
    }

    fn ring(&self) -> RwLockReadGuard<'_, KeyRing> {
        // The ring is replaced field by field under the lock and never left half-updated, so a
        // panic elsewhere while holding it does not make it unusable.
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn ring_mut(&self) -> RwLockWriteGuard<'_, KeyRing> {
        self.ring.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn active(&self) -> Arc<MasterKey> {
        Arc::clone(&self.ring().active)
    }

    /// The key that seals.
    pub fn active_key_id(&self) -> KeyId {
        self.ring().active.id()
    }

    /// Every key held: the active one first, then the opening-only ones.
    pub fn key_ids(&self) -> Vec<KeyId> {
        let ring = self.ring();
        std::iter::once(ring.active.id())
            .chain(ring.previous_ids())
            .collect()
    }

    /// Encrypts `plaintext` as secret `secret_name` of `tenant` under the active key.
    pub fn seal(
        &self,
        tenant: &str,
        secret_name: &str,
        plaintext: &[u8],
    ) -> Result<Sealed, VaultError> {
        let purpose = Purpose::Secret {
            tenant,
            name: secret_name,
        };
        encrypt(&self.active(), purpose, plaintext)
    }

    /// Decrypts a value sealed for exactly this `tenant` and `secret_name`, with whichever held key
    /// sealed it.
    pub fn open(
        &self,
        tenant: &str,
        secret_name: &str,
        sealed: &Sealed,
    ) -> Result<SecretBytes, VaultError> {
        let master = {
            let ring = self.ring();
            match ring.find(sealed.key_id()) {
                Some(key) => Arc::clone(key),
                None => {
                    return Err(VaultError::UnknownKey {
                        tenant: tenant.to_owned(),
                        name: secret_name.to_owned(),
                        key_id: sealed.key_id(),
                        active: ring.active.id(),
                    });
                }
            }
        };
        let purpose = Purpose::Secret {
            tenant,
            name: secret_name,
        };
        decrypt(&master, purpose, sealed)
            .map(SecretBytes::from_zeroizing)
            .map_err(|_| VaultError::Decrypt {
                tenant: tenant.to_owned(),
                name: secret_name.to_owned(),
            })
    }

    /// Whether `sealed` was sealed by a key other than the active one (a rotation pass reseals
    /// exactly these rows, so it can stop and resume anywhere).
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id() != self.active_key_id()
    }

    /// Opens `sealed` and seals it again under the active key with a fresh nonce: one row of a
    /// `toolport vault rotate` pass. The plaintext only exists inside this call.
    pub fn reseal(
        &self,
        tenant: &str,
        secret_name: &str,
        sealed: &Sealed,
    ) -> Result<Sealed, VaultError> {
        let plaintext = self.open(tenant, secret_name, sealed)?;
        self.seal(tenant, secret_name, plaintext.expose())
    }

    /// Makes `new_master` the sealing key and keeps the previous active key for opening; returns
    /// the previous active key's id (to [`Vault::retire`] once every row is resealed). Rotating back
    /// to a key still held as an opening key promotes it.
    pub fn rotate(&self, new_master: MasterKey) -> Result<KeyId, VaultError> {
        let mut ring = self.ring_mut();
        let new_id = new_master.id();
        if new_id == ring.active.id() {
            return Err(VaultError::SameKey(new_id));
        }
        ring.previous.retain(|k| k.id() != new_id);
        let old = std::mem::replace(&mut ring.active, Arc::new(new_master));
        let old_id = old.id();
        ring.previous.insert(0, old);
        Ok(old_id)
    }

    /// Adds a key that opens but does not seal (first step of a multi-instance rotation, or an old
    /// key still named by some rows). A key already held is ignored.
    pub fn add_opening_key(&self, key: MasterKey) {
        let mut ring = self.ring_mut();
        if ring.find(key.id()).is_none() {
            ring.previous.push(Arc::new(key));
        }
    }

    /// Drops an opening-only key once no stored value names it any more.
    pub fn retire(&self, key_id: KeyId) -> Result<(), VaultError> {
        let mut ring = self.ring_mut();
        if ring.active.id() == key_id {
            return Err(VaultError::RetireActive(key_id));
        }
        let before = ring.previous.len();
        ring.previous.retain(|k| k.id() != key_id);
        if ring.previous.len() == before {
            return Err(VaultError::NotHeld(key_id));
        }
        Ok(())
    }

    /// Writes the key ring to the key file at `path` (see [`crate::key_file`]): `incoming` first
    /// when given (the key about to become active, persisted before it seals anything), then the
    /// active key, then the opening-only keys. The key material never leaves this crate.
    pub fn write_key_file(
        &self,
        path: &std::path::Path,
        incoming: Option<&MasterKey>,
    ) -> Result<(), KeyError> {
        let ring = self.ring();
        let keys: Vec<&MasterKey> = incoming
            .into_iter()
            .chain(std::iter::once(ring.active.as_ref()))
            .chain(ring.previous.iter().map(AsRef::as_ref))
            .collect();
        crate::key_file::write_keys(path, &keys)
    }

    /// A key check value sealed with the active key: store it next to the secrets when the
    /// database is created (and again after a rotation), then [`Vault::verify`] it at every start.
    pub fn key_check(&self) -> Result<Sealed, VaultError> {
        encrypt(&self.active(), Purpose::KeyCheck, KEY_CHECK_PLAINTEXT)
    }

    /// Fails loudly unless this vault holds the master key that made `check`, so that a gateway
    /// started with the wrong key refuses to start instead of failing on every secret later.
    pub fn verify(&self, check: &Sealed) -> Result<(), VaultError> {
        let master = {
            let ring = self.ring();
            match ring.find(check.key_id()) {
                Some(key) => Arc::clone(key),
                None => {
                    let previous = ring.previous_ids();
                    return Err(VaultError::WrongMasterKey {
                        expected: check.key_id(),
                        active: ring.active.id(),
                        previous: if previous.is_empty() {
                            String::new()
                        } else {
                            let ids: Vec<String> =
                                previous.iter().map(ToString::to_string).collect();
                            format!(" (previous keys: {})", ids.join(", "))
                        },
                    });
                }
            }
        };
        match decrypt(&master, Purpose::KeyCheck, check) {
            Ok(plaintext) if plaintext.as_slice() == KEY_CHECK_PLAINTEXT => Ok(()),
            _ => Err(VaultError::KeyCheckFailed {
                key_id: check.key_id(),
            }),
        }
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring = self.ring();
        f.debug_struct("Vault")
            .field("active_key", &ring.active.id())
            .field("previous_keys", &ring.previous_ids())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; 32])
    }

    #[test]
    fn tenant_keys_are_distinct_per_tenant_and_master() {
        let a = master(1);
        let b = master(2);
        let t1 = Purpose::Secret {
            tenant: "t1",
            name: "x",
        };
        let t2 = Purpose::Secret {
            tenant: "t2",
            name: "x",
        };
        assert_ne!(*t1.data_key(&a), *t2.data_key(&a));
        assert_ne!(*t1.data_key(&a), *t1.data_key(&b));
        assert_ne!(*t1.data_key(&a), *Purpose::KeyCheck.data_key(&a));
        // The name is bound by the associated data, not the key: one key per tenant.
        let t1y = Purpose::Secret {
            tenant: "t1",
            name: "y",
        };
        assert_eq!(*t1.data_key(&a), *t1y.data_key(&a));
    }

    #[test]
    fn associated_data_is_unambiguous() {
        let id = master(1).id();
        let one = Purpose::Secret {
            tenant: "a:b",
            name: "c",
        };
        let two = Purpose::Secret {
            tenant: "a",
            name: "b:c",
        };
        assert_ne!(one.associated_data(id), two.associated_data(id));
        let vault = Vault::new(master(1));
        let sealed = vault.seal("a:b", "c", b"v").unwrap();
        assert!(vault.open("a", "b:c", &sealed).is_err());
        assert!(vault.open("a:b", "c", &sealed).is_ok());
    }

    #[test]
    fn nonces_are_fresh() {
        let vault = Vault::new(master(1));
        let a = vault.seal("t", "n", b"same").unwrap();
        let b = vault.seal("t", "n", b"same").unwrap();
        assert_ne!(a.nonce(), b.nonce());
        assert_ne!(a.to_string(), b.to_string());
    }

    #[test]
    fn size_limit() {
        let vault = Vault::new(master(1));
        let big = vec![0u8; MAX_SECRET_LEN + 1];
        let err = vault.seal("t", "n", &big).unwrap_err();
        assert!(matches!(err, VaultError::TooLarge { .. }), "{err}");
        assert!(vault.seal("t", "n", &big[..MAX_SECRET_LEN]).is_ok());
        assert!(vault.seal("t", "n", b"").is_ok());
    }

    #[test]
    fn key_ring_management() {
        let vault = Vault::with_previous_keys(master(1), [master(2), master(2), master(1)]);
        assert_eq!(vault.key_ids(), vec![master(1).id(), master(2).id()]);
        assert!(matches!(
            vault.rotate(master(1)),
            Err(VaultError::SameKey(_))
        ));
        // Promote the opening key.
        assert_eq!(vault.rotate(master(2)).unwrap(), master(1).id());
        assert_eq!(vault.key_ids(), vec![master(2).id(), master(1).id()]);
        assert!(matches!(
            vault.retire(master(2).id()),
            Err(VaultError::RetireActive(_))
        ));
        assert!(matches!(
            vault.retire(master(3).id()),
            Err(VaultError::NotHeld(_))
        ));
        vault.retire(master(1).id()).unwrap();
        assert_eq!(vault.key_ids(), vec![master(2).id()]);
    }
}
