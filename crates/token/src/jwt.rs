//! Verification of compact JWTs. Deliberately narrow: one algorithm, one key type.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::Signature;
use proto::tokens::Claims;
use serde::Deserialize;

use crate::KeySet;

/// Tokens longer than this are refused unread (ours are about 400 bytes).
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Why a token was refused. The `Display` text is safe to show: it never quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not accepted (only EdDSA is)")]
    UnsupportedAlgorithm,
    #[error("the token was signed by an unknown key")]
    UnknownKey { kid: String },
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued in the future")]
    NotYetValid,
    /// Its lifetime (`exp - iat`) is longer than the issuer gives: revocation entries
    /// are kept only as long as a token can live, so such a token could outlive them.
    #[error("the token lives longer than this issuer's tokens do")]
    LifetimeTooLong,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
}

/// What a valid token must say.
#[derive(Clone, Debug)]
pub struct Expectations {
    pub issuer: String,
    pub audience: String,
    /// Tolerated clock difference, in seconds, for `exp` and `iat`.
    pub leeway_secs: i64,
    /// The longest lifetime (`exp - iat`, seconds) a token may have, if known.
    pub max_lifetime_secs: Option<i64>,
}

/// Borrowed from the decoded header bytes: no allocation per field. (A header with
/// escaped strings does not borrow and is refused as malformed; ours never has any.)
#[derive(Deserialize)]
struct Header<'a> {
    alg: &'a str,
    kid: Option<&'a str>,
    /// RFC 7515 §4.1.11: a `crit` we do not understand must make us refuse.
    crit: Option<serde::de::IgnoredAny>,
}

/// Verifies signature and claims. `now` is seconds since the Unix epoch.
/// Revocation is a separate question: see [`crate::Denylist`].
pub fn verify(
    token: &str,
    keys: &KeySet,
    expect: &Expectations,
    now: i64,
) -> Result<Claims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };

    let key = match keys.by_canonical_header(header_b64) {
        // Byte for byte the header our signer writes for a known key: alg is EdDSA.
        Some(key) => key,
        None => key_from_header(header_b64, keys)?,
    };

    let sig_bytes = B64.decode(sig_b64).map_err(|_| TokenError::Malformed)?;
    let signature = Signature::from_slice(&sig_bytes).map_err(|_| TokenError::Malformed)?;
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    key.verify_strict(&token.as_bytes()[..signed_len], &signature)
        .map_err(|_| TokenError::BadSignature)?;

    let claims: Claims = decode_json(payload_b64)?;
    check_claims(&claims, expect, now)?;
    Ok(claims)
}

/// Reads a header that is not one of ours verbatim, refusing anything but EdDSA.
fn key_from_header<'k>(
    header_b64: &str,
    keys: &'k KeySet,
) -> Result<&'k ed25519_dalek::VerifyingKey, TokenError> {
    let header_bytes = B64.decode(header_b64).map_err(|_| TokenError::Malformed)?;
    let header: Header<'_> =
        serde_json::from_str(utf8(&header_bytes)?).map_err(|_| TokenError::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    if header.crit.is_some() {
        return Err(TokenError::Malformed);
    }
    let kid = header.kid.ok_or(TokenError::Malformed)?;
    keys.get(kid).ok_or_else(|| TokenError::UnknownKey {
        kid: kid.to_owned(),
    })
}

fn check_claims(claims: &Claims, expect: &Expectations, now: i64) -> Result<(), TokenError> {
    if claims.iss != expect.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.aud != expect.audience {
        return Err(TokenError::WrongAudience);
    }
    if claims.exp.saturating_add(expect.leeway_secs) <= now {
        return Err(TokenError::Expired);
    }
    if claims.iat.saturating_sub(expect.leeway_secs) > now {
        return Err(TokenError::NotYetValid);
    }
    if let Some(max) = expect.max_lifetime_secs
        && claims.exp.saturating_sub(claims.iat) > max
    {
        return Err(TokenError::LifetimeTooLong);
    }
    Ok(())
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = B64.decode(part).map_err(|_| TokenError::Malformed)?;
    serde_json::from_str(utf8(&bytes)?).map_err(|_| TokenError::Malformed)
}

/// RFC 7515 §5.2: the header and the payload must be UTF-8 throughout. serde_json
/// reading bytes checks only the strings it keeps, so a member it skips (an unknown
/// header parameter or claim) could hold anything; found by the token fuzz target.
fn utf8(bytes: &[u8]) -> Result<&str, TokenError> {
    std::str::from_utf8(bytes).map_err(|_| TokenError::Malformed)
}

