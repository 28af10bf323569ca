//! The Postgres broker: the `smelt_event` table plus a dedicated `LISTEN smelt_events`
//! connection feeding the hub.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use smelt_core::db;
use smelt_core::db::smelts::Snapshot;
use smelt_core::events::{Announcement, WireEvent, NOTIFY_CHANNEL};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{frame_of, repair, Broker, BrokerError};
use crate::realtime::hub::{Frame, Hub};

/// How often the LISTEN connection is probed.
pub const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(10);
/// How long a probe may take before the connection is declared dead.
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The Postgres broker: the event table plus `LISTEN smelt_events`.
#[derive(Clone)]
pub struct PgBroker {
    pool: PgPool,
    /// True while the LISTEN connection is up (readiness).
    listening: Arc<AtomicBool>,
}

impl PgBroker {
    /// A broker reading through `pool`.
    pub fn new(pool: PgPool) -> Self {
        PgBroker {
            pool,
            listening: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Runs the dedicated LISTEN connection until `stop` is cancelled, forwarding every
    /// announcement to the hub. When the connection drops, it reconnects with backoff and then
    /// re-reads, for every channel with subscribers, the events after the last one the hub
    /// published — NOTIFYs sent while disconnected are lost by Postgres, the table is not.
    pub async fn run_listener(self, hub: Arc<Hub>, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !stop.is_cancelled() {
            let mut listener = match self.connect().await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "LISTEN connection failed");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            self.listening.store(true, Ordering::Release);
            // Anything published while we were not listening is in the table.
            repair(&hub, &self).await;
            // A connection can die silently (no RST reaches us); a periodic query with a
            // timeout notices it long before TCP keepalive would.
            let mut health = tokio::time::interval(HEALTH_CHECK_EVERY);
            health.tick().await;
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = health.tick() => {
                        let probe = db::health::ping(&mut listener);
                        match tokio::time::timeout(HEALTH_CHECK_TIMEOUT, probe).await {
                            Ok(Ok(_)) => continue,
                            _ => {
                                tracing::warn!("LISTEN connection failed its health check; reconnecting");
                                break;
                            }
                        }
                    }
                    n = listener.try_recv() => n,
                };
                match next {
                    Ok(Some(notification)) => self.dispatch(&hub, notification.payload()).await,
                    Ok(None) => {
                        tracing::warn!("LISTEN connection lost; reconnecting");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection failed; reconnecting");
                        break;
                    }
                }
            }
            self.listening.store(false, Ordering::Release);
        }
    }

    /// True while the LISTEN connection is up.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(NOTIFY_CHANNEL).await?;
        Ok(listener)
    }

    /// Forwards one announcement: inline frames as they are, large events read from the table.
    async fn dispatch(&self, hub: &Hub, payload: &str) {
        let Some(announcement) = Announcement::parse(payload) else {
            tracing::warn!("ignoring a malformed event announcement");
            return;
        };
        if !hub.has_subscribers(announcement.smelt_id) {
            return;
        }
        match announcement.frame() {
            Some(text) => {
                let frame = Frame {
                    seq: announcement.seq,
                    kind: announcement.kind,
                    text: Utf8Bytes::from(text),
                    appended_us: Some(announcement.appended_us),
                };
                hub.publish(announcement.smelt_id, &frame);
            }
            None => {
                let seq = announcement.seq;
                match self
                    .events_since(announcement.smelt_id, seq - 1, Some(seq))
                    .await
                {
                    Ok(events) => {
                        for event in &events {
                            let frame = Frame {
                                appended_us: Some(announcement.appended_us),
                                ..frame_of(event)
                            };
                            hub.publish(announcement.smelt_id, &frame);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read an announced event"),
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Broker for PgBroker {
    async fn snapshot(&self, smelt_id: Uuid) -> Result<Option<Snapshot>, BrokerError> {
        Ok(db::smelts::snapshot(&self.pool, smelt_id).await?)
    }

    async fn events_since(
        &self,
        smelt_id: Uuid,
        after_seq: i64,
        up_to: Option<i64>,
    ) -> Result<Vec<WireEvent>, BrokerError> {
        Ok(db::events::range(&self.pool, smelt_id, after_seq, up_to).await?)
    }

    async fn first_stored_seq(&self, smelt_id: Uuid) -> Result<Option<i64>, BrokerError> {
        Ok(db::events::first_seq(&self.pool, smelt_id).await?)
    }
}
