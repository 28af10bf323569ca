//! [`Application`]: builds everything from [`Settings`] and serves until stopped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use smelt_core::blob::{self, DownloadSigner};
use smelt_core::clock::{Clock, SystemClock};
use smelt_core::db;
use smelt_core::events::NOTIFY_CHANNEL;
use smelt_core::limits::Limits;
use smelt_core::listener::{Listener, WakeUps};
use smelt_core::outbound::OutboundGuard;
use smelt_core::queue::{JobQueue, WEBHOOK_INSERT_CHANNEL};
use smelt_core::tokens::TokenKeys;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connections::{self, ConnectionLimits};
use crate::http;
use crate::limits::RateLimits;
use crate::realtime::broker::PgBroker;
use crate::realtime::hub::Hub;
use crate::realtime::revocations::{Revocations, REVOKED_CHANNEL};
use crate::settings::Settings;
use crate::state::AppState;
use smelt_core::secrets;

/// How long shutdown waits for sockets to take their close frames.
const SOCKET_CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Binds the listening socket, with the configured send buffer for accepted connections.
async fn bind(address: &str, send_buffer: Option<u32>) -> anyhow::Result<TcpListener> {
    let address: SocketAddr = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| anyhow::anyhow!("cannot resolve {address}"))?;
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if let Some(bytes) = send_buffer {
        socket.set_send_buffer_size(bytes)?;
    }
    socket.bind(address)?;
    Ok(socket.listen(1024)?)
}

/// A built server: bound listener, state, and background tasks (the LISTEN connections, the
/// webhook dispatcher, the limiter pruning, and whatever [`Application::spawn`] added).
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    stop: CancellationToken,
    background: Vec<JoinHandle<()>>,
}

/// Shortest JWT secret the server accepts, in bytes (256 bits, the size of HS256's hash).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Refuses a JWT secret shorter than [`MIN_JWT_SECRET_BYTES`]: RFC 7518 §3.2 requires an
/// HS256 key at least as long as the hash output.
fn check_jwt_secret(secret: &str) -> anyhow::Result<()> {
    if secret.len() < MIN_JWT_SECRET_BYTES {
        anyhow::bail!(
            "SMELT_JWT_SECRET is {} bytes; HS256 needs at least {MIN_JWT_SECRET_BYTES}",
            secret.len()
        );
    }
    Ok(())
}

