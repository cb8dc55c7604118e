//! The entry point: one `SessionManager` per process. It knows the config file, the
//! keychain and every signed-in account, and it owns the retrying of logouts that the
//! server has not yet confirmed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use proto::account::TwoStepSignIn;
use proto::tokens::TokenResponse;
use proto::{Device, Password, SessionId, UserId};
use serde::Serialize;
use tokio::sync::{Notify, broadcast};

use crate::config::{AccountRecord, ConfigData, ConfigFile, PendingReceipt, PendingRevocation};
use crate::error::{ClientError, KeychainError, Result};
use crate::events::{Backoff, ClientEvent, SignedOutNotice};
use crate::http::{Api, Failure, Transport, check_transport, normalize_server_url, transport};
use crate::session::Session;
use crate::store::{AccountKey, EntryName, Keychain};
use crate::two_step::{TwoStepAnswer, TwoStepChallenge};

/// How a `SessionManager` is set up.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where the non-secret config file lives; defaults to the user's config dir.
    pub config_dir: Option<PathBuf>,
    /// The keychain; defaults to the OS keychain of this platform.
    pub keychain: Option<Keychain>,
    /// Reported to the server as the device's `app_version`.
    pub app_version: Option<String>,
    /// Reported as the device's `platform`; defaults to this OS (`linux`, `macos`, …).
    pub platform: Option<String>,
    /// Reported as the device's `os_version`; defaults to this OS's name and version.
    pub os_version: Option<String>,
    /// Allow plain `http://` to servers on other machines (tests only: passwords and
    /// tokens would cross the network unencrypted). Loopback is always allowed.
    pub insecure_http: bool,
    /// A PEM file of CA certificates to trust besides the built-in roots (a server
    /// whose certificate comes from a private CA).
    pub ca_file: Option<PathBuf>,
}

/// The keychain as the user should see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeychainStatus {
    pub backend: String,
    pub available: bool,
    /// What is wrong and what to do, when it is not available.
    pub message: Option<String>,
    /// `keychain_locked` / `keychain_unavailable` when it is not available.
    pub code: Option<String>,
}

/// Everything a status line or the app's `AppState` shows. Field names follow
/// `AppState` of docs/app-ipc.md.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub signed_in: bool,
    pub server_url: Option<String>,
    pub email: Option<String>,
    pub session_id: Option<SessionId>,
    pub device_name: Option<String>,
    pub default_device_name: String,
    pub keychain: KeychainStatus,
    pub pending_revocations: usize,
    pub pending: Vec<PendingRevocation>,
    pub online: bool,
    pub signed_out_notice: Option<SignedOutNotice>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
}

/// The result of one pass over the pending revocations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PendingReport {
    /// Revocations the server confirmed in this pass.
    pub confirmed: usize,
    /// Still waiting.
    pub remaining: usize,
}

/// State shared by the manager and its sessions.
pub(crate) struct Shared {
    pub(crate) config: ConfigFile,
    config_lock: tokio::sync::Mutex<()>,
    pub(crate) keychain: Keychain,
    pub(crate) http: Transport,
    insecure_http: bool,
    events: broadcast::Sender<ClientEvent>,
    pub(crate) pending_wake: Notify,
    pending_lock: tokio::sync::Mutex<()>,
    pub(crate) receipts_lock: tokio::sync::Mutex<()>,
    notice: Mutex<Option<SignedOutNotice>>,
    sessions: Mutex<HashMap<AccountKey, Session>>,
    app_version: String,
    platform: String,
    os_version: String,
}

