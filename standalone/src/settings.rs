//! The settings of `smelt`: the server's and the worker's, each read once, plus how many
//! workers to embed.

use clap::Parser;
use smelt_core::settings::{HostedSettings, RetentionSettings, WhisperSettings, WorkerSettings};

/// Everything `smelt` reads: all of `smelt-server`'s settings, the worker sections
/// `smelt-server` lacks, and `SMELT_EMBEDDED_WORKERS`.
#[derive(Debug, Clone, Parser)]
#[group(id = "smelt")]
#[command(
    name = "smelt",
    version,
    about = "Smelt in one process: the HTTP API, the realtime hub and embedded workers"
)]
pub struct Settings {
    #[command(flatten)]
    pub server: smelt_server::Settings,
    #[command(flatten)]
    pub worker: WorkerSettings,
    #[command(flatten)]
    pub whisper: WhisperSettings,
    #[command(flatten)]
    pub hosted: HostedSettings,
    #[command(flatten)]
    pub retention: RetentionSettings,
    /// Number of pipeline workers run inside this process (0: none; jobs wait for
    /// `smelt-worker` processes).
    #[arg(
        long,
        env = "SMELT_EMBEDDED_WORKERS",
        default_value_t = 1,
        help_heading = "Worker"
    )]
    pub embedded_workers: usize,
}

impl Settings {
    /// Settings from defaults and environment only (no command line), as tests use them.
    pub fn from_env() -> Self {
        Self::parse_from(["smelt"])
    }

    /// What an embedded worker reads: the shared sections (database, storage, secrets,
    /// limits, users' providers, recording links, logging) from the server's settings, the
    /// rest from here.
    pub fn worker_settings(&self) -> smelt_worker::Settings {
        let server = &self.server;
        smelt_worker::Settings {
            database: server.database.clone(),
            storage: server.storage.clone(),
            secrets: server.secrets.clone(),
            worker: self.worker.clone(),
            whisper: self.whisper.clone(),
            hosted: self.hosted.clone(),
            provider: server.provider.clone(),
            ingest: server.ingest.clone(),
            limits: server.limits.clone(),
            retention: self.retention.clone(),
            log: server.log.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Settings;

    /// Every environment variable some binary reads: `smelt` reads them all (the operator
    /// commands read a subset of the server's and the worker's).
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
    fn the_command_line_is_well_formed() {
        Settings::command().debug_assert();
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
