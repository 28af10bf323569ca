//! `smelt-worker`: consumes the job queue and runs the processing pipeline.

use std::sync::Arc;

use clap::Parser;
use smelt_core::clock::SystemClock;
use smelt_core::{blob, db, telemetry};
use smelt_worker::Settings;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Configuration from flags and environment (a `.env` file counts as environment).
    let _ = dotenvy::dotenv();
    let settings = Arc::new(Settings::parse());
    telemetry::init(&settings.log);
    if let Some(address) = settings.worker.metrics_bind {
        smelt_core::metrics::serve(address)?;
    }

    // Database (created and migrated if needed) and storage.
    let database = &settings.database;
    let pool = db::bootstrap(&database.database_url, database.db_pool_size).await?;
    let blobs = blob::open(&settings.storage, None, Arc::new(SystemClock)).await?;
    let worker = smelt_worker::Worker::new(pool, settings, blobs).await?;

    // Run until Ctrl-C or SIGTERM; the job in hand gets the shutdown grace to finish.
    let stop = CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(async move {
        telemetry::shutdown_signal().await;
        signal.cancel();
    });
    tracing::info!("smelt-worker running");
    worker.run(stop).await
}
