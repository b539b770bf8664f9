//! The fixed mapping table: connector kind → rotation procedure.
//!
//! Deterministic execution means no logic decides at run time *how* a key is
//! rotated: the kind picks one row of this table, and that is the plan shown
//! to the approver and followed by the workflow. Adding a vendor adds a row.

use crate::{Connector, ConnectorKind};

/// Where the new key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// keyturn creates (and later revokes) keys through the vendor's API; the
    /// old key stays valid until finalize, so rollback restores everything.
    VendorApi,
    /// The vendor documents no API that makes the key: its owner creates or
    /// regenerates it in the vendor console and pastes it into keyturn's
    /// intake form (Atlassian SCIM keys and organization API keys; see
    /// docs/vendors.md).
    HumanIntake,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VendorApi => "vendor_api",
            Self::HumanIntake => "human_intake",
        }
    }
}

/// How keyturn proves a key works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// RFC 7644 `GET {scim_base}/Users?startIndex=1&count=1` returns a
    /// ListResponse (any valid one: `totalResults: 0`, extra attributes, no
    /// `itemsPerPage`). For `atlassian-scim`, `scim_base` is
    /// `{atlassian}/scim/directory/{directory_id}`.
    ScimListUsers,
    /// An authenticated read against the vendor's admin API.
    AdminApiRead,
    /// The probe request declared in the connector's HTTP template.
    TemplateProbe,
    /// An OAuth client-credentials token request signed with the secret
    /// (Entra's identity platform, Okta's custom authorization server).
    ClientCredentialsToken,
}

/// Which identity providers may consume the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumers {
    pub entra: bool,
    pub okta: bool,
    pub none: bool,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Procedure {
    pub kind: ConnectorKind,
    pub key_source: KeySource,
    pub probe: Probe,
    pub consumers: Consumers,
    /// Does the old key stay valid once the new one exists? (Regenerating an
    /// Atlassian SCIM key kills the old one at once.)
    pub old_key_survives: bool,
    /// Does finalize revoke the old key through the vendor's API (by its
    /// recorded key id)? Where it cannot, the owner is told to.
    pub revokes_old_key: bool,
    /// Inventory fields this kind needs beyond the common ones.
    pub requires: &'static [&'static str],
    /// One line for the approval message: what a human will have to do.
    pub summary: &'static str,
    /// One line for the approval message: what happens if verification fails.
    pub rollback: &'static str,
}

/// Okta among them: the owner, who holds the new key during the hand-over,
/// updates it in Okta's Admin Console, and keyturn verifies.
const ANY_IDP: Consumers = Consumers { entra: true, okta: true, none: true };

