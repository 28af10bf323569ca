//! Honest waiting: when a smelt leaves the queue (it starts, or is cancelled while pending),
//! every pending smelt whose place changed is told its new place and the estimated wait, as a
//! `progress` event (stage `pending`).

use sqlx::PgConnection;

use super::payload;
use crate::db::{events, smelts};
use crate::domain::{SmeltStatus, Stage};
use crate::dto::{FileProgressDto, ProgressDto};

/// Announces the new places (inside the caller's transaction); returns how many smelts were
/// told. `appended_us` dates the events.
pub(crate) async fn announce(
    conn: &mut PgConnection,
    appended_us: i64,
) -> Result<usize, sqlx::Error> {
    let moved = smelts::moved_in_queue(&mut *conn).await?;
    if moved.is_empty() {
        return Ok(0);
    }
    let announcements: Vec<_> = moved
        .iter()
        .map(|place| {
            let progress = ProgressDto {
                percentage: place.percentage,
                stage: SmeltStatus::Pending,
                message: Stage::of(SmeltStatus::Pending).message.to_owned(),
                eta_seconds: None,
                queue_position: Some(place.position),
                estimated_wait_seconds: place.estimated_wait_seconds,
            };
            let files = place
                .files
                .iter()
                .map(|&(id, status)| FileProgressDto {
                    id,
                    status,
                    progress: 0,
                })
                .collect();
            (
                place.smelt_id,
                payload::progress(place.smelt_id, progress, files),
            )
        })
        .collect();
    smelts::record_queue_places(&mut *conn, &moved).await?;
    let refs: Vec<_> = announcements.iter().map(|(id, e)| (*id, e)).collect();
    events::append(conn, &refs, appended_us).await?;
    Ok(moved.len())
}
