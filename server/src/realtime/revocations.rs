//! Closes the sockets of revoked service keys, on every server: the database announces each
//! revocation on `smelt_key_revoked` (a trigger on `service_key`, payload the key id), and
//! this listener hands it to the hub, whose feeds then end with 4501.
//!
//! A notification sent while this listener was disconnected is lost, so after every
//! (re)connect the keys of current subscribers are checked against the table.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use smelt_core::db;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::hub::Hub;

/// The channel the `service_key_revoked` trigger notifies.
pub const REVOKED_CHANNEL: &str = "smelt_key_revoked";

/// Listens until `stop`, reconnecting with backoff (100 ms doubling to 5 s).
pub async fn run(pool: PgPool, hub: Arc<Hub>, stop: CancellationToken) {
    let mut delays = reconnect_delays();
    while !stop.is_cancelled() {
        let listener = match connect(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                let wait = delays.next().unwrap_or(Duration::from_secs(5));
                tracing::warn!(error = %e, retry_in = ?wait, "revocation listener failed to connect");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => continue,
                }
            }
        };
        delays = reconnect_delays();
        recheck_subscribed_keys(&pool, &hub).await;
        tokio::select! {
            _ = stop.cancelled() => return,
            e = forward(listener, &hub) => {
                tracing::warn!(error = %e, "revocation listener lost its connection");
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

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnecting is ours to do, so that a lost connection triggers the re-check.
    listener.ignore_pool_close_event(true);
    listener.listen(REVOKED_CHANNEL).await?;
    Ok(listener)
}

/// Hands every announced key to the hub until the connection fails.
async fn forward(mut listener: PgListener, hub: &Hub) -> sqlx::Error {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Ok(key_id) = notification.payload().parse::<Uuid>() {
                    let closed = hub.revoke_key(key_id);
                    tracing::info!(%key_id, closed, "service key revoked");
                }
            }
            Ok(None) => return sqlx::Error::PoolClosed,
            Err(e) => return e,
        }
    }
}

/// Revokes, in the hub, the keys of current subscribers that the table says are no longer
/// usable (revoked or expired while no notification could arrive).
async fn recheck_subscribed_keys(pool: &PgPool, hub: &Hub) {
    for key_id in hub.subscribed_keys() {
        match db::service_keys::is_active(pool, key_id).await {
            Ok(true) => {}
            Ok(false) => {
                hub.revoke_key(key_id);
            }
            Err(e) => tracing::warn!(%key_id, error = %e, "could not re-check a service key"),
        }
    }
}
