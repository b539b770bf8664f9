//! What happens when things run at once or links are handled by machines:
//! concurrent scanners, a storm of conflicting decisions, mail scanners that
//! fetch every link.

use crate::workflow::*;

#[tokio::test(flavor = "multi_thread")]
async fn ten_scanners_at_once_start_each_change_exactly_once() {
    let f = Flow::new("scanners");
    f.import(&[
        ("a1", "e2e-one", "owner@e2e.example", &in_days(10), ""),
        ("a2", "e2e-one", "owner@e2e.example", &in_days(12), ""),
        ("b1", "e2e-two-of-three", "owner@e2e.example", &in_days(11), ""),
    ])
    .await;
    let reports: Vec<serde_json::Value> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..10).map(|_| s.spawn(|| f.scan(&[]))).collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut started = std::collections::BTreeMap::<String, usize>::new();
    for r in &reports {
        for c in r["changes"].as_array().unwrap() {
            if c["outcome"] == "started" {
                *started.entry(c["change_id"].as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    assert_eq!(started.len(), 2, "two approver groups, two changes: {reports:?}");
    let busy = reports.iter().filter(|r| r["busy"] == true).count();
    println!("{busy} of 10 scanners found another one running and did nothing");
    assert!(started.values().all(|n| *n == 1), "each change started by exactly one scanner: {started:?}");
    let sfn = f.sfn().await;
    for change in started.keys() {
        let d = sfn.describe_execution().execution_arn(execution_arn(change)).send().await;
        assert!(d.is_ok(), "{change} has its execution");
    }
    for c in ["a1", "a2", "b1"] {
        let detected = f.events(c).await.iter().filter(|e| *e == "detected").count();
        assert_eq!(detected, 1, "{c} detected once, not once per scanner");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_conflicting_posts_make_one_decision() {
    let f = Flow::new("storm");
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 2).await;
    let ana = mails.iter().find(|(to, _)| to == "ana@e2e.example").unwrap();
    let bo = mails.iter().find(|(to, _)| to == "bo@e2e.example").unwrap();
    let approve = token(&link(&ana.1, "approve"));
    let reject = token(&link(&bo.1, "reject"));
    paused(&change, 1).await;

    let posts: Vec<_> = (0..100)
        .map(|i| {
            let t = if i % 2 == 0 { approve.clone() } else { reject.clone() };
            tokio::spawn(async move { post(&t).await.0 })
        })
        .collect();
    let mut codes = Vec::new();
    for p in posts {
        codes.push(p.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "exactly one POST decided: {codes:?}");
    assert!(codes.iter().all(|c| *c == 200 || *c == 409), "the rest are told it is decided: {codes:?}");

    let sfn = f.sfn().await;
    finished(&sfn, &change).await;
    assert_eq!(callbacks_received(&sfn, &change).await, 1, "one SendTaskSuccess reached the workflow");
    let events = f.events("k1").await;
    let decided = events.iter().filter(|e| *e == "approved" || *e == "rejected").count();
    assert_eq!(decided, 1, "{events:?}");
    // Lambda runs the callback concurrently: both approvers' votes can land
    // before the first tally closes the change. One vote each at most, and
    // only one of them decided.
    let votes = events.iter().filter(|e| *e == "vote_recorded").count();
    assert!((1..=2).contains(&votes), "one vote per approver at most: {events:?}");
    // 99 presses were refused: each approver's are recorded, folded into the
    // first (presses landing at the same instant may each add one).
    let refused = events.iter().filter(|e| *e == "approval_refused").count();
    assert!((2..99).contains(&refused), "refusals recorded per approver, not per press: {refused} in {events:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_gets_by_a_link_scanner_change_nothing() {
    let f = Flow::new("scanner-gets");
    f.import(&[("k1", "e2e-one", "owner@e2e.example", &in_days(10), "")]).await;
    let change = f.scan_one(&[]);
    let mails = emails_for(&change, 2).await;
    let (_, body) = mails.iter().find(|(to, _)| to == "ana@e2e.example").unwrap();
    let before = f.events("k1").await;
    for decision in ["approve", "reject"] {
        let url = link(body, decision);
        for _ in 0..25 {
            let (code, page) = get(&url).await;
            assert_eq!(code, 200, "{page}");
            assert!(page.contains("<form method=\"post\""), "GET shows a confirmation form: {page}");
        }
    }
    assert_eq!(f.events("k1").await, before, "no audit event from a GET");
    let d = f.sfn().await.describe_execution().execution_arn(execution_arn(&change)).send().await.unwrap();
    assert_eq!(d.status().as_str(), "RUNNING", "still waiting for a human");
    // The links still work for the person they were meant for.
    let (code, _) = post(&token(&link(body, "approve"))).await;
    assert_eq!(code, 200);
}
