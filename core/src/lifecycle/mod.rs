//! A smelt's life, owned here: every change of its status, each with its event (payload built
//! once, in [`payload`]), its credit effect and its metric, in one transaction.
//!
//! ```text
//!  create ─► pending ─► validating ─► decoding ─► transcribing ─► synthesizing ─► completed
//!               ▲           │            │             │               │
//!               │           └────────────┴─────┬───────┴───────────────┘
//!               │                              ├─► failed (credit refunded) ─┐
//!               │   cancel (from any of these) └─► cancelled (refunded only   │
//!               │                                  before transcribing)      │
//!               └──────────── requeue from the dead-letter queue ◄───────────┘
//! ```
//!
//! - [`create`]: the smelt and its files are stored `pending` and its job queued, in the
//!   transaction that reserved its credit.
//! - [`ProgressSink`]: a running smelt's stages, percentages and transcript segments, and its
//!   end, `completed` or `failed`. A sink whose smelt was cancelled or deleted answers
//!   [`ReportError::Stopped`].
//! - [`cancel`], [`delete`]: its owner stops or removes it.
//! - [`requeue`]: an operator puts a dead-lettered smelt back in the queue.
//!
//! The statements that write `smelt.status` ([`crate::db::transitions`]) are private to this
//! crate; nothing else changes a smelt's status.

mod payload;
pub mod progress;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::blob::{self, BlobError, BlobStore};
use crate::db::smelts::{self, NewFile, NewSmelt, Smelt};
use crate::db::transitions::{self, Ended, Ending};
use crate::db::{credits, dead_letters, events, webhooks};
use crate::domain::{ErrorCode, FileStatus, SmeltStatus, Stage};
use crate::dto::{FileProgressDto, ProgressDto};
use crate::events::NewEvent;
use crate::metrics::{JOBS_ENQUEUED, SMELTS_FINISHED, SMELT_DURATION};
use crate::queue::{Job, JobQueue, QueueError, WebhookDelivery, WebhookQueue};
use crate::uploads;
use crate::webhooks::DeliveryBody;

pub use progress::{ProgressSink, ReportError};

/// A change of status could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The job or webhook queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The blob store failed.
    #[error(transparent)]
    Storage(#[from] BlobError),
}

/// Now, as the announcements of events carry it (Unix µs).
pub(crate) fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// Stores a new smelt `pending` with its files and queues its job, in `tx` (the transaction
/// that reserved its credit), and commits. Returns the smelt as stored.
pub async fn create(
    mut tx: Transaction<'_, Postgres>,
    queue: &JobQueue,
    smelt: &NewSmelt,
    files: &[NewFile],
) -> Result<Smelt, LifecycleError> {
    let stored = create_in(&mut tx, queue, smelt, files).await?;
    tx.commit().await?;
    metrics::counter!(JOBS_ENQUEUED).increment(1);
    Ok(stored)
}

/// [`create`] inside the caller's transaction, which commits it (the load client creates its
/// smelts in batches this way).
pub async fn create_in(
    conn: &mut PgConnection,
    queue: &JobQueue,
    smelt: &NewSmelt,
    files: &[NewFile],
) -> Result<Smelt, LifecycleError> {
    let stored = smelts::insert(&mut *conn, smelt, files).await?;
    let job = Job {
        smelt_id: smelt.smelt_id,
        lane: smelt.lane,
    };
    queue.enqueue(conn, job).await?;
    Ok(stored)
}

/// Whether cancelling a smelt that was `previous` gives its credit back: only while nothing
/// has been transcribed (queued, validating or decoding). Once transcription has begun the
/// credit is spent and the owner keeps what was made; otherwise upload, wait, cancel and
/// export would be a free transcription.
pub fn cancel_refunds(previous: SmeltStatus) -> bool {
    matches!(
        previous,
        SmeltStatus::Pending | SmeltStatus::Validating | SmeltStatus::Decoding
    )
}

