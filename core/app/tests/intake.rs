//! The key hand-over, through the signed-link page as the owner reaches it:
//! a wrong key is refused and stored nowhere, a used or expired link takes
//! nothing, and the key never appears in a page, an audit item or a message.

#![allow(clippy::unwrap_used)]

use keyturn_app::approval::callback::{handle, Method, Page};
use keyturn_app::approval::intake::{request_key, KeyRequest};
use keyturn_app::approval::TaskToken;
use keyturn_app::ports::IntakeTokens;
use keyturn_app::rotation::StepInput;
use keyturn_app::testkit::{record, Fakes, TaskAnswer};
use keyturn_domain::approval::{Approver, Decision, LinkClaims, Nonce};
use keyturn_domain::{ChangeId, ConnectorId, SecretValue};
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 09:00 UTC);
const FRESH: &str = "atst-fresh-key-just-regenerated-0123";
const WRONG: &str = "atst-wrong-key-pasted-by-mistake-9876";

fn change() -> ChangeId {
    ChangeId::from_trusted("chg-20261124-00000000000000aa")
}

fn connector() -> ConnectorId {
    ConnectorId::parse("acme/scim").unwrap()
}

/// The workflow waits for the owner's key; the vendor accepts `FRESH`.
async fn waiting() -> Fakes {
    let f = Fakes::new(record("acme/scim", "atlassian-scim", &[]), "atst-old-key-dead-now-5555");
    f.accept(FRESH);
    f.put_intake(&change(), &connector(), &TaskToken::new("task-2"), NOW, NOW + Duration::hours(24)).await.unwrap();
    f
}

fn link(f: &Fakes, expires: OffsetDateTime) -> String {
    let claims = LinkClaims {
        change_id: change(),
        approver: Approver::parse("owner@acme.example").unwrap(),
        decision: Decision::Intake,
        expires_at: expires,
        nonce: Nonce::random(),
        connector: Some(connector()),
    };
    f.ring.sign(&claims).as_str().to_owned()
}

async fn paste(f: &Fakes, token: &str, key: &str, at: OffsetDateTime) -> Page {
    handle(f, Method::Post, Some(token), Some(&SecretValue::new(key)), at).await.unwrap()
}

fn versions(f: &Fakes) -> usize {
    f.versions.lock().unwrap().len()
}

fn assert_no_key_anywhere(f: &Fakes, pages: &[&Page]) {
    let said = f.everything_said();
    for key in [FRESH, WRONG] {
        assert!(!said.contains(key), "no audit item, message or task output holds a key");
        assert!(pages.iter().all(|p| !p.html.contains(key)), "no page shows a key");
    }
}

