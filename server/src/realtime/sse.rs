//! `GET /api/smelts/{id}/events`: the same feed as the WebSocket over Server-Sent Events, for
//! clients that cannot open sockets. Each event carries `id: <seq>` and `event: <kind>` and
//! its `data` is the same JSON frame the socket sends; `Last-Event-ID` (or `?after_seq=`)
//! resumes exactly like `after_seq`. The stream ends after the terminal event (clients should
//! close on `completed`/`failed`), or early when the subscriber fell behind or the server is
//! shutting down — the browser's EventSource then reconnects with `Last-Event-ID` by itself.
//! Authorization failures are HTTP errors in the envelope, since nothing has streamed yet.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};

use super::feed::{Feed, Step};
use super::{close, request_from, SocketQuery};
use crate::http::error::{ApiError, ApiErrorBody};
use crate::limits::{Action, ClientIp};
use crate::state::AppState;

fn refusal(code: close::Close) -> ApiError {
    match code {
        close::UNAUTHORIZED => ApiError::invalid_token(),
        close::FORBIDDEN => ApiError::client(
            StatusCode::FORBIDDEN,
            "forbidden",
            "THAT TOKEN IS FOR ANOTHER SMELT",
        ),
        close::BAD_REQUEST => ApiError::invalid_data("INVALID AFTER_SEQ"),
        close::NOT_FOUND => ApiError::smelt_not_found(),
        _ => ApiError::client(StatusCode::SERVICE_UNAVAILABLE, "try_again", "TRY AGAIN"),
    }
}

/// Handler of `GET /api/smelts/{id}/events`.
#[utoipa::path(
    get,
    path = "/smelts/{id}/events",
    operation_id = "smelt_events",
    summary = "Server-Sent Events of one smelt",
    tag = "realtime",
    security((), ("bearer" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The smelt's id"),
        super::SocketQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq, like `after_seq` (sent by EventSource on reconnect)")
    ),
    description = "The smelt's events as Server-Sent Events, for clients that cannot open \
        sockets. Each event has `id:` = its seq, `event:` = its kind (`snapshot`, `progress`, \
        `completed`, `failed`) and as `data:` the same JSON `WireEvent` the WebSocket sends. \
        The stream ends after the terminal event, or early when the client fell behind or the \
        server is shutting down (reconnect with `Last-Event-ID`).",
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid_data`: `after_seq` or `Last-Event-ID` is not a seq", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`forbidden`: the token is for another smelt", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such smelt (or not the token owner's)", body = ApiErrorBody),
        (status = 429, description = "`rate_limited`; see `Retry-After`", body = ApiErrorBody),
        (status = 503, description = "`try_again`: the stream could not start", body = ApiErrorBody)
    )
)]
pub async fn events(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Query(mut query): Query<SocketQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(limited) = state.rate_limits.check(Action::Connect, ip, None) {
        return limited.into_response();
    }
    if let Some(last) = headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        query.after_seq = Some(last.to_owned());
    }
    let request = match request_from(&state, &id, &query, &headers).await {
        Ok(r) => r,
        Err(code) => return refusal(code).into_response(),
    };
    match Feed::start(
        state.hub.clone(),
        state.broker.clone(),
        state.settings.realtime.socket_queue,
        request,
    )
    .await
    {
        Ok((feed, step)) => Sse::new(stream_of(feed, step))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(
                state.settings.realtime.ping_secs.max(1),
            )))
            .into_response(),
        Err(closing) => refusal(closing.code).into_response(),
    }
}

/// The feed as SSE events: each step's batch, until a step finishes the feed.
fn stream_of(feed: Feed, first: Step) -> impl Stream<Item = Result<Event, Infallible>> {
    let open = super::OpenSocket::new("sse");
    stream::unfold(Some((feed, Some(first), open)), |state| async move {
        let (mut feed, pending, open) = state?;
        let step = match pending {
            Some(step) => step,
            None => feed.next_batch(super::session::MAX_BATCH).await,
        };
        let (batch, finished) = match step {
            Step::Send(batch) => (batch, false),
            Step::Finish(batch, _) => (batch, true),
        };
        let events: Vec<Result<Event, Infallible>> = batch
            .into_iter()
            .map(|o| {
                o.delivered("sse");
                let event = Event::default()
                    .event(o.kind.as_str())
                    .data(o.text.as_str());
                // A queue place is not in the log: it must not become the resume point.
                Ok(if o.transient {
                    event
                } else {
                    event.id(o.seq.to_string())
                })
            })
            .collect();
        Some((
            stream::iter(events),
            if finished {
                None
            } else {
                Some((feed, None, open))
            },
        ))
    })
    .flatten()
}
