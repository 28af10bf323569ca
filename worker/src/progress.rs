//! The progress sink: the one way the pipeline reports what it is doing.
//!
//! Each emitted event updates the smelt row, appends the event (gap-free seq) and NOTIFYs, all
//! in one transaction. Progress events commit asynchronously (`synchronous_commit = off`): a
//! database crash may lose the last few hundred milliseconds of them, and the redelivered job
//! re-emits its state. Terminal events and results commit synchronously.
//!
//! Throttling: stage changes and terminal events always go out; in-stage updates at most one
//! per `progress_interval`, because every NOTIFY takes a database-wide lock at commit.
//! Monotonicity: the overall percentage never decreases and a stage never goes back, even when
//! a redelivered job starts again from the beginning.

use smelt_core::metrics::{SMELTS_FINISHED, STAGE_DURATION};
use std::time::{Duration, Instant};

use smelt_core::db::smelts::{self, NewResult, Smelt};
use smelt_core::db::{credits, events};
use smelt_core::domain::{ErrorCode, FileStatus, SmeltStatus, Stage};
use smelt_core::dto::{
    CompletedPayload, FailedPayload, FileProgressDto, ProgressDto, ProgressPayload,
};
use smelt_core::events::EventKind;
use sqlx::PgPool;
use uuid::Uuid;

/// Reports one smelt's progress.
pub struct ProgressSink {
    pool: PgPool,
    smelt_id: Uuid,
    interval: Duration,
    last_emit: Option<Instant>,
    emitted_percentage: Option<u8>,
    status: SmeltStatus,
    percentage: u8,
    /// Stage the smelt had reached before this delivery (later stages only are announced).
    floor: SmeltStatus,
    message: &'static str,
    eta_seconds: Option<u32>,
    files: Vec<FileProgressDto>,
    /// When the current stage began in this delivery (for the stage-duration histogram).
    stage_started: Instant,
}

fn stage_rank(status: SmeltStatus) -> usize {
    SmeltStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0)
}

impl ProgressSink {
    /// A sink for `smelt`, starting from its stored stage and percentage.
    pub fn new(pool: PgPool, smelt: &Smelt, interval: Duration) -> Result<Self, sqlx::Error> {
        let status = smelt.row.status()?;
        Ok(ProgressSink {
            pool,
            smelt_id: smelt.row.smelt_id,
            interval,
            last_emit: None,
            emitted_percentage: None,
            status,
            percentage: smelt.row.progress_percentage.clamp(0, 100) as u8,
            floor: status,
            message: Stage::of(status).message,
            eta_seconds: None,
            files: smelt
                .files
                .iter()
                .map(|f| FileProgressDto {
                    id: f.smelt_file_id,
                    status: FileStatus::Pending,
                    progress: 0,
                })
                .collect(),
            stage_started: Instant::now(),
        })
    }

    /// The smelt this sink reports on.
    pub fn smelt_id(&self) -> Uuid {
        self.smelt_id
    }

    /// Current overall percentage (0–100).
    pub fn percentage(&self) -> u8 {
        self.percentage
    }

    /// Sets one file's state for the next event (`progress` 0–100).
    pub fn set_file(&mut self, index: usize, status: FileStatus, progress: u8) {
        if let Some(f) = self.files.get_mut(index) {
            f.status = status;
            f.progress = progress.min(100);
        }
    }

    /// Sets the estimate of seconds left, shown from the next event on.
    pub fn set_eta(&mut self, eta_seconds: Option<u32>) {
        self.eta_seconds = eta_seconds;
    }

    /// Enters a stage: always announced unless the smelt was already past it.
    pub async fn enter(&mut self, status: SmeltStatus) -> Result<(), sqlx::Error> {
        let stage = Stage::of(status);
        if stage_rank(status) < stage_rank(self.floor) {
            return Ok(());
        }
        if status != self.status {
            self.record_stage_duration();
            self.stage_started = Instant::now();
        }
        self.status = status;
        self.message = stage.message;
        self.percentage = self.percentage.max(stage.start);
        self.emit().await
    }