/// The table. One row per [`ConnectorKind`], in declaration order.
pub const PROCEDURES: [Procedure; 6] = [
    Procedure {
        kind: ConnectorKind::AtlassianScim,
        key_source: KeySource::HumanIntake,
        probe: Probe::ScimListUsers,
        consumers: ANY_IDP,
        old_key_survives: false,
        revokes_old_key: false,
        requires: &["directory_id"],
        summary: "owner regenerates the SCIM key in admin.atlassian.com and pastes it into keyturn; \
                  keyturn pushes it to the identity provider and verifies provisioning",
        rollback: "none possible for the key itself: Atlassian revokes the old SCIM key the moment a new one is \
                   generated. keyturn checks the new key against Atlassian before touching the identity provider; \
                   if provisioning then fails, the connector is marked needs_manual_intervention and on-call is told",
    },
    Procedure {
        kind: ConnectorKind::AtlassianApiKey,
        // Atlassian's API Access reference documents listing and revoking org
        // API keys, not creating them (docs/vendors.md).
        key_source: KeySource::HumanIntake,
        probe: Probe::AdminApiRead,
        consumers: Consumers { entra: false, okta: false, none: true },
        old_key_survives: true,
        revokes_old_key: true,
        requires: &[],
        summary: "owner creates a new organization API key in admin.atlassian.com (Settings > API keys) and pastes \
                  it into keyturn; keyturn verifies it, then revokes the old key (PATCH …/api-keys/revoke/{id}) or, \
                  without its id, asks the owner to revoke it",
        rollback: "the old key stays valid and current until the new one is verified; on failure keyturn keeps the \
                   old key current, drops the handed-over one from Secrets Manager and tells on-call (the owner \
                   revokes the unused new key in admin.atlassian.com)",
    },
    Procedure {
        kind: ConnectorKind::GenericHttp,
        key_source: KeySource::VendorApi,
        probe: Probe::TemplateProbe,
        // Okta takes a token by API only for Org2Org and Zscaler 2.0; other
        // apps' tokens are set in its Admin Console by a person, and nobody
        // sees a key keyturn mints (docs/vendors.md).
        consumers: Consumers { entra: true, okta: false, none: true },
        old_key_survives: true,
        revokes_old_key: true,
        requires: &["http_template"],
        summary: "keyturn creates a new key with the connector's HTTP template, verifies it, then revokes the old one",
        rollback: "the old key stays valid until the new one is verified; on failure keyturn puts the identity \
                   provider back on the old key, revokes the new one and tells on-call",
    },
    // `atlassian-scim` is this row with `scim_base` derived from
    // `directory_id`: one probe and one hand-over for both.
    Procedure {
        kind: ConnectorKind::ScimToken,
        key_source: KeySource::HumanIntake,
        probe: Probe::ScimListUsers,
        consumers: ANY_IDP,
        // The record's `old_key_survives` may say otherwise ([`old_key_survives`]).
        old_key_survives: false,
        revokes_old_key: false,
        requires: &["scim_base"],
        summary: "owner regenerates the SCIM token in the vendor's console and pastes it into keyturn; keyturn \
                  checks it against the vendor's SCIM endpoint, pushes it to the identity provider and verifies \
                  provisioning",
        rollback: "keyturn checks the new token against the vendor's SCIM endpoint before touching the identity \
                   provider; a vendor that revokes the old token on regeneration leaves nothing to restore, so on a \
                   later failure the connector is marked needs_manual_intervention and on-call is told whether the \
                   old token still answers",
    },
    Procedure {
        kind: ConnectorKind::EntraAppSecret,
        key_source: KeySource::VendorApi,
        probe: Probe::ClientCredentialsToken,
        // The secret is the app's own sign-in: whatever uses it reads it from
        // Secrets Manager; no identity provider consumes it.
        consumers: Consumers { entra: false, okta: false, none: true },
        // An app registration holds several passwords at once (addPassword
        // adds, removePassword of one keyId removes only that one).
        old_key_survives: true,
        revokes_old_key: true,
        requires: &["tenant_id", "application_object_id", "client_id"],
        summary: "keyturn adds a new client secret to the app registration (Graph addPassword), proves it with a \
                  client-credentials token request, makes it current, then removes the old secret (removePassword)",
        rollback: "the old secret stays valid and current until the new one is verified; on failure keyturn removes \
                   the new secret (removePassword) and tells on-call",
    },
    Procedure {
        kind: ConnectorKind::OktaClientSecret,
        key_source: KeySource::VendorApi,
        probe: Probe::ClientCredentialsToken,
        consumers: Consumers { entra: false, okta: false, none: true },
        // At most two secrets per client, both active until one is deactivated.
        old_key_survives: true,
        revokes_old_key: true,
        requires: &["app_id", "client_id", "auth_server_id", "scope"],
        summary: "keyturn adds a new client secret to the Okta app (credentials/secrets), proves it with a \
                  client-credentials token request, makes it current, then deactivates and deletes the old secret",
        rollback: "the old secret stays active and current until the new one is verified; on failure keyturn \
                   deactivates and deletes the new secret and tells on-call",
    },
];

/// Does `c`'s old key keep working once a new one exists? The procedure
/// row's answer, unless the record says otherwise (`old_key_survives`,
/// accepted for `scim-token` only: vendors differ).
pub fn old_key_survives(c: &Connector) -> bool {
    c.old_key_survives.unwrap_or(procedure(c.kind).old_key_survives)
}

/// How long `c`'s old key stays valid once the new one is current, before
/// keyturn revokes it: the record's `overlap`, else 1 hour for the app client
/// secrets (an application reading its secret through the Secrets Manager
/// caching clients refreshes it hourly by default), else none (revoked in
/// finalize, as always).
pub fn overlap(c: &Connector) -> time::Duration {
    let default = match c.kind {
        ConnectorKind::EntraAppSecret | ConnectorKind::OktaClientSecret => DEFAULT_APP_SECRET_OVERLAP,
        _ => 0,
    };
    time::Duration::seconds(i64::try_from(c.overlap_seconds.unwrap_or(default)).unwrap_or(i64::MAX))
}

