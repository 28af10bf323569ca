//! The queue consumer: one delivery at a time per loop, `worker_concurrency` loops.

use std::sync::Arc;
use std::time::Duration;

use smelt_core::blob::BlobStore;
use smelt_core::db::{smelts, users, workers};
use smelt_core::domain::Lane;
use smelt_core::domain::{CreditSource, ErrorCode, SmeltStatus};
use smelt_core::limits::Limits;
use smelt_core::listener::{Listener, WakeUps};
use smelt_core::queue::{insert_channel, Delivery, Job, JobQueue};
use smelt_core::{retention, uploads};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::engines::hosted::{HostedSynthesizer, HostedTranscriber};
use crate::engines::local::{ExtractiveSynthesizer, LocalTranscriber};
use crate::engines::openai::OpenAiClient;
use crate::engines::whisper::DecodeOptions;
use crate::lanes::LaneScheduler;
use crate::pipeline::{self, Context, Engines, StageError};
use crate::settings::Settings;
use smelt_core::crypto::SecretBox;
use smelt_core::lifecycle::{self, ProgressSink, ReportError};
use smelt_core::outbound::OutboundGuard;
use smelt_core::secrets;

/// How often a running worker tells the queue it is alive (the queue counts workers seen in
/// the last 30 seconds).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// What one [`Worker::try_process_one`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The queue had no visible message.
    Idle,
    /// The smelt completed.
    Completed(Uuid),
    /// The smelt failed with this code.
    Failed(Uuid, ErrorCode),
    /// The message was for a smelt already finished or gone, and was acknowledged.
    Skipped(Uuid),
    /// A transient failure; the message becomes visible again after its timeout.
    Retry(Uuid),
}

/// A worker: queue, storage and engines.
pub struct Worker {
    pool: PgPool,
    queue: JobQueue,
    settings: Arc<Settings>,
    blobs: Arc<dyn BlobStore>,
    /// The offline engines.
    local: Engines,
    /// The operator's hosted engines, when configured.
    operator: Option<Engines>,
    /// Opens users' own API keys (decrypted only for their own smelts); `None` when this
    /// worker's key is unusable and no key was stored when it started.
    secret_box: Option<SecretBox>,
    /// The guard for users' own provider URLs.
    outbound: OutboundGuard,
    /// The guard for the links of recordings given instead of uploads.
    ingest: OutboundGuard,
    /// The order this worker's claims read the lanes in.
    lanes: LaneScheduler,
}

/// Whose engines run a smelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Account {
    OwnKey,
    Operator,
    Local,
}

impl Worker {
    /// A worker with the local engines (the model loads on the first audio job).
    ///
    /// # Errors
    /// The encryption key of users' API keys is unusable while some are stored (or in
    /// production): the worker refuses to start rather than run without them.
    pub async fn new(
        pool: PgPool,
        settings: Arc<Settings>,
        blobs: Arc<dyn BlobStore>,
    ) -> anyhow::Result<Self> {
        let transcriber = LocalTranscriber::new(
            settings.whisper.models_dir.clone(),
            settings.whisper.whisper_threads,
            settings.whisper.whisper_beam_size.map(usize::from),
            DecodeOptions {
                condition_on_previous_text: settings.whisper.whisper_condition_on_previous_text,
                ..DecodeOptions::default()
            },
            &settings.whisper.auto_english_model,
        );
        let installed = transcriber.installed();
        if installed.is_empty() {
            tracing::warn!(
                models_dir = %transcriber.models_dir().display(),
                "no Whisper model installed: audio smelts will fail (scripts/fetch-model.sh installs them)"
            );
        } else {
            tracing::info!(
                models = %installed.join(", "),
                models_dir = %transcriber.models_dir().display(),
                "serving Whisper models"
            );
        }
        let engines = Engines {
            transcriber: Arc::new(transcriber),
            synthesizer: Arc::new(ExtractiveSynthesizer),
        };
        Self::with_engines(pool, settings, blobs, engines).await
    }

