//! The queues, on pgmq: [`Queue`] is one queue of one kind of message, read with a
//! visibility timeout. A message read but not acknowledged (its reader died) becomes visible
//! again when the timeout expires and is delivered again.
//!
//! - [`JobQueue`]: `{"smelt_id": …, "lane": …}`, one per smelt to process, in its lane's queue
//!   (`smelt_jobs_fast`, `smelt_jobs` for the normal lane, `smelt_jobs_bulk`; see
//!   [`Lane`]). A job is enqueued in the transaction that creates its smelt, so a smelt exists
//!   if and only if its job does. Workers claim jobs with [`JobQueue::claim`] (lanes in the
//!   order the worker's weights choose, a user beyond the running limit yielding to others).
//!   Jobs that fail every delivery move to the dead-letter queue `smelt_jobs_dlq`.
//! - [`WebhookQueue`] (`smelt_webhooks`): `{"delivery_id": …}`, one per webhook delivery,
//!   enqueued in the transaction that ends the smelt.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::db::queues;
use crate::domain::Lane;

/// The dead-letter queue: jobs that failed every delivery, kept for inspection.
pub const DEAD_LETTER_QUEUE: &str = "smelt_jobs_dlq";

/// Name of the webhook delivery queue.
pub const WEBHOOK_QUEUE_NAME: &str = "smelt_webhooks";

/// Queues whose archives the retention cleanup prunes: the lanes' and the webhooks'.
fn archived_queues() -> impl Iterator<Item = &'static str> {
    Lane::ALL
        .iter()
        .map(|l| l.queue_name())
        .chain([WEBHOOK_QUEUE_NAME])
}

/// The channel on which pgmq announces inserts into a lane's queue (its
/// `enable_notify_insert`): `pgmq.q_{queue}.INSERT`.
pub fn insert_channel(lane: Lane) -> &'static str {
    match lane {
        Lane::Fast => "pgmq.q_smelt_jobs_fast.INSERT",
        Lane::Normal => "pgmq.q_smelt_jobs.INSERT",
        Lane::Bulk => "pgmq.q_smelt_jobs_bulk.INSERT",
    }
}

/// Channel on which pgmq announces inserts into the webhook queue (`pgmq.q_{queue}.INSERT`).
pub const WEBHOOK_INSERT_CHANNEL: &str = "pgmq.q_smelt_webhooks.INSERT";

/// Queue failure (database or message encoding).
pub type QueueError = pgmq::PgmqError;

/// A kind of message and the queue that holds it.
pub trait QueueMessage: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The pgmq queue of this kind of message.
    const QUEUE: &'static str;
}

/// What a job message asks for: process this smelt. It travels in its lane's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub smelt_id: Uuid,
    /// The lane whose queue holds it (`normal` for jobs queued before there were lanes).
    #[serde(default = "normal_lane")]
    pub lane: Lane,
}

fn normal_lane() -> Lane {
    Lane::Normal
}

/// What a webhook message asks for: attempt this delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub delivery_id: Uuid,
}

impl QueueMessage for WebhookDelivery {
    const QUEUE: &'static str = WEBHOOK_QUEUE_NAME;
}

/// The job queue.
pub type JobQueue = Queue<Job>;

/// The webhook delivery queue.
pub type WebhookQueue = Queue<WebhookDelivery>;

/// A message handed to a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<M> {
    pub msg_id: i64,
    /// How many times the message has been read, this delivery included (1 on the first).
    pub read_count: i32,
    pub message: M,
}

/// How full a queue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueMetrics {
    /// Messages in the queue (visible or not).
    pub depth: i64,
    /// Age of the oldest message, in seconds (0 when empty).
    pub oldest_age_secs: i64,
}

/// Handle on the queue of `M` messages (cheap to clone).
pub struct Queue<M> {
    pgmq: pgmq::PGMQueueExt,
    pool: PgPool,
    message: PhantomData<fn() -> M>,
}

impl<M> Clone for Queue<M> {
    fn clone(&self) -> Self {
        Queue {
            pgmq: self.pgmq.clone(),
            pool: self.pool.clone(),
            message: PhantomData,
        }
    }
}

