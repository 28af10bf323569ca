//! The one guard for outbound calls to URLs that users chose: the base URL of their own
//! provider key, their webhooks, and the links of recordings they give instead of uploading
//! them. Without it, such a URL makes the server a probe of the operator's network
//! (`http://169.254.169.254/…`, `http://127.0.0.1:5432`, a LAN host).
//!
//! The rules:
//! - `https` only, except for hosts the operator lists (`SMELT_PROVIDER_ALLOWED_HOSTS`, e.g. a
//!   local Ollama or llama.cpp server; `SMELT_WEBHOOK_ALLOWED_HOSTS`;
//!   `SMELT_INGEST_ALLOWED_HOSTS`), which may also use plain `http`;
//! - every address the host resolves to must be globally reachable — loopback, private,
//!   link-local (cloud metadata), shared/CGNAT, multicast, unspecified, documentation and the
//!   IPv6 forms that embed IPv4 (v4-mapped included) are refused — unless the host is listed.
//!   The classification is `http-acl`'s (the IANA special-purpose registries), plus
//!   [`DENIED_RANGES`]: multicast, the IPv6 forms that reach IPv4 or a site's network (NAT64,
//!   6to4, Teredo, IPv4-compatible, site-local), documentation and benchmarking ranges;
//! - the port is the scheme's (443, or 80 for plain http) unless the host is listed;
//! - proxies from the environment (`HTTPS_PROXY`, `ALL_PROXY`, …) are never used: a proxy
//!   would make the connection to an address the guard did not check;
//! - the connection goes to the addresses that were checked: the guarded client resolves
//!   through [`OutboundGuard`] itself, so a second lookup (DNS rebinding) cannot slip another
//!   address in; IP-literal hosts are checked before any connection;
//! - redirects are not followed.
//!
//! A refusal never says whether something answers at the refused address: it is decided before
//! any connection is made.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_acl::HttpAcl;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why a URL was refused. The message shown to users is the same for every reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a URL, or not `http(s)`.
    #[error("not an http(s) URL")]
    NotHttp,
    /// Plain `http` to a host the operator did not list.
    #[error("plain http is allowed only for listed hosts")]
    PlainHttp,
    /// The host is, or resolves to, an address that is not globally reachable.
    #[error("{0} is not a public address")]
    NotPublic(IpAddr),
    /// The host has no address.
    #[error("the host does not resolve")]
    NoAddress,
    /// A port other than the scheme's, to a host the operator did not list.
    #[error("port {0} is allowed only for listed hosts")]
    Port(u16),
}

/// Address ranges refused besides the special-purpose registries' (RFC 6890 and its IPv6
/// counterpart, as `http-acl` applies them).
pub const DENIED_RANGES: [&str; 16] = [
    // Multicast (RFC 5771, RFC 4291): a registry of its own.
    "224.0.0.0/4",
    "ff00::/8",
    // Reserved, and benchmarking (RFC 2544).
    "240.0.0.0/4",
    "198.18.0.0/15",
    // Documentation (RFC 5737, RFC 3849, RFC 9637).
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "2001:db8::/32",
    "3fff::/20",
    // NAT64 (RFC 6052, RFC 8215): the gateway connects to the IPv4 address inside.
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    // 6to4 (RFC 3056) and Teredo (RFC 4380) embed IPv4 addresses too.
    "2002::/16",
    "2001::/32",
    // IPv4-compatible (RFC 4291, deprecated) and site-local (RFC 3879, deprecated).
    "::/96",
    "fec0::/10",
    // Unique local (RFC 4193), in case the registry's copy is missing it.
    "fc00::/7",
];

/// Checks outbound URLs and builds HTTP clients that connect only to checked addresses.
#[derive(Clone)]
pub struct OutboundGuard {
    /// Hosts the operator listed (names or addresses, `*.` wildcards allowed).
    listed: Arc<HttpAcl>,
    /// The address classification: globally reachable addresses only.
    addresses: Arc<HttpAcl>,
}

impl std::fmt::Debug for OutboundGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundGuard").finish_non_exhaustive()
    }
}

