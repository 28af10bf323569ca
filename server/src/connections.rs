//! Accepting connections, with the bounds a server facing the internet needs: a client gets
//! [`ConnectionLimits::header_read_timeout`] to send its request headers (so idle half-open
//! requests cannot hold sockets), and one address may hold at most
//! [`ConnectionLimits::per_address`] connections at once (trusted proxies excepted: every
//! client behind them shares their address). The body's idle timeout is a layer of the router
//! (`tower_http`'s `RequestBodyTimeoutLayer`).
//!
//! Connections are served by hyper's automatic HTTP/1.1-or-HTTP/2 builder with upgrades (for
//! WebSockets); on shutdown, listening stops and open connections are told to finish
//! (`hyper_util`'s graceful shutdown).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
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

/// Open connections per address.
#[derive(Default)]
struct OpenByAddress {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection counted against its address; uncounted when dropped.
struct Counted {
    table: Arc<OpenByAddress>,
    ip: IpAddr,
}

impl OpenByAddress {
    fn admit(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<Counted> {
        let mut counts = self.counts.lock().expect("the table is never poisoned");
        let open = counts.entry(ip).or_insert(0);
        if limit > 0 && *open >= limit {
            return None;
        }
        *open += 1;
        Some(Counted {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut counts = self
            .table
            .counts
            .lock()
            .expect("the table is never poisoned");
        if let Some(open) = counts.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                counts.remove(&self.ip);
            }
        }
    }
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
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(OpenByAddress::default());
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
        let Some(counted) = open.admit(peer.ip(), limit) else {
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
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _counted = counted;
            if let Err(e) = connection.await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_of_connections_until_one_closes() {
        let open = Arc::new(OpenByAddress::default());
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let first = open.admit(ip, 2).unwrap();
        let _second = open.admit(ip, 2).unwrap();
        assert!(open.admit(ip, 2).is_none());
        assert!(open.admit("203.0.113.6".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(open.admit(ip, 2).is_some());
        assert!(open.admit(ip, 0).is_some(), "0 means unbounded");
    }
}