    /// A worker with the given engines (see [`Worker::new`] for the errors).
    pub async fn with_engines(
        pool: PgPool,
        settings: Arc<Settings>,
        blobs: Arc<dyn BlobStore>,
        engines: Engines,
    ) -> anyhow::Result<Self> {
        let queue = JobQueue::new(pool.clone()).await;
        let secret_box =
            secrets::encryption_box(&settings.secrets, &settings.storage.data_dir, &pool).await?;
        let operator = settings
            .hosted
            .hosted_api_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(|k| {
                let http = provider_client(&settings);
                hosted_engines(
                    &settings,
                    http,
                    &settings.hosted.hosted_base_url,
                    k,
                    "operator",
                )
            });
        let w = &settings.worker;
        let lanes =
            LaneScheduler::new([w.fast_lane_weight, w.normal_lane_weight, w.bulk_lane_weight]);
        Ok(Worker {
            lanes,
            outbound: OutboundGuard::new(&settings.provider.provider_allowed_hosts),
            ingest: OutboundGuard::new(&settings.ingest.ingest_allowed_hosts),
            pool,
            queue,
            settings,
            blobs,
            local: engines,
            operator,
            secret_box,
        })
    }

    /// The engines for a smelt: the user's own valid key (with its base URL), else the
    /// operator's hosted engines, else the local ones. A user's key that cannot be opened
    /// ends the smelt (`api_key_unreadable`), and a smelt its owner's key was to pay for
    /// (`credit_source` `own_key`) ends with `api_key_invalid` when that key is gone or no
    /// longer valid: neither ever falls back to the operator's account or the local engines.
    async fn engines_for(
        &self,
        smelt: &smelts::Smelt,
    ) -> anyhow::Result<Result<(Engines, Account), ErrorCode>> {
        if let Some(user_id) = smelt.row.user_id {
            if let Some(key) = users::valid_api_key(&self.pool, user_id).await? {
                let opened = self.secret_box.as_ref().and_then(|b| {
                    let aad: &[u8] = if key.bound { user_id.as_bytes() } else { b"" };
                    b.open_bound(&key.ciphertext, &key.nonce, aad).ok()
                });
                let Some(api_key) = opened else {
                    tracing::warn!(%user_id, "a stored API key cannot be opened with this worker's key");
                    return Ok(Err(ErrorCode::ApiKeyUnreadable));
                };
                let engines = match key.base_url {
                    // A base URL the user chose: only through the outbound guard.
                    Some(base) => {
                        if let Err(refused) = self.outbound.check_url(&base) {
                            tracing::warn!(%user_id, reason = %refused, "a stored provider URL is not allowed");
                            return Ok(Err(ErrorCode::TranscriptionFailed));
                        }
                        let http = self.outbound.client(Duration::from_secs(
                            self.settings.hosted.provider_timeout_secs,
                        ));
                        hosted_engines(&self.settings, http, &base, &api_key, "own-key")
                    }
                    None => hosted_engines(
                        &self.settings,
                        provider_client(&self.settings),
                        &self.settings.provider.openai_base_url,
                        &api_key,
                        "own-key",
                    ),
                };
                return Ok(Ok((engines, Account::OwnKey)));
            }
            if smelt.row.credit_source == Some(CreditSource::OwnKey) {
                tracing::info!(%user_id, "the own API key that was to pay for this smelt is gone or invalid");
                return Ok(Err(ErrorCode::ApiKeyInvalid));
            }
        }
        Ok(Ok(match &self.operator {
            Some(engines) => (engines.clone(), Account::Operator),
            None => (self.local.clone(), Account::Local),
        }))
    }

