//! The hub: a registry of channels (one per smelt) and their subscribers. No I/O.
//!
//! Each event is encoded once, by whoever publishes it, and the same bytes are shared by every
//! subscriber ([`Frame`] clones are reference-counted). Every subscriber has a bounded queue:
//! publishing never waits, and a subscriber whose queue is full is removed and flagged as
//! lagged, so one slow reader cannot slow the others (its session closes the socket with a
//! "reconnect and resume" code). The hub also remembers the highest seq it has published per
//! channel, which is where the broker resumes after losing its listener.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use dashmap::DashMap;
use smelt_core::events::EventKind;
use smelt_core::metrics::SLOW_CONSUMER_DISCONNECTS;
use tokio::sync::mpsc;
use uuid::Uuid;

/// One encoded event, shared by all subscribers of its channel.
#[derive(Debug, Clone)]
pub struct Frame {
    pub seq: i64,
    pub kind: EventKind,
    /// The JSON text frame.
    pub text: Utf8Bytes,
    /// When the writer appended the event (Unix µs), for frames announced live; `None` for
    /// frames read back from the event log.
    pub appended_us: Option<i64>,
}

struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Frame>,
    lagged: Arc<AtomicBool>,
}

#[derive(Default)]
struct Channel {
    subscribers: Vec<Subscriber>,
    /// Highest seq published on this channel (0 before the first).
    last_seq: i64,
}

/// A subscriber's end: its queue of frames and whether the hub dropped it for lagging.
pub struct Subscription {
    pub smelt_id: Uuid,
    pub id: u64,
    pub rx: mpsc::Receiver<Frame>,
    /// True when this subscription opened its channel.
    pub first: bool,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    /// True when the hub removed this subscriber because its queue was full.
    pub fn lagged(&self) -> bool {
        self.lagged.load(Ordering::Acquire)
    }
}

/// What a publish did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Subscribers that got the frame.
    pub delivered: usize,
    /// Subscribers removed because their queue was full.
    pub lagged: usize,
}

/// The channel registry.
#[derive(Default)]
pub struct Hub {
    channels: DashMap<Uuid, Channel>,
    next_id: AtomicU64,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a subscriber with a queue of `capacity` frames.
    pub fn subscribe(&self, smelt_id: Uuid, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        let mut channel = self.channels.entry(smelt_id).or_default();
        let first = channel.subscribers.is_empty();
        channel.subscribers.push(Subscriber {
            id,
            tx,
            lagged: lagged.clone(),
        });
        Subscription {
            smelt_id,
            id,
            rx,
            first,
            lagged,
        }
    }

    /// Removes a subscriber. Returns true when it was the channel's last one (the channel is
    /// then forgotten).
    pub fn unsubscribe(&self, smelt_id: Uuid, id: u64) -> bool {
        let now_empty = match self.channels.get_mut(&smelt_id) {
            Some(mut channel) => {
                channel.subscribers.retain(|s| s.id != id);
                channel.subscribers.is_empty()
            }
            None => return false,
        };
        now_empty
            && self
                .channels
                .remove_if(&smelt_id, |_, c| c.subscribers.is_empty())
                .is_some()
    }

    /// Offers a frame to every subscriber of the channel without waiting.
    pub fn publish(&self, smelt_id: Uuid, frame: &Frame) -> Published {
        let Some(mut channel) = self.channels.get_mut(&smelt_id) else {
            return Published::default();
        };
        channel.last_seq = channel.last_seq.max(frame.seq);
        let mut published = Published::default();
        channel
            .subscribers
            .retain(|s| match s.tx.try_send(frame.clone()) {
                Ok(()) => {
                    published.delivered += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    s.lagged.store(true, Ordering::Release);
                    published.lagged += 1;
                    metrics::counter!(SLOW_CONSUMER_DISCONNECTS).increment(1);
                    false
                }
                // The session already ended; it will unsubscribe itself.
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        published
    }

    /// True when the channel has at least one subscriber.
    pub fn has_subscribers(&self, smelt_id: Uuid) -> bool {
        self.channels
            .get(&smelt_id)
            .is_some_and(|c| !c.subscribers.is_empty())
    }

    /// Channels with subscribers and the highest seq published on each.
    pub fn active_channels(&self) -> Vec<(Uuid, i64)> {
        self.channels
            .iter()
            .map(|c| (*c.key(), c.last_seq))
            .collect()
    }

    /// Number of channels with subscribers.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Number of subscribers over all channels.
    pub fn subscriber_count(&self) -> usize {
        self.channels.iter().map(|c| c.subscribers.len()).sum()
    }

    /// Drops every subscriber (shutdown): their queues end without the lagged flag.
    pub fn close_all(&self) {
        self.channels.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: i64) -> Frame {
        Frame {
            seq,
            kind: EventKind::Progress,
            text: Utf8Bytes::from(format!("{{\"seq\":{seq}}}")),
            appended_us: None,
        }
    }

    #[tokio::test]
    async fn every_subscriber_of_a_channel_gets_each_frame_and_others_do_not() {
        let hub = Hub::new();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut s1 = hub.subscribe(a, 8);
        let mut s2 = hub.subscribe(a, 8);
        let mut other = hub.subscribe(b, 8);
        assert!(s1.first && !s2.first && other.first);
        assert_eq!(hub.publish(a, &frame(1)).delivered, 2);
        assert_eq!(s1.rx.recv().await.unwrap().seq, 1);
        assert_eq!(s2.rx.recv().await.unwrap().seq, 1);
        assert!(other.rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_subscriber_is_dropped_as_lagged_without_blocking_the_others() {
        let hub = Hub::new();
        let id = Uuid::new_v4();
        let slow = hub.subscribe(id, 1);
        let mut fast = hub.subscribe(id, 8);
        hub.publish(id, &frame(1));
        let second = hub.publish(id, &frame(2));
        assert_eq!(
            second,
            Published {
                delivered: 1,
                lagged: 1
            }
        );
        assert!(slow.lagged());
        assert_eq!(fast.rx.recv().await.unwrap().seq, 1);
        assert_eq!(fast.rx.recv().await.unwrap().seq, 2);
    }

    #[test]
    fn the_last_unsubscribe_forgets_the_channel() {
        let hub = Hub::new();
        let id = Uuid::new_v4();
        let s1 = hub.subscribe(id, 1);
        let s2 = hub.subscribe(id, 1);
        assert!(!hub.unsubscribe(id, s1.id));
        assert!(hub.unsubscribe(id, s2.id));
        assert!(!hub.has_subscribers(id));
        assert!(hub.active_channels().is_empty());
    }
}
