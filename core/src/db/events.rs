//! The `smelt_event` log: appending an event (with its gap-free seq and its NOTIFY) and
//! reading events back for resume and repair.

use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::SmeltStatus;
use crate::dto::SegmentDto;
use crate::events::{EventKind, WireEvent};

/// Appends an event inside the caller's transaction, in one round trip (the
/// `smelt_append_events` function): takes the next seq of the smelt (the row lock on `smelt`
/// serialises writers of one smelt), stores the event and announces it with `pg_notify`,
/// which Postgres delivers only if and when the transaction commits.
///
/// Returns the stored event. Errors are database errors; a missing smelt is `RowNotFound`.
pub async fn append<P: Serialize>(
    conn: &mut PgConnection,
    smelt_id: Uuid,
    kind: EventKind,
    payload: &P,
) -> Result<WireEvent, sqlx::Error> {
    let payload = serde_json::to_value(payload).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let seq: Option<i64> = sqlx::query_scalar("select smelt_append_events($1, $2, $3)")
        .bind(smelt_id)
        .bind([kind.as_str()])
        .bind([&payload])
        .fetch_one(&mut *conn)
        .await?;
    Ok(WireEvent {
        event: kind,
        seq: seq.ok_or(sqlx::Error::RowNotFound)?,
        payload,
    })
}

/// A running smelt's state change to publish with its events (see [`publish_progress`]).
#[derive(Debug, Clone, Copy)]
pub struct ProgressState<'a> {
    pub status: SmeltStatus,
    /// 0–100; the stored value never decreases.
    pub percentage: u8,
    pub message: &'a str,
}

/// Transcript segments of one file to store with a progress publication.
#[derive(Debug, Clone, Copy)]
pub struct SegmentBatch<'a> {
    pub file_id: Uuid,
    pub segments: &'a [SegmentDto],
    /// How far the file's transcription has got, in ms of its audio.
    pub transcribed_ms: u32,
}

/// Publishes a running smelt's progress in one statement (`smelt_publish_progress`): the
/// state change, the segments (if any) and the events, committed asynchronously — a database
/// crash may lose the last few hundred milliseconds of progress, which the redelivered job
/// publishes again. Returns the last seq; `RowNotFound` when the smelt is gone or already
/// finished (deleted or cancelled while running).
pub async fn publish_progress<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
    state: ProgressState<'_>,
    segments: Option<SegmentBatch<'_>>,
    events: &[(EventKind, serde_json::Value)],
) -> Result<i64, sqlx::Error> {
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    let payloads: Vec<&serde_json::Value> = events.iter().map(|(_, p)| p).collect();
    let rows = segments
        .map(|b| serde_json::to_value(b.segments).map_err(|e| sqlx::Error::Encode(Box::new(e))))
        .transpose()?;
    let seq: Option<i64> =
        sqlx::query_scalar("select smelt_publish_progress($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(smelt_id)
            .bind(state.status.as_str())
            .bind(i16::from(state.percentage))
            .bind(state.message)
            .bind(segments.map(|b| b.file_id))
            .bind(rows)
            .bind(segments.map(|b| i32::try_from(b.transcribed_ms).unwrap_or(i32::MAX)))
            .bind(&kinds)
            .bind(&payloads)
            .fetch_one(db)
            .await?;
    seq.ok_or(sqlx::Error::RowNotFound)
}

/// Stored events of a smelt with `after_seq < seq <= up_to_seq` (no upper bound when `None`),
/// in seq order.
pub async fn range<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
    after_seq: i64,
    up_to_seq: Option<i64>,
) -> Result<Vec<WireEvent>, sqlx::Error> {
    let rows: Vec<(i64, String, serde_json::Value)> = sqlx::query_as(
        "select seq, kind, payload from smelt_event
         where smelt_id = $1 and seq > $2 and ($3::bigint is null or seq <= $3)
         order by seq",
    )
    .bind(smelt_id)
    .bind(after_seq)
    .bind(up_to_seq)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(seq, kind, payload)| {
            let event = kind.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok(WireEvent {
                event,
                seq,
                payload,
            })
        })
        .collect()
}

/// Seq of the oldest stored event of a smelt, if any (events may be pruned by retention).
pub async fn first_seq<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select min(seq) from smelt_event where smelt_id = $1")
        .bind(smelt_id)
        .fetch_one(db)
        .await
}
