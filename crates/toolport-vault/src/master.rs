//! The master key: where it comes from (an environment value, a key file, or a new key file made on
//! first run), how it is checked, and the one function that derives anything from it.
//!
//! The library never reads the environment itself: the binary passes the value of
//! [`MASTER_KEY_ENV`] in (or a lookup closure), so tests and embedders choose what the "environment"
//! is.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::KeyError;

/// The environment variable that holds the master key.
pub const MASTER_KEY_ENV: &str = "TOOLPORT_MASTER_KEY";

/// The HKDF salt: fixed, public, and distinct to this vault and format version.
const HKDF_SALT: &[u8] = b"toolport-vault/v1/hkdf-salt";
/// Key files are a few dozen bytes; anything much larger is not a key file.
const MAX_KEY_FILE_LEN: u64 = 4096;
/// HKDF info label of the key id (a public fingerprint of the master key).
const KEY_ID_INFO: &[u8] = b"toolport-vault/v1/key-id";

/// A 32-byte master key.
///
/// Zeroised on drop; not `Clone` (each copy is one more place for the key to leak from); `Debug`
/// shows only the key's public [`KeyId`].
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    id: KeyId,
}

/// Where [`MasterKey::load_or_create`] or [`MasterKey::resolve`] got the key from; the binary
/// says so at start-up (and, for `Created`, where the new file is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// From the value of [`MASTER_KEY_ENV`].
    Environment,
    /// From an existing key file.
    Loaded,
    /// Generated now and written to a new key file (mode 0600).
    Created,
}

impl MasterKey {
    /// Wraps 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::from_zeroizing(Zeroizing::new(bytes))
    }

    fn from_zeroizing(bytes: Zeroizing<[u8; 32]>) -> Self {
        let id = KeyId::of(&bytes);
        Self { bytes, id }
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut bytes[..]);
        Self::from_zeroizing(bytes)
    }

    /// Parses the value of [`MASTER_KEY_ENV`]: 64 hex characters or base64 (standard or URL-safe,
    /// padded or not) of exactly 32 bytes; surrounding whitespace is ignored. The error names the
    /// variable and the expected form, never the value.
    pub fn from_env_value(value: &str) -> Result<Self, KeyError> {
        Self::from_named_env_value(MASTER_KEY_ENV, value)
    }

    /// Like [`MasterKey::from_env_value`] for a key in another variable (`var` names it in the
    /// error), such as the previous key during a rotation.
    pub fn from_named_env_value(var: &'static str, value: &str) -> Result<Self, KeyError> {
        decode_key_text(value.as_bytes()).map_err(|reason| KeyError::InvalidEnv { var, reason })
    }

    /// Looks [`MASTER_KEY_ENV`] up through `lookup` (e.g. `|k| std::env::var(k).ok()`): `Ok(None)`
    /// when it is unset.
    pub fn from_env(lookup: impl FnOnce(&str) -> Option<String>) -> Result<Option<Self>, KeyError> {
        let Some(value) = lookup(MASTER_KEY_ENV).map(Zeroizing::new) else {
            return Ok(None);
        };
        Self::from_env_value(&value).map(Some)
    }

    /// Reads an existing key file, refusing one that group or others can access (Unix).
    ///
    /// The file holds the key as text (base64 or hex, like the environment variable) or as exactly
    /// 32 raw bytes.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let invalid = |reason| KeyError::InvalidFile {
            path: path.to_owned(),
            reason,
        };
        let content = read_key_file(path)?;
        if let Ok(raw) = <[u8; 32]>::try_from(&content[..]) {
            return Ok(Self::from_bytes(raw));
        }
        decode_key_text(&content).map_err(invalid)
    }

    /// Loads the key file at `path`, or, when there is none, generates a key and writes it there
    /// (base64 and a newline, mode 0600, parent directories created with mode 0700).
    ///
    /// Creation is atomic: the key is written and synced to a private temporary file that is then
    /// hard-linked into place, so a crash never leaves an empty or half-written key file, and two
    /// processes starting at once agree on one key.
    pub fn load_or_create(path: &Path) -> Result<(Self, KeyOrigin), KeyError> {
        if path.exists() {
            return Ok((Self::load(path)?, KeyOrigin::Loaded));
        }
        let key = Self::generate();
        match write_new_key_file(path, &key)? {
            true => Ok((key, KeyOrigin::Created)),
            // Someone else created it between our check and our link: theirs wins.
            false => Ok((Self::load(path)?, KeyOrigin::Loaded)),
        }
    }

    /// The start-up rule of the binary: the environment value when there is one (a key file is then
    /// neither read nor created), else [`MasterKey::load_or_create`] on `key_file`.
    pub fn resolve(
        env_value: Option<&str>,
        key_file: &Path,
    ) -> Result<(Self, KeyOrigin), KeyError> {
        match env_value {
            Some(value) => Ok((Self::from_env_value(value)?, KeyOrigin::Environment)),
            None => Self::load_or_create(key_file),
        }
    }

    /// The key's public identifier, recorded in every ciphertext it seals.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key as standard base64, the form [`MasterKey::from_env_value`] and key files accept;
    /// for `toolport vault rotate` to hand a new key to the operator once.
    pub fn export_base64(&self) -> Zeroizing<String> {
        // Room for the key file's newline: appending it must not reallocate and leave a copy.
        let mut text = Zeroizing::new(String::with_capacity(45));
        STANDARD.encode_string(&self.bytes[..], &mut text);
        text
    }

    /// HKDF-SHA256 of this key with the given info parts (concatenated). Callers length-prefix
    /// variable parts so that distinct inputs never produce the same info.
    pub(crate) fn derive(&self, info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
        let mut okm = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(HKDF_SALT), &self.bytes[..])
            .expand_multi_info(info, &mut okm[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        okm
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The public 8-byte identifier of a master key (HKDF of the key with a fixed label, so it reveals
/// nothing about the key). Written as 16 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    fn of(key: &[u8; 32]) -> Self {
        let mut id = [0u8; 8];
        Hkdf::<Sha256>::new(Some(HKDF_SALT), key)
            .expand(KEY_ID_INFO, &mut id)
            .expect("8 bytes is a valid HKDF-SHA256 output length");
        Self(id)
    }

    /// The raw 8 bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = crate::FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 16 {
            return Err(crate::FormatError::KeyId);
        }
        let mut id = [0u8; 8];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = lower_hex_value(pair[0]).ok_or(crate::FormatError::KeyId)?;
            let lo = lower_hex_value(pair[1]).ok_or(crate::FormatError::KeyId)?;
            id[i] = (hi << 4) | lo;
        }
        Ok(Self(id))
    }
}

