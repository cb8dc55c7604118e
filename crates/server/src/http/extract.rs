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

fn content_type_is(content_type: Option<&str>, expected: &str) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(expected))
}

/// A request body must arrive whole within this.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn body_bytes(req: Request, state: &Arc<App>, oauth: bool) -> Result<Bytes, ApiError> {
    let read = tokio::time::timeout(BODY_READ_TIMEOUT, Bytes::from_request(req, state))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::RequestTimeout,
                "The request body did not arrive in time.",
            )
        })?;
    read.map_err(|rejection| {
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
        // The content type is judged before the body is read: a wrong one is a 415
        // whatever its size.
        accept_json(content_type(&req))?;
        let bytes = body_bytes(req, state, false).await?;
        json_from_bytes(&bytes).map(JsonBody)
    }
}

fn content_type(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Parses a JSON request body as [`JsonBody`] does, once the body has been read:
/// the content type, then the value. Pure, so it can be fuzzed.
pub fn parse_json<T: DeserializeOwned>(
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<T, ApiError> {
    accept_json(content_type)?;
    json_from_bytes(bytes)
}

fn accept_json(content_type: Option<&str>) -> Result<(), ApiError> {
    if content_type_is(content_type, "application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with Content-Type: application/json.",
        ))
    }
}

fn json_from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(&e))?;
    // Only whitespace may follow the value.
    de.end().map_err(|e| syntax_error(&e))?;
    Ok(value)
}

/// The error for a JSON body that did not deserialize. Built from the field's path and
/// the error's category only: serde's own messages can quote the value that was sent
/// (`invalid type: string "…"`), which may be a password.
fn json_error(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_json::error::Category;
    let inner = e.inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => syntax_error(inner),
        Category::Data => {
            let path = field_path(e.path());
            // "missing field `name`": the name is one of ours, from the schema.
            let missing = inner
                .to_string()
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next().map(str::to_owned));
            let text = match (missing, path.is_empty()) {
                (Some(field), true) => format!("The field `{field}` is missing."),
                (Some(field), false) => format!("The field `{path}.{field}` is missing."),
                (None, true) => "The body must be a JSON object of the documented shape.".into(),
                (None, false) => format!("The field `{path}` has the wrong type or value."),
            };
            ApiError::bad_request(ErrorCode::InvalidRequest, text)
        }
    }
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(
        ErrorCode::InvalidJson,
        format!(
            "The body is not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        ),
    )
}

/// `device.name`, from the path serde followed. Only the names of our own fields and
/// array indices can appear here (unknown fields are ignored, never reported).
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            // An enum's variant name is the value that was sent: never shown.
            Segment::Enum { .. } => {}
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                // Map keys could come from the request; ours are field names.
                if key.len() <= 32 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.push_str(key);
                } else {
                    out.push('…');
                }
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// A form body (`application/x-www-form-urlencoded`), as the OAuth endpoints take.
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<App>> for FormBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<App>) -> Result<Self, Self::Rejection> {
        accept_form(content_type(&req))?;
        let bytes = body_bytes(req, state, true).await?;
        form_from_bytes(&bytes, "form").map(FormBody)
    }
}

/// Parses a form request body as [`FormBody`] does, once the body has been read.
/// Pure, so it can be fuzzed.
pub fn parse_form<T: DeserializeOwned>(
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<T, ApiError> {
    accept_form(content_type)?;
    form_from_bytes(bytes, "form")
}

fn accept_form(content_type: Option<&str>) -> Result<(), ApiError> {
    if content_type_is(content_type, "application/x-www-form-urlencoded") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidRequest,
            "Send the body as a form with Content-Type: application/x-www-form-urlencoded.",
        ))
    }
}

/// `what` names the place: "form" or "query string".
fn form_from_bytes<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_urlencoded::from_bytes(bytes).map_err(|e| {
        let msg = e.to_string();
        // "missing field `name`": the name is one of ours; other messages may quote
        // what was sent.
        let text = if msg.starts_with("missing field") {
            format!("The {what} is missing a parameter: {msg}.")
        } else {
            format!("The {what} could not be read.")
        };
        ApiError::bad_request(ErrorCode::InvalidRequest, text)
    })
}

/// A query string, read like a form. axum's own `Query` would answer a bad one in
/// plain text; every error of this API is the JSON error shape.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        form_from_bytes(
            parts.uri.query().unwrap_or_default().as_bytes(),
            "query string",
        )
        .map(QueryParams)
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
        // Under the account page's API, its session cookie stands for the token.
        if parts.extensions.get::<super::web::WebApi>().is_some()
            && parts.headers.get(header::AUTHORIZATION).is_none()
        {
            let cookie = super::web::read_cookie(&parts.headers, super::web::SESSION_COOKIE)
                .ok_or_else(|| ApiError::invalid_token("Sign in on the account page first."))?;
            let ClientIp(ip) = ClientIp::from_request_parts(parts, app)
                .await
                .unwrap_or(ClientIp(None));
            return app
                .authenticate_web(&cookie, ip)
                .await
                .map(Bearer)
                .map_err(ApiError::from);
        }
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
        let ClientIp(ip) = ClientIp::from_request_parts(parts, app)
            .await
            .unwrap_or(ClientIp(None));
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
        // RFC 6749 §2.3.1: client credentials are form-urlencoded inside Basic.
        let pair = creds
            .as_deref()
            .and_then(|c| c.split_once(':'))
            .map(|(name, secret)| (urldecode(name), urldecode(secret)));
        app.authenticate_resource_server(pair.as_ref().map(|(n, s)| (n.as_str(), s.as_str())), ip)?;
        Ok(ResourceServerAuth)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proto::tokens::SignInRequest;

    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn a_wrong_content_type_is_a_415_whatever_the_body() {
        for ct in [None, Some("text/plain"), FORM] {
            let e = parse_json::<SignInRequest>(ct, b"{}")
                .err()
                .map(|e| e.status);
            assert_eq!(e, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE), "{ct:?}");
        }
        let e = parse_form::<crate::http::TokenForm>(JSON, b"").err();
        assert_eq!(
            e.map(|e| e.status),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }

    #[test]
    fn errors_name_the_field_but_never_quote_the_value() {
        let secret = "hunter2-\u{e9}\"!";
        for body in [
            serde_json::json!({"email": "a@b.c", "password": {"x": secret}, "device": {"name": "x"}}),
            serde_json::json!({"email": [secret], "password": secret, "device": {"name": "x"}}),
            serde_json::json!({"email": "a@b.c", "password": secret, "device": secret}),
        ] {
            let Err(e) = parse_json::<SignInRequest>(JSON, body.to_string().as_bytes()) else {
                panic!("accepted: {body}");
            };
            assert_eq!(e.code, ErrorCode::InvalidRequest);
            assert!(!e.description.contains("hunter2"), "{}", e.description);
        }
        let form = format!(
            "refresh_token={}",
            form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
        );
        let Err(e) = parse_form::<crate::http::TokenForm>(FORM, form.as_bytes()) else {
            panic!("accepted: {form}");
        };
        assert_eq!(
            e.description,
            "The form is missing a parameter: missing field `grant_type`."
        );
    }
}