/// Installs pgmq's SQL (embedded in the pgmq crate; idempotent and guarded by an advisory
/// lock), creates the queues and turns on their insert notifications.
pub async fn install(pool: &PgPool) -> Result<(), QueueError> {
    let pgmq = pgmq::PGMQueueExt::new_with_pool(pool.clone()).await;
    pgmq.install_sql_from_embedded().await?;
    let lanes = Lane::ALL.iter().map(|l| l.queue_name());
    for queue in lanes.clone().chain([DEAD_LETTER_QUEUE, WEBHOOK_QUEUE_NAME]) {
        pgmq.create(queue).await?;
    }
    for queue in lanes.chain([WEBHOOK_QUEUE_NAME]) {
        pgmq.enable_notify_insert(queue, std::time::Duration::ZERO)
            .await?;
    }
    Ok(())
}

impl<M> Queue<M> {
    /// A handle on the installed queue.
    pub async fn new(pool: PgPool) -> Self {
        Queue {
            pgmq: pgmq::PGMQueueExt::new_with_pool(pool.clone()).await,
            pool,
            message: PhantomData,
        }
    }
}

impl<M: QueueMessage> Queue<M> {
    /// Sends a message inside the caller's transaction. Returns its id.
    pub async fn send(&self, conn: &mut PgConnection, message: &M) -> Result<i64, QueueError> {
        self.pgmq.send_with_cxn(M::QUEUE, message, conn).await
    }

    /// Sends messages inside the caller's transaction. Returns their ids.
    pub async fn send_all(
        &self,
        conn: &mut PgConnection,
        messages: &[M],
    ) -> Result<Vec<i64>, QueueError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        self.pgmq
            .send_batch_with_cxn(M::QUEUE, messages, conn)
            .await
    }

    /// Reads up to `limit` visible messages, hiding them from other readers for
    /// `visibility_secs`.
    pub async fn read(
        &self,
        visibility_secs: i32,
        limit: i32,
    ) -> Result<Vec<Delivery<M>>, QueueError> {
        let messages = self
            .pgmq
            .read_batch::<M>(M::QUEUE, visibility_secs, limit)
            .await?;
        Ok(messages
            .into_iter()
            .map(|m| Delivery {
                msg_id: m.msg_id,
                read_count: m.read_ct,
                message: m.message,
            })
            .collect())
    }

    /// Reads the next visible message, hiding it from other readers for `visibility_secs`.
    pub async fn read_one(&self, visibility_secs: i32) -> Result<Option<Delivery<M>>, QueueError> {
        Ok(self.read(visibility_secs, 1).await?.into_iter().next())
    }

    /// Hides a message for `visibility_secs` from now: a long job extends its hold, a failed
    /// one comes back after its backoff.
    pub async fn hide_for(&self, msg_id: i64, visibility_secs: i32) -> Result<(), QueueError> {
        self.pgmq
            .set_vt::<M>(M::QUEUE, msg_id, visibility_secs)
            .await
            .map(|_| ())
    }

    /// Acknowledges a message: it is moved to the queue's archive (kept for inspection).
    pub async fn archive(&self, msg_id: i64) -> Result<(), QueueError> {
        self.pgmq.archive(M::QUEUE, msg_id).await.map(|_| ())
    }

    /// Acknowledges a message inside the caller's transaction: it leaves the queue exactly
    /// when what its reader did is committed.
    pub async fn archive_in(&self, conn: &mut PgConnection, msg_id: i64) -> Result<(), QueueError> {
        queues::archive(conn, M::QUEUE, msg_id).await?;
        Ok(())
    }

    /// Depth and oldest message's age of the queue.
    pub async fn metrics(&self) -> Result<QueueMetrics, QueueError> {
        Ok(queues::metrics(&self.pool, M::QUEUE).await?)
    }
}

impl JobQueue {
    /// Enqueues a job in its lane's queue inside the caller's transaction. Returns the
    /// message id.
    pub async fn enqueue(&self, conn: &mut PgConnection, job: Job) -> Result<i64, QueueError> {
        self.pgmq
            .send_with_cxn(job.lane.queue_name(), &job, conn)
            .await
    }

