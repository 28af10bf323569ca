//! The hub: a registry of channels (one per smelt) and their subscribers. No I/O.
//!
//! Each event is encoded once, by whoever publishes it, and the same bytes are shared by every
//! subscriber ([`Frame`] clones are reference-counted). Every subscriber has a bounded queue:
//! publishing never waits, and a subscriber whose queue is full is removed and flagged as
//! lagged, so one slow reader cannot slow the others (its session closes the socket with a
//! "reconnect and resume" code). The hub also remembers the highest seq it has published per
//! channel, which is where the broker resumes after losing its listener.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use dashmap::DashMap;
use smelt_core::events::EventKind;
use smelt_core::metrics::SLOW_CONSUMER_DISCONNECTS;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::frames::{self, FrameReceiver, FrameSender, TrySendError};

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
    /// A live-only frame (a pending smelt's place in the queue): not in the log, sent with
    /// `seq: null`. Its `seq` is the log position it was computed at; it never moves a
    /// channel's or a feed's seq, and a feed that already went past that seq drops it.
    pub transient: bool,
}

/// Why the hub removed a subscriber ([`Removal`]), shared with its [`Subscription`].
const STILL_SUBSCRIBED: u8 = 0;
const REMOVED_LAGGED: u8 = 1;
const REMOVED_REVOKED: u8 = 2;

struct Subscriber {
    id: u64,
    tx: FrameSender,
    removed: Arc<AtomicU8>,
    /// The service key that authorised this subscriber, if one did.
    key_id: Option<Uuid>,
}

#[derive(Default)]
struct Channel {
    subscribers: Vec<Subscriber>,
    /// Highest seq published on this channel (0 before the first).
    last_seq: i64,
    /// The smelt's place in the queue as last told, while it is pending.
    place: Option<Place>,
    /// Subscribers with an id below this were told `place`.
    told_below: u64,
}

/// A pending smelt's place in the queue, as computed at a seq of its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// 1 = the next to start.
    pub position: u32,
    /// Estimated seconds until a worker starts it; `None` while no worker is alive.
    pub estimated_wait_seconds: Option<u32>,
    /// The smelt's last seq when the place was read: it holds until an event after it.
    pub at_seq: i64,
}

/// A subscriber's end: its queue of frames and whether the hub dropped it for lagging.
pub struct Subscription {
    pub smelt_id: Uuid,
    pub id: u64,
    pub rx: FrameReceiver,
    /// True when this subscription opened its channel.
    pub first: bool,
    removed: Arc<AtomicU8>,
}

/// Why the hub ended a subscription (its queue then ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Still subscribed, or dropped at shutdown.
    None,
    /// Its queue was full: a slow consumer.
    Lagged,
    /// The service key that authorised it was revoked.
    Revoked,
}

impl Subscription {
    /// True when the hub removed this subscriber because its queue was full.
    pub fn lagged(&self) -> bool {
        self.removal() == Removal::Lagged
    }