    /// How long one delivery of `smelt` may run: `SMELT_JOB_DEADLINE_SECS`, or 300 s plus 4 s
    /// per second of its audio (a recording still to download from its link counts as long as
    /// the duration limit allows), and no longer than its lane's timeout
    /// (`SMELT_*_LANE_TIMEOUT_SECS`, 0 for none).
    fn deadline_for(&self, smelt: &smelts::Smelt) -> Duration {
        let w = &self.settings.worker;
        let job = match w.job_deadline_secs {
            Some(secs) => Duration::from_secs(secs),
            None => {
                let longest = Limits::from_settings(&self.settings.limits).max_duration_secs;
                let audio_secs: f64 = smelt
                    .files
                    .iter()
                    .filter_map(|f| match (&f.source_url, f.duration_seconds) {
                        (Some(_), None) => Some(longest),
                        (_, duration) => duration,
                    })
                    .sum();
                Duration::from_secs(300) + Duration::from_secs_f64(4.0 * audio_secs.max(0.0))
            }
        };
        let lane = match smelt.row.lane {
            Lane::Fast => w.fast_lane_timeout_secs,
            Lane::Normal => w.normal_lane_timeout_secs,
            Lane::Bulk => w.bulk_lane_timeout_secs,
        };
        match lane {
            0 => job,
            secs => job.min(Duration::from_secs(secs)),
        }
    }

    /// The failure of a smelt whose delivery ran past `deadline`: `synthesis_failed` when it
    /// had reached synthesis, else `transcription_failed`. Permanent: a redelivery would take
    /// as long again.
    async fn past_deadline(
        &self,
        smelt_id: Uuid,
        deadline: Duration,
    ) -> anyhow::Result<StageError> {
        let mut conn = self.pool.acquire().await?;
        let stage = smelts::fetch(&mut conn, smelt_id)
            .await?
            .map(|s| s.row.status);
        tracing::warn!(
            deadline_secs = deadline.as_secs(),
            ?stage,
            "the job ran past its deadline"
        );
        Ok(StageError::Permanent {
            code: if stage == Some(SmeltStatus::Synthesizing) {
                ErrorCode::SynthesisFailed
            } else {
                ErrorCode::TranscriptionFailed
            },
            detail: format!("the job ran past its deadline of {} s", deadline.as_secs()),
            retry_after_secs: None,
        })
    }

    /// Claims one job (lanes in this worker's weighted order, users beyond their running
    /// limit after others) and processes it to the end. Errors are queue or database
    /// failures outside any smelt (the caller backs off and tries again).
    pub async fn try_process_one(&self) -> anyhow::Result<Outcome> {
        let order = self.lanes.order();
        let w = &self.settings.worker;
        let claimed = self
            .queue
            .claim(&order, w.visibility_timeout_secs, w.max_running_per_user)
            .await?;
        self.lanes
            .record(&order, claimed.as_ref().map(|d| d.message.lane));
        let Some(delivery) = claimed else {
            return Ok(Outcome::Idle);
        };
        metrics::counter!(smelt_core::metrics::JOBS_CLAIMED).increment(1);
        let span = tracing::info_span!("smelt", smelt_id = %delivery.message.smelt_id, lane = %delivery.message.lane, attempt = delivery.read_count);
        self.process(delivery).instrument(span).await
    }

