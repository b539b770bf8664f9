//! The `notify` step: how a change ended, told to the people who need to know,
//! recorded in the audit trail, and the connectors given back to the scanner.
//!
//! Called by the state machine at every end: rejected, approval expired,
//! completed (with per-connector outcomes) and workflow failure.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::approval::routing::{Group, Routing};
use crate::approval::{Email, SlackWebhook};
use crate::domain::approval::Approver;
use crate::domain::timefmt::format_utc;
use crate::domain::{Change, ChangeStatus, EventKind, NewAuditEvent};
use crate::ports::{Approvals, AuditLog, Chat, Inventory, Mailer, RoutingSource, StoreError, Tickets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    Rejected,
    Expired,
    Completed,
    Failed,
}

/// One connector's result from the rotation map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorOutcome {
    pub connector_id: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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

pub struct NotifyPorts<'a, A, I, R, M, C, T, Au> {
    pub approvals: &'a A,
    pub inventory: &'a I,
    pub routing: &'a R,
    pub mailer: &'a M,
    pub chat: &'a C,
    pub tickets: Option<&'a T>,
    pub audit: &'a Au,
}

/// The final status of the change for each event.
fn final_status(event: NotifyEvent, outcomes: &[ConnectorOutcome]) -> ChangeStatus {
    match event {
        NotifyEvent::Rejected => ChangeStatus::Rejected,
        NotifyEvent::Expired => ChangeStatus::Expired,
        NotifyEvent::Failed => ChangeStatus::Failed,
        NotifyEvent::Completed if outcomes.iter().all(|o| o.outcome == "rotated") => ChangeStatus::Completed,
        NotifyEvent::Completed => ChangeStatus::Failed,
    }
}

/// The message: subject line and plain text. Ids, statuses and dates only.
pub fn message(input: &NotifyInput, now: OffsetDateTime) -> (String, String) {
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
        NotifyEvent::Completed => {
            text.push('\n');
            for o in &input.change.outcomes {
                text.push_str(&format!(
                    "* {}: {}{}\n",
                    o.connector_id,
                    o.outcome,
                    o.detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
                ));
            }
        }
    }
    (subject, text)
}

/// Who hears about it: escalation contacts for expiry and failure, the
/// approver group's channel (and approvers' inboxes) otherwise.
fn audience(event: NotifyEvent, group: &Group) -> (Vec<Approver>, Option<&SlackWebhook>) {
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

pub async fn notify<A, I, R, M, C, T, Au>(
    ports: &NotifyPorts<'_, A, I, R, M, C, T, Au>,
    input: &NotifyInput,
    now: OffsetDateTime,
) -> Result<NotifyReport, StoreError>
where
    A: Approvals,
    I: Inventory,
    R: RoutingSource,
    M: Mailer,
    C: Chat,
    T: Tickets,
    Au: AuditLog,
{
    let change = &input.change.change;
    let status = final_status(input.event, &input.change.outcomes);
    ports.approvals.finish(&change.id, status, now).await?;
    for c in &change.connectors {
        ports.inventory.release(c, &change.id).await?;
    }
    if input.event == NotifyEvent::Expired {
        for c in &change.connectors {
            let mut ev = NewAuditEvent::new(c.clone(), EventKind::Expired, now, "keyturn:notify").change(&change.id);
            ev.execution_arn = Some(input.execution_arn.clone());
            ports.audit.append(ev).await?;
        }
    }

    let (subject, text) = message(input, now);
    let mut report = NotifyReport::default();
    // A missing or broken routing must not hide the outcome: it is reported
    // as a failed channel and the audit trail still records the end.
    let routing: Result<Routing, StoreError> = ports.routing.routing().await;
    match routing.as_ref().map(|r| r.group(&change.approver_group)) {
        Ok(Ok(group)) => {
            let (to, hook) = audience(input.event, group);
            if !to.is_empty() {
                let html = crate::approval::html_message(&subject, &text);
                let email = Email { to: to.clone(), subject: subject.clone(), text: text.clone(), html };
                match ports.mailer.send(&email).await {
                    Ok(_) => report.notified.extend(to.iter().map(|a| format!("email:{a}"))),
                    Err(e) => report.failed.push(format!("email: {e}")),
                }
            }
            if let Some(hook) = hook {
                let payload = serde_json::json!({"text": format!("*{}*\n{}", crate::http::slack_escape(&subject), crate::http::slack_escape(&text))});
                match ports.chat.post(hook, &payload).await {
                    Ok(()) => report.notified.push("slack".into()),
                    Err(e) => report.failed.push(format!("slack: {e}")),
                }
            }
        }
        Ok(Err(e)) => report.failed.push(e.to_string()),
        Err(e) => report.failed.push(format!("routing: {e}")),
    }
    if let (Some(tickets), Some(record)) = (ports.tickets, ports.approvals.get(&change.id).await?) {
        if let Some(key) = &record.ticket {
            match tickets.comment(key, &text).await {
                Ok(()) => report.notified.push(format!("jira:{key}")),
                Err(e) => report.failed.push(format!("jira {key}: {e}")),
            }
        }
    }

    for c in &change.connectors {
        let mut ev = NewAuditEvent::new(c.clone(), EventKind::Notified, now, "keyturn:notify")
            .change(&change.id)
            .detail("event", format!("{:?}", input.event).to_lowercase())
            .detail("change_status", status.as_str())
            .detail("notified", report.notified.join(", "));
        if !report.failed.is_empty() {
            ev = ev.detail("failed", report.failed.join("; "));
        }
        if let Some(o) = input.change.outcomes.iter().find(|o| o.connector_id == c.as_str()) {
            ev = ev.detail("outcome", o.outcome.clone());
        }
        ev.execution_arn = Some(input.execution_arn.clone());
        ports.audit.append(ev).await?;
    }
    if !report.failed.is_empty() {
        tracing::error!(change_id = %change.id, failed = ?report.failed, "some notifications failed");
    }
    Ok(report)
}
