//! The approval-callback page against the in-memory bundle: signed links
//! that are expired, replayed or forged, votes that repeat, the N-of-M and
//! two-person rules, and a decision whose delivery to the workflow failed.

#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;

use keyturn_app::approval::callback::{handle, Method, Page};
use keyturn_app::approval::{ApprovalRequest, TaskToken};
use keyturn_app::ports::{Approvals, ChangeStore};
use keyturn_app::testkit::{one_connector_change, record, Fakes, TaskAnswer};
use keyturn_domain::approval::{ApprovalRule, Approver, Decision, KeyRing, LinkClaims, Nonce, SigningKey};
use keyturn_domain::{ChangeId, ChangeStatus};
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 09:00 UTC);
const ROUTING: &str =
    "groups:\n  it-change:\n    approvers: [ana@acme.example, bo@acme.example, owner@acme.example]\n    \
                       escalation: { email: [oncall@acme.example] }\n";

fn change_id() -> ChangeId {
    ChangeId::from_trusted("chg-20261124-00000000000000aa")
}

fn who(a: &str) -> Approver {
    Approver::parse(a).unwrap()
}

/// A change of one connector awaiting `required` of ana, bo and the owner.
async fn awaiting(required: u32, two_person: bool) -> Fakes {
    let f = Fakes::new(record("acme/k", "atlassian-api-key", &[]), "old-org-key-1234567").routed(ROUTING);
    let change = one_connector_change(change_id().as_str(), "acme/k", NOW - Duration::hours(1));
    f.create(&change).await.unwrap();
    let request = ApprovalRequest {
        approvers: vec![who("ana@acme.example"), who("bo@acme.example"), who("owner@acme.example")],
        rule: ApprovalRule { required: NonZeroU32::new(required).unwrap(), two_person },
        owners: vec![who("owner@acme.example")],
        requested_at: NOW - Duration::hours(1),
        links_expire_at: NOW + Duration::hours(72),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:keyturn-rotation:x".into(),
    };
    assert!(f.open(&change_id(), &request, &TaskToken::new("task-1")).await.unwrap());
    f
}

fn link(f: &Fakes, approver: &str, decision: Decision, expires: OffsetDateTime) -> String {
    let claims = LinkClaims {
        change_id: change_id(),
        approver: who(approver),
        decision,
        expires_at: expires,
        nonce: Nonce::random(),
        connector: None,
    };
    f.ring.sign(&claims).as_str().to_owned()
}

async fn press(f: &Fakes, approver: &str, decision: Decision, at: OffsetDateTime) -> Page {
    let token = link(f, approver, decision, NOW + Duration::hours(72));
    handle(f, Method::Post, Some(&token), None, at).await.unwrap()
}

fn status(f: &Fakes) -> ChangeStatus {
    f.change_record(&change_id()).unwrap().status
}

fn refusals(f: &Fakes) -> Vec<String> {
    f.events().into_iter().filter(|e| e.event == "approval_refused").map(|e| e.detail["reason"].clone()).collect()
}

#[tokio::test]
async fn one_approval_of_one_required_approves_and_hands_the_decision_to_the_workflow() {
    let f = awaiting(1, false).await;
    let page = press(&f, "ana@acme.example", Decision::Approve, NOW).await;
    assert_eq!((page.status, page.outcome), (200, "approved"), "{}", page.html);
    assert_eq!(status(&f), ChangeStatus::Approved);
    let delivered = f.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["decision"], "approved");
    assert_eq!(delivered[0]["approvers"], serde_json::json!(["ana@acme.example"]));
    assert!(f.task_token(&change_id()).await.unwrap().is_none(), "delivered: the token is dropped");
    assert_eq!(f.event_names(), ["vote_recorded", "approved"]);
    assert_eq!(f.event("approved").unwrap().actor, "approver:ana@acme.example");
}

