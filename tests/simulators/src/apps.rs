//! Application client secrets: Entra app registrations' password credentials
//! (Microsoft Graph `application` + the identity platform's token endpoint,
//! [`entra`]) and Okta OAuth apps' client secrets (Okta Management API
//! `ApplicationSSOPublicKeys` + the OAuth token endpoints, [`okta`]). Each
//! route cites the document it follows; docs/vendors.md holds the tables.
//!
//! The secrets these routes create are random (never derived from an id) and
//! are answered once, by the call that creates them; everything else answers
//! fingerprints or the vendors' own non-secret fields (`hint`, `secret_hash`).
//!
//! Control (never faulted; `/_sim/faults` applies to the vendor routes as to
//! every other route):
//! - `PUT /_sim/entra/apps/{objectId}` seeds an app registration (its body is
//!   documented on `seed` in entra.rs); `GET` the same path answers its
//!   passwords' fingerprints; `PUT …/propagation` `{"requests": n}`.
//! - `PUT /_sim/okta/oauth-apps/{appId}` seeds an Okta OAuth app (`seed` in
//!   okta.rs); `GET` answers its secrets' fingerprints; `PUT …/propagation`.
//! - `PUT /_sim/okta/authorization-servers/{authServerId}` `{"scopes": [..]}`
//!   declares a custom authorization server and its custom scopes.
//! - `PUT /_sim/okta/api-tokens/{apiTokenId}` seeds an Okta API token (an
//!   admin's SSWS token, as keyturn's own; `seed_api_token` in okta.rs), whose
//!   metadata `GET /okta/api/v1/api-tokens/{apiTokenId}` answers.

pub mod entra;
pub mod okta;

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::Router;
use base64::Engine as _;
use time::OffsetDateTime;

use crate::Shared;

/// Everything these simulators hold; part of the simulator's state, so
/// `POST /_sim/reset` clears it with the rest.
#[derive(Debug, Default)]
pub struct Apps {
    /// Entra application object id → app registration.
    entra: HashMap<String, entra::App>,
    /// Okta app id → OAuth app.
    okta: HashMap<String, okta::App>,
    /// Okta custom authorization server id → its custom scopes.
    okta_servers: HashMap<String, Vec<String>>,
    /// Okta API token id → the token (keyturn's own Management API access).
    okta_api_tokens: HashMap<String, okta::ApiToken>,
}

/// The vendor and control routes of both simulators.
pub(crate) fn routes() -> Router<Shared> {
    entra::routes().merge(okta::routes())
}

pub(crate) use entra::token as entra_token;

/// An `application/x-www-form-urlencoded` body or query, decoded; `None` when
/// a parameter repeats (RFC 6749 §3.1/§3.2: "MUST NOT be included more than once").
fn form(raw: &str) -> Option<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    Some(out)
}

/// The query's parameters (decoded: an SDK sends `%24select`), or `None` when
/// one repeats or is not in `allowed`.
fn query(uri: &axum::http::Uri, allowed: &[&str]) -> Option<HashMap<String, String>> {
    let q = form(uri.query().unwrap_or(""))?;
    q.keys().all(|k| allowed.contains(&k.as_str())).then_some(q)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    })
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: id and secret are each
/// form-urlencoded, then joined by `:` and base64-encoded).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()?;
    let (id, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    let decode = |s: &str| url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((decode(id)?, decode(secret)?))
}

fn random_from(charset: &[u8], len: usize) -> String {
    let mut b = vec![0u8; len];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| char::from(charset[usize::from(*x) % charset.len()])).collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random version-4 UUID (Graph's `keyId` is a Guid).
fn uuid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// The scheme and host the caller used, for links the vendors answer absolute.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_guids_and_differ() {
        let (a, b) = (uuid(), uuid());
        assert!(is_guid(&a) && is_guid(&b) && a != b);
        assert!(!is_guid("f0b0b335-1d71-4883-8f98") && !is_guid("zzzzzzzz-1d71-4883-8f98-567911bfdca6"));
    }

    #[test]
    fn a_repeated_form_parameter_is_refused() {
        assert!(form("a=1&b=2").is_some());
        assert!(form("a=1&a=2").is_none());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode("my%3Aid:s%2Bc+t");
        h.insert("authorization", format!("Basic {v}").parse().unwrap());
        assert_eq!(basic(&h), Some(("my:id".into(), "s+c t".into())));
    }
}
