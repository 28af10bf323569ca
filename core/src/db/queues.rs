//! What pgmq's client does not offer: claiming a job by lane and owner, the archives' pruning
//! and the queues' depth. Queue names come from [`crate::queue`] and
//! [`crate::domain::Lane`], never from input.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::queue::QueueMetrics;

/// Deletes the messages of `queue`'s archive archived before `cutoff`; returns how many.
pub async fn prune_archive<'e>(
    db: impl PgExecutor<'e>,
    queue: &str,
    cutoff: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(&format!(
        "delete from pgmq.a_{queue} where archived_at < $1"
    ))
    .bind(cutoff)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// How many messages of `queue`'s archive were archived before `cutoff`.
pub async fn count_archive_before<'e>(
    db: impl PgExecutor<'e>,
    queue: &str,
    cutoff: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(&format!(
        "select count(*) from pgmq.a_{queue} where archived_at < $1"
    ))
    .bind(cutoff)
    .fetch_one(db)
    .await?;
    Ok(n.max(0) as u64)
}

/// Moves message `msg_id` of `queue` to its archive (pgmq's `archive`) inside the caller's
/// transaction. Returns whether the message was still there.
pub async fn archive<'e>(
    db: impl PgExecutor<'e>,
    queue: &str,
    msg_id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select pgmq.archive($1, $2)")
        .bind(queue)
        .bind(msg_id)
        .fetch_one(db)
        .await
}

/// Depth and oldest message's age of `queue`, from pgmq's own `pgmq.metrics`.
pub async fn metrics<'e>(
    db: impl PgExecutor<'e>,
    queue: &str,
) -> Result<QueueMetrics, sqlx::Error> {
    let (depth, oldest): (i64, Option<i32>) =
        sqlx::query_as("select queue_length, oldest_msg_age_sec from pgmq.metrics($1)")
            .bind(queue)
            .fetch_one(db)
            .await?;
    Ok(QueueMetrics {
        depth,
        oldest_age_secs: i64::from(oldest.unwrap_or(0)),
    })
}

/// A job claimed by `smelt_claim_job`: its queue's name, message id, read count (this read
/// included) and message.
pub type ClaimedJob = (String, i64, i32, serde_json::Value);

/// Claims the next job from the queues `order` (see the `smelt_claim_job` database function
/// for the rules), hiding it for `visibility_secs`.
pub async fn claim_job<'e>(
    db: impl PgExecutor<'e>,
    order: &[&str],
    visibility_secs: i32,
    max_running: i32,
) -> Result<Option<ClaimedJob>, sqlx::Error> {
    sqlx::query_as("select queue_name, msg_id, read_ct, message from smelt_claim_job($1, $2, $3)")
        .bind(order)
        .bind(visibility_secs)
        .bind(max_running)
        .fetch_optional(db)
        .await
}