#[tokio::test]
async fn opening_a_link_never_decides_only_the_button_does() {
    let f = awaiting(1, false).await;
    let token = link(&f, "ana@acme.example", Decision::Approve, NOW + Duration::hours(72));
    let page = handle(&f, Method::Get, Some(&token), None, NOW).await.unwrap();
    assert_eq!((page.status, page.outcome), (200, "confirm"), "{}", page.html);
    assert!(page.html.contains("Nothing has been recorded yet"));
    assert!(f.change_record(&change_id()).unwrap().votes.is_empty());
    assert!(f.events().is_empty() && f.delivered.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_rejection_ends_the_change_and_tells_the_workflow() {
    let f = awaiting(2, false).await;
    let page = press(&f, "bo@acme.example", Decision::Reject, NOW).await;
    assert_eq!((page.status, page.outcome), (200, "rejected"), "{}", page.html);
    assert_eq!(status(&f), ChangeStatus::Rejected);
    assert_eq!(f.delivered.lock().unwrap()[0]["rejected_by"], "bo@acme.example");
    assert!(f.event("rejected").is_some());
}

#[tokio::test]
async fn an_expired_link_changes_nothing_and_its_press_is_audited() {
    let f = awaiting(1, false).await;
    let token = link(&f, "ana@acme.example", Decision::Approve, NOW - Duration::seconds(1));
    let page = handle(&f, Method::Post, Some(&token), None, NOW).await.unwrap();
    assert_eq!((page.status, page.outcome), (410, "expired"), "{}", page.html);
    assert_eq!(status(&f), ChangeStatus::AwaitingApproval);
    assert!(f.change_record(&change_id()).unwrap().votes.is_empty());
    assert_eq!(refusals(&f), ["link_expired"]);
    // A mail scanner's GET of the same link is not audited.
    handle(&f, Method::Get, Some(&token), None, NOW).await.unwrap();
    assert_eq!(refusals(&f).len(), 1);
}

#[tokio::test]
async fn a_link_valid_up_to_its_last_second_still_counts() {
    let f = awaiting(1, false).await;
    let token = link(&f, "ana@acme.example", Decision::Approve, NOW);
    let page = handle(&f, Method::Post, Some(&token), None, NOW).await.unwrap();
    assert_eq!(page.outcome, "approved", "{}", page.html);
}

#[tokio::test]
async fn a_forged_signature_is_refused_and_records_nothing() {
    let f = awaiting(1, false).await;
    let other = KeyRing { current: SigningKey::from_parts("test-1", vec![9u8; 32]).unwrap(), previous: None };
    let claims = LinkClaims {
        change_id: change_id(),
        approver: who("ana@acme.example"),
        decision: Decision::Approve,
        expires_at: NOW + Duration::hours(1),
        nonce: Nonce::random(),
        connector: None,
    };
    let forged = other.sign(&claims);
    let page = handle(&f, Method::Post, Some(forged.as_str()), None, NOW).await.unwrap();
    assert_eq!((page.status, page.outcome), (403, "forged"), "{}", page.html);
    // A genuine link whose claims were edited (another approver) fails the same way.
    let genuine: Vec<String> = link(&f, "ana@acme.example", Decision::Approve, NOW + Duration::hours(1))
        .split('.')
        .map(str::to_owned)
        .collect();
    let mut parts: Vec<String> = link(&f, "bo@acme.example", Decision::Approve, NOW + Duration::hours(1))
        .split('.')
        .map(str::to_owned)
        .collect();
    parts[3] = genuine[3].clone();
    let page = handle(&f, Method::Post, Some(&parts.join(".")), None, NOW).await.unwrap();
    assert_eq!(page.status, 403, "{}", page.html);
    assert_eq!(status(&f), ChangeStatus::AwaitingApproval);
    assert!(f.events().is_empty() && f.delivered.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_replayed_link_after_the_decision_changes_nothing() {
    let f = awaiting(1, false).await;
    let token = link(&f, "ana@acme.example", Decision::Approve, NOW + Duration::hours(72));
    assert_eq!(handle(&f, Method::Post, Some(&token), None, NOW).await.unwrap().outcome, "approved");
    for _ in 0..3 {
        let page = handle(&f, Method::Post, Some(&token), None, NOW + Duration::minutes(5)).await.unwrap();
        assert_eq!((page.status, page.outcome), (409, "already_decided"), "{}", page.html);
    }
    assert_eq!(f.delivered.lock().unwrap().len(), 1, "delivered once");
    assert_eq!(refusals(&f), ["already_decided"], "repeats fold into one audit event");
}

#[tokio::test]
async fn a_second_vote_by_the_same_approver_counts_once() {
    let f = awaiting(2, false).await;
    assert_eq!(press(&f, "ana@acme.example", Decision::Approve, NOW).await.outcome, "vote_recorded");
    let again = press(&f, "ana@acme.example", Decision::Approve, NOW + Duration::minutes(1)).await;
    assert_eq!((again.status, again.outcome), (409, "already_voted"), "{}", again.html);
    // Changing one's mind is a second vote too: it does not count.
    let reject = press(&f, "ana@acme.example", Decision::Reject, NOW + Duration::minutes(2)).await;
    assert_eq!(reject.outcome, "already_voted");
    assert_eq!(f.change_record(&change_id()).unwrap().votes.len(), 1);
    assert_eq!(status(&f), ChangeStatus::AwaitingApproval);
    assert!(f.delivered.lock().unwrap().is_empty());
}

#[tokio::test]
async fn two_of_three_approvers_are_needed() {
    let f = awaiting(2, false).await;
    let first = press(&f, "ana@acme.example", Decision::Approve, NOW).await;
    assert_eq!(first.outcome, "vote_recorded");
    assert!(first.html.contains("1 of 2 approvals so far"), "{}", first.html);
    assert!(f.delivered.lock().unwrap().is_empty(), "the workflow still waits");
    let second = press(&f, "bo@acme.example", Decision::Approve, NOW + Duration::minutes(1)).await;
    assert_eq!(second.outcome, "approved", "{}", second.html);
    assert_eq!(f.delivered.lock().unwrap()[0]["approvers"], serde_json::json!(["ana@acme.example", "bo@acme.example"]));
    assert_eq!(f.event("approved").unwrap().detail["approvers"], "ana@acme.example, bo@acme.example");
}

#[tokio::test]
async fn the_owner_cannot_be_the_only_approver_under_the_two_person_rule() {
    let f = awaiting(1, true).await;
    let own = press(&f, "owner@acme.example", Decision::Approve, NOW).await;
    assert_eq!(own.outcome, "vote_recorded", "{}", own.html);
    assert!(own.html.contains("two-person rule needs an approver who does not own these keys"), "{}", own.html);
    assert_eq!(status(&f), ChangeStatus::AwaitingApproval);
    let second = press(&f, "ana@acme.example", Decision::Approve, NOW + Duration::minutes(1)).await;
    assert_eq!(second.outcome, "approved", "{}", second.html);
}

#[tokio::test]
async fn someone_who_is_not_an_approver_is_refused_and_audited() {
    let f = awaiting(1, false).await;
    let page = press(&f, "mallory@acme.example", Decision::Approve, NOW).await;
    assert_eq!((page.status, page.outcome), (403, "wrong_approver"), "{}", page.html);
    assert_eq!(refusals(&f), ["wrong_approver"]);
    assert_eq!(status(&f), ChangeStatus::AwaitingApproval);
}

#[tokio::test]
async fn a_decision_whose_task_is_gone_says_so_and_is_audited() {
    let f = awaiting(1, false).await;
    *f.task_answer.lock().unwrap() = TaskAnswer::Gone;
    let page = press(&f, "ana@acme.example", Decision::Approve, NOW).await;
    assert_eq!((page.status, page.outcome), (410, "expired"), "{}", page.html);
    assert_eq!(refusals(&f), ["workflow_ended"]);
    assert!(f.event("approved").is_none(), "only a decision the workflow got is audited as one");
}

#[tokio::test]
async fn a_decision_recorded_but_never_delivered_is_delivered_by_a_later_press() {
    let f = awaiting(1, false).await;
    *f.task_answer.lock().unwrap() = TaskAnswer::Fail;
    let token = link(&f, "ana@acme.example", Decision::Approve, NOW + Duration::hours(72));
    assert!(handle(&f, Method::Post, Some(&token), None, NOW).await.is_err(), "Step Functions failed the call");
    assert_eq!(status(&f), ChangeStatus::Approved);
    assert!(f.task_token(&change_id()).await.unwrap().is_some(), "decided, not delivered");
    *f.task_answer.lock().unwrap() = TaskAnswer::Deliver;
    // While the first delivery may still be under way, a press does not deliver twice.
    let soon = handle(&f, Method::Post, Some(&token), None, NOW + Duration::seconds(30)).await.unwrap();
    assert_eq!(soon.outcome, "already_decided");
    assert!(f.delivered.lock().unwrap().is_empty());
    // Long after, any press hands the recorded decision over.
    let later = handle(&f, Method::Post, Some(&token), None, NOW + Duration::minutes(5)).await.unwrap();
    assert_eq!(later.outcome, "approved", "{}", later.html);
    assert_eq!(f.delivered.lock().unwrap().len(), 1);
    assert!(f.task_token(&change_id()).await.unwrap().is_none());
    assert!(f.event("approved").is_some());
}
