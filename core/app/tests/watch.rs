//! What the scheduled scan says besides starting changes, against the
//! in-memory bundle: reminders at each mark (the last escalates), owners
//! reminded of a key hand-over, stuck runs, repairs, the daily digest, each
//! sent once however often the scan runs.

#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;

use keyturn_app::approval::{ApprovalRequest, Routing, TaskToken};
use keyturn_app::ports::{Approvals, IntakeTokens};
use keyturn_app::scanner::{self, Routed, ScanSettings};
use keyturn_app::testkit::{record, Fakes, ROUTING};
use keyturn_app::watch::{watch, WatchReport, WatchSettings, REMINDER_DAYS};
use keyturn_domain::approval::{ApprovalRule, Approver};
use keyturn_domain::{ChangeId, ChangeLease, ChangeStatus, ConnectorId, DuePolicy, Grouping};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The first scan; the key expires on Dec 20, so the marks are Dec 6 (14
/// days), Dec 13 (7) and Dec 19 (1); the 30-day mark passed before the request.
const T0: OffsetDateTime = datetime!(2026-11-24 06:00 UTC);

fn scan_settings() -> ScanSettings {
    ScanSettings {
        policy: DuePolicy::default(),
        grouping: Grouping::Org,
        // Longer than the whole wait: the change keeps its connector.
        lease: Duration::days(60),
        approval_timeout: Duration::days(30),
        urgent_approval_timeout: Duration::hours(4),
        intake_timeout: Duration::days(30),
        approval_overdue: Duration::days(2),
        only: None,
        map_concurrency: 10,
    }
}

fn settings() -> WatchSettings {
    WatchSettings {
        reminder_days: REMINDER_DAYS.to_vec(),
        stuck_after: Duration::days(30),
        digest_within: Duration::days(30),
        approval_url: Some("https://keyturn.example/approve".into()),
    }
}

fn fakes(extra: &[(&str, &str)]) -> Fakes {
    let mut fields = vec![("expires_at", "2026-12-20T00:00:00Z")];
    fields.extend_from_slice(extra);
    Fakes::with_connectors(vec![record("acme/k", "atlassian-api-key", &fields)])
}

fn routing() -> Result<Routing, keyturn_app::ports::StoreError> {
    Ok(Routing::from_yaml(ROUTING).unwrap())
}

/// One scan at `now` and what the watch says after it.
async fn scan_and_watch(f: &Fakes, now: OffsetDateTime, s: &WatchSettings, full: bool) -> WatchReport {
    let routed = Routed::Groups(["it-change".to_owned()].into());
    let (plan, report) = scanner::run(f, &scan_settings(), &routed, now).await.unwrap();
    watch(f, &routing(), s, &plan, &report, full).await
}

/// The first scan's change, opened for approval at `T0`.
async fn awaiting_approval(f: &Fakes) -> ChangeId {
    scan_and_watch(f, T0, &settings(), false).await;
    let id = f.records.lock().unwrap().keys().next().cloned().expect("the scan made a change");
    let request = ApprovalRequest {
        approvers: vec![Approver::parse("ana@acme.example").unwrap()],
        rule: ApprovalRule { required: NonZeroU32::MIN, two_person: false },
        owners: vec![Approver::parse("owner@acme.example").unwrap()],
        requested_at: T0,
        links_expire_at: datetime!(2026-12-31 00:00 UTC),
        execution_arn: "arn:exec:x".into(),
    };
    assert!(f.open(&id, &request, &TaskToken::new("task-1")).await.unwrap());
    id
}

fn mails(f: &Fakes) -> Vec<(String, String)> {
    f.mail.lock().unwrap().iter().map(|m| (m.to[0].to_string(), m.subject.clone())).collect()
}

#[tokio::test]
async fn approvers_are_reminded_once_at_each_mark_and_the_last_mark_escalates() {
    let f = fakes(&[]);
    let id = awaiting_approval(&f).await;
    let quiet = scan_and_watch(&f, datetime!(2026-12-05 12:00 UTC), &settings(), false).await;
    assert!(quiet.reminders.is_empty(), "no mark due yet: {quiet:?}");
    for (at, days) in [
        (datetime!(2026-12-06 01:00 UTC), 14),
        (datetime!(2026-12-13 01:00 UTC), 7),
        (datetime!(2026-12-19 01:00 UTC), 1),
    ] {
        f.mail.lock().unwrap().clear();
        let r = scan_and_watch(&f, at, &settings(), false).await;
        assert_eq!(r.reminders.len(), 1, "mark {days}: {r:?}");
        assert_eq!((r.reminders[0].days, r.reminders[0].escalated), (days, days == 1), "{r:?}");
        let sent = mails(&f);
        assert_eq!(sent[0].0, "ana@acme.example", "fresh links to the approver: {sent:?}");
        assert_eq!(sent.iter().any(|(to, _)| to == "oncall@acme.example"), days == 1, "only the last escalates");
        let again = scan_and_watch(&f, at + Duration::hours(1), &settings(), false).await;
        assert!(again.reminders.is_empty(), "mark {days} is sent once: {again:?}");
    }
    let reminded: Vec<String> = f
        .events()
        .into_iter()
        .filter(|e| e.event == "reminded")
        .map(|e| e.detail["days_before_expiry"].clone())
        .collect();
    assert_eq!(reminded, ["14", "7", "1"]);
    assert_eq!(f.change_record(&id).unwrap().notices, ["remind:14", "remind:7", "remind:1"]);
}

#[tokio::test]
async fn a_scan_that_missed_marks_sends_one_reminder_for_the_most_urgent() {
    let f = fakes(&[]);
    awaiting_approval(&f).await;
    let r = scan_and_watch(&f, datetime!(2026-12-14 01:00 UTC), &settings(), false).await;
    assert_eq!(r.reminders.iter().map(|r| r.days).collect::<Vec<_>>(), [7], "{r:?}");
}

#[tokio::test]
async fn an_owner_who_has_not_handed_over_the_key_is_reminded_and_the_last_mark_escalates() {
    let f = fakes(&[]);
    let id = awaiting_approval(&f).await;
    assert!(f.close(&id, ChangeStatus::Approved, T0, None).await.unwrap());
    let k = ConnectorId::parse("acme/k").unwrap();
    f.put_intake(&id, &k, &TaskToken::new("task-2"), T0, datetime!(2026-12-31 00:00 UTC)).await.unwrap();
    let r = scan_and_watch(&f, datetime!(2026-12-06 01:00 UTC), &settings(), false).await;
    assert_eq!(r.reminders.len(), 1, "{r:?}");
    assert_eq!(r.reminders[0].connector_id.as_deref(), Some("acme/k"));
    let sent = mails(&f);
    assert_eq!(sent[0].0, "owner@acme.example");
    assert!(sent[0].1.starts_with("Reminder (14 days before the key expires)"), "{sent:?}");
    f.mail.lock().unwrap().clear();
    let last = scan_and_watch(&f, datetime!(2026-12-19 01:00 UTC), &settings(), false).await;
    assert!(last.reminders[0].escalated, "{last:?}");
    assert!(mails(&f).iter().any(|(to, s)| to == "oncall@acme.example" && s.contains("was not handed over")));
}

#[tokio::test]
async fn a_run_past_its_bound_is_counted_every_scan_and_told_to_on_call_once_a_day() {
    let f = fakes(&[]);
    let id = awaiting_approval(&f).await;
    let s = WatchSettings { stuck_after: Duration::days(3), ..settings() };
    let at = T0 + Duration::days(4);
    let r = scan_and_watch(&f, at, &s, false).await;
    assert_eq!(r.stuck, [id.to_string()], "{r:?}");
    assert_eq!(r.alerts, [format!("stuck {id} → email:oncall@acme.example")]);
    let again = scan_and_watch(&f, at + Duration::hours(1), &s, false).await;
    assert_eq!(again.stuck.len(), 1, "still counted");
    assert!(again.alerts.is_empty(), "told once a day: {again:?}");
    let next_day = scan_and_watch(&f, at + Duration::days(1), &s, false).await;
    assert_eq!(next_day.alerts.len(), 1, "and again the next day");
}

#[tokio::test]
async fn a_repaired_connector_is_told_to_on_call() {
    let f = fakes(&[("status", "rotating")]);
    let dead = ChangeId::from_trusted("chg-20261101-00000000000000aa");
    let lease = ChangeLease { change_id: dead.clone(), until: T0 - Duration::days(1) };
    f.leases.lock().unwrap().insert(ConnectorId::parse("acme/k").unwrap(), lease);
    let r = scan_and_watch(&f, T0, &settings(), false).await;
    assert_eq!(r.alerts, [format!("repaired {dead} → email:oncall@acme.example")], "{r:?}");
    let (to, subject) = mails(&f).remove(0);
    assert_eq!(to, "oncall@acme.example");
    assert!(subject.contains(&format!("left rotating by change {dead}")), "{subject}");
}

#[tokio::test]
async fn each_group_gets_its_digest_once_a_day_and_only_after_a_full_scan() {
    let f = fakes(&[]);
    let at = datetime!(2026-11-25 06:00 UTC);
    let partial = scan_and_watch(&f, at, &settings(), false).await;
    assert!(partial.digests.is_empty(), "a targeted scan does not know every key");
    let r = scan_and_watch(&f, at, &settings(), true).await;
    assert_eq!(r.digests, ["it-change"], "{r:?}");
    let digest = f.mail.lock().unwrap().last().cloned().unwrap();
    assert_eq!(digest.to[0].as_str(), "ana@acme.example");
    assert!(digest.subject.contains("1 key(s) of it-change expire within 30 days"), "{}", digest.subject);
    assert!(digest.text.contains("* acme/k: expires 2026-12-20"), "{}", digest.text);
    let again = scan_and_watch(&f, at + Duration::hours(2), &settings(), true).await;
    assert!(again.digests.is_empty(), "once a day");
    let tomorrow = scan_and_watch(&f, at + Duration::days(1), &settings(), true).await;
    assert_eq!(tomorrow.digests, ["it-change"]);
}

#[tokio::test]
async fn a_failing_mailer_is_reported_in_the_scans_errors_not_hidden() {
    let f = fakes(&[]);
    awaiting_approval(&f).await;
    *f.mail_fails.lock().unwrap() = true;
    let r = scan_and_watch(&f, datetime!(2026-12-19 01:00 UTC), &settings(), false).await;
    assert!(r.errors.iter().any(|e| e.contains("escalation of") && e.contains("email")), "{:?}", r.errors);
}
