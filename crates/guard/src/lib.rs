//! The guard: what a Rust HTTP service adds to accept Session Manager access tokens and
//! to refuse revoked ones at once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! use guard::{Guard, GuardConfig, GuardedClaims};
//!
//! let guard = Guard::start(GuardConfig::new("https://sessions.example.com", "api", "secret")).await?;
//! let app: Router = Router::new()
//!     .route("/me", get(|GuardedClaims(c): GuardedClaims| async move { c.sub.to_string() }))
//!     .layer(guard.layer());
//! # Ok(()) }
//! ```
//!
//! How it works:
//! - Access tokens are verified against the server's JWKS (fetched at start, refetched
//!   when a token names an unknown `kid`, at most once per `jwks_refetch_interval`).
//! - A token seen before costs a cache lookup, not a signature check. Revocation is
//!   checked on every request all the same.
//! - Revocations (session, token, account not-before) come from the server's revocation
//!   stream (`/v1/revocations/stream`), resumed from the last cursor after a disconnect.
//! - When the stream has been silent longer than `max_feed_silence` (the server sends a
//!   heartbeat every few seconds), the guard fails closed: 503, because it can no longer
//!   know what has been revoked.
//! - Metrics go through the `metrics` facade (`session_guard_*`: feed silence and
//!   connection, cache hits and misses, refusals by reason); the embedding service
//!   installs the recorder (e.g. `metrics-exporter-prometheus`) before starting the guard.

mod cache;
mod feed;
mod layer;
mod metrics;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proto::discovery::{JwkSet, ServerMetadata};
use proto::tokens::Claims;
use token::{Denylist, Expectations, KeySet, TokenError};
use tokio_util::sync::CancellationToken;

pub use layer::{GuardLayer, GuardService, GuardedClaims};
pub use token::Revoked;

/// How a guard finds and trusts its session server.
#[derive(Clone)]
pub struct GuardConfig {
    /// The session server's base URL (discovery is read from it).
    pub server: String,
    /// The resource server's credentials (`--resource-server NAME:SECRET` on the server).
    pub client_id: String,
    pub client_secret: String,
    /// The `aud` tokens must carry. Defaults to what the server's discovery announces.
    pub audience: Option<String>,
    /// Longest tolerated silence of the revocation stream before failing closed.
    pub max_feed_silence: Duration,
    /// Minimum time between two JWKS fetches caused by unknown key ids.
    pub jwks_refetch_interval: Duration,
    /// How often the JWKS is refetched anyway, dropping keys that left it.
    pub jwks_refresh_interval: Duration,
    /// Clock leeway for `exp`/`iat`, in seconds.
    pub leeway_secs: i64,
    /// Verified tokens kept in the cache.
    pub cache_capacity: usize,
    /// A PEM file of CA certificates to trust besides the built-in roots, for a session
    /// server whose certificate comes from a private CA.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for GuardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardConfig")
            .field("server", &self.server)
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("max_feed_silence", &self.max_feed_silence)
            .finish_non_exhaustive()
    }
}

impl GuardConfig {
    pub fn new(
        server: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            server: server.into().trim_end_matches('/').to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            audience: None,
            max_feed_silence: Duration::from_secs(30),
            jwks_refetch_interval: Duration::from_secs(10),
            jwks_refresh_interval: Duration::from_secs(60),
            leeway_secs: 5,
            cache_capacity: 100_000,
            ca_file: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("cannot reach the session server at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the session server at {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("the session server's {what} could not be read: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("the CA file {path} cannot be used: {reason}")]
    CaFile { path: String, reason: String },
    #[error("the revocation feed did not catch up within {0:?}")]
    FeedTimeout(Duration),
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("no bearer token")]
    Missing,
    #[error("{0}")]
    Invalid(TokenError),
    #[error("{0}")]
    Revoked(Revoked),
    #[error("the revocation feed is stale, so tokens cannot be trusted now")]
    FeedStale,
}

pub(crate) struct Inner {
    pub(crate) config: GuardConfig,
    pub(crate) http: reqwest::Client,
    expect: Expectations,
    keys: RwLock<Arc<KeySet>>,
    /// Bumped whenever keys are dropped, so a token verified with a dropped key just
    /// before is not cached after the cache was cleared.
    key_generation: std::sync::atomic::AtomicU64,
    jwks_url: String,
    /// When an unknown kid last caused a JWKS fetch (rate limit).
    last_jwks_fetch: tokio::sync::Mutex<Option<Instant>>,
    pub(crate) denylist: RwLock<Denylist>,
    pub(crate) cache: cache::TokenCache,
    /// Milliseconds since `epoch` when the feed was last heard from.
    pub(crate) last_heard_ms: AtomicI64,
    pub(crate) connected: AtomicBool,
    pub(crate) cursor: AtomicI64,
    pub(crate) epoch: Instant,
    pub(crate) shutdown: CancellationToken,
    /// Wakes waiters when a heartbeat says the feed is caught up (start).
    pub(crate) caught_up: tokio::sync::Notify,
    pub(crate) metrics: metrics::GuardMetrics,
    /// Wakes waiters whenever a revocation has been applied (`wait_for_cursor`).
    pub(crate) applied: tokio::sync::Notify,
}

/// A running guard. Cheap to clone; all clones share the state.
#[derive(Clone)]
pub struct Guard {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("server", &self.inner.config.server)
            .field("status", &self.status())
            .finish()
    }
}