impl OutboundGuard {
    /// A guard that lets `listed_hosts` (names or IP addresses; `*.example.lan` wildcards)
    /// use plain http and private addresses. Entries that are not valid host patterns are
    /// ignored with a warning.
    pub fn new(listed_hosts: &[String]) -> Self {
        let mut listed = HttpAcl::builder().host_acl_default(false);
        for host in listed_hosts {
            let host = host.trim().trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                continue;
            }
            match listed.clone().add_allowed_host(host.to_ascii_lowercase()) {
                Ok(next) => listed = next,
                Err(e) => tracing::warn!(%host, error = %e, "ignoring an allowed host"),
            }
        }
        let addresses = DENIED_RANGES
            .iter()
            .fold(HttpAcl::builder().ip_acl_default(true), |builder, range| {
                builder
                    .add_denied_ip_range(range.parse::<http_acl::IpNet>().expect("a range"))
                    .expect("fixed ranges are valid")
            })
            .build();
        OutboundGuard {
            listed: Arc::new(listed.build()),
            addresses: Arc::new(addresses),
        }
    }

    /// True when the operator listed `host`.
    fn is_listed(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.listed
            .is_host_allowed(&host.to_ascii_lowercase())
            .is_allowed()
    }

    /// Checks one resolved address of `host`.
    fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        if self.is_listed(host) || self.addresses.is_ip_allowed(&ip).is_allowed() {
            Ok(())
        } else {
            Err(Refused::NotPublic(ip))
        }
    }

    /// Checks a URL without connecting: scheme, and the address when the host is an IP
    /// literal. A name is checked when it resolves ([`OutboundGuard::resolve`]).
    pub fn check_url(&self, url: &str) -> Result<Url, Refused> {
        let parsed = Url::parse(url.trim()).map_err(|_| Refused::NotHttp)?;
        let host = parsed.host_str().ok_or(Refused::NotHttp)?.to_owned();
        match parsed.scheme() {
            "https" => {}
            "http" if self.is_listed(&host) => {}
            "http" => return Err(Refused::PlainHttp),
            _ => return Err(Refused::NotHttp),
        }
        let port = parsed.port_or_known_default().ok_or(Refused::NotHttp)?;
        let scheme_port = if parsed.scheme() == "https" { 443 } else { 80 };
        if port != scheme_port && !self.is_listed(&host) {
            return Err(Refused::Port(port));
        }
        match parsed.host() {
            Some(Host::Ipv4(ip)) => self.check_address(&host, IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_address(&host, IpAddr::V6(ip))?,
            _ => {}
        }
        Ok(parsed)
    }

    /// Resolves `host` and checks every address it has; all of them must pass.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refused> {
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| Refused::NoAddress)?
            .collect();
        if found.is_empty() {
            return Err(Refused::NoAddress);
        }
        for address in &found {
            self.check_address(name, address.ip())?;
        }
        Ok(found)
    }

    /// Checks a URL completely — scheme, host, every address — without connecting.
    pub async fn check(&self, url: &str) -> Result<Url, Refused> {
        let parsed = self.check_url(url)?;
        if let Some(Host::Domain(name)) = parsed.host() {
            self.resolve(name, parsed.port_or_known_default().unwrap_or(443))
                .await?;
        }
        Ok(parsed)
    }

    /// An HTTP client for user-chosen URLs: names resolve through this guard (only checked
    /// addresses are connected to), no proxy is used whatever the environment says, redirects
    /// are not followed, requests time out after `timeout`. Callers check each URL with [`OutboundGuard::check_url`] first, since IP
    /// literals never reach a resolver.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(self.clone()))
            .build()
            .expect("a TLS client builds")
    }
}

