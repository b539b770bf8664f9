//! Changes the scan unwedged connectors of: told to their escalation contacts.

use std::collections::BTreeMap;

use crate::adapters::Adapters;
use crate::approval::routing::Routing;
use crate::scanner::{Plan, ScanReport};
use keyturn_domain::ChangeId;

use super::*;

/// Each change the scan unwedged connectors of: its escalation contacts hear
/// which connectors and what had become of the execution. The group comes
/// from the connectors themselves: a dead change may have no record left.
pub(super) async fn repaired<A: Adapters>(
    ports: &A,
    routing: &Routing,
    plan: &Plan,
    report: &ScanReport,
    out: &mut WatchReport,
) {
    let group_of = |id: &keyturn_domain::ConnectorId| {
        plan.due
            .iter()
            .find(|d| &d.connector.id == id)
            .map(|d| d.connector.approver_group.as_str())
            .or_else(|| plan.skipped.iter().find(|s| &s.connector_id == id).map(|s| s.approver_group.as_str()))
    };
    let mut by_change: BTreeMap<(&ChangeId, &str), Vec<&crate::scanner::RepairedItem>> = BTreeMap::new();
    for r in &report.repaired {
        match group_of(&r.connector_id) {
            Some(g) => by_change.entry((&r.change_id, g)).or_default().push(r),
            None => out.errors.push(format!("repair alert: {} is not in this scan", r.connector_id)),
        }
    }
    for ((change, group), items) in by_change {
        let Ok(group) = routing.group(group) else {
            out.errors.push(format!("repair alert for {change}: approver group {group} not in the routing"));
            continue;
        };
        let subject = format!("Repaired: {} connector(s) left rotating by change {change}", items.len());
        let mut text = format!(
            "{subject}\n\nThe change's execution is no longer running, but its connectors were still marked \
             rotating. keyturn reset them to active and audited `repaired`; they join today's changes.\n\n"
        );
        for i in &items {
            text.push_str(&format!("* {}: execution {}\n", i.connector_id, i.execution));
        }
        alert((ports.mailer(), ports.chat()), group, &format!("repaired {change}"), &subject, &text, out).await;
    }
}
