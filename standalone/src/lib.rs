//! Smelt in one process: the server of `smelt-server` with `embedded_workers` workers of
//! `smelt-worker` running beside it on the same pool and blob store. What `scripts/run.sh`
//! starts, and what the end-to-end tests build.

pub mod settings;

use std::sync::Arc;

use smelt_core::clock::{Clock, SystemClock};
use smelt_server::Application;

pub use settings::Settings;

/// Builds the server and its embedded workers (see [`Application::build`]; the workers
/// start with it and stop with it).
///
/// # Errors
/// Those of [`Application::build`], and a worker that refuses to start (an unusable
/// encryption key while users' keys are stored).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    build_with_clock(settings, Arc::new(SystemClock)).await
}

/// [`build`] with a given clock (tests move time to check credit resets).
pub async fn build_with_clock(
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Application> {
    let worker_settings = Arc::new(settings.worker_settings());
    let mut app = Application::build_with_clock(settings.server, clock).await?;
    for index in 0..settings.embedded_workers {
        let state = app.state();
        let worker = smelt_worker::Worker::new(
            state.pool.clone(),
            worker_settings.clone(),
            state.blobs.clone(),
        )
        .await?;
        app.spawn(move |stop| async move {
            if let Err(e) = worker.run(stop).await {
                tracing::error!(worker = index, error = ?e, "embedded worker stopped");
            }
        });
    }
    Ok(app)
}