impl Resolve for OutboundGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        Box::pin(async move {
            // reqwest sets the port of the URL on the addresses it gets back.
            let found = OutboundGuard::resolve(&guard, name.as_str(), 0)
                .await
                .map_err(|refused| Box::new(refused) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// True when a request failed because the guard refused the address it resolved to.
pub fn is_refusal(error: &reqwest::Error) -> bool {
    refusal(error).is_some()
}

/// Why the guard's resolver stopped a request that failed, if it did: a refused address, or
/// [`Refused::NoAddress`] for a name that does not resolve (which callers may report as a
/// host that cannot be reached rather than one that is not allowed).
pub fn refusal(error: &reqwest::Error) -> Option<&Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(guard: &OutboundGuard, url: &str) -> bool {
        guard.check_url(url).is_err()
    }

    #[test]
    fn private_loopback_link_local_and_mapped_addresses_are_refused() {
        let guard = OutboundGuard::new(&[]);
        for url in [
            "https://127.0.0.1/v1",
            "https://10.0.0.1/v1",
            "https://192.168.1.10/v1",
            "https://172.16.5.4/v1",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/v1",
            "https://0.0.0.0/v1",
            "https://224.0.0.1/v1",
            "https://[::1]/v1",
            "https://[fe80::1]/v1",
            "https://[fc00::1]/v1",
            "https://[::ffff:127.0.0.1]/v1",
            "https://[::]/v1",
        ] {
            assert!(refused(&guard, url), "{url} passed");
        }
        assert!(guard.check_url("https://8.8.8.8/v1").is_ok());
        assert!(guard.check_url("https://[2001:4860:4860::8888]/v1").is_ok());
    }

    #[test]
    fn ipv6_forms_that_reach_ipv4_or_a_site_and_documentation_ranges_are_refused() {
        let guard = OutboundGuard::new(&[]);
        for url in [
            "https://[64:ff9b::7f00:1]/v1",
            "https://[64:ff9b:1::a00:1]/v1",
            "https://[2002:7f00:1::1]/v1",
            "https://[2001:0:4136:e378::1]/v1",
            "https://[::127.0.0.1]/v1",
            "https://[::a00:1]/v1",
            "https://[fec0::1]/v1",
            "https://[2001:db8::1]/v1",
            "https://[3fff::1]/v1",
            "https://192.0.2.1/v1",
            "https://198.51.100.7/v1",
            "https://203.0.113.9/v1",
            "https://198.18.0.1/v1",
            "https://240.0.0.1/v1",
        ] {
            assert!(
                matches!(guard.check_url(url), Err(Refused::NotPublic(_))),
                "{url} passed"
            );
        }
    }

    #[test]
    fn only_the_schemes_port_is_allowed_unless_the_host_is_listed() {
        let guard = OutboundGuard::new(&["ollama.lan".into()]);
        assert!(guard.check_url("https://api.example.com/v1").is_ok());
        assert!(guard.check_url("https://api.example.com:443/v1").is_ok());
        for url in [
            "https://api.example.com:8443/v1",
            "https://api.example.com:22/v1",
            "https://8.8.8.8:5432/v1",
        ] {
            assert!(
                matches!(guard.check_url(url), Err(Refused::Port(_))),
                "{url} passed"
            );
        }
        assert!(guard.check_url("http://ollama.lan:11434/v1").is_ok());
        assert!(guard.check_url("https://ollama.lan:8443/v1").is_ok());
    }

    #[test]
    fn plain_http_and_private_addresses_need_the_host_to_be_listed() {
        let guard = OutboundGuard::new(&["127.0.0.1".into(), "*.lan".into()]);
        assert_eq!(
            guard.check_url("http://api.example.com/v1").unwrap_err(),
            Refused::PlainHttp
        );
        assert!(guard.check_url("http://127.0.0.1:11434/v1").is_ok());
        assert!(guard.check_url("http://ollama.lan:11434/v1").is_ok());
        assert!(refused(&guard, "http://10.0.0.1/v1"));
        assert!(refused(&guard, "ftp://api.example.com/"));
        assert!(refused(&guard, "not a url"));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_unless_listed() {
        assert!(matches!(
            OutboundGuard::new(&[]).check("https://localhost/v1").await,
            Err(Refused::NotPublic(_))
        ));
        assert!(OutboundGuard::new(&["localhost".into()])
            .check("http://localhost:1/v1")
            .await
            .is_ok());
    }
}
