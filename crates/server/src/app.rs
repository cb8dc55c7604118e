//! What the server does, independent of HTTP: sign-in, refresh, revocation, the device
//! list. Handlers in `http` translate requests to these calls and results to responses.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use proto::activity::{ActivityEvent, ActivityKind, ActivityList};
use proto::introspection::IntrospectionResponse;
use proto::sessions::{RevocationReason, RevokeScope, SessionInfo, SessionList};
use proto::tokens::{Claims, SignInRequest, TokenResponse};
use proto::{Device, Jti, Password, SessionId, UserId};
use token::{Denylist, Expectations};
use tokio_util::sync::CancellationToken;

use crate::background::Background;
use crate::config::{ResourceServer, ServeArgs};
use crate::feed::{Feed, Hub};
use crate::keys::Keys;
use crate::password::{Hasher, password_problem};
use crate::ratelimit::FailureLimiter;
use crate::secrets;
use crate::store::{Actor, Refresh, RefreshParams, Store, StoreError, Which};
use crate::time::Millis;

/// Verification leeway for clock differences, in seconds.
pub const LEEWAY_SECS: i64 = 5;

/// Spent refresh tokens are remembered this long, to recognise their reuse.
const SPENT_TOKEN_RETENTION: Duration = Duration::from_secs(14 * 86_400);
const MAX_DEVICE_NAME_CHARS: usize = 100;
const MAX_DEVICE_FIELD_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    #[error("too many failed attempts")]
    TooManyAttempts(Duration),
    #[error("that email address is already registered")]
    EmailTaken,
    #[error("sign-up is closed on this server; ask its administrator for an account")]
    SignupDisabled,
    #[error("{0}")]
    WeakPassword(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("no such session")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => AppError::EmailTaken,
            other => AppError::Internal(other.to_string()),
        }
    }
}

type Result<T, E = AppError> = std::result::Result<T, E>;

/// Settings derived from the flags once the listening address is known.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: String,
    pub audience: String,
    pub open_signup: bool,
    pub access_ttl: Duration,
    pub refresh_idle_ttl: Duration,
    pub refresh_max_ttl: Duration,
    pub refresh_grace: Duration,
    pub resource_servers: Vec<ResourceServer>,
    pub trust_forwarded_for: bool,
    /// How long revocation entries are kept: the longest an access token can live.
    pub retain: Duration,
    /// How often the revocation stream says it is alive when nothing else happens.
    pub feed_heartbeat: Duration,
}

impl Settings {
    pub fn from_args(args: &ServeArgs, issuer: String) -> Self {
        Self {
            issuer,
            audience: args.audience.clone(),
            open_signup: args.open_signup,
            access_ttl: args.access_ttl,
            refresh_idle_ttl: args.refresh_idle_ttl,
            refresh_max_ttl: args.refresh_max_ttl,
            refresh_grace: args.refresh_grace,
            resource_servers: args.resource_servers.clone(),
            trust_forwarded_for: args.trust_forwarded_for,
            retain: args.revocation_retention(),
            feed_heartbeat: args.feed_heartbeat,
        }
    }
}

pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub keys: Keys,
    pub denylist: Arc<RwLock<Denylist>>,
    pub hub: Arc<Hub>,
    pub feed: Arc<Feed>,
    pub shutdown: CancellationToken,
    hasher: Hasher,
    account_failures: FailureLimiter,
    address_failures: FailureLimiter,
    expect: Expectations,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl App {
    pub async fn new(
        settings: Settings,
        args: &ServeArgs,
        store: Store,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let keys = Keys::load_or_create(&store, settings.access_ttl).await?;
        let denylist = Arc::new(RwLock::new(Denylist::new()));
        let hub = Arc::new(Hub::default());
        let feed = Feed::load(store.clone(), denylist.clone(), hub.clone()).await?;
        let expect = Expectations {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_secs: LEEWAY_SECS,
        };
        Ok(Arc::new(Self {
            account_failures: FailureLimiter::new(args.signin_account_limit, args.signin_window),
            address_failures: FailureLimiter::new(args.signin_address_limit, args.signin_window),
            settings,
            store,
            keys,
            denylist,
            hub,
            feed,
            shutdown,
            hasher: Hasher::new(),
            expect,
        }))
    }

    /// Background work: following the feed, reloading keys, pruning. Every task ends
    /// when the shutdown token is cancelled; the caller owns them.
    pub fn spawn_background(self: &Arc<Self>) -> Background {
        let mut tasks = Background::new(self.shutdown.clone());
        tasks.spawn(
            "feed follower",
            self.feed.clone().follow(self.shutdown.clone()),
        );
        let app = self.clone();
        tasks.spawn("key reloader", async move {
            let mut tick = tokio::time::interval(crate::keys::RELOAD_EVERY);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = app.shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                if let Err(e) = app.keys.reload(&app.store).await {
                    tracing::warn!(error = %e, "reloading signing keys failed");
                }
            }
        });
        let app = self.clone();
        tasks.spawn("pruner", async move {
            let mut tick = tokio::time::interval(Duration::from_secs(300));
            loop {
                tokio::select! {
                    _ = app.shutdown.cancelled() => return,
                    _ = tick.tick() => {}
                }
                app.prune().await;
            }
        });
        tasks
    }

    async fn prune(&self) {
        let now = Millis::now();
        match self.store.prune(now, SPENT_TOKEN_RETENTION).await {
            Ok((feed, tokens)) if feed + tokens > 0 => {
                tracing::info!(feed, tokens, "pruned entries that can no longer matter")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning failed"),
        }
        let dropped = self.deny_mut().prune(now.secs());
        if dropped > 0 {
            tracing::debug!(dropped, "denylist entries expired");
        }
        self.account_failures.prune(Instant::now());
        self.address_failures.prune(Instant::now());
    }

    fn deny(&self) -> std::sync::RwLockReadGuard<'_, Denylist> {
        self.denylist.read().unwrap_or_else(|p| p.into_inner())
    }

    fn deny_mut(&self) -> std::sync::RwLockWriteGuard<'_, Denylist> {
        self.denylist.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies what this request wrote to the feed before it answers: the denylist of
    /// this instance and its event streams are current when the caller hears back.
    async fn publish(&self) {
        if let Err(e) = self.feed.catch_up().await {
            // The write is committed; the follower's poll will deliver it shortly.
            tracing::warn!(error = %e, "publishing a feed entry failed; the follower will retry");
        }
    }

    // ----- accounts and sign-in ------------------------------------------------

    pub async fn create_account(&self, email: &str, password: &Password) -> Result<UserId> {
        if !self.settings.open_signup {
            return Err(AppError::SignupDisabled);
        }
        self.create_account_unchecked(email, password).await
    }

    /// Creates an account whatever the sign-up setting (the admin command).
    pub async fn create_account_unchecked(
        &self,
        email: &str,
        password: &Password,
    ) -> Result<UserId> {
        create_account(&self.store, &self.hasher, email, password).await
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
        let session = self
            .store
            .create_session(crate::store::NewSession {
                id: SessionId::new(),
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
            })
            .await?;
        self.publish().await;
        tracing::info!(user = %account.id, session = %session.id, "signed in");
        Ok(self.token_response(account.id, session.id, refresh, now))
    }

    fn token_response(
        &self,
        user: UserId,
        sid: SessionId,
        refresh: proto::RefreshToken,
        now: Millis,
    ) -> TokenResponse {
        let ttl = self.settings.access_ttl.as_secs() as i64;
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: user,
            sid,
            jti: Jti::new(),
            iat: now.secs(),
            exp: now.secs() + ttl,
        };
        TokenResponse {
            access_token: self.keys.current().current.sign(&claims),
            token_type: "Bearer".into(),
            expires_in: ttl as u64,
            refresh_token: refresh,
            session_id: sid,
        }
    }

    // ----- refresh -----------------------------------------------------------------

    pub async fn refresh(&self, presented: &str, ip: Option<IpAddr>) -> Result<TokenResponse> {
        const DEAD: &str = "The refresh token is invalid, expired or revoked; sign in again.";
        if !secrets::looks_like_refresh_token(presented) {
            return Err(AppError::InvalidGrant(DEAD));
        }
        let now = Millis::now();
        let successor = secrets::new_refresh_token();
        let sealed = secrets::seal_successor(presented, successor.expose());
        let ip_text = ip.map(|i| i.to_string());
        let outcome = self
            .store
            .refresh(RefreshParams {
                presented_hash: &secrets::hash_refresh_token(presented),
                successor_hash: &secrets::hash_refresh_token(successor.expose()),
                successor_sealed: &sealed,
                now,
                grace: self.settings.refresh_grace,
                idle_ttl: self.settings.refresh_idle_ttl,
                ip: ip_text.as_deref(),
                retain: self.settings.retain,
            })
            .await?;
        match outcome {
            Refresh::Rotated {
                session_id,
                user_id,
            } => Ok(self.token_response(user_id, session_id, successor, now)),
            Refresh::Retry { session, sealed } => {
                let same = secrets::open_successor(presented, &sealed)
                    .ok_or(AppError::InvalidGrant(DEAD))?;
                tracing::debug!(session = %session.id, "refresh retried within the grace window");
                Ok(self.token_response(session.user_id, session.id, same, now))
            }
            Refresh::Reuse(r) => {
                self.publish().await;
                tracing::warn!(user = %r.user_id, session = %r.session_id, "refresh token reuse: session revoked");
                Err(AppError::InvalidGrant(
                    "This refresh token was already used. The session has been signed out to protect the account.",
                ))
            }
            Refresh::Dead => Err(AppError::InvalidGrant(DEAD)),
        }
    }

    // ----- bearer tokens -------------------------------------------------------------

    /// Verifies an access token: signature, claims, and every revocation.
    pub fn authenticate(&self, token: &str) -> Result<Claims> {
        let keys = self.keys.current();
        let claims = token::verify(token, &keys.verify, &self.expect, Millis::now().secs())
            .map_err(|e| AppError::InvalidToken(e.to_string()))?;
        self.deny()
            .check(&claims)
            .map_err(|e| AppError::InvalidToken(e.to_string()))?;
        Ok(claims)
    }

    /// RFC 7009. Unknown and dead tokens are fine: the answer is the same.
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        let now = Millis::now();
        if secrets::looks_like_refresh_token(token) {
            let hash = secrets::hash_refresh_token(token);
            if let Some(info) = self.store.refresh_token_info(&hash, now).await?
                && info.session_live
            {
                let revoked = self
                    .store
                    .revoke_sessions(
                        info.user_id,
                        Which::One(info.session_id),
                        RevocationReason::Logout,
                        Actor {
                            session_id: Some(info.session_id),
                            ip: None,
                        },
                        None,
                        now,
                        self.settings.retain,
                    )
                    .await?;
                if !revoked.is_empty() {
                    self.publish().await;
                    tracing::info!(session = %info.session_id, "signed out by token revocation");
                }
            }
            return Ok(());
        }
        let keys = self.keys.current();
        // An expired token needs no revocation; one that does not verify is not ours.
        if let Ok(claims) = token::verify(token, &keys.verify, &self.expect, now.secs()) {
            self.store
                .revoke_jti(claims.sub, claims.jti, Millis(claims.exp * 1000), now)
                .await?;
            self.publish().await;
            tracing::info!(session = %claims.sid, "access token revoked");
        }
        Ok(())
    }

    /// RFC 7662.
    pub async fn introspect(&self, token: &str) -> Result<IntrospectionResponse> {
        let now = Millis::now();
        if secrets::looks_like_refresh_token(token) {
            let info = self
                .store
                .refresh_token_info(&secrets::hash_refresh_token(token), now)
                .await?;
            return Ok(match info {
                Some(i) if i.session_live && !i.spent => IntrospectionResponse {
                    active: true,
                    sub: Some(i.user_id),
                    sid: Some(i.session_id),
                    exp: Some(i.expires_at.secs()),
                    iat: Some(i.issued_at.secs()),
                    iss: Some(self.settings.issuer.clone()),
                    token_type: Some("refresh_token".into()),
                    ..Default::default()
                },
                _ => IntrospectionResponse::inactive(),
            });
        }
        Ok(match self.authenticate(token) {
            Ok(c) => IntrospectionResponse {
                active: true,
                sub: Some(c.sub),
                sid: Some(c.sid),
                jti: Some(c.jti),
                exp: Some(c.exp),
                iat: Some(c.iat),
                iss: Some(c.iss),
                aud: Some(c.aud),
                token_type: Some("access_token".into()),
            },
            Err(_) => IntrospectionResponse::inactive(),
        })
    }

    // ----- devices ---------------------------------------------------------------------

    pub async fn list_sessions(&self, caller: &Claims) -> Result<SessionList> {
        let mut sessions: Vec<SessionInfo> = self
            .store
            .live_sessions(caller.sub, Millis::now())
            .await?
            .into_iter()
            .map(|s| session_info(s, caller.sid))
            .collect();
        // The caller's own first; the store already ordered the rest by last_seen_at.
        if let Some(pos) = sessions.iter().position(|s| s.current) {
            let own = sessions.remove(pos);
            sessions.insert(0, own);
        }
        Ok(SessionList { sessions })
    }

    pub async fn rename_session(
        &self,
        caller: &Claims,
        id: SessionId,
        name: &str,
        ip: Option<IpAddr>,
    ) -> Result<SessionInfo> {
        let name = validate_name(name)?;
        let ip_text = ip.map(|i| i.to_string());
        let session = self
            .store
            .rename_session(
                caller.sub,
                id,
                &name,
                Actor {
                    session_id: Some(caller.sid),
                    ip: ip_text.as_deref(),
                },
                Millis::now(),
            )
            .await?
            .ok_or(AppError::NotFound)?;
        self.publish().await;
        Ok(session_info(session, caller.sid))
    }

    pub async fn delete_session(
        &self,
        caller: &Claims,
        id: SessionId,
        ip: Option<IpAddr>,
    ) -> Result<()> {
        let reason = if id == caller.sid {
            RevocationReason::Logout
        } else {
            RevocationReason::Revoked
        };
        let revoked = self
            .revoke(caller, Which::One(id), reason, None, ip)
            .await?;
        if revoked == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    pub async fn revoke_scope(
        &self,
        caller: &Claims,
        scope: RevokeScope,
        ip: Option<IpAddr>,
    ) -> Result<u64> {
        match scope {
            RevokeScope::Others => {
                self.revoke(
                    caller,
                    Which::AllBut(Some(caller.sid)),
                    RevocationReason::RevokedOthers,
                    None,
                    ip,
                )
                .await
            }
            RevokeScope::All => {
                let now = Millis::now();
                self.revoke(
                    caller,
                    Which::AllBut(None),
                    RevocationReason::SignedOutEverywhere,
                    Some(now),
                    ip,
                )
                .await
            }
        }
    }

    async fn revoke(
        &self,
        caller: &Claims,
        which: Which,
        reason: RevocationReason,
        not_before: Option<Millis>,
        ip: Option<IpAddr>,
    ) -> Result<u64> {
        let ip_text = ip.map(|i| i.to_string());
        let revoked = self
            .store
            .revoke_sessions(
                caller.sub,
                which,
                reason,
                Actor {
                    session_id: Some(caller.sid),
                    ip: ip_text.as_deref(),
                },
                not_before,
                not_before.unwrap_or_else(Millis::now),
                self.settings.retain,
            )
            .await?;
        if !revoked.is_empty() || not_before.is_some() {
            self.publish().await;
        }
        tracing::info!(user = %caller.sub, by = %caller.sid, reason = reason.as_str(), count = revoked.len(), "sessions revoked");
        Ok(revoked.len() as u64)
    }

    pub async fn activity(&self, caller: &Claims) -> Result<ActivityList> {
        let rows = self.store.activity(caller.sub, 200).await?;
        let events = rows
            .into_iter()
            .filter_map(|r| {
                Some(ActivityEvent {
                    at: Millis(r.at).to_datetime(),
                    kind: ActivityKind::parse(&r.kind)?,
                    session_id: r.session_id.and_then(|s| s.parse().ok()),
                    device: r.device.and_then(|d| serde_json::from_str(&d).ok()),
                    ip: r.ip,
                    by_session_id: r.by_session_id.and_then(|s| s.parse().ok()),
                    reason: r.reason.as_deref().and_then(RevocationReason::parse),
                })
            })
            .collect();
        Ok(ActivityList { events })
    }

    /// Resource-server Basic credentials, compared in constant time.
    pub fn resource_server_ok(&self, name: &str, secret: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let mut ok = subtle::Choice::from(0);
        for rs in &self.settings.resource_servers {
            let n = rs.name.as_bytes().ct_eq(name.as_bytes());
            let s = rs.secret.as_bytes().ct_eq(secret.as_bytes());
            ok |= n & s;
        }
        ok.into()
    }
}

