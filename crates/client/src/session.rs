//! One signed-in device session: the access token in memory, refreshing, the devices
//! API, logout and the reaction to being signed out from elsewhere.

use std::future::Future;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use proto::activity::ActivityEvent;
use proto::events::Event;
use proto::sessions::{RevocationReason, RevokeScope, SessionInfo};
use proto::tokens::TokenResponse;
use proto::{AccessToken, SessionId};
use serde::Serialize;

use crate::config::PendingRevocation;
use crate::error::{ClientError, Result};
use crate::events::{ClientEvent, SignedOutNotice};
use crate::http::{Api, ApiResult, Failure};
use crate::manager::Shared;
use crate::receipts::RECEIPT_TIMEOUT;
use crate::store::{AccountKey, EntryName};

/// No access token is trusted for longer than a day, whatever `expires_in` says.
const MAX_ACCESS_LIFETIME_SECS: u64 = 86_400;

/// An access token and when it stops being usable.
struct Access {
    token: AccessToken,
    /// Monotonic expiry: immune to wall-clock jumps.
    expires_at: Instant,
    expires_utc: DateTime<Utc>,
    refresh_margin: Duration,
    generation: u64,
}

impl Access {
    fn from_response(resp: &TokenResponse, generation: u64) -> Self {
        // Whatever the server says, keep the arithmetic far from any overflow.
        let secs = resp.expires_in.min(MAX_ACCESS_LIFETIME_SECS);
        let lifetime = Duration::from_secs(secs);
        Self {
            token: resp.access_token.clone(),
            expires_at: Instant::now() + lifetime,
            expires_utc: Utc::now() + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(0)),
            // Refresh ahead of expiry: 30 s early, or half the lifetime if it is short.
            refresh_margin: (lifetime / 2).min(Duration::from_secs(30)),
            generation,
        }
    }

    fn fresh(&self) -> bool {
        Instant::now() + self.refresh_margin < self.expires_at
    }
}

#[derive(Default)]
struct TokenState {
    access: Option<Access>,
    generation: u64,
}

/// What `logout` achieved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogoutOutcome {
    /// The server confirmed that the session is over.
    pub revoked_on_server: bool,
    /// Logouts (this one included) still waiting for the server.
    pub pending_revocations: usize,
}

pub(crate) struct SessionInner {
    shared: Arc<Shared>,
    key: AccountKey,
    session_id: SessionId,
    device_name: String,
    api: Api,
    /// Held across a refresh: that is what makes it the only one in flight.
    tokens: tokio::sync::Mutex<TokenState>,
    online: AtomicBool,
    ended: AtomicBool,
    events_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A signed-in device session. Cheap to clone; all clones share one token state.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("account", &self.inner.key)
            .field("session_id", &self.inner.session_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        key: AccountKey,
        session_id: SessionId,
        device_name: String,
    ) -> Self {
        let api = Api::new(shared.http.clone(), &key.server);
        Self {
            inner: Arc::new(SessionInner {
                shared,
                key,
                session_id,
                device_name,
                api,
                tokens: tokio::sync::Mutex::new(TokenState::default()),
                online: AtomicBool::new(false),
                ended: AtomicBool::new(false),
                events_task: Mutex::new(None),
            }),
        }
    }

    /// Installs the access token of a fresh sign-in.
    pub(crate) async fn install(&self, resp: &TokenResponse) {
        let mut st = self.inner.tokens.lock().await;
        st.generation += 1;
        st.access = Some(Access::from_response(resp, st.generation));
    }

    pub fn account(&self) -> &AccountKey {
        &self.inner.key
    }

    pub fn server(&self) -> &str {
        &self.inner.key.server
    }

    pub fn email(&self) -> &str {
        &self.inner.key.email
    }

    pub fn session_id(&self) -> SessionId {
        self.inner.session_id
    }

    pub fn device_name(&self) -> &str {
        &self.inner.device_name
    }

    /// True while the event stream is connected.
    pub fn is_online(&self) -> bool {
        self.inner.online.load(Ordering::SeqCst)
    }

    /// True once this session was logged out or signed out from elsewhere.
    pub fn is_ended(&self) -> bool {
        self.inner.ended.load(Ordering::SeqCst)
    }

    pub(crate) fn api(&self) -> &Api {
        &self.inner.api
    }

    pub(crate) fn set_online(&self, online: bool) {
        if self.inner.online.swap(online, Ordering::SeqCst) != online {
            self.inner.shared.emit(ClientEvent::Online {
                account: self.inner.key.clone(),
                online,
            });
        }
    }

