//! Crash recovery: a rotation step dies right after each of its side effects
//! in turn (see `keyturn_app::faults`), Step Functions retries it, and the
//! run ends exactly where a run without the crash ends: one new secret
//! version, one new vendor key, no duplicate audit event, an intact chain,
//! the connector `active` and released.

use std::collections::BTreeMap;
use std::path::PathBuf;

use keyturn_app::faults::{file_name, CrashPoint};
use keyturn_domain::ErrorName;
use reqwest::Method;

use crate::rotation::{approve_and_hand_over, run_to_end, scim_connector, template_key_connector};
use crate::workflow::*;

/// Arms a one-shot crash right after `point` for the flow's connector `k1`.
fn arm(f: &Flow, point: CrashPoint) -> PathBuf {
    // The functions read the same directory (`make up` exports it).
    let dir = std::env::var_os("KEYTURN_CRASH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/crash")));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(file_name(point, &f.id("k1")));
    std::fs::write(&file, b"").unwrap();
    file
}

/// What a finished rotation left behind, in a form two runs can be compared by.
#[derive(Debug, PartialEq)]
struct EndState {
    status: String,
    outcome: String,
    secret_versions: usize,
    pending_left: bool,
    connector: Option<String>,
    lease: Option<String>,
    /// (event, actor) in chain order.
    events: Vec<(String, String)>,
}

async fn end_state(f: &Flow, change: &str, arn: &str) -> EndState {
    let (status, outcomes) = run_to_end(f, change).await;
    let chain = eventually("the final notification", || async {
        let chain = f.audit("k1").await;
        chain.iter().any(|e| e.event == "notified" && e.actor == "keyturn:notify").then_some(chain)
    })
    .await;
    crate::scan::assert_chains_intact(&chain);
    let versions = f.versions(arn).await;
    EndState {
        status,
        outcome: outcomes.first().map(|o| o["outcome"].as_str().unwrap_or("").to_owned()).unwrap_or_default(),
        secret_versions: versions.len(),
        pending_left: versions.iter().any(|(_, s)| s.contains(&"AWSPENDING".to_owned())),
        connector: f.connector_field("k1", "status").await,
        lease: f.connector_field("k1", "active_change").await,
        events: chain.into_iter().map(|e| (e.event, e.actor)).collect(),
    }
}

/// The execution met the crash (so the test cannot pass without one).
async fn crashed_once(f: &Flow, change: &str, armed: &std::path::Path) {
    assert!(!armed.exists(), "the crash point {} was never reached", armed.display());
    // The step ran in the connector's child execution.
    let failures = child_failures(&f.sfn().await, change).await;
    assert!(
        failures.iter().any(|e| e["error"] == ErrorName::RuntimeExitError.as_str()),
        "the execution saw no crash: {failures:?}"
    );
}

