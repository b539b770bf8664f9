//! Crash recovery: a rotation step dies right after each of its side effects
//! in turn (see `keyturn_core::faults`), Step Functions retries it, and the
//! run ends exactly where a run without the crash ends: one new secret
//! version, one new vendor key, no duplicate audit event, an intact chain,
//! the connector `active` and released.

use std::collections::BTreeMap;
use std::path::PathBuf;

use keyturn_core::faults::{file_name, CrashPoint};
use reqwest::Method;

use crate::rotation::{api_key_connector, approve_and_hand_over, run_to_end, scim_connector};
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
    let history = history_text(&f.sfn().await, change).await;
    assert!(history.contains("\"errorType\":\"Runtime.ExitError\""), "the execution saw no crash");
}

/// One Atlassian org API-key rotation, crashed at `point` (or not): its end state and the vendor's keys.
async fn api_key_run(name: &str, point: Option<CrashPoint>) -> (EndState, usize, usize) {
    let f = Flow::new(name);
    let (org, arn, _) = api_key_connector(&f, name).await;
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
