//! The `smelt_event` log: appending an event (with its gap-free seq and its NOTIFY) and
//! reading events back for resume and repair.

use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::events::{Announcement, EventKind, WireEvent, NOTIFY_CHANNEL};

/// Appends an event inside the caller's transaction: takes the next seq of the smelt (the row
/// lock on `smelt` serialises writers of one smelt), stores the event and announces it with
/// `pg_notify`, which Postgres delivers only if and when the transaction commits.
///
/// Returns the stored event. Errors are database errors (including a missing smelt).
pub async fn append<P: Serialize>(
    conn: &mut PgConnection,
    smelt_id: Uuid,
    kind: EventKind,
    payload: &P,
) -> Result<WireEvent, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar(
        "update smelt set last_seq = last_seq + 1 where smelt_id = $1 returning last_seq",
    )
    .bind(smelt_id)
    .fetch_one(&mut *conn)
    .await?;
    let event = WireEvent {
        event: kind,
        seq,
        payload: serde_json::to_value(payload).map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
    };
    sqlx::query("insert into smelt_event (smelt_id, seq, kind, payload) values ($1, $2, $3, $4)")
        .bind(smelt_id)
        .bind(seq)
        .bind(kind.as_str())
        .bind(&event.payload)
        .execute(&mut *conn)
        .await?;
    let frame = event.encode();
    sqlx::query("select pg_notify($1, $2)")
        .bind(NOTIFY_CHANNEL)
        .bind(Announcement::payload(smelt_id, seq, kind, &frame))
        .execute(&mut *conn)
        .await?;
    Ok(event)
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
