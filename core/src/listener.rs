//! The one LISTEN loop: a dedicated Postgres connection listening on some channels, each
//! served by its [`Notifications`] handler, with one reconnect policy for everyone.
//!
//! - Reconnects with backoff (100 ms doubling to 5 s) whenever the connection fails.
//! - Probes the connection every [`HEALTH_CHECK_EVERY`] with a query that must answer within
//!   [`HEALTH_CHECK_TIMEOUT`]: a connection can die silently (no RST reaches us), and
//!   notifications would then stop without an error.
//! - After every (re)connect, before any notification, calls each handler's
//!   [`Notifications::connected`]: Postgres drops the NOTIFYs sent while nobody listened, so
//!   each listener catches up from its source of truth there.
//!
//! The server listens with one connection (events, key revocations, webhook deliveries); each
//! worker with one (new jobs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::db;

/// How often the connection is probed.
pub const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(10);
/// How long a probe may take before the connection is declared dead.
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What to do with one channel's notifications.
#[async_trait::async_trait]
pub trait Notifications: Send + Sync + 'static {
    /// The connection is (again) listening: catch up on what was announced while it was not.
    async fn connected(&self) {}
    /// One notification's payload.
    async fn notified(&self, payload: &str);
}

/// Whether a [`Listener`]'s connection is up (cheap to clone; for readiness checks).
#[derive(Debug, Clone, Default)]
pub struct ListenerStatus(Arc<AtomicBool>);

impl ListenerStatus {
    /// True while the connection is listening.
    pub fn is_listening(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, up: bool) {
        self.0.store(up, Ordering::Release);
    }
}

/// A LISTEN connection and the handler of each of its channels.
pub struct Listener {
    pool: PgPool,
    routes: Vec<(&'static str, Arc<dyn Notifications>)>,
    status: ListenerStatus,
}

impl Listener {
    /// A listener connecting through `pool`'s options, with no channel yet.
    pub fn new(pool: PgPool) -> Self {
        Listener {
            pool,
            routes: Vec::new(),
            status: ListenerStatus::default(),
        }
    }

    /// Listens on `channel`, handing its notifications to `handler`.
    pub fn route(mut self, channel: &'static str, handler: Arc<dyn Notifications>) -> Self {
        self.routes.push((channel, handler));
        self
    }

    /// The connection's status, to share before [`Listener::run`] takes the listener.
    pub fn status(&self) -> ListenerStatus {
        self.status.clone()
    }

    /// Listens until `stop` is cancelled, reconnecting whenever the connection fails.
    pub async fn run(self, stop: CancellationToken) {
        let mut delays = reconnect_delays();
        while !stop.is_cancelled() {
            let mut connection = match self.connect().await {
                Ok(connection) => connection,
                Err(e) => {
                    let wait = delays.next().unwrap_or(Duration::from_secs(5));
                    tracing::warn!(error = %e, retry_in = ?wait, "LISTEN connection failed");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(wait) => continue,
                    }
                }
            };
            delays = reconnect_delays();
            self.status.set(true);
            for (_, handler) in &self.routes {
                handler.connected().await;
            }
            tokio::select! {
                _ = stop.cancelled() => {}
                why = self.serve(&mut connection) => {
                    tracing::warn!(reason = %why, "LISTEN connection lost; reconnecting");
                }
            }
            self.status.set(false);
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut connection = PgListener::connect_with(&self.pool).await?;
        // Reconnecting is ours to do, so that every reconnect runs the catch-up.
        connection.ignore_pool_close_event(true);
        let channels: Vec<&str> = self.routes.iter().map(|(c, _)| *c).collect();
        connection.listen_all(channels).await?;
        Ok(connection)
    }

    /// Hands each notification to its channel's handler until the connection fails; returns
    /// why it did.
    async fn serve(&self, connection: &mut PgListener) -> String {
        let mut health = tokio::time::interval(HEALTH_CHECK_EVERY);
        health.tick().await;
        loop {
            let next = tokio::select! {
                _ = health.tick() => {
                    let probe = db::health::ping(&mut *connection);
                    match tokio::time::timeout(HEALTH_CHECK_TIMEOUT, probe).await {
                        Ok(Ok(())) => continue,
                        _ => return "it failed its health check".to_owned(),
                    }
                }
                next = connection.try_recv() => next,
            };
            match next {
                Ok(Some(notification)) => {
                    let channel = notification.channel();
                    if let Some((_, handler)) = self.routes.iter().find(|(c, _)| *c == channel) {
                        handler.notified(notification.payload()).await;
                    }
                }
                Ok(None) => return "the server closed it".to_owned(),
                Err(e) => return e.to_string(),
            }
        }
    }
}

fn reconnect_delays() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .without_max_times()
        .build()
}

/// Wake-ups for readers that poll a queue: every notification (and every reconnect, after
/// which notifications may have been missed) bumps a counter that readers watch. A reader
/// that was busy when a wake-up came sees it as soon as it waits again.
#[derive(Debug)]
pub struct WakeUps(watch::Sender<u64>);

impl WakeUps {
    /// No wake-up yet.
    pub fn new() -> Arc<Self> {
        Arc::new(WakeUps(watch::channel(0).0))
    }

    /// A reader's end: `changed()` resolves at the next wake-up.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }

    fn wake(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[async_trait::async_trait]
impl Notifications for WakeUps {
    async fn connected(&self) {
        self.wake();
    }

    async fn notified(&self, _payload: &str) {
        self.wake();
    }
}