impl Application {
    /// Bootstraps the database (create, migrate, install pgmq), resolves secrets, binds
    /// `settings.bind` (port 0 picks a free port) and starts the background tasks.
    ///
    /// Errors: unreachable database, failed migration, unusable data directory, bind failure.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with a given clock (tests move time to check credit resets).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        if settings.secrets.is_production() {
            secrets::require_explicit(&settings.secrets, &settings.signing)?;
        }
        http::cors::layer(&settings.http.cors_origins)?;
        // Before anything else is touched: a weak configured secret is a configuration error.
        if let Some(configured) = settings.signing.jwt_secret.as_deref() {
            check_jwt_secret(configured)?;
        }
        smelt_core::metrics::recorder();
        let database = &settings.database;
        let pool = db::bootstrap(&database.database_url, database.db_pool_size).await?;
        let dir = &settings.storage.data_dir;
        let signing = &settings.signing;
        let jwt_secret = secrets::resolve(signing.jwt_secret.as_deref(), dir, "jwt_secret")?;
        check_jwt_secret(&jwt_secret)?;
        // The server seals users' keys, so it needs a usable key whatever else is stored.
        let secret_box = secrets::encryption_box(&settings.secrets, dir, &pool)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "SMELT_ENCRYPTION_KEY is unusable: the server cannot seal users' API keys"
                )
            })?;
        let ip_hash_secret =
            secrets::resolve(signing.ip_hash_secret.as_deref(), dir, "ip_hash_secret")?;
        let downloads = DownloadSigner::derived_from(
            jwt_secret.as_bytes(),
            settings.http.public_url.as_deref(),
            clock.clone(),
        );
        let blobs = blob::open(&settings.storage, Some(downloads.clone()), clock.clone()).await?;
        let hub = Arc::new(Hub::new());
        let broker = PgBroker::new(pool.clone());
        // One LISTEN connection serves the hub's events, key revocations and webhook wake-ups.
        let webhook_wake_ups = WakeUps::new();
        let listener = Listener::new(pool.clone())
            .route(NOTIFY_CHANNEL, broker.feed(hub.clone()))
            .route(REVOKED_CHANNEL, Revocations::new(pool.clone(), hub.clone()))
            .route(WEBHOOK_INSERT_CHANNEL, webhook_wake_ups.clone());
        let state = AppState {
            settings: settings.clone(),
            pool: pool.clone(),
            queue: JobQueue::new(pool.clone()).await,
            blobs: blobs.clone(),
            downloads,
            tokens: TokenKeys::new(jwt_secret.as_bytes()),
            hub: hub.clone(),
            broker: Arc::new(broker),
            listener: listener.status(),
            clock,
            secret_box,
            outbound: OutboundGuard::new(&settings.provider.provider_allowed_hosts),
            webhook_guard: OutboundGuard::new(&settings.webhooks.webhook_allowed_hosts),
            ingest_guard: OutboundGuard::new(&settings.ingest.ingest_allowed_hosts),
            ip_hash_secret: Arc::new(ip_hash_secret.into_bytes()),
            rate_limits: RateLimits::new(&settings.rate_limits),
            limits: Limits::from_settings(&settings.limits),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()?,
            sessions: TaskTracker::new(),
            uploads: crate::limits::InFlightByAddress::new(),
        };

        let stop = CancellationToken::new();
        let webhooks = Arc::new(
            smelt_core::webhooks::Dispatcher::new(
                pool.clone(),
                &settings.webhooks,
                state.secret_box.clone(),
                &state.webhook_guard,
            )
            .await,
        );
        let mut background = vec![
            tokio::spawn(webhooks.run(webhook_wake_ups.subscribe(), stop.clone())),
            tokio::spawn(listener.run(stop.clone())),
            tokio::spawn(state.rate_limits.clone().prune_until(
                Duration::from_secs(settings.rate_limits.rate_limit_prune_secs.max(1)),
                stop.clone(),
            )),
        ];
        if settings.realtime.backstop_secs > 0 {
            background.push(tokio::spawn(crate::realtime::backstop::run(
                state.hub.clone(),
                state.broker.clone(),
                Duration::from_secs(settings.realtime.backstop_secs),
                stop.clone(),
            )));
        }
        if settings.realtime.queue_place_interval_ms > 0 {
            background.push(tokio::spawn(crate::realtime::places::run(
                state.hub.clone(),
                pool.clone(),
                Duration::from_millis(settings.realtime.queue_place_interval_ms),
                stop.clone(),
            )));
        }
        let listener = bind(&settings.http.bind, settings.http.socket_send_buffer_bytes).await?;
        let address = listener.local_addr()?;
        Ok(Application {
            listener,
            address,
            state,
            stop,
            background,
        })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Runs `task` beside the server until it stops: the task gets the server's stop token,
    /// cancelled at shutdown, and the server waits for it to return before it closes the
    /// database pool. The all-in-one binary runs its embedded workers this way.
    pub fn spawn<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.background.push(tokio::spawn(task(self.stop.clone())));
    }

    /// The shared state (tests use it to reach the pool and the hub).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then closes every socket with the shutting-down code
    /// (clients resume elsewhere with `after_seq`) and stops the background tasks.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            state,
            stop,
            background,
            ..
        } = self;
        let router = http::router(state.clone());
        let hub = state.hub.clone();
        let on_shutdown = {
            let stop = stop.clone();
            async move {
                shutdown.await;
                stop.cancel();
                hub.close_all();
            }
        };
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(
                state.settings.http.header_read_timeout_secs.max(1),
            ),
            per_address: state.settings.http.max_connections_per_address,
            exempt: state.settings.http.trusted_proxies.clone(),
        };
        connections::serve(listener, router, limits, on_shutdown).await;
        state.sessions.close();
        let _ = tokio::time::timeout(SOCKET_CLOSE_GRACE, state.sessions.wait()).await;
        for task in background {
            let _ = task.await;
        }
        state.pool.close().await;
        Ok(())
    }
}
