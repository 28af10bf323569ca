//! Live queue places. A pending smelt's place is not history, so it is not in the event log:
//! every interval the places of the pending smelts someone watches (the hub's channels) are
//! computed in one read, and each channel whose place changed — or that gained a subscriber
//! since it was last told — gets one transient `progress` frame (`seq: null`, stage
//! `pending`, `queue_position`, `estimated_wait_seconds`). A dequeue therefore costs the same
//! however many smelts wait, and smelts nobody watches cost nothing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use smelt_core::db::smelts;
use smelt_core::events::{encode_live_frame, EventKind};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::every::Every;
use super::hub::{Frame, Hub, Place};

/// One computation: reads the places of the watched channels' pending smelts and tells each
/// channel its own. Returns how many channels got a push. Errors: the read failed (the next
/// interval tries again).
pub async fn tell(hub: &Hub, pool: &PgPool) -> Result<usize, sqlx::Error> {
    let channels = hub.active_channels();
    if channels.is_empty() {
        return Ok(0);
    }
    let ids: Vec<_> = channels.iter().map(|(id, _)| *id).collect();
    let places = smelts::queue_places(pool, &ids).await?;
    let mut pending = HashSet::with_capacity(places.len());
    let mut pushed = 0;
    for place in &places {
        pending.insert(place.smelt_id);
        // The place holds as of the smelt's log position when it was read.
        let at_seq = place.last_seq;
        let told = hub.tell_place(
            place.smelt_id,
            Place {
                position: place.position,
                estimated_wait_seconds: place.estimated_wait_seconds,
                at_seq,
            },
            || Frame {
                seq: at_seq,
                kind: EventKind::Progress,
                text: Utf8Bytes::from(encode_live_frame(
                    EventKind::Progress,
                    &smelt_core::lifecycle::queue_place(place).payload,
                )),
                appended_us: None,
                transient: true,
            },
        );
        if told.delivered > 0 {
            pushed += 1;
        }
    }
    for smelt_id in ids.iter().filter(|id| !pending.contains(id)) {
        hub.forget_place(*smelt_id);
    }
    Ok(pushed)
}

/// Computes and tells the places every `interval` until `stop`.
pub async fn run(hub: Arc<Hub>, pool: PgPool, interval: Duration, stop: CancellationToken) {
    let mut every = Every::new(interval, stop);
    while every.tick().await {
        if let Err(e) = tell(&hub, &pool).await {
            tracing::warn!(error = %e, "could not compute the queue places");
        }
    }
}
