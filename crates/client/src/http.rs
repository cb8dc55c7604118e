//! The wire: one method per endpoint of the Session API that a device uses.
//! No token logic here; see `session.rs`.

use std::time::Duration;

use proto::account::{
    AccountInfo, ChangePassword, PasswordChanged, RecoveryCodes, TwoStepConfirm, TwoStepDisable,
    TwoStepEnrolment, TwoStepSignIn, TwoStepStart,
};
use proto::activity::ActivityList;
use proto::error::{ErrorBody, ErrorCode};
use proto::sessions::{
    DeviceRename, RenameRequest, RevokeRequest, RevokeResponse, RevokeScope, SessionInfo,
    SessionList, WipeReceipt,
};
use proto::tokens::{GRANT_REFRESH_TOKEN, SignInRequest, TokenResponse};
use proto::{
    AccessToken, CreateAccountRequest, CreateAccountResponse, Device, Password, RefreshToken,
    SecretText, SessionId,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::error::ClientError;

/// How a call failed, before the session layer decides what it means.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 401 `invalid_token`: the access token is not (or no longer) accepted.
    Unauthorized,
    /// 400 `invalid_grant` from the token endpoint: the refresh token is dead.
    InvalidGrant,
    /// 401 `mfa_required`: the password was right and the account has two-step
    /// sign-in; the challenge answers it (`POST /v1/sessions/two-step`).
    TwoStepRequired {
        challenge: SecretText,
        expires_in: Duration,
    },
    Client(ClientError),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Self::Client(e)
    }
}