/// The app client secrets' default `overlap`, in seconds.
pub const DEFAULT_APP_SECRET_OVERLAP: u64 = 3600;

/// The procedure for `kind`.
///
/// ```
/// use keyturn_domain::{procedures::{procedure, KeySource}, ConnectorKind};
/// assert_eq!(procedure(ConnectorKind::AtlassianScim).key_source, KeySource::HumanIntake);
/// ```
pub fn procedure(kind: ConnectorKind) -> &'static Procedure {
    // The table has one row per kind in declaration order (tested below).
    &PROCEDURES[kind as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_exactly_its_own_row() {
        for kind in ConnectorKind::ALL {
            assert_eq!(procedure(kind).kind, kind);
            assert_eq!(PROCEDURES.iter().filter(|p| p.kind == kind).count(), 1);
        }
    }

    #[test]
    fn keys_no_vendor_api_creates_come_from_their_owner() {
        // Atlassian documents no org API key creation (docs/vendors.md).
        assert_eq!(procedure(ConnectorKind::AtlassianApiKey).key_source, KeySource::HumanIntake);
        assert!(procedure(ConnectorKind::AtlassianApiKey).revokes_old_key, "by the documented PATCH revoke");
        assert!(!procedure(ConnectorKind::AtlassianScim).revokes_old_key, "regeneration already killed it");
    }

    #[test]
    fn okta_only_consumes_keys_a_person_holds() {
        // Okta's token for these apps is set in its console: only by someone who saw the key.
        for p in PROCEDURES {
            if p.consumers.okta {
                assert_eq!(p.key_source, KeySource::HumanIntake, "{:?}", p.kind);
            }
        }
    }

    /// A SCIM token of any vendor is the Atlassian SCIM row but for where
    /// its endpoint comes from: same hand-over, same probe, same consumers.
    #[test]
    fn scim_token_is_the_atlassian_scim_row_with_its_own_endpoint() {
        let (scim, atlassian) = (procedure(ConnectorKind::ScimToken), procedure(ConnectorKind::AtlassianScim));
        assert_eq!(scim.key_source, KeySource::HumanIntake);
        assert_eq!(scim.probe, Probe::ScimListUsers);
        assert_eq!((scim.probe, scim.consumers), (atlassian.probe, atlassian.consumers));
        assert!(scim.consumers.entra && scim.consumers.okta && scim.consumers.none);
        assert!(!scim.old_key_survives, "by default a regenerated token kills the old one");
        assert!(!scim.revokes_old_key);
        assert_eq!(scim.requires, ["scim_base"]);
        assert_eq!(atlassian.requires, ["directory_id"]);
    }

    #[test]
    fn the_record_may_say_the_old_token_survives() {
        let mut c = crate::testing::connector("acme/scim");
        c.kind = ConnectorKind::ScimToken;
        assert!(!old_key_survives(&c), "the row's default");
        c.old_key_survives = Some(true);
        assert!(old_key_survives(&c));
        c.kind = ConnectorKind::AtlassianApiKey;
        c.old_key_survives = None;
        assert!(old_key_survives(&c), "other kinds keep their row");
    }

    #[test]
    fn app_secrets_overlap_an_hour_by_default_and_the_record_decides() {
        let mut c = crate::testing::connector("entra/app");
        c.kind = ConnectorKind::EntraAppSecret;
        assert_eq!(overlap(&c), time::Duration::hours(1));
        c.overlap_seconds = Some(0);
        assert_eq!(overlap(&c), time::Duration::ZERO, "0 keeps revoking in finalize");
        c.kind = ConnectorKind::GenericHttp;
        c.overlap_seconds = None;
        assert_eq!(overlap(&c), time::Duration::ZERO, "other kinds revoke at once unless the record says");
    }

    #[test]
    fn a_key_that_dies_on_regeneration_is_never_vendor_api() {
        // Rollback relies on the old key surviving whenever keyturn mints keys.
        for p in PROCEDURES {
            if p.key_source == KeySource::VendorApi {
                assert!(p.old_key_survives, "{:?}", p.kind);
            }
        }
    }
}
