//! Every error answer: `{"error", "error_description"}` with the right status and headers.

use std::borrow::Cow;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use proto::error::{ErrorBody, ErrorCode};

use crate::app::AppError;

/// What a 503 for an unreachable database tells clients to wait.
const DATABASE_RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    pub retry_after: Option<Duration>,
    pub www_authenticate: Option<&'static str>,
    /// `mfa_required`: the challenge and how long it can be answered.
    pub challenge: Option<proto::SecretText>,
    pub expires_in: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: ErrorCode,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            retry_after: None,
            www_authenticate: None,
            challenge: None,
            expires_in: None,
        }
    }

    pub fn bad_request(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "No such resource.",
        )
    }

    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            description,
        );
        e.www_authenticate = Some("Bearer error=\"invalid_token\"");
        e
    }

    pub fn invalid_client() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidClient,
            "Resource-server credentials (HTTP Basic) are missing or wrong.",
        );
        e.www_authenticate = Some("Basic realm=\"session-manager\"");
        e
    }

    /// 503 while the database cannot be reached: nothing was done, try again shortly.
    pub fn unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TemporarilyUnavailable,
            "The server cannot reach its database right now; nothing was changed. Try again shortly.",
        );
        e.retry_after = Some(DATABASE_RETRY_AFTER);
        e
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerError,
            "The server failed to handle the request. It has been logged; try again.",
        )
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "The email or the password is wrong.",
            ),
            AppError::TooManyAttempts(wait) => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::TooManyAttempts,
                    format!(
                        "Too many failed sign-in attempts. Try again in {} seconds.",
                        wait.as_secs().max(1)
                    ),
                );
                err.retry_after = Some(wait);
                err
            }
            AppError::WrongPassword => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::InvalidCredentials,
                "The password is wrong.",
            ),
            AppError::MfaRequired {
                challenge,
                expires_in,
            } => {
                let mut err = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    ErrorCode::MfaRequired,
                    "This account has two-step sign-in: answer the challenge with a code from your authenticator app (POST /v1/sessions/two-step).",
                );
                err.challenge = Some(challenge);
                err.expires_in = Some(expires_in.as_secs());
                err
            }
            AppError::InvalidCode => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCode,
                "The code is wrong or was already used. Wait for the next one and try again.",
            ),
            AppError::WrongCode => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidCode,
                "The code is wrong or was already used. Wait for the next one and try again.",
            ),
            AppError::InvalidChallenge => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidChallenge,
                "This sign-in expired or was already completed; sign in again.",
            ),
            AppError::Busy(wait) => {
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::TemporarilyUnavailable,
                    format!(
                        "The server is busy checking passwords. Try again in {} seconds.",
                        wait.as_secs().max(1)
                    ),
                );
                err.retry_after = Some(wait);
                err
            }
            AppError::InvalidClient => ApiError::invalid_client(),
            AppError::EmailTaken => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::EmailTaken,
                "That email address is already registered.",
            ),
            AppError::SignupDisabled => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::SignupDisabled,
                "Sign-up is closed on this server; ask its administrator for an account.",
            ),
            AppError::WeakPassword(why) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::WeakPassword,
                why,
            ),
            AppError::Invalid(why) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                why,
            ),
            AppError::Conflict(why) => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, why)
            }
            e @ AppError::Deceptive { .. } => ApiError::bad_request(
                ErrorCode::ValidationFailed,
                format!("{e}; use only visible characters."),
            ),
            AppError::InvalidToken(why) => ApiError::invalid_token(why.to_string()),
            AppError::InvalidGrant(why) => ApiError::bad_request(ErrorCode::InvalidGrant, why),
            AppError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound,
                "No such session on this account.",
            ),
            e if e.is_unavailable() => {
                tracing::warn!(error = %chain(&e), "request failed: the database is unavailable");
                crate::metrics::database_unavailable();
                ApiError::unavailable()
            }
            e @ (AppError::Store(_)
            | AppError::Hash(_)
            | AppError::Keys(_)
            | AppError::Sealed(_)) => {
                tracing::error!(error = %chain(&e), "request failed");
                ApiError::internal()
            }
        }
    }
}

/// An error with its sources, for the log: "storage failed: database error: …".
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = ErrorBody::new(self.code, self.description.into_owned());
        body.challenge = self.challenge;
        body.expires_in = self.expires_in;
        let mut res = (self.status, Json(body)).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(wait) = self.retry_after {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
        }
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        res
    }
}
