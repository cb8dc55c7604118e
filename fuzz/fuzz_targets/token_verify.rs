//! Access-token verification (`token::verify`) against a real key set.
//!
//! Every input is used three ways:
//! 1. as a token, verbatim: whatever verifies must meet every expectation;
//! 2. as the payload of a token properly signed by a trusted key, so the claims
//!    checks are reached: the answer must be exactly what the claims deserve, and the
//!    same payload signed by a stranger, or with a damaged signature, must be refused;
//! 3. as the header of a properly signed token with good claims: only a header that
//!    says EdDSA and names the key that signed it may verify.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::Signer as _;
use libfuzzer_sys::fuzz_target;
use proto::tokens::Claims;
use proto::{Jti, SessionId, UserId};
use token::{Expectations, KeySet, SigningKey, TokenError, verify};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://sessions.example.com";
const AUDIENCE: &str = "session-manager";
const LEEWAY: i64 = 5;
const MAX_LIFETIME: i64 = 300;

struct Keys {
    /// The current signing key.
    trusted: Key,
    /// A rotated-out key, still in the set.
    retired: Key,
    /// A key the validator has never heard of.
    stranger: Key,
    set: KeySet,
    expect: Expectations,
}

/// A signing key with what signing over arbitrary headers needs, computed once.
struct Key {
    key: SigningKey,
    raw: ed25519_dalek::SigningKey,
    /// The header segment our signer writes for this key.
    canonical_header: String,
}

impl Key {
    fn new(seed: u8) -> Self {
        let key = SigningKey::from_secret_bytes(&[seed; 32]).expect("32 bytes");
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": key.kid()});
        Self {
            raw: ed25519_dalek::SigningKey::from_bytes(&key.secret_bytes()),
            canonical_header: B64.encode(header.to_string()),
            key,
        }
    }

    fn kid(&self) -> &str {
        self.key.kid()
    }

    /// Signs `header.payload`: the signing input and the signature.
    fn sign(&self, header_b64: &str, payload_b64: &str) -> (String, [u8; 64]) {
        let input = format!("{header_b64}.{payload_b64}");
        let sig = self.raw.sign(input.as_bytes()).to_bytes();
        (input, sig)
    }
}

// Fixed seeds, so a crash reproduces and the committed corpus (signed with these keys,
// see fuzz/README.md) reaches the claims checks.
static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let (trusted, retired, stranger) = (Key::new(1), Key::new(2), Key::new(3));
    let mut set = KeySet::new();
    set.insert_signing_key(&retired.key);
    set.insert_signing_key(&trusted.key);
    Keys {
        trusted,
        retired,
        stranger,
        set,
        expect: Expectations {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            leeway_secs: LEEWAY,
            max_lifetime_secs: Some(MAX_LIFETIME),
        },
    }
});

/// What the claims deserve, computed without overflow (i128) and independently of
/// the code under test.
fn deserved(c: &Claims) -> Result<(), TokenError> {
    let (exp, iat) = (i128::from(c.exp), i128::from(c.iat));
    let (now, leeway) = (i128::from(NOW), i128::from(LEEWAY));
    if c.iss != ISSUER {
        Err(TokenError::WrongIssuer)
    } else if c.aud != AUDIENCE {
        Err(TokenError::WrongAudience)
    } else if exp + leeway <= now {
        Err(TokenError::Expired)
    } else if iat - leeway > now {
        Err(TokenError::NotYetValid)
    } else if exp - iat > i128::from(MAX_LIFETIME) {
        Err(TokenError::LifetimeTooLong)
    } else {
        Ok(())
    }
}

fn with_sig(input: &str, sig: &[u8]) -> String {
    format!("{input}.{}", B64.encode(sig))
}

fn good_claims() -> Claims {
    Claims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: UserId::from_uuid(uuid_of(1)),
        sid: SessionId::from_uuid(uuid_of(2)),
        jti: Jti::from_uuid(uuid_of(3)),
        iat: NOW - 10,
        exp: NOW + 290,
    }
}

fn uuid_of(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

fuzz_target!(|data: &[u8]| {
    let k = &*KEYS;

    // 1. The input as a token.
    let raw = String::from_utf8_lossy(data);
    if let Ok(claims) = verify(&raw, &k.set, &k.expect, NOW) {
        assert_eq!(
            deserved(&claims),
            Ok(()),
            "verified claims that fail: {claims:?}"
        );
        // Only the key set's keys can make a token verify.
        assert!(verify(&raw, &KeySet::new(), &k.expect, NOW).is_err());
    }

    // 2. The input as the claims of a token signed by the trusted key.
    let payload_b64 = B64.encode(data);
    let (input, sig) = k.trusted.sign(&k.trusted.canonical_header, &payload_b64);
    let got = verify(&with_sig(&input, &sig), &k.set, &k.expect, NOW);
    // RFC 7515: a payload is UTF-8 JSON throughout, ignored members included.
    match std::str::from_utf8(data).map(serde_json::from_str::<Claims>) {
        Ok(Ok(claims)) => match deserved(&claims) {
            Ok(()) => assert_eq!(got, Ok(claims)),
            Err(why) => assert_eq!(got, Err(why)),
        },
        _ => assert_eq!(got, Err(TokenError::Malformed)),
    }
    // The same payload, signed by the retired key: still trusted.
    let (input_r, sig_r) = k.retired.sign(&k.retired.canonical_header, &payload_b64);
    assert_eq!(
        verify(&with_sig(&input_r, &sig_r), &k.set, &k.expect, NOW),
        got
    );
    // A damaged signature, wherever the input says to damage it.
    let mut bad = sig;
    let at = data.first().map_or(0, |b| usize::from(*b) % 64);
    bad[at] ^= data.get(1).copied().unwrap_or(1).max(1);
    assert!(matches!(
        verify(&with_sig(&input, &bad), &k.set, &k.expect, NOW),
        Err(TokenError::BadSignature | TokenError::Malformed)
    ));
    // A stranger's key, under its own kid and under the trusted one's.
    let (input_s, sig_s) = k.stranger.sign(&k.stranger.canonical_header, &payload_b64);
    assert_eq!(
        verify(&with_sig(&input_s, &sig_s), &k.set, &k.expect, NOW),
        Err(TokenError::UnknownKey {
            kid: k.stranger.kid().to_owned()
        })
    );
    let (input_f, sig_f) = k.stranger.sign(&k.trusted.canonical_header, &payload_b64);
    assert_eq!(
        verify(&with_sig(&input_f, &sig_f), &k.set, &k.expect, NOW),
        Err(TokenError::BadSignature)
    );

    // 3. The input as the header of a token with good claims, signed by the trusted key.
    let claims = good_claims();
    let claims_b64 = B64.encode(serde_json::to_vec(&claims).expect("claims serialize"));
    let (input_h, sig_h) = k.trusted.sign(&B64.encode(data), &claims_b64);
    if let Ok(verified) = verify(&with_sig(&input_h, &sig_h), &k.set, &k.expect, NOW) {
        assert_eq!(verified, claims);
        let header: serde_json::Value =
            serde_json::from_slice(data).expect("a verified header is JSON");
        assert_eq!(header["alg"], "EdDSA", "{header}");
        assert_eq!(header["kid"], k.trusted.kid(), "{header}");
        assert!(header.get("crit").is_none(), "{header}");
    }
});
