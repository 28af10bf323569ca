//! The write side of the two WebSocket transports (the per-smelt [`session`](super::session)
//! and the [`multiplex`](super::multiplex)ed socket): batches written and flushed once under
//! one deadline, control frames, pings, closes — and the heartbeat that decides when a silent
//! client is gone. (SSE writes through axum's `Sse` body, which frames events itself.)

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::SplitSink;
use futures::SinkExt;
use tokio::time::{Instant, Interval};

use super::feed::{Closing, Outgoing};

/// How long a close frame may take to go out before the connection is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Ping periods a client may leave unanswered before it counts as gone: background tabs
/// throttle their timers.
const UNANSWERED_PINGS_ALLOWED: u32 = 3;

/// The write half of one WebSocket.
pub struct Writer {
    sink: SplitSink<WebSocket, Message>,
    /// A write blocked this long means the client is gone, not merely slow: two ping periods.
    timeout: Duration,
    /// The transport's label in `smelt_events_delivered_total`.
    transport: &'static str,
}

impl Writer {
    /// The writer of `sink`, whose writes may take at most two `ping_every` periods.
    pub fn new(
        sink: SplitSink<WebSocket, Message>,
        ping_every: Duration,
        transport: &'static str,
    ) -> Self {
        Writer {
            sink,
            timeout: ping_every * 2,
            transport,
        }
    }

    /// Writes a batch of frames and flushes once, all under one deadline, then counts them
    /// delivered. `false` when the client is gone or too slow to take them.
    pub async fn send_batch(&mut self, batch: &[Outgoing]) -> bool {
        if batch.is_empty() {
            return true;
        }
        let timeout = self.timeout;
        let sink = &mut self.sink;
        let written = async {
            for item in batch {
                sink.feed(Message::Text(item.text.clone())).await?;
            }
            sink.flush().await
        };
        if !within(timeout, written).await {
            return false;
        }
        for item in batch {
            item.delivered(self.transport);
        }
        true
    }

    /// Sends one frame (a control message or a ping); `false` when the client is gone or too
    /// slow to take it.
    pub async fn send(&mut self, message: Message) -> bool {
        within(self.timeout, self.sink.send(message)).await
    }

    /// Sends a close frame with the closing's code and reason (giving up after 5 s).
    pub async fn close(&mut self, Closing { code, reason }: Closing) {
        let frame = CloseFrame {
            code: code.code(),
            reason: Utf8Bytes::from_static(reason),
        };
        let _ =
            tokio::time::timeout(CLOSE_TIMEOUT, self.sink.send(Message::Close(Some(frame)))).await;
    }
}

/// Runs a write under `timeout`; `true` when it succeeded in time. Most writes complete at
/// once (the socket's send buffer has room): those are not given a timer, which would be
/// registered and cancelled again for every delivery; a write that has to wait starts its
/// deadline then.
async fn within<E>(timeout: Duration, write: impl Future<Output = Result<(), E>>) -> bool {
    let mut write = pin!(write);
    if let Poll::Ready(result) = futures::poll!(write.as_mut()) {
        return result.is_ok();
    }
    matches!(tokio::time::timeout(timeout, write).await, Ok(Ok(())))
}

/// A socket's heartbeat: a ping every period, and the count of periods the client let pass
/// without a pong (or a ping of its own).
pub struct Heartbeat {
    interval: Interval,
    unanswered: u32,
}

impl Heartbeat {
    /// A heartbeat whose first ping is due one period from now.
    pub fn new(every: Duration) -> Self {
        Heartbeat {
            interval: tokio::time::interval_at(Instant::now() + every, every),
            unanswered: 0,
        }
    }

    /// Waits until the next ping is due; `false` when the client left the last
    /// three pings unanswered and counts as gone.
    pub async fn due(&mut self) -> bool {
        self.interval.tick().await;
        self.unanswered += 1;
        self.unanswered <= UNANSWERED_PINGS_ALLOWED
    }

    /// The client answered (a pong, or a ping of its own).
    pub fn answered(&mut self) {
        self.unanswered = 0;
    }
}
