//! What the server does, free of HTTP: every rule lives here. Handlers in `http` and the
//! admin commands translate to these calls; the store below only stores and returns
//! facts.
//!
//! By job: [`accounts`] (sign-up, sign-in and its limits), [`refresh`] (rotation,
//! retry or reuse, token revocation, introspection), [`devices`] (the device list,
//! renames, sign-outs, activity), [`streams`] (what event and revocation streams read),
//! [`admin`] (the operator's commands), [`validate`] (what input is acceptable).

mod account;
mod accounts;
mod admin;
mod devices;
mod refresh;
mod streams;
mod two_step;
mod validate;
mod web;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use proto::discovery::{JwkSet, ServerMetadata};
use proto::tokens::{Claims, TokenResponse};
use proto::{Jti, SessionId, UserId};
use token::{Denylist, Expectations};
use tokio_util::sync::CancellationToken;

pub use admin::{Admin, KeyInfo, SessionReport};
pub use validate::normalize_email;
pub use web::{WebLogin, WebNotice};

use crate::background::Background;
use crate::config::{ResourceServer, ServeArgs};
use crate::feed::{Feed, Hub};
use crate::keys::{Keys, KeysError};
use crate::password::{HashError, Hasher};
use crate::ratelimit::Limiter;
use crate::seal::Sealer;
use crate::store::{Store, StoreError};
use crate::time::Millis;

/// Verification leeway for clock differences, in seconds.
pub const LEEWAY_SECS: i64 = 5;
/// Revocation entries are kept this much longer than the longest an access token can
/// be accepted (its lifetime and the leeway): slack for clocks and slow followers.
pub const RETENTION_MARGIN: Duration = Duration::from_secs(60);
/// Spent refresh tokens are remembered this long, to recognise their reuse.
const SPENT_TOKEN_RETENTION: Duration = Duration::from_secs(14 * 86_400);
/// Device-stream events that are not revocations are kept this long, for streams that
/// resume with `Last-Event-ID`.
const EVENT_RETENTION: Duration = Duration::from_secs(3600);
/// The feed counts as current while a catch-up succeeded this recently (followers
/// catch up at least every `POSTGRES_POLL`) and notifications arrive.
pub(crate) const FEED_CURRENT_WITHIN: Duration =
    Duration::from_secs(3 * crate::feed::POSTGRES_POLL.as_secs());
/// How often entries that can no longer matter are pruned (feed, spent tokens,
/// denylist, rate-limit windows).
const PRUNE_EVERY: Duration = Duration::from_secs(300);

/// How long `/readyz` waits for the database.
pub const READY_DATABASE_TIMEOUT: Duration = Duration::from_secs(1);

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Readiness {
    /// The database answered a query in time.
    pub database: bool,
    /// The feed follower has applied everything committed until a few seconds ago.
    pub feed_current: bool,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database && self.feed_current
    }
}

