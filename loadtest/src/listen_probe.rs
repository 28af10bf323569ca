//! An optional LISTEN connection of the load client's own on the server's notification
//! channel. Its receipt times split the delivery latency into the database leg (COMMIT → a
//! listener has the notification, the same path the server's listener takes) and the rest
//! (server → socket → subscriber). It adds one listening backend to Postgres, which then
//! delivers every notification twice.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use smelt_core::events::{Announcement, NOTIFY_CHANNEL};
use smelt_core::listener::{Listener, Notifications};
use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// One notification: smelt, seq, receipt time in ns since the run's epoch.
pub type Heard = (Uuid, i64, u64);

/// Records each announcement with the time it was heard.
struct Probe {
    epoch: Instant,
    heard: Mutex<Vec<Heard>>,
}

#[async_trait::async_trait]
impl Notifications for Probe {
    async fn notified(&self, payload: &str) {
        let at = self.epoch.elapsed().as_nanos() as u64;
        if let Some(a) = Announcement::parse(payload) {
            self.heard.lock().unwrap().push((a.smelt_id, a.seq, at));
        }
    }
}

/// Listens until `stop` is cancelled; the task returns every notification heard.
pub async fn start(
    database_url: &str,
    epoch: Instant,
    stop: CancellationToken,
) -> anyhow::Result<JoinHandle<Vec<Heard>>> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await
        .context("connecting the LISTEN probe")?;
    let probe = Arc::new(Probe {
        epoch,
        heard: Mutex::new(Vec::new()),
    });
    let listener = Listener::new(pool).route(NOTIFY_CHANNEL, probe.clone());
    Ok(tokio::spawn(async move {
        listener.run(stop).await;
        std::mem::take(&mut *probe.heard.lock().unwrap())
    }))
}
