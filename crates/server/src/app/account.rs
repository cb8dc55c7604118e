//! The account after a scare: who is signed in, changing the password (ending the other
//! sessions), two-step sign-in (enrol, confirm, turn off; the second step of a sign-in),
//! and the signed-out device's wipe receipt.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use proto::account::{AccountInfo, ChangePassword, RecoveryCodes, TwoStepEnrolment, TwoStepSignIn};
use proto::activity::ActivityKind;
use proto::events::{AlertKind, Event, SecurityAlert, SessionWiped};
use proto::sessions::RevocationReason;
use proto::tokens::{Claims, TokenResponse};
use proto::{Password, SecretText, SessionId, UserId};

use super::accounts::SessionKind;
use super::refresh::revoked_event;
use super::two_step;
use super::{App, AppError, Result};
use crate::password::password_problem;
use crate::ratelimit::{Ticket, address_key};
use crate::secrets;
use crate::store::{Account, AccountChange, Actor, NewChallenge, Revoke, Which, WipeOutcome};
use crate::time::Millis;

/// How long a sign-in waits for its second step.
pub const CHALLENGE_LIFETIME: Duration = Duration::from_secs(300);
/// Wrong codes a challenge takes before it is spent.
const CHALLENGE_MAX_FAILURES: i64 = 5;

impl App {
    /// The caller's account, whole.
    async fn caller_account(&self, caller: &Claims) -> Result<Account> {
        self.store
            .account_by_id(caller.sub)
            .await?
            .ok_or(AppError::InvalidToken(super::TokenRejection::Revoked(
                token::Revoked::Account,
            )))
    }

    pub async fn account(&self, caller: &Claims) -> Result<AccountInfo> {
        let a = self.caller_account(caller).await?;
        Ok(AccountInfo {
            user_id: a.id,
            email: a.email,
            created_at: a.created_at.to_datetime(),
            two_step: a.two_step_secret.is_some(),
        })
    }

    /// Checks the account's password as a sign-in would (counted the same way, so these
    /// routes are no way around the sign-in limits). Wrong: `WrongPassword`.
    async fn check_password(
        &self,
        account: &Account,
        password: &Password,
        ip: Option<IpAddr>,
    ) -> Result<()> {
        let attempt = self.begin_sign_in(&account.email, ip)?;
        match self
            .hasher
            .verify(password, Some(&account.password_hash))
            .await
        {
            Ok(true) => {
                attempt.refund(&self.limits);
                Ok(())
            }
            Ok(false) => Err(AppError::WrongPassword),
            Err(e) => {
                attempt.refund(&self.limits);
                Err(e.into())
            }
        }
    }

    /// `POST /v1/account/password`: the current password, a new one; by default every
    /// other session ends (reason `password_changed`) and every device hears an alert.
    pub async fn change_password(
        &self,
        caller: &Claims,
        req: ChangePassword,
        ip: Option<IpAddr>,
    ) -> Result<u64> {
        let account = self.caller_account(caller).await?;
        self.check_password(&account, &req.current_password, ip)
            .await?;
        if let Some(problem) = password_problem(&req.new_password, &account.email) {
            return Err(AppError::WeakPassword(problem));
        }
        // After a scare the point is a password the intruder does not know.
        if req.new_password.expose() == req.current_password.expose() {
            return Err(AppError::WeakPassword(
                "The new password must differ from the current one.",
            ));
        }
        let hash = self.hasher.hash(&req.new_password).await?;
        let now = Millis::now();
        let ip_text = ip.map(|i| i.to_string());
        let alert = Event::SecurityAlert(SecurityAlert {
            kind: AlertKind::PasswordChanged,
            session_id: Some(caller.sid),
            at: now.to_datetime(),
            message: if req.sign_out_other_devices {
                "The password of your account was changed, and every other device was signed out."
                    .to_owned()
            } else {
                "The password of your account was changed.".to_owned()
            },
        });
        let revoked = self
            .store
            .revoke_sessions(
                Revoke {
                    user_id: caller.sub,
                    which: if req.sign_out_other_devices {
                        Which::AllBut(Some(caller.sid))
                    } else {
                        Which::None
                    },
                    reason: RevocationReason::PasswordChanged,
                    activity: ActivityKind::Revoked,
                    actor: Actor {
                        session_id: Some(caller.sid),
                        ip: ip_text.as_deref(),
                    },
                    now,
                    feed_expires_at: self.revocation_expiry(now),
                    account: AccountChange {
                        password_hash: Some(&hash),
                        activity: Some(ActivityKind::PasswordChanged),
                        ..AccountChange::default()
                    },
                    events: std::slice::from_ref(&alert),
                    event_expires_at: self.event_expiry(now),
                },
                |s, by| {
                    revoked_event(
                        s,
                        RevocationReason::PasswordChanged,
                        Some(caller.sid),
                        by,
                        now,
                    )
                },
            )
            .await?;
        self.publish().await;
        tracing::info!(user = %caller.sub, ended = revoked.len(), "password changed");
        Ok(revoked.len() as u64)
    }

