//! The broker: where events come from. A small trait — snapshot, history since a seq, first
//! stored seq — with a Postgres implementation ([`postgres::PgBroker`], the event table plus the
//! LISTEN connection that feeds the hub) and an in-memory twin ([`memory::MemoryBroker`]) for
//! tests that need no database.

pub mod memory;
pub mod postgres;

use axum::extract::ws::Utf8Bytes;
use smelt_core::db::smelts::{Head, Snapshot};
use smelt_core::events::WireEvent;
use uuid::Uuid;

use super::hub::{Frame, Hub};

pub use postgres::PgBroker;

/// A broker read failed (the database is unreachable or returned an error).
#[derive(Debug, thiserror::Error)]
#[error("broker unavailable: {0}")]
pub struct BrokerError(#[from] pub sqlx::Error);

/// Reads a smelt's state and stored events.
#[async_trait::async_trait]
pub trait Broker: Send + Sync + 'static {
    /// The current state of a smelt with the seq it reflects; `None` when it does not exist.
    async fn snapshot(&self, smelt_id: Uuid) -> Result<Option<Snapshot>, BrokerError>;
    /// Owner, status, last and first stored seq of a smelt, in one light read: enough to
    /// authorise a subscriber and resume it; `None` when it does not exist.
    async fn head(&self, smelt_id: Uuid) -> Result<Option<Head>, BrokerError>;
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
    /// The seq of the last event stored for each of `smelt_ids` that exists, in one read.
    async fn last_seqs(&self, smelt_ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>, BrokerError>;
}

/// Encodes a stored event as a hub frame.
pub fn frame_of(event: &WireEvent) -> Frame {
    Frame {
        seq: event.seq,
        kind: event.event,
        text: Utf8Bytes::from(event.encode()),
        appended_us: None,
        transient: false,
    }
}

/// Re-publishes, for every channel with subscribers, the stored events after the last one the
/// hub published: what was announced while the listener was disconnected. Subscribers drop
/// what they already have by seq.
pub async fn repair(hub: &Hub, broker: &dyn Broker) {
    for (smelt_id, last_seq) in hub.active_channels() {
        match broker.events_since(smelt_id, last_seq, None).await {
            Ok(events) => {
                for event in &events {
                    hub.publish(smelt_id, &frame_of(event));
                }
            }
            Err(e) => tracing::warn!(%smelt_id, error = %e, "repair read failed"),
        }
    }
}
