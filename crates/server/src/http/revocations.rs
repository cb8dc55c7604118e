//! The revocation feed for resource servers (guards): a page API and its SSE twin.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use proto::error::ErrorCode;
use proto::revocations::{EVENT_HEARTBEAT, EVENT_REVOCATION, RevocationsPage};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::error::ApiError;
use super::extract::{QueryParams, ResourceServerAuth};
use crate::app::App;
use crate::store::FeedEntry;

#[derive(Deserialize)]
pub struct After {
    after: Option<String>,
}

/// A cursor as this server gives them out: a decimal feed position (18 digits always
/// fit), or nothing for "from the start". The OpenAPI document says the same.
fn parse_cursor(raw: Option<&str>) -> Result<i64, ApiError> {
    match raw {
        None | Some("") => Ok(0),
        Some(c) => (c.len() <= 18 && c.bytes().all(|b| b.is_ascii_digit()))
            .then(|| c.parse::<i64>().ok())
            .flatten()
            .ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    "The cursor is not one this server gave out.",
                )
            }),
    }
}

pub async fn page(
    State(app): State<Arc<App>>,
    _rs: ResourceServerAuth,
    QueryParams(q): QueryParams<After>,
) -> Result<Json<RevocationsPage>, ApiError> {
    let after = parse_cursor(q.after.as_deref())?;
    Ok(Json(app.revocations_page(after).await?))
}

pub async fn stream(
    State(app): State<Arc<App>>,
    _rs: ResourceServerAuth,
    headers: HeaderMap,
    QueryParams(q): QueryParams<After>,
) -> Result<Response, ApiError> {
    // Subscribe first, then read the backlog: nothing falls between the two.
    let rx = app.subscribe_revocations();
    let header_cursor = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let after = parse_cursor(header_cursor.or(q.after.as_deref()))?;
    let (backlog, _) = app.revocations_after(after).await?;
    let heartbeat = app.settings().feed_heartbeat;
    let state = FeedStream {
        backlog: backlog.into_iter(),
        caught_up: false,
        last_id: after,
        rx,
        app: app.clone(),
        heartbeat,
        _open: crate::metrics::OpenStream::new(crate::metrics::Stream::Revocation),
    };
    let sse = Sse::new(entries(state)).keep_alive(KeepAlive::new().interval(super::SSE_KEEP_ALIVE));
    Ok(sse.into_response())
}

struct FeedStream {
    backlog: std::vec::IntoIter<FeedEntry>,
    /// Whether the heartbeat that ends the backlog has been sent.
    caught_up: bool,
    last_id: i64,
    rx: broadcast::Receiver<Arc<FeedEntry>>,
    app: Arc<App>,
    heartbeat: Duration,
    /// Counted as open while the stream lives.
    _open: crate::metrics::OpenStream,
}

fn to_sse(e: &FeedEntry) -> Option<SseEvent> {
    let data = serde_json::to_string(&e.to_revocation()?).ok()?;
    Some(
        SseEvent::default()
            .event(EVENT_REVOCATION)
            .id(e.id.to_string())
            .data(data),
    )
}

fn heartbeat_event() -> SseEvent {
    let at = crate::time::Millis::now().to_datetime().to_rfc3339();
    SseEvent::default()
        .event(EVENT_HEARTBEAT)
        .data(format!("{{\"at\":\"{at}\"}}"))
}

fn entries(state: FeedStream) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(state, |mut st| async move {
        while let Some(e) = st.backlog.next() {
            st.last_id = e.id;
            if let Some(ev) = to_sse(&e) {
                return Some((Ok(ev), st));
            }
        }
        // A heartbeat means "this instance has every revocation committed until a
        // moment ago": sent only while its feed follower is current (its database and
        // notification link answer), so a guard fed by a cut-off instance hears silence
        // and fails closed rather than trusting a stale denylist.
        if !st.caught_up && st.app.feed_is_current() {
            // The backlog is done: a heartbeat right away tells the guard it has
            // everything up to the moment it connected.
            st.caught_up = true;
            return Some((Ok(heartbeat_event()), st));
        }
        loop {
            let next = tokio::select! {
                _ = st.app.shutdown().cancelled() => return None,
                _ = tokio::time::sleep(st.heartbeat) => {
                    if st.app.feed_is_current() {
                        st.caught_up = true;
                        return Some((Ok(heartbeat_event()), st));
                    }
                    continue;
                }
                r = st.rx.recv() => r,
            };
            match next {
                Ok(e) if e.id <= st.last_id => continue,
                Ok(e) => {
                    st.last_id = e.id;
                    if let Some(ev) = to_sse(&e) {
                        return Some((Ok(ev), st));
                    }
                }
                // Fell behind: end the stream; the guard resumes from its cursor.
                Err(broadcast::error::RecvError::Lagged(_))
                | Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
