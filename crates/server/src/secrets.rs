//! Refresh tokens, their hashes, and the sealed successor of a spent token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use proto::RefreshToken;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// A new refresh token: `rt_` + base64url of 256 random bits (46 characters).
pub fn new_refresh_token() -> RefreshToken {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    RefreshToken::new(format!("{}{}", RefreshToken::PREFIX, B64.encode(bytes)))
}

/// What the database keeps of a refresh token. The token has 256 bits of entropy, so a
/// plain SHA-256 cannot be reversed or brute-forced; no salt or slow hash is needed.
pub fn hash_refresh_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether a string can be one of our refresh tokens at all.
pub fn looks_like_refresh_token(token: &str) -> bool {
    token.len() == 46
        && token.starts_with(RefreshToken::PREFIX)
        && token[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The key that seals a spent token's successor: derived from the spent token itself,
/// so the database alone cannot open it, only a caller presenting that token can.
fn seal_key(parent: &str) -> Key {
    let digest = Sha256::new()
        .chain_update(b"session-manager successor seal v1\0")
        .chain_update(parent.as_bytes())
        .finalize();
    Key::clone_from_slice(&digest)
}

/// Seals `successor` under a key from `parent`: nonce (12 bytes) || ciphertext.
pub fn seal_successor(parent: &str, successor: &str) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(&seal_key(parent));
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    // Encrypting a short in-memory buffer cannot fail.
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), successor.as_bytes())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(12 + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

/// Opens a sealed successor with the parent token; `None` if it does not open.
pub fn open_successor(parent: &str, sealed: &[u8]) -> Option<RefreshToken> {
    if sealed.len() < 12 {
        return None;
    }
    let (nonce, ct) = sealed.split_at(12);
    let cipher = ChaCha20Poly1305::new(&seal_key(parent));
    let pt = cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
    String::from_utf8(pt).ok().map(RefreshToken::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_prefixed_256_bit_base64url() {
        let t = new_refresh_token();
        assert!(looks_like_refresh_token(t.expose()), "{}", t.expose().len());
        assert_eq!(B64.decode(&t.expose()[3..]).unwrap().len(), 32);
        assert_ne!(t, new_refresh_token());
        assert!(!looks_like_refresh_token("rt_short"));
        assert!(!looks_like_refresh_token(&format!(
            "xx_{}",
            &t.expose()[3..]
        )));
    }

    #[test]
    fn only_the_parent_opens_the_sealed_successor() {
        let parent = new_refresh_token();
        let child = new_refresh_token();
        let sealed = seal_successor(parent.expose(), child.expose());
        assert_eq!(
            open_successor(parent.expose(), &sealed),
            Some(child.clone())
        );
        assert_eq!(open_successor(new_refresh_token().expose(), &sealed), None);
        assert_eq!(open_successor(parent.expose(), &sealed[..5]), None);
        // Nothing of the successor is visible in the sealed bytes.
        assert!(
            !sealed
                .windows(8)
                .any(|w| child.expose().as_bytes().windows(8).any(|c| c == w))
        );
    }
}
