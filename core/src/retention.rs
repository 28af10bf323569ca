//! Retention: how long Smelt keeps what people gave it, and the cleanup that enforces it.
//!
//! One cleanup run removes, in this order:
//! 1. finished anonymous smelts (completed, failed or cancelled) created before
//!    `now − anonymous_ttl`, with their files, results and events (rows) and their uploads
//!    and result documents (blobs);
//! 2. raw uploads of finished smelts that ended before `now − upload_ttl` (the smelt itself
//!    stays; only the audio goes);
//! 3. acknowledged queue messages archived before `now − archive_ttl`;
//! 4. finished webhook deliveries (delivered or given up) created before `now − archive_ttl`
//!    (a smelt's deliveries also go with the smelt).
//!
//! Deletions are paced at `rate_per_sec` so that a large backlog never floods the database or
//! the object store. A dry run reads the same items and deletes nothing.

use std::num::NonZeroU32;

use chrono::{DateTime, TimeDelta, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::blob::{self, BlobStore};
use crate::queue::JobQueue;
use crate::settings::RetentionSettings;
use crate::{db, uploads};

/// Rows read per query while walking the expired items.
const BATCH: i64 = 100;

/// Advisory-lock key held during a periodic cleanup, so that one process runs it at a time.
const CLEANUP_LOCK_KEY: i64 = 0x736d_656c_7463_6c6e; // "smeltcln"

/// How long things are kept.
#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    /// Age (since creation) at which a finished anonymous smelt is deleted.
    pub anonymous_ttl: TimeDelta,
    /// Time after completion at which a smelt's raw uploads are deleted.
    pub upload_ttl: TimeDelta,
    /// Age at which archived queue messages are deleted.
    pub archive_ttl: TimeDelta,
    /// Most deletions per second (a smelt's uploads count as one).
    pub rate_per_sec: NonZeroU32,
}