    pub(crate) fn network_returned(&self) {
        self.inner.shared.pending_wake.notify_one();
    }

    /// When the access token in memory expires, if there is one.
    pub async fn access_token_expires_at(&self) -> Option<DateTime<Utc>> {
        self.inner
            .tokens
            .lock()
            .await
            .access
            .as_ref()
            .map(|a| a.expires_utc)
    }

    /// Makes sure a usable access token is in memory (refreshing if needed) and
    /// returns its expiry. Proves the session is alive on the server.
    pub async fn ensure_fresh(&self) -> Result<DateTime<Utc>> {
        self.token().await?;
        self.access_token_expires_at()
            .await
            .ok_or(ClientError::NotSignedIn)
    }

    /// A usable access token, refreshed first if it is missing or about to expire.
    pub(crate) async fn token(&self) -> Result<(AccessToken, u64)> {
        let mut st = self.inner.tokens.lock().await;
        if let Some(a) = st.access.as_ref().filter(|a| a.fresh()) {
            return Ok((a.token.clone(), a.generation));
        }
        self.refresh_locked(&mut st).await
    }

    /// After a 401 with the token of `generation`: refresh, unless another caller has
    /// already done so while this one waited.
    pub(crate) async fn refresh_after_401(&self, generation: u64) -> Result<(AccessToken, u64)> {
        let mut st = self.inner.tokens.lock().await;
        if let Some(a) = st
            .access
            .as_ref()
            .filter(|a| a.generation != generation && a.fresh())
        {
            return Ok((a.token.clone(), a.generation));
        }
        st.access = None;
        self.refresh_locked(&mut st).await
    }

    async fn refresh_locked(&self, st: &mut TokenState) -> Result<(AccessToken, u64)> {
        if self.is_ended() {
            return Err(ClientError::NotSignedIn);
        }
        let shared = &self.inner.shared;
        let entry = EntryName::active(&self.inner.key);
        let Some(refresh) = shared.keychain.read(&entry).await? else {
            // Someone (another process, a logout) took the credential away.
            return Err(ClientError::NotSignedIn);
        };
        match self.inner.api.refresh(&refresh).await {
            Ok(resp) => {
                // The presented token is spent now. Keep the successor before relying on
                // it: if the keychain refuses it, fail loudly; the old token still in the
                // keychain gets the same successor on a retry within the server's grace.
                shared.keychain.write(&entry, &resp.refresh_token).await?;
                st.generation += 1;
                let access = Access::from_response(&resp, st.generation);
                let out = (access.token.clone(), access.generation);
                st.access = Some(access);
                tracing::debug!(account = %self.inner.key, "access token refreshed");
                Ok(out)
            }
            Err(Failure::InvalidGrant | Failure::Unauthorized) => {
                st.access = None;
                let notice = SignedOutNotice {
                    by_session_id: None,
                    by_device_name: None,
                    reason: RevocationReason::Unknown,
                    at: Utc::now(),
                };
                self.wipe(Some(notice)).await;
                Err(ClientError::SessionRevoked)
            }
            Err(other) => Err(other.into_client()),
        }
    }

    /// Runs an authorized call: refresh ahead of expiry, and once more after a 401.
    pub(crate) async fn call<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(Api, AccessToken) -> Fut,
        Fut: Future<Output = ApiResult<T>>,
    {
        let (token, generation) = self.token().await?;
        match f(self.inner.api.clone(), token).await {
            Ok(v) => Ok(v),
            Err(Failure::Unauthorized) => {
                let (token, _) = self.refresh_after_401(generation).await?;
                f(self.inner.api.clone(), token)
                    .await
                    .map_err(Failure::into_client)
            }
            Err(e) => Err(e.into_client()),
        }
    }

    /// The account's live sessions, this device first.
    pub async fn list_devices(&self) -> Result<Vec<SessionInfo>> {
        self.call(|api, t| async move { api.list_sessions(&t, false).await })
            .await
    }

    /// The live sessions as [`Session::list_devices`] has them, then the sessions
    /// signed out in the last 7 days (`signed_out` set: when, why, and whether the
    /// device has erased its keys — `wiped_at`, from its wipe receipt).
    pub async fn list_devices_with_signed_out(&self) -> Result<Vec<SessionInfo>> {
        self.call(|api, t| async move { api.list_sessions(&t, true).await })
            .await
    }

