//! A change: one approval covering one or more connectors.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ChangeId, ChangeWindow, ConnectorId};

/// What the scanner hands to the workflow. Carries ids and dates only: it
/// becomes Step Functions input, where no key material may ever appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: ChangeId,
    pub connectors: Vec<ConnectorId>,
    /// At least one key has already expired.
    pub urgent: bool,
    /// Who approves it: every connector in a change shares its approver group.
    pub approver_group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// When the change may run; `None` means as soon as it is approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ChangeWindow>,
    #[serde(with = "time::serde::rfc3339")]
    pub earliest_expiry: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
    /// How long approvers have (the state machine's `TimeoutSecondsPath`);
    /// set by the scanner from its settings, shorter for urgent changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_seconds: Option<u32>,
    /// How long a key's owner has to hand over a vendor-console key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake_timeout_seconds: Option<u32>,
    /// How many connectors rotate at once (the Map's `MaxConcurrencyPath`);
    /// set by the scanner from `KEYTURN_MAP_CONCURRENCY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// One entry per connector, for the workflow's per-connector map.
    #[serde(default)]
    pub items: Vec<ChangeItem>,
}

/// What the workflow needs to know per connector before it starts on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeItem {
    pub connector_id: ConnectorId,
    /// The new key must come from a human (procedure table: `human_intake`).
    pub human_intake: bool,
}

impl Change {
    pub fn approval_timeout(&self) -> Option<time::Duration> {
        self.approval_timeout_seconds.map(|s| time::Duration::seconds(i64::from(s)))
    }
}

/// Where a change stands. Only these transitions exist:
/// `detected → awaiting_approval → approved | rejected | expired`, and
/// `approved → completed | failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    Detected,
    AwaitingApproval,
    Approved,
    Rejected,
    Expired,
    Completed,
    Failed,
}

impl ChangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detected => "detected",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Detected,
            Self::AwaitingApproval,
            Self::Approved,
            Self::Rejected,
            Self::Expired,
            Self::Completed,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Still waiting for approvers.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Detected | Self::AwaitingApproval)
    }
}

impl std::fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One connector's result from the rotation map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorOutcome {
    pub connector_id: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
