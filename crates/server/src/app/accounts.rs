//! Accounts and signing in: sign-up, the password check, the failure limits.

use crate::metrics::{self, Limit};
use std::net::IpAddr;
use std::time::Instant;

use proto::events::{Event, SessionCreated};
use proto::tokens::{SignInRequest, TokenResponse};
use proto::{Password, SessionId, UserId};

use super::validate::{normalize_email, validate_device};
use super::{App, AppError, Result};
use crate::password::{Hasher, password_problem};
use crate::ratelimit::{Ticket, address_key};
use crate::secrets;
use crate::store::{NewSession, Store};
use crate::time::Millis;

impl App {
    pub async fn create_account(
        &self,
        email: &str,
        password: &Password,
        ip: Option<IpAddr>,
    ) -> Result<UserId> {
        if !self.settings.open_signup {
            return Err(AppError::SignupDisabled);
        }
        // Every sign-up counts (each costs a password hash), successful or not.
        if let Some(ip) = ip {
            let _counted = self
                .limits
                .signup_address
                .begin(&address_key(ip), Instant::now())
                .inspect_err(|_| metrics::throttled(Limit::SignupAddress))
                .map_err(AppError::TooManyAttempts)?;
        }
        create_account_in(&self.store, &self.hasher, email, password).await
    }

    pub async fn sign_in(&self, req: SignInRequest, ip: Option<IpAddr>) -> Result<TokenResponse> {
        self.sign_in_as(req, ip, SessionKind::Device).await
    }

    /// A sign-in of a device (`Device`) or of the account page in a browser (`Web`,
    /// with the web's shorter lifetimes).
    pub(super) async fn sign_in_as(
        &self,
        req: SignInRequest,
        ip: Option<IpAddr>,
        kind: SessionKind,
    ) -> Result<TokenResponse> {
        let email = normalize_email(&req.email).ok_or(AppError::InvalidCredentials)?;
        let device = validate_device(req.device)?;
        // Counted before the password is checked, so parallel guesses cannot outrun
        // the limits while they wait for a hasher; taken back if the password is right.
        let attempt = self.begin_sign_in(&email, ip)?;

        // A place in the hashers' line before anything else costs: a flood is turned
        // away here, without a database lookup (and held a moment, see `Hasher`).
        let admission = match self.hasher.admit_or_pause().await {
            Ok(a) => a,
            Err(e) => {
                attempt.refund(&self.limits);
                return Err(e.into());
            }
        };
        let account = self.store.account_by_email(&email).await?;
        let verified = admission
            .verify(
                &req.password,
                account.as_ref().map(|a| a.password_hash.as_str()),
            )
            .await;
        let ok = match verified {
            Ok(ok) => ok,
            Err(e) => {
                // Not checked at all (the hasher is busy): not an attempt either.
                attempt.refund(&self.limits);
                return Err(e.into());
            }
        };
        let Some(account) = account.filter(|_| ok) else {
            tracing::info!(ip = ?ip, "sign-in failed");
            return Err(AppError::InvalidCredentials);
        };
        attempt.refund(&self.limits);
        if account.two_step_secret.is_some() {
            return self.challenge_sign_in(&account, &device, ip).await;
        }
        self.start_session(&account, &device, ip, kind).await
    }

