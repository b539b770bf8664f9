//! Where keyturn may send requests: no server-side request forgery through an
//! inventory template, a webhook or a vendor URL.
//!
//! - Every name is resolved through [`GuardedResolver`], which drops private,
//!   loopback, link-local, unique-local and cloud metadata addresses (so a
//!   public name that resolves to `169.254.169.254` or `10.0.0.5` — DNS
//!   rebinding included — is refused), and URLs naming such an address
//!   directly are refused by [`check_url`].
//! - With `KEYTURN_ALLOWED_HOSTS` set (comma-separated names or `.suffix`es),
//!   only those hosts are reached.
//! - Redirects are not followed (see `http::client`).
//!
//! The local stack's simulators listen on 127.0.0.1: loopback is allowed only
//! when `AWS_ENDPOINT_URL` itself points at loopback, which never happens in
//! a deployment.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// What this process may reach, read once from the environment.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    pub allow_loopback: bool,
    /// Exact host names, or suffixes starting with `.`; empty: any public host.
    pub allowed_hosts: Vec<String>,
}

static GLOBAL: std::sync::OnceLock<Arc<Outbound>> = std::sync::OnceLock::new();

impl Outbound {
    /// This process's policy (read from the environment once).
    pub fn global() -> Arc<Outbound> {
        GLOBAL.get_or_init(|| Arc::new(Self::from_env())).clone()
    }

    pub fn from_env() -> Self {
        let loopback = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .and_then(|u| url_host(&u))
            .is_some_and(|h| h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()));
        let allowed_hosts = std::env::var("KEYTURN_ALLOWED_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        // core's own unit tests serve vendors on 127.0.0.1 (never a deployment).
        Self { allow_loopback: loopback || cfg!(test), allowed_hosts }
    }

    /// May an address be connected to?
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        !forbidden(ip)
    }

    /// Why `url` may not be requested, if it may not.
    pub fn check_url(&self, url: &str) -> Result<(), String> {
        let host = url_host(url).ok_or_else(|| "has no host".to_owned())?;
        let https = url.starts_with("https://");
        let local_http = url.starts_with("http://") && self.allow_loopback && is_loopback_name(&host);
        if !https && !local_http {
            return Err(format!("{host}: only https:// is allowed"));
        }
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            if !self.address_allowed(ip) {
                return Err(format!("{host}: private, loopback, link-local and metadata addresses are refused"));
            }
            return Ok(());
        }
        if is_loopback_name(&host) && !self.allow_loopback {
            return Err(format!("{host}: loopback is refused"));
        }
        // Loopback got this far only on the local stack, where it needs no listing.
        let listed = self.allowed_hosts.is_empty() || self.host_listed(&host) || is_loopback_name(&host);
        if !listed {
            return Err(format!("{host}: not in KEYTURN_ALLOWED_HOSTS"));
        }
        Ok(())
    }

    fn host_listed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed_hosts.iter().any(|a| match a.strip_prefix('.') {
            Some(suffix) => host == suffix || host.ends_with(&format!(".{suffix}")),
            None => host == *a,
        })
    }
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host of `scheme://host[:port]/...`, lower-cased.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if authority.starts_with('[') {
        authority.split_once(']').map(|(h, _)| format!("{h}]"))?
    } else {
        authority.split(':').next()?.to_owned()
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Addresses no vendor lives at.
fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local() // 169.254.0.0/16: the instance metadata service among them
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local, fd00:ec2::254 (metadata) among them
        || (first & 0xffc0) == 0xfe80 // link local
}

/// A DNS resolver that never hands out an address keyturn must not reach.
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub Arc<Outbound>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs.into_iter().filter(|a| policy.address_allowed(a.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to addresses keyturn does not connect to").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> Outbound {
        Outbound { allow_loopback: false, allowed_hosts: vec![] }
    }

    #[test]
    fn metadata_private_and_loopback_are_refused_in_a_deployment() {
        let o = deployed();
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/latest",
            "https://10.0.0.5/api",
            "https://192.168.1.1/",
            "https://127.0.0.1:4568/x",
            "https://localhost/x",
            "https://[::1]/x",
            "https://[::ffff:169.254.169.254]/",
            "http://api.vendor.example/",
            "ftp://api.vendor.example/",
            "https://user@10.1.2.3/",
        ] {
            assert!(o.check_url(url).is_err(), "{url} should be refused");
        }
        assert!(o.check_url("https://api.atlassian.com/admin/v1").is_ok());
        assert!(o.check_url("https://93.184.216.34/").is_ok(), "a public address");
    }

    #[test]
    fn the_local_stack_may_use_loopback_over_http() {
        let o = Outbound { allow_loopback: true, allowed_hosts: vec![".atlassian.com".into()] };
        assert!(o.check_url("http://127.0.0.1:4568/scim").is_ok());
        assert!(o.check_url("http://localhost:4568/scim").is_ok());
        assert!(o.check_url("http://api.vendor.example/").is_err(), "plain http stays refused");
        assert!(o.check_url("https://169.254.169.254/").is_err(), "metadata stays refused");
    }

    #[test]
    fn an_allowlist_limits_hosts_by_name_or_suffix() {
        let o =
            Outbound { allow_loopback: false, allowed_hosts: vec!["hooks.slack.com".into(), ".atlassian.com".into()] };
        assert!(o.check_url("https://hooks.slack.com/services/T/B/x").is_ok());
        assert!(o.check_url("https://api.atlassian.com/x").is_ok());
        assert!(o.check_url("https://atlassian.com/x").is_ok());
        assert!(o.check_url("https://evil-atlassian.com/x").is_err());
        assert!(o.check_url("https://vendor.example/x").unwrap_err().contains("KEYTURN_ALLOWED_HOSTS"));
    }
}
