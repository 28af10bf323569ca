//! The settings of `smelt-server`: the sections it reads, and nothing of the worker's.

use clap::Parser;
use smelt_core::settings::{
    DatabaseSettings, HttpSettings, IngestSettings, LimitSettings, LogSettings, ProviderSettings,
    RateLimitSettings, RealtimeSettings, SecretSettings, SigningSettings, StorageSettings,
    WebhookSettings,
};

/// Everything `smelt-server` reads (flags and environment variables; see the README's
/// configuration table).
#[derive(Debug, Clone, Parser)]
#[group(id = "smelt-server")]
#[command(
    name = "smelt-server",
    version,
    about = "Smelt's HTTP API and realtime hub (jobs are processed by smelt-worker)"
)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub storage: StorageSettings,
    #[command(flatten)]
    pub secrets: SecretSettings,
    #[command(flatten)]
    pub signing: SigningSettings,
    #[command(flatten)]
    pub http: HttpSettings,
    #[command(flatten)]
    pub realtime: RealtimeSettings,
    #[command(flatten)]
    pub limits: LimitSettings,
    #[command(flatten)]
    pub rate_limits: RateLimitSettings,
    #[command(flatten)]
    pub provider: ProviderSettings,
    #[command(flatten)]
    pub webhooks: WebhookSettings,
    #[command(flatten)]
    pub ingest: IngestSettings,
    #[command(flatten)]
    pub log: LogSettings,
}

impl Settings {
    /// Settings from defaults and environment only (no command line), as tests use them.
    pub fn from_env() -> Self {
        Self::parse_from(["smelt-server"])
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Settings;

    #[test]
    fn the_command_line_is_well_formed() {
        Settings::command().debug_assert();
    }
}
