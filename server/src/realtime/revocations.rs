//! Closes the sockets of revoked service keys, on every server: the database announces each
//! revocation on `smelt_key_revoked` (a trigger on `service_key`, payload the key id), and
//! the server's LISTEN connection hands it here, then to the hub, whose feeds end with 4501.
//!
//! A notification sent while the connection was down is lost, so after every (re)connect the
//! keys of current subscribers are checked against the table.

use std::sync::Arc;

use smelt_core::db;
use smelt_core::listener::Notifications;
use sqlx::PgPool;
use uuid::Uuid;

use super::hub::Hub;

/// The channel the `service_key_revoked` trigger notifies.
pub const REVOKED_CHANNEL: &str = "smelt_key_revoked";

/// Hands revocations to the hub.
pub struct Revocations {
    pool: PgPool,
    hub: Arc<Hub>,
}

impl Revocations {
    /// Revocations read through `pool`, applied to `hub`.
    pub fn new(pool: PgPool, hub: Arc<Hub>) -> Arc<Self> {
        Arc::new(Revocations { pool, hub })
    }
}

#[async_trait::async_trait]
impl Notifications for Revocations {
    /// Revokes, in the hub, the keys of current subscribers that the table says are no longer
    /// usable (revoked or expired while no notification could arrive).
    async fn connected(&self) {
        for key_id in self.hub.subscribed_keys() {
            match db::service_keys::is_active(&self.pool, key_id).await {
                Ok(true) => {}
                Ok(false) => {
                    self.hub.revoke_key(key_id);
                }
                Err(e) => tracing::warn!(%key_id, error = %e, "could not re-check a service key"),
            }
        }
    }

    async fn notified(&self, payload: &str) {
        if let Ok(key_id) = payload.parse::<Uuid>() {
            let closed = self.hub.revoke_key(key_id);
            tracing::info!(%key_id, closed, "service key revoked");
        }
    }
}
