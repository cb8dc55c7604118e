//! The harness: a real server per test (testkit's, in this process unless a test needs
//! a process of its own), devices that sign in over HTTP, an SSE reader, and a record of
//! every secret a test handled so its logs can be searched for them.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt as _;
use proto::SessionId;
use proto::tokens::TokenResponse;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
pub use testkit::Backend;
use testkit::{Options, TestServer};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Ctx {
    pub server: TestServer,
    pub http: reqwest::Client,
    secrets: Mutex<Vec<String>>,
}

/// One signed-in device as a test holds it.
#[derive(Clone, Debug)]
pub struct Device {
    pub name: String,
    pub tokens: TokenResponse,
}

impl Device {
    pub fn sid(&self) -> SessionId {
        self.tokens.session_id
    }
    pub fn access(&self) -> &str {
        self.tokens.access_token.expose()
    }
    pub fn refresh(&self) -> &str {
        self.tokens.refresh_token.expose()
    }
}

impl Ctx {
    pub async fn start(backend: Backend) -> Ctx {
        Self::start_with(Options::backend(backend)).await
    }

    pub async fn start_with(opts: Options) -> Ctx {
        let server = TestServer::start_with(opts).await;
        Ctx {
            server,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            secrets: Mutex::new(vec![PASSWORD.to_owned()]),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// Remembers a secret so [`Ctx::assert_logs_clean`] searches for it, with the
    /// forms it could leak in: itself and, for refresh tokens, its stored hash.
    pub fn remember(&self, secret: &str) {
        let mut s = self.secrets.lock().unwrap();
        s.push(secret.to_owned());
        if secret.starts_with("rt_") {
            let h = Sha256::digest(secret.as_bytes());
            s.push(hex(&h));
            s.push(base64::engine::general_purpose::STANDARD.encode(h));
            s.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h));
        }
        if secret.matches('.').count() == 2 {
            // A JWT's signature alone would identify it too.
            if let Some(sig) = secret.rsplit('.').next() {
                s.push(sig.to_owned());
            }
        }
    }

    pub fn remember_tokens(&self, t: &TokenResponse) {
        self.remember(t.access_token.expose());
        self.remember(t.refresh_token.expose());
    }

    /// Every log line of the server so far, searched for every secret this test used.
    pub fn assert_logs_clean(&self) {
        let logs = self.server.logs();
        assert!(!logs.is_empty(), "the server logged nothing at all?");
        for secret in self.secrets.lock().unwrap().iter() {
            if let Some(line) = logs.lines().find(|l| l.contains(secret.as_str())) {
                panic!(
                    "a secret appeared in the server log: {}… in the line: {}",
                    &secret[..secret.len().min(12)],
                    line.replace(secret.as_str(), "<SECRET>")
                );
            }
        }
    }

    pub async fn new_account(&self) -> String {
        let email = format!("user-{}@example.com", uuid::Uuid::now_v7().simple());
        self.server.create_account(&email, PASSWORD).await;
        email
    }

