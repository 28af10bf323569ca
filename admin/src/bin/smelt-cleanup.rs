//! `smelt-cleanup [--dry-run]`: one retention cleanup run (see `smelt_core::retention`),
//! reported as JSON on stdout; the same as `smelt-admin cleanup`. Workers run the same
//! cleanup every `SMELT_CLEANUP_INTERVAL_SECS`; this command runs it now, or shows what it
//! would delete.

use clap::Parser;
use smelt_admin::{commands, Settings};
use smelt_core::telemetry;

/// Command line: the cleanup's own flag plus the operator commands' settings.
#[derive(Debug, Parser)]
#[command(
    name = "smelt-cleanup",
    version,
    about = "Deletes expired anonymous smelts, expired uploads and old queue archives"
)]
struct Cli {
    /// Report what would be deleted and delete nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    settings: Settings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    telemetry::init(&cli.settings.log);
    commands::cleanup(&cli.settings, cli.dry_run).await
}