/// Why an access token is refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenRejection {
    #[error(transparent)]
    Invalid(#[from] token::TokenError),
    #[error(transparent)]
    Revoked(#[from] token::Revoked),
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    /// The account's own password, asked again for a sensitive change, is wrong.
    #[error("the password is wrong")]
    WrongPassword,
    /// The password was right; the account has two-step sign-in.
    #[error("a two-step code is needed")]
    MfaRequired {
        challenge: proto::SecretText,
        expires_in: Duration,
    },
    /// A wrong, reused or malformed two-step or recovery code.
    #[error("the code is wrong or was already used")]
    InvalidCode,
    /// A wrong code to confirm or turn off two-step sign-in (the request is otherwise
    /// fine: 422).
    #[error("the code is wrong or was already used")]
    WrongCode,
    /// An unknown, expired or used sign-in challenge.
    #[error("the sign-in challenge is unknown, expired or already used")]
    InvalidChallenge,
    #[error("too many failed attempts")]
    TooManyAttempts(Duration),
    /// The server is at capacity for this kind of work (password hashing): try again soon.
    #[error("the server is busy")]
    Busy(Duration),
    #[error("that email address is already registered")]
    EmailTaken,
    #[error("sign-up is closed on this server; ask its administrator for an account")]
    SignupDisabled,
    #[error("{0}")]
    WeakPassword(&'static str),
    /// Well-formed input that is not acceptable; the text is for people and never
    /// quotes what was sent.
    #[error("{0}")]
    Invalid(String),
    /// A well-formed request the account's present state does not allow (409); the
    /// text says what to do first.
    #[error("{0}")]
    Conflict(&'static str),
    /// Text people will read contains a character that would mislead them.
    #[error("{field} contains an invisible or direction-changing character (U+{code_point:04X})")]
    Deceptive {
        field: &'static str,
        code_point: u32,
    },
    #[error(transparent)]
    InvalidToken(#[from] TokenRejection),
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("no such session")]
    NotFound,
    /// A resource server's credentials are missing or wrong.
    #[error("resource-server credentials are missing or wrong")]
    InvalidClient,
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hash(HashError),
    #[error("signing keys failed")]
    Keys(#[from] KeysError),
    #[error("a sealed secret cannot be opened")]
    Sealed(#[source] crate::seal::SealError),
}

/// How long a client should wait when every hasher is busy.
const BUSY_RETRY: Duration = Duration::from_secs(2);

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AppError::Busy(BUSY_RETRY),
            other => AppError::Hash(other),
        }
    }
}

impl AppError {
    /// Whether this is the server's fault (logged, answered as a 500) rather than the
    /// request's.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::Hash(_) | Self::Keys(_) | Self::Sealed(_)
        )
    }

    /// Whether the database is unreachable (or did not answer in time): temporary, and
    /// nothing was committed that the caller is told about.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Store(e) | Self::Keys(KeysError::Store(e)) => e.is_unavailable(),
            _ => false,
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
    pub resource_servers: Vec<ResourceServer>,
    pub trust_forwarded_for: bool,
    /// How long revocation entries are kept: the longest an access token can live.
    pub retain: Duration,
    /// How often the revocation stream says it is alive when nothing else happens.
    pub feed_heartbeat: Duration,
    pub signin_account_address_limit: u32,
    pub signin_account_limit: u32,
    pub signin_address_limit: u32,
    pub signin_window: Duration,
    pub signup_address_limit: u32,
    pub failure_address_limit: u32,
    pub hash_concurrency: Option<usize>,
    /// The account page (`/account`): served at all, and its sessions' lifetimes.
    pub web: bool,
    pub web_idle_ttl: Duration,
    pub web_max_ttl: Duration,
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
            resource_servers: args.resource_servers.clone(),
            trust_forwarded_for: args.trust_forwarded_for,
            retain: revocation_retention(args.access_ttl),
            feed_heartbeat: args.feed_heartbeat,
            signin_account_address_limit: args.signin_account_address_limit,
            signin_account_limit: args.signin_account_limit,
            signin_address_limit: args.signin_address_limit,
            signin_window: args.signin_window,
            signup_address_limit: args.signup_address_limit,
            failure_address_limit: args.failure_address_limit,
            hash_concurrency: args.hash_concurrency,
            web: !args.no_web,
            web_idle_ttl: args.web_idle_ttl,
            web_max_ttl: args.web_max_ttl,
        }
    }
}

/// The longest a signed access token can be accepted (its lifetime, the verification
/// leeway) plus a margin: how long revocation entries must be kept.
pub fn revocation_retention(access_ttl: Duration) -> Duration {
    access_ttl + Duration::from_secs(LEEWAY_SECS.unsigned_abs()) + RETENTION_MARGIN
}

pub struct App {
    /// This process, as it claims its access-token lifetime in the database.
    instance: String,
    /// Seals two-step secrets at rest (and opens them).
    sealer: Sealer,
    settings: Settings,
    store: Store,
    keys: Keys,
    denylist: Arc<RwLock<Denylist>>,
    hub: Arc<Hub>,
    feed: Arc<Feed>,
    shutdown: CancellationToken,
    hasher: Hasher,
    limits: Limits,
    expect: Expectations,
}

/// Every attempt limit of the server (see docs/API.md, "Limits").
#[derive(Debug)]
struct Limits {
    /// Failed sign-ins per (account, address): strict.
    signin_pair: Limiter,
    /// Failed sign-ins per account, all addresses: a high ceiling.
    signin_account: Limiter,
    /// Failed sign-ins per address, all accounts.
    signin_address: Limiter,
    /// Sign-ups per address.
    signup_address: Limiter,
    /// Failed refreshes and failed resource-server authentications per address.
    failures_address: Limiter,
    /// Wrong two-step codes per (account, address), and per account.
    two_step_pair: Limiter,
    two_step_account: Limiter,
}