    // ----- two-step sign-in ------------------------------------------------------

    /// `POST /v1/account/two-step`: a new secret to enrol (not on until confirmed).
    pub async fn two_step_start(
        &self,
        caller: &Claims,
        password: &Password,
        ip: Option<IpAddr>,
    ) -> Result<TwoStepEnrolment> {
        let account = self.caller_account(caller).await?;
        self.check_password(&account, password, ip).await?;
        // Replacing a secret that is on would be a way around turning it off, which
        // asks for a code: whoever holds a session and the password must not be able
        // to move two-step sign-in to their own authenticator.
        if account.two_step_secret.is_some() {
            return Err(AppError::Conflict(
                "Two-step sign-in is on already. Turn it off first (that asks for a code) to enrol another authenticator.",
            ));
        }
        let secret = two_step::new_secret();
        let (base32, uri, svg) = two_step::enrolment(&secret, &account.email)
            .ok_or_else(|| AppError::Invalid("The two-step secret could not be made.".into()))?;
        let sealed = self.sealer.seal(account.id.to_string().as_bytes(), &secret);
        self.store
            .set_two_step_pending(account.id, Some(&sealed))
            .await?;
        Ok(TwoStepEnrolment {
            secret: SecretText::new(base32),
            otpauth_uri: SecretText::new(uri),
            qr_svg: svg,
        })
    }

