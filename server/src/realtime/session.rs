//! One task per socket: authorize, catch the client up (snapshot or replay after `after_seq`),
//! then forward live frames in seq order until the smelt finishes.
//!
//! Ordering and exactly-once come from the seq: the subscription is registered *before* the
//! catch-up read, so any event committed after that read arrives live; frames at or below the
//! last seq sent are duplicates of the catch-up and dropped; a frame beyond the next seq means
//! announcements were missed, and the gap is read from the event table before it is sent.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use smelt_core::events::{EventKind, WireEvent};
use uuid::Uuid;

use super::broker::frame_of;
use super::close;
use super::hub::{Frame, Subscription};
use crate::state::AppState;

/// How long one write to a client may take before the client is considered gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// What the token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// A subscription token for this smelt.
    Subscription,
    /// A user's access token: allowed when the user owns the smelt.
    User(Uuid),
}

/// An authorized request to follow one smelt.
#[derive(Debug, Clone, Copy)]
pub struct SessionRequest {
    pub smelt_id: Uuid,
    pub grant: Grant,
    /// Resume after this seq instead of starting from a snapshot.
    pub after_seq: Option<i64>,
}

/// Why a session ended, as a close code and reason.
struct Close(u16, &'static str);

type Sink = SplitSink<WebSocket, Message>;

/// Runs a session to its end. `request` is `Err(close code)` when the upgrade was refused.
pub async fn run(socket: WebSocket, state: AppState, request: Result<SessionRequest, u16>) {
    let (mut sink, stream) = socket.split();
    let request = match request {
        Ok(r) => r,
        Err(code) => {
            let reason = match code {
                close::UNAUTHORIZED => "unauthorized",
                close::FORBIDDEN => "forbidden",
                close::BAD_REQUEST => "bad request",
                _ => "not found",
            };
            send_close(&mut sink, Close(code, reason)).await;
            return;
        }
    };
    let mut subscription = state
        .hub
        .subscribe(request.smelt_id, state.settings.socket_queue);
    let outcome = serve(&mut sink, stream, &state, request, &mut subscription).await;
    state.hub.unsubscribe(request.smelt_id, subscription.id);
    if let Some(close) = outcome {
        send_close(&mut sink, close).await;
    }
}

async fn send_close(sink: &mut Sink, Close(code, reason): Close) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
}

/// Sends a text frame; `false` when the client is gone or too slow to take it.
async fn send_text(sink: &mut Sink, text: Utf8Bytes) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text))).await,
        Ok(Ok(()))
    )
}

