//! The account: who is signed in, changing the password, two-step sign-in.

use serde::{Deserialize, Serialize};

use crate::{Password, Timestamp, UserId};

/// `GET /v1/account`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    pub user_id: UserId,
    pub email: String,
    pub created_at: Timestamp,
    /// Whether two-step sign-in is on.
    pub two_step: bool,
}

fn yes() -> bool {
    true
}

/// `POST /v1/account/password`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChangePassword {
    pub current_password: Password,
    pub new_password: Password,
    /// End every other session (reason `password_changed`). On unless `false`.
    #[serde(default = "yes")]
    pub sign_out_other_devices: bool,
}

/// `POST /v1/account/two-step`: start enrolling (not on until confirmed).
#[derive(Debug, Serialize, Deserialize)]
pub struct TwoStepStart {
    pub password: Password,
}

/// The answer to [`TwoStepStart`]: the secret, for an authenticator app.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TwoStepEnrolment {
    /// Base32, for manual entry.
    pub secret: crate::SecretText,
    /// `otpauth://totp/...`, what the QR code holds.
    pub otpauth_uri: crate::SecretText,
    /// The QR code of `otpauth_uri`, as an SVG document.
    pub qr_svg: String,
}

/// `POST /v1/account/two-step/confirm`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TwoStepConfirm {
    pub code: crate::SecretText,
}

/// The answer to [`TwoStepConfirm`]: recovery codes, shown once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<crate::SecretText>,
}

/// `DELETE /v1/account/two-step`: the password and a code (or a recovery code).
#[derive(Debug, Serialize, Deserialize)]
pub struct TwoStepDisable {
    pub password: Password,
    pub code: crate::SecretText,
}

/// `POST /v1/sessions/two-step`: the second step of a sign-in.
#[derive(Debug, Serialize, Deserialize)]
pub struct TwoStepSignIn {
    pub challenge: crate::SecretText,
    #[serde(default)]
    pub code: Option<crate::SecretText>,
    #[serde(default)]
    pub recovery_code: Option<crate::SecretText>,
}

/// `POST /v1/account/password` answers how many other sessions ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    pub revoked: u64,
}