/// Creates an account: validation, hashing and the insert (shared with the admin command).
pub async fn create_account(
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
    let hash = hasher
        .hash(password)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let id = UserId::new();
    store
        .create_account(id, &email, &hash, Millis::now())
        .await?;
    tracing::info!(user = %id, "account created");
    Ok(id)
}

fn session_info(s: crate::store::Session, caller: SessionId) -> SessionInfo {
    SessionInfo {
        current: s.id == caller,
        id: s.id,
        device: s.device,
        created_at: s.created_at.to_datetime(),
        last_seen_at: s.last_seen_at.to_datetime(),
        last_ip: s.last_ip,
    }
}

/// Trimmed and lower-cased, if it looks like an address at all.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let valid = e.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    valid.then_some(e)
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::Invalid(
            "The device name must not be empty.".into(),
        ));
    }
    if name.chars().count() > MAX_DEVICE_NAME_CHARS {
        return Err(AppError::Invalid(format!(
            "The device name must be at most {MAX_DEVICE_NAME_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "The device name must not contain control characters.".into(),
        ));
    }
    Ok(name.to_owned())
}

fn validate_device(d: Device) -> Result<Device> {
    let name = validate_name(&d.name)?;
    for (field, value) in [
        ("platform", &d.platform),
        ("os_version", &d.os_version),
        ("app_version", &d.app_version),
    ] {
        if value.chars().count() > MAX_DEVICE_FIELD_CHARS || value.chars().any(char::is_control) {
            return Err(AppError::Invalid(format!(
                "device.{field} must be at most {MAX_DEVICE_FIELD_CHARS} printable characters."
            )));
        }
    }
    Ok(Device {
        name,
        platform: d.platform.trim().to_owned(),
        os_version: d.os_version.trim().to_owned(),
        app_version: d.app_version.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalize_email("  Ann@Example.COM "),
            Some("ann@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "a b@example.com",
            "ann@@x",
            "ann@.x",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn device_names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  Work laptop ").unwrap(), "Work laptop");
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(101)).is_err());
        assert!(validate_name("bell\u{7}").is_err());
        assert!(validate_name("Łukasz's 📱").is_ok());
    }
}
