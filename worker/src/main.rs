//! `smelt-worker`: consumes the job queue and runs the processing pipeline.

use std::sync::Arc;

use clap::Parser;
use smelt_core::blob::{BlobStore, FsBlobStore};
use smelt_core::settings::Settings;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Configuration from flags and environment (a `.env` file counts as environment).
    let _ = dotenvy::dotenv();
    let settings = Arc::new(Settings::parse());
    let filter =
        tracing_subscriber::EnvFilter::try_new(&settings.log).unwrap_or_else(|_| "info".into());
    if settings.log_format == "json" {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }

    // Database (created and migrated if needed) and storage.
    let pool = smelt_core::db::bootstrap(&settings.database_url, settings.db_pool_size).await?;
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::new(settings.data_dir.join("blobs")));
    let worker = smelt_worker::Worker::new(pool, settings, blobs).await?;

    // Run until Ctrl-C or SIGTERM; the job in hand finishes first.
    let stop = CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        signal.cancel();
    });
    tracing::info!("smelt-worker running");
    worker.run(stop).await
}
