use clap::Args;

/// Completion webhooks: which receivers are allowed and how deliveries are retried (see
/// [`crate::webhooks`]).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct WebhookSettings {
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
}
