//! keyturn-vendors: the adapters on reqwest. Slack incoming webhooks and
//! Jira (approval side); vendor key APIs, app client secrets
//! ([`entra_app`], [`okta_app`]), identity providers and the SCIM probe
//! (rotation side); inventory discovery ([`discover`]: Atlassian and the
//! draft; [`discover_apps`]: Entra and Okta app client secrets, keyturn's own).
//!
//! May depend on: keyturn-domain, keyturn-app (the ports it implements).
//! Every request goes through [`outbound`]'s guard.

mod atlassian;
pub mod discover;
pub mod discover_apps;
mod entra;
pub mod entra_app;
mod generic;
mod jira;
mod okta;
pub mod okta_app;
pub mod own;
pub mod parse;
mod ports;
pub mod scim;
mod slack;
mod vendor;

pub mod outbound;

pub use atlassian::Atlassian;
pub use entra::{Entra, EntraCredentials};
pub use jira::{Jira, JiraAuth};
pub use okta::Okta;
pub use own::HttpOwnCredentials;
pub use parse::{ApiKeyInfo, DirectoryInfo};
pub use ports::{HttpConsumer, HttpVendor};
pub use slack::{slack_escape, SlackChat};

use std::time::Duration;

use keyturn_app::ports::StoreError;

/// How keyturn makes and proves the client secrets of `entra-app-secret` and
/// `okta-client-secret` connectors (`KEYTURN_APP_SECRET_LIFETIME`: Entra only,
/// Okta's secrets carry no expiry; `KEYTURN_APP_SECRET_PROPAGATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSecretPolicy {
    /// A new secret's `endDateTime` is now plus this.
    pub lifetime: time::Duration,
    /// How long a new secret may be refused as not yet replicated before
    /// verification fails (bounded by the rotate function's timeout).
    pub propagation: Duration,
}

impl Default for AppSecretPolicy {
    fn default() -> Self {
        Self { lifetime: time::Duration::days(180), propagation: Duration::from_secs(90) }
    }
}

/// Percent-encodes a form or query value: everything but RFC 3986's
/// unreserved characters.
///
/// ```
/// assert_eq!(keyturn_vendors::percent_encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
/// ```
pub fn percent_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `base` (a setting) with `parts` appended, each value one percent-encoded
/// path segment (see [`keyturn_domain::destination::join`]).
pub(crate) fn vendor_url(
    service: &'static str,
    operation: &'static str,
    base: &str,
    parts: &[keyturn_domain::destination::Part<'_>],
) -> Result<reqwest::Url, keyturn_app::rotation::VendorError> {
    keyturn_domain::destination::join(&format!("{service} base URL"), base, parts)
        .map_err(|e| keyturn_app::rotation::VendorError::Rejected { service, operation, detail: e.to_string() })
}

/// One HTTP client per process: connection pools and TLS setup are not free.
/// Timeouts are explicit; a hung vendor must not hold a Lambda until it dies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        // No address keyturn must not reach, whatever a name resolves to;
        // and no redirects, which could lead anywhere.
        .dns_resolver(std::sync::Arc::new(outbound::GuardedResolver(outbound::global())))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("keyturn/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// A failed HTTP exchange as a [`StoreError`]: 429 and 5xx (and network
/// trouble) are retryable. Never includes the request body or URL path,
/// which may carry credentials.
pub(crate) fn http_error(
    service: &'static str,
    operation: &'static str,
    status: Option<u16>,
    detail: &str,
) -> StoreError {
    let retryable = status.is_none_or(|s| s == 429 || s >= 500);
    let message = match status {
        Some(s) => format!("HTTP {s}: {}", detail.chars().take(200).collect::<String>()),
        None => detail.to_owned(),
    };
    StoreError { service, operation, message, retryable }
}

/// Describes a transport error without its URL (which may hold a webhook secret).
pub(crate) fn transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let host = e.url().and_then(|u| u.host_str()).unwrap_or("?");
    format!("{kind} ({host})")
}