    /// Reports `fraction` (0.0–1.0) of the current stage done; announced when the percentage
    /// moved and the throttle interval has passed.
    pub async fn advance(&mut self, fraction: f64) -> Result<(), sqlx::Error> {
        if stage_rank(self.status) < stage_rank(self.floor) {
            return Ok(());
        }
        self.percentage = Stage::of(self.status)
            .percentage_at(fraction)
            .max(self.percentage);
        let due = self.last_emit.is_none_or(|t| t.elapsed() >= self.interval);
        if due && self.emitted_percentage != Some(self.percentage) {
            self.emit().await?;
        }
        Ok(())
    }

    fn record_stage_duration(&self) {
        metrics::histogram!(STAGE_DURATION, "stage" => self.status.as_str())
            .record(self.stage_started.elapsed().as_secs_f64());
    }

    async fn emit(&mut self) -> Result<(), sqlx::Error> {
        let payload = ProgressPayload {
            smelt_id: self.smelt_id,
            status: self.status,
            progress: ProgressDto {
                percentage: self.percentage,
                stage: self.status,
                message: self.message.to_owned(),
                eta_seconds: self.eta_seconds,
            },
            files: self.files.clone(),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("set local synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        smelts::set_progress(
            &mut tx,
            self.smelt_id,
            self.status,
            self.percentage,
            self.message,
        )
        .await?;
        events::append(&mut tx, self.smelt_id, EventKind::Progress, &payload).await?;
        tx.commit().await?;
        self.last_emit = Some(Instant::now());
        self.emitted_percentage = Some(self.percentage);
        Ok(())
    }

    /// Stores the results, marks the smelt completed and announces `completed` with them, in
    /// one synchronously committed transaction.
    pub async fn complete(self, results: &[NewResult]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        smelts::insert_results(&mut tx, self.smelt_id, results).await?;
        smelts::mark_completed(&mut tx, self.smelt_id).await?;
        sqlx::query(
            "update smelt_file set status = 'completed' where smelt_id = $1 and status <> 'failed'",
        )
        .bind(self.smelt_id)
        .execute(&mut *tx)
        .await?;
        let payload = CompletedPayload {
            smelt_id: self.smelt_id,
            status: SmeltStatus::Completed,
            results: smelts::results(&mut *tx, self.smelt_id).await?,
        };
        events::append(&mut tx, self.smelt_id, EventKind::Completed, &payload).await?;
        tx.commit().await?;
        self.record_stage_duration();
        metrics::counter!(SMELTS_FINISHED, "status" => "completed", "error_code" => "")
            .increment(1);
        Ok(())
    }

    /// Marks the smelt failed, refunds its credit (once) and announces `failed`, in one
    /// synchronously committed transaction. A smelt already finished is left as it is (returns `false`).
    pub async fn fail(self, code: ErrorCode, message: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let status: Option<String> =
            sqlx::query_scalar("select status from smelt where smelt_id = $1 for update")
                .bind(self.smelt_id)
                .fetch_optional(&mut *tx)
                .await?;
        if status.is_none_or(|s| s == "completed" || s == "failed") {
            return Ok(false);
        }
        smelts::mark_failed(&mut tx, self.smelt_id, code, message).await?;
        // The credit comes back in the same transaction that records the failure.
        credits::refund(&mut tx, self.smelt_id).await?;
        sqlx::query(
            "update smelt_file set status = 'failed' where smelt_id = $1 and status <> 'completed'",
        )
        .bind(self.smelt_id)
        .execute(&mut *tx)
        .await?;
        let payload = FailedPayload {
            smelt_id: self.smelt_id,
            status: SmeltStatus::Failed,
            error_code: code,
            error_message: message.to_owned(),
        };
        events::append(&mut tx, self.smelt_id, EventKind::Failed, &payload).await?;
        tx.commit().await?;
        self.record_stage_duration();
        metrics::counter!(SMELTS_FINISHED, "status" => "failed", "error_code" => code.as_str())
            .increment(1);
        Ok(true)
    }
}
