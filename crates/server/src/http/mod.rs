//! The HTTP face of the server: routes, and the translation between HTTP and [`App`].

mod error;
mod events;
pub mod extract;
pub mod listener;
mod openapi;
mod revocations;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use proto::discovery::ServerMetadata;
use proto::error::ErrorCode;
use proto::sessions::{RenameRequest, RevokeRequest, RevokeResponse};
use proto::tokens::SignInRequest;
use proto::{CreateAccountRequest, CreateAccountResponse, SessionId};
use serde::Deserialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, chain as error_chain};
use extract::{Bearer, ClientIp, FormBody, JsonBody, MAX_BODY_BYTES, ResourceServerAuth};

use crate::app::App;

/// Every event stream sends a comment at least this often, so proxies keep idle
/// streams open (API.md: at least every 15 s).
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Every request but an event stream is answered within this, or gets a 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(app: Arc<App>) -> Router {
    // Event streams stay open as long as their token allows: no request timeout.
    let streams = Router::new()
        .route("/v1/events", get(events::stream))
        .route("/v1/revocations/stream", get(revocations::stream));
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi::document))
        .route("/healthz", get(health))
        .route("/v1/accounts", post(create_account))
        .route("/v1/sessions", post(sign_in).get(list_sessions))
        .route("/v1/sessions/revoke", post(revoke_scope))
        .route("/v1/sessions/{id}", patch(rename_session).delete(delete_session))
        .route("/v1/activity", get(activity))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect))
        .route("/v1/revocations", get(revocations::page))
        .route_layer(axum::middleware::from_fn(request_timeout))
        .merge(streams)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response()))
        .layer(
            // Method, path and status only: no headers, no query strings, no bodies,
            // so no token can reach a log line through here.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _: &tracing::Span| {
                    tracing::debug!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1e3, "answered");
                }),
        )
        .with_state(app)
}

async fn request_timeout(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!("a request took longer than the request timeout");
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "The server could not answer in time; try again shortly.",
            );
            e.retry_after = Some(Duration::from_secs(5));
            e.into_response()
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "That method is not allowed on this resource.",
    )
}

/// JSON that must not be cached (tokens, personal data).
fn no_store<T: serde::Serialize>(status: StatusCode, body: T) -> Response {
    let mut res = (status, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn metadata(State(app): State<Arc<App>>) -> Json<ServerMetadata> {
    Json(app.metadata())
}

async fn jwks(State(app): State<Arc<App>>) -> Response {
    let mut res = Json(app.jwks()).into_response();
    // Short caching: validators refetch on an unknown kid anyway.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    res
}

async fn health(State(app): State<Arc<App>>) -> Result<Json<serde_json::Value>, ApiError> {
    app.health().await.map_err(|e| {
        tracing::error!(error = %crate::http::error::chain(&e), "health check: database unreachable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TemporarilyUnavailable,
            "The database is unreachable.",
        )
    })?;
    Ok(Json(serde_json::json!({"status": "ok"})))
}

async fn create_account(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<CreateAccountRequest>,
) -> Result<Response, ApiError> {
    let user_id = app.create_account(&req.email, &req.password, ip).await?;
    Ok(no_store(
        StatusCode::CREATED,
        CreateAccountResponse { user_id },
    ))
}

async fn sign_in(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<SignInRequest>,
) -> Result<Response, ApiError> {
    let tokens = app.sign_in(req, ip).await?;
    Ok(no_store(StatusCode::CREATED, tokens))
}

async fn list_sessions(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
) -> Result<Response, ApiError> {
    Ok(no_store(StatusCode::OK, app.list_sessions(&caller).await?))
}

/// A session id from the path. Anything that is not a UUID (undecodable percent
/// escapes included) cannot be one of the caller's sessions, so it gets the same 404
/// as an unknown id.
fn session_id(raw: Result<Path<String>, PathRejection>) -> Result<SessionId, ApiError> {
    raw.ok()
        .and_then(|Path(raw)| raw.parse().ok())
        .ok_or_else(|| ApiError::from(crate::app::AppError::NotFound))
}

async fn rename_session(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    ClientIp(ip): ClientIp,
    id: Result<Path<String>, PathRejection>,
    JsonBody(req): JsonBody<RenameRequest>,
) -> Result<Response, ApiError> {
    let id = session_id(id)?;
    let info = app
        .rename_session(&caller, id, &req.device.name, ip)
        .await?;
    Ok(no_store(StatusCode::OK, info))
}

async fn delete_session(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    ClientIp(ip): ClientIp,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = session_id(id)?;
    app.delete_session(&caller, id, ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_scope(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<RevokeRequest>,
) -> Result<Response, ApiError> {
    let revoked = app.revoke_scope(&caller, req.scope, ip).await?;
    Ok(no_store(StatusCode::OK, RevokeResponse { revoked }))
}

async fn activity(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
) -> Result<Response, ApiError> {
    Ok(no_store(StatusCode::OK, app.activity(&caller).await?))
}

/// The form of `POST /oauth/token`.
#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: String,
    refresh_token: Option<String>,
}

async fn token(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    FormBody(form): FormBody<TokenForm>,
) -> Result<Response, ApiError> {
    if form.grant_type != proto::tokens::GRANT_REFRESH_TOKEN {
        return Err(ApiError::bad_request(
            ErrorCode::UnsupportedGrantType,
            "Only grant_type=refresh_token is supported; sign in with POST /v1/sessions.",
        ));
    }
    let presented = form
        .refresh_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "The refresh_token parameter is missing.",
            )
        })?;
    let tokens = app.refresh(&presented, ip).await?;
    Ok(no_store(StatusCode::OK, tokens))
}

/// The form of `POST /oauth/revoke` and `POST /oauth/introspect`.
#[derive(Deserialize)]
pub struct TokenParam {
    token: Option<String>,
    #[allow(dead_code)] // accepted per RFC 7009 §2.1; the token's form tells its type
    token_type_hint: Option<String>,
}

fn token_param(form: TokenParam) -> Result<String, ApiError> {
    form.token.filter(|t| !t.is_empty()).ok_or_else(|| {
        ApiError::bad_request(ErrorCode::InvalidRequest, "The token parameter is missing.")
    })
}

async fn revoke(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    FormBody(form): FormBody<TokenParam>,
) -> Result<Response, ApiError> {
    let token = token_param(form)?;
    app.revoke_token(&token, ip).await?;
    Ok(no_store(StatusCode::OK, serde_json::json!({})))
}

async fn introspect(
    State(app): State<Arc<App>>,
    _rs: ResourceServerAuth,
    FormBody(form): FormBody<TokenParam>,
) -> Result<Response, ApiError> {
    let token = token_param(form)?;
    Ok(no_store(StatusCode::OK, app.introspect(&token).await?))
}
