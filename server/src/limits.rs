//! Who is asking (client address) and how often (keyed rate limits with governor).
//!
//! The client address is the socket's peer address. `X-Forwarded-For` is believed only when
//! the peer is a configured trusted proxy — otherwise anyone could forge it — and then the
//! rightmost address that is not itself a trusted proxy is the client, read right to left
//! across every `X-Forwarded-For` line (a proxy may add its own line rather than extend one).
//!
//! An IPv6 client is counted by its /64: one host can use any of the 2^64 addresses of the
//! subnet it is given (RFC 4941 temporary addresses do it by design), so anonymous credits and
//! rate limits keyed by the full address would be free for the asking.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use smelt_core::settings::RateLimitSettings;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::state::AppState;

/// The client, as far as it can be trusted, as the key its credits and limits are counted
/// under: an IPv4 address, or the /64 network of an IPv6 one ([`client_network`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client address of a request from `peer` with these `X-Forwarded-For` header lines (in
/// the order received): `peer` unless it is a trusted proxy, otherwise the rightmost listed
/// address that is not one.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded_for
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

/// What one client is counted as: an IPv4 address as it is (an IPv4-mapped IPv6 address as
/// its IPv4 address), an IPv6 address as its /64 network (the host bits zeroed).
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("no peer address: serve with connect info"))
            })?;
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(client_network(client_ip(
            peer,
            &forwarded,
            &state.settings.http.trusted_proxies,
        ))))
    }
}

