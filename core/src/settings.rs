//! The one settings struct shared by `smelt-server` and `smelt-worker`.
//!
//! Every field is a command-line flag and an environment variable (a `.env` file is read by
//! the binaries first). Defaults are safe for a development machine that has only Postgres.

use std::path::PathBuf;

use clap::Parser;

/// All of Smelt's configuration. See the README's configuration table.
#[derive(Debug, Clone, Parser)]
#[command(
    version,
    about = "Smelt: audio and text to transcripts and structured notes"
)]
pub struct Settings {
    /// Postgres connection URL. The database is created if it does not exist.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/smelt"
    )]
    pub database_url: String,

    /// Maximum connections in the shared pool (per process).
    #[arg(long, env = "SMELT_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// Address the HTTP server listens on (`host:port`; port 0 picks a free port).
    #[arg(long, env = "SMELT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Directory for local state: uploaded blobs (`blobs/`) and generated local secrets.
    #[arg(long, env = "SMELT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory of the built web app served at `/` (`web/dist` after `npm run build`).
    #[arg(long, env = "SMELT_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,

    /// HS256 secret for access tokens and subscription tokens. When unset, a random secret is
    /// generated once and kept in `<data_dir>/secrets/jwt_secret`.
    #[arg(long, env = "SMELT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// `development` or `production`. Production refuses to start without explicit secrets
    /// (`SMELT_JWT_SECRET`, `SMELT_ENCRYPTION_KEY`, `SMELT_IP_HASH_SECRET`).
    #[arg(long, env = "SMELT_ENV", default_value = "development")]
    pub env: String,

    /// 32-byte key (hex or base64) encrypting users' API keys at rest (AES-256-GCM). When
    /// unset, generated once into `<data_dir>/secrets/encryption_key`.
    #[arg(long, env = "SMELT_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,

    /// Secret of the HMAC that stands in for anonymous clients' addresses. When unset,
    /// generated once into `<data_dir>/secrets/ip_hash_secret`.
    #[arg(long, env = "SMELT_IP_HASH_SECRET", hide_env_values = true)]
    pub ip_hash_secret: Option<String>,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "SMELT_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "SMELT_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 86_400)]
    pub refresh_token_ttl_secs: u64,

    /// Comma-separated proxy addresses whose `X-Forwarded-For` is believed. Requests from any
    /// other peer are attributed to the peer address.
    #[arg(long, env = "SMELT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Smelt creations allowed per minute per client address and per user.
    #[arg(long, env = "SMELT_RATE_CREATE_PER_MIN", default_value_t = 30)]
    pub rate_create_per_min: u32,

    /// Login and sign-up attempts allowed per minute per client address.
    #[arg(long, env = "SMELT_RATE_LOGIN_PER_MIN", default_value_t = 10)]
    pub rate_login_per_min: u32,

    /// WebSocket connections allowed per minute per client address.
    #[arg(long, env = "SMELT_RATE_WS_PER_MIN", default_value_t = 120)]
    pub rate_ws_per_min: u32,

    /// Default base URL of the OpenAI-compatible API that users' own keys are checked
    /// against (`GET {base}/models`) when they give none.
    #[arg(
        long,
        env = "SMELT_OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// Lifetime of a subscription token, in seconds.
    #[arg(
        long,
        env = "SMELT_SUBSCRIPTION_TOKEN_TTL_SECS",
        default_value_t = 86_400
    )]
    pub subscription_token_ttl_secs: u64,

    /// Number of pipeline workers run inside `smelt-server` (0 = none; run `smelt-worker`).
    #[arg(long, env = "SMELT_EMBEDDED_WORKERS", default_value_t = 1)]
    pub embedded_workers: usize,

    /// Jobs one worker process runs at the same time.
    #[arg(long, env = "SMELT_WORKER_CONCURRENCY", default_value_t = 1)]
    pub worker_concurrency: usize,

    /// Seconds a read job stays invisible to other workers before it is redelivered.
    #[arg(long, env = "SMELT_VISIBILITY_TIMEOUT_SECS", default_value_t = 120)]
    pub visibility_timeout_secs: i32,

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

    /// Days archived queue messages are kept.
    #[arg(long, env = "SMELT_ARCHIVE_RETENTION_DAYS", default_value_t = 7)]
    pub archive_retention_days: u32,

    /// API key of an operator-paid OpenAI-compatible provider, used for users without a valid
    /// own key. Unset: the local engines.
    #[arg(long, env = "SMELT_HOSTED_API_KEY", hide_env_values = true)]
    pub hosted_api_key: Option<String>,

    /// Base URL of the operator's provider.
    #[arg(
        long,
        env = "SMELT_HOSTED_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub hosted_base_url: String,

    /// Transcription model on hosted providers.
    #[arg(long, env = "SMELT_TRANSCRIPTION_MODEL", default_value = "whisper-1")]
    pub transcription_model: String,

    /// Chat model on hosted providers.
    #[arg(long, env = "SMELT_CHAT_MODEL", default_value = "gpt-4o-mini")]
    pub chat_model: String,

    /// Attempts per provider call (first try included) for rate limits, 5xx and timeouts.
    #[arg(long, env = "SMELT_PROVIDER_MAX_ATTEMPTS", default_value_t = 4)]
    pub provider_max_attempts: usize,

    /// First provider retry delay in milliseconds (doubled per retry; `Retry-After` wins).
    #[arg(long, env = "SMELT_PROVIDER_RETRY_BASE_MS", default_value_t = 1_000)]
    pub provider_retry_base_ms: u64,

    /// Timeout of one provider request, in seconds.
    #[arg(long, env = "SMELT_PROVIDER_TIMEOUT_SECS", default_value_t = 300)]
    pub provider_timeout_secs: u64,

    /// Longest text sent in one chat request, in characters; longer transcripts are
    /// summarised in chunks and combined.
    #[arg(long, env = "SMELT_CHAT_CONTEXT_CHARS", default_value_t = 24_000)]
    pub chat_context_chars: usize,

    /// faster-whisper (CTranslate2) model directory for local transcription.
    #[arg(long, env = "SMELT_WHISPER_MODEL_DIR", default_value_os_t = default_model_dir())]
    pub whisper_model_dir: PathBuf,

    /// CPU threads used by one local transcription.
    #[arg(long, env = "SMELT_WHISPER_THREADS", default_value_t = 2)]
    pub whisper_threads: usize,

    /// Minimum milliseconds between two in-stage progress events of one smelt (stage changes
    /// and terminal events are never held back).
    #[arg(long, env = "SMELT_PROGRESS_INTERVAL_MS", default_value_t = 250)]
    pub progress_interval_ms: u64,

    /// Capacity of each socket's outbound queue, in events.
    #[arg(long, env = "SMELT_SOCKET_QUEUE", default_value_t = 256)]
    pub socket_queue: usize,

    /// Kernel send buffer of each accepted connection, in bytes (SO_SNDBUF, set on the
    /// listening socket and inherited). Unset: the kernel's autotuning. A small value bounds
    /// the memory a stalled client can pin and makes slow consumers visible sooner.
    #[arg(long, env = "SMELT_SOCKET_SEND_BUFFER_BYTES")]
    pub socket_send_buffer_bytes: Option<u32>,

    /// Seconds between server pings on an idle socket.
    #[arg(long, env = "SMELT_PING_SECS", default_value_t = 25)]
    pub ping_secs: u64,

    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SMELT_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl Settings {
    /// True in production mode.
    pub fn is_production(&self) -> bool {
        self.env.eq_ignore_ascii_case("production")
    }

    /// Settings from defaults and environment only (no command line), as tests use them.
    pub fn from_env() -> Self {
        Self::parse_from(["smelt"])
    }
}

/// `$XDG_CACHE_HOME/smelt/models/whisper-tiny.en`, or `~/.cache/...`, where
/// `scripts/fetch-model.sh` installs the default model.
pub fn default_model_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("smelt/models/whisper-tiny.en")
}