/// The instant a token was issued, in milliseconds. `iat` has whole seconds only, too
/// coarse for "a device that signs in after sign-out-everywhere, even within the same
/// second, is not affected"; our `jti` is a UUIDv7 whose first 48 bits are the issue
/// time in milliseconds, so that is used when present.
pub fn issued_at_ms(claims: &Claims) -> i64 {
    let jti = claims.jti.as_uuid();
    if jti.get_version_num() == 7
        && let Some(ts) = jti.get_timestamp()
    {
        let (secs, nanos) = ts.to_unix();
        return secs as i64 * 1000 + i64::from(nanos / 1_000_000);
    }
    claims.iat.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;
    use proto::{Jti, SessionId, UserId};

    const NOW: i64 = 1_800_000_000;

    fn expect() -> Expectations {
        Expectations {
            issuer: "https://sessions.test".into(),
            audience: "session-manager".into(),
            leeway_secs: 5,
            max_lifetime_secs: Some(300),
        }
    }

    fn claims() -> Claims {
        Claims {
            iss: "https://sessions.test".into(),
            aud: "session-manager".into(),
            sub: UserId::new(),
            sid: SessionId::new(),
            jti: Jti::new(),
            iat: NOW,
            exp: NOW + 300,
        }
    }

    fn setup() -> (SigningKey, KeySet) {
        let key = SigningKey::generate();
        let mut keys = KeySet::new();
        keys.insert_signing_key(&key);
        (key, keys)
    }

    fn forge(header: serde_json::Value, claims: &Claims, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::to_vec(claims).unwrap()),
            B64.encode(sig)
        )
    }

    #[test]
    fn a_token_signed_by_a_known_key_verifies() {
        let (key, keys) = setup();
        let c = claims();
        let token = key.sign(&c);
        assert_eq!(verify(token.expose(), &keys, &expect(), NOW), Ok(c));
    }

    #[test]
    fn a_token_living_longer_than_the_issuer_allows_is_refused() {
        let (key, keys) = setup();
        let mut c = claims();
        c.exp = c.iat + 3600;
        let token = key.sign(&c);
        assert_eq!(
            verify(token.expose(), &keys, &expect(), NOW),
            Err(TokenError::LifetimeTooLong)
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let (key, keys) = setup();
        let token = forge(
            serde_json::json!({"alg": "none", "kid": key.kid()}),
            &claims(),
            b"",
        );
        assert_eq!(
            verify(&token, &keys, &expect(), NOW),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_refused() {
        use sha2::Sha256;
        let (key, keys) = setup();
        // The classic confusion attack: HMAC keyed with the public key the attacker knows.
        let public = B64.decode(&key.public_jwk().x).unwrap();
        let header = serde_json::json!({"alg": "HS256", "kid": key.kid()});
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::to_vec(&claims()).unwrap())
        );
        let mac = hmac_sha256::<Sha256>(&public, signing_input.as_bytes());
        let token = format!("{signing_input}.{}", B64.encode(mac));
        assert_eq!(
            verify(&token, &keys, &expect(), NOW),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    // A minimal HMAC so the test can build the forgery without another dependency.
    fn hmac_sha256<D: sha2::Digest>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut k = [0u8; 64];
        k[..key.len()].copy_from_slice(key);
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = D::new().chain_update(&ipad).chain_update(msg).finalize();
        D::new()
            .chain_update(&opad)
            .chain_update(inner)
            .finalize()
            .to_vec()
    }

    #[test]
    fn a_token_from_an_unknown_key_is_refused() {
        let (_, keys) = setup();
        let other = SigningKey::generate();
        let token = other.sign(&claims());
        assert_eq!(
            verify(token.expose(), &keys, &expect(), NOW),
            Err(TokenError::UnknownKey {
                kid: other.kid().to_owned()
            })
        );
    }

    #[test]
    fn a_token_with_a_known_kid_but_foreign_signature_is_refused() {
        let (key, keys) = setup();
        let other = SigningKey::generate();
        let token = other.sign(&claims());
        // Swap in the trusted kid: the header changes, so re-sign with the wrong key.
        let header = serde_json::json!({"alg": "EdDSA", "kid": key.kid()});
        let payload = token.expose().split('.').nth(1).unwrap();
        let input = format!("{}.{}", B64.encode(header.to_string()), payload);
        let sig = ed25519_dalek::Signer::sign(
            &ed25519_dalek::SigningKey::from_bytes(&other.secret_bytes()),
            input.as_bytes(),
        );
        let forged = format!("{input}.{}", B64.encode(sig.to_bytes()));
        assert_eq!(
            verify(&forged, &keys, &expect(), NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_header_written_differently_takes_the_slow_path_and_still_verifies() {
        let (key, keys) = setup();
        let c = claims();
        // Same key, same claims, but a header our signer would not write byte for byte.
        let header = serde_json::json!({"kid": key.kid(), "alg": "EdDSA", "extra": 1});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::to_vec(&c).unwrap())
        );
        let sig = ed25519_dalek::Signer::sign(
            &ed25519_dalek::SigningKey::from_bytes(&key.secret_bytes()),
            input.as_bytes(),
        );
        let token = format!("{input}.{}", B64.encode(sig.to_bytes()));
        assert!(
            keys.by_canonical_header(token.split('.').next().unwrap())
                .is_none()
        );
        assert_eq!(verify(&token, &keys, &expect(), NOW), Ok(c));
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let (key, keys) = setup();
        let token = key.sign(&claims());
        let mut parts: Vec<&str> = token.expose().split('.').collect();
        let mut other = claims();
        other.sub = UserId::new();
        let payload = B64.encode(serde_json::to_vec(&other).unwrap());
        parts[1] = &payload;
        assert_eq!(
            verify(&parts.join("."), &keys, &expect(), NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn expired_wrong_issuer_wrong_audience_and_future_tokens_are_refused() {
        let (key, keys) = setup();
        let mut c = claims();
        c.exp = NOW - 10;
        assert_eq!(
            verify(key.sign(&c).expose(), &keys, &expect(), NOW),
            Err(TokenError::Expired)
        );
        let mut c = claims();
        c.iss = "https://evil.test".into();
        assert_eq!(
            verify(key.sign(&c).expose(), &keys, &expect(), NOW),
            Err(TokenError::WrongIssuer)
        );
        let mut c = claims();
        c.aud = "another-api".into();
        assert_eq!(
            verify(key.sign(&c).expose(), &keys, &expect(), NOW),
            Err(TokenError::WrongAudience)
        );
        let mut c = claims();
        c.iat = NOW + 3600;
        c.exp = NOW + 3900;
        assert_eq!(
            verify(key.sign(&c).expose(), &keys, &expect(), NOW),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn garbage_is_malformed_and_never_panics() {
        let (_, keys) = setup();
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        for junk in [
            "",
            ".",
            "..",
            "...",
            "a.b.c",
            "rt_abcdef",
            "\u{0}\u{1}\u{2}",
            "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
            long.as_str(),
            "ééé.ééé.ééé",
        ] {
            let r = verify(junk, &keys, &expect(), NOW);
            assert!(
                matches!(
                    r,
                    Err(TokenError::Malformed)
                        | Err(TokenError::UnsupportedAlgorithm)
                        | Err(TokenError::UnknownKey { .. })
                ),
                "{junk:?} gave {r:?}"
            );
        }
    }

    #[test]
    fn a_header_or_payload_that_is_not_utf8_is_malformed_even_where_it_is_ignored() {
        let (key, keys) = setup();
        let sign = |header: &[u8], payload: &[u8]| {
            let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
            let sig = ed25519_dalek::Signer::sign(
                &ed25519_dalek::SigningKey::from_bytes(&key.secret_bytes()),
                input.as_bytes(),
            );
            format!("{input}.{}", B64.encode(sig.to_bytes()))
        };
        let header = format!(r#"{{"alg":"EdDSA","x":"?","kid":"{}"}}"#, key.kid()).into_bytes();
        let mut bad_header = header.clone();
        let at = bad_header.iter().position(|&b| b == b'?').unwrap();
        bad_header[at] = 0xa0;
        let payload = serde_json::to_vec(&claims()).unwrap();
        let mut bad_payload = payload[..payload.len() - 1].to_vec();
        bad_payload.extend_from_slice(b",\"x\":\"\xa0\"}");

        let refused = |token: String| verify(&token, &keys, &expect(), NOW);
        assert_eq!(
            refused(sign(&bad_header, &payload)),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            refused(sign(&header, &bad_payload)),
            Err(TokenError::Malformed)
        );
        // The same tokens with valid UTF-8 in those members verify.
        assert!(refused(sign(&header, &payload)).is_ok());
    }

    #[test]
    fn random_bytes_are_refused_without_panic() {
        let (_, keys) = setup();
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed & 0xff) as u8
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            assert!(verify(&s, &keys, &expect(), NOW).is_err());
        }
    }

    #[test]
    fn issue_instant_has_millisecond_precision() {
        let c = claims();
        let ms = issued_at_ms(&c);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((now_ms - ms).abs() < 5_000, "{ms} vs {now_ms}");
    }
}
