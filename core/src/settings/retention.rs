use clap::Args;

/// How long things are kept, and the cleanup that enforces it (see [`crate::retention`]).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Retention")]
pub struct RetentionSettings {
    /// Hours a raw upload is kept after its smelt completed (0: deleted as soon as it
    /// finishes). Uploads of failed and cancelled smelts are always deleted at once.
    #[arg(long, env = "SMELT_UPLOAD_RETENTION_HOURS", default_value_t = 0)]
    pub upload_retention_hours: u32,

    /// Hours after creation that a finished (completed, failed or cancelled) anonymous smelt,
    /// with its events and blobs, is kept; the periodic cleanup then deletes it.
    #[arg(long, env = "SMELT_ANONYMOUS_RETENTION_HOURS", default_value_t = 24)]
    pub anonymous_retention_hours: u32,

    /// Seconds between two runs of the retention cleanup in each worker (only one process
    /// runs it at a time; the first runs when a worker first finds the queue empty). 0 turns
    /// the periodic cleanup off, for deployments that schedule `smelt-admin cleanup`
    /// themselves.
    #[arg(long, env = "SMELT_CLEANUP_INTERVAL_SECS", default_value_t = 3600)]
    pub cleanup_interval_secs: u64,

    /// Most smelts the cleanup deletes per second, so that it never floods the database or
    /// the object store.
    #[arg(long, env = "SMELT_CLEANUP_RATE_PER_SEC", default_value_t = 20)]
    pub cleanup_rate_per_sec: u32,

    /// Days archived queue messages and finished webhook deliveries are kept.
    #[arg(long, env = "SMELT_ARCHIVE_RETENTION_DAYS", default_value_t = 7)]
    pub archive_retention_days: u32,
}
