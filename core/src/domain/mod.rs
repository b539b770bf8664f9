//! Plain data and pure logic: no I/O, no AWS. Everything here is unit-tested.

pub mod approval;
mod audit;
mod change;
mod connector;
pub mod destination;
mod ids;
mod policy;
mod secret;
mod template;
mod text;
pub mod timefmt;
mod window;

pub use audit::{check_link, AuditEvent, ChainHead, ChainProblem, EventKind, NewAuditEvent, GENESIS_HASH};
pub use change::{Change, ChangeItem, ChangeStatus};
pub use connector::{ChangeLease, Connector, ConnectorKind, ConnectorStatus, IdpBinding, SecretArn};
pub use ids::{ChangeId, ConnectorId, MAX_ID_LEN};
pub use policy::{change_id, group_into_changes, DueConnector, DuePolicy, Grouping, Urgency};
pub use secret::{fingerprint, SecretValue};
pub use template::{fill, fill_json, fill_url, Call, HttpTemplate, PLACEHOLDERS};
pub use text::{excerpt, forbidden_char, is_format_char};
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
            http_template: None,
            active_change: None,
        }
    }
}
