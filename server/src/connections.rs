//! Accepting connections, with the bounds a server facing the internet needs: a client gets
//! [`ConnectionLimits::header_read_timeout`] to send its first bytes (hyper's HTTP/1-or-2
//! detection has no deadline of its own) and then its request headers (so idle half-open
//! requests cannot hold sockets), an HTTP/2 connection is pinged while idle and dropped when
//! the pings go unanswered, and one address may hold at most
//! [`ConnectionLimits::per_address`] connections at once (trusted proxies excepted: every
//! client behind them shares their address). The body's idle timeout is a layer of the router
//! (`tower_http`'s `RequestBodyTimeoutLayer`).
//!
//! Connections are served by hyper's automatic HTTP/1.1-or-HTTP/2 builder with upgrades (for
//! WebSockets); on shutdown, listening stops and open connections are told to finish
//! (`hyper_util`'s graceful shutdown).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::limits::InFlightByAddress;

/// How long shutdown waits for open connections to finish before dropping them.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// The bounds on connections.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Longest a client may take to send its request headers (and to start the next request
    /// on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// Most connections open at once from one address (0: unbounded).
    pub per_address: usize,
    /// Peers exempt from the per-address bound (trusted proxies).
    pub exempt: Vec<IpAddr>,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting and lets
/// open connections finish for a while. Each request carries its peer address as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let open = InFlightByAddress::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little
                    // rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let limit = if limits.exempt.contains(&peer.ip()) {
            0
        } else {
            limits.per_address
        };
        let Some(counted) = open.admit(crate::limits::client_network(peer.ip()), limit) else {
            metrics::counter!(smelt_core::metrics::CONNECTIONS_REFUSED).increment(1);
            drop(stream);
            continue;
        };
        let router = router.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request)
            },
        ));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_bytes = limits.header_read_timeout;
        tokio::spawn(async move {
            let _counted = counted;
            // A client that connects and sends nothing would otherwise wait in protocol
            // detection for ever.
            if !matches!(
                tokio::time::timeout(first_bytes, stream.readable()).await,
                Ok(Ok(()))
            ) {
                tracing::debug!(%peer, "connection sent nothing in time");
                return;
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace; dropping them");
    }
}