    /// Claims the next job (see the `smelt_claim_job` database function): the oldest visible
    /// one of the first lane in `lanes` that has one, skipping jobs of owners (a user, or an
    /// anonymous client's address) who hold `max_running` jobs already while another
    /// owner's job waits (`max_running` 0: no limit). The claimed message is hidden from
    /// other readers for `visibility_secs`. Every lane is read: those missing from `lanes`
    /// come after them in priority order.
    pub async fn claim(
        &self,
        lanes: &[Lane],
        visibility_secs: i32,
        max_running: u32,
    ) -> Result<Option<Delivery<Job>>, QueueError> {
        let mut order: Vec<&str> = lanes.iter().map(|l| l.queue_name()).collect();
        for lane in Lane::ALL {
            if !lanes.contains(lane) {
                order.push(lane.queue_name());
            }
        }
        let claimed = queues::claim_job(
            &self.pool,
            &order,
            visibility_secs,
            i32::try_from(max_running).unwrap_or(i32::MAX),
        )
        .await?;
        let Some((queue, msg_id, read_count, message)) = claimed else {
            return Ok(None);
        };
        let mut job: Job = serde_json::from_value(message)?;
        // The queue is the truth about the lane (a message from before lanes says none).
        job.lane = Lane::of_queue(&queue).unwrap_or(job.lane);
        Ok(Some(Delivery {
            msg_id,
            read_count,
            message: job,
        }))
    }

    /// Hides a claimed job for `visibility_secs` from now: a long job extends its hold, a
    /// failed one comes back after its backoff.
    pub async fn hide_for(
        &self,
        delivery: &Delivery<Job>,
        visibility_secs: i32,
    ) -> Result<(), QueueError> {
        self.pgmq
            .set_vt::<Job>(
                delivery.message.lane.queue_name(),
                delivery.msg_id,
                visibility_secs,
            )
            .await
            .map(|_| ())
    }

    /// Acknowledges a claimed job: it is moved to its lane's archive.
    pub async fn archive(&self, delivery: &Delivery<Job>) -> Result<(), QueueError> {
        self.pgmq
            .archive(delivery.message.lane.queue_name(), delivery.msg_id)
            .await
            .map(|_| ())
    }

    /// Depth and oldest message's age of a lane's queue.
    pub async fn metrics(&self, lane: Lane) -> Result<QueueMetrics, QueueError> {
        Ok(queues::metrics(&self.pool, lane.queue_name()).await?)
    }

    /// Moves a message to the dead-letter queue (with its delivery count) and archives it.
    pub async fn dead_letter(
        &self,
        delivery: &Delivery<Job>,
        reason: &str,
    ) -> Result<(), QueueError> {
        let body = serde_json::json!({
            "smelt_id": delivery.message.smelt_id,
            "deliveries": delivery.read_count,
            "reason": reason,
        });
        self.pgmq.send(DEAD_LETTER_QUEUE, &body).await?;
        self.archive(delivery).await
    }

    /// Removes a letter from the dead-letter queue inside the caller's transaction.
    pub async fn delete_letter(
        &self,
        conn: &mut PgConnection,
        msg_id: i64,
    ) -> Result<(), QueueError> {
        self.pgmq
            .delete_with_cxn(DEAD_LETTER_QUEUE, msg_id, conn)
            .await
            .map(|_| ())
    }

    /// Depth and oldest message's age of the dead-letter queue.
    pub async fn dead_letter_metrics(&self) -> Result<QueueMetrics, QueueError> {
        Ok(queues::metrics(&self.pool, DEAD_LETTER_QUEUE).await?)
    }

    /// Deletes messages archived before `cutoff` from the archives of the job queue and the
    /// webhook queue; returns how many.
    pub async fn prune_archive(&self, cutoff: DateTime<Utc>) -> Result<u64, QueueError> {
        let mut deleted = 0;
        for queue in archived_queues() {
            deleted += queues::prune_archive(&self.pool, queue, cutoff).await?;
        }
        Ok(deleted)
    }

    /// How many archived messages [`JobQueue::prune_archive`] would delete.
    pub async fn count_archive_before(&self, cutoff: DateTime<Utc>) -> Result<u64, QueueError> {
        let mut count = 0;
        for queue in archived_queues() {
            count += queues::count_archive_before(&self.pool, queue, cutoff).await?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lane_is_announced_on_its_queue_insert_channel() {
        for lane in Lane::ALL {
            assert_eq!(
                insert_channel(*lane),
                format!("pgmq.q_{}.INSERT", lane.queue_name())
            );
        }
    }
}
