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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// When the change may run; `None` means as soon as it is approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ChangeWindow>,
    #[serde(with = "time::serde::rfc3339")]
    pub earliest_expiry: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
}