impl Shared {
    pub(crate) fn emit(&self, event: ClientEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    pub(crate) fn set_notice(&self, notice: SignedOutNotice) {
        *self.notice.lock().unwrap_or_else(|p| p.into_inner()) = Some(notice);
    }

    pub(crate) fn forget_session(&self, key: &AccountKey) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Read-modify-write of the config file, one at a time in this process.
    pub(crate) async fn update_config<R>(&self, f: impl FnOnce(&mut ConfigData) -> R) -> Result<R> {
        let _guard = self.config_lock.lock().await;
        let mut data = self.config.load()?;
        let r = f(&mut data);
        self.config.save(&data)?;
        Ok(r)
    }

    /// One pass over the pending revocations (only `only`'s, if given). Each one is
    /// done when the server confirms (200, also for an already dead token) and the
    /// keychain slot is gone.
    pub(crate) async fn retry_pending(
        &self,
        only: Option<SessionId>,
        timeout: Duration,
    ) -> PendingReport {
        let _one_pass_at_a_time = self.pending_lock.lock().await;
        let pending = match self.config.load() {
            Ok(c) => c.pending_revocations,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read pending revocations");
                return PendingReport::default();
            }
        };
        let mut confirmed = Vec::new();
        let mut failed: Vec<(SessionId, String)> = Vec::new();
        // One unreachable server is not asked again in the same pass, so a start with
        // many pending logouts and no network stays quick.
        let mut unreachable: Vec<String> = Vec::new();
        for p in pending
            .iter()
            .filter(|p| only.is_none_or(|sid| sid == p.session_id))
        {
            if unreachable.contains(&p.server) {
                failed.push((p.session_id, "server unreachable".into()));
                continue;
            }
            let entry = EntryName::pending(&p.key(), p.session_id);
            match self.revoke_one(p, &entry, timeout).await {
                Ok(()) => confirmed.push(p.session_id),
                Err(e) => {
                    if matches!(e, ClientError::Unreachable { .. }) {
                        unreachable.push(p.server.clone());
                    }
                    tracing::info!(session = %p.session_id, error = %e, "revocation still pending");
                    failed.push((p.session_id, e.to_string()));
                }
            }
        }
        let updated = self
            .update_config(|c| {
                c.pending_revocations
                    .retain(|p| !confirmed.contains(&p.session_id));
                for p in c.pending_revocations.iter_mut() {
                    if let Some((_, why)) = failed.iter().find(|(sid, _)| *sid == p.session_id) {
                        p.attempts = p.attempts.saturating_add(1);
                        p.last_error = Some(why.clone());
                    }
                }
                c.pending_revocations.len()
            })
            .await;
        let remaining = match updated {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot record pending revocations");
                pending.len().saturating_sub(confirmed.len())
            }
        };
        if !confirmed.is_empty() {
            self.emit(ClientEvent::PendingRevocations { count: remaining });
        }
        PendingReport {
            confirmed: confirmed.len(),
            remaining,
        }
    }

    async fn revoke_one(
        &self,
        p: &PendingRevocation,
        entry: &EntryName,
        timeout: Duration,
    ) -> Result<()> {
        let Some(token) = self.keychain.read(entry).await? else {
            // Nothing left to revoke (removed by hand, or a previous pass got this far).
            return Ok(());
        };
        let api = Api::new(self.http.clone(), &p.server);
        match api.revoke_token(&token, timeout).await {
            // 200, or the server says the token is already dead: either way it is over.
            Ok(()) | Err(Failure::InvalidGrant) => {}
            Err(f) => return Err(f.into_client()),
        }
        tracing::info!(session = %p.session_id, "server confirmed the revocation");
        self.keychain.delete(entry).await?;
        // The last copy of the credential is gone: the account's other devices may see
        // that this one erased its keys, as after a sign-out from elsewhere.
        self.receipt_after_wipe(&p.key(), p.session_id, token, timeout)
            .await;
        Ok(())
    }

    /// Everything that waits for the server: pending revocations (reported) and wipe
    /// receipts (how many still wait).
    pub(crate) async fn retry_everything(&self, timeout: Duration) -> (PendingReport, usize) {
        let report = self.retry_pending(None, timeout).await;
        let receipts = self.retry_receipts(timeout).await;
        (report, receipts)
    }
}

/// The client: sign in, pick up existing sign-ins, status, pending logouts, events.
#[derive(Clone)]
pub struct SessionManager {
    shared: Arc<Shared>,
    worker: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("config", &self.shared.config.path())
            .field("keychain", &self.shared.keychain)
            .finish_non_exhaustive()
    }
}

