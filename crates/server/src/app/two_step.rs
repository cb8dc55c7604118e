//! Two-step sign-in's rules that need no storage: TOTP (RFC 6238: HMAC-SHA-1, 6 digits,
//! 30 s steps, one step of clock skew either way, via `totp-rs`), the enrolment QR code
//! (SVG, via `qrcode`), and recovery codes.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

/// The name authenticator apps show for the account.
const ISSUER: &str = "Session Manager";
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of a TOTP secret (160 bits, what RFC 4226 recommends).
const SECRET_BYTES: usize = 20;
/// Bytes of a recovery code (80 bits: 16 base32 characters).
const RECOVERY_BYTES: usize = 10;

fn totp(secret: &[u8], email: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(email)
        .build()
        .ok()
}

/// A new random TOTP secret.
pub fn new_secret() -> Zeroizing<Vec<u8>> {
    let mut s = Zeroizing::new(vec![0u8; SECRET_BYTES]);
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

/// What an authenticator app needs: the secret in base32, its `otpauth://` URI, and the
/// URI as a QR code (an SVG document).
pub fn enrolment(secret: &[u8], email: &str) -> Option<(String, String, String)> {
    let totp = totp(secret, email)?;
    let base32 = Secret::from(secret.to_vec()).to_base32();
    let uri = totp.to_url().ok()?;
    let svg = qrcode::QrCode::new(uri.as_bytes())
        .ok()?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Some((base32, uri, svg))
}

/// The 30-second step a code is valid for, if it is one of the secret's codes now (or
/// one step before or after). Spaces and dashes people type are ignored.
pub fn code_step(secret: &[u8], code: &str, now_secs: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "-")?;
    totp.check(&code, now_secs)
        .and_then(|s| i64::try_from(s).ok())
}

/// Fresh recovery codes, as shown once (`XXXX-XXXX-XXXX-XXXX`).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_BYTES];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let text = Secret::from(bytes.to_vec()).to_base32();
            text.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What is stored of a recovery code: SHA-256 of its normalised form (80 random bits,
/// so a plain hash cannot be brute-forced). Case, spaces and dashes do not matter.
pub fn recovery_hash(code: &str) -> [u8; 32] {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::new()
        .chain_update(b"session-manager recovery code v1\0")
        .chain_update(normal.as_bytes())
        .finalize()
        .into()
}

/// A random opaque challenge (256 bits, base64url) and the hash that is stored.
pub fn new_challenge() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = format!(
        "ch_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = challenge_hash(&text);
    (text, hash)
}

pub fn challenge_hash(challenge: &str) -> [u8; 32] {
    Sha256::digest(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_of_now_is_accepted_with_its_step_and_stale_ones_are_not() {
        let secret = new_secret();
        let totp = totp(&secret, "ann@example.com").unwrap();
        let now = 1_800_000_000;
        let code = totp.generate(now).to_string();
        assert_eq!(code_step(&secret, &code, now), Some(60_000_000));
        // A code of the previous step still passes (clock skew), one of long ago not.
        let earlier = totp.generate(now - 30).to_string();
        assert_eq!(code_step(&secret, &earlier, now), Some(59_999_999));
        assert_eq!(
            code_step(&secret, &totp.generate(now - 300).to_string(), now),
            None
        );
        assert_eq!(code_step(&secret, "12345", now), None);
        assert_eq!(code_step(&secret, "abcdef", now), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(code_step(&secret, &spaced, now), Some(60_000_000));
    }

    #[test]
    fn the_enrolment_is_an_otpauth_uri_and_its_qr_code() {
        let secret = new_secret();
        let (base32, uri, svg) = enrolment(&secret, "ann@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={base32}")), "{uri}");
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }

    #[test]
    fn recovery_codes_are_long_distinct_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 19, "{}", codes[0]);
        assert_ne!(codes[0], codes[1]);
        assert_eq!(
            recovery_hash(&codes[0]),
            recovery_hash(&codes[0].to_lowercase().replace('-', " "))
        );
    }
}
