//! The vault's error types, kept apart so that every message can be checked in one place for the
//! rule that matters most here: no error ever carries key material, plaintext, or the raw text it
//! failed to parse (a column that should hold a sealed value might hold a plaintext secret).

use std::path::PathBuf;

use crate::KeyId;

/// Why a master key could not be obtained from the environment or a key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is set but does not hold a 32-byte key.
    #[error(
        "{var} is not a valid master key: {reason}; expected 32 bytes written as 64 hex characters \
         or as base64 (44 characters), e.g. the output of `openssl rand -base64 32`"
    )]
    InvalidEnv {
        /// The variable's name (`TOOLPORT_MASTER_KEY`).
        var: &'static str,
        /// What is wrong with the value, without the value.
        reason: String,
    },

    /// The key file exists but does not hold a 32-byte key.
    #[error(
        "key file {} does not hold a valid master key: {reason}; expected 32 bytes written as \
         64 hex characters or as base64 (44 characters)",
        path.display()
    )]
    InvalidFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with the content, without the content.
        reason: String,
    },

    /// The key file can be read or written by users other than its owner.
    #[error(
        "key file {} is accessible by group or others (mode {mode:04o}); refusing to use it. \
         Restrict it to its owner with: chmod 600 {}",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// Reading, creating or writing the key file failed.
    #[error("cannot {action} key file {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "create", …).
        action: &'static str,
        /// The key file (or its directory).
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a string is not a sealed value. Messages never quote the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Nothing to parse.
    #[error("sealed value is empty")]
    Empty,
    /// The text does not start with `tpv<N>:`.
    #[error("not a Toolport sealed value: it does not start with `tpv1:`")]
    MissingPrefix,
    /// A format version this build cannot read.
    #[error("sealed value has format version {found}, but this build reads only version 1")]
    UnsupportedVersion {
        /// The version found in the prefix.
        found: String,
    },
    /// Not exactly three `:`-separated fields.
    #[error("sealed value must have 3 fields `tpv1:KEY_ID:PAYLOAD`, found {found}")]
    FieldCount {
        /// How many fields there were.
        found: usize,
    },
    /// The key id field is not 16 hex characters.
    #[error("sealed value's key id must be 16 lowercase hex characters")]
    KeyId,
    /// The payload is not unpadded URL-safe base64.
    #[error("sealed value's payload is not unpadded URL-safe base64")]
    Base64,
    /// The payload cannot hold a nonce and an authentication tag.
    #[error(
        "sealed value's payload is {len} bytes, shorter than the 28 bytes of a nonce and a tag"
    )]
    TooShort {
        /// The decoded payload's length.
        len: usize,
    },
}

/// Why sealing, opening, verifying or changing the key ring failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The ciphertext names a master key the vault does not hold.
    #[error(
        "secret '{name}' of tenant '{tenant}' was sealed with master key {key_id}, which this \
         vault does not hold (active key {active}); the master key is wrong, or the key that \
         sealed it was retired before re-encryption finished"
    )]
    UnknownKey {
        /// The tenant the caller asked for.
        tenant: String,
        /// The secret name the caller asked for.
        name: String,
        /// The key the ciphertext names.
        key_id: KeyId,
        /// The vault's active key.
        active: KeyId,
    },

    /// Authentication failed with the right key: the ciphertext was altered or moved.
    #[error(
        "secret '{name}' of tenant '{tenant}' failed to decrypt: the ciphertext was altered, or \
         it belongs to another tenant or secret name"
    )]
    Decrypt {
        /// The tenant the caller asked for.
        tenant: String,
        /// The secret name the caller asked for.
        name: String,
    },

    /// The stored key check was sealed with a master key the vault does not hold.
    #[error(
        "wrong master key: the stored key check was sealed with master key {expected}, but the \
         configured master key is {active}{previous}; set TOOLPORT_MASTER_KEY or the key file to \
         the key this data was sealed with"
    )]
    WrongMasterKey {
        /// The key that sealed the check value.
        expected: KeyId,
        /// The configured active key.
        active: KeyId,
        /// ", previous keys: …" when the vault holds any, else empty.
        previous: String,
    },

    /// The key check names a held key but does not decrypt to the expected value.
    #[error(
        "the stored key check does not decrypt with master key {key_id}: it was altered or \
         the stored check value is corrupt"
    )]
    KeyCheckFailed {
        /// The key the check names.
        key_id: KeyId,
    },

    /// A secret above the size limit.
    #[error("secret is {len} bytes, above the vault's limit of {max} bytes")]
    TooLarge {
        /// The plaintext's length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The AEAD refused to encrypt (cannot happen below the size limit; kept to avoid panics).
    #[error("encryption failed")]
    Encrypt,

    /// `rotate` was given the key that is already active.
    #[error("master key {0} is already the active key; rotation needs a new key")]
    SameKey(KeyId),

    /// `retire` was asked to drop the active key.
    #[error("master key {0} is the active key and cannot be retired; rotate to a new key first")]
    RetireActive(KeyId),

    /// `retire` was asked to drop a key the vault does not hold.
    #[error("master key {0} is not held by this vault")]
    NotHeld(KeyId),

    /// The sealed value could not be parsed.
    #[error(transparent)]
    Format(#[from] FormatError),
}