impl Failure {
    pub(crate) fn into_client(self) -> ClientError {
        match self {
            Self::Client(e) => e,
            Self::Unauthorized | Self::InvalidGrant => ClientError::SessionRevoked,
            // Only a sign-in answers this, and the manager turns it into
            // `ClientError::TwoStepRequired` with what it needs to go on.
            Self::TwoStepRequired { .. } => ClientError::Validation {
                code: ErrorCode::MfaRequired.as_str().into(),
                message: "this account has two-step sign-in: a code is needed".into(),
            },
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, Failure>;

/// Per-request deadline for ordinary calls (the event stream has none).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Normalizes a server URL: http(s) only, no query/fragment, no trailing slash.
pub fn normalize_server_url(raw: &str) -> Result<String, ClientError> {
    let bad = |why: &str| ClientError::Validation {
        code: "invalid_server_url".into(),
        message: format!("'{raw}' is not a usable server address: {why}"),
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("it must start with https:// (or http://)"));
    }
    if url.host_str().is_none() {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("it must not carry a query, fragment or user name"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Whether `url`'s host is this machine (`localhost`, 127.0.0.0/8, ::1): the one place
/// plain HTTP cannot be read by anyone else on the way.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Refuses plain `http://` to anything but this machine: passwords and tokens would
/// cross the network readable by anyone on the way. `insecure_http` allows it (tests).
pub(crate) fn check_transport(server: &str, insecure_http: bool) -> Result<(), ClientError> {
    let Ok(url) = url::Url::parse(server) else {
        return Ok(()); // not a URL at all: normalize_server_url says why
    };
    if url.scheme() != "http" || insecure_http || is_loopback(&url) {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default();
    Err(ClientError::Validation {
        code: "insecure_server_url".into(),
        message: format!(
            "refusing plain http:// to {host}: your password and tokens would cross the network unencrypted. \
             Use https://{} (or, only for a test server of your own, --insecure-http)",
            server.strip_prefix("http://").unwrap_or(server),
        ),
    })
}

/// How this client reaches servers: the HTTP client every server shares, and whether
/// plain HTTP to other machines is allowed.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    insecure_http: bool,
}

/// A client of one server.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    /// Why this server must not be spoken to (plain HTTP to another machine): every
    /// call fails with it before anything is sent.
    refused: Option<String>,
}

impl Api {
    pub(crate) fn new(transport: Transport, server: &str) -> Self {
        let base = server.trim_end_matches('/').to_string();
        let refused = check_transport(&base, transport.insecure_http)
            .err()
            .map(|e| e.to_string());
        Self {
            http: transport.http,
            base,
            refused,
        }
    }

    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .timeout(REQUEST_TIMEOUT)
    }

    fn authed(&self, method: Method, path: &str, token: &AccessToken) -> RequestBuilder {
        self.req(method, path).bearer_auth(token.expose())
    }

    async fn send(&self, rb: RequestBuilder) -> ApiResult<Response> {
        if let Some(why) = &self.refused {
            return Err(Failure::Client(ClientError::Validation {
                code: "insecure_server_url".into(),
                message: why.clone(),
            }));
        }
        let resp = rb.send().await.map_err(|e| self.transport(e))?;
        if resp.status().is_redirection() {
            // Never followed: the request carried a password or a token, which must not
            // go wherever a redirect points.
            let to = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("another address")
                .to_owned();
            return Err(Failure::Client(ClientError::Server {
                status: resp.status().as_u16(),
                code: "redirected".into(),
                message: format!(
                    "the server at {} redirects to {to}; credentials are never sent along a redirect: use the right server address",
                    self.base
                ),
            }));
        }
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(self.failure(resp).await)
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, rb: RequestBuilder) -> ApiResult<T> {
        let resp = self.send(rb).await?;
        let status = resp.status();
        resp.json::<T>().await.map_err(|e| {
            if e.is_decode() {
                Failure::Client(ClientError::Server {
                    status: status.as_u16(),
                    code: "bad_response".into(),
                    message: "the server's answer was not what this client understands".into(),
                })
            } else {
                self.transport(e)
            }
        })
    }

    pub(crate) fn transport(&self, e: reqwest::Error) -> Failure {
        // The reqwest error may name the URL, never a token (tokens travel in headers
        // and bodies only).
        let reason = if e.is_timeout() {
            "no answer in time".to_string()
        } else if let Some(why) = certificate_problem(&e) {
            format!(
                "its TLS certificate is not trusted: {why}; if it comes from a private CA, pass that CA's certificate with --ca-file FILE (SESSIONCTL_CA_FILE)"
            )
        } else if e.is_connect() {
            "connection failed".to_string()
        } else {
            "network error".to_string()
        };
        tracing::debug!(server = %self.base, error = %e, "request failed");
        Failure::Client(ClientError::Unreachable {
            server: self.base.clone(),
            reason,
        })
    }

    /// Maps an error answer of the API to what it means for a device.
    pub(crate) async fn failure(&self, resp: Response) -> Failure {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Option<ErrorBody> = resp.json().await.ok();
        let (code, description, challenge) = match body {
            Some(b) => (
                Some(b.error),
                b.error_description,
                b.challenge.map(|c| (c, b.expires_in)),
            ),
            None => (None, String::new(), None),
        };
        match (status, code) {
            // A signed-in device confirming its password (password change, two-step
            // settings) is told 403; a sign-in 401.
            (StatusCode::FORBIDDEN, Some(ErrorCode::InvalidCredentials)) => {
                ClientError::WrongPassword.into()
            }
            (_, Some(ErrorCode::InvalidCredentials)) => ClientError::InvalidCredentials.into(),
            (StatusCode::UNAUTHORIZED, Some(ErrorCode::MfaRequired)) => match challenge {
                Some((challenge, expires_in)) => Failure::TwoStepRequired {
                    challenge,
                    // The server says; five minutes if it did not.
                    expires_in: Duration::from_secs(expires_in.unwrap_or(300)),
                },
                None => ClientError::Server {
                    status: status.as_u16(),
                    code: "bad_response".into(),
                    message: "the server asked for a second step without a challenge".into(),
                }
                .into(),
            },
            (_, Some(ErrorCode::InvalidCode)) => ClientError::InvalidCode.into(),
            (_, Some(ErrorCode::InvalidChallenge)) => ClientError::TwoStepExpired.into(),
            (StatusCode::UNAUTHORIZED, _) => Failure::Unauthorized,
            (_, Some(ErrorCode::InvalidGrant)) => Failure::InvalidGrant,
            (StatusCode::TOO_MANY_REQUESTS, _) => ClientError::RateLimited { retry_after }.into(),
            (StatusCode::NOT_FOUND, _) => ClientError::NotFound.into(),
            (s, _) if s.is_client_error() => ClientError::Validation {
                code: code.unwrap_or(ErrorCode::ValidationFailed).as_str().into(),
                message: if description.is_empty() {
                    format!("the server refused the request ({s})")
                } else {
                    description
                },
            }
            .into(),
            (s, _) => ClientError::Server {
                status: s.as_u16(),
                code: code.unwrap_or(ErrorCode::ServerError).as_str().into(),
                message: description,
            }
            .into(),
        }
    }

    pub(crate) async fn create_account(
        &self,
        email: &str,
        password: &Password,
    ) -> ApiResult<CreateAccountResponse> {
        let body = CreateAccountRequest {
            email: email.into(),
            password: password.clone(),
        };
        self.json(self.req(Method::POST, "/v1/accounts").json(&body))
            .await
    }

    pub(crate) async fn sign_in(
        &self,
        email: &str,
        password: &Password,
        device: &Device,
    ) -> ApiResult<TokenResponse> {
        let body = SignInRequest {
            email: email.into(),
            password: password.clone(),
            device: device.clone(),
        };
        self.json(self.req(Method::POST, "/v1/sessions").json(&body))
            .await
    }

    pub(crate) async fn refresh(&self, token: &RefreshToken) -> ApiResult<TokenResponse> {
        let form = [
            ("grant_type", GRANT_REFRESH_TOKEN),
            ("refresh_token", token.expose()),
        ];
        self.json(self.req(Method::POST, "/oauth/token").form(&form))
            .await
    }

    /// RFC 7009: 200 also for unknown or already revoked tokens.
    pub(crate) async fn revoke_token(
        &self,
        token: &RefreshToken,
        timeout: Duration,
    ) -> ApiResult<()> {
        let form = [
            ("token", token.expose()),
            ("token_type_hint", "refresh_token"),
        ];
        self.send(
            self.req(Method::POST, "/oauth/revoke")
                .timeout(timeout)
                .form(&form),
        )
        .await
        .map(drop)
    }

    /// The account's sessions; with `signed_out`, also those signed out in the last
    /// 7 days (`?include=signed_out`).
    pub(crate) async fn list_sessions(
        &self,
        at: &AccessToken,
        signed_out: bool,
    ) -> ApiResult<Vec<SessionInfo>> {
        let path = if signed_out {
            "/v1/sessions?include=signed_out"
        } else {
            "/v1/sessions"
        };
        let list: SessionList = self.json(self.authed(Method::GET, path, at)).await?;
        Ok(list.sessions)
    }

    /// Renames a device. The answer's body is the renamed session when the server sends
    /// one; otherwise `None`.
    pub(crate) async fn rename_session(
        &self,
        at: &AccessToken,
        id: SessionId,
        name: &str,
    ) -> ApiResult<Option<SessionInfo>> {
        let body = RenameRequest {
            device: DeviceRename { name: name.into() },
        };
        let resp = self
            .send(
                self.authed(Method::PATCH, &format!("/v1/sessions/{id}"), at)
                    .json(&body),
            )
            .await?;
        let bytes = resp.bytes().await.map_err(|e| self.transport(e))?;
        Ok(serde_json::from_slice::<SessionInfo>(&bytes).ok())
    }

    pub(crate) async fn delete_session(&self, at: &AccessToken, id: SessionId) -> ApiResult<()> {
        self.send(self.authed(Method::DELETE, &format!("/v1/sessions/{id}"), at))
            .await
            .map(drop)
    }

    pub(crate) async fn revoke_scope(
        &self,
        at: &AccessToken,
        scope: RevokeScope,
    ) -> ApiResult<u64> {
        let r: RevokeResponse = self
            .json(
                self.authed(Method::POST, "/v1/sessions/revoke", at)
                    .json(&RevokeRequest { scope }),
            )
            .await?;
        Ok(r.revoked)
    }

    pub(crate) async fn activity(&self, at: &AccessToken) -> ApiResult<ActivityList> {
        self.json(self.authed(Method::GET, "/v1/activity", at))
            .await
    }

    /// Opens the event stream. No overall deadline: it lives as long as the connection.
    /// `last_event_id`: the `id` of the last event received on an earlier stream, so
    /// the server first sends what was missed since.
    pub(crate) async fn events(
        &self,
        at: &AccessToken,
        last_event_id: Option<&str>,
    ) -> ApiResult<Response> {
        let mut rb = self
            .http
            .get(format!("{}/v1/events", self.base))
            .bearer_auth(at.expose())
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            rb = rb.header("last-event-id", id);
        }
        self.send(rb).await
    }

    /// The second step of a sign-in on an account with two-step sign-in.
    pub(crate) async fn sign_in_second_step(
        &self,
        body: &TwoStepSignIn,
    ) -> ApiResult<TokenResponse> {
        self.json(self.req(Method::POST, "/v1/sessions/two-step").json(body))
            .await
    }

    /// Proves that this device erased the credential of its revoked session: 204, or
    /// 404 when there is nothing to prove (`ClientError::NotFound`).
    pub(crate) async fn wipe_receipt(
        &self,
        id: SessionId,
        token: &RefreshToken,
        timeout: Duration,
    ) -> ApiResult<()> {
        let body = WipeReceipt {
            refresh_token: token.clone(),
        };
        self.send(
            self.req(Method::POST, &format!("/v1/sessions/{id}/wipe-receipt"))
                .timeout(timeout)
                .json(&body),
        )
        .await
        .map(drop)
    }

    pub(crate) async fn account(&self, at: &AccessToken) -> ApiResult<AccountInfo> {
        self.json(self.authed(Method::GET, "/v1/account", at)).await
    }

    pub(crate) async fn change_password(
        &self,
        at: &AccessToken,
        body: &ChangePassword,
    ) -> ApiResult<u64> {
        let r: PasswordChanged = self
            .json(
                self.authed(Method::POST, "/v1/account/password", at)
                    .json(body),
            )
            .await?;
        Ok(r.revoked)
    }

    pub(crate) async fn two_step_start(
        &self,
        at: &AccessToken,
        password: &Password,
    ) -> ApiResult<TwoStepEnrolment> {
        let body = TwoStepStart {
            password: password.clone(),
        };
        self.json(
            self.authed(Method::POST, "/v1/account/two-step", at)
                .json(&body),
        )
        .await
    }

    pub(crate) async fn two_step_confirm(
        &self,
        at: &AccessToken,
        code: &SecretText,
    ) -> ApiResult<RecoveryCodes> {
        let body = TwoStepConfirm { code: code.clone() };
        self.json(
            self.authed(Method::POST, "/v1/account/two-step/confirm", at)
                .json(&body),
        )
        .await
    }

    pub(crate) async fn two_step_disable(
        &self,
        at: &AccessToken,
        body: &TwoStepDisable,
    ) -> ApiResult<()> {
        self.send(
            self.authed(Method::DELETE, "/v1/account/two-step", at)
                .json(body),
        )
        .await
        .map(drop)
    }
}

/// What was wrong with the server's certificate, if that is why a request failed.
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("certificate") {
            return Some(text);
        }
        source = s.source();
    }
    None
}

