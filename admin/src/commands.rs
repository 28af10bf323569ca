//! The commands themselves, each printing its result on stdout (logs go to stderr).

use std::sync::Arc;

use smelt_core::clock::SystemClock;
use smelt_core::db::dead_letters;
use smelt_core::lifecycle::{self, Requeued};
use smelt_core::limits::Limits;
use smelt_core::queue::JobQueue;
use smelt_core::{blob, crypto, db, retention, secrets, uploads};
use sqlx::PgPool;

use crate::Settings;

/// Connections an operator command needs.
const POOL_SIZE: u32 = 2;

/// The database of the settings (created and migrated like a server would).
pub async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    Ok(db::bootstrap(&settings.database.database_url, POOL_SIZE).await?)
}

/// One retention cleanup run now (or, with `dry_run`, what it would delete), printed as
/// pretty JSON.
pub async fn cleanup(settings: &Settings, dry_run: bool) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let blobs = blob::open(&settings.storage, None, Arc::new(SystemClock)).await?;
    let queue = JobQueue::new(pool.clone()).await;
    let policy = retention::RetentionPolicy::from_settings(&settings.retention);
    let now = chrono::Utc::now();
    let report = retention::run(&pool, blobs.as_ref(), &queue, &policy, now, dry_run).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Prints `name fingerprint` for each secret this host uses (generating the missing ones
/// under the data directory, as a server would).
pub fn print_secrets(settings: &Settings) -> anyhow::Result<()> {
    let dir = &settings.storage.data_dir;
    for (name, configured) in [
        ("jwt_secret", &settings.signing.jwt_secret),
        ("encryption_key", &settings.secrets.encryption_key),
        ("ip_hash_secret", &settings.signing.ip_hash_secret),
    ] {
        let secret = secrets::resolve(configured.as_deref(), dir, name)?;
        let fingerprint = crypto::hmac_hex(secret.as_bytes(), b"smelt secret fingerprint");
        println!("{name} {}", &fingerprint[..16]);
    }
    Ok(())
}

/// Prints every dead letter, oldest first: a table, or JSON lines.
pub async fn list(pool: &PgPool, json: bool) -> anyhow::Result<()> {
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
            l.smelt_status.map_or("deleted", |s| s.as_str()),
            l.last_error
        );
    }
    Ok(())
}

/// Requeues the given letters (every letter with `all`), printing each outcome. Errors when
/// none is named, or when some could not be requeued (no credit, no such letter).
pub async fn requeue(
    pool: &PgPool,
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
    let weekly = Limits::from_settings(&settings.limits).weekly_credits;
    let mut refused = 0;
    for id in ids {
        let outcome = lifecycle::requeue(pool, &queue, id, chrono::Utc::now(), weekly).await?;
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

/// Removes the letters older than `days` and the uploads their smelts kept.
pub async fn purge(pool: &PgPool, settings: &Settings, days: u32) -> anyhow::Result<()> {
    let cutoff = chrono::Utc::now() - chrono::TimeDelta::days(days.into());
    let smelts = dead_letters::purge(pool, cutoff).await?;
    let blobs = blob::open(&settings.storage, None, Arc::new(SystemClock)).await?;
    for smelt_id in &smelts {
        uploads::release(pool, blobs.as_ref(), *smelt_id).await?;
    }
    println!("purged {} letter(s)", smelts.len());
    Ok(())
}