impl RetentionPolicy {
    /// The policy the settings describe (`SMELT_ANONYMOUS_RETENTION_HOURS`,
    /// `SMELT_UPLOAD_RETENTION_HOURS`, `SMELT_ARCHIVE_RETENTION_DAYS`,
    /// `SMELT_CLEANUP_RATE_PER_SEC`).
    pub fn from_settings(settings: &RetentionSettings) -> Self {
        RetentionPolicy {
            anonymous_ttl: TimeDelta::hours(settings.anonymous_retention_hours.into()),
            upload_ttl: TimeDelta::hours(settings.upload_retention_hours.into()),
            archive_ttl: TimeDelta::days(settings.archive_retention_days.into()),
            rate_per_sec: NonZeroU32::new(settings.cleanup_rate_per_sec).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// What a cleanup run deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CleanupReport {
    /// True when nothing was deleted.
    pub dry_run: bool,
    /// The instant the run measured ages against.
    pub now: DateTime<Utc>,
    /// Expired anonymous smelts.
    pub anonymous_smelts: Vec<Uuid>,
    /// Events of those smelts.
    pub events: u64,
    /// Blobs (uploads and result documents) of those smelts.
    pub smelt_blobs: u64,
    /// Raw uploads of kept smelts past the upload retention.
    pub expired_uploads: u64,
    /// Archived queue messages past the archive retention.
    pub archived_messages: u64,
    /// Finished webhook deliveries past the archive retention.
    pub webhook_deliveries: u64,
}

/// Runs one cleanup against `now`. Errors: database or blob store failures; whatever was
/// deleted before the failure stays deleted, and the next run picks up the rest.
pub async fn run(
    pool: &PgPool,
    blobs: &dyn BlobStore,
    queue: &JobQueue,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<CleanupReport> {
    let pace = RateLimiter::direct(Quota::per_second(policy.rate_per_sec));
    let mut report = CleanupReport {
        dry_run,
        now,
        ..CleanupReport::default()
    };
    expire_anonymous_smelts(
        pool,
        blobs,
        now - policy.anonymous_ttl,
        dry_run,
        &pace,
        &mut report,
    )
    .await?;
    expire_uploads(
        pool,
        blobs,
        now - policy.upload_ttl,
        dry_run,
        &pace,
        &mut report,
    )
    .await?;
    let archive_cutoff = now - policy.archive_ttl;
    report.archived_messages = if dry_run {
        queue.count_archive_before(archive_cutoff).await?
    } else {
        queue.prune_archive(archive_cutoff).await?
    };
    report.webhook_deliveries = db::webhooks::prune_finished(pool, archive_cutoff, dry_run).await?;
    if !dry_run {
        metrics::counter!(crate::metrics::CLEANUP_DELETIONS, "kind" => "webhook_delivery")
            .increment(report.webhook_deliveries);
        let deleted =
            metrics::counter!(crate::metrics::CLEANUP_DELETIONS, "kind" => "anonymous_smelt");
        deleted.increment(report.anonymous_smelts.len() as u64);
        metrics::counter!(crate::metrics::CLEANUP_DELETIONS, "kind" => "upload")
            .increment(report.expired_uploads);
        metrics::counter!(crate::metrics::CLEANUP_DELETIONS, "kind" => "archived_message")
            .increment(report.archived_messages);
    }
    Ok(report)
}

/// [`run`] unless another process is already cleaning up (then `None`): the run holds a
/// Postgres advisory lock for its duration.
pub async fn run_exclusive(
    pool: &PgPool,
    blobs: &dyn BlobStore,
    queue: &JobQueue,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<CleanupReport>> {
    let mut lock = pool.acquire().await?;
    if !db::retention::try_lock(&mut lock, CLEANUP_LOCK_KEY).await? {
        return Ok(None);
    }
    let result = run(pool, blobs, queue, policy, now, false).await;
    db::retention::unlock(&mut lock, CLEANUP_LOCK_KEY).await?;
    result.map(Some)
}

async fn expire_anonymous_smelts(
    pool: &PgPool,
    blobs: &dyn BlobStore,
    cutoff: DateTime<Utc>,
    dry_run: bool,
    pace: &DefaultDirectRateLimiter,
    report: &mut CleanupReport,
) -> anyhow::Result<()> {
    // Keyset pagination: a dry run deletes nothing, so each batch starts after the last one.
    let mut after = (DateTime::<Utc>::UNIX_EPOCH, Uuid::nil());
    loop {
        let batch = db::retention::expired_anonymous(pool, cutoff, after, BATCH).await?;
        for expired in &batch {
            after = (expired.created_at, expired.smelt_id);
            if dry_run {
                for prefix in blob::smelt_prefixes(expired.smelt_id) {
                    report.smelt_blobs += blobs.list(&prefix).await?.len() as u64;
                }
            } else {
                pace.until_ready().await;
                // Blobs before the row: if this run stops half-way, the row is still there
                // for the next run to find, and no blob is left without one.
                report.smelt_blobs += blob::purge_smelt(blobs, expired.smelt_id).await?;
                db::retention::delete_anonymous(pool, expired.smelt_id).await?;
            }
            report.anonymous_smelts.push(expired.smelt_id);
            report.events += expired.events.max(0) as u64;
        }
        if (batch.len() as i64) < BATCH {
            return Ok(());
        }
    }
}

async fn expire_uploads(
    pool: &PgPool,
    blobs: &dyn BlobStore,
    cutoff: DateTime<Utc>,
    dry_run: bool,
    pace: &DefaultDirectRateLimiter,
    report: &mut CleanupReport,
) -> anyhow::Result<()> {
    let mut after = Uuid::nil();
    loop {
        let batch = db::retention::expired_uploads(pool, cutoff, after, BATCH).await?;
        for &(smelt_id, uploads) in &batch {
            after = smelt_id;
            report.expired_uploads += if dry_run {
                uploads.max(0) as u64
            } else {
                pace.until_ready().await;
                uploads::release(pool, blobs, smelt_id).await?
            };
        }
        if (batch.len() as i64) < BATCH {
            return Ok(());
        }
    }
}