/// One rotation of a key keyturn makes through a template, crashed at `point` (or not): its end state and the vendor's keys.
async fn api_key_run(name: &str, point: Option<CrashPoint>) -> (EndState, usize, usize) {
    let f = Flow::new(name);
    let (org, arn, _) = template_key_connector(&f, name).await;
    let armed = point.map(|p| arm(&f, p));
    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let state = end_state(&f, &change, &arn).await;
    if let Some(armed) = &armed {
        crashed_once(&f, &change, armed).await;
    }
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    let keys = keys.as_array().cloned().unwrap_or_default();
    let live = keys.iter().filter(|k| k["revoked"] != true).count();
    (state, keys.len(), live)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_killed_after_each_side_effect_ends_as_if_it_never_crashed() {
    let points = [None, Some(CrashPoint::PutSecret), Some(CrashPoint::AuditWrite), Some(CrashPoint::StageUpdate)];
    let mut runs = tokio::task::JoinSet::new();
    for point in points {
        let name = format!("crash-{}", point.map_or("none", |p| p.as_str()).replace('_', ""));
        runs.spawn(async move { (point, api_key_run(&name, point).await) });
    }
    let mut results: BTreeMap<&str, (EndState, usize, usize)> = BTreeMap::new();
    while let Some(done) = runs.join_next().await {
        let (point, result) = done.unwrap();
        results.insert(point.map_or("none", |p| p.as_str()), result);
    }

    let (clean, keys, live) = &results["none"];
    assert_eq!((clean.status.as_str(), clean.outcome.as_str()), ("SUCCEEDED", "rotated"), "{clean:?}");
    assert_eq!((clean.secret_versions, clean.pending_left), (2, false), "{clean:?}");
    assert_eq!((clean.connector.as_deref(), clean.lease.as_deref()), (Some("active"), None));
    assert_eq!((*keys, *live), (2, 1), "one new vendor key; the old one revoked");
    for (point, (state, keys, live)) in &results {
        assert_eq!(state, clean, "after a crash at {point}: the same end state as without one");
        assert_eq!((*keys, *live), (2, 1), "after a crash at {point}: one new vendor key, the old one revoked");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_killed_after_the_identity_provider_took_the_key_ends_as_if_it_never_crashed() {
    let f = Flow::new("crash-idp");
    let (dir, sp, arn, _) = scim_connector(&f, "crash-idp").await;
    let armed = arm(&f, CrashPoint::IdpPush);
    let (change, fresh) = approve_and_hand_over(&f, &dir).await;
    let state = end_state(&f, &change, &arn).await;
    crashed_once(&f, &change, &armed).await;

    assert_eq!((state.status.as_str(), state.outcome.as_str()), ("SUCCEEDED", "rotated"), "{state:?}");
    assert_eq!((state.secret_versions, state.pending_left), (2, false), "{state:?}");
    assert_eq!((state.connector.as_deref(), state.lease.as_deref()), (Some("active"), None));
    let mut seen = std::collections::BTreeSet::new();
    for e in &state.events {
        assert!(seen.insert(e), "duplicate audit event {e:?} in {:?}", state.events);
    }
    for kind in ["rotation_started", "idp_updated", "verified", "finalized"] {
        assert!(state.events.iter().any(|(e, _)| e == kind), "{kind} missing: {:?}", state.events);
    }
    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&fresh), "Entra provisions with the new key");
}

/// Invokes a function directly under `cargo lambda watch`: (HTTP status, body).
async fn invoke(function: &str, payload: &serde_json::Value) -> (u16, String) {
    let base = callback().split("/lambda-url/").next().unwrap_or("http://127.0.0.1:9000").to_owned();
    let resp = reqwest::Client::new()
        .post(format!("{base}/2015-03-31/functions/{function}/invocations"))
        .json(payload)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_that_died_after_storing_its_key_is_repaired_by_the_next_change() {
    let f = Flow::new("crash-dead");
    let (org, arn, _) = template_key_connector(&f, "crash-dead").await;
    // A change whose execution is gone: its rotate stored AWSPENDING (a new
    // vendor key) and died there, and nothing ever retried it.
    let dead = "chg-20261101-00000000000dead1";
    // Claimed by that change, as the scanner claims (a lease that has lapsed).
    aws_sdk_dynamodb::Client::new(&f.stack.sdk().await)
        .update_item()
        .table_name("keyturn-connectors")
        .key("connector_id", aws_sdk_dynamodb::types::AttributeValue::S(f.id("k1")))
        .update_expression("SET active_change = :c, lease_until = :u")
        .expression_attribute_values(":c", aws_sdk_dynamodb::types::AttributeValue::S(dead.into()))
        .expression_attribute_values(":u", aws_sdk_dynamodb::types::AttributeValue::S("2026-11-15T00:00:00Z".into()))
        .send()
        .await
        .unwrap();
    let armed = arm(&f, CrashPoint::PutSecret);
    let input = serde_json::json!({
        "connector_id": f.id("k1"), "change_id": dead, "execution_arn": execution_arn(dead),
    });
    let (_, body) = invoke("rotate", &input).await;
    assert!(body.contains(ErrorName::RuntimeExitError.as_str()), "rotate died: {body}");
    assert!(!armed.exists(), "the crash point was reached");
    let pending = f.versions(&arn).await.into_iter().filter(|(_, s)| s.contains(&"AWSPENDING".to_owned())).count();
    assert_eq!(pending, 1, "the dead rotation left its key staged");
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("rotating"));

    // The next scan finds it wedged, repairs it and opens a new change.
    let report = f.scan(&[]);
    let repaired = report["repaired"].as_array().expect("a repair");
    assert_eq!((repaired[0]["change_id"].as_str(), repaired[0]["execution"].as_str()), (Some(dead), Some("missing")));
    let change = report["changes"][0]["change_id"].as_str().expect("a new change").to_owned();
    assert_eq!(report["changes"][0]["outcome"], "started", "{report:#}");
    f.approve(&change).await;
    let (status, outcomes) = crate::rotation::run_to_end(&f, &change).await;
    assert_eq!((status.as_str(), outcomes[0]["outcome"].as_str()), ("SUCCEEDED", Some("rotated")), "{outcomes:?}");

    let trail = f.audit("k1").await;
    let repair = trail.iter().find(|e| e.event == "repaired").expect("the repair is audited");
    assert_eq!(repair.change_id.as_deref(), Some(dead), "under the change that left it behind");
    let stale = trail.iter().find(|e| e.event == "pending_repaired").expect("the stale stage is audited");
    assert_eq!(stale.change_id.as_deref(), Some(change.as_str()));
    assert_eq!(
        stale.detail.get("outcome").map(String::as_str),
        Some("revoked"),
        "the dead rotation's vendor key: {stale:?}"
    );
    crate::scan::assert_chains_intact(&trail);
    let versions = f.versions(&arn).await;
    assert!(!versions.iter().any(|(_, s)| s.contains(&"AWSPENDING".to_owned())), "{versions:?}");
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    let live: Vec<_> = keys.as_array().unwrap().iter().filter(|k| k["revoked"] != true).collect();
    assert_eq!(live.len(), 1, "only the new key is live (old and orphaned ones revoked): {keys}");
}

/// The rollback function dies on its first attempt and both retries: the
/// workflow catches it (`RollbackCrashed`), notify reports the connector's
/// outcome as unknown and tells on-call, and the next scan repairs the
/// connector it left `rotating`.
#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_that_dies_every_time_is_escalated_and_repaired_by_the_next_scan() {
    let f = Flow::new("crash-rollback");
    let (org, _, old) = template_key_connector(&f, "crash-rollback").await;
    // The new key cannot be proven: rotate fails, and rollback runs.
    fault(&format!("/generic/v1/orgs/{org}/me"), "status", 401, 50, None).await;
    let armed = arm(&f, CrashPoint::RollbackStart);
    std::fs::write(&armed, b"3").unwrap();

    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let sfn = f.sfn().await;
    assert_eq!(finished(&sfn, &change).await.status().as_str(), "SUCCEEDED");
    assert!(!armed.exists(), "every attempt of rollback crashed");
    let crashes = child_failures(&sfn, &change)
        .await
        .iter()
        .filter(|e| e["error"] == ErrorName::RuntimeExitError.as_str())
        .count();
    assert!(crashes >= 3, "three rollback attempts died: {crashes}");
    assert_eq!(outcomes(&sfn, &change).await, Vec::<serde_json::Value>::new(), "no rollback recorded an outcome");

    let told = eventually("on-call told of the unknown outcome", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?
            .iter()
            .find(|m| m["subject"].as_str().is_some_and(|s| s.starts_with("UNKNOWN OUTCOME") && s.contains(&change)))
            .cloned()
    })
    .await;
    assert_eq!(told["destinations"]["ToAddresses"][0], "oncall@e2e.example");
    assert!(told["body"].as_str().is_some_and(|b| b.contains("unknown")), "{told}");
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("rotating"), "nothing ran to release it");

    let report = f.scan(&[]);
    let repaired = report["repaired"].as_array().expect("a repair");
    assert_eq!(
        (repaired[0]["change_id"].as_str(), repaired[0]["execution"].as_str()),
        (Some(change.as_str()), Some("SUCCEEDED")),
        "{report:#}"
    );
    let trail = f.audit("k1").await;
    assert!(trail.iter().any(|e| e.event == "repaired" && e.change_id.as_deref() == Some(change.as_str())));
    crate::scan::assert_chains_intact(&trail);
    assert_never_leaked(&f, &change, &[old.as_str()]).await;
}