/// Ends a smelt that has not finished (inside `conn`'s transaction): its status, its refund
/// (a failure always, a cancellation only before transcription, see [`cancel_refunds`]), its
/// terminal event (built from the ending) and its webhook deliveries; the smelts behind it are
/// told their new places if it was still queued. `None` when it was already finished or is
/// gone; otherwise how it ended and whether its credit came back.
pub(crate) async fn end(
    conn: &mut PgConnection,
    webhooks: &WebhookQueue,
    smelt_id: Uuid,
    ending: Ending<'_>,
) -> Result<Option<(Ended, bool)>, LifecycleError> {
    let Some(ended) = transitions::end(&mut *conn, smelt_id, ending).await? else {
        return Ok(None);
    };
    let mut refunded = false;
    let (status, error_code) = match ending {
        Ending::Completed => (SmeltStatus::Completed, None),
        Ending::Failed { code, .. } => (SmeltStatus::Failed, Some(code)),
        Ending::Cancelled => (SmeltStatus::Cancelled, Some(ErrorCode::Cancelled)),
    };
    let event = match ending {
        Ending::Completed => {
            payload::completed(smelt_id, smelts::results(&mut *conn, smelt_id).await?)
        }
        Ending::Failed {
            code,
            message,
            failed_prompt,
        } => {
            // The credit comes back in the same transaction that records the failure.
            refunded = credits::refund(&mut *conn, smelt_id).await?;
            let kept = smelts::results(&mut *conn, smelt_id).await?;
            payload::failed(smelt_id, code, message, failed_prompt, kept)
        }
        Ending::Cancelled => {
            if cancel_refunds(ended.previous) {
                refunded = credits::refund(&mut *conn, smelt_id).await?;
            }
            let kept = smelts::results(&mut *conn, smelt_id).await?;
            payload::cancelled(smelt_id, refunded, kept)
        }
    };
    let at = now_us();
    let appended = events::append(&mut *conn, &[(smelt_id, &event)], at).await?;
    if let (Some(owner), Some(appended)) = (ended.user_id, appended.first()) {
        let body = DeliveryBody::new(smelt_id, status, error_code, appended.seq, Utc::now());
        notify_webhooks(conn, webhooks, owner, (event.kind, appended.seq), &body).await?;
    }
    Ok(Some((ended, refunded)))
}

/// Queues a delivery of the terminal event (`kind`, `seq`) to each of the owner's webhooks,
/// with its thin body (no content: see [`DeliveryBody`]).
async fn notify_webhooks(
    conn: &mut PgConnection,
    queue: &WebhookQueue,
    owner: Uuid,
    event: (crate::events::EventKind, i64),
    body: &DeliveryBody,
) -> Result<(), LifecycleError> {
    let json = serde_json::to_string(body).expect("delivery bodies serialise");
    let deliveries =
        webhooks::create_deliveries(&mut *conn, owner, body.data.smelt_id, event, &json).await?;
    if deliveries.is_empty() {
        return Ok(());
    }
    let messages: Vec<WebhookDelivery> = deliveries
        .into_iter()
        .map(|delivery_id| WebhookDelivery { delivery_id })
        .collect();
    queue.send_all(conn, &messages).await?;
    Ok(())
}

/// Records an ended smelt in `smelt_smelts_finished_total` and
/// `smelt_smelt_duration_seconds` (once its transaction committed).
pub(crate) fn record_end(ended: &Ended, status: SmeltStatus, code: Option<ErrorCode>) {
    let seconds = (Utc::now() - ended.created_at).as_seconds_f64().max(0.0);
    metrics::histogram!(SMELT_DURATION, "status" => status.as_str()).record(seconds);
    let code = code.map(ErrorCode::as_str).unwrap_or("");
    metrics::counter!(SMELTS_FINISHED, "status" => status.as_str(), "error_code" => code)
        .increment(1);
}

/// What [`cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancellation {
    /// The smelt was pending or running and is now cancelled. `credit_refunded`: its credit
    /// came back (it had one, and transcription had not begun, see [`cancel_refunds`]).
    Cancelled { credit_refunded: bool },
    /// It had already finished (completed, failed or cancelled); nothing changed.
    AlreadyFinished,
    /// No such smelt.
    NotFound,
}

/// Cancels a smelt that has not finished: marks it cancelled, refunds its credit (once, and
/// only before transcription began, see [`cancel_refunds`]) and announces the terminal
/// `cancelled` event, in one synchronously committed transaction; then
/// deletes what it stored (its uploads, and any document already written). A queued job then
/// never starts, and a running one stops at its next report ([`ReportError::Stopped`]).
/// Ownership is the caller's to check.
pub async fn cancel(
    pool: &PgPool,
    blobs: &dyn BlobStore,
    smelt_id: Uuid,
) -> Result<Cancellation, LifecycleError> {
    let webhooks = WebhookQueue::new(pool.clone()).await;
    let mut tx = pool.begin().await?;
    if transitions::lock(&mut tx, smelt_id).await?.is_none() {
        return Ok(Cancellation::NotFound);
    }
    let Some((ended, credit_refunded)) =
        end(&mut tx, &webhooks, smelt_id, Ending::Cancelled).await?
    else {
        return Ok(Cancellation::AlreadyFinished);
    };
    tx.commit().await?;
    record_end(&ended, SmeltStatus::Cancelled, Some(ErrorCode::Cancelled));
    tracing::info!(%smelt_id, credit_refunded, "smelt cancelled");
    release_blobs(pool, blobs, smelt_id).await;
    Ok(Cancellation::Cancelled { credit_refunded })
}