/// The state of the revocation feed, for health endpoints and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    pub connected: bool,
    /// The last revocation applied (resume point).
    pub cursor: i64,
    /// Time since the feed was last heard from.
    pub silent_for: Duration,
}

fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Guard {
    /// Reads discovery and the keys, connects to the revocation stream and waits until
    /// it has caught up (at most `max_feed_silence`).
    pub async fn start(config: GuardConfig) -> Result<Guard, GuardError> {
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(proto::CLIENT_POOL_IDLE);
        if let Some(path) = &config.ca_file {
            let bad = |reason: String| GuardError::CaFile {
                path: path.display().to_string(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("it holds no PEM certificate".into()));
            }
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().map_err(|e| GuardError::Unreachable {
            url: config.server.clone(),
            reason: e.to_string(),
        })?;
        let metadata: ServerMetadata = get_json(
            &http,
            &format!("{}/.well-known/oauth-authorization-server", config.server),
            "discovery",
        )
        .await?;
        // The keys from the configured address, not discovery's jwks_uri: a guard often
        // reaches the server by an internal address while the issuer names the public one.
        let jwks_url = format!("{}/.well-known/jwks.json", config.server);
        let jwks: JwkSet = get_json(&http, &jwks_url, "JWKS").await?;
        let audience = config
            .audience
            .clone()
            .or_else(|| metadata.access_token_audience.clone())
            .unwrap_or_else(|| "session-manager".to_owned());
        let expect = Expectations {
            issuer: metadata.issuer.clone(),
            audience,
            leeway_secs: config.leeway_secs,
            // The server keeps revocations only as long as its tokens live: a token
            // claiming a longer life could outlive them.
            max_lifetime_secs: metadata
                .access_token_lifetime
                .and_then(|s| i64::try_from(s).ok()),
        };
        let wait = config.max_feed_silence;
        let leeway = config.leeway_secs;
        let inner = Arc::new(Inner {
            cache: cache::TokenCache::new(config.cache_capacity),
            config,
            http,
            expect,
            keys: RwLock::new(Arc::new(KeySet::from_jwks(&jwks))),
            key_generation: std::sync::atomic::AtomicU64::new(0),
            jwks_url,
            // The first unknown kid may refetch at once; later ones wait their turn.
            last_jwks_fetch: tokio::sync::Mutex::new(None),
            denylist: RwLock::new(Denylist::with_leeway(leeway)),
            last_heard_ms: AtomicI64::new(i64::MIN / 2),
            connected: AtomicBool::new(false),
            cursor: AtomicI64::new(0),
            epoch: Instant::now(),
            shutdown: CancellationToken::new(),
            caught_up: tokio::sync::Notify::new(),
            metrics: metrics::GuardMetrics::new(),
            applied: tokio::sync::Notify::new(),
        });
        let guard = Guard { inner };
        let caught_up = guard.inner.caught_up.notified();
        tokio::spawn(feed::follow(guard.inner.clone()));
        tokio::spawn(feed::prune(guard.inner.clone()));
        tokio::spawn(feed::refresh_keys(guard.inner.clone()));
        tokio::spawn(feed::report(guard.inner.clone()));
        tokio::select! {
            _ = caught_up => {}
            _ = tokio::time::sleep(wait) => {
                guard.stop();
                return Err(GuardError::FeedTimeout(wait));
            }
        }
        tracing::info!(server = %guard.inner.config.server, cursor = guard.status().cursor, "guard ready");
        Ok(guard)
    }

    /// Stops following the feed (the guard then fails closed once the bound passes).
    pub fn stop(&self) {
        self.inner.shutdown.cancel();
    }

    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }

    pub fn status(&self) -> FeedStatus {
        let heard = self.inner.last_heard_ms.load(Ordering::Acquire);
        let now = self.inner.now_ms();
        FeedStatus {
            connected: self.inner.connected.load(Ordering::Acquire),
            cursor: self.inner.cursor.load(Ordering::Acquire),
            silent_for: Duration::from_millis(now.saturating_sub(heard).max(0) as u64),
        }
    }

    /// Entries in the denylist, by kind.
    pub fn denylist_stats(&self) -> token::DenylistStats {
        self.inner.deny().stats()
    }

    /// Decides on a bearer token: the whole check the layer runs on every request.
    pub async fn authorize(&self, token: &str) -> Result<Arc<Claims>, Denied> {
        let decision = match self.decide(token) {
            Err(Denied::Invalid(TokenError::UnknownKey { .. })) => {
                // Perhaps the server rotated its key: refresh the JWKS (rate-limited).
                if self.inner.refetch_jwks().await {
                    self.decide(token)
                } else {
                    Err(Denied::Invalid(TokenError::UnknownKey {
                        kid: String::new(),
                    }))
                }
            }
            other => other,
        };
        if let Err(denied) = &decision {
            self.inner.metrics.refused(denied);
        }
        decision
    }

    /// The synchronous part of [`Guard::authorize`]: no I/O.
    pub fn authorize_now(&self, token: &str) -> Result<Arc<Claims>, Denied> {
        let decision = self.decide(token);
        if let Err(denied) = &decision {
            self.inner.metrics.refused(denied);
        }
        decision
    }

    /// The decision, not yet counted in the refusal metrics (the caller counts the final
    /// one: an unknown key may still be accepted after a JWKS refetch).
    pub(crate) fn decide(&self, token: &str) -> Result<Arc<Claims>, Denied> {
        let inner = &*self.inner;
        if token.is_empty() {
            return Err(Denied::Missing);
        }
        if inner.is_stale() {
            return Err(Denied::FeedStale);
        }
        let now = unix_secs();
        let claims = match inner.cache.get(token) {
            // A cached token was verified before; only time can have changed.
            Some(c) if c.exp.saturating_add(inner.expect.leeway_secs) > now => {
                inner.metrics.cache_hit.increment(1);
                c
            }
            Some(_) => return Err(Denied::Invalid(TokenError::Expired)),
            None => {
                inner.metrics.cache_miss.increment(1);
                let generation = inner.key_generation.load(Ordering::Acquire);
                let keys = inner.keys();
                let claims = Arc::new(
                    token::verify(token, &keys, &inner.expect, now).map_err(Denied::Invalid)?,
                );
                inner.cache.insert_if(token, claims.clone(), now, || {
                    inner.key_generation.load(Ordering::Acquire) == generation
                });
                claims
            }
        };
        inner.deny().check(&claims).map_err(Denied::Revoked)?;
        Ok(claims)
    }

    /// Waits until the feed has applied everything up to `cursor` (tests, tools).
    pub async fn wait_for_cursor(&self, cursor: i64, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inner.applied.notified();
            if self.inner.cursor.load(Ordering::Acquire) >= cursor {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.inner.cursor.load(Ordering::Acquire) >= cursor;
            }
        }
    }
}

