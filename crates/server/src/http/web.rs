//! The account page's API (`/account/api/...`): the browser's side of the same API the
//! apps use, authenticated by an `HttpOnly`, `SameSite=Strict` cookie scoped to this
//! path instead of a bearer token, so no page script ever holds a token.
//!
//! - `POST /account/api/sign-in`, `POST /account/api/sign-in/two-step`: set the cookie
//!   (the two-step challenge travels in a cookie of its own, too);
//! - `POST /account/api/sign-out`: revokes the session and clears the cookie;
//! - `GET /account/api/notice`: why this browser's session ended, in the app's words;
//! - `GET /account/api/signed-out`: the devices signed out in the last 7 days, each
//!   with its wipe status in the app's words and the browser's time zone;
//! - `/account/api/v1/...`: the `/v1` routes of the devices, activity, account and the
//!   event stream, the cookie standing for the bearer token.
//!
//! Every state-changing request must carry an `Origin` equal to the server's own (the
//! issuer's); every answer carries a strict CSP, `frame-ancestors 'none'`,
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Offset;
use cookie::{Cookie, SameSite};
use proto::Password;
use proto::account::TwoStepSignIn;
use proto::error::ErrorCode;
use proto::notice::SignedOutDevice;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Bearer, ClientIp, JsonBody, QueryParams};
use crate::app::{App, AppError, WebLogin};

/// The session cookie, and the path it is sent on.
pub const SESSION_COOKIE: &str = "sm_web";
pub const API_PATH: &str = "/account/api";
/// The cookie carrying a sign-in's two-step challenge, and its path.
const CHALLENGE_COOKIE: &str = "sm_challenge";
const CHALLENGE_PATH: &str = "/account/api/sign-in";

/// Marks a request as coming through the account page's API: there, the session
/// cookie stands for the bearer token.
#[derive(Clone, Copy, Debug)]
pub struct WebApi;

/// The page's API, nested at `/account/api`. `v1` is the router of the `/v1` routes
/// the page may call with its cookie.
pub fn router(v1: Router<Arc<App>>) -> Router<Arc<App>> {
    Router::new()
        .route("/sign-in", post(sign_in))
        .route("/sign-in/two-step", post(second_step))
        .route("/sign-out", post(sign_out))
        .route("/notice", get(notice))
        .route("/signed-out", get(signed_out))
        .nest("/v1", v1)
        .layer(axum::Extension(WebApi))
}

/// For everything under `/account`: the page's security headers, and the `Origin` of
/// every state-changing request checked against the server's own.
pub async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if !app.settings().web {
        return ApiError::not_found().into_response();
    }
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut res = if changes_state && !same_origin(req.headers(), &app.settings().issuer) {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidRequest,
            "This request did not come from the account page (its Origin is not this server's).",
        )
        .into_response()
    } else {
        next.run(req).await
    };
    secure_headers(res.headers_mut());
    res
}

/// The origin (`scheme://host[:port]`) of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn same_origin(headers: &HeaderMap, issuer: &str) -> bool {
    let expected = origin(issuer).trim_end_matches('/');
    // Browsers send Origin on every cross-origin request and on same-origin POSTs.
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(o) => o.eq_ignore_ascii_case(expected),
        None => false,
    }
}

pub fn secure_headers(h: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-frame-options", "DENY");
    set(h, "cross-origin-opener-policy", "same-origin");
    set(h, "cross-origin-resource-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
}

/// Whether cookies must be `Secure`: always, unless the server is plain HTTP on
/// loopback (a developer's machine, the tests).
fn secure_cookies(issuer: &str) -> bool {
    let Some(rest) = issuer.strip_prefix("http://") else {
        return true;
    };
    let host = origin(rest).split(':').next().unwrap_or_default();
    let host = if rest.starts_with('[') {
        rest.split(']')
            .next()
            .unwrap_or_default()
            .trim_start_matches('[')
    } else {
        host
    };
    !(host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()))
}

fn cookie_header(app: &App, c: Cookie<'static>) -> (header::HeaderName, HeaderValue) {
    let mut c = c;
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(secure_cookies(&app.settings().issuer));
    (
        header::SET_COOKIE,
        HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}

fn session_cookie(app: &App, login: &WebLogin) -> (header::HeaderName, HeaderValue) {
    let mut c = Cookie::new(SESSION_COOKIE, login.cookie.expose().to_owned());
    c.set_path(API_PATH);
    if let Some(age) = login.max_age {
        c.set_max_age(cookie::time::Duration::seconds(
            i64::try_from(age.as_secs()).unwrap_or(i64::MAX),
        ));
    }
    cookie_header(app, c)
}

fn clear(app: &App, name: &'static str, path: &'static str) -> (header::HeaderName, HeaderValue) {
    let mut c = Cookie::new(name, "");
    c.set_path(path);
    c.set_max_age(cookie::time::Duration::ZERO);
    cookie_header(app, c)
}

/// A cookie of the request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: Password,
    #[serde(default)]
    shared_computer: bool,
}

#[derive(serde::Serialize)]
struct SignedIn {
    session_id: proto::SessionId,
}