    pub async fn sign_in(&self, email: &str, name: &str) -> Device {
        let r = self
            .post_json(
                "/v1/sessions",
                &json!({"email": email, "password": PASSWORD,
                        "device": {"name": name, "platform": "linux", "os_version": "Debian 12", "app_version": "1.0.0"}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let tokens: TokenResponse = r.json().await.unwrap();
        self.remember_tokens(&tokens);
        Device {
            name: name.to_owned(),
            tokens,
        }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// An unauthenticated GET that must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, access: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    pub async fn sessions(&self, d: &Device) -> Vec<Value> {
        let r = self.get("/v1/sessions", d.access()).await;
        assert_eq!(r.status(), 200, "list sessions");
        let v: Value = r.json().await.unwrap();
        v["sessions"].as_array().unwrap().clone()
    }

    pub async fn delete_session(&self, by: &Device, sid: SessionId) -> Response {
        self.http
            .delete(self.url(&format!("/v1/sessions/{sid}")))
            .bearer_auth(by.access())
            .send()
            .await
            .unwrap()
    }

    pub async fn rename(&self, by: &Device, sid: &str, name: &str) -> Response {
        self.http
            .patch(self.url(&format!("/v1/sessions/{sid}")))
            .bearer_auth(by.access())
            .json(&json!({"device": {"name": name}}))
            .send()
            .await
            .unwrap()
    }

    pub async fn revoke_scope(&self, by: &Device, scope: &str) -> Response {
        self.http
            .post(self.url("/v1/sessions/revoke"))
            .bearer_auth(by.access())
            .json(&json!({"scope": scope}))
            .send()
            .await
            .unwrap()
    }

    pub async fn refresh_raw(&self, refresh_token: &str) -> Response {
        self.http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Refreshes and expects success; remembers the new tokens.
    pub async fn refresh(&self, refresh_token: &str) -> TokenResponse {
        let r = self.refresh_raw(refresh_token).await;
        assert_eq!(r.status(), 200, "refresh");
        let t: TokenResponse = r.json().await.unwrap();
        self.remember_tokens(&t);
        t
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let r = self
            .http
            .post(self.url("/oauth/introspect"))
            .basic_auth("rs", Some("rs-secret"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "introspect");
        r.json().await.unwrap()
    }

    pub async fn events(&self, d: &Device) -> EventStream {
        EventStream::open(&self.http, &self.url("/v1/events"), d.access()).await
    }
}

/// Every test's server log is searched for every secret the test handled, at the end
/// of the test, whether or not the test asked for it explicitly.
impl Drop for Ctx {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_logs_clean();
        }
    }
}

/// Part `i` of a JWT (0 header, 1 claims), decoded.
pub fn jwt_part(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Asserts the JSON error shape and returns the code.
pub async fn error_code(r: Response, status: u16) -> String {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "status (body: {text})");
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("error body is not JSON: {text}"));
    let code = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {text}"));
    assert!(
        v["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "no description: {text}"
    );
    assert!(
        code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "{code}"
    );
    code.to_owned()
}

/// A reader of one device's event stream.
pub struct EventStream {
    pub status: StatusCode,
    body: Option<futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>>,
    buf: String,
}

#[derive(Debug, Clone)]
pub struct Sse {
    pub name: String,
    pub data: Value,
    pub id: Option<String>,
}

impl EventStream {
    pub async fn open(http: &reqwest::Client, url: &str, access: &str) -> EventStream {
        // A client without the overall timeout: streams stay open.
        let _ = http;
        let r = reqwest::Client::new()
            .get(url)
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        Self::from_response(r).await
    }

    /// The revocation stream, as a resource server reads it.
    pub async fn open_feed(url: &str, last_event_id: Option<&str>) -> EventStream {
        let mut req = reqwest::Client::new()
            .get(url)
            .basic_auth("rs", Some("rs-secret"));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        EventStream {
            status: r.status(),
            body: Some(r.bytes_stream().boxed()),
            buf: String::new(),
        }
    }

    async fn from_response(r: Response) -> EventStream {
        let status = r.status();
        let mut s = EventStream {
            status,
            body: Some(r.bytes_stream().boxed()),
            buf: String::new(),
        };
        if status == 200 {
            // The server greets once the subscription is in place: a comment, with the
            // feed position the stream starts at as its id.
            let mut greeting = Vec::new();
            while let Some(line) = s.next_line(Duration::from_secs(10)).await {
                if line.is_empty() {
                    break;
                }
                greeting.push(line);
            }
            assert!(
                greeting.iter().any(|l| l.starts_with(": connected"))
                    && greeting.iter().any(|l| l.starts_with("id: ")),
                "no greeting: {greeting:?}"
            );
        }
        s
    }

    async fn next_line(&mut self, wait: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(i) = self.buf.find('\n') {
                let line = self.buf[..i].trim_end_matches('\r').to_owned();
                self.buf.drain(..=i);
                return Some(line);
            }
            let body = self.body.as_mut()?;
            match tokio::time::timeout_at(deadline, body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Some(Err(_))) | Ok(None) => {
                    self.body = None;
                    return None;
                }
                Err(_) => return None,
            }
        }
    }

    /// The next event (comments skipped), or None on timeout or end of stream.
    pub async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        let (mut name, mut data, mut id) = (None, String::new(), None);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let line = self.next_line(left).await?;
            if line.is_empty() {
                if let Some(n) = name.take() {
                    return Some(Sse {
                        name: n,
                        data: serde_json::from_str(&data).unwrap_or(Value::Null),
                        id: id.take(),
                    });
                }
                data.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => name = Some(value.to_owned()),
                "data" => data.push_str(value),
                "id" => id = Some(value.to_owned()),
                _ => {}
            }
        }
    }

    /// Waits for an event of this name, skipping others.
    pub async fn expect(&mut self, name: &str, wait: Duration) -> Sse {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(e) if e.name == name => return e,
                Some(_) => continue,
                None => panic!("no {name} event within {wait:?}"),
            }
        }
    }

    /// Whether the server closes the stream within `wait`.
    pub async fn closes_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            if self.next_line(left).await.is_none() {
                return self.body.is_none();
            }
        }
    }
}