    /// Finds a device by id or by its (case-insensitive, unique) name.
    pub async fn find_device(&self, id_or_name: &str) -> Result<SessionInfo> {
        let devices = self.list_devices().await?;
        let wanted = id_or_name.trim();
        if let Ok(id) = wanted.parse::<SessionId>() {
            return devices
                .into_iter()
                .find(|d| d.id == id)
                .ok_or(ClientError::NotFound);
        }
        let mut matches: Vec<SessionInfo> = devices
            .into_iter()
            .filter(|d| d.device.name.eq_ignore_ascii_case(wanted))
            .collect();
        match matches.len() {
            0 => Err(ClientError::NotFound),
            1 => Ok(matches.remove(0)),
            n => Err(ClientError::Validation {
                code: "ambiguous_name".into(),
                message: format!("{n} devices are named '{wanted}'; use the id instead"),
            }),
        }
    }

    /// Gives a device a new name.
    pub async fn rename_device(&self, id: SessionId, name: &str) -> Result<SessionInfo> {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(ClientError::Validation {
                code: "validation_failed".into(),
                message: "a device name cannot be empty".into(),
            });
        }
        let answered = self
            .call(|api, t| {
                let name = name.clone();
                async move { api.rename_session(&t, id, &name).await }
            })
            .await?;
        match answered {
            Some(info) => Ok(info),
            None => self
                .list_devices()
                .await?
                .into_iter()
                .find(|d| d.id == id)
                .ok_or(ClientError::NotFound),
        }
    }

    /// Signs one device out. Signing out this very device also wipes it locally.
    pub async fn sign_out_device(&self, id: SessionId) -> Result<()> {
        self.call(|api, t| async move { api.delete_session(&t, id).await })
            .await?;
        if id == self.inner.session_id {
            self.end_confirmed().await?;
        }
        Ok(())
    }

    /// Signs out every other device of the account. Returns how many.
    pub async fn sign_out_others(&self) -> Result<u64> {
        self.call(|api, t| async move { api.revoke_scope(&t, RevokeScope::Others).await })
            .await
    }

    /// Signs out every device, this one included, and wipes this one locally.
    pub async fn sign_out_everywhere(&self) -> Result<u64> {
        let n = self
            .call(|api, t| async move { api.revoke_scope(&t, RevokeScope::All).await })
            .await?;
        self.end_confirmed().await?;
        Ok(n)
    }

    /// The account's security history, newest first.
    pub async fn activity(&self) -> Result<Vec<ActivityEvent>> {
        let list = self
            .call(|api, t| async move { api.activity(&t).await })
            .await?;
        Ok(list.events)
    }

    /// Logs this device out. The usable credential leaves the keychain at once; the
    /// refresh token moves to a pending-revocation entry and is revoked on the server
    /// now if it answers, or later (every start, and when the network returns).
    pub async fn logout(&self) -> Result<LogoutOutcome> {
        let shared = self.inner.shared.clone();
        let key = self.inner.key.clone();
        let sid = self.inner.session_id;
        let active = EntryName::active(&key);
        let pending_entry = EntryName::pending(&key, sid);
        {
            let mut st = self.inner.tokens.lock().await;
            st.access = None;
            if let Some(refresh) = shared.keychain.read(&active).await? {
                let record = PendingRevocation {
                    server: key.server.clone(),
                    email: key.email.clone(),
                    session_id: sid,
                    since: Utc::now(),
                    attempts: 0,
                    last_error: None,
                };
                // The pending slot first, so that the token is never in neither place.
                shared.keychain.write(&pending_entry, &refresh).await?;
                shared
                    .update_config(|c| {
                        c.pending_revocations.retain(|p| p.session_id != sid);
                        c.pending_revocations.push(record);
                    })
                    .await?;
                shared.keychain.delete(&active).await?;
            }
            self.inner.ended.store(true, Ordering::SeqCst);
            shared.update_config(|c| c.remove_account(&key)).await?;
        }
        self.stop_events();
        shared.forget_session(&key);
        let report = shared
            .retry_pending(Some(sid), Duration::from_secs(3))
            .await;
        if report.remaining > 0 {
            // A running program's background worker may be parked with nothing to do:
            // give it this one, so it retries with backoff without waiting for a restart.
            shared.pending_wake.notify_one();
        }
        Ok(LogoutOutcome {
            revoked_on_server: report.confirmed > 0,
            pending_revocations: report.remaining,
        })
    }

    /// The server confirmed this session is over (we asked for it): wipe quietly.
    async fn end_confirmed(&self) -> Result<()> {
        {
            let mut st = self.inner.tokens.lock().await;
            st.access = None;
        }
        self.wipe(None).await;
        Ok(())
    }

    /// Removes every local trace of the session's credential; then, the entry being
    /// gone, sends the wipe receipt (or keeps it for later: see `receipts.rs`). With a
    /// notice, tells the caller that this happened from elsewhere.
    async fn wipe(&self, notice: Option<SignedOutNotice>) {
        let first = !self.inner.ended.swap(true, Ordering::SeqCst);
        let shared = &self.inner.shared;
        let key = &self.inner.key;
        let entry = EntryName::active(key);
        // The token the receipt proves this device held; `None` if already wiped.
        let held = match shared.keychain.read(&entry).await {
            Ok(token) => token,
            Err(e) => {
                tracing::warn!(account = %key, error = %e, "could not read the credential being wiped");
                None
            }
        };
        let erased = match shared.keychain.delete(&entry).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(account = %key, error = %e, "could not remove the keychain entry of a revoked session");
                false
            }
        };
        if let Err(e) = shared.update_config(|c| c.remove_account(key)).await {
            tracing::warn!(error = %e, "could not update the config file");
        }
        shared.forget_session(key);
        // A receipt states a fact: only once the entry is really gone. Sent (or kept for
        // later) before the caller is told, because a program told it is signed out may
        // well exit at once (`sessionctl watch` does).
        if erased && let Some(token) = held {
            shared
                .receipt_after_wipe(key, self.inner.session_id, token, RECEIPT_TIMEOUT)
                .await;
        }
        if first && let Some(notice) = notice {
            tracing::info!(account = %key, reason = %notice.reason, "signed out from elsewhere");
            shared.set_notice(notice.clone());
            shared.emit(ClientEvent::SignedOut {
                account: key.clone(),
                notice,
            });
        }
    }

    /// Handles one event of the stream. `Break` when this session is over.
    pub(crate) async fn handle_sse(&self, name: &str, data: &str) -> ControlFlow<()> {
        let event = match Event::parse(name, data) {
            Ok(Some(e)) => e,
            Ok(None) => return ControlFlow::Continue(()),
            Err(e) => {
                tracing::warn!(event = name, error = %e, "ignoring a malformed event");
                return ControlFlow::Continue(());
            }
        };
        if let Event::SessionRevoked(r) = &event
            && r.session_id == self.inner.session_id
        {
            {
                // Wait for a refresh in flight, so its rotated token cannot land after the wipe.
                let mut st = self.inner.tokens.lock().await;
                st.access = None;
            }
            let by_self = r.by_session_id == Some(self.inner.session_id);
            let notice = (!by_self).then(|| SignedOutNotice {
                by_session_id: r.by_session_id,
                by_device_name: r.by_device.as_ref().map(|d| d.name.clone()),
                reason: r.reason,
                at: r.at.unwrap_or_else(Utc::now),
            });
            self.wipe(notice).await;
            return ControlFlow::Break(());
        }
        self.inner.shared.emit(ClientEvent::Remote {
            account: self.inner.key.clone(),
            event,
        });
        ControlFlow::Continue(())
    }

    /// Starts following the event stream in the background (idempotent). Requires a
    /// Tokio runtime.
    pub fn start_events(&self) {
        let mut task = self
            .inner
            .events_task
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if task.as_ref().is_some_and(|t| !t.is_finished()) || self.is_ended() {
            return;
        }
        *task = Some(tokio::spawn(crate::events::run(self.clone())));
    }

    /// Stops following the event stream.
    pub fn stop_events(&self) {
        if let Some(t) = self
            .inner
            .events_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
        self.inner.online.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(expires_in: u64) -> TokenResponse {
        TokenResponse {
            access_token: AccessToken::new("a.b.c"),
            token_type: "Bearer".into(),
            expires_in,
            refresh_token: proto::RefreshToken::new("rt_x"),
            session_id: SessionId::new(),
        }
    }

    #[test]
    fn any_expires_in_is_safe_and_refreshes_ahead_of_expiry() {
        for secs in [0, 1, 2, 300, u64::MAX] {
            let _ = Access::from_response(&response(secs), 1);
        }
        assert!(!Access::from_response(&response(0), 1).fresh());
        let five_min = Access::from_response(&response(300), 1);
        assert!(five_min.fresh());
        assert_eq!(five_min.refresh_margin, Duration::from_secs(30));
        assert_eq!(
            Access::from_response(&response(2), 1).refresh_margin,
            Duration::from_secs(1)
        );
    }
}