/// Wrong two-step codes tolerated per (account, address), and per account, in the
/// sign-in window. A 6-digit code has a million values: at these rates a guesser needs
/// years, and the owner's own typos are forgiven.
const TWO_STEP_PAIR_LIMIT: u32 = 5;
const TWO_STEP_ACCOUNT_LIMIT: u32 = 20;

/// Sign-ups are counted per hour.
const SIGNUP_WINDOW: Duration = Duration::from_secs(3600);

impl Limits {
    fn new(s: &Settings) -> Self {
        Self {
            signin_pair: Limiter::new(s.signin_account_address_limit, s.signin_window),
            signin_account: Limiter::new(s.signin_account_limit, s.signin_window),
            signin_address: Limiter::new(s.signin_address_limit, s.signin_window),
            signup_address: Limiter::new(s.signup_address_limit, SIGNUP_WINDOW),
            failures_address: Limiter::new(s.failure_address_limit, s.signin_window),
            two_step_pair: Limiter::new(TWO_STEP_PAIR_LIMIT, s.signin_window),
            two_step_account: Limiter::new(TWO_STEP_ACCOUNT_LIMIT, s.signin_window),
        }
    }

    fn prune(&self, now: Instant) {
        for l in [
            &self.signin_pair,
            &self.signin_account,
            &self.signin_address,
            &self.signup_address,
            &self.failures_address,
            &self.two_step_pair,
            &self.two_step_account,
        ] {
            l.prune(now);
        }
    }
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
        sealer: Sealer,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>> {
        let keys = Keys::load_or_create(&store, sealer.clone(), settings.access_ttl).await?;
        let denylist = Arc::new(RwLock::new(Denylist::with_leeway(LEEWAY_SECS)));
        let hub = Arc::new(Hub::default());
        let feed = Feed::load(store.clone(), keys.clone(), denylist.clone(), hub.clone()).await?;
        let instance = uuid::Uuid::now_v7().to_string();
        store
            .claim_access_ttl(&instance, settings.access_ttl, Millis::now())
            .await?;
        let expect = Expectations {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_secs: LEEWAY_SECS,
            // Tokens are issued with this lifetime; one that claims longer could outlive
            // the revocation entries, which are kept only that long.
            max_lifetime_secs: Some(settings.access_ttl.as_secs().try_into().unwrap_or(i64::MAX)),
        };
        let hasher = match settings.hash_concurrency {
            Some(n) => Hasher::with_concurrency(n),
            None => Hasher::new(),
        };
        Ok(Arc::new(Self {
            instance,
            sealer,
            limits: Limits::new(&settings),
            hasher,
            settings,
            store,
            keys,
            denylist,
            hub,
            feed,
            shutdown,
            expect,
        }))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Cancelled when the server stops: long-lived responses (event streams) end on it.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
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
            let mut tick = tokio::time::interval(PRUNE_EVERY);
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
        match self.store.prune_feed(now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(feed = n, "pruned feed entries that can no longer matter"),
            Err(e) => tracing::warn!(error = %e, "pruning the feed failed"),
        }
        if let Err(e) = self.store.prune_challenges(now).await {
            tracing::warn!(error = %e, "pruning sign-in challenges failed");
        }
        match self
            .store
            .prune_spent_tokens(now.minus(SPENT_TOKEN_RETENTION))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(tokens = n, "pruned long-spent refresh tokens"),
            Err(e) => tracing::warn!(error = %e, "pruning spent refresh tokens failed"),
        }
        let dropped = self.deny_mut().prune(now.secs());
        if dropped > 0 {
            tracing::debug!(dropped, "denylist entries expired");
        }
        self.limits.prune(Instant::now());
        // Still running: renew this instance's claim on the access-token lifetime.
        if let Err(e) = self
            .store
            .claim_access_ttl(&self.instance, self.settings.access_ttl, now)
            .await
        {
            tracing::warn!(error = %e, "renewing the access-token lifetime claim failed");
        }
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

