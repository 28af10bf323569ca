//! `smelt-cleanup [--dry-run]`: one retention cleanup run (see `smelt_core::retention`),
//! reported as JSON on stdout. Workers run the same cleanup every
//! `SMELT_CLEANUP_INTERVAL_SECS`; this command runs it now, or shows what it would delete.

use std::sync::Arc;

use clap::Parser;
use smelt_core::clock::SystemClock;
use smelt_core::queue::JobQueue;
use smelt_core::retention::{self, RetentionPolicy};
use smelt_core::settings::Settings;
use smelt_core::{blob, db, telemetry};

/// Command line: the cleanup's own flag plus every Smelt setting.
#[derive(Debug, Parser)]
#[command(
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
    telemetry::init(&cli.settings);
    let pool = db::bootstrap(&cli.settings.database_url, 2).await?;
    let blobs = blob::open(&cli.settings, None, Arc::new(SystemClock)).await?;
    let queue = JobQueue::new(pool.clone()).await;
    let policy = RetentionPolicy::from_settings(&cli.settings);
    let report = retention::run(
        &pool,
        blobs.as_ref(),
        &queue,
        &policy,
        chrono::Utc::now(),
        cli.dry_run,
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
