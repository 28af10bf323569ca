//! One task per WebSocket: forwards a [`Feed`] to the socket, pings the client, and closes
//! with the feed's code. Clients may not publish: any data frame from them closes the socket
//! with 1002.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures::StreamExt;

use super::close;
use super::feed::{Closing, Feed, FeedRequest, Step};
use super::writer::{Heartbeat, Writer};
use super::SocketContext;

/// Most frames written per flush: what was queued while the last write went out, so a busy
/// channel costs one flush per batch instead of one per frame.
pub const MAX_BATCH: usize = 64;

/// Runs a session to its end. `request` is `Err(close code)` when the upgrade was refused.
pub async fn run(
    socket: WebSocket,
    context: SocketContext,
    request: Result<FeedRequest, close::Close>,
) {
    let _open = super::OpenSocket::new("ws");
    let (sink, mut stream) = socket.split();
    let ping_every = Duration::from_secs(context.settings.realtime.ping_secs.max(1));
    let mut writer = Writer::new(sink, ping_every, "ws");
    let request = match request {
        Ok(r) => r,
        Err(code) => {
            writer
                .close(Closing {
                    code,
                    reason: code.reason(),
                })
                .await;
            return;
        }
    };
    // Boxed: the start (authorisation, snapshot or replay) runs once, and inline its state
    // would size every idle session's task for good.
    let started = Box::pin(Feed::start(
        context.hub.clone(),
        context.broker.clone(),
        context.settings.realtime.socket_queue,
        request,
    ))
    .await;
    let (mut feed, mut step) = match started {
        Ok(started) => started,
        Err(closing) => {
            writer.close(closing).await;
            return;
        }
    };

    let mut heartbeat = Heartbeat::new(ping_every);
    loop {
        let (batch, closing) = match step {
            Step::Send(batch) => (batch, None),
            Step::Finish(batch, closing) => (batch, Some(closing)),
        };
        if !writer.send_batch(&batch).await {
            return;
        }
        if let Some(closing) = closing {
            writer.close(closing).await;
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
                        writer.close(Closing { code: close::PROTOCOL_ERROR, reason: "protocol error" }).await;
                        return;
                    }
                    Some(Ok(Message::Pong(_))) | Some(Ok(Message::Ping(_))) => heartbeat.answered(),
                    Some(Ok(Message::Text(_))) | Some(Ok(Message::Binary(_))) => {
                        writer.close(Closing { code: close::PROTOCOL_ERROR, reason: "clients cannot publish" }).await;
                        return;
                    }
                },
                alive = heartbeat.due() => {
                    if !alive {
                        let reason = "no pong: reconnect with after_seq";
                        writer.close(Closing { code: close::HEARTBEAT_TIMEOUT, reason }).await;
                        return;
                    }
                    if !writer.send(Message::Ping(Default::default())).await {
                        return;
                    }
                }
            }
        };
    }
}
