//! `stream=true`: the transcript as OpenAI's streaming transcription events, Server-Sent
//! Events whose `data:` is one JSON event each — a `transcript.text.delta` per segment as the
//! worker finishes it, then one `transcript.text.done` with the whole text, which the deltas
//! join into. A smelt that fails (or a following that breaks) ends the stream with
//! `data: {"error": {…}}` in the error shape of [`super::error`], which OpenAI's SDKs raise
//! as an `APIError`. Idle stretches (a queued smelt) carry SSE comments, so that proxies keep
//! the connection.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use smelt_core::db::transcripts;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::OpenAiError;
use super::follow::{Ending, Follower, Update};
use super::render::append;
use crate::http::error::ApiError;
use crate::state::AppState;

/// `transcript.text.delta`: more of the transcript.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextDeltaEvent {
    /// Always `transcript.text.delta`.
    #[serde(rename = "type")]
    #[schema(example = "transcript.text.delta")]
    pub kind: &'static str,
    /// The text added: a segment's text, after a space unless it is the first.
    pub delta: String,
}

/// `transcript.text.done`: the whole transcript, the last event.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextDoneEvent {
    /// Always `transcript.text.done`.
    #[serde(rename = "type")]
    #[schema(example = "transcript.text.done")]
    pub kind: &'static str,
    /// The whole text: every delta, joined.
    pub text: String,
}

/// One SSE event carrying `body` as its JSON `data`.
fn event<T: Serialize>(body: &T) -> Result<Event, Infallible> {
    Ok(Event::default().data(serde_json::to_string(body).expect("events serialise")))
}

fn delta(delta: String) -> Result<Event, Infallible> {
    event(&TextDeltaEvent {
        kind: "transcript.text.delta",
        delta,
    })
}

/// What the stream has said so far.
struct Streaming {
    follower: Follower,
    state: AppState,
    smelt_id: Uuid,
    /// The text the deltas sent so far join into.
    text: String,
}

impl Streaming {
    /// The events for the next update, and whether the stream goes on after them.
    async fn next(&mut self) -> (Vec<Result<Event, Infallible>>, bool) {
        match self.follower.next().await {
            Ok(Some(Update::Segment(segment))) => {
                let added = append(&mut self.text, &segment.text);
                let events = if added.is_empty() {
                    Vec::new()
                } else {
                    vec![delta(added)]
                };
                (events, true)
            }
            Ok(Some(Update::Ended(Ending::Completed))) => match self.finish().await {
                Ok(events) => (events, false),
                Err(e) => (vec![event(&OpenAiError::from(e).body())], false),
            },
            Ok(Some(Update::Ended(Ending::Failed { code, message }))) => {
                let failed = OpenAiError::smelt_failed(code, message);
                (vec![event(&failed.body())], false)
            }
            Ok(None) => (Vec::new(), false),
            Err(e) => (vec![event(&OpenAiError::from(e).body())], false),
        }
    }

    /// The end of a completed smelt: deltas for stored segments this stream did not see go
    /// by (none, unless a feed was resumed from a snapshot), then `transcript.text.done`.
    async fn finish(&mut self) -> Result<Vec<Result<Event, Infallible>>, ApiError> {
        let (_, files) = transcripts::export(&self.state.pool, self.smelt_id, None)
            .await?
            .ok_or_else(ApiError::smelt_not_found)?;
        let mut events = Vec::new();
        for segment in files.iter().flat_map(|f| &f.segments) {
            if self.follower.has_seen(segment.file_id, segment.index) {
                continue;
            }
            let added = append(&mut self.text, &segment.text);
            if !added.is_empty() {
                events.push(delta(added));
            }
        }
        events.push(event(&TextDoneEvent {
            kind: "transcript.text.done",
            text: self.text.clone(),
        }));
        Ok(events)
    }
}

/// The streamed answer for the smelt `smelt_id` that `follower` follows: 200
/// `text/event-stream`, whatever happens next.
pub fn respond(follower: Follower, state: AppState, smelt_id: Uuid) -> Response {
    let keep_alive = KeepAlive::new().interval(Duration::from_secs(
        state.settings.realtime.ping_secs.max(1),
    ));
    let streaming = Streaming {
        follower,
        state,
        smelt_id,
        text: String::new(),
    };
    let events = stream::unfold(Some(streaming), |streaming| async move {
        let mut streaming = streaming?;
        let (events, goes_on) = streaming.next().await;
        Some((stream::iter(events), goes_on.then_some(streaming)))
    })
    .flatten();
    Sse::new(events).keep_alive(keep_alive).into_response()
}
