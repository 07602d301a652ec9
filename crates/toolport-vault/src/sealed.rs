//! The stored form of a secret: a versioned, self-describing text that records which master key
//! sealed it, so that a key ring with several keys always knows which one opens it.
//!
//! Format version 1: `tpv1:<key id: 16 hex>:<base64url without padding of nonce(12) | ciphertext | tag(16)>`.
//! The text is ASCII, safe in any TEXT column, JSON string or config file. Parse errors describe
//! the problem but never quote the input: a column meant for sealed values may hold a plaintext.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::{FormatError, KeyId};

/// The AES-GCM nonce length (96 bits).
pub(crate) const NONCE_LEN: usize = 12;
/// The AES-GCM tag length.
pub(crate) const TAG_LEN: usize = 16;
const PREFIX: &str = "tpv";

/// An encrypted secret as stored: key id, nonce and ciphertext (with its tag).
///
/// It holds no plaintext; `Display` (and serde) give the stored text, `Debug` only the key id and
/// length.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    key_id: KeyId,
    nonce: [u8; NONCE_LEN],
    /// Ciphertext followed by the 16-byte tag.
    ciphertext: Vec<u8>,
}

impl Sealed {
    /// The format version this build writes (and the only one it reads).
    pub const VERSION: u32 = 1;

    pub(crate) fn new(key_id: KeyId, nonce: [u8; NONCE_LEN], ciphertext: Vec<u8>) -> Self {
        Self {
            key_id,
            nonce,
            ciphertext,
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        if text.is_empty() {
            return Err(FormatError::Empty);
        }
        let Some(rest) = text.strip_prefix(PREFIX) else {
            return Err(FormatError::MissingPrefix);
        };
        let fields: Vec<&str> = rest.split(':').collect();
        let version = fields[0];
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) || fields.len() < 2 {
            return Err(FormatError::MissingPrefix);
        }
        if version != "1" {
            return Err(FormatError::UnsupportedVersion {
                found: version.chars().take(10).collect(),
            });
        }
        if fields.len() != 3 {
            return Err(FormatError::FieldCount {
                found: fields.len(),
            });
        }
        let key_id: KeyId = fields[1].parse()?;
        let payload = URL_SAFE_NO_PAD
            .decode(fields[2])
            .map_err(|_| FormatError::Base64)?;
        if payload.len() < NONCE_LEN + TAG_LEN {
            return Err(FormatError::TooShort { len: payload.len() });
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&payload[..NONCE_LEN]);
        Ok(Self {
            key_id,
            nonce,
            ciphertext: payload[NONCE_LEN..].to_vec(),
        })
    }

    /// The stored text (same as `to_string()`).
    pub fn encode(&self) -> String {
        self.to_string()
    }

    /// The master key that sealed this value.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The format version (always [`Sealed::VERSION`] for values this build parsed or made).
    pub fn version(&self) -> u32 {
        Self::VERSION
    }

    /// SHA-256 of the whole sealed value: identifies this exact ciphertext (the decrypted-value
    /// cache keys on it, so a resealed or replaced row never hits a stale entry).
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.key_id.as_bytes());
        hash.update(self.nonce);
        hash.update(&self.ciphertext);
        hash.finalize().into()
    }

    pub(crate) fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    pub(crate) fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = Vec::with_capacity(NONCE_LEN + self.ciphertext.len());
        payload.extend_from_slice(&self.nonce);
        payload.extend_from_slice(&self.ciphertext);
        write!(
            f,
            "{PREFIX}{}:{}:{}",
            Self::VERSION,
            self.key_id,
            URL_SAFE_NO_PAD.encode(payload)
        )
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("version", &Self::VERSION)
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

impl FromStr for Sealed {
    type Err = FormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Sealed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sealed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Sealed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sealed secret `tpv1:KEY_ID:PAYLOAD`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Sealed, E> {
                Sealed::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sealed {
        Sealed::new(KeyId::from_bytes([0xab; 8]), [1; NONCE_LEN], vec![2; 20])
    }

    #[test]
    fn text_round_trip() {
        let sealed = sample();
        let text = sealed.to_string();
        assert!(text.starts_with("tpv1:abababababababab:"), "{text}");
        assert_eq!(Sealed::parse(&text).unwrap(), sealed);
        assert_eq!(text.parse::<Sealed>().unwrap(), sealed);
        assert_eq!(sealed.encode(), text);
    }

    #[test]
    fn serde_uses_the_text_form() {
        let sealed = sample();
        let json = serde_json::to_string(&sealed).unwrap();
        assert_eq!(json, format!("\"{sealed}\""));
        assert_eq!(serde_json::from_str::<Sealed>(&json).unwrap(), sealed);
        let err = serde_json::from_str::<Sealed>("\"my-plaintext-password\"").unwrap_err();
        assert!(
            err.to_string().contains("not a Toolport sealed value"),
            "{err}"
        );
        assert!(!err.to_string().contains("my-plaintext-password"), "{err}");
    }

    #[test]
    fn parse_errors_are_precise_and_never_quote_the_input() {
        let good = sample().to_string();
        let payload = good.rsplit(':').next().unwrap().to_owned();
        let cases = [
            (String::new(), FormatError::Empty),
            ("hunter2".to_owned(), FormatError::MissingPrefix),
            ("tpvx:aa:bb".to_owned(), FormatError::MissingPrefix),
            ("tpv1".to_owned(), FormatError::MissingPrefix),
            (
                format!("tpv2:abababababababab:{payload}"),
                FormatError::UnsupportedVersion { found: "2".into() },
            ),
            (
                "tpv1:abababababababab".to_owned(),
                FormatError::FieldCount { found: 2 },
            ),
            (
                format!("tpv1:abababababababab:{payload}:extra"),
                FormatError::FieldCount { found: 4 },
            ),
            (
                format!("tpv1:ABABABABABABABAB:{payload}"),
                FormatError::KeyId,
            ),
            (format!("tpv1:abab:{payload}"), FormatError::KeyId),
            (
                "tpv1:abababababababab:AAAA".to_owned(),
                FormatError::TooShort { len: 3 },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Sealed::parse(&text).unwrap_err(), expected, "{text}");
        }
        let err = Sealed::parse("tpv1:abababababababab:secret+value/with=padding").unwrap_err();
        assert_eq!(err, FormatError::Base64);
    }

    #[test]
    fn debug_shows_no_bytes() {
        let debug = format!("{:?}", sample());
        assert_eq!(
            debug,
            "Sealed { version: 1, key_id: KeyId(abababababababab), ciphertext_len: 20 }"
        );
    }

    #[test]
    fn fingerprint_tracks_every_byte() {
        let a = sample();
        let mut b = sample();
        b.ciphertext[0] ^= 1;
        let mut c = sample();
        c.nonce[0] ^= 1;
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_eq!(a.fingerprint(), sample().fingerprint());
    }
}
