//! The only place Toolport's key material exists: the master key, the per-tenant keys derived from
//! it, sealing and opening secrets with AES-256-GCM, rotation, and a short-lived cache of decrypted
//! values. No database and no HTTP: the store keeps [`Sealed`] text, this crate turns it into
//! [`SecretBytes`] and back.
//!
//! Layout:
//! - [`master`]: [`MasterKey`] from `TOOLPORT_MASTER_KEY` (value passed in), a key file, or a key
//!   file created on first run (0600); its public [`KeyId`].
//! - [`vault`]: [`Vault`]: key ring (active + opening-only keys), `seal`/`open`, `reseal`,
//!   `rotate`/`retire`, the key check; the module docs explain the key design and why.
//! - [`key_file`]: the key file holding the active key and, during a rotation, the previous keys
//!   ([`key_file::load_keys`], atomic [`key_file::write_keys`]).
//! - [`sealed`]: [`Sealed`], the versioned stored form `tpv1:KEY_ID:PAYLOAD`.
//! - [`secret`]: [`SecretBytes`], zeroised on drop, redacted in `Debug`/`Display`.
//! - [`cache`]: [`SecretCache`], TTL- and size-bounded decrypted values, on an injectable [`Clock`].
//! - [`error`]: [`KeyError`], [`FormatError`], [`VaultError`]; no message carries a secret.
//!
//! Deliberately absent: reading the process environment, logging (nothing here logs, so nothing
//! here can log a secret), `unsafe`, and any way to print a key or a plaintext by formatting.
//!
//! ```
//! use toolport_vault::{MasterKey, Vault};
//!
//! let vault = Vault::new(MasterKey::generate());
//! let check = vault.key_check()?; // stored once, verified at every start
//! vault.verify(&check)?;
//!
//! let sealed = vault.seal("tenant-1", "github_token", b"ghp_example")?;
//! let stored = sealed.to_string(); // "tpv1:<key id>:<nonce|ciphertext|tag>"
//! let opened = vault.open("tenant-1", "github_token", &stored.parse()?)?;
//! assert_eq!(opened.expose(), b"ghp_example");
//! assert!(vault.open("tenant-2", "github_token", &sealed).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cache;
pub mod error;
pub mod key_file;
pub mod master;
pub mod sealed;
pub mod secret;
pub mod vault;

pub use cache::{CacheConfig, Clock, ManualClock, SecretCache, SystemClock};
pub use error::{FormatError, KeyError, VaultError};
pub use master::{KeyId, KeyOrigin, MASTER_KEY_ENV, MasterKey};
pub use sealed::Sealed;
pub use secret::SecretBytes;
pub use vault::{MAX_SECRET_LEN, Vault};
