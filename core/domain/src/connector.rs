//! The connector: one provisioning key, where it lives and who answers for it.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ChangeId, ChangeWindow, ConnectorId};

/// What sort of key a connector holds. Decides the rotation procedure
/// (see [`crate::procedures`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectorKind {
    /// Atlassian SCIM directory key (admin.atlassian.com > provisioning).
    AtlassianScim,
    /// Atlassian organization API key (Admin API keys API).
    AtlassianApiKey,
    /// Any vendor described by a declarative HTTP template.
    GenericHttp,
    /// A Microsoft Entra app registration's client secret (Graph
    /// `addPassword` / `removePassword`).
    EntraAppSecret,
    /// An Okta OAuth app's client secret (`/api/v1/apps/{appId}/credentials/secrets`).
    OktaClientSecret,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 5] =
        [Self::AtlassianScim, Self::AtlassianApiKey, Self::GenericHttp, Self::EntraAppSecret, Self::OktaClientSecret];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AtlassianScim => "atlassian-scim",
            Self::AtlassianApiKey => "atlassian-api-key",
            Self::GenericHttp => "generic-http",
            Self::EntraAppSecret => "entra-app-secret",
            Self::OktaClientSecret => "okta-client-secret",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw.trim())
    }
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which identity provider pushes users with this key, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "idp", rename_all = "kebab-case")]
pub enum IdpBinding {
    /// Microsoft Entra ID provisioning: the enterprise app's service principal
    /// and its synchronization job.
    Entra { service_principal_id: String, job_id: String },
    /// Okta app provisioning connection.
    Okta { app_id: String },
    /// The key is only read from Secrets Manager by the team's own jobs.
    None,
}

impl IdpBinding {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Entra { .. } => "entra",
            Self::Okta { .. } => "okta",
            Self::None => "none",
        }
    }

    /// Does keyturn hand this identity provider the new key through its API?
    /// Okta documents token pushes for Org2Org and Zscaler 2.0 only: for the
    /// apps keyturn serves, the key's owner sets it in Okta's Admin Console.
    pub fn takes_key_by_api(&self) -> bool {
        matches!(self, Self::Entra { .. })
    }
}

/// The OAuth client whose secret an `entra-app-secret` or
/// `okta-client-secret` connector rotates: where keyturn adds and removes
/// secrets, and how it proves a new one signs in (a client-credentials token
/// request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "vendor", rename_all = "kebab-case")]
pub enum ClientApp {
    /// An app registration: its directory (tenant), its object id (Graph's
    /// `/applications/{id}`) and its application (client) id (the token
    /// request's `client_id`).
    Entra { tenant_id: String, application_object_id: String, client_id: String },
    /// An OAuth app: its app id (`/api/v1/apps/{appId}`), its client id, and
    /// the custom authorization server and scope a token request proves the
    /// secret with (Okta's org server cannot: docs/vendors.md).
    Okta { app_id: String, client_id: String, auth_server_id: String, scope: String },
}

/// Lifecycle state of a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorStatus {
    #[default]
    Active,
    Rotating,
    NeedsManualIntervention,
    Retired,
}

impl ConnectorStatus {
    pub const ALL: [ConnectorStatus; 4] = [Self::Active, Self::Rotating, Self::NeedsManualIntervention, Self::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotating => "rotating",
            Self::NeedsManualIntervention => "needs_manual_intervention",
            Self::Retired => "retired",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw.trim())
    }
}

impl fmt::Display for ConnectorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ARN of a Secrets Manager secret, checked for shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretArn(String);

/// Longest secret name part of an ARN: Secrets Manager names are at most 512
/// characters, and the ARN adds `-` and six random characters.
const MAX_SECRET_NAME: usize = 512 + 7;

