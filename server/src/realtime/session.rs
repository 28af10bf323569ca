//! One task per WebSocket: forwards a [`Feed`] to the socket, pings the client, and closes
//! with the feed's code. Clients may not publish: any data frame from them closes the socket
//! with 1002.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};

use super::close;
use super::feed::{Closing, Feed, FeedRequest, Outgoing, Step};
use crate::state::AppState;

type Sink = SplitSink<WebSocket, Message>;

/// Most frames written per flush: what was queued while the last write went out, so a busy
/// channel costs one flush per batch instead of one per frame.
pub const MAX_BATCH: usize = 64;

/// How long a close frame may take to go out before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a session to its end. `request` is `Err(close code)` when the upgrade was refused.
pub async fn run(socket: WebSocket, state: AppState, request: Result<FeedRequest, close::Close>) {
    let _open = super::OpenSocket::new("ws");
    let (mut sink, mut stream) = socket.split();
    let request = match request {
        Ok(r) => r,
        Err(code) => {
            send_close(
                &mut sink,
                Closing {
                    code,
                    reason: code.reason(),
                },
            )
            .await;
            return;
        }
    };
    let started = Feed::start(
        state.hub.clone(),
        state.broker.clone(),
        state.settings.realtime.socket_queue,
        request,
    )
    .await;
    let (mut feed, mut step) = match started {
        Ok(started) => started,
        Err(closing) => {
            send_close(&mut sink, closing).await;
            return;
        }
    };

    let ping_every = Duration::from_secs(state.settings.realtime.ping_secs.max(1));
    // A write blocked for two ping periods means the client is gone (not merely slow).
    let send_timeout = ping_every * 2;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    // Background tabs throttle timers, so a client gets three ping periods to answer.
    let mut unanswered_pings = 0u32;
    loop {
        let (batch, closing) = match step {
            Step::Send(batch) => (batch, None),
            Step::Finish(batch, closing) => (batch, Some(closing)),
        };
        if !send_all(&mut sink, batch, send_timeout).await {
            return;
        }
        if let Some(closing) = closing {
            send_close(&mut sink, closing).await;
            return;
        }
        step = loop {
            tokio::select! {
                step = feed.next_batch(MAX_BATCH) => break step,
                message = stream.next() => match message {
                    None | Some(Ok(Message::Close(_))) => return,
                    // Oversized or malformed frames (or a broken connection, where the close
                    // is simply lost).
                    Some(Err(_)) => {
                        send_close(&mut sink, Closing { code: close::PROTOCOL_ERROR, reason: "protocol error" }).await;
                        return;
                    }
                    Some(Ok(Message::Pong(_))) | Some(Ok(Message::Ping(_))) => unanswered_pings = 0,
                    Some(Ok(Message::Text(_))) | Some(Ok(Message::Binary(_))) => {
                        send_close(&mut sink, Closing { code: close::PROTOCOL_ERROR, reason: "clients cannot publish" }).await;
                        return;
                    }
                },
                _ = ping.tick() => {
                    unanswered_pings += 1;
                    if unanswered_pings > 3 {
                        let reason = "no pong: reconnect with after_seq";
                        send_close(&mut sink, Closing { code: close::HEARTBEAT_TIMEOUT, reason }).await;
                        return;
                    }
                    let sent = tokio::time::timeout(send_timeout, sink.send(Message::Ping(Default::default()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return;
                    }
                }
            }
        };
    }
}

/// Sends a batch of frames, flushed once, all under one deadline; `false` when the client is
/// gone or too slow to take them.
async fn send_all(sink: &mut Sink, batch: Vec<Outgoing>, timeout: Duration) -> bool {
    if batch.is_empty() {
        return true;
    }
    let written = async {
        for item in &batch {
            sink.feed(Message::Text(item.text.clone())).await?;
        }
        sink.flush().await
    };
    if !matches!(tokio::time::timeout(timeout, written).await, Ok(Ok(()))) {
        return false;
    }
    for item in &batch {
        item.delivered("ws");
    }
    true
}

async fn send_close(sink: &mut Sink, Closing { code, reason }: Closing) {
    let frame = CloseFrame {
        code: code.code(),
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
}