/// The HTTP client every server shares: rustls, no cookies, short connect deadline, no
/// redirects (a redirect would carry a password or token elsewhere), and the roots of
/// trust: the built-in ones plus `ca_file`'s certificates.
pub(crate) fn transport(
    ca_file: Option<&std::path::Path>,
    insecure_http: bool,
) -> Result<Transport, ClientError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(proto::CLIENT_POOL_IDLE)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("session-client/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let bad = |why: String| ClientError::Validation {
            code: "invalid_ca_file".into(),
            message: format!("the CA file {} cannot be used: {why}", path.display()),
        };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("it holds no PEM certificate".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let http = builder.build().map_err(|e| ClientError::Server {
        status: 0,
        code: "client_setup".into(),
        message: e.to_string(),
    })?;
    Ok(Transport {
        http,
        insecure_http,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalized_and_checked() {
        assert_eq!(
            normalize_server_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_server_url(" https://id.example.com/base/ ").unwrap(),
            "https://id.example.com/base"
        );
        for bad in ["ftp://x", "nonsense", "https://x/?q=1", "https://u@x", ""] {
            assert_eq!(
                normalize_server_url(bad).unwrap_err().code(),
                "validation_failed",
                "{bad}"
            );
        }
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        for ok in [
            "https://id.example.com",
            "http://127.0.0.1:7878",
            "http://127.3.2.1",
            "http://localhost:7878",
            "http://[::1]:7878",
        ] {
            assert!(check_transport(ok, false).is_ok(), "{ok}");
        }
        let refused = check_transport("http://id.example.com:8080", false).unwrap_err();
        assert_eq!(refused.code(), "validation_failed");
        let text = refused.to_string();
        assert!(text.contains("https://id.example.com:8080"), "{text}");
        assert!(text.contains("--insecure-http"), "{text}");
        for also in ["http://192.0.2.7", "http://localhost.example.com"] {
            assert!(check_transport(also, false).is_err(), "{also}");
        }
        assert!(check_transport("http://id.example.com", true).is_ok());
    }
}