/// Things in flight per client (open connections, uploads being received), each bounded.
#[derive(Default)]
pub struct InFlightByAddress {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One thing in flight counted against its client; uncounted when dropped.
pub struct InFlight {
    table: Arc<InFlightByAddress>,
    ip: IpAddr,
}

impl InFlightByAddress {
    /// An empty table.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Counts one more for `ip`, or `None` when it already has `limit` (0: unbounded).
    pub fn admit(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<InFlight> {
        let mut counts = self.counts.lock().expect("the table is never poisoned");
        let open = counts.entry(ip).or_insert(0);
        if limit > 0 && *open >= limit {
            return None;
        }
        *open += 1;
        Some(InFlight {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for InFlight {
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

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateSmelt,
    Login,
    Connect,
}

/// The keyed limiters (GCRA, governor's in-memory DashMap store).
pub struct RateLimits {
    create_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    create_by_user: DefaultKeyedRateLimiter<Uuid>,
    login_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    connect_by_ip: DefaultKeyedRateLimiter<IpAddr>,
    requests_by_key: DefaultKeyedRateLimiter<Uuid>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

impl RateLimits {
    /// Limiters with the configured per-minute quotas (bursts of the same size).
    pub fn new(settings: &RateLimitSettings) -> Arc<Self> {
        Arc::new(RateLimits {
            create_by_ip: governor::RateLimiter::keyed(per_minute(settings.rate_create_per_min)),
            create_by_user: governor::RateLimiter::keyed(per_minute(settings.rate_create_per_min)),
            login_by_ip: governor::RateLimiter::keyed(per_minute(settings.rate_login_per_min)),
            connect_by_ip: governor::RateLimiter::keyed(per_minute(settings.rate_ws_per_min)),
            requests_by_key: governor::RateLimiter::keyed(per_minute(settings.rate_key_per_min)),
        })
    }

    /// Forgets the keys whose limit has fully recovered (they are indistinguishable from keys
    /// never seen), returns the memory to the allocator, and records how many keys each
    /// limiter still holds in `smelt_rate_limiter_keys`. Without this, a client spraying
    /// source addresses (an IPv6 /64 holds 2^64) grows the state without bound.
    pub fn prune(&self) {
        for (limit, keys) in [
            ("create_by_address", self.prune_one(&self.create_by_ip)),
            ("create_by_user", self.prune_one(&self.create_by_user)),
            ("login", self.prune_one(&self.login_by_ip)),
            ("socket", self.prune_one(&self.connect_by_ip)),
            ("service_key", self.prune_one(&self.requests_by_key)),
        ] {
            metrics::gauge!(smelt_core::metrics::RATE_LIMITER_KEYS, "limit" => limit)
                .set(keys as f64);
        }
    }

    fn prune_one<K: Clone + std::hash::Hash + Eq>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
    ) -> usize {
        limiter.retain_recent();
        limiter.shrink_to_fit();
        limiter.len()
    }

    /// Keys held over all limiters.
    pub fn len(&self) -> usize {
        self.create_by_ip.len()
            + self.create_by_user.len()
            + self.login_by_ip.len()
            + self.connect_by_ip.len()
            + self.requests_by_key.len()
    }

    /// True when no limiter holds a key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prunes every `every` until `stop` (see [`RateLimits::prune`]).
    pub async fn prune_until(
        self: Arc<Self>,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => self.prune(),
            }
        }
    }

    /// Counts one request authenticated with the service key `key_id` (every route, socket
    /// and SSE stream); 429 `rate_limited` when the key is over `SMELT_RATE_KEY_PER_MIN`.
    pub fn check_key(&self, key_id: Uuid) -> Result<(), ApiError> {
        self.requests_by_key
            .check_key(&key_id)
            .map_err(|not_until| {
                metrics::counter!(smelt_core::metrics::RATE_LIMITED, "limit" => "service_key")
                    .increment(1);
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::RateLimited {
                    retry_after_secs: wait.as_secs() + 1,
                }
            })
    }

    /// Counts one `action` by this client (and user); 429 `rate_limited` with the seconds to
    /// wait when over the limit.
    pub fn check(&self, action: Action, ip: IpAddr, user: Option<Uuid>) -> Result<(), ApiError> {
        let verdict = match action {
            Action::CreateSmelt => self
                .create_by_ip
                .check_key(&ip)
                .and_then(|_| user.map_or(Ok(()), |u| self.create_by_user.check_key(&u))),
            Action::Login => self.login_by_ip.check_key(&ip),
            Action::Connect => self.connect_by_ip.check_key(&ip),
        };
        verdict.map_err(|not_until| {
            let limit = match action {
                Action::CreateSmelt => "create",
                Action::Login => "login",
                Action::Connect => "socket",
            };
            metrics::counter!(smelt_core::metrics::RATE_LIMITED, "limit" => limit).increment(1);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs() + 1,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let forged = &["198.51.100.1, 203.0.113.9"][..];
        assert_eq!(
            client_ip(client, forged, &[proxy]),
            client,
            "an untrusted peer is the client"
        );
        assert_eq!(
            client_ip(proxy, forged, &[proxy]),
            client,
            "rightmost untrusted hop"
        );
        assert_eq!(client_ip(proxy, &[], &[proxy]), proxy);
    }

    #[test]
    fn forwarded_for_is_read_right_to_left_across_every_line() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let lines = ["198.51.100.1", "203.0.113.9, 10.0.0.2"];
        assert_eq!(
            client_ip(proxy, &lines, &[proxy, inner]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let added_line = ["198.51.100.1, 203.0.113.9", "10.0.0.2"];
        assert_eq!(
            client_ip(proxy, &added_line, &[proxy, inner]),
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "a trusted proxy's own line is skipped, not taken as the client"
        );
    }

    #[test]
    fn an_address_holds_at_most_its_share_until_one_ends() {
        let open = InFlightByAddress::new();
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let first = open.admit(ip, 2).unwrap();
        let _second = open.admit(ip, 2).unwrap();
        assert!(open.admit(ip, 2).is_none());
        assert!(open.admit("203.0.113.6".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(open.admit(ip, 2).is_some());
        assert!(open.admit(ip, 0).is_some(), "0 means unbounded");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_ipv4_as_themselves() {
        let net = |s: &str| client_network(s.parse().unwrap());
        assert_eq!(net("2001:db8::1"), net("2001:db8::2"));
        assert_eq!(net("2001:db8::1"), net("2001:db8:0:0:ffff:1234:5678:9abc"));
        assert_ne!(net("2001:db8::1"), net("2001:db8:0:1::1"));
        assert_eq!(net("203.0.113.9").to_string(), "203.0.113.9");
        assert_eq!(net("::ffff:203.0.113.9").to_string(), "203.0.113.9");
    }
}