#[tokio::test]
async fn the_owner_is_asked_with_a_link_of_their_own_and_the_request_is_audited() {
    let f = Fakes::new(record("acme/scim", "atlassian-scim", &[]), "atst-old-key-dead-now-5555");
    let item = StepInput {
        connector_id: connector(),
        change_id: change(),
        execution_arn: "arn:exec:x".into(),
        intake: None,
        rotation: None,
        retire: None,
        error: None,
    };
    let input = KeyRequest { item, task_token: TaskToken::new("task-2"), intake_timeout_seconds: Some(3600) };
    let report = request_key(&f, "https://keyturn.example/approve", Duration::hours(24), &input, NOW).await.unwrap();
    assert_eq!(report.owner, "owner@acme.example");
    assert!(f.intake_token(&change(), &connector()).await.unwrap().is_some(), "the hand-over is open");
    let mail = f.mail.lock().unwrap()[0].clone();
    assert_eq!(mail.to[0].as_str(), "owner@acme.example");
    let token = mail.text.split("?t=").nth(1).and_then(|t| t.split_whitespace().next()).expect("a link in the mail");
    let claims = f.ring.verify(token, NOW).expect("the link verifies");
    assert_eq!((claims.decision, claims.connector), (Decision::Intake, Some(connector())));
    assert_eq!(claims.expires_at, NOW + Duration::hours(1), "the hand-over's own timeout");
    assert_eq!(f.event("key_requested").unwrap().detail["owner"], "owner@acme.example");
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_nothing_is_stored() {
    let f = waiting().await;
    let token = link(&f, NOW + Duration::hours(24));
    let page = paste(&f, &token, WRONG, NOW).await;
    assert_eq!((page.status, page.outcome), (422, "key_refused"), "{}", page.html);
    assert_eq!(versions(&f), 1, "no Secrets Manager version");
    assert!(f.delivered.lock().unwrap().is_empty(), "the workflow still waits");
    assert!(f.intake_token(&change(), &connector()).await.unwrap().is_some(), "the link stays usable");
    assert_eq!(f.event_names(), ["key_refused"]);
    assert_no_key_anywhere(&f, &[&page]);
}

#[tokio::test]
async fn a_right_key_is_stored_as_pending_and_resumes_the_workflow_with_its_version_only() {
    let f = waiting().await;
    let token = link(&f, NOW + Duration::hours(24));
    let page = paste(&f, &token, FRESH, NOW).await;
    assert_eq!((page.status, page.outcome), (200, "key_received"), "{}", page.html);
    assert_eq!(f.labelled("AWSPENDING").len(), 1);
    let delivered = f.delivered.lock().unwrap().clone();
    assert_eq!(delivered, [serde_json::json!({"pending_version": f.labelled("AWSPENDING")[0]})]);
    assert_eq!(f.event("pending_stored").unwrap().detail["new_fingerprint"], SecretValue::new(FRESH).fingerprint());
    assert_no_key_anywhere(&f, &[&page]);
}

#[tokio::test]
async fn a_replayed_hand_over_link_takes_nothing_more() {
    let f = waiting().await;
    let token = link(&f, NOW + Duration::hours(24));
    assert_eq!(paste(&f, &token, FRESH, NOW).await.outcome, "key_received");
    let again = paste(&f, &token, WRONG, NOW + Duration::minutes(1)).await;
    assert_eq!((again.status, again.outcome), (409, "already_decided"), "{}", again.html);
    let form = handle(&f, Method::Get, Some(&token), None, NOW + Duration::minutes(1)).await.unwrap();
    assert_eq!(form.status, 409, "no form for a used link");
    assert_eq!(versions(&f), 2, "one key stored");
    assert_eq!(f.delivered.lock().unwrap().len(), 1, "the workflow resumed once");
    assert_no_key_anywhere(&f, &[&again]);
}

#[tokio::test]
async fn an_expired_hand_over_link_stores_nothing() {
    let f = waiting().await;
    let token = link(&f, NOW + Duration::hours(24));
    let page = paste(&f, &token, FRESH, NOW + Duration::hours(25)).await;
    assert_eq!((page.status, page.outcome), (410, "expired"), "{}", page.html);
    assert_eq!(versions(&f), 1);
    assert!(f.delivered.lock().unwrap().is_empty() && f.probes.lock().unwrap().is_empty(), "not even checked");
}

#[tokio::test]
async fn a_forged_hand_over_link_stores_nothing() {
    let f = waiting().await;
    let token = link(&f, NOW + Duration::hours(24));
    let forged = format!("{}x", &token[..token.len() - 1]);
    let page = paste(&f, &forged, FRESH, NOW).await;
    assert!(matches!(page.status, 400 | 403), "{}", page.html);
    assert_eq!(versions(&f), 1);
    assert!(f.events().is_empty());
}

#[tokio::test]
async fn something_that_is_not_a_key_is_refused_without_asking_the_vendor() {
    let f = waiting().await;
    let token = link(&f, NOW + Duration::hours(24));
    let page = paste(&f, &token, "atst fresh key with spaces 0123", NOW).await;
    assert_eq!((page.status, page.outcome), (400, "bad_key"), "{}", page.html);
    assert!(f.probes.lock().unwrap().is_empty());
    assert_eq!(versions(&f), 1);
}

#[tokio::test]
async fn a_key_handed_over_after_the_workflow_stopped_waiting_is_reported_unused() {
    let f = waiting().await;
    *f.task_answer.lock().unwrap() = TaskAnswer::Gone;
    let token = link(&f, NOW + Duration::hours(24));
    let page = paste(&f, &token, FRESH, NOW).await;
    assert_eq!((page.status, page.outcome), (410, "expired"), "{}", page.html);
    assert!(page.html.contains("will not be used"), "{}", page.html);
}
