//! Ed25519 signing keys and the public key set (JWKS).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, VerifyingKey};
use proto::discovery::{Jwk, JwkSet};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("a signing key must be 32 bytes")]
    BadLength,
    #[error("the JWK is not an Ed25519 public key (kty OKP, crv Ed25519)")]
    NotEd25519,
    #[error("the JWK's public key is not valid base64url or not a valid Ed25519 point")]
    BadPublicKey,
}

/// A private signing key with its key id. `Debug` shows the kid only.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
    /// The header is the same for every token this key signs: encode it once.
    header_b64: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key (from the OS's CSPRNG).
    pub fn generate() -> Self {
        Self::from_key(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// A key from its 32-byte seed, as [`SigningKey::secret_bytes`] gave it.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadLength)?;
        Ok(Self::from_key(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    fn from_key(key: ed25519_dalek::SigningKey) -> Self {
        let kid = thumbprint(&key.verifying_key());
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        let header_b64 = B64.encode(header.to_string());
        Self {
            kid,
            key,
            header_b64,
        }
    }

    /// The 32-byte seed, for storage. Wiped from memory when dropped.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_jwk(&self) -> Jwk {
        jwk_of(&self.kid, &self.key.verifying_key())
    }

    /// Signs the claims into a compact JWT.
    pub fn sign(&self, claims: &proto::tokens::Claims) -> proto::AccessToken {
        // Claims hold only strings, ids and integers: serializing cannot fail.
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 90);
        token.push_str(&self.header_b64);
        token.push('.');
        B64.encode_string(&payload, &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        B64.encode_string(signature.to_bytes(), &mut token);
        proto::AccessToken::new(token)
    }
}

/// The header segment of every token signed with `kid`, exactly as [`SigningKey::sign`]
/// writes it; verification recognises it without decoding it.
fn canonical_header_b64(kid: &str) -> String {
    let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    B64.encode(header.to_string())
}

fn jwk_of(kid: &str, key: &VerifyingKey) -> Jwk {
    Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        alg: "EdDSA".into(),
        use_: Some("sig".into()),
        kid: kid.into(),
        x: B64.encode(key.as_bytes()),
    }
}

/// RFC 7638: SHA-256 over the required members in lexicographic order.
fn thumbprint(key: &VerifyingKey) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        B64.encode(key.as_bytes())
    );
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

/// The public keys a validator trusts, by `kid`. A handful at most (the current key and
/// the retired ones still published), so a list beats a hash table.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    /// (kid, key, the canonical header segment of that kid).
    keys: Vec<(String, VerifyingKey, String)>,
}

impl KeySet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert_jwk(&mut self, jwk: &Jwk) -> Result<(), KeyError> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" || (jwk.alg != "EdDSA" && !jwk.alg.is_empty()) {
            return Err(KeyError::NotEd25519);
        }
        let bytes = B64.decode(&jwk.x).map_err(|_| KeyError::BadPublicKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadPublicKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadPublicKey)?;
        self.insert(jwk.kid.clone(), key);
        Ok(())
    }

    pub fn insert_signing_key(&mut self, key: &SigningKey) {
        self.insert(key.kid.clone(), key.key.verifying_key());
    }

    fn insert(&mut self, kid: String, key: VerifyingKey) {
        match self.keys.iter_mut().find(|(k, _, _)| *k == kid) {
            Some(slot) => slot.1 = key,
            None => {
                let header = canonical_header_b64(&kid);
                self.keys.push((kid, key, header));
            }
        }
    }

    /// The key whose canonical header segment this is, if any: the fast path for the
    /// tokens our own server signs.
    pub(crate) fn by_canonical_header(&self, header_b64: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(_, _, h)| h == header_b64)
            .map(|(_, key, _)| key)
    }

    /// Every Ed25519 key of a JWKS; keys of other types are skipped, not errors,
    /// so that a server adding a new key type does not break old validators.
    pub fn from_jwks(set: &JwkSet) -> Self {
        let mut keys = Self::new();
        for jwk in &set.keys {
            let _ = keys.insert_jwk(jwk);
        }
        keys
    }

    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(k, _, _)| k == kid)
            .map(|(_, key, _)| key)
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.get(kid).is_some()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn to_jwks(&self) -> JwkSet {
        let mut keys: Vec<Jwk> = self.keys.iter().map(|(kid, k, _)| jwk_of(kid, k)).collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        JwkSet { keys }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_storage_and_keeps_its_kid() {
        let key = SigningKey::generate();
        let again = SigningKey::from_secret_bytes(&key.secret_bytes()[..]).unwrap();
        assert_eq!(key.kid(), again.kid());
        assert_eq!(key.public_jwk(), again.public_jwk());
        assert_eq!(
            SigningKey::from_secret_bytes(&[1, 2, 3]).unwrap_err(),
            KeyError::BadLength
        );
    }

    #[test]
    fn debug_shows_the_kid_but_not_the_key() {
        let key = SigningKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()));
        assert!(!shown.contains(&B64.encode(&key.secret_bytes()[..])));
    }

    #[test]
    fn rfc_8037_thumbprint_example() {
        // RFC 8037 appendix A.3: the thumbprint of the A.2 public key.
        let x = B64
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let key = VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
        assert_eq!(
            thumbprint(&key),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_jwks_with_foreign_keys_keeps_the_ed25519_ones() {
        let key = SigningKey::generate();
        let mut rsa = key.public_jwk();
        rsa.kty = "RSA".into();
        rsa.kid = "other".into();
        let set = KeySet::from_jwks(&JwkSet {
            keys: vec![rsa, key.public_jwk()],
        });
        assert_eq!(set.len(), 1);
        assert!(set.contains(key.kid()));
    }
}
