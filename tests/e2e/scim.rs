//! The SCIM side against a server keyturn did not write: `scim2-server`
//! (PyPI, python-scim; `make up` starts it in memory, one tenant per
//! directory) behind keyturn-sim's auth + path-mapping relay
//! (`tests/simulators/src/scim_relay.rs`), which checks the directory's key
//! and passes the server's answers through untouched. keyturn's probe, the
//! Entra simulator's credential check and the whole hand-over run against it.

use keyturn_app::rotation::VendorError;
use keyturn_domain::SecretValue;
use reqwest::Method;
use serde_json::{json, Value};

use crate::rotation::{hand_over, intake_link, run_to_end};
use crate::workflow::*;

fn unique(f: &Flow, what: &str) -> String {
    format!("{what}-{}", f.stack.prefix.trim_end_matches('-').replace('/', "-"))
}

/// A directory served by the independent server, its key `key`, with `users`
/// provisioned into it the way an identity provider would (SCIM `POST /Users`).
async fn independent_directory(dir: &str, key: &str, users: &[&str]) {
    let (status, answer) =
        vendor(Method::PUT, &format!("/_sim/atlassian/directories/{dir}"), Some(json!({"key": key, "upstream": true})))
            .await;
    assert_eq!(status, 200, "keyturn-sim relays to the SCIM server (make up starts both): {answer}");
    for user in users {
        let created = reqwest::Client::new()
            .post(format!("{}/scim/directory/{dir}/Users", vendor_url()))
            .bearer_auth(key)
            .header("content-type", "application/scim+json")
            .body(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user, "active": true})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "the server provisions {user}");
    }
}

