//! The scanner against the in-memory bundle.

use super::*;
use crate::inventory::{Location, RawRecord};
use crate::ports::StoredConnector;
use crate::testkit::Fakes;
use keyturn_domain::{AuditEvent, ChangeId};
use keyturn_domain::{ChangeLease, ConnectorId, DuePolicy, Grouping};
use std::collections::BTreeMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

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
    let ev = m.audit.lock().unwrap().iter().find(|e| e.event == "repaired").cloned().expect("the repair is audited");
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
