//! API token text: generation (`tp_` + 32 random URL-safe characters) and the SHA-256 hash that is
//! the only form a store keeps. Backend-independent.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The prefix every Toolport API token starts with, so that a leaked token is recognisable (and
/// secret scanners can be taught to find it).
pub const TOKEN_PREFIX: &str = "tp_";

/// Random bytes per token: 24 bytes are exactly 32 base64url characters (192 bits).
const RANDOM_BYTES: usize = 24;

/// Shortest random part accepted for an imported token (e.g. `TOOLPORT_ADMIN_TOKEN`).
const MIN_IMPORTED_RANDOM_CHARS: usize = 20;

/// A new token: `tp_` followed by 32 URL-safe characters from the operating system's generator.
pub(crate) fn generate() -> Result<String, StoreError> {
    let mut bytes = [0u8; RANDOM_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Database(format!("no randomness for a new token: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Checks an externally supplied token (never quoted in the error).
pub(crate) fn validate_imported(token: &str) -> Result<(), StoreError> {
    let Some(random) = token.strip_prefix(TOKEN_PREFIX) else {
        return Err(StoreError::Invalid(format!(
            "an API token must start with `{TOKEN_PREFIX}`"
        )));
    };
    if random.len() < MIN_IMPORTED_RANDOM_CHARS
        || !random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(StoreError::Invalid(format!(
            "an API token needs at least {MIN_IMPORTED_RANDOM_CHARS} URL-safe characters after `{TOKEN_PREFIX}`"
        )));
    }
    Ok(())
}

/// The stored form of a token: lowercase hex SHA-256 of its full text. Tokens carry 192 random
/// bits, so a fast unsalted hash is enough (nothing to brute-force), and it lets authentication
/// look a token up by hash directly.
pub(crate) fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_prefix_and_length() {
        let token = generate().unwrap();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(token.len(), TOKEN_PREFIX.len() + 32);
        validate_imported(&token).unwrap();
        assert_ne!(token, generate().unwrap());
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn imported_tokens_are_checked() {
        assert!(validate_imported("secret").is_err());
        assert!(validate_imported("tp_short").is_err());
        assert!(validate_imported("tp_has spaces in it and is long").is_err());
        validate_imported("tp_abcdefghijklmnopqrstuvwxyz").unwrap();
    }
}
