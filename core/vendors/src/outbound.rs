//! Where keyturn may send requests: no server-side request forgery through an
//! inventory template, a webhook or a vendor URL.
//!
//! - Every URL is checked, parsed, by [`Outbound::check_url`] (the rules are
//!   in [`keyturn_domain::destination`]) right before it is sent.
//! - Every name is resolved through [`GuardedResolver`], which drops private,
//!   loopback, link-local, unique-local and cloud metadata addresses (so a
//!   public name that resolves to `169.254.169.254` or `10.0.0.5` — DNS
//!   rebinding included — is refused), unless the name is listed exactly in
//!   `KEYTURN_ALLOWED_HOSTS` (then private answers pass, metadata never).
//! - Redirects are not followed (see `http::client`).
//!
//! The local stack's simulators listen on 127.0.0.1: loopback is allowed only
//! when `AWS_ENDPOINT_URL` itself points at loopback, which never happens in
//! a deployment.

use std::net::SocketAddr;
use std::sync::Arc;

pub use keyturn_domain::destination::{Outbound, Purpose, Refused};

static GLOBAL: std::sync::OnceLock<Arc<Outbound>> = std::sync::OnceLock::new();

/// This process's policy (read from the environment once; a bad
/// `KEYTURN_ALLOWED_HOSTS` entry is reported by the configuration check and
/// here matches nothing, so it never widens the list).
pub fn global() -> Arc<Outbound> {
    GLOBAL.get_or_init(|| Arc::new(process_policy())).clone()
}

#[cfg(not(test))]
fn process_policy() -> Outbound {
    Outbound::from_lookup(|k| std::env::var(k).ok()).0
}

/// core's own unit tests serve vendors on 127.0.0.1 with no `AWS_ENDPOINT_URL`
/// set: their process policy is the environment's plus loopback. Only the
/// test build has this; every other rule of the guard still applies.
#[cfg(test)]
fn process_policy() -> Outbound {
    Outbound { allow_loopback: true, ..Outbound::from_lookup(|k| std::env::var(k).ok()).0 }
}

/// The URL a request is about to go to, checked with this process's policy;
/// the error names `field` and the host only.
pub fn check_request(field: &str, url: &reqwest::Url) -> Result<(), Refused> {
    global().check_url(field, url, Purpose::Request)
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
            let allowed: Vec<SocketAddr> =
                addrs.into_iter().filter(|a| policy.address_allowed(a.ip(), &host)).collect();
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
    use reqwest::dns::Resolve;
    use std::str::FromStr;

    /// `localhost` resolves on every machine without a network: a name whose
    /// answers are all loopback is dropped in a deployment.
    #[tokio::test]
    async fn the_resolver_drops_answers_keyturn_must_not_reach() {
        let deployed = GuardedResolver(Arc::new(Outbound::default()));
        let name = reqwest::dns::Name::from_str("localhost").unwrap();
        assert!(deployed.resolve(name).await.is_err());
        let local = GuardedResolver(Arc::new(Outbound { allow_loopback: true, ..Outbound::default() }));
        let name = reqwest::dns::Name::from_str("localhost").unwrap();
        assert!(local.resolve(name).await.is_ok());
    }
}
