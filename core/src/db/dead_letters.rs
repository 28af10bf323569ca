//! The dead-letter queue `smelt_jobs_dlq`: jobs whose last delivery failed (a provider that
//! stayed down, a storage outage). Their smelts ended `failed` with their credit refunded, and
//! their uploads are kept while the letter is, so that an operator can requeue them once the
//! cause is fixed (`crate::lifecycle::requeue`) — or purge them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::{ErrorCode, SmeltStatus};
use crate::queue::DEAD_LETTER_QUEUE;

/// One dead letter with its smelt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// The letter's id in the dead-letter queue.
    pub msg_id: i64,
    pub smelt_id: Uuid,
    /// When the job was dead-lettered.
    pub dead_lettered_at: DateTime<Utc>,
    /// Deliveries made before giving up.
    pub deliveries: i64,
    /// The last delivery's error.
    pub last_error: String,
    /// The smelt's status now (`None` when the smelt was deleted since).
    pub smelt_status: Option<SmeltStatus>,
    /// The code the smelt failed with.
    pub error_code: Option<ErrorCode>,
}

/// Every dead letter, oldest first.
pub async fn list(pool: &PgPool) -> Result<Vec<DeadLetter>, sqlx::Error> {
    type Row = (
        i64,
        DateTime<Utc>,
        serde_json::Value,
        Option<SmeltStatus>,
        Option<ErrorCode>,
    );
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select d.msg_id, d.enqueued_at, d.message, s.status, s.error_code
         from pgmq.q_{DEAD_LETTER_QUEUE} d
         left join smelt s on s.smelt_id = (d.message ->> 'smelt_id')::uuid
         order by d.msg_id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(msg_id, at, message, status, code)| {
            Some(DeadLetter {
                msg_id,
                smelt_id: message["smelt_id"].as_str()?.parse().ok()?,
                dead_lettered_at: at,
                deliveries: message["deliveries"].as_i64().unwrap_or(0),
                last_error: message["reason"].as_str().unwrap_or_default().to_owned(),
                smelt_status: status,
                error_code: code,
            })
        })
        .collect())
}

/// Locks a letter for the rest of the caller's transaction; `None` when there is no such
/// letter, `Some(None)` when it names no smelt.
pub async fn lock(
    conn: &mut PgConnection,
    msg_id: i64,
) -> Result<Option<Option<Uuid>>, sqlx::Error> {
    let message: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "select message from pgmq.q_{DEAD_LETTER_QUEUE} where msg_id = $1 for update"
    ))
    .bind(msg_id)
    .fetch_optional(conn)
    .await?;
    Ok(message.map(|m| m["smelt_id"].as_str().and_then(|s| s.parse().ok())))
}

/// Removes the letters dead-lettered before `cutoff`; returns the smelts they were for (their
/// uploads are no longer kept for a requeue).
pub async fn purge(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<Vec<Uuid>, sqlx::Error> {
    let gone: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "delete from pgmq.q_{DEAD_LETTER_QUEUE} where enqueued_at < $1 returning message"
    ))
    .bind(cutoff)
    .fetch_all(pool)
    .await?;
    Ok(gone
        .iter()
        .filter_map(|m| m["smelt_id"].as_str()?.parse().ok())
        .collect())
}
