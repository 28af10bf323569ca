//! The job queue: one pgmq queue, `smelt_jobs`, holding `{"smelt_id": …}` messages.
//!
//! A job is enqueued in the transaction that creates its smelt, so a smelt exists if and only
//! if its job does. Workers read with a visibility timeout: a message read but not deleted
//! (the worker died) becomes visible again when the timeout expires and is redelivered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Name of the pgmq queue.
pub const QUEUE_NAME: &str = "smelt_jobs";

/// The dead-letter queue: jobs that failed every delivery, kept for inspection.
pub const DEAD_LETTER_QUEUE: &str = "smelt_jobs_dlq";

/// Queues whose archives the retention cleanup prunes.
const ARCHIVED_QUEUES: [&str; 2] = [QUEUE_NAME, crate::webhooks::QUEUE_NAME];

/// Channel on which pgmq announces inserts into the queue (its `enable_notify_insert`).
pub const INSERT_CHANNEL: &str = "pgmq.q_smelt_jobs.INSERT";

/// Queue failure (database or message encoding).
pub type QueueError = pgmq::PgmqError;

/// What a message asks for: process this smelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub smelt_id: Uuid,
}

/// A message handed to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub msg_id: i64,
    /// How many times the message has been read, this delivery included (1 on the first).
    pub read_count: i32,
    pub job: Job,
}

/// How full a queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueMetrics {
    /// Messages in the queue (visible or not).
    pub depth: i64,
    /// Age of the oldest message, in seconds (0 when empty).
    pub oldest_age_secs: i64,
}

/// Handle on the queue (cheap to clone).
#[derive(Clone)]
pub struct JobQueue {
    pgmq: pgmq::PGMQueueExt,
}

impl JobQueue {
    /// Installs pgmq's SQL (embedded in the pgmq crate; idempotent and guarded by an advisory
    /// lock), creates the queue and turns on its insert notifications.
    pub async fn install(pool: &PgPool) -> Result<(), QueueError> {
        let pgmq = pgmq::PGMQueueExt::new_with_pool(pool.clone()).await;
        pgmq.install_sql_from_embedded().await?;
        pgmq.create(QUEUE_NAME).await?;
        pgmq.create(DEAD_LETTER_QUEUE).await?;
        pgmq.create(crate::webhooks::QUEUE_NAME).await?;
        pgmq.enable_notify_insert(crate::webhooks::QUEUE_NAME, std::time::Duration::ZERO)
            .await?;
        pgmq.enable_notify_insert(QUEUE_NAME, std::time::Duration::ZERO)
            .await?;
        Ok(())
    }

    /// A handle on the installed queue.
    pub async fn new(pool: PgPool) -> Self {
        JobQueue {
            pgmq: pgmq::PGMQueueExt::new_with_pool(pool).await,
        }
    }

    /// Enqueues a job inside the caller's transaction. Returns the message id.
    pub async fn enqueue(&self, conn: &mut PgConnection, job: Job) -> Result<i64, QueueError> {
        self.pgmq.send_with_cxn(QUEUE_NAME, &job, conn).await
    }

    /// Reads the next visible message, hiding it from other readers for `visibility_secs`.
    pub async fn read(&self, visibility_secs: i32) -> Result<Option<Delivery>, QueueError> {
        let message = self.pgmq.read::<Job>(QUEUE_NAME, visibility_secs).await?;
        Ok(message.map(|m| Delivery {
            msg_id: m.msg_id,
            read_count: m.read_ct,
            job: m.message,
        }))
    }

    /// Extends a message's invisibility to `visibility_secs` from now (a long stage is running).
    pub async fn extend(&self, msg_id: i64, visibility_secs: i32) -> Result<(), QueueError> {
        self.pgmq
            .set_vt::<Job>(QUEUE_NAME, msg_id, visibility_secs)
            .await
            .map(|_| ())
    }

    /// Makes a message visible again in `delay_secs` (a retry with backoff).
    pub async fn retry_in(&self, msg_id: i64, delay_secs: i32) -> Result<(), QueueError> {
        self.extend(msg_id, delay_secs).await
    }

    /// Moves a message to the dead-letter queue (with its delivery count) and archives it.
    pub async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        let body = serde_json::json!({
            "smelt_id": delivery.job.smelt_id,
            "deliveries": delivery.read_count,
            "reason": reason,
        });
        self.pgmq.send(DEAD_LETTER_QUEUE, &body).await?;
        self.archive(delivery.msg_id).await
    }

    /// Deletes messages archived before `cutoff` from the archives of the job queue and the
    /// webhook queue; returns how many.
    pub async fn prune_archive(&self, cutoff: DateTime<Utc>) -> Result<u64, QueueError> {
        let mut deleted = 0;
        for queue in ARCHIVED_QUEUES {
            let done = sqlx::query(&format!(
                "delete from pgmq.a_{queue} where archived_at < $1"
            ))
            .bind(cutoff)
            .execute(&self.pgmq.connection)
            .await?;
            deleted += done.rows_affected();
        }
        Ok(deleted)
    }

    /// How many archived messages [`JobQueue::prune_archive`] would delete.
    pub async fn count_archive_before(&self, cutoff: DateTime<Utc>) -> Result<u64, QueueError> {
        let mut count = 0;
        for queue in ARCHIVED_QUEUES {
            let n: i64 = sqlx::query_scalar(&format!(
                "select count(*) from pgmq.a_{queue} where archived_at < $1"
            ))
            .bind(cutoff)
            .fetch_one(&self.pgmq.connection)
            .await?;
            count += n as u64;
        }
        Ok(count)
    }

    /// Depth and oldest message's age of `queue` (this queue or its dead-letter queue), from
    /// pgmq's own `pgmq.metrics`.
    pub async fn metrics(&self, queue: &str) -> Result<QueueMetrics, QueueError> {
        let (depth, oldest): (i64, Option<i32>) =
            sqlx::query_as("select queue_length, oldest_msg_age_sec from pgmq.metrics($1)")
                .bind(queue)
                .fetch_one(&self.pgmq.connection)
                .await?;
        Ok(QueueMetrics {
            depth,
            oldest_age_secs: i64::from(oldest.unwrap_or(0)),
        })
    }

    /// Acknowledges a message: it is moved to the queue's archive (kept for inspection).
    pub async fn archive(&self, msg_id: i64) -> Result<(), QueueError> {
        self.pgmq.archive(QUEUE_NAME, msg_id).await.map(|_| ())
    }
}
