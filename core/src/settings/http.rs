use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

/// The HTTP server: where it listens, what it serves, how it treats connections, and the
/// lifetimes of what it hands out (tokens, download URLs).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP")]
pub struct HttpSettings {
    /// Address the HTTP server listens on (`host:port`; port 0 picks a free port).
    #[arg(long, env = "SMELT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// The Whisper model of a smelt that names none (`model` of `POST /api/smelts`):
    /// `tiny.en` (English only, the fastest) or `base` (99 languages, translation).
    #[arg(long, env = "SMELT_DEFAULT_MODEL", default_value = "tiny.en", value_parser = ["tiny.en", "base"])]
    pub default_model: String,

    /// Longest total audio, in seconds, of a smelt that goes to the fast lane (pasted text
    /// always does): short recordings go first instead of waiting behind long ones.
    #[arg(long, env = "SMELT_FAST_LANE_SECONDS", default_value_t = 120)]
    pub fast_lane_seconds: u32,

    /// Directory of the built web app served at `/` (`web/dist` after `npm run build`).
    #[arg(long, env = "SMELT_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,

    /// Public origin of the server (`https://smelt.example`), prefixed to the download URLs
    /// the `fs` store signs. Unset: those URLs are relative to the origin the API was called
    /// on.
    #[arg(long, env = "SMELT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Lifetime of a result's `download_url`, in seconds.
    #[arg(long, env = "SMELT_DOWNLOAD_URL_TTL_SECS", default_value_t = 600)]
    pub download_url_ttl_secs: u64,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "SMELT_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "SMELT_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 86_400)]
    pub refresh_token_ttl_secs: u64,

    /// Comma-separated proxy addresses whose `X-Forwarded-For` is believed. Requests from any
    /// other peer are attributed to the peer address.
    #[arg(long, env = "SMELT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,

    /// Comma-separated web origins (`https://app.example.com`) whose pages may call the API
    /// from the browser (CORS). Empty (the default): no cross-origin access. `*` allows every
    /// origin, never with credentials; the API authenticates with bearer tokens, not cookies,
    /// so credentials are never allowed for any origin.
    #[arg(long, env = "SMELT_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

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

    /// Seconds a whole upload (`POST /api/smelts`) may take, however steadily it trickles in;
    /// a slower one is answered 408 `upload_timeout` and leaves nothing stored.
    #[arg(long, env = "SMELT_UPLOAD_DEADLINE_SECS", default_value_t = 600)]
    pub upload_deadline_secs: u64,

    /// Most uploads one client address may send at once (0: unbounded); one more is answered
    /// 429 `rate_limited`. An IPv6 client counts by its /64.
    #[arg(long, env = "SMELT_MAX_UPLOADS_PER_ADDRESS", default_value_t = 4)]
    pub max_uploads_per_address: usize,

    /// Most connections open at once from one client address (0: unbounded). Trusted proxies
    /// are exempt: every client behind them shares their address.
    #[arg(
        long,
        env = "SMELT_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 1000
    )]
    pub max_connections_per_address: usize,

    /// Bearer token required by `GET /metrics`. Unset: the endpoint is open (keep it off the
    /// public internet at the proxy).
    #[arg(long, env = "SMELT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// The realtime channel: sockets and SSE streams.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Realtime")]
pub struct RealtimeSettings {
    /// Capacity of each socket's outbound queue, in events.
    #[arg(long, env = "SMELT_SOCKET_QUEUE", default_value_t = 256)]
    pub socket_queue: usize,

    /// Seconds between server pings on an idle socket.
    #[arg(long, env = "SMELT_PING_SECS", default_value_t = 25)]
    pub ping_secs: u64,

    /// Seconds between two looks of the backstop for lost wake-ups: a channel whose event log
    /// is ahead of what it published, with no announcement for a whole interval, is read from
    /// the log (a lost NOTIFY costs at most two intervals). 0 turns the backstop off.
    #[arg(long, env = "SMELT_BACKSTOP_SECS", default_value_t = 3)]
    pub backstop_secs: u64,

    /// Milliseconds between two computations of the queue places of watched pending smelts;
    /// a watcher learns a new place at most this long after it changed (coalesced: one push
    /// per change). 0 turns live places off (snapshots and `GET` still carry them).
    #[arg(long, env = "SMELT_QUEUE_PLACE_INTERVAL_MS", default_value_t = 1000)]
    pub queue_place_interval_ms: u64,

    /// Lifetime of a subscription token, in seconds.
    #[arg(
        long,
        env = "SMELT_SUBSCRIPTION_TOKEN_TTL_SECS",
        default_value_t = 86_400
    )]
    pub subscription_token_ttl_secs: u64,
}