    /// When feed entries written now stop mattering: every token they can stop has
    /// expired by then.
    fn revocation_expiry(&self, now: Millis) -> Millis {
        now.plus(self.settings.retain)
    }

    fn event_expiry(&self, now: Millis) -> Millis {
        now.plus(EVENT_RETENTION)
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

    // ----- bearer tokens and resource servers -------------------------------------

    /// Verifies an access token: signature, claims, and every revocation.
    pub fn authenticate(&self, token: &str) -> Result<Claims> {
        let keys = self.keys.current();
        let claims = token::verify(token, &keys.verify, &self.expect, Millis::now().secs())
            .map_err(TokenRejection::from)?;
        self.deny().check(&claims).map_err(TokenRejection::from)?;
        Ok(claims)
    }

    /// Whether this instance has applied everything committed to the feed until a few
    /// seconds ago (what a revocation-stream heartbeat vouches for).
    pub fn feed_is_current(&self) -> bool {
        self.feed.is_current(FEED_CURRENT_WITHIN)
    }

    /// Whether an access token that verified earlier has been revoked since.
    pub fn is_revoked(&self, claims: &Claims) -> bool {
        self.deny().check(claims).is_err()
    }

    /// Authenticates a resource server (introspection, the revocation feed) by its
    /// Basic credentials, compared in constant time. An address that keeps failing is
    /// throttled, whatever it sends next.
    pub fn authenticate_resource_server(
        &self,
        credentials: Option<(&str, &str)>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<()> {
        use subtle::ConstantTimeEq as _;
        let address = ip.map(crate::ratelimit::address_key);
        if let Some(a) = &address {
            self.limits
                .failures_address
                .check(a, Instant::now())
                .inspect_err(|_| crate::metrics::throttled(crate::metrics::Limit::FailuresAddress))
                .map_err(AppError::TooManyAttempts)?;
        }
        let mut ok = subtle::Choice::from(0);
        if let Some((name, secret)) = credentials {
            for rs in &self.settings.resource_servers {
                let n = rs.name.as_bytes().ct_eq(name.as_bytes());
                let s = rs.secret.as_bytes().ct_eq(secret.as_bytes());
                ok |= n & s;
            }
        }
        if bool::from(ok) {
            return Ok(());
        }
        if let Some(a) = &address {
            self.limits.failures_address.record(a, Instant::now());
        }
        Err(AppError::InvalidClient)
    }

    // ----- discovery and health ----------------------------------------------------

    /// RFC 8414 metadata: every URL from the issuer.
    pub fn metadata(&self) -> ServerMetadata {
        let base = self.settings.issuer.trim_end_matches('/');
        ServerMetadata {
            issuer: self.settings.issuer.clone(),
            token_endpoint: format!("{base}/oauth/token"),
            revocation_endpoint: format!("{base}/oauth/revoke"),
            introspection_endpoint: format!("{base}/oauth/introspect"),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
            grant_types_supported: vec!["refresh_token".into()],
            response_types_supported: vec![],
            token_endpoint_auth_methods_supported: vec!["none".into()],
            revocation_endpoint_auth_methods_supported: vec!["none".into()],
            introspection_endpoint_auth_methods_supported: vec!["client_secret_basic".into()],
            token_endpoint_auth_signing_alg_values_supported: vec![],
            openapi_uri: Some(format!("{base}/openapi.json")),
            access_token_audience: Some(self.settings.audience.clone()),
            access_token_lifetime: Some(self.settings.access_ttl.as_secs()),
        }
    }

    /// The public keys that verify access tokens.
    pub fn jwks(&self) -> JwkSet {
        self.keys.current().jwks.clone()
    }

    /// Whether this instance can serve: the feed follower is current and the database
    /// answers within [`READY_DATABASE_TIMEOUT`]. Never waits longer than that.
    pub async fn readiness(&self) -> Readiness {
        let feed_current = self.feed_is_current();
        self.feed.report_state();
        let database = match tokio::time::timeout(READY_DATABASE_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %crate::http::error_chain(&e), "readiness: the database does not answer");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: the database did not answer in time");
                false
            }
        };
        Readiness {
            database,
            feed_current,
        }
    }
}
