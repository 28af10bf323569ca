//! The progress sink: the one way a running smelt reports what it is doing, and how it ends.
//!
//! Each publication is one statement ([`transitions::publish_progress`]): the smelt's state,
//! the transcript segments finished since the last one, the event rows with their gap-free
//! seqs and the NOTIFYs, committed together and asynchronously (a database crash may lose the
//! last few hundred milliseconds of progress; the redelivered job publishes it again). The end
//! of a smelt — `completed`, or `failed` with its refund — commits synchronously.
//!
//! Throttling: stage changes and terminal events always go out; in-stage updates at most one
//! per `progress_interval`, because every NOTIFY takes a database-wide lock at commit.
//! Segments that come faster than that wait for the next publication; none is dropped.
//! Monotonicity: the overall percentage never decreases and a stage never goes back, even when
//! a redelivered job starts again from the beginning.
//!
//! A smelt cancelled or deleted while it runs is no longer running: every report then answers
//! [`ReportError::Stopped`], and the worker stops.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use super::{now_us, payload, record_end, LifecycleError};
use crate::db::smelts::Smelt;
use crate::db::transitions::{self, Ending, ProgressState, SegmentBatch};
use crate::domain::{ErrorCode, FileStatus, SmeltStatus, Stage};
use crate::dto::{FileProgressDto, LanguageDto, ProgressDto, SegmentDto};
use crate::metrics::STAGE_DURATION;
use crate::queue::WebhookQueue;

/// Why a report was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The smelt is no longer running: it was cancelled or deleted (or another delivery
    /// finished it). Nothing is wrong; the run stops.
    #[error("the smelt is no longer running (cancelled or deleted)")]
    Stopped,
    /// The database (or the webhook queue, at the end) failed; a later delivery may succeed.
    #[error(transparent)]
    Failed(#[from] LifecycleError),
}

impl From<sqlx::Error> for ReportError {
    fn from(e: sqlx::Error) -> Self {
        ReportError::Failed(LifecycleError::Database(e))
    }
}

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
}

fn stage_rank(status: SmeltStatus) -> usize {
    SmeltStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(0)
}

impl ProgressSink {
    /// A sink for `smelt`, starting from its stored stage and percentage; in-stage updates
    /// go out at most once per `interval`.
    pub fn new(pool: PgPool, smelt: &Smelt, interval: Duration) -> Self {
        let status = smelt.row.status;
        ProgressSink {
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
                    language: f.language_dto(),
                })
                .collect(),
            stage_started: Instant::now(),
            failed_prompt: None,
        }
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

    /// Records the language of file `index`'s speech, shown from the next event on.
    pub fn set_file_language(&mut self, index: usize, language: LanguageDto) {
        if let Some(f) = self.files.get_mut(index) {
            f.language = Some(language);
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
    pub async fn enter(&mut self, status: SmeltStatus) -> Result<(), ReportError> {
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
    pub async fn advance(&mut self, fraction: f64) -> Result<(), ReportError> {
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
    ) -> Result<(), ReportError> {
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

    fn record_stage_duration(&self) {
        metrics::histogram!(STAGE_DURATION, "stage" => self.status.as_str())
            .record(self.stage_started.elapsed().as_secs_f64());
    }

    async fn emit(&mut self, segments: Option<SegmentBatch<'_>>) -> Result<(), ReportError> {
        let progress = ProgressDto {
            percentage: self.percentage,
            stage: self.status,
            message: self.message.to_owned(),
            eta_seconds: self.eta_seconds,
            queue_position: None,
            estimated_wait_seconds: None,
        };
        let mut events: Vec<_> = segments
            .iter()
            .flat_map(|b| b.segments.iter())
            .map(|segment| payload::segment(self.smelt_id, segment))
            .collect();
        events.push(payload::progress(
            self.smelt_id,
            progress,
            self.files.clone(),
        ));
        let state = ProgressState {
            status: self.status,
            percentage: self.percentage,
            message: self.message,
        };
        let at = now_us();
        let mut conn = self.pool.acquire().await?;
        transitions::publish_progress(&mut conn, self.smelt_id, state, segments, &events, at)
            .await?
            .ok_or(ReportError::Stopped)?;
        self.last_emit = Some(Instant::now());
        self.emitted_percentage = Some(self.percentage);
        Ok(())
    }

    /// Marks the smelt completed and announces `completed` with every stored result, in one
    /// synchronously committed transaction.
    ///
    /// # Errors
    /// [`ReportError::Stopped`] when it was cancelled or deleted first.
    pub async fn complete(self) -> Result<(), ReportError> {
        self.finish(Ending::Completed).await
    }

    /// Marks the smelt failed, refunds its credit (once) and announces `failed` with what was
    /// kept (the transcripts) and the prompt that failed, in one synchronously committed
    /// transaction.
    ///
    /// # Errors
    /// [`ReportError::Stopped`] when it had ended already (cancelled, deleted).
    pub async fn fail(self, code: ErrorCode, message: &str) -> Result<(), ReportError> {
        let failed_prompt = self.failed_prompt.clone();
        self.finish(Ending::Failed {
            code,
            message,
            failed_prompt: failed_prompt.as_deref(),
        })
        .await
    }

    async fn finish(self, ending: Ending<'_>) -> Result<(), ReportError> {
        let webhooks = WebhookQueue::new(self.pool.clone()).await;
        let mut tx = self.pool.begin().await?;
        let (ended, _refunded) = super::end(&mut tx, &webhooks, self.smelt_id, ending)
            .await?
            .ok_or(ReportError::Stopped)?;
        tx.commit().await?;
        self.record_stage_duration();
        let code = match ending {
            Ending::Failed { code, .. } => Some(code),
            _ => None,
        };
        record_end(&ended, ending.status(), code);
        Ok(())
    }
}
