//! keyturn's own credentials, as `keyturn status` shows them: its Entra
//! client secret and Okta API token (with the expiry their vendors report),
//! its Jira token and Slack webhooks (whose vendors report none), and the
//! link-signing and audit-signing keys it makes itself.
//!
//! Each credential is read on its own: one vendor down or one secret
//! unreadable makes that row say why, never the whole list fail. No value is
//! ever read into a row: ids, dates and the secret's name only.

use serde::Serialize;
use time::OffsetDateTime;

use crate::adapters::Adapters;
use crate::config::Config;
use crate::ports::{IssuedCredential, KeyAge, KeyAges, OwnCredentials, RoutingSource, StoreError};
use keyturn_domain::rotation::VendorError;
use keyturn_domain::timefmt::parse_instant;

/// Said where a vendor has no way to tell keyturn when a credential expires.
pub const NOT_REPORTED: &str = "not reported by the vendor";

/// Where keyturn keeps each of its credentials (names of secrets, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSettings {
    pub entra_secret: Option<String>,
    pub okta_secret: Option<String>,
    pub jira_secret: Option<String>,
    pub routing_secret: String,
    pub signing_key_secret: String,
    pub audit_key_secret: String,
}

impl From<&Config> for OwnSettings {
    fn from(cfg: &Config) -> Self {
        Self {
            entra_secret: cfg.vendors.entra_secret.clone(),
            okta_secret: cfg.vendors.okta_secret.clone(),
            jira_secret: cfg.approval.jira.as_ref().map(|j| j.credentials_secret.clone()),
            routing_secret: cfg.approval.routing_secret.clone(),
            signing_key_secret: cfg.approval.signing_key_secret.clone(),
            audit_key_secret: cfg.audit_key_secret.clone(),
        }
    }
}

/// How much is known about a credential's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Known {
    /// The issuer reported it (`expires_at` may still be absent: none given).
    Reported,
    /// The issuer has no way to say.
    NotReported,
    /// Reading it failed; `note` says why.
    Unreadable,
}

/// One row of `keyturn status`'s own-credentials table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnCredential {
    /// `entra-client-secret`, `okta-api-token`, `jira-token`, `slack-webhook`,
    /// `link-signing-key`, `audit-signing-key`.
    pub credential: &'static str,
    /// The secret keyturn keeps it in.
    pub kept_in: String,
    /// The issuer's id of it (Graph `keyId`, Okta token id, the signing
    /// key's version id, a webhook's approver group); never a value.
    pub id: Option<String>,
    pub expires_at: Option<String>,
    /// Whole days from now to `expires_at` (negative: expired).
    pub days_left: Option<i64>,
    /// When the current signing key was made.
    pub created: Option<String>,
    pub known: Known,
    pub note: String,
}

impl OwnCredential {
    fn new(credential: &'static str, kept_in: &str, known: Known, note: impl Into<String>) -> Self {
        Self {
            credential,
            kept_in: kept_in.to_owned(),
            id: None,
            expires_at: None,
            days_left: None,
            created: None,
            known,
            note: note.into(),
        }
    }
}

fn issued(
    credential: &'static str,
    kept_in: &str,
    issuer: &str,
    read: Result<IssuedCredential, VendorError>,
    now: OffsetDateTime,
) -> OwnCredential {
    match read {
        Ok(i) => {
            let note = match (&i.expires_at, i.note) {
                (_, Some(note)) => note,
                (Some(_), None) => format!("reported by {issuer}"),
                (None, None) => format!("{issuer} reports no expiry"),
            };
            let mut row = OwnCredential::new(credential, kept_in, Known::Reported, note);
            row.days_left = i.expires_at.as_deref().and_then(parse_instant).map(|t| (t - now).whole_days());
            row.id = Some(i.id);
            row.expires_at = i.expires_at;
            row
        }
        Err(e) => OwnCredential::new(credential, kept_in, Known::Unreadable, format!("could not read: {e}")),
    }
}

fn signing_key(
    credential: &'static str,
    kept_in: &str,
    how: &str,
    read: Result<Option<KeyAge>, StoreError>,
    now: OffsetDateTime,
) -> OwnCredential {
    match read {
        // The signing keys are keyturn's own: no vendor, no expiry, only
        // when the current one was made and when the daily run rotates it.
        Ok(Some(age)) => {
            let due = age.rotate_by.is_some();
            let mut row = OwnCredential::new(
                credential,
                kept_in,
                if due { Known::Reported } else { Known::NotReported },
                if due { format!("rotate by then ({how})") } else { format!("no expiry ({how})") },
            );
            row.days_left = age.rotate_by.as_deref().and_then(parse_instant).map(|t| (t - now).whole_days());
            row.id = Some(age.id);
            row.created = age.created;
            row.expires_at = age.rotate_by;
            row
        }
        Ok(None) => OwnCredential::new(credential, kept_in, Known::NotReported, "not made yet (made on first use)"),
        Err(e) => OwnCredential::new(credential, kept_in, Known::Unreadable, format!("could not read: {e}")),
    }
}

/// Every credential keyturn is configured with, in a fixed order.
pub async fn credentials(a: &impl Adapters, s: &OwnSettings, now: OffsetDateTime) -> Vec<OwnCredential> {
    let mut rows = Vec::new();
    let kept = |name: &Option<String>| name.clone().unwrap_or_default();
    if let Some(read) = a.own().entra_secret().await {
        rows.push(issued("entra-client-secret", &kept(&s.entra_secret), "Graph", read, now));
    }
    if let Some(read) = a.own().okta_token().await {
        rows.push(issued("okta-api-token", &kept(&s.okta_secret), "Okta", read, now));
    }
    if a.tickets().is_some() {
        rows.push(OwnCredential::new("jira-token", &kept(&s.jira_secret), Known::NotReported, NOT_REPORTED));
    }
    match a.routing().routing().await {
        Ok(routing) => {
            let webhook = |id: String| {
                let mut row = OwnCredential::new("slack-webhook", &s.routing_secret, Known::NotReported, NOT_REPORTED);
                row.id = Some(id);
                row
            };
            for (group, g) in &routing.groups {
                if g.slack_webhook.is_some() {
                    rows.push(webhook(group.clone()));
                }
                if g.escalation.slack_webhook.is_some() {
                    rows.push(webhook(format!("{group} (escalation)")));
                }
            }
        }
        Err(e) => rows.push(OwnCredential::new(
            "slack-webhook",
            &s.routing_secret,
            Known::Unreadable,
            format!("could not read the approver routing: {e}"),
        )),
    }
    let link = a.key_ages().link_signing().await;
    let how = "by the daily run; by hand: keyturn links rotate-key";
    rows.push(signing_key("link-signing-key", &s.signing_key_secret, how, link, now));
    let audit = a.key_ages().audit_signing().await;
    let how = "by the daily run; by hand: keyturn audit rotate-key";
    rows.push(signing_key("audit-signing-key", &s.audit_key_secret, how, audit, now));
    rows
}
