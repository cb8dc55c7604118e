//! The account page's sessions. A browser signed in on `/account` is a device like any
//! other — a session row, listed, revocable — with the web's shorter lifetimes (idle 1
//! hour, absolute 12 hours by default). Its credential is that session's refresh token,
//! kept in an `HttpOnly` cookie the page's scripts cannot read and never rotated (the page
//! never calls `/oauth/token`; a cookie presented there would rotate it and, used again,
//! be caught as reuse).

use std::net::IpAddr;
use std::time::Duration;

use proto::account::TwoStepSignIn;
use proto::notice::SignedOutDevice;
use proto::tokens::{Claims, SignInRequest};
use proto::{Device, Jti, Password, SecretText, SessionId};

use super::accounts::SessionKind;
use super::{App, AppError, Result, TokenRejection};
use crate::secrets;
use crate::time::Millis;

/// The platform of browser sessions.
pub const WEB_PLATFORM: &str = "web";
/// A browser session's last-seen time (and idle end) moves at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// The claims a cookie stands for are good for this long within one request.
const WEB_CLAIMS_LIFETIME: i64 = 60;

/// A browser signed in: the cookie to set.
#[derive(Debug)]
pub struct WebLogin {
    /// The cookie's value (the session's refresh token).
    pub cookie: SecretText,
    /// `None` for a shared computer: the cookie ends when the browser closes.
    pub max_age: Option<Duration>,
    pub session_id: SessionId,
}

/// Why this browser's session ended, in the app's words.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebNotice {
    pub by_session_id: Option<SessionId>,
    pub by_device_name: Option<String>,
    pub reason: proto::sessions::RevocationReason,
    pub at: proto::Timestamp,
    pub message: String,
}

impl App {
    /// Signs a browser in; `Err(MfaRequired)` when the account has two-step sign-in.
    pub async fn web_sign_in(
        &self,
        email: &str,
        password: Password,
        shared_computer: bool,
        user_agent: Option<&str>,
        ip: Option<IpAddr>,
    ) -> Result<WebLogin> {
        if !self.settings.web {
            return Err(AppError::NotFound);
        }
        let req = SignInRequest {
            email: email.to_owned(),
            password,
            device: browser_device(user_agent),
        };
        let tokens = self.sign_in_as(req, ip, SessionKind::Web).await?;
        Ok(self.web_login(tokens, shared_computer))
    }

    /// The second step of a browser's sign-in.
    pub async fn web_second_step(
        &self,
        req: TwoStepSignIn,
        shared_computer: bool,
        ip: Option<IpAddr>,
    ) -> Result<WebLogin> {
        let tokens = self.second_step_as(req, ip, SessionKind::Web).await?;
        Ok(self.web_login(tokens, shared_computer))
    }

    fn web_login(&self, tokens: proto::tokens::TokenResponse, shared: bool) -> WebLogin {
        WebLogin {
            cookie: SecretText::new(tokens.refresh_token.into_inner()),
            max_age: (!shared).then_some(self.settings.web_max_ttl),
            session_id: tokens.session_id,
        }
    }

