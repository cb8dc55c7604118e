//! The account page itself, at `/account`: the desktop app's views built for the browser
//! (`ui/`, `npm run build:web`), which `build.rs` builds into `OUT_DIR` and this module
//! embeds, so the binary serves it with no file to deploy. Its API is `web.rs`.
//!
//! The index is `no-cache` (a new server's page is seen at the next load); everything
//! under `assets/` is named by Vite after a hash of its content, so it is cached for
//! good. Every answer goes through `web::guard` (the CSP and the other headers, and a
//! 404 under `--no-web`).

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use proto::error::ErrorCode;
use rust_embed::Embed;

use super::error::ApiError;
use crate::app::App;

#[derive(Embed)]
#[folder = "$OUT_DIR/account-page/"]
struct Page;

/// The page's HTML (Vite names it after `ui/web.html`).
const INDEX: &str = "web.html";
const INDEX_CACHE: &str = "no-cache";
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// `/account`, `/account/` and `/account/assets/…` (the API, `/account/api`, is
/// `web::router`'s).
pub fn router() -> Router<Arc<App>> {
    // `any`, answering other methods here: so that every answer, a 405 too, goes
    // through the layer the caller puts on these routes (`web::guard`).
    Router::new()
        .route("/account", any(index))
        .route("/account/", any(index))
        .route("/account/assets/{*file}", any(asset))
        // Anything else under /account is not there, said with the page's headers too.
        .route("/account/{*rest}", any(not_found))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// The page's files are only read.
fn readable(method: &Method) -> Result<(), ApiError> {
    if method == Method::GET || method == Method::HEAD {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "That method is not allowed on this resource.",
        ))
    }
}

/// Whether this binary carries the real page (not the note `build.rs` leaves when it
/// could not build it).
pub fn built() -> bool {
    Page::iter().any(|f| f.starts_with("assets/"))
}

async fn index(method: Method, headers: HeaderMap) -> Result<Response, ApiError> {
    readable(&method)?;
    Ok(serve(INDEX, INDEX_CACHE, &headers))
}

async fn asset(
    method: Method,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    readable(&method)?;
    Ok(serve(&format!("assets/{file}"), ASSET_CACHE, &headers))
}

fn serve(path: &str, cache: &'static str, request: &HeaderMap) -> Response {
    let Some(file) = Page::get(path) else {
        return ApiError::not_found().into_response();
    };
    let etag = format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&file.metadata.sha256_hash()[..18])
    );
    let mut res = if request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut res = file.data.into_owned().into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, content_type(file.metadata.mimetype()));
        res
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// The file's type, with its charset for text (every text file of the page is UTF-8).
fn content_type(mime: &str) -> HeaderValue {
    let text =
        mime.starts_with("text/") || mime == "application/javascript" || mime == "application/json";
    let value = if text && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}