/// Returns the close to send, or `None` when the client went away.
async fn serve(
    sink: &mut Sink,
    mut stream: SplitStream<WebSocket>,
    state: &AppState,
    request: SessionRequest,
    subscription: &mut Subscription,
) -> Option<Close> {
    let smelt_id = request.smelt_id;
    let snapshot = match state.broker.snapshot(smelt_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return Some(Close(close::NOT_FOUND, "not found")),
        Err(e) => {
            tracing::warn!(%smelt_id, error = %e, "snapshot read failed");
            return Some(Close(close::SERVER_ERROR, "try again"));
        }
    };
    if let Grant::User(user_id) = request.grant {
        if snapshot.user_id != Some(user_id) {
            return Some(Close(close::NOT_FOUND, "not found"));
        }
    }

    // Catch up: replay after `after_seq` when the log still holds it, else a snapshot.
    let mut last_seq;
    let mut finished = false;
    let replay = match request.after_seq {
        Some(after) if after <= snapshot.last_seq => {
            match replayable(state, smelt_id, after).await {
                Ok(true) => match state.broker.events_since(smelt_id, after, None).await {
                    Ok(events) => Some((after, events)),
                    Err(_) => return Some(Close(close::SERVER_ERROR, "try again")),
                },
                Ok(false) => None,
                Err(_) => return Some(Close(close::SERVER_ERROR, "try again")),
            }
        }
        _ => None,
    };
    match replay {
        Some((after, events)) => {
            last_seq = after;
            for event in &events {
                if !send_text(sink, frame_of(event).text).await {
                    return None;
                }
                last_seq = event.seq;
                finished |= event.event.is_terminal();
            }
        }
        None => {
            let status = snapshot.dto.status;
            let frame = WireEvent {
                event: EventKind::Snapshot,
                seq: snapshot.last_seq,
                payload: serde_json::to_value(&snapshot.dto).expect("DTOs serialise"),
            };
            if !send_text(sink, Utf8Bytes::from(frame.encode())).await {
                return None;
            }
            last_seq = snapshot.last_seq;
            finished = status.is_terminal();
        }
    }
    if finished {
        return Some(Close(close::FINISHED, "finished"));
    }

    let ping_every = Duration::from_secs(state.settings.ping_secs.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    // Background tabs throttle timers, so a client gets three ping periods to answer.
    let mut missed_pings = 0u32;
    loop {
        tokio::select! {
            frame = subscription.rx.recv() => {
                let Some(frame) = frame else {
                    return Some(if subscription.lagged() {
                        Close(close::SLOW_CONSUMER, "slow consumer: reconnect with after_seq")
                    } else {
                        Close(close::SHUTTING_DOWN, "server shutting down: reconnect with after_seq")
                    });
                };
                match forward(sink, state, smelt_id, &mut last_seq, frame).await {
                    Forwarded::Sent => {}
                    Forwarded::Finished => return Some(Close(close::FINISHED, "finished")),
                    Forwarded::ClientGone => return None,
                    Forwarded::ReadFailed => return Some(Close(close::SERVER_ERROR, "try again")),
                }
            }
            message = stream.next() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Pong(_))) | Some(Ok(Message::Ping(_))) => missed_pings = 0,
                Some(Ok(Message::Text(_))) | Some(Ok(Message::Binary(_))) => {
                    return Some(Close(close::PROTOCOL_ERROR, "clients cannot publish"));
                }
            },
            _ = ping.tick() => {
                missed_pings += 1;
                if missed_pings > 3 {
                    return Some(Close(close::HEARTBEAT_TIMEOUT, "no pong: reconnect with after_seq"));
                }
                if tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Default::default()))).await.is_err() {
                    return None;
                }
            }
        }
    }
}

/// True when the log still holds every event after `after` (retention may prune old ones).
async fn replayable(state: &AppState, smelt_id: Uuid, after: i64) -> Result<bool, ()> {
    match state.broker.first_stored_seq(smelt_id).await {
        Ok(Some(first)) => Ok(first <= after + 1),
        // Nothing stored: only resumable when nothing happened yet.
        Ok(None) => Ok(after == 0),
        Err(e) => {
            tracing::warn!(%smelt_id, error = %e, "history read failed");
            Err(())
        }
    }
}

enum Forwarded {
    Sent,
    Finished,
    ClientGone,
    ReadFailed,
}

/// Sends a live frame in seq order: duplicates are dropped, gaps are filled from the log.
async fn forward(
    sink: &mut Sink,
    state: &AppState,
    smelt_id: Uuid,
    last_seq: &mut i64,
    frame: Frame,
) -> Forwarded {
    if frame.seq <= *last_seq {
        return Forwarded::Sent;
    }
    if frame.seq > *last_seq + 1 {
        let missing = match state
            .broker
            .events_since(smelt_id, *last_seq, Some(frame.seq - 1))
            .await
        {
            Ok(events) => events,
            Err(_) => return Forwarded::ReadFailed,
        };
        for event in &missing {
            if !send_text(sink, frame_of(event).text).await {
                return Forwarded::ClientGone;
            }
            *last_seq = event.seq;
            if event.event.is_terminal() {
                return Forwarded::Finished;
            }
        }
    }
    if !send_text(sink, frame.text).await {
        return Forwarded::ClientGone;
    }
    *last_seq = frame.seq;
    if frame.terminal {
        Forwarded::Finished
    } else {
        Forwarded::Sent
    }
}
