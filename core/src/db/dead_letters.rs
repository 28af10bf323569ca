//! The dead-letter queue `smelt_jobs_dlq`: jobs whose last delivery failed (a provider that
//! stayed down, a storage outage). Their smelts ended `failed` with their credit refunded, and
//! their uploads are kept while the letter is, so that an operator can requeue them once the
//! cause is fixed — or purge them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::{credits, events};
use crate::domain::{FileStatus, SmeltStatus, Stage};
use crate::events::EventKind;
use crate::queue::{Job, JobQueue, QueueError, DEAD_LETTER_QUEUE};

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
    pub smelt_status: Option<String>,
    /// The code the smelt failed with.
    pub error_code: Option<String>,
}

/// Every dead letter, oldest first.
pub async fn list(pool: &PgPool) -> Result<Vec<DeadLetter>, sqlx::Error> {
    type Row = (
        i64,
        DateTime<Utc>,
        serde_json::Value,
        Option<String>,
        Option<String>,
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

/// What requeueing one letter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Requeued {
    /// The smelt is pending again with a new job (and its credit taken again if it had been
    /// refunded).
    Requeued,
    /// The smelt no longer exists; the letter was removed.
    SmeltGone,
    /// The smelt is no longer failed (it was requeued or cancelled since); nothing changed.
    NotFailed,
    /// The smelt's owner has no credit left to pay for it again; nothing changed.
    NoCredit,
    /// No such letter.
    NotFound,
}

/// Puts a dead-lettered job back in the queue, in one transaction: the smelt goes back to
/// `pending` (what it kept — transcripts, notes already made — stays, so the new run does
/// only what is missing), its credit is taken again only if it was refunded, a `progress`
/// event announces it, a new job is queued and the letter is removed.
pub async fn requeue(
    pool: &PgPool,
    queue: &JobQueue,
    msg_id: i64,
    now: DateTime<Utc>,
    weekly: i32,
) -> Result<Requeued, QueueError> {
    let mut tx = pool.begin().await?;
    let message: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "select message from pgmq.q_{DEAD_LETTER_QUEUE} where msg_id = $1 for update"
    ))
    .bind(msg_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(message) = message else {
        return Ok(Requeued::NotFound);
    };
    let smelt_id: Option<Uuid> = message["smelt_id"].as_str().and_then(|s| s.parse().ok());
    type Charged = (
        String,
        Option<Uuid>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<chrono::NaiveDate>,
    );
    let smelt: Option<Charged> = match smelt_id {
        Some(id) => {
            sqlx::query_as(
                "select status, user_id, credit_source, credit_refunded_at, anon_ip_hash,
                        anon_usage_date
                 from smelt where smelt_id = $1 for update",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        }
        None => None,
    };
    let (Some(smelt_id), Some((status, user_id, source, refunded_at, ip_hash, date))) =
        (smelt_id, smelt)
    else {
        delete_letter(&mut tx, msg_id).await?;
        tx.commit().await?;
        return Ok(Requeued::SmeltGone);
    };
    if status != SmeltStatus::Failed.as_str() {
        return Ok(Requeued::NotFailed);
    }
    if refunded_at.is_some() {
        match (source.as_deref(), user_id, ip_hash, date) {
            (Some("weekly"), Some(user_id), _, _) => {
                let row = credits::profile(&mut tx, user_id, now, weekly, true).await?;
                if row.credits_remaining <= 0 {
                    return Ok(Requeued::NoCredit);
                }
                sqlx::query(
                    "update user_profile set credits_remaining = credits_remaining - 1,
                                             updated_at = now()
                     where user_id = $1",
                )
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            }
            // An operator requeue is not the visitor asking again: the day's count is
            // restored without a limit.
            (Some("anonymous"), _, Some(ip_hash), Some(date)) => {
                sqlx::query(
                    "update anonymous_usage set smelts_used = smelts_used + 1
                     where ip_hash = $1 and usage_date = $2",
                )
                .bind(ip_hash)
                .bind(date)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
    }
    let waiting = Stage::of(SmeltStatus::Pending).message;
    sqlx::query(
        "update smelt set status = 'pending', error_code = null, error_message = null,
                          failed_prompt = null, completed_at = null, credit_refunded_at = null,
                          queue_position = null, progress_message = $2, updated_at = now()
         where smelt_id = $1",
    )
    .bind(smelt_id)
    .bind(waiting)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update smelt_file set status = $2, error_code = null
         where smelt_id = $1 and status <> 'completed'",
    )
    .bind(smelt_id)
    .bind(FileStatus::Pending.as_str())
    .execute(&mut *tx)
    .await?;
    let progress = serde_json::json!({
        "smelt_id": smelt_id,
        "status": SmeltStatus::Pending,
        "progress": {"percentage": 0, "stage": SmeltStatus::Pending, "message": waiting},
        "files": [],
    });
    events::append(&mut tx, smelt_id, EventKind::Progress, &progress).await?;
    queue.enqueue(&mut tx, Job { smelt_id }).await?;
    delete_letter(&mut tx, msg_id).await?;
    tx.commit().await?;
    Ok(Requeued::Requeued)
}

async fn delete_letter(conn: &mut sqlx::PgConnection, msg_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("select pgmq.delete($1, $2::bigint)")
        .bind(DEAD_LETTER_QUEUE)
        .bind(msg_id)
        .execute(conn)
        .await?;
    Ok(())
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