    /// Processes one delivered message (see [`Worker::try_process_one`]).
    async fn process(&self, delivery: Delivery<Job>) -> anyhow::Result<Outcome> {
        let smelt_id = delivery.message.smelt_id;
        let mut conn = self.pool.acquire().await?;
        let Some(smelt) = smelts::fetch(&mut conn, smelt_id).await? else {
            self.queue.archive(&delivery).await?;
            return Ok(Outcome::Skipped(smelt_id));
        };
        drop(conn);
        // A redelivery for a smelt that already finished (the previous worker died after the
        // final commit, before acknowledging) needs no work.
        if smelt.row.status.is_terminal() {
            self.queue.archive(&delivery).await?;
            return Ok(Outcome::Skipped(smelt_id));
        }

        let mut sink = ProgressSink::new(
            self.pool.clone(),
            &smelt,
            Duration::from_millis(self.settings.worker.progress_interval_ms),
        );
        let scratch = tempfile::tempdir()?;
        let (engines, account) = match self.engines_for(&smelt).await? {
            Ok(chosen) => chosen,
            Err(code) => {
                tracing::info!(%code, "smelt failed before it started");
                let outcome = if recorded(sink.fail(code, &code.message(None)).await)? {
                    Outcome::Failed(smelt_id, code)
                } else {
                    Outcome::Skipped(smelt_id)
                };
                self.queue.archive(&delivery).await?;
                self.release_uploads(smelt_id).await;
                return Ok(outcome);
            }
        };
        let ctx = Context {
            pool: &self.pool,
            blobs: self.blobs.as_ref(),
            engines: &engines,
            scratch: scratch.path().to_owned(),
            limits: Limits::from_settings(&self.settings.limits),
            ingest: &self.ingest,
        };
        let deadline = self.deadline_for(&smelt);
        let result = {
            let keep_alive = self.keep_invisible(&delivery);
            tokio::pin!(keep_alive);
            let run = pipeline::run(&ctx, &smelt, &mut sink);
            tokio::pin!(run);
            tokio::select! {
                r = &mut run => Some(r),
                never = &mut keep_alive => match never {},
                () = tokio::time::sleep(deadline) => None,
            }
        };
        let result = match result {
            Some(result) => result,
            None => Err(self.past_deadline(smelt_id, deadline).await?),
        };
        let outcome = match result {
            Ok(()) => {
                if recorded(sink.complete().await)? {
                    tracing::info!("smelt completed");
                    Outcome::Completed(smelt_id)
                } else {
                    tracing::info!("smelt cancelled or deleted before it completed");
                    Outcome::Skipped(smelt_id)
                }
            }
            Err(StageError::Permanent {
                code,
                detail,
                retry_after_secs,
            }) => {
                tracing::info!(%code, %detail, "smelt failed");
                if let (ErrorCode::ApiKeyInvalid, Account::OwnKey, Some(user_id)) =
                    (code, account, smelt.row.user_id)
                {
                    users::mark_api_key_invalid(&self.pool, user_id).await?;
                }
                let message = match code {
                    ErrorCode::DurationExceeded => ctx.limits.duration_message(),
                    ErrorCode::FileTooLarge => ctx.limits.file_limit_message(),
                    _ => code.message(retry_after_secs),
                };
                if recorded(sink.fail(code, &message).await)? {
                    Outcome::Failed(smelt_id, code)
                } else {
                    Outcome::Skipped(smelt_id)
                }
            }
            Err(StageError::Cancelled) => {
                tracing::info!("smelt deleted or cancelled while running; stopped");
                // The deletion or cancellation removed the blobs it knew of; documents this
                // run stored after that would otherwise stay behind.
                lifecycle::release_blobs(&self.pool, self.blobs.as_ref(), smelt_id).await;
                Outcome::Skipped(smelt_id)
            }
            Err(StageError::Transient { error, .. })
                if delivery.read_count < self.settings.worker.max_deliveries =>
            {
                let delay = retry_delay(self.settings.worker.retry_base_ms, delivery.read_count);
                tracing::warn!(error = ?error, retry_in = ?delay, "transient failure; retrying");
                metrics::counter!(smelt_core::metrics::JOBS_RETRIED).increment(1);
                self.queue
                    .hide_for(&delivery, delay.as_secs().try_into().unwrap_or(i32::MAX))
                    .await?;
                return Ok(Outcome::Retry(smelt_id));
            }
            Err(StageError::Transient { code, error }) => {
                if !recorded(sink.fail(code, &code.message(None)).await)? {
                    tracing::info!("smelt cancelled or deleted before its last delivery failed");
                    Outcome::Skipped(smelt_id)
                } else {
                    tracing::error!(error = ?error, %code, "failed every delivery; dead-lettering");
                    metrics::counter!(smelt_core::metrics::JOBS_DEAD_LETTERED).increment(1);
                    // The uploads stay while the letter does: an operator may requeue it.
                    self.queue
                        .dead_letter(&delivery, &format!("{error:#}"))
                        .await?;
                    return Ok(Outcome::Failed(smelt_id, code));
                }
            }
        };
        self.queue.archive(&delivery).await?;
        // Audio of a completed smelt may be kept for `upload_retention_hours` (the cleanup
        // deletes it then); a failed or cancelled smelt needs its audio no more.
        let keep = matches!(outcome, Outcome::Completed(_))
            && self.settings.retention.upload_retention_hours > 0;
        if !keep {
            self.release_uploads(smelt_id).await;
        }
        Ok(outcome)
    }
}

