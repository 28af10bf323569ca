//! A backstop for lost wake-ups. Events reach the hub through NOTIFY; after the LISTEN
//! connection reconnects, the channels are repaired from the log ([`super::broker::repair`]).
//! A notification lost while the connection stays up (dropped by a full notification queue, or
//! a writer that committed without announcing) would leave subscribers waiting for the next
//! event — for ever, if it was the last one. So every interval the channels with subscribers are
//! compared with the log in one read; a channel whose log is ahead of what the hub published,
//! and whose published seq did not move since the previous look (no announcement merely in
//! flight), gets the missing events read from the log and published. A lost notification
//! costs at most two intervals of latency, never an event; subscribers drop anything they
//! already have by seq.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::broker::{frame_of, Broker, BrokerError};
use super::every::Every;
use super::hub::Hub;

/// What the backstop saw at its previous look: each channel's published seq.
#[derive(Debug, Default)]
pub struct Backstop {
    seen: HashMap<Uuid, i64>,
}

impl Backstop {
    /// A backstop that has not looked yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One look: compares the hub's channels with the log (one read for all of them) and
    /// publishes what a channel still lacks after a whole interval without movement. Returns
    /// how many channels it repaired. Errors: the log could not be read (the next look tries
    /// again).
    pub async fn look(&mut self, hub: &Hub, broker: &dyn Broker) -> Result<usize, BrokerError> {
        let channels = hub.active_channels();
        if channels.is_empty() {
            self.seen.clear();
            return Ok(0);
        }
        let ids: Vec<Uuid> = channels.iter().map(|(id, _)| *id).collect();
        let stored: HashMap<Uuid, i64> = broker.last_seqs(&ids).await?.into_iter().collect();
        let mut repaired = 0;
        let mut seen = HashMap::with_capacity(channels.len());
        for (smelt_id, published) in channels {
            let behind = stored.get(&smelt_id).is_some_and(|s| *s > published);
            let still = self.seen.get(&smelt_id) == Some(&published);
            if behind && still {
                for event in broker.events_since(smelt_id, published, None).await? {
                    hub.publish(smelt_id, &frame_of(&event));
                }
                tracing::warn!(%smelt_id, after_seq = published, "published events whose announcement was lost");
                repaired += 1;
            }
            seen.insert(smelt_id, published);
        }
        self.seen = seen;
        Ok(repaired)
    }
}

/// Looks every `interval` until `stop`.
pub async fn run(
    hub: Arc<Hub>,
    broker: Arc<dyn Broker>,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut backstop = Backstop::new();
    let mut every = Every::new(interval, stop);
    while every.tick().await {
        if let Err(e) = backstop.look(&hub, broker.as_ref()).await {
            tracing::warn!(error = %e, "the backstop could not read the log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::broker::memory::MemoryBroker;
    use smelt_core::events::EventKind;

    #[tokio::test]
    async fn an_event_whose_announcement_was_lost_is_published_at_the_second_look() {
        let hub = Hub::new();
        let broker = MemoryBroker::new();
        let id = Uuid::new_v4();
        broker.create(id);
        let mut subscriber = hub.subscribe(id, 8);
        let announced = broker.append(id, EventKind::Progress);
        hub.publish(id, &announced);
        assert_eq!(subscriber.rx.recv().await.unwrap().seq, 1);
        // Appended, never announced.
        broker.append(id, EventKind::Progress);
        let mut backstop = Backstop::new();
        assert_eq!(
            backstop.look(&hub, &broker).await.unwrap(),
            0,
            "it might be in flight"
        );
        assert!(subscriber.rx.try_recv().is_err());
        assert_eq!(backstop.look(&hub, &broker).await.unwrap(), 1);
        assert_eq!(subscriber.rx.recv().await.unwrap().seq, 2);
        assert_eq!(
            backstop.look(&hub, &broker).await.unwrap(),
            0,
            "nothing more to do"
        );
    }

    #[tokio::test]
    async fn a_channel_that_keeps_moving_is_left_to_its_announcements() {
        let hub = Hub::new();
        let broker = MemoryBroker::new();
        let id = Uuid::new_v4();
        broker.create(id);
        let mut subscriber = hub.subscribe(id, 8);
        let mut backstop = Backstop::new();
        for _ in 0..3 {
            // The log is one ahead at every look, but the hub moved since the last one.
            let frame = broker.append(id, EventKind::Progress);
            hub.publish(id, &frame);
            broker.append(id, EventKind::Progress);
            assert_eq!(backstop.look(&hub, &broker).await.unwrap(), 0);
            let next = broker.events_since(id, frame.seq, None).await.unwrap();
            hub.publish(id, &frame_of(&next[0]));
        }
        let mut seqs = Vec::new();
        while let Ok(frame) = subscriber.rx.try_recv() {
            seqs.push(frame.seq);
        }
        assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
    }
}
