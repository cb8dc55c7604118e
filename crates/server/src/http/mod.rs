//! The HTTP face of the server: routes, and the translation between HTTP and [`App`].

mod error;
mod events;
pub mod extract;
pub mod listener;
mod openapi;
mod openapi_account;
mod revocations;
pub mod web;
pub mod web_page;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use proto::account::{
    ChangePassword, PasswordChanged, TwoStepConfirm, TwoStepDisable, TwoStepSignIn, TwoStepStart,
};
use proto::discovery::ServerMetadata;
use proto::error::ErrorCode;
use proto::sessions::{RenameRequest, RevokeRequest, RevokeResponse, WipeReceipt};
use proto::tokens::SignInRequest;
use proto::{CreateAccountRequest, CreateAccountResponse, SessionId};
use serde::Deserialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, chain as error_chain};
use extract::{
    Bearer, ClientIp, FormBody, JsonBody, MAX_BODY_BYTES, QueryParams, ResourceServerAuth,
};

use crate::app::App;

/// Every event stream sends a comment at least this often, so proxies keep idle
/// streams open (API.md: at least every 15 s).
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Every request but an event stream is answered within this, or gets a 503.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a signed-in session calls with its token: under `/v1` with a bearer token, and
/// again under `/account/api/v1` with the account page's cookie.
fn session_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/sessions", get(list_sessions))
        .route("/sessions/revoke", post(revoke_scope))
        .route(
            "/sessions/{id}",
            patch(rename_session).delete(delete_session),
        )
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route(
            "/account/two-step",
            post(two_step_start).delete(two_step_disable),
        )
        .route("/account/two-step/confirm", post(two_step_confirm))
        .route("/activity", get(activity))
        .route_layer(axum::middleware::from_fn(request_timeout))
        // The event stream stays open as long as its token allows: no request timeout.
        .route("/events", get(events::stream))
}

/// The API's routes. `with_metrics`: whether `/metrics` is served here too (it is not
/// when `--metrics-listen` gives it a listener of its own).
pub fn router(app: Arc<App>, with_metrics: bool) -> Router {
    let page = web::router(session_routes()).layer(axum::middleware::from_fn_with_state(
        app.clone(),
        web::guard,
    ));
    let mut api = Router::new();
    if with_metrics {
        api = api.route("/metrics", get(metrics));
    }
    api
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi::document))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/v1/accounts", post(create_account))
        .route("/v1/sessions", post(sign_in))
        .route("/v1/sessions/two-step", post(sign_in_second_step))
        .route("/v1/sessions/{id}/wipe-receipt", post(wipe_receipt))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/introspect", post(introspect))
        .route("/v1/revocations", get(revocations::page))
        .route_layer(axum::middleware::from_fn(request_timeout))
        // The revocation stream is exempt from the request timeout, like device streams.
        .route("/v1/revocations/stream", get(revocations::stream))
        .nest("/v1", session_routes())
        .nest(web::API_PATH, page)
        .merge(web_page::router().layer(axum::middleware::from_fn_with_state(
            app.clone(),
            web::guard,
        )))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(count_request))
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

/// The router of `--metrics-listen`: `/metrics` alone.
pub fn metrics_router() -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
}

/// `GET /metrics`: Prometheus text format.
async fn metrics() -> Response {
    let mut res = crate::metrics::render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// Counts every answered request by its route template (never the raw path: ids and
/// junk paths would make a series each) and status.
async fn count_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let start = std::time::Instant::now();
    let res = next.run(req).await;
    crate::metrics::request(
        &route,
        method.as_str(),
        res.status().as_u16(),
        start.elapsed(),
    );
    res
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

/// Liveness: the process answers. No database call, so it answers at once even while
/// the database is down (an orchestrator must not restart a server for that).
async fn health() -> Response {
    no_store(StatusCode::OK, serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers within a second and the feed follower is current;
/// otherwise 503, so a load balancer sends traffic elsewhere until it recovers.
async fn ready(State(app): State<Arc<App>>) -> Response {
    let readiness = app.readiness().await;
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut res = no_store(
        status,
        serde_json::json!({
            "status": if readiness.is_ready() { "ready" } else { "unavailable" },
            "database": readiness.database,
            "feed_current": readiness.feed_current,
        }),
    );
    if !readiness.is_ready() {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
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

#[derive(Deserialize)]
struct ListQuery {
    include: Option<String>,
}

async fn list_sessions(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    let signed_out = match q.include.as_deref() {
        None | Some("") => false,
        Some("signed_out") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "The only value of `include` is `signed_out`.",
            ));
        }
    };
    Ok(no_store(
        StatusCode::OK,
        app.list_sessions(&caller, signed_out).await?,
    ))
}

async fn sign_in_second_step(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<TwoStepSignIn>,
) -> Result<Response, ApiError> {
    let tokens = app.sign_in_second_step(req, ip).await?;
    Ok(no_store(StatusCode::CREATED, tokens))
}

async fn wipe_receipt(
    State(app): State<Arc<App>>,
    ClientIp(ip): ClientIp,
    id: Result<Path<String>, PathRejection>,
    JsonBody(req): JsonBody<WipeReceipt>,
) -> Result<StatusCode, ApiError> {
    let id = session_id(id)?;
    app.wipe_receipt(id, req.refresh_token.expose(), ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn account(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
) -> Result<Response, ApiError> {
    Ok(no_store(StatusCode::OK, app.account(&caller).await?))
}

async fn change_password(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<ChangePassword>,
) -> Result<Response, ApiError> {
    let revoked = app.change_password(&caller, req, ip).await?;
    Ok(no_store(StatusCode::OK, PasswordChanged { revoked }))
}

async fn two_step_start(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<TwoStepStart>,
) -> Result<Response, ApiError> {
    let enrolment = app.two_step_start(&caller, &req.password, ip).await?;
    Ok(no_store(StatusCode::OK, enrolment))
}

async fn two_step_confirm(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<TwoStepConfirm>,
) -> Result<Response, ApiError> {
    let codes = app.two_step_confirm(&caller, &req.code, ip).await?;
    Ok(no_store(StatusCode::OK, codes))
}

async fn two_step_disable(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<TwoStepDisable>,
) -> Result<StatusCode, ApiError> {
    app.two_step_disable(&caller, &req.password, &req.code, ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
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
