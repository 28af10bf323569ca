use clap::Args;

/// What one smelt may hold and how many smelts a client may make (see
/// [`crate::limits::Limits`]).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitSettings {
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
}

/// Request rates the server allows before it answers 429.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Rate limits")]
pub struct RateLimitSettings {
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

    /// Seconds between two prunings of the rate limiters' per-address and per-user state
    /// (entries whose limit has fully recovered are forgotten, so memory stays bounded).
    #[arg(long, env = "SMELT_RATE_LIMIT_PRUNE_SECS", default_value_t = 60)]
    pub rate_limit_prune_secs: u64,
}
