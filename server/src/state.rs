//! Shared application state handed to every handler.

use std::sync::Arc;

use crate::settings::Settings;
use smelt_core::blob::{BlobStore, DownloadSigner};
use smelt_core::clock::Clock;
use smelt_core::crypto::SecretBox;
use smelt_core::limits::Limits;
use smelt_core::listener::ListenerStatus;
use smelt_core::outbound::OutboundGuard;
use smelt_core::queue::JobQueue;
use smelt_core::tokens::TokenKeys;
use sqlx::PgPool;
use tokio_util::task::TaskTracker;

use crate::limits::RateLimits;
use crate::realtime::broker::Broker;
use crate::realtime::hub::Hub;

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub queue: JobQueue,
    pub blobs: Arc<dyn BlobStore>,
    /// Signs and checks the server's own download URLs (the fs store's).
    pub downloads: DownloadSigner,
    pub tokens: TokenKeys,
    pub hub: Arc<Hub>,
    pub broker: Arc<dyn Broker>,
    /// The LISTEN connection's status, for readiness.
    pub listener: ListenerStatus,
    /// Current time (injectable for tests of credit resets).
    pub clock: Arc<dyn Clock>,
    /// Encrypts users' API keys at rest.
    pub secret_box: SecretBox,
    /// Secret of the HMAC standing in for anonymous client addresses.
    pub ip_hash_secret: Arc<Vec<u8>>,
    /// Request-rate limiters.
    pub rate_limits: Arc<RateLimits>,
    /// Files, sizes, durations and credits allowed (from the settings).
    pub limits: Limits,
    /// Client for calls to the operator's provider URLs (key validation without a base URL).
    pub http: reqwest::Client,
    /// The guard for calls to URLs users chose (their provider's base URL).
    pub outbound: OutboundGuard,
    /// The same guard with the webhook allow-list (`SMELT_WEBHOOK_ALLOWED_HOSTS`), for
    /// receivers' URLs.
    pub webhook_guard: OutboundGuard,
    /// The same guard with the recording-link allow-list (`SMELT_INGEST_ALLOWED_HOSTS`), for
    /// the links of recordings given instead of uploads.
    pub ingest_guard: OutboundGuard,
    /// Uploads being received, per client (`SMELT_MAX_UPLOADS_PER_ADDRESS`).
    pub uploads: Arc<crate::limits::InFlightByAddress>,
    /// Socket sessions, so that shutdown can wait for them to send their close frames.
    pub sessions: TaskTracker,
}