fn lower_hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex_value(c: u8) -> Option<u8> {
    lower_hex_value(c.to_ascii_lowercase())
}

/// Decodes a textual key. The error (a reason for the caller's message) never includes the input.
pub(crate) fn decode_key_text(text: &[u8]) -> Result<MasterKey, String> {
    let text = text.trim_ascii();
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    if text.iter().all(|c| c.is_ascii_hexdigit()) && text.len().is_multiple_of(2) {
        if text.len() != 64 {
            return Err(format!(
                "it has {} hex characters ({} bytes)",
                text.len(),
                text.len() / 2
            ));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        for (i, pair) in text.chunks_exact(2).enumerate() {
            // Both are hex digits: checked above.
            let hi = hex_value(pair[0]).unwrap_or(0);
            let lo = hex_value(pair[1]).unwrap_or(0);
            key[i] = (hi << 4) | lo;
        }
        return Ok(MasterKey::from_zeroizing(key));
    }
    let mut buf = Zeroizing::new([0u8; 64]);
    let mut decoded_len = None;
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        if let Ok(n) = engine.decode_slice(text, &mut buf[..]) {
            if n == 32 {
                let mut key = Zeroizing::new([0u8; 32]);
                key.copy_from_slice(&buf[..32]);
                return Ok(MasterKey::from_zeroizing(key));
            }
            decoded_len = Some(n);
        }
    }
    Err(match decoded_len {
        Some(n) => format!("it is base64 of {n} bytes, not 32"),
        None if text.len() > 64 => format!("it is {} characters long", text.len()),
        None => "it is neither hex nor base64".to_owned(),
    })
}

/// The bytes of the key file at `path`, refusing one that group or others can access (Unix) or
/// that is too large to be a key file.
pub(crate) fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let read_err = |source| KeyError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    // Check and read through one handle, so the file checked is the file read.
    let mut file = fs::File::open(path).map_err(read_err)?;
    let metadata = file.metadata().map_err(read_err)?;
    check_permissions(path, &metadata)?;
    if metadata.len() > MAX_KEY_FILE_LEN {
        return Err(KeyError::InvalidFile {
            path: path.to_owned(),
            reason: format!("it is {} bytes long", metadata.len()),
        });
    }
    // Sized up front so that reading never reallocates and leaves a copy of the key behind.
    let mut content = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE_LEN as usize + 1));
    (&mut file)
        .take(MAX_KEY_FILE_LEN + 1)
        .read_to_end(&mut content)
        .map_err(read_err)?;
    Ok(content)
}

