//! The progress sink: the one way the pipeline reports what it is doing.
//!
//! Each publication is one statement (`db::events::publish_progress`): the smelt's state, the
//! transcript segments finished since the last one, the event rows with their gap-free seqs
//! and the NOTIFYs, committed together and asynchronously (a database crash may lose the last
//! few hundred milliseconds of progress; the redelivered job publishes it again). The end of a
//! smelt — `completed`, or `failed` with its refund — commits synchronously.
//!
//! Throttling: stage changes and terminal events always go out; in-stage updates at most one
//! per `progress_interval`, because every NOTIFY takes a database-wide lock at commit.
//! Segments that come faster than that wait for the next publication; none is dropped.
//! Monotonicity: the overall percentage never decreases and a stage never goes back, even when
//! a redelivered job starts again from the beginning.

use crate::metrics::{SMELTS_FINISHED, SMELT_DURATION, STAGE_DURATION};
use std::time::{Duration, Instant};

use crate::db::credits;
use crate::db::events::{self, ProgressState, SegmentBatch};
use crate::db::smelts::{self, Ending, Smelt};
use crate::domain::{ErrorCode, FileStatus, SmeltStatus, Stage};
use crate::dto::{
    CompletedPayload, FailedPayload, FileProgressDto, ProgressDto, ProgressPayload, SegmentDto,
    SegmentPayload,
};
use crate::events::EventKind;
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
    /// The prompt whose synthesis failed, named in the `failed` event.
    failed_prompt: Option<String>,
    /// When the smelt was created (for the end-to-end duration histogram).
    created_at: chrono::DateTime<chrono::Utc>,
}

fn stage_rank(status: SmeltStatus) -> usize {
    SmeltStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0)
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("DTOs serialise")
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
            failed_prompt: None,
            created_at: smelt.row.created_at,
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

    /// Names the prompt whose synthesis failed, for the `failed` event.
    pub fn set_failed_prompt(&mut self, prompt: Option<String>) {
        self.failed_prompt = prompt;
    }

    /// True when the throttle interval has passed since the last publication.
    pub fn due(&self) -> bool {
        self.last_emit.is_none_or(|t| t.elapsed() >= self.interval)
    }

    fn behind_floor(&self) -> bool {
        stage_rank(self.status) < stage_rank(self.floor)
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
        self.emit(None).await
    }

    /// Reports `fraction` (0.0–1.0) of the current stage done; announced when the percentage
    /// moved and the throttle interval has passed.
    pub async fn advance(&mut self, fraction: f64) -> Result<(), sqlx::Error> {
        if self.behind_floor() {
            return Ok(());
        }
        self.percentage = Stage::of(self.status)
            .percentage_at(fraction)
            .max(self.percentage);
        if self.due() && self.emitted_percentage != Some(self.percentage) {
            self.emit(None).await?;
        }
        Ok(())
    }

    /// Publishes transcript segments of one file (each a `segment` event), how far its
    /// transcription got (`transcribed_ms`) and the progress they bring (`fraction` of the
    /// transcribing stage), in one statement. Never throttled: the caller batches.
    pub async fn publish_segments(
        &mut self,
        file_id: Uuid,
        segments: &[SegmentDto],
        transcribed_ms: u32,
        fraction: f64,
    ) -> Result<(), sqlx::Error> {
        if !self.behind_floor() {
            self.percentage = Stage::of(self.status)
                .percentage_at(fraction)
                .max(self.percentage);
        }
        let batch = SegmentBatch {
            file_id,
            segments,
            transcribed_ms,
        };
        self.emit(Some(batch)).await
    }

    /// Records the time from creation to the end in `smelt_smelt_duration_seconds`.
    fn record_smelt_duration(&self, status: &'static str) {
        let seconds = (chrono::Utc::now() - self.created_at)
            .as_seconds_f64()
            .max(0.0);
        metrics::histogram!(SMELT_DURATION, "status" => status).record(seconds);
    }

    fn record_stage_duration(&self) {
        metrics::histogram!(STAGE_DURATION, "stage" => self.status.as_str())
            .record(self.stage_started.elapsed().as_secs_f64());
    }

    async fn emit(&mut self, segments: Option<SegmentBatch<'_>>) -> Result<(), sqlx::Error> {
        let payload = ProgressPayload {
            smelt_id: self.smelt_id,
            status: self.status,
            progress: ProgressDto {
                percentage: self.percentage,
                stage: self.status,
                message: self.message.to_owned(),
                eta_seconds: self.eta_seconds,
                queue_position: None,
                estimated_wait_seconds: None,
            },
            files: self.files.clone(),
        };
        let mut published: Vec<(EventKind, serde_json::Value)> = segments
            .iter()
            .flat_map(|b| b.segments.iter())
            .map(|segment| {
                let event = SegmentPayload {
                    smelt_id: self.smelt_id,
                    segment: segment.clone(),
                };
                (EventKind::Segment, json(&event))
            })
            .collect();
        published.push((EventKind::Progress, json(&payload)));
        let state = ProgressState {
            status: self.status,
            percentage: self.percentage,
            message: self.message,
        };
        events::publish_progress(&self.pool, self.smelt_id, state, segments, &published).await?;
        self.last_emit = Some(Instant::now());
        self.emitted_percentage = Some(self.percentage);
        Ok(())
    }

    /// Marks the smelt completed and announces `completed` with every stored result, in one
    /// synchronously committed transaction. `false` when it was cancelled or deleted first.
    pub async fn complete(self) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !smelts::mark_completed(&mut tx, self.smelt_id).await? {
            return Ok(false);
        }
        let payload = CompletedPayload {
            smelt_id: self.smelt_id,
            status: SmeltStatus::Completed,
            results: smelts::results(&mut *tx, self.smelt_id).await?,
        };
        events::append(&mut tx, self.smelt_id, EventKind::Completed, &payload).await?;
        tx.commit().await?;
        self.record_stage_duration();
        self.record_smelt_duration("completed");
        metrics::counter!(SMELTS_FINISHED, "status" => "completed", "error_code" => "")
            .increment(1);
        Ok(true)
    }

    /// Marks the smelt failed, refunds its credit (once) and announces `failed` with what was
    /// kept (the transcripts) and the prompt that failed, in one synchronously committed
    /// transaction. A smelt already finished is left as it is (returns `false`).
    pub async fn fail(self, code: ErrorCode, message: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let ending = Ending::Failed {
            code,
            message,
            failed_prompt: self.failed_prompt.as_deref(),
        };
        if !smelts::mark_ended(&mut tx, self.smelt_id, ending).await? {
            return Ok(false);
        }
        // The credit comes back in the same transaction that records the failure.
        credits::refund(&mut tx, self.smelt_id).await?;
        let payload = FailedPayload {
            smelt_id: self.smelt_id,
            status: SmeltStatus::Failed,
            error_code: code,
            error_message: message.to_owned(),
            failed_prompt: self.failed_prompt.clone(),
            results: smelts::results(&mut *tx, self.smelt_id).await?,
        };
        events::append(&mut tx, self.smelt_id, EventKind::Failed, &payload).await?;
        tx.commit().await?;
        self.record_stage_duration();
        self.record_smelt_duration("failed");
        metrics::counter!(SMELTS_FINISHED, "status" => "failed", "error_code" => code.as_str())
            .increment(1);
        Ok(true)
    }
}
