//! The scanner: find due keys, validate them, group them into changes and
//! start one workflow per change.
//!
//! Split in two so `keyturn scan --dry-run` and the Lambda share every
//! decision: [`plan`] only reads; [`execute`] writes and starts workflows.
//! A bad record or a failed change never stops the others; they are reported.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::adapters::Adapters;
use crate::inventory::validate_stored;
use crate::ports::{AuditLog, ChangeStore, ExecutionState, Inventory, StartOutcome, StoreError, Workflow};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{
    group_into_changes, Change, ChangeId, ChangeLease, ConnectorId, ConnectorKind, ConnectorStatus, DueConnector,
    DuePolicy, EventKind, Grouping, NewAuditEvent, Urgency,
};

/// The audit actor for everything the scanner does.
pub const ACTOR: &str = "scanner";

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
    fn approval_timeout_seconds(&self, urgent: bool) -> u32 {
        workflow_seconds(if urgent { self.urgent_approval_timeout } else { self.approval_timeout })
    }
}

/// A timeout as the state machine's `TimeoutSecondsPath` takes it.
fn workflow_seconds(d: Duration) -> u32 {
    u32::try_from(d.whole_seconds()).unwrap_or(u32::MAX)
}

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
    pub watch: crate::watch::WatchReport,
    /// The audit digests this scan signed (see `audit::anchor`).
    #[serde(skip_serializing_if = "crate::audit::anchor::AnchorReport::is_empty")]
    pub anchored: crate::audit::anchor::AnchorReport,
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

    fn new(plan: &Plan, dry_run: bool) -> Self {
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
    fn unhandled(&mut self, change: &Change, plan: &Plan) {
        self.health.expiring_unhandled += plan
            .due
            .iter()
            .filter(|d| change.connectors.contains(&d.connector.id))
            .filter(|d| d.connector.expires_at <= plan.now + UNHANDLED_WITHIN)
            .count();
    }
}

fn change_report(change: &Change, outcome: ChangeOutcome) -> ChangeReport {
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

/// A connector the scanner put back to `active` because the change holding it
/// was no longer running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairedItem {
    pub connector_id: ConnectorId,
    /// The change that left it behind.
    pub change_id: ChangeId,
    /// Its status before the repair (`rotating`).
    pub was: String,
    /// What became of that change's execution: SUCCEEDED, FAILED, …, or `missing`.
    pub execution: String,
}

/// Never wedged: a connector still `rotating` under a change whose execution
/// ended or never ran would be skipped by every scan, forever. Each such connector is reset
/// to `active`, released and audited (`repaired`, with the old change id), so
/// this very scan can put it into a new change; a stale `AWSPENDING` it left
/// is removed by the next rotation's `rotate` step. Connectors whose change
/// is still running are left alone. Returns what was repaired and what could
/// not be checked.
pub async fn repair_wedged<A: Adapters>(plan: &Plan, ports: &A) -> (Vec<RepairedItem>, Vec<String>) {
    let (mut repaired, mut errors) = (Vec::new(), Vec::new());
    // Only `rotating` ones: a held `active` connector waits for a decision,
    // and its change gives it back when it ends (or the lease lapses).
    for s in plan.skipped.iter().filter(|s| s.status == ConnectorStatus::Rotating) {
        let Some(change) = &s.held_by else { continue };
        let execution = match ports.workflow().execution(change).await {
            Ok(ExecutionState::Running) => continue,
            Ok(ExecutionState::Ended(status)) => status,
            Ok(ExecutionState::Missing) => "missing".to_owned(),
            Err(e) => {
                errors.push(format!("execution of {change} (holding {}): {e}", s.connector_id));
                continue;
            }
        };
        match ports.inventory().reset_wedged(&s.connector_id, change, plan.now).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                errors.push(format!("repair {}: {e}", s.connector_id));
                continue;
            }
        }
        tracing::warn!(connector = %s.connector_id, change = %change, %execution, "wedged connector repaired");
        let was = s.status.as_str().to_owned();
        let ev = NewAuditEvent::new(s.connector_id.clone(), EventKind::Repaired, plan.now, ACTOR)
            .change(change)
            .detail("was", was.clone())
            .detail("execution", execution.clone());
        if let Err(e) = ports.audit().append(ev).await {
            errors.push(format!("audit repaired {}: {e}", s.connector_id));
        }
        repaired.push(RepairedItem { connector_id: s.connector_id.clone(), change_id: change.clone(), was, execution });
    }
    (repaired, errors)
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

