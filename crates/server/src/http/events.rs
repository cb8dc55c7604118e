//! `GET /v1/events`: the device's live event stream (Server-Sent Events).
//!
//! A stream lives only as long as the right to read it: it ends when the access token
//! it was opened with expires or is revoked, or its session or account is signed out
//! (a revocation of one of the account's tokens signals its streams to check theirs).
//! The client reconnects with a fresh token and resumes with `Last-Event-ID`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use proto::SessionId;
use proto::events::Event;
use tokio::sync::broadcast;

use super::error::ApiError;
use super::extract::Bearer;
use crate::app::App;
use crate::feed::{Signal, StreamEvent};

pub async fn stream(
    State(app): State<Arc<App>>,
    Bearer(caller): Bearer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Subscribe before anything else, so nothing published from here on is missed.
    let rx = app.subscribe_device_events(caller.sub);
    let resume_after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let (backlog, start) = match resume_after {
        Some(after) => (app.device_events_after(caller.sub, after).await?, after),
        None => (Vec::new(), app.device_stream_start().await?),
    };
    let state = StreamState {
        expires: tokio::time::Instant::now()
            + std::time::Duration::from_secs(
                u64::try_from(caller.exp - crate::time::Millis::now().secs()).unwrap_or(0),
            ),
        claims: caller.clone(),
        sid: caller.sid,
        hello: Some(start),
        backlog: backlog.into_iter(),
        last_id: resume_after.unwrap_or(0),
        rx,
        done: false,
        app: app.clone(),
        _open: crate::metrics::OpenStream::new(crate::metrics::Stream::Device),
    };
    let sse = Sse::new(events(state)).keep_alive(
        KeepAlive::new()
            .interval(super::SSE_KEEP_ALIVE)
            .text("keep-alive"),
    );
    Ok(sse.into_response())
}

struct StreamState {
    /// The token the stream was opened with, and when it expires.
    claims: proto::tokens::Claims,
    expires: tokio::time::Instant,
    sid: SessionId,
    /// The greeting is still to be sent, with the feed position the stream starts at
    /// as its `id` (a client resumes from it even if no event came).
    hello: Option<i64>,
    backlog: std::vec::IntoIter<StreamEvent>,
    /// Highest id sent, so a backlog entry also arriving live is sent once.
    last_id: i64,
    rx: broadcast::Receiver<Arc<Signal>>,
    done: bool,
    app: Arc<App>,
    /// Counted as open while the stream lives.
    _open: crate::metrics::OpenStream,
}

fn events(state: StreamState) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if let Some(start) = st.hello.take() {
            // Tells the client at once that the stream is open and whose it is.
            return Some((
                Ok(SseEvent::default()
                    .id(start.to_string())
                    .comment(format!("connected session={}", st.sid))),
                st,
            ));
        }
        if let Some(e) = st.backlog.next() {
            st.last_id = e.id;
            let item = to_sse(&mut st, &e);
            return Some((Ok(item), st));
        }
        loop {
            let next = tokio::select! {
                _ = st.app.shutdown().cancelled() => return None,
                // The right to read ends with the token: the client reconnects with a
                // fresh one and resumes from its last event.
                () = tokio::time::sleep_until(st.expires) => return None,
                r = st.rx.recv() => r,
            };
            match next.as_deref() {
                Ok(Signal::Event(e)) if e.id <= st.last_id => continue,
                Ok(Signal::Event(e)) => {
                    st.last_id = e.id;
                    let item = to_sse(&mut st, e);
                    return Some((Ok(item), st));
                }
                // A token of the account was revoked: is it this stream's?
                Ok(Signal::Recheck) if st.app.is_revoked(&st.claims) => return None,
                Ok(Signal::Recheck) => continue,
                Ok(Signal::Reconnect) => return None,
                // Too slow to keep up: end the stream; the client resumes with
                // Last-Event-ID and catches up from the feed.
                Err(broadcast::error::RecvError::Lagged(_)) => return None,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

fn to_sse(st: &mut StreamState, e: &StreamEvent) -> SseEvent {
    if let Event::SessionRevoked(r) = &e.event
        && r.session_id == st.sid
    {
        // This device has been signed out: tell it, then close its stream.
        st.done = true;
    }
    SseEvent::default()
        .event(e.event.name())
        .id(e.id.to_string())
        .data(e.event.data().to_string())
}
