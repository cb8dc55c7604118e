//! Accounts and signing in: sign-up, the password check, the failure limits.

use std::net::IpAddr;
use std::time::Instant;

use proto::events::{Event, SessionCreated};
use proto::tokens::{SignInRequest, TokenResponse};
use proto::{Password, SessionId, UserId};

use super::validate::{normalize_email, validate_device};
use super::{App, AppError, Result};
use crate::password::{Hasher, password_problem};
use crate::secrets;
use crate::store::{NewSession, Store};
use crate::time::Millis;

impl App {
    pub async fn create_account(&self, email: &str, password: &Password) -> Result<UserId> {
        if !self.settings.open_signup {
            return Err(AppError::SignupDisabled);
        }
        create_account_in(&self.store, &self.hasher, email, password).await
    }

    pub async fn sign_in(&self, req: SignInRequest, ip: Option<IpAddr>) -> Result<TokenResponse> {
        let email = normalize_email(&req.email).ok_or(AppError::InvalidCredentials)?;
        let device = validate_device(req.device)?;
        let now_i = Instant::now();
        let account_key = format!("account:{email}");
        let address_key = ip.map(|ip| format!("address:{ip}"));
        self.account_failures
            .check(&account_key, now_i)
            .map_err(AppError::TooManyAttempts)?;
        if let Some(k) = &address_key {
            self.address_failures
                .check(k, now_i)
                .map_err(AppError::TooManyAttempts)?;
        }

        let account = self.store.account_by_email(&email).await?;
        let ok = self
            .hasher
            .verify(
                &req.password,
                account.as_ref().map(|a| a.password_hash.as_str()),
            )
            .await;
        let Some(account) = account.filter(|_| ok) else {
            self.account_failures
                .record_failure(&account_key, Instant::now());
            if let Some(k) = &address_key {
                self.address_failures.record_failure(k, Instant::now());
            }
            tracing::info!(ip = ?ip, "sign-in failed");
            return Err(AppError::InvalidCredentials);
        };
        self.account_failures.clear(&account_key);

        let now = Millis::now();
        let refresh = secrets::new_refresh_token();
        let ip_text = ip.map(|i| i.to_string());
        let id = SessionId::new();
        let event = Event::SessionCreated(SessionCreated {
            session_id: id,
            device: device.clone(),
        });
        let session = self
            .store
            .create_session(NewSession {
                id,
                user_id: account.id,
                device: &device,
                ip: ip_text.as_deref(),
                now,
                idle_expires_at: now.plus(
                    self.settings
                        .refresh_idle_ttl
                        .min(self.settings.refresh_max_ttl),
                ),
                expires_at: now.plus(self.settings.refresh_max_ttl),
                refresh_hash: &secrets::hash_refresh_token(refresh.expose()),
                event: &event,
                event_expires_at: self.event_expiry(now),
            })
            .await?;
        self.publish().await;
        tracing::info!(user = %account.id, session = %session.id, "signed in");
        Ok(self.token_response(account.id, session.id, refresh, now))
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
