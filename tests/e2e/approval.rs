//! The approval workflow for real: scanner → state machine on moto → the real
//! request-approval / approval-callback / notify binaries → email (moto SES)
//! and Slack (simulator) → a real headless Chromium on the approval page.

use keyturn_domain::approval::{Approver, Decision, KeyRing, LinkClaims, Nonce, SigningKey};
use keyturn_domain::{check_link, ChangeId};
use time::{Duration, OffsetDateTime};

use crate::workflow::*;

async fn status(f: &Flow, change: &str) -> String {
    let d = f.sfn().await.describe_execution().execution_arn(execution_arn(change)).send().await.unwrap();
    d.status().as_str().to_owned()
}

fn change_status(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> String {
    item.get("status").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

/// The link-signing key as the functions use it (read from the local Secrets Manager).
async fn keyring(f: &Flow) -> KeyRing {
    let sm = aws_sdk_secretsmanager::Client::new(&f.stack.sdk().await);
    let out = sm.get_secret_value().secret_id("keyturn/link-signing-key").send().await.unwrap();
    let key = hex::decode(out.secret_string().unwrap()).unwrap();
    KeyRing { current: SigningKey::from_parts(out.version_id().unwrap(), key).unwrap(), previous: None }
}

fn claims(change: &str, approver: &str, expires_at: OffsetDateTime) -> LinkClaims {
    LinkClaims {
        change_id: ChangeId::parse(change).unwrap(),
        approver: Approver::parse(approver).unwrap(),
        decision: Decision::Approve,
        expires_at,
        nonce: Nonce::random(),
        connector: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approver_approves_in_a_real_browser_and_the_workflow_moves_on() {
    let f = Flow::new("approve");
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);

    let mails = emails_for(&change, 2).await;
    let mut to: Vec<&str> = mails.iter().map(|(t, _)| t.as_str()).collect();
    to.sort();
    assert_eq!(to, ["ana@e2e.example", "bo@e2e.example"], "each approver gets their own email");
    let (_, ana_mail) = mails.iter().find(|(t, _)| t == "ana@e2e.example").unwrap();
    for fact in [
        f.id("k1").as_str(),
        "generic-http",
        "no identity provider",
        "revokes the old one",
        "the old key stays valid until the new one is verified",
    ] {
        assert!(ana_mail.contains(fact), "the email says what will change: {fact:?} missing");
    }
    let message = eventually("a Slack message about the change", || async {
        let slack = sim("/_sim/slack").await;
        slack.as_array()?.iter().find(|m| m["body"]["text"].as_str().is_some_and(|t| t.contains(&change))).cloned()
    })
    .await;
    let buttons: Vec<&str> = message["body"]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().iter().map(|e| e["url"].as_str().unwrap()))
        .collect();
    assert_eq!(buttons.len(), 4, "Approve and Reject for each of two approvers");
    assert!(buttons.iter().all(|u| u.starts_with(&callback())));

    // Paused, and the task token is only in the changes table.
    assert_eq!(status(&f, &change).await, "RUNNING");
    let item = f.change_item(&change).await;
    assert_eq!(change_status(&item), "awaiting_approval");
    let task_token = item["task_token"].as_s().unwrap().clone();
    assert!(task_token.len() > 20);
    for (_, body) in &mails {
        assert!(!body.contains(&task_token), "the task token never goes into a link or an email");
    }
    assert!(!message.to_string().contains(&task_token));

    // Opening the link (as a mail scanner or Slack unfurler would) changes nothing.
    let approve = link(ana_mail, "approve");
    let seen = browser(&approve, "none");
    assert_eq!(seen["before"]["status"], 200);
    assert!(seen["before"]["heading"].as_str().unwrap().starts_with("Approve change"), "{seen:#}");
    assert_eq!(seen["before"]["buttons"][0], "Approve this change");
    for check in ["buttons_have_names", "images_have_alt", "has_main_landmark"] {
        assert_eq!(seen["before"]["a11y"][check], true, "{check}");
    }
    assert_eq!(seen["before"]["a11y"]["lang"], "en");
    assert_eq!(status(&f, &change).await, "RUNNING");
    assert!(!f.events("k1").await.contains(&"vote_recorded".to_owned()));

    let clicked = browser(&approve, "approve");
    assert_eq!(clicked["after"]["status"], 200, "{clicked:#}");
    assert_eq!(clicked["after"]["heading"], "Approved");

    let done = finished(&f.sfn().await, &change).await;
    assert_eq!(done.status().as_str(), "SUCCEEDED");
    let states = states_entered(&f.sfn().await, &change).await;
    assert!(states.contains(&"RotateEach".to_owned()) && states.contains(&"NotifyDone".to_owned()), "{states:?}");
    assert!(!states.contains(&"WaitForWindow".to_owned()), "no change window: no wait");

    let events = eventually("the notified event", || async {
        let e = f.events("k1").await;
        e.contains(&"notified".to_owned()).then_some(e)
    })
    .await;
    assert_eq!(&events[..4], ["detected", "approval_requested", "vote_recorded", "approved"]);
    assert!(events.contains(&"finalized".to_owned()), "the approved change rotated: {events:?}");
    let chain = f.audit("k1").await;
    assert_eq!(chain[3].actor, "approver:ana@e2e.example");
    for (i, ev) in chain.iter().enumerate() {
        assert_eq!(check_link(i.checked_sub(1).map(|p| &chain[p]), ev), vec![]);
    }

    // Bo's link is now spent: a clear page, nothing recorded.
    let (_, bo_mail) = mails.iter().find(|(t, _)| t == "bo@e2e.example").unwrap();
    let (code, page) = get(&link(bo_mail, "approve")).await;
    assert_eq!(code, 409);
    assert!(page.contains("already decided"), "{page}");

    let log =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/functions.log")).unwrap_or_default();
    assert!(!log.contains(&task_token), "the task token is never logged");
    assert!(!log.contains(&token(&approve)), "link tokens are never logged");
}

/// An approval given outside the connector's change window holds the
/// rotation in `WaitForWindow` until the window opens.
#[tokio::test(flavor = "multi_thread")]
async fn an_approval_outside_the_change_window_waits_for_it() {
    let f = Flow::new("window");
    // A daily window opening 90 to 150 s from now (whole minutes, UTC): the
    // approval must land before it opens even on a loaded machine, and the
    // whole suite takes longer than that anyway.
    let now = OffsetDateTime::now_utc();
    let opens = (now + Duration::seconds(150)).replace_second(0).unwrap().replace_nanosecond(0).unwrap();
    let closes = opens + Duration::hours(1);
    let window = format!("daily {:02}:{:02}-{:02}:{:02}", opens.hour(), opens.minute(), closes.hour(), closes.minute());
    f.import(&[("w1", "e2e-one", "owner@e2e.example", &in_days(10), &window)]).await;
    let change = f.scan_one(&[]);

    let mails = emails_for(&change, 1).await;
    let (code, page) = post(&token(&link(&mails[0].1, "approve"))).await;
    assert_eq!(code, 200, "{page}");
    let at = keyturn_domain::timefmt::format_utc(opens);
    assert!(page.contains(&format!("in its change window, at {at}")), "{page}");
    assert_eq!(f.change_item(&change).await["rotate_at"].as_s().map(String::as_str), Ok(at.as_str()));

    let done = finished(&f.sfn().await, &change).await;
    assert_eq!(done.status().as_str(), "SUCCEEDED");
    let states = states_entered(&f.sfn().await, &change).await;
    let (wait, rotate) =
        (states.iter().position(|s| s == "WaitForWindow"), states.iter().position(|s| s == "RotateEach"));
    assert!(wait.is_some() && wait < rotate, "{states:?}");
    // The proof is our own audit trail: no step of the rotation ran before
    // the window opened. The execution's timeline is printed if it did.
    let chain = f.audit("w1").await;
    let started = chain.iter().find(|e| e.event == "rotation_started").expect("the rotation started");
    let started_at = OffsetDateTime::parse(&started.at, &time::format_description::well_known::Rfc3339).unwrap();
    if started_at < opens {
        let history = f.sfn().await.get_execution_history().execution_arn(execution_arn(&change)).send().await.unwrap();
        let timeline: Vec<String> = history
            .events()
            .iter()
            .map(|e| {
                let name = e
                    .state_entered_event_details()
                    .map(|d| d.name())
                    .or(e.state_exited_event_details().map(|d| d.name()))
                    .unwrap_or_default();
                format!("{} {} {name}", e.timestamp().secs(), e.r#type().as_str())
            })
            .collect();
        panic!(
            "the rotation started at {} ({}), before its window opened at {at} ({}); stop date {:?}: {timeline:#?}",
            started.at,
            started_at.unix_timestamp(),
            opens.unix_timestamp(),
            done.stop_date().map(|d| d.secs()),
        );
    }
    assert!(f.events("w1").await.contains(&"finalized".to_owned()));
}

/// Slack down for a whole change: the approver is still asked by email, the
/// rejection is still announced by email, and the audit trail names the
/// channel that was not reached, never the webhook's secret path.
#[tokio::test(flavor = "multi_thread")]
async fn a_slack_outage_is_audited_and_email_still_carries_the_change() {
    let f = Flow::new("slackdown");
    fault("/slack/e2e/down", "status", 503, 1000, None).await;
    f.import(&[("k1", "e2e-slack-down", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 1).await;

    let chain = f.audit("k1").await;
    let asked = chain.iter().find(|e| e.event == "approval_requested").expect("approval_requested");
    assert_eq!(asked.detail["emails_sent"], "1");
    assert_eq!(asked.detail["slack_posted"], "false");
    let failed = asked.detail.get("failed").map(String::as_str).unwrap_or_default();
    assert!(
        failed.starts_with("slack http://127.0.0.1") && failed.contains("/…: ") && failed.contains("503"),
        "{failed}"
    );

    let (code, page) = post(&token(&link(&mails[0].1, "reject"))).await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(finished(&f.sfn().await, &change).await.status().as_str(), "SUCCEEDED");
    let chain = eventually("notified", || async {
        let chain = f.audit("k1").await;
        chain.iter().any(|e| e.event == "notified").then_some(chain)
    })
    .await;
    let told = chain.iter().find(|e| e.event == "notified").expect("notified");
    assert_eq!(told.detail["notified"], "email:ana@e2e.example", "{:?}", told.detail);
    assert!(
        told.detail.get("failed").is_some_and(|f| f.starts_with("slack: ") && f.contains("503")),
        "{:?}",
        told.detail
    );
    for ev in &chain {
        assert!(!format!("{:?}", ev.detail).contains("e2e/down"), "a webhook path in {}: {:?}", ev.event, ev.detail);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejection_ends_the_change_and_gives_the_key_back() {
    let f = Flow::new("reject");
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 2).await;

    let clicked = browser(&link(&mails[0].1, "reject"), "reject");
    assert_eq!(clicked["before"]["buttons"][0], "Reject this change");
    assert_eq!(clicked["after"]["heading"], "Rejected");

    let done = finished(&f.sfn().await, &change).await;
    assert_eq!(done.status().as_str(), "SUCCEEDED", "a rejection is a normal outcome");
    let states = states_entered(&f.sfn().await, &change).await;
    assert!(states.contains(&"NotifyRejected".to_owned()), "{states:?}");
    assert!(!states.contains(&"RotateEach".to_owned()), "nothing is rotated after a rejection");
    assert_eq!(change_status(&f.change_item(&change).await), "rejected");
    let events = eventually("notified", || async {
        let e = f.events("k1").await;
        e.contains(&"notified".to_owned()).then_some(e)
    })
    .await;
    assert_eq!(events, ["detected", "approval_requested", "vote_recorded", "rejected", "notified"]);

    let ddb = aws_sdk_dynamodb::Client::new(&f.stack.sdk().await);
    let item = ddb
        .get_item()
        .table_name("keyturn-connectors")
        .key("connector_id", aws_sdk_dynamodb::types::AttributeValue::S(f.id("k1")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!item.contains_key("active_change"), "the connector is released for the next change");

    // The same change ran to its end today: a rescan neither restarts nor re-holds it.
    let again = f.scan(&[]);
    assert_eq!(again["changes"][0]["outcome"], "ended_today", "{again:#}");
    let item = ddb
        .get_item()
        .table_name("keyturn-connectors")
        .key("connector_id", aws_sdk_dynamodb::types::AttributeValue::S(f.id("k1")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!item.contains_key("active_change"));
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_expired_misaddressed_and_replayed_links_change_nothing() {
    let f = Flow::new("links");
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 2).await;
    let good = token(&link(&mails[0].1, "approve"));
    let ring = keyring(&f).await;
    let now = OffsetDateTime::now_utc();

    // A flipped character in the signature: not the last one, whose spare
    // bits a strict base64 decoder rejects (a malformed token, 400, not a
    // forged one), which made this test fail now and then.
    let at = good.len() - 3;
    let flipped = if good.as_bytes()[at] == b'A' { 'B' } else { 'A' };
    let forged = format!("{}{flipped}{}", &good[..at], &good[at + 1..]);
    for (method, (code, page)) in
        [("GET", get(&format!("{}?t={forged}", callback())).await), ("POST", post(&forged).await)]
    {
        assert_eq!(code, 403, "{method} forged");
        assert!(page.contains("not valid"), "{page}");
    }
    let (code, _) = get(&format!("{}?t=not-a-token", callback())).await;
    assert_eq!(code, 400);
    let (code, _) = get(&callback()).await;
    assert_eq!(code, 400, "no token at all");

    // Authentic links that must still be refused.
    let outsider = ring.sign(&claims(&change, "mallory@e2e.example", now + Duration::hours(1)));
    let (code, _) = get(&format!("{}?t={}", callback(), outsider.as_str())).await;
    assert_eq!(code, 403, "a GET is refused too, and (changing nothing) not audited");
    let (code, page) = post(outsider.as_str()).await;
    assert_eq!(code, 403);
    assert!(page.contains("not an approver"), "{page}");
    let stale = ring.sign(&claims(&change, "ana@e2e.example", now - Duration::minutes(1)));
    let (code, page) = post(stale.as_str()).await;
    assert_eq!(code, 410);
    assert!(page.contains("expired"), "{page}");
    let unknown = ring.sign(&claims("chg-20000101-0000000000000000", "ana@e2e.example", now + Duration::hours(1)));
    assert_eq!(post(unknown.as_str()).await.0, 404);

    assert_eq!(status(&f, &change).await, "RUNNING", "nothing above decided anything");
    let events = f.events("k1").await;
    assert_eq!(
        events,
        ["detected", "approval_requested", "approval_refused", "approval_refused"],
        "the outsider's press and the late press are audited"
    );
    let trail = f.audit("k1").await;
    assert_eq!(
        (trail[2].actor.as_str(), trail[2].detail["reason"].as_str()),
        ("approver:mallory@e2e.example", "wrong_approver")
    );
    assert_eq!(
        (trail[3].actor.as_str(), trail[3].detail["reason"].as_str()),
        ("approver:ana@e2e.example", "link_expired")
    );

    let (code, page) = post(&good).await;
    assert_eq!(code, 200, "{page}");
    let (code, page) = post(&good).await;
    assert_eq!(code, 409, "a replay is refused");
    assert!(page.contains("already decided"));
    assert_eq!(finished(&f.sfn().await, &change).await.status().as_str(), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_approval_expires_and_escalates() {
    let f = Flow::new("timeout");
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[("KEYTURN_APPROVAL_TIMEOUT", "4s"), ("KEYTURN_URGENT_APPROVAL_TIMEOUT", "4s")]);
    let mails = emails_for(&change, 2).await;

    let done = finished(&f.sfn().await, &change).await;
    assert_eq!(done.status().as_str(), "FAILED");
    assert_eq!(done.error(), Some("ApprovalExpired"));
    assert!(states_entered(&f.sfn().await, &change).await.contains(&"ApprovalExpired".to_owned()));
    assert_eq!(change_status(&f.change_item(&change).await), "expired");
    let events = eventually("notified", || async {
        let e = f.events("k1").await;
        e.contains(&"notified".to_owned()).then_some(e)
    })
    .await;
    assert_eq!(events, ["detected", "approval_requested", "expired", "notified"]);

    let escalation = eventually("the escalation email", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?
            .iter()
            .find(|m| m["subject"].as_str().is_some_and(|s| s.starts_with("Approval expired") && s.contains(&change)))
            .cloned()
    })
    .await;
    assert_eq!(escalation["destinations"]["ToAddresses"][0], "oncall@e2e.example");

    // The link dies with the approval: 410 once its own expiry passed, 409
    // ("expired without a decision") in the second or so before it does
    // (request-approval signs it when it runs, just after the task's clock started).
    let (code, page) = get(&link(&mails[0].1, "approve")).await;
    assert!(matches!(code, 409 | 410) && page.contains("expired"), "{code}: {page}");

    // The key is still due: tomorrow's scan opens a new change, with new links.
    let tomorrow = keyturn_domain::timefmt::format_utc(OffsetDateTime::now_utc() + Duration::days(1));
    let next = f.scan_at(&[], &tomorrow);
    let started: Vec<&str> =
        next["changes"].as_array().unwrap().iter().filter_map(|c| c["change_id"].as_str()).collect();
    assert_eq!(started.len(), 1, "{next:#}");
    assert_ne!(started[0], change, "a new change id");
    assert_eq!(next["changes"][0]["outcome"], "started", "{next:#}");
}

/// Approves with the link in `mail`: recorded (the page says `says`), yet
/// the workflow keeps waiting for more approvals.
async fn first_vote_keeps_waiting(f: &Flow, change: &str, mail: &str, says: &str) {
    let (code, page) = post(&token(&link(mail, "approve"))).await;
    assert_eq!(code, 200);
    assert!(page.contains(says), "{page}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(status(f, change).await, "RUNNING", "not enough to decide");
    let item = f.change_item(change).await;
    assert_eq!(change_status(&item), "awaiting_approval");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_of_three_approvers_are_needed() {
    let f = Flow::new("quorum");
    f.import(&[("k1", "e2e-two-of-three", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 3).await;
    let mail = |who: &str| mails.iter().find(|(t, _)| t == who).unwrap().1.clone();

    first_vote_keeps_waiting(&f, &change, &mail("ana@e2e.example"), "1 of 2 approvals").await;

    let (code, page) = post(&token(&link(&mail("cy@e2e.example"), "approve"))).await;
    assert_eq!(code, 200);
    assert!(page.contains("is approved"), "{page}");
    assert_eq!(finished(&f.sfn().await, &change).await.status().as_str(), "SUCCEEDED");
    let events = f.events("k1").await;
    assert_eq!(&events[..5], ["detected", "approval_requested", "vote_recorded", "vote_recorded", "approved"]);
}

/// The callback records the deciding vote, closes the change, then dies
/// before `SendTaskSuccess` (a Lambda timeout, Step Functions unavailable):
/// the next press of any link delivers the recorded decision, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_decision_recorded_but_never_delivered_is_delivered_by_the_next_press() {
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let f = Flow::new("redeliver");
    f.import(&[("k1", "e2e-two-of-three", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 3).await;
    let mail = |who: &str| mails.iter().find(|(t, _)| t == who).unwrap().1.clone();
    first_vote_keeps_waiting(&f, &change, &mail("ana@e2e.example"), "1 of 2 approvals").await;

    // What Cy's press left behind when the callback died after closing. Its
    // delivery claim is backdated two minutes: a claim that old is taken as
    // lost (a test cannot wait out the grace a real press gets).
    let now = OffsetDateTime::now_utc();
    let (at, claimed) =
        (keyturn_domain::timefmt::format_utc(now), keyturn_domain::timefmt::format_utc(now - Duration::minutes(2)));
    let vote = Av::M([("decision".to_owned(), Av::S("approve".into())), ("at".to_owned(), Av::S(at.clone()))].into());
    aws_sdk_dynamodb::Client::new(&f.stack.sdk().await)
        .update_item()
        .table_name("keyturn-changes")
        .key("change_id", Av::S(change.clone()))
        .update_expression(
            "SET votes.#cy = :vote, #status = :approved, decided_at = :at, delivery_claimed_at = :claimed",
        )
        .expression_attribute_names("#cy", "cy@e2e.example")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":vote", vote)
        .expression_attribute_values(":approved", Av::S("approved".into()))
        .expression_attribute_values(":at", Av::S(at))
        .expression_attribute_values(":claimed", Av::S(claimed))
        .send()
        .await
        .expect("leave a decided, undelivered change");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(status(&f, &change).await, "RUNNING", "the workflow never heard of it");

    let bo = token(&link(&mail("bo@e2e.example"), "approve"));
    let (code, page) = post(&bo).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("is approved"), "{page}");
    assert_eq!(finished(&f.sfn().await, &change).await.status().as_str(), "SUCCEEDED");
    assert_eq!(callbacks_received(&f.sfn().await, &change).await, 1);
    let trail = f.audit("k1").await;
    let approved = trail.iter().find(|e| e.event == "approved").expect("approved is audited on delivery");
    assert_eq!(approved.actor, "approver:cy@e2e.example", "the approver whose vote decided it");
    assert_eq!(approved.detail["approvers"], "ana@e2e.example, cy@e2e.example");

    let (code, page) = post(&bo).await;
    assert_eq!(code, 409, "delivered once: {page}");
    assert_eq!(callbacks_received(&f.sfn().await, &change).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_cannot_be_the_only_approver_under_the_two_person_rule() {
    let f = Flow::new("twoperson");
    f.import(&[("k1", "e2e-two-person", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 2).await;
    let mail = |who: &str| mails.iter().find(|(t, _)| t == who).unwrap().1.clone();

    first_vote_keeps_waiting(&f, &change, &mail("owner@e2e.example"), "two-person rule").await;

    let (code, _) = post(&token(&link(&mail("bo@e2e.example"), "approve"))).await;
    assert_eq!(code, 200);
    assert_eq!(finished(&f.sfn().await, &change).await.status().as_str(), "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_key_opens_an_urgent_ticket_that_hears_the_outcome() {
    let f = Flow::new("urgent");
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &in_days(-1), "sat 02:00-04:00")]).await;
    let report = f.scan(&[]);
    assert_eq!(report["urgent"], 1);
    let change = report["changes"][0]["change_id"].as_str().unwrap().to_owned();
    let mails = emails_for(&change, 2).await;
    assert!(mails[0].1.contains("URGENT"));

    let ticket = eventually("the Jira ticket", || async {
        let issues = sim("/_sim/jira").await;
        issues
            .as_array()?
            .iter()
            .find(|i| i["fields"]["summary"].as_str().is_some_and(|s| s.contains(&change)))
            .cloned()
    })
    .await;
    let key = ticket["key"].as_str().unwrap().to_owned();
    assert!(ticket["fields"]["summary"].as_str().unwrap().starts_with("[URGENT]"));

    let (code, page) = post(&token(&link(&mails[0].1, "approve"))).await;
    assert_eq!(code, 200);
    assert!(page.contains("Rotation starts now"), "urgent changes ignore the change window: {page}");
    assert_eq!(finished(&f.sfn().await, &change).await.status().as_str(), "SUCCEEDED");
    let states = states_entered(&f.sfn().await, &change).await;
    assert!(!states.contains(&"WaitForWindow".to_owned()), "{states:?}");

    let comments = eventually("the final comment", || async {
        let issues = sim("/_sim/jira").await;
        let issue = issues.as_array()?.iter().find(|i| i["key"] == key.as_str())?.clone();
        let comments = issue["comments"].as_array()?.clone();
        (!comments.is_empty()).then_some(comments)
    })
    .await;
    assert!(comments[0].as_str().unwrap().contains(&change));
    let events = f.audit("k1").await;
    assert_eq!(events[1].detail.get("ticket").map(String::as_str), Some(key.as_str()));
}

/// `keyturn links rotate-key` against Secrets Manager: links signed before a
/// rotation keep working, links from two rotations ago stop. On a secret of
/// its own: the functions' key must not change under the other tests.
#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_link_signing_key_keeps_only_the_previous_keys_links() {
    use keyturn_app::ports::SigningKeys;
    use keyturn_domain::approval::LinkError;
    let s = crate::harness::Stack::new("rotatekey");
    let secret = format!("{}link-signing-key", s.prefix);
    let keys = keyturn_aws::SecretsSigningKeys::new(aws_sdk_secretsmanager::Client::new(&s.sdk().await), &secret);
    let rotate = || {
        let out = s.keyturn_env(&["links", "rotate-key"], &[("KEYTURN_SIGNING_KEY_SECRET", &secret)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("link-signing key rotated: new key id "));
    };
    let now = OffsetDateTime::now_utc();
    let link = claims("chg-20261126-00000000000000aa", "ana@e2e.example", now + Duration::hours(1));

    let oldest = keys.keyring().await.expect("created on first use").sign(&link);
    rotate();
    let ring = keys.keyring().await.unwrap();
    assert_eq!(ring.verify(oldest.as_str(), now).map(|c| c.change_id), Ok(link.change_id.clone()));
    let middle = ring.sign(&link);
    assert_ne!(middle.as_str(), oldest.as_str());

    rotate();
    let ring = keys.keyring().await.unwrap();
    assert!(ring.verify(middle.as_str(), now).is_ok(), "signed with the previous key");
    assert!(matches!(ring.verify(oldest.as_str(), now), Err(LinkError::UnknownKey { .. })), "two rotations ago");
}
