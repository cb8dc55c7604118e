//! The account, from a signed-in device: who it is, changing the password, turning
//! two-step sign-in on and off.

use proto::account::{AccountInfo, ChangePassword, TwoStepDisable, TwoStepEnrolment};
use proto::{Password, SecretText};

use crate::error::Result;
use crate::session::Session;
use crate::two_step::without_spaces;

impl Session {
    /// The account this session belongs to (`GET /v1/account`): email, creation time,
    /// and whether two-step sign-in is on.
    pub async fn account_info(&self) -> Result<AccountInfo> {
        self.call(|api, t| async move { api.account(&t).await })
            .await
    }

    /// Changes the account's password; returns how many other devices were signed
    /// out. With `sign_out_other_devices` every other session ends (reason
    /// `password_changed`; each hears it and wipes itself), as one wants after a scare;
    /// this device stays signed in either way.
    ///
    /// Errors: a wrong `current` password is [`crate::ClientError::WrongPassword`]
    /// (code `invalid_credentials`, counted like a failed sign-in); a `new` one the
    /// server's policy refuses is `validation_failed` with the server's reason
    /// (`ClientError::Validation { code: "weak_password", .. }`); too many wrong
    /// passwords `rate_limited`.
    pub async fn change_password(
        &self,
        current: &Password,
        new: &Password,
        sign_out_other_devices: bool,
    ) -> Result<u64> {
        self.call(|api, t| {
            let body = ChangePassword {
                current_password: current.clone(),
                new_password: new.clone(),
                sign_out_other_devices,
            };
            async move { api.change_password(&t, &body).await }
        })
        .await
    }

    /// Starts turning two-step sign-in on: the server makes a secret for an
    /// authenticator app (`secret` for typing it in, `otpauth_uri` for a QR code,
    /// `qr_svg` that QR code drawn). Nothing changes until
    /// [`Session::two_step_confirm`] gets a first code from the app; starting again
    /// replaces the secret. A wrong password: [`crate::ClientError::WrongPassword`].
    pub async fn two_step_start(&self, password: &Password) -> Result<TwoStepEnrolment> {
        self.call(|api, t| async move { api.two_step_start(&t, password).await })
            .await
    }

    /// Turns two-step sign-in on with the first code from the authenticator app;
    /// returns the ten recovery codes, which the server never shows again (each works
    /// once, in place of a code). A wrong code: [`crate::ClientError::InvalidCode`].
    pub async fn two_step_confirm(&self, code: &str) -> Result<Vec<SecretText>> {
        let code = SecretText::new(without_spaces(code));
        let codes = self
            .call(|api, t| {
                let code = code.clone();
                async move { api.two_step_confirm(&t, &code).await }
            })
            .await?;
        Ok(codes.recovery_codes)
    }

    /// Turns two-step sign-in off: needs the password and a current code (or a
    /// recovery code). Every device of the account gets a security alert.
    pub async fn two_step_disable(&self, password: &Password, code: &str) -> Result<()> {
        let code = SecretText::new(code.trim());
        self.call(|api, t| {
            let body = TwoStepDisable {
                password: password.clone(),
                code: code.clone(),
            };
            async move { api.two_step_disable(&t, &body).await }
        })
        .await
    }
}
