//! Where the load goes and where it comes from: only loopback targets are accepted, and client
//! sockets are bound to source addresses spread over `127.0.0.0/8`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use anyhow::{bail, ensure, Context};
use sqlx::postgres::PgConnectOptions;
use tokio::net::{TcpSocket, TcpStream};

/// Resolves `host:port` and refuses it unless every address it names is loopback. Prefers an
/// IPv4 address (source spreading over `127.0.0.0/8` needs one).
pub async fn loopback_server(spec: &str) -> anyhow::Result<SocketAddr> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(spec)
        .await
        .with_context(|| format!("cannot resolve server address {spec:?}"))?
        .collect();
    ensure!(
        !resolved.is_empty(),
        "server address {spec:?} names nothing"
    );
    if let Some(bad) = resolved.iter().find(|a| !a.ip().is_loopback()) {
        bail!("refusing server address {spec:?}: {bad} is not loopback");
    }
    Ok(resolved
        .iter()
        .find(|a| a.is_ipv4())
        .copied()
        .unwrap_or(resolved[0]))
}

/// Refuses a database URL whose host is not loopback (an IP in `127.0.0.0/8` or `::1`,
/// `localhost`) or a local Unix socket directory.
pub fn check_loopback_database(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url).context("invalid database URL")?;
    let host = options.get_host();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let local = host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    ensure!(local, "refusing database host {host:?}: not loopback");
    Ok(())
}

/// Source addresses for client sockets: `per_address` consecutive clients share one address,
/// starting at `127.1.0.1` and counting up through `127.0.0.0/8`. Against an IPv6 server
/// every client uses `::1`.
#[derive(Debug, Clone, Copy)]
pub struct SourceAddresses {
    per_address: usize,
    ipv6: bool,
}

/// First source address (`127.1.0.1`) as a `u32`, clear of the usual `127.0.0.1`.
const FIRST_SOURCE: u32 = u32::from_be_bytes([127, 1, 0, 1]);
/// Last usable address of `127.0.0.0/8` as a `u32`.
const LAST_SOURCE: u32 = u32::from_be_bytes([127, 255, 255, 254]);

impl SourceAddresses {
    /// Spreads clients `per_address` to an address, for a server at `server`.
    pub fn new(per_address: usize, server: SocketAddr) -> Self {
        SourceAddresses {
            per_address: per_address.max(1),
            ipv6: server.is_ipv6(),
        }
    }

    /// The source address of client number `index` (0-based).
    pub fn of(&self, index: usize) -> IpAddr {
        if self.ipv6 {
            return IpAddr::from(std::net::Ipv6Addr::LOCALHOST);
        }
        let offset = (index / self.per_address) as u32 % (LAST_SOURCE - FIRST_SOURCE + 1);
        IpAddr::V4(Ipv4Addr::from(FIRST_SOURCE + offset))
    }

    /// How many distinct addresses `clients` clients use.
    pub fn used_by(&self, clients: usize) -> usize {
        if self.ipv6 {
            1
        } else {
            clients.div_ceil(self.per_address)
        }
    }
}

/// Opens a TCP connection to `server` from `source` (any free port), with Nagle off.
pub async fn connect_from(source: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = if source.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_databases_pass() {
        assert!(check_loopback_database("postgres://postgres@127.0.0.1:5432/x").is_ok());
        assert!(check_loopback_database("postgres://postgres@127.9.9.9/x").is_ok());
        assert!(check_loopback_database("postgres://postgres@localhost/x").is_ok());
        assert!(check_loopback_database("postgres://postgres@[::1]:5432/x").is_ok());
        assert!(check_loopback_database("postgres://postgres@10.0.0.5/x").is_err());
        assert!(check_loopback_database("postgres://postgres@db.example.com/x").is_err());
    }

    #[tokio::test]
    async fn only_loopback_servers_pass() {
        assert!(loopback_server("127.0.0.1:8080").await.is_ok());
        assert!(loopback_server("[::1]:8080").await.is_ok());
        assert!(loopback_server("192.0.2.1:8080").await.is_err());
    }

    #[test]
    fn sources_spread_over_127_8() {
        let s = SourceAddresses::new(2, "127.0.0.1:80".parse().unwrap());
        assert_eq!(s.of(0), "127.1.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s.of(1), "127.1.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s.of(2), "127.1.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(s.of(2 * 255), "127.1.1.0".parse::<IpAddr>().unwrap());
        assert_eq!(s.used_by(5), 3);
    }
}