    /// Creates the session of a completed sign-in and answers with its tokens.
    pub(super) async fn start_session(
        &self,
        account: &crate::store::Account,
        device: &proto::Device,
        ip: Option<IpAddr>,
        kind: SessionKind,
    ) -> Result<TokenResponse> {
        let (idle_ttl, max_ttl) = match kind {
            SessionKind::Device => (
                self.settings.refresh_idle_ttl,
                self.settings.refresh_max_ttl,
            ),
            SessionKind::Web => (self.settings.web_idle_ttl, self.settings.web_max_ttl),
        };
        let now = Millis::now();
        let refresh = secrets::new_refresh_token();
        let ip_text = ip.map(|i| i.to_string());
        let id = SessionId::new();
        let event = Event::SessionCreated(SessionCreated {
            session_id: id,
            device: device.clone(),
            ip: ip_text.clone(),
        });
        let session = self
            .store
            .create_session(NewSession {
                id,
                user_id: account.id,
                device,
                ip: ip_text.as_deref(),
                now,
                idle_expires_at: now.plus(idle_ttl.min(max_ttl)),
                expires_at: now.plus(max_ttl),
                refresh_hash: &secrets::hash_refresh_token(refresh.expose()),
                event: &event,
                event_expires_at: self.event_expiry(now),
            })
            .await?;
        self.publish().await;
        tracing::info!(user = %account.id, session = %session.id, "signed in");
        Ok(self.token_response(account.id, session.id, refresh, now))
    }

    /// Counts a sign-in attempt against the (account, address) pair, the account and
    /// the address; if any is at its limit, nothing is counted and the longest wait is
    /// the answer.
    pub(super) fn begin_sign_in(&self, email: &str, ip: Option<IpAddr>) -> Result<SignInAttempt> {
        let now = Instant::now();
        let address = ip.map(address_key);
        let pair_key = format!("{email}|{}", address.as_deref().unwrap_or("-"));
        let mut attempt = SignInAttempt::default();
        let mut wait = None;
        match self.limits.signin_pair.begin(&pair_key, now) {
            Ok(t) => attempt.pair = Some(t),
            Err(w) => {
                metrics::throttled(Limit::SigninAccountAddress);
                wait = Some(w)
            }
        }
        match self.limits.signin_account.begin(email, now) {
            Ok(t) => attempt.account = Some(t),
            Err(w) => {
                metrics::throttled(Limit::SigninAccount);
                wait = Some(wait.map_or(w, |v: std::time::Duration| v.max(w)))
            }
        }
        if let Some(a) = &address {
            match self.limits.signin_address.begin(a, now) {
                Ok(t) => attempt.address = Some(t),
                Err(w) => {
                    metrics::throttled(Limit::SigninAddress);
                    wait = Some(wait.map_or(w, |v: std::time::Duration| v.max(w)))
                }
            }
        }
        match wait {
            Some(w) => {
                attempt.refund(&self.limits);
                Err(AppError::TooManyAttempts(w))
            }
            None => Ok(attempt),
        }
    }
}

/// What signs in: a device (the app, `sessionctl`), or a browser on the account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Device,
    Web,
}

/// The slots one sign-in attempt holds in the limits.
#[derive(Default)]
pub(super) struct SignInAttempt {
    pair: Option<Ticket>,
    account: Option<Ticket>,
    address: Option<Ticket>,
}

impl SignInAttempt {
    pub(super) fn refund(self, limits: &super::Limits) {
        if let Some(t) = self.pair {
            limits.signin_pair.refund(t);
        }
        if let Some(t) = self.account {
            limits.signin_account.refund(t);
        }
        if let Some(t) = self.address {
            limits.signin_address.refund(t);
        }
    }
}

/// Creates an account: validation, hashing and the insert (the route and the admin
/// command, which works whatever the sign-up setting).
pub(super) async fn create_account_in(
    store: &Store,
    hasher: &Hasher,
    email: &str,
    password: &Password,
) -> Result<UserId> {
    let email = normalize_email(email)
        .ok_or_else(|| AppError::Invalid("That is not a valid email address.".into()))?;
    if let Some(problem) = password_problem(password, &email) {
        return Err(AppError::WeakPassword(problem));
    }
    let hash = hasher.hash(password).await?;
    let id = UserId::new();
    store
        .create_account(id, &email, &hash, Millis::now())
        .await
        .map_err(|e| match e {
            crate::store::StoreError::EmailTaken => AppError::EmailTaken,
            other => other.into(),
        })?;
    tracing::info!(user = %id, "account created");
    Ok(id)
}
