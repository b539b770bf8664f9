//! The plan: what a scan would do, decided from a read of the inventory alone.

use serde::Serialize;
use time::OffsetDateTime;

use crate::inventory::validate_stored;
use crate::ports::{Inventory, StoreError};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{
    group_into_changes, Change, ChangeId, ConnectorId, ConnectorKind, ConnectorStatus, DueConnector, Urgency,
};

use super::settings::workflow_seconds;
use super::*;

/// A stored record that failed validation.
#[derive(Debug, Clone, Serialize)]
pub struct InvalidItem {
    pub connector_id: ConnectorId,
    pub errors: Vec<String>,
}

/// A due connector the scanner left alone, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedItem {
    pub connector_id: ConnectorId,
    pub reason: String,
    #[serde(skip)]
    pub status: ConnectorStatus,
    #[serde(skip)]
    pub expires_at: OffsetDateTime,
    /// Whose it is (the daily digest goes to each group).
    #[serde(skip)]
    pub approver_group: String,
    /// Its kind: a held SCIM connector may wait for its owner's key.
    #[serde(skip)]
    pub kind: ConnectorKind,
    /// The change holding it, when that is why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<ChangeId>,
}

/// What a scan would do; nothing has been written yet.
#[derive(Debug, Clone)]
pub struct Plan {
    pub now: OffsetDateTime,
    pub items_read: u64,
    pub pages: u32,
    pub due: Vec<DueConnector>,
    pub invalid: Vec<InvalidItem>,
    pub skipped: Vec<SkippedItem>,
    pub changes: Vec<Change>,
}

/// Reads the due connectors and decides everything, without writing.
pub async fn plan<I: Inventory>(
    inventory: &I,
    settings: &ScanSettings,
    now: OffsetDateTime,
) -> Result<Plan, StoreError> {
    let found = inventory.due(settings.policy.cutoff(now)).await?;
    let mut due = Vec::new();
    let mut invalid = Vec::new();
    let mut skipped = Vec::new();
    let wanted = |id: &ConnectorId| settings.only.as_ref().is_none_or(|p| id.as_str().starts_with(p.as_str()));
    for stored in found.items.into_iter().filter(|s| wanted(&s.id)) {
        let connector = match validate_stored(&stored, now) {
            Ok(c) => c,
            Err(errors) => {
                invalid.push(InvalidItem {
                    connector_id: stored.id,
                    errors: errors.iter().map(ToString::to_string).collect(),
                });
                continue;
            }
        };
        let skip = |reason: String, held_by: Option<ChangeId>| SkippedItem {
            connector_id: connector.id.clone(),
            reason,
            status: connector.status,
            expires_at: connector.expires_at,
            approver_group: connector.approver_group.clone(),
            kind: connector.kind,
            held_by,
        };
        match connector.status {
            ConnectorStatus::Active => {}
            ConnectorStatus::Rotating => {
                // Its change is named even when the lease lapsed: the repair needs it.
                let by = connector.active_change.as_ref().map(|l| l.change_id.clone());
                skipped.push(skip(format!("status is {}", connector.status), by));
                continue;
            }
            ConnectorStatus::NeedsManualIntervention | ConnectorStatus::Retired => {
                skipped.push(skip(format!("status is {}", connector.status), None));
                continue;
            }
        }
        if let Some(lease) = connector.live_lease(now) {
            let why = format!("held by {} until {}", lease.change_id, format_utc(lease.until));
            skipped.push(skip(why, Some(lease.change_id.clone())));
            continue;
        }
        match settings.policy.classify(connector.expires_at, now) {
            Urgency::NotDue => {}
            Urgency::Due { .. } => due.push(DueConnector { connector, urgent: false }),
            Urgency::Urgent { .. } => due.push(DueConnector { connector, urgent: true }),
        }
    }
    let mut changes = group_into_changes(&due, settings.grouping, now);
    for c in &mut changes {
        c.approval_timeout_seconds = Some(settings.approval_timeout_seconds(c.urgent));
        c.intake_timeout_seconds = Some(workflow_seconds(settings.intake_timeout));
        c.max_concurrency = Some(settings.map_concurrency);
    }
    Ok(Plan { now, items_read: found.items_read, pages: found.pages, due, invalid, skipped, changes })
}

impl Plan {
    /// An approver group is "mapped" when the approver routing names it: a
    /// change for any other group could never be approved, so its connectors
    /// are invalid records (audited, reported, retried by the next scan once
    /// the routing has the group) instead of a workflow that fails at once.
    pub fn keep_routed(&mut self, routed: &Routed) {
        let Routed::Groups(groups) = routed else { return };
        let (kept, unrouted): (Vec<Change>, Vec<Change>) =
            std::mem::take(&mut self.changes).into_iter().partition(|c| groups.contains(&c.approver_group));
        self.changes = kept;
        for change in unrouted {
            self.due.retain(|d| !change.connectors.contains(&d.connector.id));
            let why = format!(
                "approver_group: {:?} is not in the approver routing (keyturn approvers show)",
                change.approver_group
            );
            self.invalid.extend(
                change
                    .connectors
                    .into_iter()
                    .map(|connector_id| InvalidItem { connector_id, errors: vec![why.clone()] }),
            );
        }
    }
}

/// The approver groups a scan may start changes for.
#[derive(Debug, Clone)]
pub enum Routed {
    /// The routing names exactly these groups.
    Groups(std::collections::BTreeSet<String>),
    /// The routing could not be read: start changes anyway, so an outage of
    /// the routing secret delays nothing; request-approval checks again.
    Unknown,
}