impl Inner {
    pub(crate) fn now_ms(&self) -> i64 {
        self.epoch.elapsed().as_millis() as i64
    }

    pub(crate) fn heard(&self) {
        self.last_heard_ms.store(self.now_ms(), Ordering::Release);
    }

    fn is_stale(&self) -> bool {
        let silence = self.now_ms() - self.last_heard_ms.load(Ordering::Acquire);
        silence > self.config.max_feed_silence.as_millis() as i64
    }

    pub(crate) fn deny(&self) -> std::sync::RwLockReadGuard<'_, Denylist> {
        self.denylist.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn deny_mut(&self) -> std::sync::RwLockWriteGuard<'_, Denylist> {
        self.denylist.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Refetches the JWKS unless that happened within the refetch interval. Returns
    /// whether the key set changed.
    async fn refetch_jwks(&self) -> bool {
        {
            let mut last = self.last_jwks_fetch.lock().await;
            if last.is_some_and(|t| t.elapsed() < self.config.jwks_refetch_interval) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.fetch_jwks().await
    }

    /// Fetches the JWKS and makes it the key set: keys that left it stop verifying.
    /// Returns whether the key set changed.
    pub(crate) async fn fetch_jwks(&self) -> bool {
        match get_json::<JwkSet>(&self.http, &self.jwks_url, "JWKS").await {
            Ok(jwks) => {
                let fresh = KeySet::from_jwks(&jwks);
                self.replace_keys(fresh)
            }
            Err(e) => {
                tracing::warn!(error = %e, "refetching the signing keys failed");
                false
            }
        }
    }

    /// A key removed as compromised (from the revocation feed): refused from now on.
    pub(crate) fn remove_key(&self, kid: &str) {
        let current = self.keys();
        let mut jwks = current.to_jwks();
        jwks.keys.retain(|k| k.kid != kid);
        if self.replace_keys(KeySet::from_jwks(&jwks)) {
            tracing::warn!(
                kid,
                "a signing key was removed as compromised; its tokens are refused"
            );
        }
    }

    fn keys(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn replace_keys(&self, fresh: KeySet) -> bool {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        let old = keys.to_jwks();
        let new = fresh.to_jwks();
        if old == new {
            return false;
        }
        let dropped = old.keys.iter().any(|k| !new.keys.contains(k));
        *keys = Arc::new(fresh);
        drop(keys);
        if dropped {
            // Tokens verified with a key that is gone must be verified again (and fail).
            self.key_generation.fetch_add(1, Ordering::AcqRel);
            self.cache.clear();
        }
        tracing::info!(keys = new.keys.len(), "signing keys changed");
        true
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &'static str,
) -> Result<T, GuardError> {
    let r = http
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| GuardError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    if !r.status().is_success() {
        return Err(GuardError::Status {
            url: url.to_owned(),
            status: r.status().as_u16(),
        });
    }
    r.json().await.map_err(|e| GuardError::Malformed {
        what,
        reason: e.to_string(),
    })
}
