use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// The queue consumer: how many jobs, how they are read, retried and given up.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Worker")]
pub struct WorkerSettings {
    /// Jobs one worker process runs at the same time.
    #[arg(long, env = "SMELT_WORKER_CONCURRENCY", default_value_t = 1)]
    pub worker_concurrency: usize,

    /// Seconds a read job stays invisible to other workers before it is redelivered.
    #[arg(long, env = "SMELT_VISIBILITY_TIMEOUT_SECS", default_value_t = 120)]
    pub visibility_timeout_secs: i32,

    /// Seconds one delivery of a job may run before the smelt fails (`transcription_failed`,
    /// or `synthesis_failed` once transcription is done) and the worker takes the next job.
    /// Unset: 300 s plus 4 s per second of the smelt's audio (local transcription runs at
    /// 0.03–0.07 s per second of audio; the rest is room for a slow provider's retries).
    #[arg(long, env = "SMELT_JOB_DEADLINE_SECS")]
    pub job_deadline_secs: Option<u64>,

    /// Seconds one delivery of a fast-lane job (pasted text, short audio) may run before it
    /// fails like a job past its deadline (the lower of the two applies). 0: no lane limit.
    #[arg(long, env = "SMELT_FAST_LANE_TIMEOUT_SECS", default_value_t = 600)]
    pub fast_lane_timeout_secs: u64,

    /// The same for the normal lane. 0: no lane limit (the job deadline alone applies).
    #[arg(long, env = "SMELT_NORMAL_LANE_TIMEOUT_SECS", default_value_t = 0)]
    pub normal_lane_timeout_secs: u64,

    /// The same for the bulk lane. 0: no lane limit (the job deadline alone applies).
    #[arg(long, env = "SMELT_BULK_LANE_TIMEOUT_SECS", default_value_t = 0)]
    pub bulk_lane_timeout_secs: u64,

    /// Share of claims the fast lane gets while every lane has work (weighted round robin:
    /// with 6/3/1, 6 of every 10 jobs started come from the fast lane, 3 from normal, 1 from
    /// bulk; a lane without work passes its turn on).
    #[arg(long, env = "SMELT_FAST_LANE_WEIGHT", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fast_lane_weight: u32,

    /// Share of claims of the normal lane (see `SMELT_FAST_LANE_WEIGHT`).
    #[arg(long, env = "SMELT_NORMAL_LANE_WEIGHT", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub normal_lane_weight: u32,

    /// Share of claims of the bulk lane (see `SMELT_FAST_LANE_WEIGHT`).
    #[arg(long, env = "SMELT_BULK_LANE_WEIGHT", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub bulk_lane_weight: u32,

    /// Jobs one user (or one anonymous client's address) may have running before their next
    /// ones wait while other users' jobs wait; when nobody else's work waits they run anyway,
    /// so no worker idles. 0: no limit.
    #[arg(long, env = "SMELT_MAX_RUNNING_PER_USER", default_value_t = 1)]
    pub max_running_per_user: u32,

    /// Seconds an idle worker waits for a queue notification before polling again (a
    /// notification can be missed, and redeliveries after a visibility timeout send none).
    #[arg(long, env = "SMELT_QUEUE_POLL_SECS", default_value_t = 5)]
    pub queue_poll_secs: u64,

    /// Deliveries of one job before a transient failure is final: the message moves to the
    /// dead-letter queue and the smelt fails with `internal_error` (credit refunded).
    #[arg(long, env = "SMELT_MAX_DELIVERIES", default_value_t = 5)]
    pub max_deliveries: i32,

    /// First retry delay after a transient failure, in milliseconds; doubled per delivery
    /// (capped at 5 minutes), with ±50% jitter.
    #[arg(long, env = "SMELT_RETRY_BASE_MS", default_value_t = 2_000)]
    pub retry_base_ms: u64,

    /// Seconds a stopping worker lets its in-flight jobs run before abandoning them (they are
    /// redelivered after their visibility timeout).
    #[arg(long, env = "SMELT_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    /// Minimum milliseconds between two in-stage progress events of one smelt (stage changes
    /// and terminal events are never held back).
    #[arg(long, env = "SMELT_PROGRESS_INTERVAL_MS", default_value_t = 250)]
    pub progress_interval_ms: u64,

    /// Address where a standalone `smelt-worker` serves its own `/metrics` (e.g.
    /// `0.0.0.0:9090`). Unset: no listener (embedded workers report through the server).
    #[arg(long, env = "SMELT_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

/// The local transcription engine (CTranslate2 Whisper).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Whisper")]
pub struct WhisperSettings {
    /// Directory holding the local Whisper models, one faster-whisper (CTranslate2) model
    /// per subdirectory (`whisper-tiny.en`, `whisper-base`; `scripts/fetch-model.sh` installs
    /// them). A worker serves the models it finds there and says which when it starts.
    #[arg(long, env = "SMELT_MODELS_DIR", default_value_os_t = default_models_dir())]
    pub models_dir: PathBuf,

    /// When a file's language is detected (`language=auto`) as English by a multilingual
    /// model, transcribe it with this English-only model instead, if installed: faster, and as
    /// accurate on English. Empty: always use the model the smelt chose.
    #[arg(long, env = "SMELT_AUTO_ENGLISH_MODEL", default_value = "tiny.en")]
    pub auto_english_model: String,

    /// CPU threads used by one local transcription.
    #[arg(long, env = "SMELT_WHISPER_THREADS", default_value_t = 2)]
    pub whisper_threads: usize,

    /// Beam width of local transcription (1: greedy, the fastest; 5: the reference's beam
    /// search). Unset: each model's own (tiny.en 1, base 5).
    #[arg(long, env = "SMELT_WHISPER_BEAM_SIZE", value_parser = clap::value_parser!(u16).range(1..=10))]
    pub whisper_beam_size: Option<u16>,

    /// Prompt each 30 s window of local transcription with the text decoded before it (the
    /// reference's `condition_on_previous_text`).
    #[arg(long, env = "SMELT_WHISPER_CONDITION_ON_PREVIOUS_TEXT", default_value_t = false, action = clap::ArgAction::Set)]
    pub whisper_condition_on_previous_text: bool,
}

/// `$XDG_CACHE_HOME/smelt/models`, or `~/.cache/smelt/models`, where `scripts/fetch-model.sh`
/// installs the models.
pub fn default_models_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("smelt/models")
}