#[cfg(unix)]
fn check_permissions(path: &Path, metadata: &fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _metadata: &fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

/// Writes `key` to a new file at `path`. `Ok(false)` when `path` appeared meanwhile.
fn write_new_key_file(path: &Path, key: &MasterKey) -> Result<bool, KeyError> {
    let io_err = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| KeyError::Io {
            action,
            path,
            source,
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(io_err("create the directory of", path))?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = create_private_file(&tmp).map_err(io_err("create", &tmp))?;
        let mut text = key.export_base64();
        text.push('\n');
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io_err("write", &tmp))?;
        drop(file);
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_err("create", path)(e)),
        }
    })();
    // The temporary name is ours alone; failing to remove it leaves a 0600 file, not a leak.
    let _ = fs::remove_file(&tmp);
    if result.is_ok()
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    result
}

/// A sibling name no other process or thread picks (`create_new` would refuse a clash anyway).
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(format!(
        ".tmp-{}-{:016x}",
        std::process::id(),
        OsRng.next_u64()
    ));
    path.with_file_name(name)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
pub(crate) fn create_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask can only remove bits, but be explicit: the key file is 0600 whatever it is.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
pub(crate) fn create_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn accepts_hex_and_every_base64_flavour() {
        // 0xfb bytes make base64 use `+` and `/` (standard) or `-` and `_` (URL-safe).
        let raw = [0xfb; 32];
        let expected = MasterKey::from_bytes(raw).id();
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        for text in [
            hex.clone(),
            hex.to_uppercase(),
            format!("  {hex}\n"),
            STANDARD.encode(raw),
            STANDARD_NO_PAD.encode(raw),
            URL_SAFE.encode(raw),
            URL_SAFE_NO_PAD.encode(raw),
        ] {
            assert_eq!(
                MasterKey::from_env_value(&text).unwrap().id(),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn bad_values_name_the_variable_and_the_form_but_not_the_value() {
        for (value, reason) in [
            ("", "it is empty"),
            ("   ", "it is empty"),
            ("abcd", "it has 4 hex characters (2 bytes)"),
            ("c2hvcnQ=", "it is base64 of 5 bytes, not 32"),
            ("not a key at all!", "it is neither hex nor base64"),
        ] {
            let err = MasterKey::from_env_value(value).unwrap_err().to_string();
            assert!(
                err.starts_with("TOOLPORT_MASTER_KEY is not a valid master key"),
                "{err}"
            );
            assert!(err.contains(reason), "{err}");
            assert!(err.contains("64 hex characters or as base64"), "{err}");
            if !value.trim().is_empty() {
                assert!(!err.contains(value.trim()), "{err}");
            }
        }
    }

    #[test]
    fn lookup_closure_is_the_only_environment() {
        assert!(MasterKey::from_env(|_| None).unwrap().is_none());
        let got = MasterKey::from_env(|name| {
            assert_eq!(name, MASTER_KEY_ENV);
            Some(STANDARD.encode(KEY))
        })
        .unwrap()
        .unwrap();
        assert_eq!(got.id(), MasterKey::from_bytes(KEY).id());
    }

    #[test]
    fn key_id_is_stable_and_round_trips() {
        let id = MasterKey::from_bytes(KEY).id();
        assert_eq!(id.to_string().len(), 16);
        assert_eq!(id.to_string().parse::<KeyId>().unwrap(), id);
        assert_ne!(id, MasterKey::from_bytes([8; 32]).id());
        assert!("ABCDEF0123456789".parse::<KeyId>().is_err());
        assert!("abc".parse::<KeyId>().is_err());
    }

    #[test]
    fn debug_shows_only_the_id() {
        let key = MasterKey::from_bytes(KEY);
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            format!("MasterKey {{ id: KeyId({}), .. }}", key.id())
        );
        assert!(!debug.contains(&STANDARD.encode(KEY)));
    }

    #[test]
    fn export_round_trips() {
        let key = MasterKey::generate();
        let again = MasterKey::from_env_value(&key.export_base64()).unwrap();
        assert_eq!(key.id(), again.id());
    }
}