/// An `atlassian-scim` connector on an independent directory, consumed by
/// `idp` (`none` or `entra`): (directory, service principal, ARN, old key).
async fn connector(f: &Flow, tag: &str, idp: &str, users: &[&str]) -> (String, String, String, String) {
    let (dir, sp, old) = (unique(f, "ind"), unique(f, "sp"), canary(tag));
    independent_directory(&dir, &old, users).await;
    if idp == "entra" {
        let base = format!("{}/scim/directory/{dir}", vendor_url());
        let saved = json!({"value": [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": old}]});
        vendor(Method::PUT, &format!("/graph/v1.0/servicePrincipals/{sp}/synchronization/secrets"), Some(saved)).await;
    }
    let arn = f.secret("k1", &old).await;
    let (app, job) = if idp == "entra" { (sp.as_str(), "job-1") } else { ("", "") };
    f.import_row(&format!(
        "{},atlassian-scim,e2e,{dir},{idp},{app},{job},owner@e2e.example,e2e-one,,{arn},{}",
        f.id("k1"),
        in_days(10)
    ));
    (dir, sp, arn, old)
}

/// What the independent server logged (one line per request it served).
fn server_log() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/scim.log")).unwrap_or_default()
}

/// Whether scim2-server logged `line`. Its server writes the line after the
/// answer is sent, so a test that just got the answer may read the log
/// first: waits a few seconds for it.
async fn served(line: &str) -> bool {
    for _ in 0..50 {
        if server_log().contains(line) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

async fn validate(sp: &str, base: &str, token: &str) -> u16 {
    let body = json!({"useSavedCredentials": false,
                      "credentials": [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": token}]});
    vendor(
        Method::POST,
        &format!("/graph/v1.0/servicePrincipals/{sp}/synchronization/jobs/job-1/validateCredentials"),
        Some(body),
    )
    .await
    .0
}

/// keyturn's SCIM probe (the code the pre-flight and verify run) reads the
/// independent server's ListResponses, seeded or empty, and is refused with
/// a wrong key; Entra's credential check (the simulator calls the endpoint
/// it is given) says the same.
#[tokio::test(flavor = "multi_thread")]
async fn the_probe_and_entra_accept_the_independent_servers_answers_for_a_valid_key_only() {
    let f = Flow::new("scimprobe");
    let (seeded, empty) = (unique(&f, "seeded"), unique(&f, "empty"));
    let (key, other) = (canary("ind-key"), canary("ind-other"));
    independent_directory(&seeded, &key, &["ada@e2e.example", "bo@e2e.example", "cy@e2e.example"]).await;
    independent_directory(&empty, &other, &[]).await;

    // The answers are the server's own: its media type, its paging fields.
    let raw = reqwest::Client::new()
        .get(format!("{}/scim/directory/{seeded}/Users?startIndex=1&count=1", vendor_url()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.headers()["content-type"], "application/scim+json");
    let list: Value = raw.json().await.unwrap();
    assert_eq!((list["totalResults"].as_u64(), list["itemsPerPage"].as_u64()), (Some(3), Some(1)), "{list}");
    assert!(served(&format!("GET /{seeded}/v2/Users?startIndex=1&count=1")).await, "served by scim2-server");

    let atlassian = keyturn_vendors::Atlassian::new(keyturn_vendors::client(), &vendor_url());
    atlassian.scim_probe(&seeded, &SecretValue::new(&key)).await.expect("a seeded directory proves the key");
    atlassian.scim_probe(&empty, &SecretValue::new(&other)).await.expect("so does an empty one (totalResults 0)");
    let refused = atlassian.scim_probe(&seeded, &SecretValue::new(&other)).await.unwrap_err();
    assert!(matches!(refused, VendorError::Unauthorized { status: 401, .. }), "{refused:?}");

    let sp = unique(&f, "sp");
    let base = format!("{}/scim/directory/{seeded}", vendor_url());
    assert_eq!(validate(&sp, &base, &key).await, 204, "Entra: valid");
    assert_eq!(validate(&sp, &base, &other).await, 400, "Entra: refused");
    assert!(served(&format!("GET /{seeded}/v2/Users?filter=userName")).await, "Entra asked the server itself");
    let log = server_log();
    assert!(!log.contains(&key) && !log.contains(&other), "the relay never forwards a key");
}

/// Issue 20 items 7 and 8 on the independent server behind Entra: the owner
/// first pastes the key they just killed and is told so at once (nothing
/// stored, same link), then the new one, which Entra validates against the
/// server and the rotation makes current.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_paste_is_refused_at_once_and_the_same_link_rotates_the_key_through_entra() {
    let f = Flow::new("scimentra");
    let (dir, sp, arn, old) = connector(&f, "ind-old", "entra", &["ada@e2e.example", "bo@e2e.example"]).await;
    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let url = intake_link(&change).await;
    let (_, regenerated) = vendor(Method::POST, &format!("/_sim/atlassian/directories/{dir}/regenerate"), None).await;
    let fresh = regenerated["key"].as_str().unwrap().to_owned();
    let versions = f.versions(&arn).await.len();

    let (code, page) = hand_over(&url, &old).await;
    assert_eq!(code, 422, "{page}");
    assert!(page.contains("This key is refused by Atlassian (401): paste the key you just regenerated"), "{page}");
    assert!(!page.contains(&old), "the page never shows the key");
    assert_eq!(f.versions(&arn).await.len(), versions, "a refused key is never stored");
    let refused = f.audit("k1").await.into_iter().find(|e| e.event == "key_refused").expect("key_refused audited");
    assert_eq!(refused.detail["fingerprint"], sha(&old));

    let (code, page) = hand_over(&url, &fresh).await;
    assert_eq!(code, 200, "the same link takes the right key: {page}");
    assert!(page.contains("Atlassian accepted it"), "{page}");
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    assert_eq!(hand_over(&url, &fresh).await.0, 409, "an accepted key used the link up");

    assert!(f.secret_at(&arn, "AWSCURRENT").await.unwrap().contains(&fresh));
    assert_eq!(f.versions(&arn).await.len(), versions + 1, "one new version: the accepted key");
    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&fresh), "Entra provisions with the new key");
    assert!(served(&format!("GET /{dir}/v2/Users?startIndex=1&count=1")).await, "probed at the server");
    assert!(served(&format!("GET /{dir}/v2/Users?filter=userName")).await, "Entra's checks reached the server");
    let events = f.events("k1").await;
    for e in ["key_requested", "key_refused", "pending_stored", "idp_updated", "verified", "finalized"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}

/// Issue 20 item 6 on the independent server, no identity provider: the
/// owner regenerated (the old key is dead), the handed-over key passed the
/// form's check but is refused by the pre-flight seconds later (revoked in
/// between: here a 401 injected after the form's check). On-call must hear
/// that the old key is dead, not that it is "live and current".
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_scim_key_without_an_identity_provider_tells_on_call_the_old_key_is_dead() {
    let f = Flow::new("scimnone-dead");
    let (dir, _, arn, old) = connector(&f, "ind-dead", "none", &["ada@e2e.example"]).await;
    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let url = intake_link(&change).await;
    let (_, regenerated) = vendor(Method::POST, &format!("/_sim/atlassian/directories/{dir}/regenerate"), None).await;
    let fresh = regenerated["key"].as_str().unwrap().to_owned();
    let refuse = json!({"method": "GET", "path_prefix": format!("/scim/directory/{dir}/Users"),
                        "kind": "status", "status": 401, "skip": 1, "times": 1});
    vendor(Method::POST, "/_sim/faults", Some(refuse)).await;
    assert_eq!(hand_over(&url, &fresh).await.0, 200);

    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rollback_failed", "the old key is gone: {outcomes:?}");
    assert_eq!(f.secret_at(&arn, "AWSCURRENT").await.as_deref(), Some(old.as_str()), "AWSCURRENT untouched");
    let told = eventually("the on-call email", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?
            .iter()
            .find(|m| {
                m["subject"].as_str().is_some_and(|s| s.contains(&f.id("k1")) && s.contains("manual intervention"))
            })
            .cloned()
    })
    .await;
    let body = told["body"].as_str().unwrap();
    assert!(told["subject"].as_str().unwrap().starts_with("ROLLBACK INCOMPLETE"), "{told}");
    assert!(body.contains("no longer works at the vendor"), "says the old key is dead: {body}");
    assert!(!body.contains("live and current"), "{body}");
    let failed = f.audit("k1").await.into_iter().find(|e| e.event == "rollback_failed").expect("rollback_failed");
    assert!(failed.detail["not_restored"].contains("no longer works"), "{:?}", failed.detail);
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}
