//! The broker: where events come from. A small trait (snapshot and history reads) with a
//! Postgres implementation that also runs the dedicated LISTEN connection feeding the hub.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use smelt_core::db;
use smelt_core::db::smelts::Snapshot;
use smelt_core::events::{Announcement, WireEvent, NOTIFY_CHANNEL};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::hub::{Frame, Hub};

/// A broker read failed (the database is unreachable or returned an error).
#[derive(Debug, thiserror::Error)]
#[error("broker unavailable: {0}")]
pub struct BrokerError(#[from] pub sqlx::Error);

/// Reads a smelt's state and stored events.
#[async_trait::async_trait]
pub trait Broker: Send + Sync + 'static {
    /// The current state of a smelt with the seq it reflects; `None` when it does not exist.
    async fn snapshot(&self, smelt_id: Uuid) -> Result<Option<Snapshot>, BrokerError>;
    /// Stored events with `after_seq < seq <= up_to` (unbounded when `up_to` is `None`), in
    /// order.
    async fn events_since(
        &self,
        smelt_id: Uuid,
        after_seq: i64,
        up_to: Option<i64>,
    ) -> Result<Vec<WireEvent>, BrokerError>;
    /// Seq of the oldest event still stored (older ones may have been pruned).
    async fn first_stored_seq(&self, smelt_id: Uuid) -> Result<Option<i64>, BrokerError>;
}

/// Encodes a stored event as a hub frame.
pub fn frame_of(event: &WireEvent) -> Frame {
    Frame {
        seq: event.seq,
        terminal: event.event.is_terminal(),
        text: Utf8Bytes::from(event.encode()),
    }
}

/// The Postgres broker: the event table plus `LISTEN smelt_events`.
#[derive(Clone)]
pub struct PgBroker {
    pool: PgPool,
}

impl PgBroker {
    /// A broker reading through `pool`.
    pub fn new(pool: PgPool) -> Self {
        PgBroker { pool }
    }

    /// Runs the dedicated LISTEN connection until `stop` is cancelled, forwarding every
    /// announcement to the hub. When the connection drops, it reconnects with backoff and then
    /// re-reads, for every channel with subscribers, the events after the last one the hub
    /// published — NOTIFYs sent while disconnected are lost by Postgres, the table is not.
    pub async fn run_listener(self, hub: Arc<Hub>, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !stop.is_cancelled() {
            let mut listener = match self.connect().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "LISTEN connection failed");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            // Anything published while we were not listening is in the table.
            self.repair(&hub).await;
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    n = listener.try_recv() => n,
                };
                match next {
                    Ok(Some(notification)) => self.dispatch(&hub, notification.payload()).await,
                    Ok(None) => {
                        tracing::warn!("LISTEN connection lost; reconnecting");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        Ok(listener)
    }

    /// Forwards one announcement: inline frames as they are, large events read from the table.
    async fn dispatch(&self, hub: &Hub, payload: &str) {
        let Some(announcement) = Announcement::parse(payload) else {
            tracing::warn!("ignoring a malformed event announcement");
            return;
        };
        if !hub.has_subscribers(announcement.smelt_id) {
            return;
        }
        match announcement.frame {
            Some(text) => {
                let frame = Frame {
                    seq: announcement.seq,
                    terminal: announcement.kind.is_terminal(),
                    text: Utf8Bytes::from(text.to_owned()),
                };
                hub.publish(announcement.smelt_id, &frame);
            }
            None => {
                let seq = announcement.seq;
                match self
                    .events_since(announcement.smelt_id, seq - 1, Some(seq))
                    .await
                {
                    Ok(events) => {
                        for event in &events {
                            hub.publish(announcement.smelt_id, &frame_of(event));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read an announced event"),
                }
            }
        }
    }

    /// Publishes stored events newer than what the hub last published, per active channel.
    async fn repair(&self, hub: &Hub) {
        for (smelt_id, last_seq) in hub.active_channels() {
            match self.events_since(smelt_id, last_seq, None).await {
                Ok(events) => {
                    for event in &events {
                        hub.publish(smelt_id, &frame_of(event));
                    }
                }
                Err(e) => tracing::warn!(%smelt_id, error = %e, "repair read failed"),
            }
        }
    }
}

#[async_trait::async_trait]
impl Broker for PgBroker {
    async fn snapshot(&self, smelt_id: Uuid) -> Result<Option<Snapshot>, BrokerError> {
        Ok(db::smelts::snapshot(&self.pool, smelt_id).await?)
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
}
