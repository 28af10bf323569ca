//! The Postgres broker: the `smelt_event` table, and the hub's feed from the `smelt_events`
//! channel of the server's LISTEN connection ([`smelt_core::listener::Listener`]).

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use smelt_core::db;
use smelt_core::db::smelts::{Head, Snapshot};
use smelt_core::events::{Announcement, WireEvent};
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
        })
    }
}

/// The hub's feed of live events (see [`PgBroker::feed`]).
pub struct HubFeed {
    broker: PgBroker,
    hub: Arc<Hub>,
}

#[async_trait::async_trait]
impl Notifications for HubFeed {
    async fn connected(&self) {
        // Anything published while we were not listening is in the table.
        repair(&self.hub, &self.broker).await;
    }

    /// Forwards one announcement: payloads that came with it framed at once, large events
    /// read from the table.
    async fn notified(&self, payload: &str) {
        let Some(announcement) = Announcement::parse(payload) else {
            tracing::warn!("ignoring a malformed event announcement");
            return;
        };
        let hub = &self.hub;
        if !hub.has_subscribers(announcement.smelt_id) {
            return;
        }
        if let Some(text) = announcement.frame() {
            let frame = Frame {
                seq: announcement.seq,
                kind: announcement.kind,
                text: Utf8Bytes::from(text),
                appended_us: Some(announcement.appended_us),
                transient: false,
            };
            hub.publish(announcement.smelt_id, &frame);
            return;
        }
        let seq = announcement.seq;
        match self
            .broker
            .events_since(announcement.smelt_id, seq - 1, Some(seq))
            .await
        {
            Ok(events) => {
                for event in &events {
                    let frame = Frame {
                        appended_us: Some(announcement.appended_us),
                        ..frame_of(event)
                    };
                    hub.publish(announcement.smelt_id, &frame);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read an announced event"),
        }
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