impl SessionManager {
    pub fn new(options: Options) -> Result<Self> {
        let dir = match options.config_dir {
            Some(d) => d,
            None => ConfigFile::default_dir().ok_or_else(|| ClientError::Config {
                path: "(none)".into(),
                message: "this system has no user config directory (is HOME set?)".into(),
            })?,
        };
        let (events, _) = broadcast::channel(256);
        Ok(Self {
            shared: Arc::new(Shared {
                config: ConfigFile::in_dir(dir),
                config_lock: tokio::sync::Mutex::new(()),
                keychain: options.keychain.unwrap_or_else(Keychain::native),
                http: transport(options.ca_file.as_deref(), options.insecure_http)?,
                insecure_http: options.insecure_http,
                events,
                pending_wake: Notify::new(),
                pending_lock: tokio::sync::Mutex::new(()),
                receipts_lock: tokio::sync::Mutex::new(()),
                notice: Mutex::new(None),
                sessions: Mutex::new(HashMap::new()),
                app_version: options
                    .app_version
                    .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
                platform: options
                    .platform
                    .unwrap_or_else(|| std::env::consts::OS.to_string()),
                os_version: options.os_version.unwrap_or_else(whoami::distro),
            }),
            worker: Arc::new(Mutex::new(None)),
        })
    }

    /// Where the non-secret config file is.
    pub fn config_path(&self) -> PathBuf {
        self.shared.config.path().to_path_buf()
    }

    pub fn keychain_backend(&self) -> String {
        self.shared.keychain.backend()
    }

    /// Every client event: sign-outs from elsewhere, passed-on server events, the
    /// stream's online state, pending-revocation counts.
    pub fn subscribe(&self) -> broadcast::Receiver<ClientEvent> {
        self.shared.events.subscribe()
    }

    /// The device name to suggest: this computer's name.
    pub fn default_device_name() -> String {
        whoami::fallible::devicename()
            .ok()
            .or_else(|| whoami::fallible::hostname().ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "this device".into())
    }

    fn device(&self, name: Option<&str>) -> Device {
        Device {
            name: name
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(Self::default_device_name),
            platform: self.shared.platform.clone(),
            os_version: self.shared.os_version.clone(),
            app_version: self.shared.app_version.clone(),
        }
    }

    /// Creates an account (servers with open sign-up).
    pub async fn create_account(
        &self,
        server: &str,
        email: &str,
        password: &Password,
    ) -> Result<UserId> {
        let server = normalize_server_url(server)?;
        check_transport(&server, self.shared.insecure_http)?;
        let api = Api::new(self.shared.http.clone(), &server);
        let r = api
            .create_account(email, password)
            .await
            .map_err(Failure::into_client)?;
        Ok(r.user_id)
    }

    /// Signs this device in. The refresh token goes to the keychain before the session
    /// is handed out; if the keychain refuses it, the new session is revoked again and
    /// the keychain error returned: no token is ever kept anywhere else.
    ///
    /// On an account with two-step sign-in the right password is answered with
    /// [`ClientError::TwoStepRequired`]: nothing is stored yet, and
    /// [`SessionManager::sign_in_second_step`] with its challenge and a code completes
    /// the sign-in.
    pub async fn sign_in(
        &self,
        server: &str,
        email: &str,
        password: &Password,
        device_name: Option<&str>,
    ) -> Result<Session> {
        let server = normalize_server_url(server)?;
        check_transport(&server, self.shared.insecure_http)?;
        let email = email.trim().to_string();
        let api = Api::new(self.shared.http.clone(), &server);
        let device = self.device(device_name);
        let resp = match api.sign_in(&email, password, &device).await {
            Ok(resp) => resp,
            Err(Failure::TwoStepRequired {
                challenge,
                expires_in,
            }) => {
                return Err(ClientError::TwoStepRequired {
                    challenge: Box::new(TwoStepChallenge {
                        server,
                        email,
                        device_name: device.name,
                        challenge,
                        expires_in,
                        received_at: Instant::now(),
                    }),
                });
            }
            Err(Failure::Unauthorized) => return Err(ClientError::InvalidCredentials),
            Err(other) => return Err(other.into_client()),
        };
        self.finish_sign_in(&api, AccountKey::new(&server, &email), device.name, resp)
            .await
    }