    /// Why the hub removed this subscriber, if it did.
    pub fn removal(&self) -> Removal {
        match self.removed.load(Ordering::Acquire) {
            REMOVED_LAGGED => Removal::Lagged,
            REMOVED_REVOKED => Removal::Revoked,
            _ => Removal::None,
        }
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

/// How many recently revoked keys the hub remembers. A subscriber's key is checked against
/// the database when it subscribes; this set only closes the window between that check and
/// the revocation's notification, so the most recent few thousand suffice (16 bytes each).
pub const REVOKED_KEYS_REMEMBERED: usize = 4096;

/// Recently revoked keys, oldest first, bounded by [`REVOKED_KEYS_REMEMBERED`].
#[derive(Default)]
struct RevokedKeys {
    set: HashSet<Uuid>,
    order: VecDeque<Uuid>,
}

impl RevokedKeys {
    fn insert(&mut self, key_id: Uuid) {
        if self.set.insert(key_id) {
            self.order.push_back(key_id);
            if self.order.len() > REVOKED_KEYS_REMEMBERED {
                if let Some(oldest) = self.order.pop_front() {
                    self.set.remove(&oldest);
                }
            }
        }
    }
}

/// The channel registry.
pub struct Hub {
    channels: DashMap<Uuid, Channel>,
    next_id: AtomicU64,
    /// Service keys revoked recently: a late subscriber authorised by one of them (its check
    /// raced the revocation) is refused at once.
    revoked_keys: Mutex<RevokedKeys>,
    /// Each revocation, for connections that follow no channel yet still hold a key (the
    /// multiplexed socket).
    revocations: broadcast::Sender<Uuid>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            channels: DashMap::new(),
            next_id: AtomicU64::new(0),
            revoked_keys: Mutex::new(RevokedKeys::default()),
            revocations: broadcast::channel(64).0,
        }
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Revocations from now on, as key ids. A receiver that falls more than 64 behind gets
    /// `Lagged` and must re-check its key itself.
    pub fn revocations(&self) -> broadcast::Receiver<Uuid> {
        self.revocations.subscribe()
    }

    fn is_revoked(&self, key_id: Uuid) -> bool {
        self.revoked_keys
            .lock()
            .expect("revoked-key set poisoned")
            .set
            .contains(&key_id)
    }

    /// Registers a subscriber with a queue of `capacity` frames.
    pub fn subscribe(&self, smelt_id: Uuid, capacity: usize) -> Subscription {
        self.subscribe_with_key(smelt_id, capacity, None)
    }

    /// Registers a subscriber authorised by the service key `key_id` (if any): revoking the
    /// key ([`Hub::revoke_key`]) removes it. A key revoked already gives a subscription that
    /// has ended.
    pub fn subscribe_with_key(
        &self,
        smelt_id: Uuid,
        capacity: usize,
        key_id: Option<Uuid>,
    ) -> Subscription {
        let (tx, rx) = frames::queue(capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let removed = Arc::new(AtomicU8::new(STILL_SUBSCRIBED));
        let mut channel = self.channels.entry(smelt_id).or_default();
        let first = channel.subscribers.is_empty();
        if key_id.is_some_and(|k| self.is_revoked(k)) {
            // The sender is dropped here, so the queue ends at once.
            removed.store(REMOVED_REVOKED, Ordering::Release);
        } else {
            // Most channels have one subscriber: room for exactly one, not Vec's first four
            // (later ones grow the list as usual).
            if channel.subscribers.capacity() == 0 {
                channel.subscribers.reserve_exact(1);
            }
            channel.subscribers.push(Subscriber {
                id,
                tx,
                removed: removed.clone(),
                key_id,
            });
        }
        Subscription {
            smelt_id,
            id,
            rx,
            first,
            removed,
        }
    }

    /// Removes every subscriber authorised by the service key `key_id`, flagged as revoked,
    /// and refuses later ones. Returns how many were removed.
    pub fn revoke_key(&self, key_id: Uuid) -> usize {
        self.revoked_keys
            .lock()
            .expect("revoked-key set poisoned")
            .insert(key_id);
        // Nobody listening is fine: no socket holds a key.
        let _ = self.revocations.send(key_id);
        let mut removed = 0;
        for mut channel in self.channels.iter_mut() {
            channel.subscribers.retain(|s| {
                let keep = s.key_id != Some(key_id);
                if !keep {
                    s.removed.store(REMOVED_REVOKED, Ordering::Release);
                    removed += 1;
                }
                keep
            });
        }
        removed
    }

    /// Records that subscriber `id` of `smelt_id` was caught up to `seq` from the log. When it
    /// is the channel's only subscriber, the channel counts as published through `seq`, so that
    /// the backstop and the repair after a reconnect do not read those events again; with
    /// others subscribed the channel's seq stays, since they may still miss an event at or below
    /// `seq` whose announcement was lost.
    pub fn caught_up(&self, smelt_id: Uuid, id: u64, seq: i64) {
        if let Some(mut channel) = self.channels.get_mut(&smelt_id) {
            if channel.subscribers.len() == 1 && channel.subscribers[0].id == id {
                channel.last_seq = channel.last_seq.max(seq);
            }
        }
    }

    /// The service keys of current subscribers (to re-check after a lost notification).
    pub fn subscribed_keys(&self) -> Vec<Uuid> {
        let keys: std::collections::HashSet<Uuid> = self
            .channels
            .iter()
            .flat_map(|c| {
                c.subscribers
                    .iter()
                    .filter_map(|s| s.key_id)
                    .collect::<Vec<_>>()
            })
            .collect();
        keys.into_iter().collect()
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
        if !frame.transient {
            channel.last_seq = channel.last_seq.max(frame.seq);
        }
        Self::offer(&mut channel, frame)
    }

    fn offer(channel: &mut Channel, frame: &Frame) -> Published {
        let mut published = Published::default();
        channel
            .subscribers
            .retain(|s| match s.tx.try_send(frame.clone()) {
                Ok(()) => {
                    published.delivered += 1;
                    true
                }
                Err(TrySendError::Full) => {
                    s.removed.store(REMOVED_LAGGED, Ordering::Release);
                    published.lagged += 1;
                    metrics::counter!(SLOW_CONSUMER_DISCONNECTS).increment(1);
                    false
                }
                // The session already ended; it will unsubscribe itself.
                Err(TrySendError::Closed) => false,
            });
        published
    }

    /// Tells the channel's subscribers the smelt's place in the queue, read when its log ended
    /// at `place.at_seq`: pushes `frame()` (a transient frame) when the place changed or
    /// someone subscribed since the last push, and records it for snapshots. Nothing is pushed
    /// when the channel already published past `at_seq` (the smelt may have left the queue;
    /// the next computation tells). Returns what the push did.
    pub fn tell_place(
        &self,
        smelt_id: Uuid,
        place: Place,
        frame: impl FnOnce() -> Frame,
    ) -> Published {
        let Some(mut channel) = self.channels.get_mut(&smelt_id) else {
            return Published::default();
        };
        if channel.last_seq > place.at_seq {
            return Published::default();
        }
        let newcomers = channel
            .subscribers
            .iter()
            .any(|s| s.id >= channel.told_below);
        let same = channel.place.is_some_and(|p| {
            (p.position, p.estimated_wait_seconds) == (place.position, place.estimated_wait_seconds)
        });
        channel.place = Some(place);
        if same && !newcomers {
            return Published::default();
        }
        channel.told_below = self.next_id.load(Ordering::Relaxed);
        Self::offer(&mut channel, &frame())
    }

    /// Forgets the place of a channel whose smelt is no longer pending.
    pub fn forget_place(&self, smelt_id: Uuid) {
        if let Some(mut channel) = self.channels.get_mut(&smelt_id) {
            channel.place = None;
        }
    }

    /// The smelt's place in the queue as last told, if it was computed at `at_seq` (a
    /// snapshot reflecting that seq may show it).
    pub fn place(&self, smelt_id: Uuid, at_seq: i64) -> Option<Place> {
        self.channels
            .get(&smelt_id)
            .and_then(|c| c.place)
            .filter(|p| p.at_seq == at_seq)
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
pub(crate) mod tests {
    use super::*;

    /// A progress frame with `seq`, for tests of the hub and its queues.
    pub(crate) fn frame(seq: i64) -> Frame {
        Frame {
            seq,
            kind: EventKind::Progress,
            text: Utf8Bytes::from(format!("{{\"seq\":{seq}}}")),
            appended_us: None,
            transient: false,
        }
    }

    fn place_frame(at_seq: i64) -> Frame {
        Frame {
            seq: at_seq,
            kind: EventKind::Progress,
            text: Utf8Bytes::from_static("{\"seq\":null}"),
            appended_us: None,
            transient: true,
        }
    }

    fn place(position: u32, at_seq: i64) -> Place {
        Place {
            position,
            estimated_wait_seconds: None,
            at_seq,
        }
    }

    #[tokio::test]
    async fn a_place_is_pushed_when_it_changes_or_someone_subscribes_and_never_moves_the_seq() {
        let hub = Hub::new();
        let id = Uuid::new_v4();
        let mut first = hub.subscribe(id, 8);
        hub.caught_up(id, first.id, 1);
        assert_eq!(
            hub.tell_place(id, place(3, 1), || place_frame(1)).delivered,
            1
        );
        assert_eq!(
            hub.tell_place(id, place(3, 1), || place_frame(1)).delivered,
            0,
            "the same place is not pushed twice"
        );
        let mut second = hub.subscribe(id, 8);
        assert_eq!(
            hub.tell_place(id, place(3, 1), || place_frame(1)).delivered,
            2,
            "a newcomer is told (the others again)"
        );
        assert_eq!(
            hub.tell_place(id, place(2, 1), || place_frame(1)).delivered,
            2
        );
        assert_eq!(hub.place(id, 1).map(|p| p.position), Some(2));
        assert_eq!(hub.active_channels(), vec![(id, 1)], "seq unmoved");
        assert!(first.rx.recv().await.unwrap().transient);
        assert!(second.rx.recv().await.unwrap().transient);

        hub.publish(id, &frame(2));
        assert_eq!(
            hub.tell_place(id, place(1, 1), || place_frame(1)).delivered,
            0,
            "a place read before the channel's last event is stale"
        );
        assert_eq!(hub.place(id, 2), None);
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

    #[tokio::test]
    async fn revoking_a_key_ends_its_subscriptions_and_refuses_later_ones() {
        let hub = Hub::new();
        let (id, key) = (Uuid::new_v4(), Uuid::new_v4());
        let mut by_key = hub.subscribe_with_key(id, 8, Some(key));
        let mut other = hub.subscribe(id, 8);
        assert_eq!(hub.subscribed_keys(), vec![key]);
        assert_eq!(hub.revoke_key(key), 1);
        assert!(by_key.rx.recv().await.is_none());
        assert_eq!(by_key.removal(), Removal::Revoked);
        assert_eq!(hub.publish(id, &frame(1)).delivered, 1);
        assert_eq!(other.rx.recv().await.unwrap().seq, 1);
        let mut late = hub.subscribe_with_key(id, 8, Some(key));
        assert!(late.rx.recv().await.is_none());
        assert_eq!(late.removal(), Removal::Revoked);
    }

    #[tokio::test]
    async fn the_hub_remembers_only_the_most_recent_revocations_and_announces_each() {
        let hub = Hub::new();
        let mut announced = hub.revocations();
        let first = Uuid::new_v4();
        hub.revoke_key(first);
        assert_eq!(announced.recv().await.unwrap(), first);
        for _ in 0..REVOKED_KEYS_REMEMBERED {
            hub.revoke_key(Uuid::new_v4());
        }
        let remembered = hub.revoked_keys.lock().unwrap();
        assert_eq!(remembered.set.len(), REVOKED_KEYS_REMEMBERED);
        assert_eq!(remembered.order.len(), REVOKED_KEYS_REMEMBERED);
        assert!(!remembered.set.contains(&first));
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
