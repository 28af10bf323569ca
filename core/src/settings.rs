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

    /// Directory for local state: the fs blob store (`blobs/`) and generated local secrets.
    #[arg(long, env = "SMELT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Where blobs (uploads, result documents) live: `fs` (under `<data_dir>/blobs`) or `s3`.
    #[arg(long, env = "SMELT_BLOB_STORE", default_value = "fs", value_parser = ["fs", "s3"])]
    pub blob_store: String,

    /// Bucket of the `s3` store (must exist).
    #[arg(long, env = "SMELT_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Region of the `s3` store (`auto` for Cloudflare R2).
    #[arg(long, env = "SMELT_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Endpoint of an S3-compatible store other than AWS (MinIO, R2), e.g.
    /// `http://minio:9000`. Unset: AWS S3.
    #[arg(long, env = "SMELT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Path-style addressing (`endpoint/bucket/key`), which MinIO needs.
    #[arg(long, env = "SMELT_S3_FORCE_PATH_STYLE", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_force_path_style: bool,

    /// Access key id of the `s3` store. Unset (with the secret): the standard AWS credential
    /// chain (environment, profile, web identity, instance metadata).
    #[arg(long, env = "SMELT_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,

    /// Secret access key of the `s3` store.
    #[arg(long, env = "SMELT_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// Lifetime of a result's `download_url`, in seconds.
    #[arg(long, env = "SMELT_DOWNLOAD_URL_TTL_SECS", default_value_t = 600)]
    pub download_url_ttl_secs: u64,

    /// Public origin of the server (`https://smelt.example`), prefixed to the download URLs
    /// the `fs` store signs. Unset: those URLs are relative to the origin the API was called
    /// on.
    #[arg(long, env = "SMELT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Hours a raw upload is kept after its smelt completed (0: deleted as soon as it
    /// finishes). Uploads of failed smelts are always deleted at once.
    #[arg(long, env = "SMELT_UPLOAD_RETENTION_HOURS", default_value_t = 0)]
    pub upload_retention_hours: u32,

    /// Hours after creation that a finished anonymous smelt (with its events and blobs) is
    /// kept; the periodic cleanup then deletes it.
    #[arg(long, env = "SMELT_ANONYMOUS_RETENTION_HOURS", default_value_t = 24)]
    pub anonymous_retention_hours: u32,

    /// Seconds between two runs of the retention cleanup in each worker (only one process
    /// runs it at a time; the first runs when a worker first finds the queue empty). 0 turns
    /// the periodic cleanup off, for deployments that schedule `smelt-cleanup` themselves.
    #[arg(long, env = "SMELT_CLEANUP_INTERVAL_SECS", default_value_t = 3600)]
    pub cleanup_interval_secs: u64,

    /// Most smelts the cleanup deletes per second, so that it never floods the database or
    /// the object store.
    #[arg(long, env = "SMELT_CLEANUP_RATE_PER_SEC", default_value_t = 20)]
    pub cleanup_rate_per_sec: u32,

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

    /// Most files in one smelt.
    #[arg(long, env = "SMELT_MAX_FILES", default_value_t = 5)]
    pub max_files: usize,

    /// Largest uploaded file, in MB (MiB: 1,048,576 bytes).
    #[arg(long, env = "SMELT_MAX_FILE_MB", default_value_t = 25)]
    pub max_file_mb: u32,

    /// Longest audio file, in minutes. Longer uploads are refused before the smelt is created.
    #[arg(long, env = "SMELT_MAX_DURATION_MINUTES", default_value_t = 30)]
    pub max_duration_minutes: u32,

    /// Smelts an anonymous client address may make per UTC day.
    #[arg(long, env = "SMELT_ANONYMOUS_DAILY_SMELTS", default_value_t = 1)]
    pub anonymous_daily_smelts: i32,

    /// Credits (smelts) of a signed-in user per week, restored Monday 00:00 UTC.
    #[arg(long, env = "SMELT_WEEKLY_CREDITS", default_value_t = 5)]
    pub weekly_credits: i32,

    /// Smelt creations allowed per minute per client address and per user.
    #[arg(long, env = "SMELT_RATE_CREATE_PER_MIN", default_value_t = 30)]
    pub rate_create_per_min: u32,

    /// Login and sign-up attempts allowed per minute per client address.
    #[arg(long, env = "SMELT_RATE_LOGIN_PER_MIN", default_value_t = 10)]
    pub rate_login_per_min: u32,

    /// WebSocket connections allowed per minute per client address.
    #[arg(long, env = "SMELT_RATE_WS_PER_MIN", default_value_t = 120)]
    pub rate_ws_per_min: u32,

    /// Requests (REST calls, sockets, SSE streams) allowed per minute per service API key.
    #[arg(long, env = "SMELT_RATE_KEY_PER_MIN", default_value_t = 600)]
    pub rate_key_per_min: u32,

    /// Comma-separated hosts (as for `SMELT_PROVIDER_ALLOWED_HOSTS`) whose webhook URLs users
    /// may register even though they are plain `http` or resolve to loopback, private or
    /// link-local addresses. Every other webhook URL must be `https` to a public address.
    #[arg(long, env = "SMELT_WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub webhook_allowed_hosts: Vec<String>,

    /// Delay before the second attempt of a webhook delivery, in milliseconds; each later
    /// attempt waits twice as long as the one before (with jitter), up to an hour.
    #[arg(long, env = "SMELT_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000)]
    pub webhook_retry_base_ms: u64,

    /// How long a webhook delivery is retried before it is given up, in seconds (a day).
    #[arg(long, env = "SMELT_WEBHOOK_GIVE_UP_SECS", default_value_t = 86_400)]
    pub webhook_give_up_secs: u64,

    /// How long one webhook attempt may take (connect, send, answer), in seconds.
    #[arg(long, env = "SMELT_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,

    /// Default base URL of the OpenAI-compatible API that users' own keys are checked
    /// against (`GET {base}/models`) when they give none.
    #[arg(
        long,
        env = "SMELT_OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// Comma-separated hosts (names, addresses, or `*.example.lan` wildcards) whose provider
    /// URLs users may use even though they are plain `http` or resolve to loopback, private
    /// or link-local addresses (a provider on the LAN: Ollama, llama.cpp, vLLM). Every other
    /// user-chosen URL must be `https` to a public address.
    #[arg(long, env = "SMELT_PROVIDER_ALLOWED_HOSTS", value_delimiter = ',')]
    pub provider_allowed_hosts: Vec<String>,

    /// Comma-separated web origins (`https://app.example.com`) whose pages may call the API
    /// from the browser (CORS). Empty (the default): no cross-origin access. `*` allows every
    /// origin, never with credentials; the API authenticates with bearer tokens, not cookies,
    /// so credentials are never allowed for any origin.
    #[arg(long, env = "SMELT_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

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

    /// Longest audio sent in one hosted transcription request, in seconds (10 minutes of
    /// 16 kHz 16-bit WAV is ~19 MB, under the usual 25 MiB limit). Requests are cut in a pause
    /// and never lose or repeat a word at the cut.
    #[arg(long, env = "SMELT_PROVIDER_CHUNK_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u16).range(10..=780))]
    pub provider_chunk_seconds: u16,

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

    /// Beam width of local transcription (1: greedy, the fastest; 5: the reference's beam
    /// search).
    #[arg(long, env = "SMELT_WHISPER_BEAM_SIZE", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=10))]
    pub whisper_beam_size: u16,

    /// Prompt each 30 s window of local transcription with the text decoded before it (the
    /// reference's `condition_on_previous_text`).
    #[arg(long, env = "SMELT_WHISPER_CONDITION_ON_PREVIOUS_TEXT", default_value_t = false, action = clap::ArgAction::Set)]
    pub whisper_condition_on_previous_text: bool,

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

    /// Seconds a client may take to send its request headers (also the longest a kept-alive
    /// connection may sit idle before its next request).
    #[arg(long, env = "SMELT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Seconds a request body (an upload) may go without sending anything before the request
    /// is dropped; a dropped upload leaves nothing stored.
    #[arg(long, env = "SMELT_BODY_IDLE_TIMEOUT_SECS", default_value_t = 30)]
    pub body_idle_timeout_secs: u64,

    /// Most connections open at once from one client address (0: unbounded). Trusted proxies
    /// are exempt: every client behind them shares their address.
    #[arg(
        long,
        env = "SMELT_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 1000
    )]
    pub max_connections_per_address: usize,

    /// Seconds between two prunings of the rate limiters' per-address and per-user state
    /// (entries whose limit has fully recovered are forgotten, so memory stays bounded).
    #[arg(long, env = "SMELT_RATE_LIMIT_PRUNE_SECS", default_value_t = 60)]
    pub rate_limit_prune_secs: u64,

    /// Seconds between server pings on an idle socket.
    #[arg(long, env = "SMELT_PING_SECS", default_value_t = 25)]
    pub ping_secs: u64,

    /// Bearer token required by `GET /metrics`. Unset: the endpoint is open (keep it off the
    /// public internet at the proxy).
    #[arg(long, env = "SMELT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Address where a standalone `smelt-worker` serves its own `/metrics` (e.g.
    /// `0.0.0.0:9090`). Unset: no listener (embedded workers report through the server).
    #[arg(long, env = "SMELT_METRICS_BIND")]
    pub metrics_bind: Option<std::net::SocketAddr>,

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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Settings;

    /// Every environment variable the settings read.
    fn variables() -> Vec<String> {
        Settings::command()
            .get_arguments()
            .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
            .collect()
    }

    fn repository_file(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_readme_and_env_example_document_every_setting() {
        let readme = repository_file("README.md");
        let example = repository_file(".env.example");
        for variable in variables() {
            assert!(
                readme.contains(&format!("`{variable}`")),
                "README lacks {variable}"
            );
            assert!(
                example.contains(&format!("# {variable}=")),
                ".env.example lacks {variable}"
            );
        }
    }

    #[test]
    fn docker_compose_sets_only_real_settings() {
        let known = variables();
        let compose = repository_file("docker-compose.yml");
        let used: Vec<&str> = compose
            .lines()
            .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k))
            .filter(|k| k.starts_with("SMELT_") || *k == "DATABASE_URL")
            .collect();
        assert!(
            used.contains(&"SMELT_BLOB_STORE"),
            "compose configures the store"
        );
        for variable in used {
            // The bucket name is also handed to the bucket-creating container.
            assert!(
                known.iter().any(|k| k == variable),
                "{variable} is not a setting"
            );
        }
    }
}