    /// Completes a sign-in that [`ClientError::TwoStepRequired`] interrupted, with a
    /// code from the authenticator app or a recovery code. The refresh token then goes
    /// to the keychain exactly as after a plain sign-in. A wrong or reused code is
    /// [`ClientError::InvalidCode`] (the same challenge can be answered again, a few
    /// times); an expired or spent challenge [`ClientError::TwoStepExpired`] (sign in
    /// again); too many wrong codes `RateLimited`.
    pub async fn sign_in_second_step(
        &self,
        challenge: &TwoStepChallenge,
        answer: &TwoStepAnswer,
    ) -> Result<Session> {
        let api = Api::new(self.shared.http.clone(), &challenge.server);
        let (code, recovery_code) = match answer {
            TwoStepAnswer::Code(c) => (Some(c.clone()), None),
            TwoStepAnswer::RecoveryCode(r) => (None, Some(r.clone())),
        };
        let body = TwoStepSignIn {
            challenge: challenge.challenge.clone(),
            code,
            recovery_code,
        };
        let resp = api.sign_in_second_step(&body).await.map_err(|f| match f {
            // A 401 without a code this version knows: the sign-in cannot go on.
            Failure::Unauthorized => ClientError::TwoStepExpired,
            other => other.into_client(),
        })?;
        let key = AccountKey::new(&challenge.server, &challenge.email);
        self.finish_sign_in(&api, key, challenge.device_name.clone(), resp)
            .await
    }