/// Whether a smelt's end was recorded: `false` when the smelt had stopped first (cancelled
/// or deleted), which is no error.
fn recorded(report: Result<(), ReportError>) -> anyhow::Result<bool> {
    match report {
        Ok(()) => Ok(true),
        Err(ReportError::Stopped) => Ok(false),
        Err(ReportError::Failed(e)) => Err(e.into()),
    }
}

/// An HTTP client for the operator's own provider URLs (trusted: the operator chose them).
fn provider_client(settings: &Settings) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(settings.hosted.provider_timeout_secs))
        .build()
        .expect("a TLS client builds")
}

/// Hosted transcription and synthesis over one provider account, through `http`.
fn hosted_engines(
    settings: &Settings,
    http: reqwest::Client,
    base_url: &str,
    api_key: &str,
    account: &'static str,
) -> Engines {
    let client = Arc::new(OpenAiClient::new(
        http,
        base_url,
        api_key,
        settings.hosted.provider_max_attempts,
        Duration::from_millis(settings.hosted.provider_retry_base_ms),
        Duration::from_secs(settings.hosted.provider_max_retry_after_secs),
    ));
    Engines {
        transcriber: Arc::new(HostedTranscriber {
            client: client.clone(),
            model: settings.hosted.transcription_model.clone(),
            account,
            chunk_seconds: usize::from(settings.hosted.provider_chunk_seconds),
        }),
        synthesizer: Arc::new(HostedSynthesizer {
            client,
            model: settings.hosted.chat_model.clone(),
            account,
            context_chars: settings.hosted.chat_context_chars,
        }),
    }
}

/// Backoff before redelivery `delivery` (1-based): `base × 2^(delivery-1)`, capped at five
/// minutes, with ±50% jitter so that failed jobs do not come back in lockstep.
pub fn retry_delay(base_ms: u64, delivery: i32) -> Duration {
    let exp = base_ms
        .saturating_mul(1u64 << (delivery.clamp(1, 20) - 1) as u32)
        .min(300_000);
    let jitter = rand::random_range(0.5..1.5);
    Duration::from_millis((exp as f64 * jitter) as u64)
}

