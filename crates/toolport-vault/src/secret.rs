//! The wrapper every decrypted secret travels in, so that plaintext is wiped when it is dropped and
//! can never reach a log line through `{:?}` or `{}`.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

/// Decrypted secret bytes.
///
/// - The bytes are zeroised when the last clone is dropped (clones share one buffer, so the cache
///   and its callers do not multiply copies of the plaintext).
/// - `Debug` and `Display` print `[redacted]`; the only way to the bytes is [`SecretBytes::expose`].
/// - There is no `PartialEq`, `Serialize` or `Deref`: reading a secret is always an explicit call.
#[derive(Clone)]
pub struct SecretBytes(Arc<Zeroizing<Vec<u8>>>);

impl SecretBytes {
    /// Wraps plaintext (takes ownership so that no unzeroised copy is left behind by this call).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Arc::new(Zeroizing::new(bytes)))
    }

    pub(crate) fn from_zeroizing(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(Arc::new(bytes))
    }

    /// The plaintext. Keep the borrow short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The plaintext as UTF-8 text (most secrets are tokens or passwords). The error names the
    /// offending byte position only, never the content.
    pub fn expose_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.0)
    }

    /// The plaintext's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many clones share the buffer (tests check that the cache lets go of evicted values).
    #[cfg(test)]
    pub(crate) fn holders(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<String> for SecretBytes {
    fn from(text: String) -> Self {
        Self::new(text.into_bytes())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes([redacted])")
    }
}

impl fmt::Display for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_bytes() {
        let secret = SecretBytes::from("hunter2-very-secret".to_owned());
        assert_eq!(format!("{secret:?}"), "SecretBytes([redacted])");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(format!("{secret:#?}"), "SecretBytes([redacted])");
        assert_eq!(secret.expose_str().unwrap(), "hunter2-very-secret");
        assert_eq!(secret.len(), 19);
    }

    #[test]
    fn clones_share_one_buffer() {
        let a = SecretBytes::new(b"abc".to_vec());
        let b = a.clone();
        assert!(std::ptr::eq(a.expose().as_ptr(), b.expose().as_ptr()));
    }
}
