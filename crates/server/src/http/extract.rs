//! Request extractors with this API's error answers: content types, body limits,
//! JSON and form parsing, bearer and resource-server authentication, client address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine as _;
use proto::error::ErrorCode;
use proto::tokens::Claims;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::app::App;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn content_type_is(parts_ct: Option<&header::HeaderValue>, expected: &str) -> bool {
    parts_ct
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(expected))
}

async fn body_bytes(req: Request, state: &Arc<App>, oauth: bool) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let code = if oauth {
                ErrorCode::InvalidRequest
            } else {
                ErrorCode::PayloadTooLarge
            };
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code,
                format!(
                    "The request body is larger than {} KiB.",
                    MAX_BODY_BYTES / 1024
                ),
            )
        } else {
            ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "The request body could not be read.",
            )
        }
    })
}

/// A JSON body (`application/json`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<App>> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<App>) -> Result<Self, Self::Rejection> {
        if !content_type_is(req.headers().get(header::CONTENT_TYPE), "application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = body_bytes(req, state, false).await?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                    ErrorCode::InvalidJson,
                    format!(
                        "The body is not valid JSON (line {}, column {}).",
                        e.line(),
                        e.column()
                    ),
                ),
                // Well-formed JSON of the wrong shape: serde's message names the field
                // and never echoes a value.
                Category::Data => ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!(
                        "The request is missing a field or has one of the wrong type: {}",
                        data_error_text(&e)
                    ),
                ),
            }
        })
    }
}

/// serde's data errors can quote the value that was sent (`invalid type: integer
/// `12345678`...`), which may be a password. Field names are kept, quoted values go.
fn data_error_text(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or_default();
    if msg.starts_with("missing field") {
        return format!("{msg}.");
    }
    let mut out = String::with_capacity(msg.len());
    let mut quoted = false;
    for c in msg.chars() {
        if c == '`' {
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    let out = out.replace(" ,", ",").replace("  ", " ");
    format!("{}.", out.trim())
}

/// A form body (`application/x-www-form-urlencoded`), as the OAuth endpoints take.
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<App>> for FormBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<App>) -> Result<Self, Self::Rejection> {
        if !content_type_is(
            req.headers().get(header::CONTENT_TYPE),
            "application/x-www-form-urlencoded",
        ) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::InvalidRequest,
                "Send the body as a form with Content-Type: application/x-www-form-urlencoded.",
            ));
        }
        let bytes = body_bytes(req, state, true).await?;
        serde_urlencoded::from_bytes(&bytes)
            .map(FormBody)
            .map_err(|e| {
                let msg = e.to_string();
                let text = if msg.starts_with("missing field") {
                    format!("The form is missing a parameter: {msg}.")
                } else {
                    "The form could not be read.".to_owned()
                };
                ApiError::bad_request(ErrorCode::InvalidRequest, text)
            })
    }
}

/// The verified claims of the request's bearer token.
pub struct Bearer(pub Claims);

impl FromRequestParts<Arc<App>> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::invalid_token("Send an access token: Authorization: Bearer <token>.")
            })?
            .to_str()
            .map_err(|_| ApiError::invalid_token("The Authorization header is not readable."))?;
        let (scheme, token) = value.split_once(' ').ok_or_else(|| {
            ApiError::invalid_token("Use the Bearer scheme: Authorization: Bearer <token>.")
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::invalid_token(
                "Use the Bearer scheme: Authorization: Bearer <token>.",
            ));
        }
        app.authenticate(token.trim())
            .map(Bearer)
            .map_err(ApiError::from)
    }
}

/// A resource server authenticated with HTTP Basic (`--resource-server NAME:SECRET`).
pub struct ResourceServerAuth;

impl FromRequestParts<Arc<App>> for ResourceServerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let creds = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, b64)| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
            })
            .and_then(|raw| String::from_utf8(raw).ok());
        let ok = creds
            .as_deref()
            .and_then(|c| c.split_once(':'))
            .is_some_and(|(name, secret)| {
                // RFC 6749 §2.3.1: client credentials are form-urlencoded inside Basic.
                let name = urldecode(name);
                let secret = urldecode(secret);
                app.resource_server_ok(&name, &secret)
            });
        if ok {
            Ok(ResourceServerAuth)
        } else {
            Err(ApiError::invalid_client())
        }
    }
}

fn urldecode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The client's address: the connection's peer, or the last X-Forwarded-For entry
/// when the server is configured to trust its proxy.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<Arc<App>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        if app.settings().trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(ClientIp(Some(ip)));
        }
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}
