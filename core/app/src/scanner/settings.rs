//! What a scan is told: the due policy, grouping, the only-prefix and timeouts.

use time::Duration;

use keyturn_domain::{DuePolicy, Grouping};

#[derive(Debug, Clone)]
pub struct ScanSettings {
    pub policy: DuePolicy,
    pub grouping: Grouping,
    pub lease: Duration,
    /// How long approvers have, passed to the workflow with each change.
    pub approval_timeout: Duration,
    pub urgent_approval_timeout: Duration,
    pub intake_timeout: Duration,
    /// An approval waiting longer counts in [`Health::approvals_overdue`].
    pub approval_overdue: Duration,
    /// Only connectors whose id starts with this (a targeted scan, e.g. one org).
    pub only: Option<String>,
    /// Connectors of one change rotated at once.
    pub map_concurrency: u32,
}

impl From<&crate::config::Config> for ScanSettings {
    fn from(cfg: &crate::config::Config) -> Self {
        Self {
            policy: cfg.policy,
            grouping: cfg.grouping,
            lease: cfg.change_lease,
            approval_timeout: cfg.approval.timeout,
            urgent_approval_timeout: cfg.approval.urgent_timeout,
            intake_timeout: cfg.approval.intake_timeout,
            approval_overdue: cfg.approval_overdue,
            only: None,
            map_concurrency: cfg.map_concurrency,
        }
    }
}

impl ScanSettings {
    pub(super) fn approval_timeout_seconds(&self, urgent: bool) -> u32 {
        workflow_seconds(if urgent { self.urgent_approval_timeout } else { self.approval_timeout })
    }
}

/// A timeout as the state machine's `TimeoutSecondsPath` takes it.
pub(super) fn workflow_seconds(d: Duration) -> u32 {
    u32::try_from(d.whole_seconds()).unwrap_or(u32::MAX)
}
