//! `smelt-admin`: operator commands (dead letters, secrets, retention cleanup); see the
//! library's documentation for each.

use clap::{Parser, Subcommand};
use smelt_admin::{commands, Settings};
use smelt_core::telemetry;

/// Command line: a command plus the settings the commands read.
#[derive(Debug, Parser)]
#[command(name = "smelt-admin", version, about = "Smelt's operator commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect, requeue or purge the jobs that failed every delivery.
    #[command(subcommand)]
    DeadLetters(DeadLetterCommand),
    /// Print the fingerprints of the secrets this host uses (configured or generated under
    /// the data directory), generating the missing ones as a server would.
    Secrets,
    /// Delete expired anonymous smelts, expired uploads and old queue archives now (workers
    /// do it every `SMELT_CLEANUP_INTERVAL_SECS`), and print what was deleted as JSON.
    Cleanup {
        /// Report what would be deleted and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DeadLetterCommand {
    /// List every dead letter, oldest first.
    List {
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put letters back in the queue.
    Requeue {
        /// The letters' ids (from `list`).
        msg_ids: Vec<i64>,
        /// Every letter.
        #[arg(long, conflicts_with = "msg_ids")]
        all: bool,
    },
    /// Remove letters older than some days, and the audio their smelts kept.
    Purge {
        /// Age in days (0: every letter).
        #[arg(long)]
        older_than_days: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let settings = cli.settings;
    telemetry::init(&settings.log);
    match cli.command {
        Command::Secrets => commands::print_secrets(&settings),
        Command::Cleanup { dry_run } => commands::cleanup(&settings, dry_run).await,
        Command::DeadLetters(command) => {
            let pool = commands::connect(&settings).await?;
            match command {
                DeadLetterCommand::List { json } => commands::list(&pool, json).await,
                DeadLetterCommand::Requeue { msg_ids, all } => {
                    commands::requeue(&pool, &settings, msg_ids, all).await
                }
                DeadLetterCommand::Purge { older_than_days } => {
                    commands::purge(&pool, &settings, older_than_days).await
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