    /// The end of every sign-in: the refresh token into the keychain, the account into
    /// the config file, the session into memory.
    async fn finish_sign_in(
        &self,
        api: &Api,
        key: AccountKey,
        device_name: String,
        resp: TokenResponse,
    ) -> Result<Session> {
        let (server, email) = (key.server.clone(), key.email.clone());
        // Signing in again on the same account: the previous session of this device
        // ends properly rather than being orphaned on the server.
        if let Ok(previous) = self.session_for(&key).await {
            let _ = previous.logout().await;
        }
        let entry = EntryName::active(&key);
        if let Err(e) = self
            .shared
            .keychain
            .write(&entry, &resp.refresh_token)
            .await
        {
            let _ = api
                .revoke_token(&resp.refresh_token, Duration::from_secs(3))
                .await;
            return Err(e.into());
        }
        let record = AccountRecord {
            server: server.clone(),
            email,
            session_id: resp.session_id,
            device_name: device_name.clone(),
            signed_in_at: Utc::now(),
        };
        self.shared
            .update_config(|c| c.upsert_account(record))
            .await?;
        *self.shared.notice.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let session = Session::new(
            self.shared.clone(),
            key.clone(),
            resp.session_id,
            device_name,
        );
        session.install(&resp).await;
        self.shared
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, session.clone());
        tracing::info!(server = %server, session = %resp.session_id, "signed in");
        Ok(session)
    }

    /// The signed-in accounts, as the config file lists them.
    pub fn accounts(&self) -> Result<Vec<AccountRecord>> {
        Ok(self.shared.config.load()?.accounts)
    }

    /// The server commands use when none is given: the current account's, else the
    /// last one used.
    pub fn default_server(&self) -> Result<Option<String>> {
        let c = self.shared.config.load()?;
        Ok(c.current.map(|k| k.server).or(c.last_server))
    }

    /// The session to use on `server` (or the current one): `NotSignedIn` if none.
    pub async fn session(&self, server: Option<&str>) -> Result<Session> {
        let server = server.map(normalize_server_url).transpose()?;
        let c = self.shared.config.load()?;
        let record = c.pick(server.as_deref()).ok_or(ClientError::NotSignedIn)?;
        self.session_for(&record.key()).await
    }

    /// The session of one account.
    pub async fn session_for(&self, key: &AccountKey) -> Result<Session> {
        if let Some(s) = self
            .shared
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return Ok(s.clone());
        }
        let c = self.shared.config.load()?;
        let record = c.account(key).ok_or(ClientError::NotSignedIn)?;
        let session = Session::new(
            self.shared.clone(),
            key.clone(),
            record.session_id,
            record.device_name.clone(),
        );
        let mut map = self
            .shared
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Ok(map.entry(key.clone()).or_insert(session).clone())
    }

    /// Logouts the server has not confirmed yet.
    pub fn pending_revocations(&self) -> Result<Vec<PendingRevocation>> {
        Ok(self.shared.config.load()?.pending_revocations)
    }

    /// One pass: asks the server to revoke every pending logout, `timeout` per call,
    /// and sends the wipe receipts that could not be sent before.
    pub async fn retry_pending_revocations(&self, timeout: Duration) -> PendingReport {
        self.shared.retry_everything(timeout).await.0
    }

    /// Wipe receipts that still wait for the server (see `Session` docs: a revoked
    /// session's credential was erased, and the server is yet to be told).
    pub fn pending_receipts(&self) -> Result<Vec<PendingReceipt>> {
        Ok(self.shared.config.load()?.pending_receipts)
    }

    /// For long-running programs: retries pending revocations and wipe receipts in the
    /// background, with backoff, and at once whenever an event stream (re)connects.
    /// Idempotent.
    pub fn start_background(&self) {
        let mut worker = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        if worker.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        let shared = self.shared.clone();
        *worker = Some(tokio::spawn(async move {
            let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(300));
            loop {
                let (report, receipts) = shared.retry_everything(Duration::from_secs(10)).await;
                if report.remaining == 0 && receipts == 0 {
                    backoff.reset();
                    shared.pending_wake.notified().await;
                } else {
                    tokio::select! {
                        _ = tokio::time::sleep(backoff.next_delay()) => {}
                        _ = shared.pending_wake.notified() => {}
                    }
                }
            }
        }));
    }

    /// Checks that the keychain answers; for an account, that its entry can be read.
    pub async fn probe_keychain(
        &self,
        account: Option<&AccountKey>,
    ) -> (KeychainStatus, Option<bool>) {
        let probe = account
            .map(EntryName::active)
            .unwrap_or_else(|| EntryName::active(&AccountKey::new("probe", "probe")));
        let backend = self.shared.keychain.backend();
        match self.shared.keychain.read(&probe).await {
            Ok(found) => (
                KeychainStatus {
                    backend,
                    available: true,
                    message: None,
                    code: None,
                },
                account.map(|_| found.is_some()),
            ),
            Err(e) => (keychain_down(backend, &e), None),
        }
    }

    /// The status of the account on `server` (or the current one), for `sessionctl
    /// status` and the app's `AppState`. Reads the keychain, never the network.
    pub async fn status(&self, server: Option<&str>) -> Result<Status> {
        let server = server.map(normalize_server_url).transpose()?;
        let c = self.shared.config.load()?;
        let record = c.pick(server.as_deref()).cloned();
        let key = record.as_ref().map(AccountRecord::key);
        let (keychain, has_entry) = self.probe_keychain(key.as_ref()).await;
        let session = match &key {
            Some(k) => self
                .shared
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(k)
                .cloned(),
            None => None,
        };
        let expires = match &session {
            Some(s) => s.access_token_expires_at().await,
            None => None,
        };
        let notice = self
            .shared
            .notice
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(Status {
            // Signed in = the config says so and the keychain still holds the credential
            // (or cannot be asked right now).
            signed_in: record.is_some() && has_entry != Some(false),
            server_url: record
                .as_ref()
                .map(|r| r.server.clone())
                .or(server)
                .or(c.last_server.clone()),
            email: record
                .as_ref()
                .map(|r| r.email.clone())
                .or(c.last_email.clone()),
            session_id: record.as_ref().map(|r| r.session_id),
            device_name: record.as_ref().map(|r| r.device_name.clone()),
            default_device_name: Self::default_device_name(),
            keychain,
            pending_revocations: c.pending_revocations.len(),
            pending: c.pending_revocations,
            online: session.as_ref().is_some_and(Session::is_online),
            signed_out_notice: notice,
            access_token_expires_at: expires,
        })
    }

    /// Forgets the "signed out from elsewhere" notice.
    pub fn dismiss_notice(&self) {
        *self.shared.notice.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn keychain_down(backend: String, e: &KeychainError) -> KeychainStatus {
    KeychainStatus {
        backend,
        available: false,
        message: Some(format!("{e}. {}", e.hint())),
        code: Some(e.code().to_string()),
    }
}
