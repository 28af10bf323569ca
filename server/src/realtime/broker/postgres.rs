//! The Postgres broker: the `smelt_event` table, and the hub's feed from the `smelt_events`
//! channel of the server's LISTEN connection ([`smelt_core::listener::Listener`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use smelt_core::db;
use smelt_core::db::smelts::{Head, Snapshot};
use smelt_core::events::{Announcement, EventKind, WireEvent};
use smelt_core::listener::Notifications;
use sqlx::PgPool;
use uuid::Uuid;

use super::{frame_of, repair, Broker, BrokerError};
use crate::realtime::hub::{Frame, Hub};

/// The Postgres broker: reads snapshots and stored events.
#[derive(Clone)]
pub struct PgBroker {
    pool: PgPool,
}

impl PgBroker {
    /// A broker reading through `pool`.
    pub fn new(pool: PgPool) -> Self {
        PgBroker { pool }
    }

    /// What the LISTEN connection hands the `smelt_events` channel to: every announcement
    /// goes to the hub; after a (re)connect, the hub's channels are repaired from the table
    /// (NOTIFYs sent while disconnected are lost by Postgres, the table is not).
    pub fn feed(&self, hub: Arc<Hub>) -> Arc<HubFeed> {
        Arc::new(HubFeed {
            broker: self.clone(),
            hub,
            reading: Arc::new(Mutex::new(HashMap::new())),
        })
    }
}

/// The hub's feed of live events (see [`PgBroker::feed`]).
pub struct HubFeed {
    broker: PgBroker,
    hub: Arc<Hub>,
    /// Channels with a large event being read from the table, each with the announcements
    /// that came after it, held back so that a channel's events are published in order. The
    /// read runs in a task of its own: a slow read delays its own channel, never the LISTEN
    /// loop and the other channels behind it.
    reading: HeldBack,
}

/// Per channel with a read in flight, the announcements waiting behind it.
type HeldBack = Arc<Mutex<HashMap<Uuid, VecDeque<Announced>>>>;

/// An announcement with what it carried, owned.
struct Announced {
    seq: i64,
    kind: EventKind,
    appended_us: i64,
    /// The wire frame, when the payload came with the announcement.
    frame: Option<String>,
}

impl HubFeed {
    /// Publishes one announced event, reading it from the table when it was too large to
    /// travel with its announcement.
    async fn publish(broker: &PgBroker, hub: &Hub, smelt_id: Uuid, announced: Announced) {
        if let Some(text) = announced.frame {
            let frame = Frame {
                seq: announced.seq,
                kind: announced.kind,
                text: Utf8Bytes::from(text),
                appended_us: Some(announced.appended_us),
                transient: false,
            };
            hub.publish(smelt_id, &frame);
            return;
        }
        let seq = announced.seq;
        match broker.events_since(smelt_id, seq - 1, Some(seq)).await {
            Ok(events) => {
                for event in &events {
                    let frame = Frame {
                        appended_us: Some(announced.appended_us),
                        ..frame_of(event)
                    };
                    hub.publish(smelt_id, &frame);
                }
            }
            // The channel's subscribers fill the gap from the log when the next event
            // arrives, or the backstop does.
            Err(e) => tracing::warn!(%smelt_id, error = %e, "could not read an announced event"),
        }
    }

    /// Publishes a channel's held-back announcements in order until none is left, then lets
    /// the channel's announcements go straight to the hub again.
    async fn drain(broker: PgBroker, hub: Arc<Hub>, reading: HeldBack, smelt_id: Uuid) {
        loop {
            let next = {
                let mut reading = reading.lock().expect("the reading map is never poisoned");
                match reading.get_mut(&smelt_id).and_then(VecDeque::pop_front) {
                    Some(next) => next,
                    None => {
                        reading.remove(&smelt_id);
                        return;
                    }
                }
            };
            Self::publish(&broker, &hub, smelt_id, next).await;
        }
    }
}

#[async_trait::async_trait]
impl Notifications for HubFeed {
    async fn connected(&self) {
        // Anything published while we were not listening is in the table.
        repair(&self.hub, &self.broker).await;
    }

    /// Forwards one announcement: a payload that came with it is framed at once; a large
    /// event is read from the table by a task of its channel's own, behind which the
    /// channel's later announcements wait.
    async fn notified(&self, payload: &str) {
        let Some(announcement) = Announcement::parse(payload) else {
            tracing::warn!("ignoring a malformed event announcement");
            return;
        };
        let smelt_id = announcement.smelt_id;
        if !self.hub.has_subscribers(smelt_id) {
            return;
        }
        let announced = Announced {
            seq: announcement.seq,
            kind: announcement.kind,
            appended_us: announcement.appended_us,
            frame: announcement.frame(),
        };
        {
            let mut reading = self
                .reading
                .lock()
                .expect("the reading map is never poisoned");
            if let Some(held) = reading.get_mut(&smelt_id) {
                held.push_back(announced);
                return;
            }
            if announced.frame.is_none() {
                reading.insert(smelt_id, VecDeque::from([announced]));
                tokio::spawn(Self::drain(
                    self.broker.clone(),
                    self.hub.clone(),
                    self.reading.clone(),
                    smelt_id,
                ));
                return;
            }
        }
        Self::publish(&self.broker, &self.hub, smelt_id, announced).await;
    }
}

#[async_trait::async_trait]
impl Broker for PgBroker {
    async fn snapshot(&self, smelt_id: Uuid) -> Result<Option<Snapshot>, BrokerError> {
        Ok(db::smelts::snapshot(&self.pool, smelt_id).await?)
    }

    async fn head(&self, smelt_id: Uuid) -> Result<Option<Head>, BrokerError> {
        Ok(db::smelts::head(&self.pool, smelt_id).await?)
    }

    async fn events_since(
        &self,
        smelt_id: Uuid,
        after_seq: i64,
        up_to: Option<i64>,
    ) -> Result<Vec<WireEvent>, BrokerError> {
        Ok(db::events::range(&self.pool, smelt_id, after_seq, up_to).await?)
    }

    async fn first_stored_seq(&self, smelt_id: Uuid) -> Result<Option<i64>, BrokerError> {
        Ok(db::events::first_seq(&self.pool, smelt_id).await?)
    }

    async fn last_seqs(&self, smelt_ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>, BrokerError> {
        Ok(db::events::last_seqs(&self.pool, smelt_ids).await?)
    }
}