impl SecretArn {
    /// `arn:<partition>:secretsmanager:<region>:<12-digit account>:secret:<name>`:
    /// a partition keyturn can run in, a region shaped like one and in that
    /// partition, and a name of Secrets Manager's own characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            Err(format!(
                "{} is not a Secrets Manager secret ARN ({why}); expected arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
                super::excerpt(raw)
            ))
        };
        let parts: Vec<&str> = raw.splitn(7, ':').collect();
        if parts.len() != 7 || parts[0] != "arn" {
            return bad("wrong shape");
        }
        let (partition, region) = (parts[1], parts[3]);
        if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
            return bad("unknown partition; aws, aws-cn or aws-us-gov");
        }
        if parts[2] != "secretsmanager" {
            return bad("not a secretsmanager ARN");
        }
        if !is_region(region) {
            return bad("bad region; a region looks like us-east-1");
        }
        let region_partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        if region_partition != partition {
            return bad("the region is not in that partition");
        }
        if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
            return bad("account must be 12 digits");
        }
        let name = parts[6];
        if parts[5] != "secret" || name.is_empty() {
            return bad("missing secret name");
        }
        if name.len() > MAX_SECRET_NAME {
            return bad("the secret name is longer than 512 characters");
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b)) {
            return bad("a secret name has letters, digits and / _ + = . @ - only");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`: two letters, one or two
/// words, a number.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let [geo, words @ .., number] = parts.as_slice() else { return false };
    geo.len() == 2
        && geo.bytes().all(|b| b.is_ascii_lowercase())
        && (1..=2).contains(&words.len())
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// A validated inventory record plus the state keyturn keeps about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    pub id: ConnectorId,
    pub kind: ConnectorKind,
    /// Vendor organisation (Atlassian org id or name).
    pub org: String,
    /// Vendor directory id (Atlassian SCIM directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_id: Option<String>,
    /// Vendor app or key-owner id, where the kind has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(flatten)]
    pub idp: IdpBinding,
    /// Who answers for the key (email).
    pub owner: String,
    /// Who approves its rotation (a group name routed by configuration).
    pub approver_group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_window: Option<ChangeWindow>,
    pub secret_arn: SecretArn,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default)]
    pub status: ConnectorStatus,
    /// Optimistic-lock counter, bumped on every write.
    #[serde(default)]
    pub version: u64,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<OffsetDateTime>,
    /// How a `generic-http` vendor creates, revokes and proves keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_template: Option<super::HttpTemplate>,
    /// The OAuth client of a client-secret kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_app: Option<ClientApp>,
    /// The change that holds this connector, until `lease_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_change: Option<ChangeLease>,
}

/// A claim a change holds on a connector, so that two changes never rotate the
/// same key. It expires, so a change that died does not block the key forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLease {
    pub change_id: ChangeId,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

impl Connector {
    /// The lease that still holds at `now`, if any.
    pub fn live_lease(&self, now: OffsetDateTime) -> Option<&ChangeLease> {
        self.active_change.as_ref().filter(|l| l.until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_arns_are_checked() {
        for good in [
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scim/acme-AbCdEf",
            "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:a/b_c+d=e.f@g-h",
            "arn:aws-cn:secretsmanager:cn-northwest-1:123456789012:secret:k",
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:k",
        ] {
            assert!(SecretArn::parse(good).is_ok(), "{good}");
        }
        let long = format!("arn:aws:secretsmanager:eu-west-1:123456789012:secret:{}", "n".repeat(520));
        assert!(SecretArn::parse(&long).unwrap_err().contains("longer than 512"));
        for (bad, why) in [
            ("arn:aws:s3:::bucket", "wrong shape"),
            ("arn:aws:s3:eu-west-1:123456789012:secret:x", "not a secretsmanager"),
            ("arn:aws:secretsmanager:eu-west-1:1234:secret:x", "12 digits"),
            ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:", "missing secret name"),
            ("arn:evil:secretsmanager:eu-west-1:123456789012:secret:x", "partition"),
            ("arn:aws:secretsmanager:-:123456789012:secret:x", "bad region"),
            ("arn:aws:secretsmanager:useast1:123456789012:secret:x", "bad region"),
            ("arn:aws:secretsmanager:us-east-1a:123456789012:secret:x", "bad region"),
            ("arn:aws:secretsmanager:us--1:123456789012:secret:x", "bad region"),
            ("arn:aws:secretsmanager:a-b-c-d-1:123456789012:secret:x", "bad region"),
            ("arn:aws:secretsmanager:cn-north-1:123456789012:secret:x", "not in that partition"),
            ("arn:aws-cn:secretsmanager:eu-west-1:123456789012:secret:x", "not in that partition"),
            ("arn:aws:secretsmanager:us-gov-west-1:123456789012:secret:x", "not in that partition"),
            ("arn:aws:secretsmanager:eu-west-1:12345678901a:secret:x", "12 digits"),
            ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:a b", "letters, digits"),
            ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:a:b", "letters, digits"),
            ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:a\u{202e}b", "letters, digits"),
            ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:a?versionId=1", "letters, digits"),
            ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:é", "letters, digits"),
        ] {
            assert!(SecretArn::parse(bad).unwrap_err().contains(why), "{bad}");
        }
    }

    #[test]
    fn kinds_and_statuses_round_trip_their_names() {
        for k in ConnectorKind::ALL {
            assert_eq!(ConnectorKind::parse(k.as_str()), Some(k));
        }
        for s in ConnectorStatus::ALL {
            assert_eq!(ConnectorStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ConnectorKind::parse("atlassian"), None);
    }
}
