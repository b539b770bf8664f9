//! Carrying a plan out: audit invalid records, record and claim each change,
//! start its workflow.

use crate::adapters::Adapters;
use crate::ports::{AuditLog, ChangeStore, Inventory, StartOutcome, Workflow};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{Change, ChangeId, ChangeLease, ConnectorId, EventKind, NewAuditEvent};

use super::report::change_report;
use super::*;

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
