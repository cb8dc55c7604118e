//! Shared by the client's integration tests: direct keychain reads (not through the
//! client), a counting proxy in front of the server, and a scan for token files.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use client::{Keychain, Options, SessionManager};

pub use testkit::keychain::{files_containing, require_secret_service};

/// Reads one of the client's keychain entries straight from the Secret Service.
pub fn keychain_entry(user: &str) -> Option<String> {
    testkit::keychain::read(client::SERVICE, user)
}

/// The keychain "user" of an account's usable credential (as the client names it).
pub fn active_user(server: &str, email: &str) -> String {
    client::EntryName::active(&client::AccountKey::new(server, email)).user()
}

pub fn pending_user(server: &str, email: &str, sid: proto::SessionId) -> String {
    client::EntryName::pending(&client::AccountKey::new(server, email), sid).user()
}

/// The keychain "user" of a wipe receipt waiting to be sent.
pub fn receipt_user(server: &str, email: &str, sid: proto::SessionId) -> String {
    client::EntryName::receipt(&client::AccountKey::new(server, email), sid).user()
}

/// A client as one device would run it: its own config dir, the real keychain.
pub struct Device {
    pub dir: tempfile::TempDir,
    pub manager: SessionManager,
}

impl Device {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let manager = Self::manager_in(dir.path());
        Self { dir, manager }
    }

    /// A fresh manager on the same config dir: the next start of the program.
    pub fn restart(&self) -> SessionManager {
        Self::manager_in(self.dir.path())
    }

    fn manager_in(dir: &Path) -> SessionManager {
        SessionManager::new(Options {
            config_dir: Some(dir.join("session-manager")),
            keychain: Some(Keychain::native()),
            app_version: Some("test".into()),
            ..Options::default()
        })
        .unwrap()
    }
}

/// A reverse proxy in front of the server that counts `/oauth/token` calls and
/// remembers every token it sees, and can refuse one access token with a 401. It can
/// also hold new event streams back (a device between two streams, for as long as a
/// test needs) and answer wipe receipts 503 (a server that cannot take them now).
#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    token_calls: AtomicUsize,
    refuse_bearer: Mutex<Option<String>>,
    seen_secrets: Mutex<Vec<String>>,
    first_access_token: Mutex<Option<String>>,
    /// The `Last-Event-ID` of every `/v1/events` request, in order (`None`: absent).
    event_requests: Mutex<Vec<Option<String>>>,
    hold_event_streams: std::sync::atomic::AtomicBool,
    refuse_receipts: std::sync::atomic::AtomicBool,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            token_calls: AtomicUsize::new(0),
            refuse_bearer: Mutex::new(None),
            seen_secrets: Mutex::new(Vec::new()),
            first_access_token: Mutex::new(None),
            event_requests: Mutex::new(Vec::new()),
            hold_event_streams: false.into(),
            refuse_receipts: false.into(),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Proxy { url, state }
    }

    /// How many `POST /oauth/token` requests reached the server.
    pub fn token_calls(&self) -> usize {
        self.state.token_calls.load(Ordering::SeqCst)
    }

    /// Every refresh and access token that went through, for the file scan.
    pub fn seen_secrets(&self) -> Vec<String> {
        self.state.seen_secrets.lock().unwrap().clone()
    }

    /// The `Last-Event-ID` header of every event-stream request so far, in order.
    pub fn event_requests(&self) -> Vec<Option<String>> {
        self.state.event_requests.lock().unwrap().clone()
    }

    /// While on, a new `/v1/events` request waits here (counted at once) instead of
    /// reaching the server.
    pub fn hold_event_streams(&self, on: bool) {
        self.state.hold_event_streams.store(on, Ordering::SeqCst);
    }

    /// While on, wipe receipts are answered 503, as by a server that cannot take them.
    pub fn refuse_receipts(&self, on: bool) {
        self.state.refuse_receipts.store(on, Ordering::SeqCst);
    }

    /// From now on, answer 401 `invalid_token` to requests bearing the access token of
    /// the first sign-in, as the server does for a token that is no longer accepted.
    pub fn refuse_first_access_token(&self) {
        let t = self.state.first_access_token.lock().unwrap().clone();
        *self.state.refuse_bearer.lock().unwrap() = t;
    }
}

/// How long the proxy holds token-endpoint answers and refusals.
const SLOW: std::time::Duration = std::time::Duration::from_millis(200);

async fn forward(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if parts.method == axum::http::Method::POST && parts.uri.path() == "/oauth/token" {
        st.token_calls.fetch_add(1, Ordering::SeqCst);
        // A slow token endpoint: every concurrent caller is surely waiting meanwhile.
        tokio::time::sleep(SLOW).await;
    }
    if parts.uri.path() == "/v1/events" {
        let last_event_id = parts
            .headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        st.event_requests.lock().unwrap().push(last_event_id);
        while st.hold_event_streams.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    if parts.uri.path().ends_with("/wipe-receipt") && st.refuse_receipts.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/json"), ("retry-after", "2")],
            r#"{"error":"temporarily_unavailable","error_description":"not now"}"#,
        )
            .into_response();
    }
    let bearer = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let refused = st.refuse_bearer.lock().unwrap().clone();
    if let (Some(b), Some(refused)) = (&bearer, refused)
        && *b == refused
    {
        // Answered late, so that every concurrent call holds the refused token first.
        tokio::time::sleep(SLOW).await;
        return (
            StatusCode::UNAUTHORIZED,
            [
                ("www-authenticate", "Bearer error=\"invalid_token\""),
                ("content-type", "application/json"),
            ],
            r#"{"error":"invalid_token","error_description":"token no longer accepted"}"#,
        )
            .into_response();
    }
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut rb = st
        .http
        .request(parts.method.clone(), format!("{}{}", st.upstream, path))
        .body(bytes.to_vec());
    for (k, v) in parts.headers.iter() {
        if k != "host" && k != "content-length" {
            rb = rb.header(k, v);
        }
    }
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = resp.status();
    let mut headers = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            headers.insert(k.clone(), v.clone());
        }
    }
    let is_stream = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if is_stream {
        let body = Body::from_stream(resp.bytes_stream());
        return (status, headers, body).into_response();
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        let mut seen = st.seen_secrets.lock().unwrap();
        for field in ["refresh_token", "access_token"] {
            if let Some(t) = v.get(field).and_then(|t| t.as_str()) {
                seen.push(t.to_string());
            }
        }
        if path == "/v1/sessions"
            && let Some(t) = v.get("access_token").and_then(|t| t.as_str())
        {
            st.first_access_token
                .lock()
                .unwrap()
                .get_or_insert_with(|| t.to_string());
        }
    }
    (status, headers, bytes).into_response()
}

/// Polls `cond` every 10 ms until it holds or `limit` passes; returns how long it took.
pub async fn within(
    limit: std::time::Duration,
    mut cond: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    cond().then(|| start.elapsed())
}

pub type Env = HashMap<String, String>;
