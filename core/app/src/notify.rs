//! The `notify` step: how a change ended, told to the people who need to know,
//! recorded in the audit trail, and the connectors given back to the scanner.
//!
//! Called by the state machine at every end: rejected, approval expired,
//! completed (with per-connector outcomes) and workflow failure.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::adapters::Adapters;
use crate::ports::{Approvals, Chat, Inventory, Mailer, RoutingSource, StoreError, Tickets};
use keyturn_domain::approval::routing::{Group, Routing};
use keyturn_domain::approval::Approver;
use keyturn_domain::approval::{Email, SlackWebhook};
use keyturn_domain::timefmt::format_utc;
pub use keyturn_domain::ConnectorOutcome;
use keyturn_domain::{Change, ChangeStatus, EventKind, NewAuditEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    Rejected,
    Expired,
    Completed,
    Failed,
}

/// A Step Functions error caught into `$.error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The execution's state as the state machine passes it (`"change.$": "$"`).
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowState {
    #[serde(flatten)]
    pub change: Change,
    #[serde(default)]
    pub approval: Option<serde_json::Value>,
    #[serde(default)]
    pub outcomes: Vec<ConnectorOutcome>,
    #[serde(default)]
    pub error: Option<WorkflowError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NotifyInput {
    pub event: NotifyEvent,
    pub change: WorkflowState,
    pub execution_arn: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct NotifyReport {
    /// Channels reached: `email:ana@…`, `slack`, `jira:OPS-1`.
    pub notified: Vec<String>,
    /// Channels that failed (the step still succeeds: the audit trail has it).
    pub failed: Vec<String>,
}

/// The final status of the change for each event.
fn final_status(event: NotifyEvent, outcomes: &[ConnectorOutcome]) -> ChangeStatus {
    match event {
        NotifyEvent::Rejected => ChangeStatus::Rejected,
        NotifyEvent::Expired => ChangeStatus::Expired,
        NotifyEvent::Failed => ChangeStatus::Failed,
        NotifyEvent::Completed if outcomes.iter().all(|o| o.outcome == ROTATED) => ChangeStatus::Completed,
        NotifyEvent::Completed => ChangeStatus::Failed,
    }
}

/// The message: subject line and plain text. Ids, statuses and dates only.
pub fn message(input: &NotifyInput, outcomes: &[ConnectorOutcome], now: OffsetDateTime) -> (String, String) {
    let c = &input.change.change;
    let subject = match input.event {
        NotifyEvent::Rejected => format!("Rejected: change {} (nothing was changed)", c.id),
        NotifyEvent::Expired => format!("Approval expired: change {} needs a decision", c.id),
        NotifyEvent::Completed => format!("Finished: change {}", c.id),
        NotifyEvent::Failed => format!("FAILED: change {} needs attention", c.id),
    };
    let mut text = format!(
        "{subject}\n\nChange {}{}\nConnectors: {}\nEarliest key expiry: {}\nAt: {}\nExecution: {}\n",
        c.id,
        if c.urgent { " (URGENT: a key has already expired)" } else { "" },
        c.connectors.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(", "),
        format_utc(c.earliest_expiry),
        format_utc(now),
        input.execution_arn
    );
    match input.event {
        NotifyEvent::Expired => text.push_str(
            "\nNobody approved or rejected the change before the approval timeout. The keys are still due; the next \
             scan opens a new change (new links). Please make sure an approver acts on it.\n",
        ),
        NotifyEvent::Rejected => text.push_str("\nThe change was rejected; no key was touched.\n"),
        NotifyEvent::Failed => {
            if let Some(e) = &input.change.error {
                text.push_str(&format!("\nError: {}: {}\n", e.error, e.cause.chars().take(500).collect::<String>()));
            }
        }
        NotifyEvent::Completed => text.push_str(&outcome_lines(&c.id, outcomes)),
    }
    (subject, text)
}

/// How many rotated lines a message lists before summing up the rest.
const ROTATED_LISTED: usize = 20;

/// Every connector that did not rotate, by name; the rotated ones up to
/// [`ROTATED_LISTED`]: a batch of thousands still makes a readable message.
fn outcome_lines(change: &keyturn_domain::ChangeId, outcomes: &[ConnectorOutcome]) -> String {
    let rotated = outcomes.iter().filter(|o| o.outcome == ROTATED).count();
    let mut text = format!("\nRotated: {rotated} of {}\n", outcomes.len());
    let line = |o: &ConnectorOutcome| {
        format!(
            "* {}: {}{}\n",
            o.connector_id,
            o.outcome,
            o.detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
        )
    };
    for o in outcomes.iter().filter(|o| o.outcome != ROTATED) {
        text.push_str(&line(o));
    }
    for o in outcomes.iter().filter(|o| o.outcome == ROTATED).take(ROTATED_LISTED) {
        text.push_str(&line(o));
    }
    if rotated > ROTATED_LISTED {
        text.push_str(&format!("… and {} more rotated (keyturn changes show {change})\n", rotated - ROTATED_LISTED));
    }
    text
}

const ROTATED: &str = "rotated";
const UNKNOWN: &str = "unknown";

/// Every connector's outcome: what finalize/rollback recorded on the change,
/// else what the workflow state carried (executions started before outcomes
/// were recorded), else `unknown`, which counts as a failure.
pub fn merged_outcomes(
    change: &Change,
    recorded: &[ConnectorOutcome],
    carried: &[ConnectorOutcome],
) -> Vec<ConnectorOutcome> {
    change
        .connectors
        .iter()
        .map(|id| {
            let id = id.as_str();
            recorded.iter().chain(carried).find(|o| o.connector_id == id).cloned().unwrap_or_else(|| ConnectorOutcome {
                connector_id: id.to_owned(),
                outcome: UNKNOWN.into(),
                detail: Some(
                    "no outcome recorded: the rotation steps failed to finish; see the execution and the audit trail"
                        .into(),
                ),
            })
        })
        .collect()
}

/// Who hears about it: escalation contacts for expiry and failure, the
/// approver group's channel (and approvers' inboxes) otherwise.
pub(crate) fn audience(event: NotifyEvent, group: &Group) -> (Vec<Approver>, Option<&SlackWebhook>) {
    match event {
        NotifyEvent::Expired | NotifyEvent::Failed => {
            let mut to = group.escalation.email.clone();
            if to.is_empty() {
                to = group.approvers.clone();
            }
            (to, group.escalation.slack_webhook.as_ref().or(group.slack_webhook.as_ref()))
        }
        NotifyEvent::Rejected | NotifyEvent::Completed => {
            (if group.email { group.approvers.clone() } else { Vec::new() }, group.slack_webhook.as_ref())
        }
    }
}

/// Sends one plain message by email (one mail to all of `to`) and Slack;
/// returns the channels reached (`email:ana@…`, `slack`) and the failures.
pub(crate) async fn tell<M: Mailer, C: Chat>(
    mailer: &M,
    chat: &C,
    to: &[Approver],
    hook: Option<&SlackWebhook>,
    subject: &str,
    text: &str,
) -> (Vec<String>, Vec<String>) {
    let (mut reached, mut failed) = (Vec::new(), Vec::new());
    if !to.is_empty() && mailer.configured() {
        let html = keyturn_domain::approval::html_message(subject, text);
        let email = Email { to: to.to_vec(), subject: subject.to_owned(), text: text.to_owned(), html };
        match mailer.send(&email).await {
            Ok(_) => reached.extend(to.iter().map(|a| format!("email:{a}"))),
            Err(e) => failed.push(format!("email: {e}")),
        }
    }
    if let Some(hook) = hook {
        let payload = serde_json::json!({"text": format!("*{}*\n{}", keyturn_domain::slack_escape(subject), keyturn_domain::slack_escape(text))});
        match chat.post(hook, &payload).await {
            Ok(()) => reached.push("slack".into()),
            Err(e) => failed.push(format!("slack: {e}")),
        }
    }
    (reached, failed)
}

/// Gives every connector of the change back, a few at a time (the first
/// error wins; the state machine retries the step and releasing is idempotent).
async fn release_all<I: Inventory>(inventory: &I, change: &Change) -> Result<(), StoreError> {
    use futures::{StreamExt, TryStreamExt};
    futures::stream::iter(change.connectors.iter().map(|c| inventory.release(c, &change.id)))
        .buffer_unordered(crate::audit::PARALLEL_APPENDS)
        .try_collect()
        .await
}

pub async fn notify<A: Adapters>(
    ports: &A,
    input: &NotifyInput,
    now: OffsetDateTime,
) -> Result<NotifyReport, StoreError> {
    let change = &input.change.change;
    let record = ports.approvals().get(&change.id).await?;
    let outcomes = match input.event {
        NotifyEvent::Completed => {
            merged_outcomes(change, record.as_ref().map_or(&[][..], |r| &r.outcomes), &input.change.outcomes)
        }
        _ => Vec::new(),
    };
    let status = final_status(input.event, &outcomes);
    ports.approvals().finish(&change.id, status, now).await?;
    release_all(ports.inventory(), change).await?;
    if input.event == NotifyEvent::Expired {
        let events = change.connectors.iter().map(|c| {
            let mut ev =
                NewAuditEvent::new(c.clone(), EventKind::Expired, now, "keyturn:notify").change(&change.id).once();
            ev.execution_arn = Some(input.execution_arn.clone());
            ev
        });
        crate::audit::append_each(ports.audit(), events.collect()).await?;
    }

    let (subject, text) = message(input, &outcomes, now);
    let mut report = NotifyReport::default();
    // A missing or broken routing must not hide the outcome: it is reported
    // as a failed channel and the audit trail still records the end.
    let routing: Result<Routing, StoreError> = ports.routing().routing().await;
    match routing.as_ref().map(|r| r.group(&change.approver_group)) {
        Ok(Ok(group)) => {
            let (to, hook) = audience(input.event, group);
            let (reached, failed) = tell(ports.mailer(), ports.chat(), &to, hook, &subject, &text).await;
            report.notified.extend(reached);
            report.failed.extend(failed);
            // Rollback tells on-call itself; a connector with no outcome had
            // no rollback that could (its function kept dying): on-call hears
            // it here, or nobody would.
            if outcomes.iter().any(|o| o.outcome == UNKNOWN) {
                let (to, hook) = audience(NotifyEvent::Failed, group);
                let subject = format!("UNKNOWN OUTCOME: {subject}");
                let (reached, failed) = tell(ports.mailer(), ports.chat(), &to, hook, &subject, &text).await;
                report.notified.extend(reached);
                report.failed.extend(failed);
            }
        }
        Ok(Err(e)) => report.failed.push(e.to_string()),
        Err(e) => report.failed.push(format!("routing: {e}")),
    }
    if let (Some(tickets), Some(record)) = (ports.tickets(), record.as_ref()) {
        if let Some(key) = &record.ticket {
            match tickets.comment(key, &text).await {
                Ok(()) => report.notified.push(format!("jira:{key}")),
                Err(e) => report.failed.push(format!("jira {key}: {e}")),
            }
        }
    }

    let events = change.connectors.iter().map(|c| {
        let mut ev = NewAuditEvent::new(c.clone(), EventKind::Notified, now, "keyturn:notify")
            .change(&change.id)
            .once()
            .detail("event", format!("{:?}", input.event).to_lowercase())
            .detail("change_status", status.as_str())
            .detail("notified", report.notified.join(", "));
        if !report.failed.is_empty() {
            ev = ev.detail("failed", report.failed.join("; "));
        }
        if let Some(o) = outcomes.iter().find(|o| o.connector_id == c.as_str()) {
            ev = ev.detail("outcome", o.outcome.clone());
        }
        ev.execution_arn = Some(input.execution_arn.clone());
        ev
    });
    crate::audit::append_each(ports.audit(), events.collect()).await?;
    if !report.failed.is_empty() {
        tracing::error!(change_id = %change.id, failed = ?report.failed, "some notifications failed");
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyturn_domain::{ChangeId, ConnectorId};
    use time::macros::datetime;

    fn change(n: usize) -> Change {
        Change {
            id: ChangeId::from_trusted("chg-20261124-00000000000000aa"),
            connectors: (0..n).map(|i| ConnectorId::parse(&format!("acme/k{i:04}")).unwrap()).collect(),
            urgent: false,
            approver_group: "it".into(),
            org: None,
            window: None,
            earliest_expiry: datetime!(2026-12-24 00:00 UTC),
            detected_at: datetime!(2026-11-24 06:00 UTC),
            approval_timeout_seconds: None,
            intake_timeout_seconds: None,
            max_concurrency: None,
            items: Vec::new(),
        }
    }

    fn outcome(id: &str, outcome: &str) -> ConnectorOutcome {
        ConnectorOutcome { connector_id: id.into(), outcome: outcome.into(), detail: None }
    }

    #[test]
    fn a_connector_without_a_recorded_outcome_counts_as_a_failure() {
        let c = change(3);
        let recorded = [outcome("acme/k0000", "rotated"), outcome("acme/k0002", "rolled_back")];
        let carried = [outcome("acme/k0002", "rotated")];
        let all = merged_outcomes(&c, &recorded, &carried);
        let words: Vec<&str> = all.iter().map(|o| o.outcome.as_str()).collect();
        assert_eq!(words, ["rotated", "unknown", "rolled_back"], "the record wins over the state");
        assert_eq!(final_status(NotifyEvent::Completed, &all), ChangeStatus::Failed);
        let fine =
            merged_outcomes(&c, &[], &[]).into_iter().map(|o| outcome(&o.connector_id, "rotated")).collect::<Vec<_>>();
        assert_eq!(final_status(NotifyEvent::Completed, &fine), ChangeStatus::Completed);
    }

    #[test]
    fn a_large_batch_lists_every_failure_and_sums_up_the_rotated() {
        let c = change(2000);
        let mut all: Vec<ConnectorOutcome> = c.connectors.iter().map(|id| outcome(id.as_str(), "rotated")).collect();
        all[1234].outcome = "rolled_back".into();
        let text = outcome_lines(&c.id, &all);
        assert!(text.contains("Rotated: 1999 of 2000"), "{text}");
        assert!(text.contains("* acme/k1234: rolled_back"), "{text}");
        assert!(text.contains("… and 1979 more rotated"), "{text}");
        assert!(text.lines().count() < 30, "a readable message: {} lines", text.lines().count());
    }
}
