//! The tower layer and the axum extractor.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode, header};
use proto::error::{ErrorBody, ErrorCode};
use proto::tokens::Claims;
use token::TokenError;
use tower_layer::Layer;
use tower_service::Service;

use crate::{Denied, Guard};

/// Adds the guard to a service: requests without a valid, unrevoked access token are
/// answered 401 (503 while the revocation feed is stale) and never reach the service.
#[derive(Clone, Debug)]
pub struct GuardLayer {
    guard: Guard,
}

impl GuardLayer {
    pub fn new(guard: Guard) -> Self {
        Self { guard }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            guard: self.guard.clone(),
            inner,
        }
    }
}

#[derive(Clone, Debug)]
pub struct GuardService<S> {
    guard: Guard,
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn bearer<B>(req: &Request<B>) -> &str {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, t)| t.trim())
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GuardService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        match self.guard.decide(bearer(&req)) {
            Ok(claims) => {
                req.extensions_mut().insert(GuardedClaims(claims));
                Box::pin(inner.call(req))
            }
            // An unknown key may be a rotation: the async path refetches the JWKS.
            Err(Denied::Invalid(TokenError::UnknownKey { .. })) => {
                let guard = self.guard.clone();
                Box::pin(async move {
                    match guard.authorize(bearer(&req)).await {
                        Ok(claims) => {
                            req.extensions_mut().insert(GuardedClaims(claims));
                            inner.call(req).await
                        }
                        Err(denied) => Ok(refusal(&denied)),
                    }
                })
            }
            Err(denied) => {
                self.guard.inner.metrics.refused(&denied);
                let res = refusal(&denied);
                Box::pin(async move { Ok(res) })
            }
        }
    }
}

/// The answer to a refused request, in the Session API's error shape.
pub fn refusal<B: From<String>>(denied: &Denied) -> http::Response<B> {
    let (status, code, text) = match denied {
        Denied::FeedStale => (
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TemporarilyUnavailable,
            "Token revocations cannot be checked right now; try again shortly.".to_owned(),
        ),
        Denied::Missing => (
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            "Send an access token: Authorization: Bearer <token>.".to_owned(),
        ),
        other => (
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            other.to_string(),
        ),
    };
    let body = serde_json::to_string(&ErrorBody::new(code, text)).unwrap_or_default();
    let mut res = http::Response::new(B::from(body));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    } else {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}

/// The verified claims of the request, for handlers behind [`GuardLayer`].
#[derive(Clone, Debug)]
pub struct GuardedClaims(pub Arc<Claims>);

impl<S: Send + Sync> FromRequestParts<S> for GuardedClaims {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<GuardedClaims>()
            .cloned()
            .ok_or_else(|| {
                // Only reachable when a route using the extractor is not behind the layer:
                // a wiring mistake, so refuse rather than serve unauthenticated.
                tracing::error!("GuardedClaims used on a route without GuardLayer");
                refusal::<axum_core::body::Body>(&Denied::Missing).into_response()
            })
    }
}
