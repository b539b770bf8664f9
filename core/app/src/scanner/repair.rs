//! Unwedging connectors left `rotating` by a change whose execution ended.

use serde::Serialize;

use crate::adapters::Adapters;
use crate::ports::{AuditLog, ExecutionState, Inventory, Workflow};
use keyturn_domain::{ChangeId, ConnectorId, ConnectorStatus, EventKind, NewAuditEvent};

use super::*;

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