    /// Who a browser's cookie stands for: a live, unspent browser session.
    pub async fn authenticate_web(&self, cookie: &str, ip: Option<IpAddr>) -> Result<Claims> {
        let refused = || AppError::InvalidToken(TokenRejection::Revoked(token::Revoked::Session));
        if !secrets::looks_like_refresh_token(cookie) {
            return Err(refused());
        }
        let now = Millis::now();
        let facts = self
            .store
            .refresh_token_facts(&secrets::hash_refresh_token(cookie))
            .await?
            .ok_or_else(refused)?;
        let session = &facts.session;
        if !facts.life.is_live(now)
            || facts.spent_at.is_some()
            || session.device.platform != WEB_PLATFORM
            || self.deny().is_session_revoked(&session.id)
        {
            return Err(refused());
        }
        if now.0 - session.last_seen_at.0 >= TOUCH_EVERY.as_millis() as i64 {
            let ip_text = ip.map(|i| i.to_string());
            self.store
                .touch_session(
                    session.id,
                    now,
                    ip_text.as_deref(),
                    now.plus(self.settings.web_idle_ttl),
                )
                .await?;
        }
        Ok(Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: session.user_id,
            sid: session.id,
            jti: Jti::new(),
            iat: now.secs(),
            exp: now.secs() + WEB_CLAIMS_LIFETIME,
        })
    }

    /// Signs this browser out: its session ends (reason `logout`).
    pub async fn web_sign_out(&self, cookie: &str, ip: Option<IpAddr>) -> Result<()> {
        self.revoke_token(cookie, ip).await
    }

    /// Why this browser's session ended (the cookie still names it), worded as the app
    /// words it, with the moment in the browser's time zone (`offset`).
    pub async fn web_notice(
        &self,
        cookie: &str,
        offset: chrono::FixedOffset,
    ) -> Result<Option<WebNotice>> {
        if !secrets::looks_like_refresh_token(cookie) {
            return Ok(None);
        }
        let Some(facts) = self
            .store
            .refresh_token_facts(&secrets::hash_refresh_token(cookie))
            .await?
        else {
            return Ok(None);
        };
        let Some(status) = self.store.session_status(facts.session.id).await? else {
            return Ok(None);
        };
        let (Some(at), Some(reason)) = (
            status.revoked_at,
            status
                .revoked_reason
                .as_deref()
                .and_then(proto::sessions::RevocationReason::parse),
        ) else {
            return Ok(None);
        };
        let by: Option<SessionId> = status.revoked_by.as_deref().and_then(|s| s.parse().ok());
        let by_device_name = match by {
            Some(by) => self.store.session_status(by).await?.map(|s| s.device_name),
            None => None,
        };
        let at = Millis(at).to_datetime();
        let now = chrono::Utc::now().with_timezone(&offset);
        let message = proto::notice::signed_out_message(
            reason,
            by_device_name.as_deref(),
            by == Some(facts.session.id),
            &proto::notice::moment(at, &now),
        );
        Ok(Some(WebNotice {
            by_session_id: by,
            by_device_name,
            reason,
            at,
            message,
        }))
    }

    /// The caller's devices signed out in the last 7 days (the list of
    /// `GET /v1/sessions?include=signed_out`), each with its wipe status worded as the
    /// desktop app words it, at `now` in the browser's time zone.
    pub async fn web_signed_out(
        &self,
        caller: &Claims,
        now: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<SignedOutDevice>> {
        let listed = self.list_sessions(caller, true).await?;
        Ok(listed
            .sessions
            .into_iter()
            .filter_map(|s| SignedOutDevice::new(s, &now))
            .collect())
    }
}

/// A browser as a device: "Firefox on Windows", platform `web`, the OS and the browser's
/// version, read from its User-Agent (what people recognise in the device list).
pub fn browser_device(user_agent: Option<&str>) -> Device {
    let ua = user_agent.unwrap_or_default();
    let (browser, version) = browser(ua);
    let os = os(ua);
    let clip = |s: String| s.chars().take(64).collect::<String>();
    Device {
        name: format!("{browser} on {os}"),
        platform: WEB_PLATFORM.to_owned(),
        os_version: clip(os.to_owned()),
        app_version: clip(version),
    }
}

fn version_after(ua: &str, marker: &str) -> String {
    ua.split(marker)
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect()
        })
        .unwrap_or_default()
}

fn browser(ua: &str) -> (&'static str, String) {
    // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
    for (marker, name) in [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
    ] {
        if ua.contains(marker) {
            return (name, version_after(ua, marker));
        }
    }
    if ua.contains("Safari/") {
        return ("Safari", version_after(ua, "Version/"));
    }
    ("A browser", String::new())
}

fn os(ua: &str) -> &'static str {
    if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("iPhone") || ua.contains("iPod") {
        "iOS"
    } else if ua.contains("iPad") {
        "iPadOS"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        "an unknown system"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_as_people_know_them() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 15) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5", "A browser on an unknown system"),
        ];
        for (ua, name) in cases {
            assert_eq!(browser_device(Some(ua)).name, name, "{ua}");
        }
        let d = browser_device(Some(cases[0].0));
        assert_eq!(
            (d.platform.as_str(), d.app_version.as_str()),
            ("web", "133.0")
        );
        assert_eq!(browser_device(None).name, "A browser on an unknown system");
    }
}