/// Deletes every blob of a stopped smelt (its uploads, and any document a running delivery
/// wrote) and forgets its uploads' keys; failures are logged, and the retention cleanup finds
/// what is left. The worker calls it too when its run stops, for documents it stored after
/// the cancellation.
pub async fn release_blobs(pool: &PgPool, blobs: &dyn BlobStore, smelt_id: Uuid) {
    if let Err(e) = uploads::release(pool, blobs, smelt_id).await {
        tracing::warn!(%smelt_id, error = %e, "could not delete the uploads of a stopped smelt");
    }
    if let Err(e) = blob::purge_smelt(blobs, smelt_id).await {
        tracing::warn!(%smelt_id, error = %e, "could not delete the blobs of a stopped smelt");
    }
}

/// Deletes `owner`'s smelt with its files, results, events and blobs. A smelt still running is
/// cancelled first, so that its subscribers get a terminal event and their sockets close; its
/// worker then stops at its next report. `false` when `owner` has no such smelt.
pub async fn delete(
    pool: &PgPool,
    blobs: &dyn BlobStore,
    smelt_id: Uuid,
    owner: Uuid,
) -> Result<bool, LifecycleError> {
    if smelts::owner(pool, smelt_id).await? != Some(Some(owner)) {
        return Ok(false);
    }
    cancel(pool, blobs, smelt_id).await?;
    // The rows (files, results and events cascade), so the smelt is gone for everyone at
    // once; then every blob under its prefixes, including documents a running delivery wrote
    // just before.
    if !smelts::delete_owned(pool, smelt_id, owner).await? {
        return Ok(false);
    }
    if let Err(e) = blob::purge_smelt(blobs, smelt_id).await {
        tracing::warn!(%smelt_id, error = %e, "could not delete the blobs of a deleted smelt");
    }
    tracing::info!(%smelt_id, "smelt deleted");
    Ok(true)
}

/// The live `progress` payload that tells a pending smelt's watchers its place in the queue
/// (stage `pending`, `queue_position`, `estimated_wait_seconds`, each file pending). It is
/// pushed to subscribers as it changes and never appended to the event log: a place is not
/// history, and the snapshot carries the current one.
pub fn queue_place(place: &smelts::QueuePlace) -> NewEvent {
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
            language: None,
        })
        .collect();
    payload::progress(place.smelt_id, progress, files)
}

/// What requeueing one dead letter did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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
/// only what is missing), its credit is taken again only if it was refunded (with `weekly`
/// credits when the week has been reset since), a `progress` event announces it, a new job
/// is queued and the letter is removed.
pub async fn requeue(
    pool: &PgPool,
    queue: &JobQueue,
    msg_id: i64,
    now: DateTime<Utc>,
    weekly: i32,
) -> Result<Requeued, LifecycleError> {
    let mut tx = pool.begin().await?;
    let Some(letter) = dead_letters::lock(&mut tx, msg_id).await? else {
        return Ok(Requeued::NotFound);
    };
    let status = match letter {
        Some(smelt_id) => transitions::lock(&mut tx, smelt_id)
            .await?
            .map(|status| (smelt_id, status)),
        None => None,
    };
    let Some((smelt_id, status)) = status else {
        queue.delete_letter(&mut tx, msg_id).await?;
        tx.commit().await?;
        return Ok(Requeued::SmeltGone);
    };
    if status != SmeltStatus::Failed {
        return Ok(Requeued::NotFailed);
    }
    if !credits::charge_again(&mut tx, smelt_id, now, weekly).await? {
        return Ok(Requeued::NoCredit);
    }
    if !transitions::reopen(&mut tx, smelt_id).await? {
        return Ok(Requeued::NotFailed);
    }
    let files = smelts::file_statuses(&mut *tx, smelt_id).await?;
    let waiting = ProgressDto {
        percentage: 0,
        stage: SmeltStatus::Pending,
        message: Stage::of(SmeltStatus::Pending).message.to_owned(),
        eta_seconds: None,
        queue_position: None,
        estimated_wait_seconds: None,
    };
    let files = files
        .into_iter()
        .map(|(id, status): (Uuid, FileStatus)| FileProgressDto {
            id,
            status,
            progress: 0,
            language: None,
        })
        .collect();
    let event = payload::progress(smelt_id, waiting, files);
    events::append(&mut tx, &[(smelt_id, &event)], now_us()).await?;
    let lane = smelts::lane_of(&mut *tx, smelt_id).await?;
    queue.enqueue(&mut tx, Job { smelt_id, lane }).await?;
    queue.delete_letter(&mut tx, msg_id).await?;
    tx.commit().await?;
    Ok(Requeued::Requeued)
}
