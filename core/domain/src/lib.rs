//! keyturn-domain: the plain data and pure rules of keyturn. No async, no
//! I/O, no AWS, no HTTP client: everything here is unit-tested in isolation.
//!
//! - connectors, changes, ids, the due policy and change windows;
//! - [`procedures`]: the fixed table connector kind → rotation procedure;
//! - [`inventory`]: reading and validating inventory files and stored items;
//! - [`approval`]: signed links, votes and tallies, routing, what approvers see;
//! - [`rotation`]: what a rotation step takes and gives back, [`VendorError`];
//! - audit events and their hash chain, [`digest`]: the signed daily anchors;
//! - [`signing_keys`]: keyturn's own link- and audit-signing keys, their rotation schedule;
//! - [`destination`]: the outbound guard (which URLs keyturn may call);
//! - [`ErrorName`]: the error names the state machine matches.
//!
//! May depend on: nothing of keyturn's. Everything else depends on it.

pub mod approval;
mod audit;
mod change;
mod connector;
pub mod destination;
pub mod digest;
mod error_name;
mod ids;
pub mod inventory;
mod policy;
pub mod procedures;
pub mod rotation;
mod secret;
pub mod signing_keys;
mod template;
mod text;
pub mod timefmt;
mod vendor_error;
mod window;

pub use audit::{check_link, AuditEvent, ChainHead, ChainProblem, EventKind, NewAuditEvent, GENESIS_HASH};
pub use change::{Change, ChangeItem, ChangeStatus, ConnectorOutcome};
pub use connector::{ChangeLease, ClientApp, Connector, ConnectorKind, ConnectorStatus, IdpBinding, SecretArn};
pub use error_name::ErrorName;
pub use ids::{ChangeId, ConnectorId, MAX_ID_LEN};
pub use policy::{change_id, group_into_changes, DueConnector, DuePolicy, Grouping, Urgency};
pub use secret::{fingerprint, SecretValue};
pub use template::{fill, fill_json, fill_url, Call, HttpTemplate, PLACEHOLDERS};
pub use text::{excerpt, forbidden_char, is_format_char, slack_escape};
pub use vendor_error::VendorError;
pub use window::ChangeWindow;

/// Builders for tests in this crate.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use time::macros::datetime;

    pub fn connector(id: &str) -> Connector {
        Connector {
            id: ConnectorId::parse(id).unwrap(),
            kind: ConnectorKind::AtlassianScim,
            org: "acme".into(),
            directory_id: Some("dir-1".into()),
            app_id: None,
            idp: IdpBinding::None,
            owner: "owner@example.com".into(),
            approver_group: "it-change".into(),
            change_window: None,
            secret_arn: SecretArn::parse("arn:aws:secretsmanager:eu-west-1:123456789012:secret:scim/acme").unwrap(),
            expires_at: datetime!(2026-12-01 00:00 UTC),
            status: ConnectorStatus::Active,
            version: 1,
            last_rotated_at: None,
            scim_base: None,
            vendor: None,
            console_url: None,
            old_key_survives: None,
            http_template: None,
            client_app: None,
            overlap_seconds: None,
            active_change: None,
        }
    }
}