impl Worker {
    /// Pushes the message's visibility timeout forward while the job runs, so a long stage is
    /// not redelivered to another worker. Never completes.
    async fn keep_invisible(&self, delivery: &Delivery<Job>) -> std::convert::Infallible {
        let vt = self.settings.worker.visibility_timeout_secs.max(3);
        let every = Duration::from_secs((vt / 3) as u64);
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.queue.hide_for(delivery, vt).await {
                tracing::warn!(error = %e, "could not extend the visibility timeout");
            }
        }
    }

    /// Deletes the smelt's raw uploads and forgets their keys (a failure is logged; the
    /// retention cleanup deletes what is left).
    async fn release_uploads(&self, smelt_id: Uuid) {
        if let Err(e) = uploads::release(&self.pool, self.blobs.as_ref(), smelt_id).await {
            tracing::warn!(error = %e, "could not delete the uploads");
        }
    }

    /// Processes jobs until `stop` is cancelled, with `worker_concurrency` jobs at a time. An
    /// idle loop waits for pgmq's insert notification, or at most `queue_poll_secs` (messages
    /// whose visibility timeout expired become readable without any notification).
    pub async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let worker = Arc::new(self);
        let heartbeat = tokio::spawn(worker.clone().beat(stop.clone()));
        // One LISTEN connection wakes every loop of this worker when a job is queued in any
        // lane.
        let wake_ups = WakeUps::new();
        let listener = Lane::ALL
            .iter()
            .fold(Listener::new(worker.pool.clone()), |l, lane| {
                l.route(insert_channel(*lane), wake_ups.clone())
            });
        let listening = tokio::spawn(listener.run(stop.clone()));
        let mut loops = Vec::new();
        for _ in 0..worker.settings.worker.worker_concurrency.max(1) {
            let (worker, stop, wake_up) = (worker.clone(), stop.clone(), wake_ups.subscribe());
            loops.push(tokio::spawn(
                async move { worker.run_loop(wake_up, stop).await },
            ));
        }
        for l in loops {
            l.await??;
        }
        heartbeat.await?;
        listening.await?;
        Ok(())
    }

    /// Tells the queue every [`HEARTBEAT_EVERY`] that this worker is alive and how many jobs
    /// it runs at once (for the waiting smelts' estimates), until `stop`; then says goodbye.
    async fn beat(self: Arc<Self>, stop: CancellationToken) {
        let id = Uuid::new_v4();
        let slots = self.settings.worker.worker_concurrency.max(1) as u32;
        let models = self.local.transcriber.models();
        let mut every = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = every.tick() => {
                    if let Err(e) = workers::beat(&self.pool, id, slots, &models).await {
                        tracing::warn!(error = %e, "could not record the worker's heartbeat");
                    }
                }
            }
        }
        if let Err(e) = workers::forget(&self.pool, id).await {
            tracing::debug!(error = %e, "could not remove the worker's heartbeat");
        }
    }

    async fn run_loop(
        &self,
        mut wake_up: watch::Receiver<u64>,
        stop: CancellationToken,
    ) -> anyhow::Result<()> {
        let poll = Duration::from_secs(self.settings.worker.queue_poll_secs.max(1));
        let mut backoff = Duration::from_millis(200);
        let grace = Duration::from_secs(self.settings.worker.shutdown_grace_secs);
        let mut last_cleanup: Option<std::time::Instant> = None;
        while !stop.is_cancelled() {
            // A job queued from now on wakes the wait below, even while this read runs.
            wake_up.mark_unchanged();
            // A stop lets the job in hand finish for `grace`; after that it is abandoned and
            // redelivered to another worker once its visibility timeout runs out.
            let job = self.try_process_one();
            tokio::pin!(job);
            let result = tokio::select! {
                r = &mut job => r,
                _ = async { stop.cancelled().await; tokio::time::sleep(grace).await } => {
                    tracing::warn!("abandoning the in-flight job at shutdown; it will be redelivered");
                    break;
                }
            };
            match result {
                Ok(Outcome::Idle) => {
                    // 0 turns the periodic cleanup off (run `smelt-admin cleanup` instead).
                    let every = Duration::from_secs(self.settings.retention.cleanup_interval_secs);
                    let due = last_cleanup.is_none_or(|t| t.elapsed() >= every);
                    if !every.is_zero() && due {
                        last_cleanup = Some(std::time::Instant::now());
                        self.clean_up().await;
                    }
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = wake_up.changed() => {}
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
                Ok(outcome) => {
                    backoff = Duration::from_millis(200);
                    tracing::debug!(?outcome, "job done");
                }
                Err(e) => {
                    tracing::warn!(error = ?e, retry_in = ?backoff, "worker loop error");
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        Ok(())
    }
}

impl Worker {
    /// One retention cleanup (see [`retention`]), unless another process is running one.
    async fn clean_up(&self) {
        let policy = retention::RetentionPolicy::from_settings(&self.settings.retention);
        match retention::run_exclusive(
            &self.pool,
            self.blobs.as_ref(),
            &self.queue,
            &policy,
            chrono::Utc::now(),
        )
        .await
        {
            Ok(Some(report)) => tracing::info!(
                anonymous_smelts = report.anonymous_smelts.len(),
                events = report.events,
                smelt_blobs = report.smelt_blobs,
                expired_uploads = report.expired_uploads,
                archived_messages = report.archived_messages,
                "retention cleanup done"
            ),
            Ok(None) => tracing::debug!("retention cleanup already running elsewhere"),
            Err(e) => tracing::warn!(error = ?e, "retention cleanup failed"),
        }
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}
