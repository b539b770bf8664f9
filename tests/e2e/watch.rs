//! Never silent (issue #10): reminders at the marks before expiry with fresh
//! links (to approvers, and to an owner who owes a key), escalation at the last one, alerts for runs past their bound and
//! the daily digest, each sent once however often the scanner runs.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::harness::Stack;
use crate::workflow::*;

fn reminders(report: &Value) -> Vec<(u64, bool)> {
    report["reminders"]
        .as_array()
        .map(|r| r.iter().map(|x| (x["days"].as_u64().unwrap(), x["escalated"].as_bool().unwrap())).collect())
        .unwrap_or_default()
}

fn list(report: &Value, key: &str) -> Vec<String> {
    report[key].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

async fn mails(change: &str) -> Vec<Value> {
    let all = sim("/_sim/ses").await;
    let all = all.as_array().cloned().unwrap_or_default();
    all.into_iter().filter(|m| m["subject"].as_str().is_some_and(|s| s.contains(change))).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn approvers_are_reminded_once_at_each_mark_with_fresh_links_and_the_last_mark_escalates() {
    let f = Flow::new("remind");
    let expires = in_days(25);
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &expires, "")]).await;
    // Approvers have a month, and the change holds its key that long.
    let url = callback();
    let env = [
        ("KEYTURN_APPROVAL_TIMEOUT", "30d"),
        ("KEYTURN_CHANGE_LEASE_HOURS", "2160"),
        ("KEYTURN_APPROVAL_URL", url.as_str()),
        ("KEYTURN_EMAIL_FROM", "keyturn@keyturn.example"),
    ];
    let change = f.scan_one(&env);
    let asked = emails_for(&change, 2).await;
    let first_link = link(&asked[0].1, "approve");
    let expiry = OffsetDateTime::parse(&format!("{expires}T00:00:00Z"), &Rfc3339).unwrap();
    let at = |days: i64, hours: i64| (expiry - Duration::days(days) + Duration::hours(hours)).format(&Rfc3339).unwrap();

    // The 30-day mark passed before the request was made: no reminder for it.
    let before = f.scan_at(&env, &at(14, -1));
    assert!(reminders(&before).is_empty(), "{before:#}");

    let r14 = f.scan_at(&env, &at(14, 1));
    assert_eq!(reminders(&r14), [(14, false)], "{r14:#}");
    assert_eq!(r14["reminders"][0]["emails_sent"], 2, "both approvers: {r14:#}");
    assert!(reminders(&f.scan_at(&env, &at(14, 2))).is_empty(), "a second scan sends nothing twice");
    let sent = mails(&change).await;
    let reminder = sent
        .iter()
        .find(|m| m["subject"].as_str().unwrap().starts_with("Reminder (14 days"))
        .expect("a reminder email");
    let fresh = link(reminder["body"].as_str().unwrap(), "approve");
    assert_ne!(fresh, first_link, "fresh links");
    let (code, page) = get(&fresh).await;
    assert_eq!(code, 200, "the reminder's link opens the confirmation page: {page}");

    // Past the 14-day bound the still-running change is stuck: alerted once a day.
    let r7 = f.scan_at(&env, &at(7, 1));
    assert_eq!(reminders(&r7), [(7, false)], "{r7:#}");
    assert_eq!(list(&r7, "stuck"), std::slice::from_ref(&change), "{r7:#}");
    assert!(list(&r7, "alerts").iter().any(|a| a.starts_with(&format!("stuck {change}"))), "{r7:#}");
    let r7_again = f.scan_at(&env, &at(7, 2));
    assert_eq!(list(&r7_again, "stuck"), std::slice::from_ref(&change), "still counted for the metric");
    assert!(list(&r7_again, "alerts").is_empty(), "told once a day: {r7_again:#}");

    let r1 = f.scan_at(&env, &at(1, 1));
    assert_eq!(reminders(&r1), [(1, true)], "the last mark escalates: {r1:#}");
    let escalation = mails(&change).await.into_iter().find(|m| {
        m["subject"].as_str().unwrap().starts_with("Escalation")
            && m["destinations"]["ToAddresses"][0] == "oncall@e2e.example"
    });
    assert!(escalation.is_some(), "the escalation contacts were told");
    assert!(reminders(&f.scan_at(&env, &at(1, 2))).is_empty());

    let trail = f.audit("k1").await;
    let marks: Vec<&str> = trail
        .iter()
        .filter(|e| e.event == "reminded")
        .filter_map(|e| e.detail.get("days_before_expiry").map(String::as_str))
        .collect();
    assert_eq!(marks, ["14", "7", "1"], "one reminded event per mark");

    // The freshest link still decides the change.
    let last =
        mails(&change).await.into_iter().rfind(|m| m["subject"].as_str().unwrap().starts_with("Reminder (1 day"));
    let (code, page) = post(&token(&link(last.unwrap()["body"].as_str().unwrap(), "reject"))).await;
    assert_eq!(code, 200, "{page}");
    let done = finished(&f.sfn().await, &change).await;
    assert_eq!(done.status().as_str(), "SUCCEEDED", "rejected is a normal end");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_who_has_not_handed_over_the_key_is_reminded_at_each_mark_and_the_last_escalates() {
    let f = Flow::new("remindowner");
    let (dir, _, arn, old) = crate::rotation::scim_connector(&f, "old-remind").await;
    let expires = in_days(10);
    let url = callback();
    // The owner has a month for the hand-over, and the change holds its key that long.
    let env = [
        ("KEYTURN_INTAKE_TIMEOUT", "30d"),
        ("KEYTURN_CHANGE_LEASE_HOURS", "2160"),
        ("KEYTURN_APPROVAL_URL", url.as_str()),
        ("KEYTURN_EMAIL_FROM", "keyturn@keyturn.example"),
    ];
    let change = f.scan_one(&env);
    f.approve(&change).await;
    let first_link = crate::rotation::intake_link(&change).await;
    let expiry = OffsetDateTime::parse(&format!("{expires}T00:00:00Z"), &Rfc3339).unwrap();
    let at = |days: i64, hours: i64| (expiry - Duration::days(days) + Duration::hours(hours)).format(&Rfc3339).unwrap();
    let owner_mail = |prefix: &'static str| {
        let change = change.clone();
        async move {
            mails(&change).await.into_iter().rfind(|m| {
                m["subject"].as_str().unwrap().starts_with(prefix)
                    && m["destinations"]["ToAddresses"][0] == "owner@e2e.example"
            })
        }
    };

    // The 30- and 14-day marks passed before the owner was asked.
    let before = f.scan_at(&env, &at(7, -1));
    assert!(reminders(&before).is_empty(), "{before:#}");

    let r7 = f.scan_at(&env, &at(7, 1));
    assert_eq!(reminders(&r7), [(7, false)], "{r7:#}");
    assert_eq!(r7["reminders"][0]["connector_id"], f.id("k1"), "{r7:#}");
    assert_eq!(r7["reminders"][0]["emails_sent"], 1, "the owner alone: {r7:#}");
    assert!(reminders(&f.scan_at(&env, &at(7, 2))).is_empty(), "a second scan sends nothing twice");
    let reminder = owner_mail("Reminder (7 days").await.expect("a reminder to the owner");
    let fresh = crate::rotation::handover_href(reminder["body"].as_str().unwrap()).unwrap();
    assert_ne!(fresh, first_link, "a fresh hand-over link");

    let r1 = f.scan_at(&env, &at(1, 1));
    assert_eq!(reminders(&r1), [(1, true)], "the last mark escalates: {r1:#}");
    assert!(reminders(&f.scan_at(&env, &at(1, 2))).is_empty());
    let escalation = mails(&change).await.into_iter().find(|m| {
        m["subject"].as_str().unwrap().starts_with("Escalation: the new key for")
            && m["destinations"]["ToAddresses"][0] == "oncall@e2e.example"
    });
    assert!(escalation.is_some(), "the escalation contacts were told");

    let trail = f.audit("k1").await;
    let reminded: Vec<_> = trail.iter().filter(|e| e.event == "reminded").collect();
    let marks: Vec<&str> = reminded.iter().map(|e| e.detail["days_before_expiry"].as_str()).collect();
    assert_eq!(marks, ["7", "1"], "one reminded event per mark");
    assert!(reminded.iter().all(|e| e.detail["waiting_for"] == "key_handover"), "{reminded:?}");

    // The last reminder's link takes the key, and the rotation goes on.
    let last = owner_mail("Reminder (1 day").await.expect("the last reminder");
    let link = crate::rotation::handover_href(last["body"].as_str().unwrap()).unwrap();
    let (_, regenerated) =
        vendor(reqwest::Method::POST, &format!("/_sim/atlassian/directories/{dir}/regenerate"), None).await;
    let key = regenerated["key"].as_str().unwrap().to_owned();
    let (code, page) = crate::rotation::hand_over(&link, &key).await;
    assert_eq!(code, 200, "{page}");
    let (status, outcomes) = crate::rotation::run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    assert!(f.secret_at(&arn, "AWSCURRENT").await.unwrap().contains(&key));
    let everything = every_output(&f, &change, &["k1"]).await;
    for (what, value) in [("old key", &old), ("new key", &key)] {
        assert!(!everything.contains(value.as_str()), "the {what} leaked into logs, history, audit or messages");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_digest_lists_each_groups_keys_expiring_within_30_days_once_a_day() {
    let s = Stack::new("digest");
    let p = s.prefix.trim_end_matches('-');
    let now = OffsetDateTime::parse(crate::harness::NOW, &Rfc3339).unwrap();
    let day = |d: i64| {
        let t = now + Duration::days(d);
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    let mut csv = String::from("id,kind,org,idp,owner,approver_group,secret_arn,expires_at\n");
    for (name, days) in [("soon", 5), ("later", 25), ("not-yet", 40)] {
        csv.push_str(&format!(
            "{p}/{name},atlassian-api-key,acme,none,owner@acme.example,it-change,\
             arn:aws:secretsmanager:us-east-1:123456789012:secret:keyturn/{p}/{name},{}\n",
            day(days)
        ));
    }
    let inventory = s.file("inventory.csv", &csv);
    s.ok(&["inventory", "import", &inventory]);

    let first = s.json(&["scan", "--now", crate::harness::NOW]);
    assert_eq!(list(&first, "digests"), ["it-change"], "{first:#}");
    let digest = eventually("the digest in Slack", || async {
        let slack = sim("/_sim/slack").await;
        slack.as_array()?.iter().rev().find_map(|m| {
            let text = m["body"]["text"].as_str()?;
            (text.contains("keyturn daily") && text.contains(&format!("{p}/soon"))).then(|| text.to_owned())
        })
    })
    .await;
    assert!(digest.contains(&format!("{p}/later")), "{digest}");
    assert!(!digest.contains(&format!("{p}/not-yet")), "40 days out is not in a 30-day digest: {digest}");

    let again = s.json(&["scan", "--now", "2026-11-24T15:00:00Z"]);
    assert!(list(&again, "digests").is_empty(), "once a day: {again:#}");
    let tomorrow = s.json(&["scan", "--now", "2026-11-25T09:00:00Z"]);
    assert_eq!(list(&tomorrow, "digests"), ["it-change"], "{tomorrow:#}");
}
