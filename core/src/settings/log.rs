use clap::{Args, ValueEnum};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logging")]
pub struct LogSettings {
    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SMELT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}
