//! The person's authenticator app, for tests of two-step sign-in: codes computed from
//! the key the server gave, as an authenticator app computes them (RFC 6238: SHA-1,
//! 6 digits, 30 s — what the server's enrolment URI says).

/// The authenticator holding `secret` (base32, as the server's enrolment shows it).
pub fn authenticator(secret: &str) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("a base32 secret"))
        .build()
        .expect("an authenticator for the server's secret")
}

/// Seconds since the epoch, as the authenticator's clock reads them.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}