    /// `POST /v1/account/two-step/confirm`: the first code from the authenticator turns
    /// two-step sign-in on; the answer holds the recovery codes, shown this once.
    pub async fn two_step_confirm(
        &self,
        caller: &Claims,
        code: &SecretText,
        ip: Option<IpAddr>,
    ) -> Result<RecoveryCodes> {
        let account = self.caller_account(caller).await?;
        let Some(pending) = account.two_step_pending.clone() else {
            return Err(AppError::Conflict(
                "Start enrolling first: no two-step secret is waiting for its first code.",
            ));
        };
        let attempt = self.begin_code_attempt(account.id, ip)?;
        let secret = self.open_two_step(account.id, &pending)?;
        let Some(step) = two_step::code_step(&secret, code.expose(), Millis::now().secs_u64())
        else {
            return Err(AppError::WrongCode);
        };
        let codes = two_step::new_recovery_codes();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| two_step::recovery_hash(c)).collect();
        let ip_text = ip.map(|i| i.to_string());
        if !self
            .store
            .enable_two_step(
                account.id,
                &pending,
                step,
                &hashes,
                Millis::now(),
                Some(caller.sid),
                ip_text.as_deref(),
            )
            .await?
        {
            return Err(AppError::Invalid(
                "Another enrolment started meanwhile; use its secret.".into(),
            ));
        }
        attempt.refund(self);
        tracing::info!(user = %account.id, "two-step sign-in turned on");
        Ok(RecoveryCodes {
            recovery_codes: codes.into_iter().map(SecretText::new).collect(),
        })
    }

    /// `DELETE /v1/account/two-step`: the password and a code (or a recovery code).
    pub async fn two_step_disable(
        &self,
        caller: &Claims,
        password: &Password,
        code: &SecretText,
        ip: Option<IpAddr>,
    ) -> Result<()> {
        let account = self.caller_account(caller).await?;
        self.check_password(&account, password, ip).await?;
        let Some(sealed) = account.two_step_secret.clone() else {
            return Ok(());
        };
        let attempt = self.begin_code_attempt(account.id, ip)?;
        if !self.spend_code(&account, &sealed, code).await? {
            return Err(AppError::WrongCode);
        }
        attempt.refund(self);
        let now = Millis::now();
        let ip_text = ip.map(|i| i.to_string());
        let alert = Event::SecurityAlert(SecurityAlert {
            kind: AlertKind::TwoStepDisabled,
            session_id: Some(caller.sid),
            at: now.to_datetime(),
            message: "Two-step sign-in was turned off for your account.".to_owned(),
        });
        self.store
            .disable_two_step(
                account.id,
                now,
                Some(caller.sid),
                ip_text.as_deref(),
                &alert,
                self.event_expiry(now),
            )
            .await?;
        self.publish().await;
        tracing::info!(user = %account.id, "two-step sign-in turned off");
        Ok(())
    }

    /// A sign-in whose password was right, on an account with two-step sign-in: the
    /// challenge to answer with a code.
    pub(super) async fn challenge_sign_in(
        &self,
        account: &Account,
        device: &proto::Device,
        ip: Option<IpAddr>,
    ) -> Result<TokenResponse> {
        let (challenge, hash) = two_step::new_challenge();
        let ip_text = ip.map(|i| i.to_string());
        self.store
            .create_challenge(NewChallenge {
                hash: &hash,
                user_id: account.id,
                device,
                ip: ip_text.as_deref(),
                expires_at: Millis::now().plus(CHALLENGE_LIFETIME),
            })
            .await?;
        Err(AppError::MfaRequired {
            challenge: SecretText::new(challenge),
            expires_in: CHALLENGE_LIFETIME,
        })
    }

    /// `POST /v1/sessions/two-step`: the second step. A code is accepted once, a
    /// recovery code once ever; a challenge once, within its lifetime.
    pub async fn sign_in_second_step(
        &self,
        req: TwoStepSignIn,
        ip: Option<IpAddr>,
    ) -> Result<TokenResponse> {
        self.second_step_as(req, ip, SessionKind::Device).await
    }

    pub(super) async fn second_step_as(
        &self,
        req: TwoStepSignIn,
        ip: Option<IpAddr>,
        kind: SessionKind,
    ) -> Result<TokenResponse> {
        let hash = two_step::challenge_hash(req.challenge.expose());
        let now = Millis::now();
        let challenge = match self.store.challenge(&hash).await? {
            Some(c) if !c.used && c.expires_at > now => c,
            _ => return Err(AppError::InvalidChallenge),
        };
        let account = self
            .store
            .account_by_id(challenge.user_id)
            .await?
            .ok_or(AppError::InvalidChallenge)?;
        let Some(sealed) = account.two_step_secret.clone() else {
            // Two-step sign-in was turned off meanwhile: sign in again.
            return Err(AppError::InvalidChallenge);
        };
        let attempt = self.begin_code_attempt(account.id, ip)?;
        let code = match (&req.code, &req.recovery_code) {
            (Some(c), None) => Code::Totp(c),
            (None, Some(r)) => Code::Recovery(r),
            _ => {
                attempt.refund(self);
                return Err(AppError::Invalid(
                    "Send either `code` or `recovery_code`.".into(),
                ));
            }
        };
        let ok = match code {
            Code::Totp(c) => self.spend_code(&account, &sealed, c).await?,
            Code::Recovery(r) => {
                self.store
                    .use_recovery_code(account.id, &two_step::recovery_hash(r.expose()), now)
                    .await?
            }
        };
        if !ok {
            if self.store.challenge_failed(&hash).await? >= CHALLENGE_MAX_FAILURES {
                // Enough guesses at this one: it is spent.
                let _ = self.store.use_challenge(&hash, now).await?;
            }
            return Err(AppError::InvalidCode);
        }
        if !self.store.use_challenge(&hash, now).await? {
            return Err(AppError::InvalidChallenge);
        }
        attempt.refund(self);
        self.start_session(&account, &challenge.device, ip, kind)
            .await
    }

    /// Whether `code` is a current code of the sealed secret, spending its step (each
    /// code works once), or one of the account's recovery codes, spending it.
    async fn spend_code(
        &self,
        account: &Account,
        sealed: &[u8],
        code: &SecretText,
    ) -> Result<bool> {
        let secret = self.open_two_step(account.id, sealed)?;
        if let Some(step) = two_step::code_step(&secret, code.expose(), Millis::now().secs_u64()) {
            return Ok(self.store.accept_two_step_code(account.id, step).await?);
        }
        Ok(self
            .store
            .use_recovery_code(
                account.id,
                &two_step::recovery_hash(code.expose()),
                Millis::now(),
            )
            .await?)
    }

    fn open_two_step(&self, user: UserId, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        self.sealer
            .open(user.to_string().as_bytes(), sealed)
            .map_err(AppError::Sealed)
    }

    /// Counts a code attempt against the (account, address) pair and the account.
    fn begin_code_attempt(&self, user: UserId, ip: Option<IpAddr>) -> Result<CodeAttempt> {
        let now = Instant::now();
        let pair = format!("{user}|{}", ip.map(address_key).unwrap_or_default());
        let pair = self
            .limits
            .two_step_pair
            .begin(&pair, now)
            .map_err(AppError::TooManyAttempts)?;
        match self.limits.two_step_account.begin(&user.to_string(), now) {
            Ok(account) => Ok(CodeAttempt { pair, account }),
            Err(wait) => {
                self.limits.two_step_pair.refund(pair);
                Err(AppError::TooManyAttempts(wait))
            }
        }
    }

    // ----- wipe receipts -----------------------------------------------------------

    /// `POST /v1/sessions/{id}/wipe-receipt`: a signed-out device proves it held one of
    /// the revoked session's refresh tokens; the first receipt is recorded. Anything else
    /// (unknown id, a live session, a wrong token) is `NotFound` and changes nothing.
    pub async fn wipe_receipt(
        &self,
        id: SessionId,
        refresh_token: &str,
        ip: Option<IpAddr>,
    ) -> Result<()> {
        let address = ip.map(address_key);
        if let Some(a) = &address {
            self.limits
                .failures_address
                .check(a, Instant::now())
                .map_err(AppError::TooManyAttempts)?;
        }
        let refused = || {
            if let Some(a) = &address {
                self.limits.failures_address.record(a, Instant::now());
            }
            AppError::NotFound
        };
        if !secrets::looks_like_refresh_token(refresh_token) {
            return Err(refused());
        }
        let now = Millis::now();
        let ip_text = ip.map(|i| i.to_string());
        match self
            .store
            .record_wipe(
                id,
                &secrets::hash_refresh_token(refresh_token),
                now,
                ip_text.as_deref(),
                |s| {
                    Event::SessionWiped(SessionWiped {
                        session_id: s.id,
                        at: now.to_datetime(),
                    })
                },
                self.event_expiry(now),
            )
            .await?
        {
            WipeOutcome::Recorded(s) => {
                self.publish().await;
                tracing::info!(user = %s.user_id, session = %s.id, "a signed-out device erased its keys");
                Ok(())
            }
            WipeOutcome::AlreadyWiped => Ok(()),
            WipeOutcome::NotFound => Err(refused()),
        }
    }
}

enum Code<'a> {
    Totp(&'a SecretText),
    Recovery(&'a SecretText),
}

/// The slots one code attempt holds.
struct CodeAttempt {
    pair: Ticket,
    account: Ticket,
}

impl CodeAttempt {
    fn refund(self, app: &App) {
        app.limits.two_step_pair.refund(self.pair);
        app.limits.two_step_account.refund(self.account);
    }
}
