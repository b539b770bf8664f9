//! What a scan did (or would do): per change, per problem, and its health.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{Change, ConnectorId, ConnectorStatus};

use super::*;

/// What happened to one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOutcome {
    /// Dry run: would be started.
    Planned,
    Started,
    /// Its workflow was started by an earlier scan.
    AlreadyRunning,
    /// The same change already ran to its end today (rejected, expired,
    /// finished); tomorrow's scan opens a new one if the key is still due.
    EndedToday,
    Failed,
}

impl ChangeOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Started => "started",
            Self::AlreadyRunning => "already_running",
            Self::EndedToday => "ended_today",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    pub change_id: String,
    pub connector_ids: Vec<ConnectorId>,
    pub urgent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    pub earliest_expiry: String,
    pub outcome: ChangeOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The scanner's answer (Lambda output, `keyturn scan --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub now: String,
    pub dry_run: bool,
    /// Keys that need rotation now, urgent ones included.
    pub due: usize,
    /// Keys already expired.
    pub urgent: usize,
    pub invalid: usize,
    pub skipped: usize,
    /// Items the expiry query read from DynamoDB: grows with due keys, not inventory size.
    pub items_read: u64,
    pub pages: u32,
    pub changes: Vec<ChangeReport>,
    pub invalid_records: Vec<InvalidItem>,
    pub skipped_records: Vec<SkippedItem>,
    /// Writes that failed (audit, store); the scan went on past them.
    pub errors: Vec<String>,
    pub health: Health,
    /// Another scan was running: this one did nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub busy: bool,
    /// Connectors this scan unwedged (see [`repair_wedged`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repaired: Vec<RepairedItem>,
    /// Reminders, stuck runs, alerts and digests (see [`crate::watch`]).
    #[serde(flatten)]
    pub watch: WatchReport,
    /// The audit digests this scan signed (see `audit::anchor`).
    #[serde(skip_serializing_if = "crate::audit::anchor::AnchorReport::is_empty")]
    pub anchored: crate::audit::anchor::AnchorReport,
    /// keyturn's own signing keys this run rotated (see `watch::signing_keys`).
    #[serde(skip_serializing_if = "keyturn_domain::signing_keys::KeyRotationReport::is_empty")]
    pub signing_keys: keyturn_domain::signing_keys::KeyRotationReport,
}

/// What the alarms watch: the scanner Lambda publishes these as metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Due connectors marked `needs_manual_intervention`.
    pub needs_manual_intervention: usize,
    /// Keys expiring within [`UNHANDLED_WITHIN`] (or expired) that no running
    /// change covers: its change failed to start or already ended, or the
    /// connector waits for a human.
    pub expiring_unhandled: usize,
    /// Changes waiting for approval longer than the overdue bound (not
    /// computed by dry runs).
    pub approvals_overdue: usize,
}

/// How close an expiry must be for a key nobody is rotating to raise an alarm.
pub const UNHANDLED_WITHIN: Duration = Duration::days(7);

impl ScanReport {
    /// True when every change was handled and every write landed.
    pub fn is_complete(&self) -> bool {
        self.errors.is_empty() && self.changes.iter().all(|c| c.outcome != ChangeOutcome::Failed)
    }

    pub(super) fn new(plan: &Plan, dry_run: bool) -> Self {
        let manual = plan.skipped.iter().filter(|s| s.status == ConnectorStatus::NeedsManualIntervention);
        Self {
            now: format_utc(plan.now),
            dry_run,
            due: plan.due.len(),
            urgent: plan.due.iter().filter(|d| d.urgent).count(),
            invalid: plan.invalid.len(),
            skipped: plan.skipped.len(),
            items_read: plan.items_read,
            pages: plan.pages,
            changes: Vec::new(),
            invalid_records: plan.invalid.clone(),
            skipped_records: plan.skipped.clone(),
            errors: Vec::new(),
            health: Health {
                needs_manual_intervention: manual.clone().count(),
                expiring_unhandled: manual.filter(|s| s.expires_at <= plan.now + UNHANDLED_WITHIN).count(),
                approvals_overdue: 0,
            },
            anchored: Default::default(),
            signing_keys: Default::default(),
            watch: Default::default(),
            busy: false,
            repaired: Vec::new(),
        }
    }

    /// The report of a scan that found another one running.
    pub fn busy(now: OffsetDateTime) -> Self {
        let plan = Plan {
            now,
            items_read: 0,
            pages: 0,
            due: Vec::new(),
            invalid: Vec::new(),
            skipped: Vec::new(),
            changes: Vec::new(),
        };
        Self { busy: true, ..Self::new(&plan, false) }
    }

    /// Counts a change that is not running (its start failed, or it ended today).
    pub(super) fn unhandled(&mut self, change: &Change, plan: &Plan) {
        self.health.expiring_unhandled += plan
            .due
            .iter()
            .filter(|d| change.connectors.contains(&d.connector.id))
            .filter(|d| d.connector.expires_at <= plan.now + UNHANDLED_WITHIN)
            .count();
    }
}

pub(super) fn change_report(change: &Change, outcome: ChangeOutcome) -> ChangeReport {
    ChangeReport {
        change_id: change.id.to_string(),
        connector_ids: change.connectors.clone(),
        urgent: change.urgent,
        org: change.org.clone(),
        window: change.window.map(|w| w.to_string()),
        earliest_expiry: format_utc(change.earliest_expiry),
        outcome,
        execution_arn: None,
        error: None,
    }
}

/// The report of a dry run: the plan, nothing written.
pub fn dry_run_report(plan: &Plan) -> ScanReport {
    let mut report = ScanReport::new(plan, true);
    report.changes = plan.changes.iter().map(|c| change_report(c, ChangeOutcome::Planned)).collect();
    report
}

/// One reminder sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReminderSent {
    pub change_id: String,
    /// Set for a key hand-over: the connector whose owner was reminded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// The mark: days before the earliest expiry.
    pub days: u32,
    pub emails_sent: usize,
    pub slack_posted: bool,
    /// The last mark: the escalation contacts were told as well.
    pub escalated: bool,
}

/// What the watch did; part of the scan report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WatchReport {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reminders: Vec<ReminderSent>,
    /// Changes whose execution runs past the bound (counted every scan,
    /// told once a day).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stuck: Vec<String>,
    /// Alerts sent: `stuck chg-… → email:oncall@…, slack`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// Approver groups that got today's digest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<String>,
    #[serde(skip)]
    pub errors: Vec<String>,
}
