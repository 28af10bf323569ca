//! The settings of `smelt-worker`: the sections it reads, and nothing of the server's.

use clap::Parser;
use smelt_core::settings::{
    DatabaseSettings, HostedSettings, IngestSettings, LimitSettings, LogSettings, ProviderSettings,
    RetentionSettings, SecretSettings, StorageSettings, WhisperSettings, WorkerSettings,
};

/// Everything `smelt-worker` reads (flags and environment variables; see the README's
/// configuration table).
#[derive(Debug, Clone, Parser)]
#[group(id = "smelt-worker")]
#[command(
    name = "smelt-worker",
    version,
    about = "Smelt's job consumer: the processing pipeline and its engines"
)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub storage: StorageSettings,
    #[command(flatten)]
    pub secrets: SecretSettings,
    #[command(flatten)]
    pub worker: WorkerSettings,
    #[command(flatten)]
    pub whisper: WhisperSettings,
    #[command(flatten)]
    pub hosted: HostedSettings,
    #[command(flatten)]
    pub provider: ProviderSettings,
    #[command(flatten)]
    pub ingest: IngestSettings,
    #[command(flatten)]
    pub limits: LimitSettings,
    #[command(flatten)]
    pub retention: RetentionSettings,
    #[command(flatten)]
    pub log: LogSettings,
}

impl Settings {
    /// Settings from defaults and environment only (no command line), as tests use them.
    pub fn from_env() -> Self {
        Self::parse_from(["smelt-worker"])
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