fn signed_in(app: &App, login: &WebLogin) -> Response {
    let mut res = (
        StatusCode::OK,
        Json(SignedIn {
            session_id: login.session_id,
        }),
    )
        .into_response();
    let (k, v) = session_cookie(app, login);
    res.headers_mut().insert(k, v);
    let (k, v) = clear(app, CHALLENGE_COOKIE, CHALLENGE_PATH);
    res.headers_mut().append(k, v);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The answer to a right password on a two-step account: the challenge goes into a
/// cookie, not into the body the page's scripts read.
fn challenge_answer(app: &App, e: AppError) -> Response {
    let AppError::MfaRequired {
        challenge,
        expires_in,
    } = e
    else {
        return ApiError::from(e).into_response();
    };
    let mut c = Cookie::new(CHALLENGE_COOKIE, challenge.expose().to_owned());
    c.set_path(CHALLENGE_PATH);
    c.set_max_age(cookie::time::Duration::seconds(
        i64::try_from(expires_in.as_secs()).unwrap_or(0),
    ));
    let mut err = ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::MfaRequired,
        "Enter the code from your authenticator app.",
    );
    err.expires_in = Some(expires_in.as_secs());
    let mut res = err.into_response();
    let (k, v) = cookie_header(app, c);
    res.headers_mut().append(k, v);
    res
}

async fn sign_in(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SignIn>,
) -> Response {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match app
        .web_sign_in(&req.email, req.password, req.shared_computer, agent, ip)
        .await
    {
        Ok(login) => signed_in(&app, &login),
        Err(e) => challenge_answer(&app, e),
    }
}

#[derive(Deserialize)]
struct SecondStep {
    #[serde(default)]
    code: Option<proto::SecretText>,
    #[serde(default)]
    recovery_code: Option<proto::SecretText>,
    #[serde(default)]
    shared_computer: bool,
}

async fn second_step(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(req): JsonBody<SecondStep>,
) -> Result<Response, ApiError> {
    let challenge = read_cookie(&headers, CHALLENGE_COOKIE).ok_or(AppError::InvalidChallenge)?;
    let login = app
        .web_second_step(
            TwoStepSignIn {
                challenge: proto::SecretText::new(challenge),
                code: req.code,
                recovery_code: req.recovery_code,
            },
            req.shared_computer,
            ip,
        )
        .await?;
    Ok(signed_in(&app, &login))
}

async fn sign_out(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(cookie) = read_cookie(&headers, SESSION_COOKIE) {
        app.web_sign_out(&cookie, ip).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    let (k, v) = clear(&app, SESSION_COOKIE, API_PATH);
    res.headers_mut().insert(k, v);
    Ok(res)
}

/// The browser's time zone, for sentences that say when ("at 14:02").
#[derive(Deserialize)]
struct TimeZoneQuery {
    /// The browser's offset from UTC in minutes (JavaScript's `-getTimezoneOffset()`).
    #[serde(default)]
    offset_minutes: i32,
}

impl TimeZoneQuery {
    /// The offset, within the ±14 hours clocks on Earth use.
    fn offset(&self) -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(self.offset_minutes.clamp(-14 * 60, 14 * 60) * 60)
            .unwrap_or(chrono::Utc.fix())
    }
}

/// Why this browser's session ended, if it did; the cookie is cleared then.
async fn notice(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<TimeZoneQuery>,
) -> Result<Response, ApiError> {
    let Some(cookie) = read_cookie(&headers, SESSION_COOKIE) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    match app.web_notice(&cookie, q.offset()).await? {
        Some(n) => {
            let mut res = (StatusCode::OK, Json(n)).into_response();
            let (k, v) = clear(&app, SESSION_COOKIE, API_PATH);
            res.headers_mut().insert(k, v);
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// `GET /account/api/signed-out`.
#[derive(serde::Serialize)]
struct SignedOutDevices {
    devices: Vec<SignedOutDevice>,
}

/// The devices signed out in the last 7 days, worded as the desktop app words them
/// (`proto::notice`), so the page has no wording of its own to keep in step.
async fn signed_out(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    QueryParams(q): QueryParams<TimeZoneQuery>,
) -> Result<Response, ApiError> {
    let now = chrono::Utc::now().with_timezone(&q.offset());
    let devices = app.web_signed_out(&caller, now).await?;
    let mut res = (StatusCode::OK, Json(SignedOutDevices { devices })).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_secure_except_on_plain_loopback() {
        assert!(!secure_cookies("http://127.0.0.1:7878"));
        assert!(!secure_cookies("http://localhost:7878/"));
        assert!(!secure_cookies("http://[::1]:7878"));
        assert!(secure_cookies("http://sessions.example.com"));
        assert!(secure_cookies("https://127.0.0.1:7878"));
    }

    #[test]
    fn origins_are_compared_whole() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://sessions.example.com"),
        );
        assert!(same_origin(&h, "https://sessions.example.com"));
        assert!(same_origin(&h, "https://sessions.example.com/"));
        assert!(!same_origin(&h, "https://sessions.example.com:8443"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h, "https://sessions.example.com"));
        assert!(!same_origin(
            &HeaderMap::new(),
            "https://sessions.example.com"
        ));
    }
}
