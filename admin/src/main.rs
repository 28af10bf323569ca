//! `smelt-admin`: operator commands that need the database and the settings but not the
//! speech engine.
//!
//! - `smelt-admin dead-letters list [--json]`: the dead-letter queue, each letter with its
//!   smelt, deliveries and last error;
//! - `smelt-admin dead-letters requeue (<msg-id>… | --all)`: puts jobs back in the queue (the
//!   smelt goes back to `pending`; its credit is taken again only if it was refunded);
//! - `smelt-admin dead-letters purge --older-than-days N`: removes old letters and the audio
//!   their smelts kept for a requeue;
//! - `smelt-admin secrets`: fingerprints of this host's secrets (never the secrets), to check
//!   that every process uses the same ones;
//! - `smelt-admin cleanup [--dry-run]`: one retention cleanup run, reported as JSON (the same
//!   as `smelt-cleanup`).

use std::sync::Arc;

use clap::{Parser, Subcommand};
use smelt_core::clock::SystemClock;
use smelt_core::db::dead_letters::{self, Requeued};
use smelt_core::limits::Limits;
use smelt_core::queue::JobQueue;
use smelt_core::settings::Settings;
use smelt_core::{blob, crypto, db, retention, secrets, telemetry};

/// Command line: a command plus every Smelt setting.
#[derive(Debug, Parser)]
#[command(version, about = "Smelt's operator commands")]
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
    telemetry::init(&cli.settings);
    let settings = cli.settings;
    match cli.command {
        Command::Secrets => print_secrets(&settings),
        Command::Cleanup { dry_run } => cleanup(&settings, dry_run).await,
        Command::DeadLetters(command) => {
            let pool = db::bootstrap(&settings.database_url, 2).await?;
            match command {
                DeadLetterCommand::List { json } => list(&pool, json).await,
                DeadLetterCommand::Requeue { msg_ids, all } => {
                    requeue(&pool, &settings, msg_ids, all).await
                }
                DeadLetterCommand::Purge { older_than_days } => {
                    purge(&pool, &settings, older_than_days).await
                }
            }
        }
    }
}

async fn cleanup(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let pool = db::bootstrap(&settings.database_url, 2).await?;
    let blobs = blob::open(settings, None, Arc::new(SystemClock)).await?;
    let queue = JobQueue::new(pool.clone()).await;
    let policy = retention::RetentionPolicy::from_settings(settings);
    let now = chrono::Utc::now();
    let report = retention::run(&pool, blobs.as_ref(), &queue, &policy, now, dry_run).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn print_secrets(settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.data_dir;
    for (name, configured) in [
        ("jwt_secret", &settings.jwt_secret),
        ("encryption_key", &settings.encryption_key),
        ("ip_hash_secret", &settings.ip_hash_secret),
    ] {
        let secret = secrets::resolve(configured.as_deref(), dir, name)?;
        let fingerprint = crypto::hmac_hex(secret.as_bytes(), b"smelt secret fingerprint");
        println!("{name} {}", &fingerprint[..16]);
    }
    Ok(())
}

async fn list(pool: &sqlx::PgPool, json: bool) -> anyhow::Result<()> {
    let letters = dead_letters::list(pool).await?;
    if json {
        for letter in &letters {
            println!("{}", serde_json::to_string(letter)?);
        }
        return Ok(());
    }
    println!("msg_id\tsmelt_id\tdead_lettered_at\tdeliveries\tstatus\tlast_error");
    for l in &letters {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            l.msg_id,
            l.smelt_id,
            l.dead_lettered_at.to_rfc3339(),
            l.deliveries,
            l.smelt_status.as_deref().unwrap_or("deleted"),
            l.last_error
        );
    }
    Ok(())
}

async fn requeue(
    pool: &sqlx::PgPool,
    settings: &Settings,
    msg_ids: Vec<i64>,
    all: bool,
) -> anyhow::Result<()> {
    let ids = if all {
        dead_letters::list(pool)
            .await?
            .into_iter()
            .map(|l| l.msg_id)
            .collect()
    } else {
        msg_ids
    };
    if ids.is_empty() {
        anyhow::bail!("name the letters to requeue, or pass --all");
    }
    let queue = JobQueue::new(pool.clone()).await;
    let weekly = Limits::from_settings(settings).weekly_credits;
    let mut refused = 0;
    for id in ids {
        let outcome = dead_letters::requeue(pool, &queue, id, chrono::Utc::now(), weekly).await?;
        println!(
            "{id}\t{}",
            serde_json::to_value(outcome)?.as_str().unwrap_or_default()
        );
        if matches!(outcome, Requeued::NoCredit | Requeued::NotFound) {
            refused += 1;
        }
    }
    if refused > 0 {
        anyhow::bail!("{refused} letter(s) could not be requeued");
    }
    Ok(())
}

async fn purge(pool: &sqlx::PgPool, settings: &Settings, days: u32) -> anyhow::Result<()> {
    let cutoff = chrono::Utc::now() - chrono::TimeDelta::days(days.into());
    let smelts = dead_letters::purge(pool, cutoff).await?;
    let blobs = blob::open(settings, None, Arc::new(SystemClock)).await?;
    for smelt_id in &smelts {
        retention::release_smelt_uploads(pool, blobs.as_ref(), *smelt_id).await?;
    }
    println!("purged {} letter(s)", smelts.len());
    Ok(())
}