/// One scan: plan, unwedge what ended changes left behind (then plan again,
/// so the repaired connectors join this scan's changes), carry the plan out.
/// Returns the plan too: [`crate::watch`] works from it.
pub async fn run<A: Adapters>(
    ports: &A,
    settings: &ScanSettings,
    routed: &Routed,
    now: OffsetDateTime,
) -> Result<(Plan, ScanReport), StoreError> {
    let mut plan = plan(ports.inventory(), settings, now).await?;
    let (repaired, repair_errors) = repair_wedged(&plan, ports).await;
    if !repaired.is_empty() {
        plan = self::plan(ports.inventory(), settings, now).await?;
    }
    plan.keep_routed(routed);
    let mut report = execute(&plan, ports, settings).await;
    report.repaired = repaired;
    report.errors.extend(repair_errors);
    Ok((plan, report))
}

/// Carries out a plan: audits invalid records, and per change records it,
/// claims its connectors, audits `detected` (first time only) and starts its
/// workflow under the change id. Safe to repeat: a second run on the same day
/// finds the same change ids and starts nothing new.
pub async fn execute<A: Adapters>(plan: &Plan, ports: &A, settings: &ScanSettings) -> ScanReport {
    let mut report = ScanReport::new(plan, false);
    for bad in &plan.invalid {
        let ev = NewAuditEvent::new(bad.connector_id.clone(), EventKind::Invalid, plan.now, ACTOR)
            .detail("errors", bad.errors.join("; "));
        if let Err(e) = ports.audit().append(ev).await {
            report.errors.push(format!("audit invalid {}: {e}", bad.connector_id));
        }
    }
    for change in &plan.changes {
        let mut entry = change_report(change, ChangeOutcome::Failed);
        match start_change(change, plan, ports, settings, &mut report.errors).await {
            Ok(StartOutcome::Started { execution_arn }) => {
                tracing::info!(change_id = %change.id, %execution_arn, connectors = change.connectors.len(), "change started");
                entry.outcome = ChangeOutcome::Started;
                entry.execution_arn = Some(execution_arn);
            }
            Ok(StartOutcome::AlreadyRunning) => {
                tracing::info!(change_id = %change.id, "change already running");
                entry.outcome = ChangeOutcome::AlreadyRunning;
            }
            Ok(StartOutcome::Ended) => entry.outcome = ChangeOutcome::EndedToday,
            Err(e) => {
                tracing::error!(change_id = %change.id, error = %e, "change not started");
                entry.error = Some(e);
            }
        }
        if matches!(entry.outcome, ChangeOutcome::Failed | ChangeOutcome::EndedToday) {
            report.unhandled(change, plan);
        }
        report.changes.push(entry);
    }
    report.health.approvals_overdue = overdue_approvals(plan, &report, ports.changes(), settings).await;
    report
}

/// Changes still waiting for approvers past the overdue bound, among those
/// this scan met: running ones of today and those holding due connectors.
async fn overdue_approvals<C: ChangeStore>(
    plan: &Plan,
    report: &ScanReport,
    changes: &C,
    settings: &ScanSettings,
) -> usize {
    let running = report.changes.iter().filter(|c| c.outcome == ChangeOutcome::AlreadyRunning);
    let mut ids: Vec<ChangeId> = running.map(|c| ChangeId::from_trusted(&c.change_id)).collect();
    ids.extend(plan.skipped.iter().filter_map(|s| s.held_by.clone()));
    ids.sort();
    ids.dedup();
    match changes.awaiting_since(&ids).await {
        Ok(waiting) => waiting.iter().filter(|(_, since)| plan.now - *since > settings.approval_overdue).count(),
        Err(e) => {
            // Not fatal: the alarm misses these changes until the next scan.
            tracing::warn!(changes = ids.len(), error = %e, "approval ages unknown");
            0
        }
    }
}

