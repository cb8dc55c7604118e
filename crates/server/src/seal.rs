//! Secrets at rest (signing keys, two-step secrets) sealed under a key-encryption key
//! (KEK) that lives outside the database: a leaked backup of the database alone reveals
//! none of them.
//!
//! A sealed value is `sm-sealed-v1:` ‖ nonce (12 bytes) ‖ ChaCha20-Poly1305 ciphertext,
//! with the row's identity (e.g. the key id) as associated data, so a sealed value
//! cannot be moved to another row. Values written before a KEK was configured are
//! stored as they are, and sealed the next time a server with a KEK starts.

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;
use zeroize::Zeroizing;

const MAGIC: &[u8] = b"sm-sealed-v1:";
const NONCE_LEN: usize = 12;

/// The key-encryption key. `Debug` never shows it.
#[derive(Clone)]
pub struct Kek(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot read the key-encryption key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the key-encryption key must be 32 random bytes, base64-encoded (make one with `session-server keys generate-kek`)"
    )]
    BadKek,
    #[error(
        "a sealed secret is stored but no key-encryption key was given (--key-encryption-key-file)"
    )]
    NoKek,
    #[error(
        "a sealed secret does not open with this key-encryption key (wrong key, or damaged data)"
    )]
    WontOpen,
}

impl Kek {
    /// From its base64 text (standard or URL-safe, padded or not).
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| SealError::BadKek)?;
        let bytes = Zeroizing::new(bytes);
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| SealError::BadKek)?;
        Ok(Self(Zeroizing::new(array)))
    }

    /// From a file holding its base64 text.
    pub fn from_file(path: &Path) -> Result<Self, SealError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| SealError::Read {
                    path: path.display().to_string(),
                    source,
                })?,
            );
        Self::from_base64(&text)
    }

    /// A new random key, as base64 text.
    pub fn generate_base64() -> String {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut *bytes);
        base64::engine::general_purpose::STANDARD.encode(*bytes)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&*self.0))
    }
}

/// Seals and opens secrets at rest; without a KEK it stores them as they are.
#[derive(Clone, Debug, Default)]
pub struct Sealer {
    kek: Option<Kek>,
}

impl Sealer {
    pub fn new(kek: Option<Kek>) -> Self {
        Self { kek }
    }

    pub fn has_kek(&self) -> bool {
        self.kek.is_some()
    }

    /// What to store for `secret` of the row `aad`.
    pub fn seal(&self, aad: &[u8], secret: &[u8]) -> Vec<u8> {
        let Some(kek) = &self.kek else {
            return secret.to_vec();
        };
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encrypting a short in-memory buffer cannot fail.
        let ct = kek
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The secret of a stored value.
    pub fn open(&self, aad: &[u8], stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let Some(sealed) = stored.strip_prefix(MAGIC) else {
            return Ok(Zeroizing::new(stored.to_vec()));
        };
        let kek = self.kek.as_ref().ok_or(SealError::NoKek)?;
        if sealed.len() < NONCE_LEN {
            return Err(SealError::WontOpen);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        kek.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| SealError::WontOpen)
    }

    /// Whether a stored value is sealed.
    pub fn is_sealed(stored: &[u8]) -> bool {
        stored.starts_with(MAGIC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_kek_and_its_row() {
        let kek = Kek::from_base64(&Kek::generate_base64()).unwrap();
        let sealer = Sealer::new(Some(kek));
        let stored = sealer.seal(b"kid-1", b"the seed of a signing key......");
        assert!(Sealer::is_sealed(&stored));
        assert!(
            !stored.windows(8).any(|w| b"the seed of a signing key......"
                .windows(8)
                .any(|s| s == w)),
            "nothing of the secret is visible"
        );
        assert_eq!(
            &**sealer.open(b"kid-1", &stored).unwrap(),
            b"the seed of a signing key......"
        );
        assert!(matches!(
            sealer.open(b"kid-2", &stored),
            Err(SealError::WontOpen)
        ));
        let other = Sealer::new(Some(Kek::from_base64(&Kek::generate_base64()).unwrap()));
        assert!(matches!(
            other.open(b"kid-1", &stored),
            Err(SealError::WontOpen)
        ));
        assert!(matches!(
            Sealer::default().open(b"kid-1", &stored),
            Err(SealError::NoKek)
        ));
    }

    #[test]
    fn without_a_kek_secrets_are_stored_as_they_are() {
        let sealer = Sealer::default();
        assert_eq!(sealer.seal(b"k", b"plain"), b"plain");
        assert_eq!(&**sealer.open(b"k", b"plain").unwrap(), b"plain");
        assert!(Kek::from_base64("too short").is_err());
        assert_eq!(
            format!("{:?}", Kek::from_base64(&Kek::generate_base64()).unwrap()),
            "Kek(<redacted>)"
        );
    }
}
