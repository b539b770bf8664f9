//! The notify step: each way a change ends is told to the right people,
//! recorded on the change and in the audit trail, and its connectors given back.

#![allow(clippy::unwrap_used)]

use keyturn_app::notify::{notify, ConnectorOutcome, NotifyEvent, NotifyInput, WorkflowError, WorkflowState};
use keyturn_app::ports::{Approvals, ChangeStore, OutcomeLog};
use keyturn_app::testkit::{one_connector_change, record, Fakes};
use keyturn_domain::{Change, ChangeLease, ChangeStatus, ConnectorId};
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 09:00 UTC);
const ROUTING: &str = "groups:\n  it-change:\n    approvers: [ana@acme.example]\n    \
                       slack_webhook: https://hooks.slack.com/services/T0/B0/approvers\n    \
                       escalation: { email: [oncall@acme.example], slack_webhook: https://hooks.slack.com/services/T0/B0/oncall }\n";

fn change() -> Change {
    one_connector_change("chg-20261124-00000000000000aa", "acme/k", NOW - Duration::days(1))
}

/// A change on record whose connector it holds.
async fn held() -> Fakes {
    let f = Fakes::new(record("acme/k", "atlassian-api-key", &[]), "old-org-key-1234567").routed(ROUTING);
    f.create(&change()).await.unwrap();
    let lease = ChangeLease { change_id: change().id, until: NOW + Duration::days(14) };
    f.leases.lock().unwrap().insert(ConnectorId::parse("acme/k").unwrap(), lease);
    f
}

fn input(event: NotifyEvent, outcomes: Vec<ConnectorOutcome>, error: Option<WorkflowError>) -> NotifyInput {
    NotifyInput {
        event,
        change: WorkflowState { change: change(), approval: None, outcomes, error },
        execution_arn: "arn:exec:x".into(),
    }
}

fn rotated() -> ConnectorOutcome {
    ConnectorOutcome { connector_id: "acme/k".into(), outcome: "rotated".into(), detail: None }
}

fn mailed_to(f: &Fakes) -> Vec<String> {
    f.mail.lock().unwrap().iter().flat_map(|m| m.to.iter().map(|a| a.to_string())).collect()
}

fn slack_hooks(f: &Fakes) -> Vec<String> {
    f.posts.lock().unwrap().iter().map(|(h, _)| h.rsplit('/').next().unwrap().to_owned()).collect()
}

/// The one `notified` event, and that the connector was given back.
fn assert_recorded(f: &Fakes, event: &str, status: ChangeStatus) {
    let ev = f.event("notified").expect("the end is audited");
    assert_eq!(ev.detail["event"], event);
    assert_eq!(ev.detail["change_status"], status.as_str());
    assert_eq!(f.change_record(&change().id).unwrap().status, status);
    assert!(f.leases.lock().unwrap().is_empty(), "the connector is given back");
}

#[tokio::test]
async fn a_rejection_is_told_to_the_approvers_and_recorded() {
    let f = held().await;
    let report = notify(&f, &input(NotifyEvent::Rejected, vec![], None), NOW).await.unwrap();
    assert_eq!(mailed_to(&f), ["ana@acme.example"]);
    assert_eq!(slack_hooks(&f), ["approvers"]);
    assert_eq!(report.notified, ["email:ana@acme.example", "slack"]);
    assert!(f.mail.lock().unwrap()[0].subject.starts_with("Rejected"));
    assert_recorded(&f, "rejected", ChangeStatus::Rejected);
}

#[tokio::test]
async fn an_expired_approval_escalates_to_on_call_and_audits_the_expiry() {
    let f = held().await;
    notify(&f, &input(NotifyEvent::Expired, vec![], None), NOW).await.unwrap();
    assert_eq!(mailed_to(&f), ["oncall@acme.example"]);
    assert_eq!(slack_hooks(&f), ["oncall"]);
    assert!(f.event("expired").is_some(), "the expiry is its own audit event");
    assert_recorded(&f, "expired", ChangeStatus::Expired);
}

#[tokio::test]
async fn a_completed_change_is_told_to_the_approvers_with_each_outcome() {
    let f = held().await;
    f.record_outcome(&change().id, &rotated()).await.unwrap();
    notify(&f, &input(NotifyEvent::Completed, vec![], None), NOW).await.unwrap();
    assert_eq!(mailed_to(&f), ["ana@acme.example"]);
    assert_eq!(f.event("notified").unwrap().detail["outcome"], "rotated");
    assert_recorded(&f, "completed", ChangeStatus::Completed);
}

#[tokio::test]
async fn a_completed_change_with_a_connector_without_outcome_is_a_failure_on_call_hears_of() {
    let f = held().await;
    notify(&f, &input(NotifyEvent::Completed, vec![], None), NOW).await.unwrap();
    assert_eq!(mailed_to(&f), ["ana@acme.example", "oncall@acme.example"]);
    assert!(f.mail.lock().unwrap()[1].subject.starts_with("UNKNOWN OUTCOME"));
    assert_eq!(f.event("notified").unwrap().detail["outcome"], "unknown");
    assert_recorded(&f, "completed", ChangeStatus::Failed);
}

#[tokio::test]
async fn a_failed_workflow_escalates_to_on_call_and_is_recorded_failed() {
    let f = held().await;
    let error = WorkflowError { error: "States.Timeout".into(), cause: "the task timed out".into() };
    notify(&f, &input(NotifyEvent::Failed, vec![], Some(error)), NOW).await.unwrap();
    assert_eq!(mailed_to(&f), ["oncall@acme.example"]);
    assert_eq!(slack_hooks(&f), ["oncall"]);
    assert_recorded(&f, "failed", ChangeStatus::Failed);
}

#[tokio::test]
async fn an_urgent_changes_ticket_hears_the_outcome() {
    let f = held().await.with_tickets();
    f.set_ticket(&change().id, "OPS-7").await.unwrap();
    let report = notify(&f, &input(NotifyEvent::Completed, vec![rotated()], None), NOW).await.unwrap();
    assert!(report.notified.contains(&"jira:OPS-7".to_owned()), "{report:?}");
    assert_eq!(f.ticket_comments.lock().unwrap()[0].0, "OPS-7");
}

#[tokio::test]
async fn a_channel_that_fails_is_reported_and_the_end_still_recorded() {
    let f = held().await;
    *f.chat_fails.lock().unwrap() = true;
    let report = notify(&f, &input(NotifyEvent::Rejected, vec![], None), NOW).await.unwrap();
    assert_eq!(report.notified, ["email:ana@acme.example"]);
    assert!(report.failed[0].starts_with("slack"), "{report:?}");
    assert!(f.event("notified").unwrap().detail["failed"].contains("slack"));
    assert_recorded(&f, "rejected", ChangeStatus::Rejected);
}

#[tokio::test]
async fn a_finished_change_is_never_moved_back() {
    let f = held().await;
    notify(&f, &input(NotifyEvent::Completed, vec![rotated()], None), NOW).await.unwrap();
    f.finish(&change().id, ChangeStatus::Expired, NOW).await.unwrap();
    assert_eq!(f.change_record(&change().id).unwrap().status, ChangeStatus::Completed);
    // A retried notify step audits its end once.
    notify(&f, &input(NotifyEvent::Completed, vec![rotated()], None), NOW).await.unwrap();
    assert_eq!(f.event_names().iter().filter(|e| *e == "notified").count(), 1);
}