async fn start_change<A: Adapters>(
    change: &Change,
    plan: &Plan,
    ports: &A,
    settings: &ScanSettings,
    errors: &mut Vec<String>,
) -> Result<StartOutcome, String> {
    let created = ports.changes().create(change).await.map_err(|e| e.to_string())?;
    if !created {
        // Claiming again would hold the keys for a whole lease with no workflow
        // left to release them.
        let status = ports.changes().status(&change.id).await.map_err(|e| e.to_string())?;
        if status.is_some_and(|s| !s.is_open() && s != keyturn_domain::ChangeStatus::Approved) {
            return Ok(StartOutcome::Ended);
        }
    }
    let lease = ChangeLease { change_id: change.id.clone(), until: plan.now + settings.lease };
    for (i, id) in change.connectors.iter().enumerate() {
        let why = match ports.inventory().claim(id, &lease, plan.now).await {
            Ok(true) => continue,
            Ok(false) => format!("{id} is held by another change"),
            Err(e) => e.to_string(),
        };
        release_all(&change.connectors[..i], change, ports, errors).await;
        return Err(format!("{why}; will retry on the next scan"));
    }
    if created {
        for d in plan.due.iter().filter(|d| change.connectors.contains(&d.connector.id)) {
            let c = &d.connector;
            let mut ev = NewAuditEvent::new(c.id.clone(), EventKind::Detected, plan.now, ACTOR)
                .change(&change.id)
                .detail("expires_at", format_utc(c.expires_at))
                .detail("urgency", if d.urgent { "urgent" } else { "due" })
                .detail("kind", c.kind.as_str())
                .detail("org", c.org.clone())
                .detail("owner", c.owner.clone())
                .detail("approver_group", c.approver_group.clone());
            if let Some(w) = change.window {
                ev = ev.detail("window", w.to_string());
            }
            if let Err(e) = ports.audit().append(ev).await {
                errors.push(format!("audit detected {}: {e}", c.id));
            }
        }
    }
    match ports.workflow().start(change).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            // Without a workflow nothing would ever release the leases: give the
            // connectors back so the next scan retries instead of waiting them out.
            release_all(&change.connectors, change, ports, errors).await;
            Err(e.to_string())
        }
    }
}

