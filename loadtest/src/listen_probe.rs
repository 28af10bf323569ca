//! An optional LISTEN connection of the load client's own on the server's notification
//! channel. Its receipt times split the delivery latency into the database leg (COMMIT → a
//! listener has the notification, the same path the server's listener takes) and the rest
//! (server → socket → subscriber). It adds one listening backend to Postgres, which then
//! delivers every notification twice.

use std::time::Instant;

use anyhow::Context;
use smelt_core::events::{Announcement, NOTIFY_CHANNEL};
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// One notification: smelt, seq, receipt time in ns since the run's epoch.
pub type Heard = (Uuid, i64, u64);

/// Listens until `stop` is cancelled; the task returns every notification heard.
pub async fn start(
    database_url: &str,
    epoch: Instant,
    stop: CancellationToken,
) -> anyhow::Result<JoinHandle<Vec<Heard>>> {
    let mut listener = PgListener::connect(database_url)
        .await
        .context("connecting the LISTEN probe")?;
    listener.listen(NOTIFY_CHANNEL).await?;
    Ok(tokio::spawn(async move {
        let mut heard = Vec::new();
        loop {
            let notification = tokio::select! {
                n = listener.recv() => n,
                _ = stop.cancelled() => break,
            };
            let Ok(notification) = notification else {
                break;
            };
            let at = epoch.elapsed().as_nanos() as u64;
            if let Some(a) = Announcement::parse(notification.payload()) {
                heard.push((a.smelt_id, a.seq, at));
            }
        }
        heard
    }))
}