async fn release_all<A: Adapters>(ids: &[ConnectorId], change: &Change, ports: &A, errors: &mut Vec<String>) {
    for id in ids {
        if let Err(e) = ports.inventory().release(id, &change.id).await {
            errors.push(format!("release {id} from {}: {e}", change.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Location, RawRecord};
    use crate::ports::StoredConnector;
    use crate::testkit::Fakes;
    use keyturn_domain::{AuditEvent, ChangeId};
    use std::collections::BTreeMap;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 06:00 UTC);

    fn stored(id: &str, expires: &str, extra: &[(&str, &str)]) -> StoredConnector {
        let mut fields: BTreeMap<String, String> = [
            ("id", id),
            ("kind", "atlassian-api-key"),
            ("org", "acme"),
            ("idp", "none"),
            ("owner", "ann@acme.example"),
            ("approver_group", "it-change"),
            ("secret_arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k"),
            ("expires_at", expires),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            fields.insert(k.to_string(), v.to_string());
        }
        StoredConnector {
            id: ConnectorId::parse(id).unwrap(),
            record: RawRecord { location: Location::Item, fields },
            version: 1,
            lease: None,
        }
    }

    fn settings() -> ScanSettings {
        ScanSettings {
            policy: DuePolicy::default(),
            grouping: Grouping::Org,
            lease: Duration::days(14),
            approval_timeout: Duration::hours(72),
            urgent_approval_timeout: Duration::hours(4),
            intake_timeout: Duration::hours(24),
            approval_overdue: Duration::hours(48),
            only: None,
            map_concurrency: 10,
        }
    }

    fn mem() -> Fakes {
        Fakes::with_connectors(vec![
            stored("due-1", "2026-12-10T00:00:00Z", &[]),
            stored("due-2", "2026-12-20T00:00:00Z", &[]),
            stored("expired", "2026-11-01T00:00:00Z", &[]),
            stored("busy", "2026-12-01T00:00:00Z", &[("status", "rotating")]),
            stored("broken", "2026-12-01T00:00:00Z", &[("owner", "")]),
            stored("later", "2027-06-01T00:00:00Z", &[]),
        ])
    }

    async fn run(m: &Fakes) -> ScanReport {
        run_at(m, NOW).await
    }

    async fn run_at(m: &Fakes, now: OffsetDateTime) -> ScanReport {
        let s = settings();
        m.made_at.lock().unwrap().get_or_insert(now);
        let routed = Routed::Groups(["it-change".to_owned()].into());
        super::run(m, &s, &routed, now).await.unwrap().1
    }

    #[tokio::test]
    async fn a_connector_left_rotating_by_a_dead_change_is_repaired_and_rotated_again() {
        let m = mem();
        let dead = ChangeId::from_trusted("chg-20261101-00000000000000aa");
        let lease = ChangeLease { change_id: dead.clone(), until: NOW - Duration::days(1) };
        m.leases.lock().unwrap().insert(ConnectorId::parse("busy").unwrap(), lease);
        let r = run(&m).await;
        assert_eq!(r.repaired.len(), 1, "{:?}", r.repaired);
        assert_eq!((r.repaired[0].was.as_str(), r.repaired[0].execution.as_str()), ("rotating", "missing"));
        assert!(r.changes.iter().any(|c| c.connector_ids.iter().any(|id| id.as_str() == "busy")), "rotated again");
        let ev =
            m.audit.lock().unwrap().iter().find(|e| e.event == "repaired").cloned().expect("the repair is audited");
        assert_eq!(ev.change_id.as_deref(), Some(dead.as_str()), "under the change that left it behind");

        // A change that is still running keeps its connector.
        let again = run_at(&m, NOW + Duration::hours(1)).await;
        assert!(again.repaired.is_empty(), "{:?}", again.repaired);
    }

    #[tokio::test]
    async fn plans_without_writing() {
        let m = mem();
        let p = plan(&m, &settings(), NOW).await.unwrap();
        let r = dry_run_report(&p);
        assert_eq!((r.due, r.urgent, r.invalid, r.skipped), (3, 1, 1, 1));
        assert_eq!(r.changes.len(), 2, "due ones together, the expired one apart");
        let timeouts: Vec<(bool, Option<u32>, Option<u32>)> =
            p.changes.iter().map(|c| (c.urgent, c.approval_timeout_seconds, c.max_concurrency)).collect();
        assert!(timeouts.contains(&(true, Some(4 * 3600), Some(10))), "urgent: the short timeout {timeouts:?}");
        assert!(timeouts.contains(&(false, Some(72 * 3600), Some(10))), "{timeouts:?}");
        assert!(r.changes.iter().all(|c| c.outcome == ChangeOutcome::Planned));
        assert!(m.audit.lock().unwrap().is_empty());
        assert!(m.changes.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_second_scan_starts_nothing_new_and_audits_nothing_twice() {
        let m = mem();
        let first = run(&m).await;
        assert!(first.is_complete(), "{:?}", first.errors);
        assert!(first.changes.iter().all(|c| c.outcome == ChangeOutcome::Started));
        let audited = m.audit.lock().unwrap().len();
        assert_eq!(audited, 3 + 1, "three detected, one invalid");

        let second = run(&m).await;
        assert!(second.changes.is_empty(), "leased connectors are skipped: {:?}", second.changes);
        assert_eq!(second.skipped, 1 + 3);
        assert_eq!(m.started.lock().unwrap().len(), 2);
        assert_eq!(m.audit.lock().unwrap().len(), audited + 1, "only the invalid record is audited again");
    }

    #[tokio::test]
    async fn a_change_whose_workflow_already_exists_is_already_running_not_an_error() {
        let m = mem();
        let planned = plan(&m, &settings(), NOW).await.unwrap();
        // Another scanner (or a retried Lambda) got to StartExecution first.
        m.started.lock().unwrap().insert(planned.changes[0].id.clone());
        let r = run(&m).await;
        assert!(r.is_complete(), "{:?}", r.errors);
        let first = r.changes.iter().find(|c| c.change_id == planned.changes[0].id.as_str()).unwrap();
        assert_eq!(first.outcome, ChangeOutcome::AlreadyRunning);
        assert_eq!(m.started.lock().unwrap().len(), 2, "nothing started twice");
    }

    #[tokio::test]
    async fn connectors_of_an_approver_group_the_routing_lacks_are_invalid_not_started() {
        let m = mem();
        let s = settings();
        let routed = Routed::Groups(["someone-else".to_owned()].into());
        let (_, r) = super::run(&m, &s, &routed, NOW).await.unwrap();
        assert!(r.changes.is_empty(), "{:?}", r.changes);
        assert_eq!((r.due, r.invalid), (0, 1 + 3), "the broken record and the three unrouted ones");
        assert!(m.started.lock().unwrap().is_empty());
        let unrouted: Vec<AuditEvent> = m
            .audit
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.event == "invalid" && e.connector_id.as_str() != "broken")
            .cloned()
            .collect();
        assert_eq!(unrouted.len(), 3);
        assert!(unrouted
            .iter()
            .all(|e| e.detail["errors"].starts_with("approver_group: \"it-change\" is not in the approver routing")));

        // An unreadable routing checks nothing and delays nothing.
        let (_, r) = super::run(&m, &s, &Routed::Unknown, NOW).await.unwrap();
        assert_eq!(r.changes.len(), 2);
    }

    #[tokio::test]
    async fn a_failed_start_is_reported_and_retried_next_scan() {
        let mut m = mem();
        m.fail_start = true;
        let r = run(&m).await;
        assert!(!r.is_complete());
        assert!(r
            .changes
            .iter()
            .all(|c| c.outcome == ChangeOutcome::Failed && c.error.as_deref().unwrap().contains("boom")));
        assert!(m.leases.lock().unwrap().is_empty(), "leases are given back");
        // Same day, same change ids: the retry resumes the same changes.
        m.fail_start = false;
        let again = run(&m).await;
        assert!(again.is_complete());
        assert_eq!(again.changes.len(), 2);
        assert!(again.changes.iter().all(|c| c.outcome == ChangeOutcome::Started));
        let detected = m.audit.lock().unwrap().iter().filter(|e| e.event == "detected").count();
        assert_eq!(detected, 3, "detected is audited once per change, not per attempt");
    }

    #[tokio::test]
    async fn health_counts_what_nobody_is_handling() {
        let mut m = mem();
        m.connectors.push(stored("stuck", "2026-11-28T00:00:00Z", &[("status", "needs_manual_intervention")]));
        m.connectors.push(stored("stuck-later", "2026-12-30T00:00:00Z", &[("status", "needs_manual_intervention")]));
        m.fail_start = true;
        let r = run(&m).await;
        // expired (failed start) and stuck are within 7 days; due-1/due-2 and stuck-later are not.
        assert_eq!(r.health, Health { needs_manual_intervention: 2, expiring_unhandled: 2, approvals_overdue: 0 });

        m.fail_start = false;
        let started = run(&m).await;
        assert_eq!(started.health.expiring_unhandled, 1, "only the stuck one once the changes run");
    }

    #[tokio::test]
    async fn approvals_waiting_past_the_bound_are_overdue() {
        let m = mem();
        run(&m).await;
        let next_day = run_at(&m, NOW + Duration::hours(24)).await;
        assert_eq!(next_day.health.approvals_overdue, 0, "24 h is within the 48 h bound");
        let later = run_at(&m, NOW + Duration::hours(49)).await;
        assert_eq!(later.health.approvals_overdue, 2, "both changes hold due connectors and still wait");
    }
}
