//! Rotation for real: approved changes run rotate → verify → finalize (or
//! rollback) in the real functions against the vendor simulators, with the
//! key values planted as canaries that must never show up anywhere.

use keyturn_domain::ErrorName;
use reqwest::Method;

use crate::workflow::*;

/// A unique, path-safe name for this test's vendor objects.
fn unique(f: &Flow, what: &str) -> String {
    format!("{what}-{}", f.stack.prefix.trim_end_matches('-').replace('/', "-"))
}

/// An Atlassian SCIM connector consumed by Entra, its current key seeded at
/// the directory, in Entra and in Secrets Manager: (directory, service principal, ARN, old key).
pub(crate) async fn scim_connector(f: &Flow, tag: &str) -> (String, String, String, String) {
    let dir = unique(f, "dir");
    let sp = unique(f, "sp");
    let old = canary(tag);
    vendor(Method::PUT, &format!("/_sim/atlassian/directories/{dir}"), Some(serde_json::json!({"key": old}))).await;
    let base = format!("{}/scim/directory/{dir}", vendor_url());
    let saved =
        serde_json::json!({"value": [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": old}]});
    vendor(Method::PUT, &format!("/graph/v1.0/servicePrincipals/{sp}/synchronization/secrets"), Some(saved)).await;
    let arn = f.secret("k1", &old).await;
    f.import_row(&format!(
        "{},atlassian-scim,e2e,{dir},entra,{sp},job-1,owner@e2e.example,e2e-one,,{arn},{}",
        f.id("k1"),
        in_days(10)
    ));
    (dir, sp, arn, old)
}

/// The hand-over link in an email to the owner.
pub(crate) fn handover_href(body: &str) -> Option<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(|l| l.replace("&amp;", "&"))
        .find(|l| l.starts_with(&callback()))
}

/// The owner's intake link, once request-key asked and the workflow waits.
pub(crate) async fn intake_link(change: &str) -> String {
    let url = eventually("the key request", || async {
        let all = sim("/_sim/ses").await;
        let body = all.as_array()?.iter().find(|m| {
            m["subject"].as_str().is_some_and(|s| s.starts_with("Action needed") && s.contains(change))
                && m["destinations"]["ToAddresses"][0] == "owner@e2e.example"
        })?["body"]
            .as_str()?
            .to_owned();
        handover_href(&body)
    })
    .await;
    paused(change, 2).await;
    url
}

/// Pastes `key` into the intake form (its POST): (status, page).
pub(crate) async fn hand_over(url: &str, key: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(callback())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("t={}&key={key}", token(url)))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Scans, approves the one change and waits for its end: (change, status, outcomes).
pub(crate) async fn approve_and_finish(f: &Flow) -> (String, String, Vec<serde_json::Value>) {
    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let (status, outcomes) = run_to_end(f, &change).await;
    (change, status, outcomes)
}

/// Waits for the change's end: (status, outcomes). Whatever happened, the
/// connector (`k1`) is never left `rotating`.
pub(crate) async fn run_to_end(f: &Flow, change: &str) -> (String, Vec<serde_json::Value>) {
    let sfn = f.sfn().await;
    let done = finished(&sfn, change).await;
    let status = f.connector_field("k1", "status").await;
    assert!(matches!(status.as_deref(), Some("active" | "needs_manual_intervention")), "k1 left {status:?}");
    (done.status().as_str().to_owned(), outcomes(&sfn, change).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scim_key_handed_over_by_its_owner_reaches_entra_and_never_leaks() {
    let f = Flow::new("scim");
    let (dir, sp, arn, old) = scim_connector(&f, "old").await;
    // The pre-flight's first SCIM read with the new key is answered 500 (the
    // read before it, the form's check while the owner waits, passes).
    let flaky = serde_json::json!({"method": "GET", "path_prefix": format!("/scim/directory/{dir}/Users"),
                                   "kind": "status", "status": 500, "skip": 1, "times": 1});
    vendor(Method::POST, "/_sim/faults", Some(flaky)).await;

    let change = f.scan_one(&[]);
    f.approve(&change).await;

    // The owner is asked for the key, by a link of their own.
    let url = intake_link(&change).await;
    let form = browser(&url, "none");
    assert_eq!(form["before"]["status"], 200);
    assert!(form["before"]["heading"].as_str().unwrap().starts_with("Hand over the new key"), "{form:#}");

    // The owner regenerates the key in the (simulated) Atlassian console: the old one dies at once.
    let (_, regenerated) = vendor(Method::POST, &format!("/_sim/atlassian/directories/{dir}/regenerate"), None).await;
    let fresh = regenerated["key"].as_str().unwrap().to_owned();
    assert_eq!(hand_over(&url, "short").await.0, 400, "a paste gone wrong is refused and nothing is stored");
    let (code, page) = hand_over(&url, &fresh).await;
    assert_eq!(code, 200);
    assert!(page.contains("Key received") && !page.contains(&fresh), "the page never shows the key");

    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");

    let current = f.secret_at(&arn, "AWSCURRENT").await.unwrap();
    assert!(current.contains(&fresh), "AWSCURRENT moved to the handed-over key");
    assert_eq!(f.secret_at(&arn, "AWSPREVIOUS").await.as_deref(), Some(old.as_str()));
    assert!(f.versions(&arn).await.iter().all(|(_, stages)| !stages.contains(&"AWSPENDING".to_owned())));
    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&fresh), "Entra provisions with the new key");
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("active"));
    let expires = f.connector_field("k1", "expires_at").await.unwrap();
    assert!(expires > in_days(300), "the new expiry is recorded: {expires}");

    let events = eventually("notified", || async {
        let e = f.events("k1").await;
        (e.last().map(String::as_str) == Some("notified")).then_some(e)
    })
    .await;
    for step in
        ["approved", "key_requested", "pending_stored", "rotation_started", "idp_updated", "verified", "finalized"]
    {
        assert!(events.contains(&step.to_owned()), "{step} missing from {events:?}");
    }
    let chain = f.audit("k1").await;
    let stored = chain.iter().find(|e| e.event == "pending_stored").unwrap();
    assert_eq!(stored.detail["new_fingerprint"], sha(&fresh));
    let verified = chain.iter().find(|e| e.event == "verified").unwrap();
    let preflight = &verified.detail["preflight_calls"];
    assert!(preflight.contains("ScimListUsers 500") && preflight.contains("ScimListUsers 200"), "retried: {preflight}");
    assert_eq!(stored.actor, "owner:owner@e2e.example");

    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_key_is_created_verified_and_the_old_one_revoked() {
    let f = Flow::new("apikey");
    let (org, arn, old) = template_key_connector(&f, "old-org").await;
    // The vendor is busy at first: two 429s with Retry-After, then a 503.
    fault(&format!("/generic/v1/orgs/{org}/me"), "status", 429, 2, Some(1)).await;
    let create = serde_json::json!({"method": "POST", "path_prefix": format!("/generic/v1/orgs/{org}/keys"),
                                    "kind": "status", "status": 503, "times": 1});
    vendor(Method::POST, "/_sim/faults", Some(create)).await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");

    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 2, "exactly one new key, even with retries: {keys:?}");
    assert!(keys.iter().any(|k| k["id"] == "k-old" && k["revoked"] == true), "the old key is revoked");
    let current: serde_json::Value = serde_json::from_str(&f.secret_at(&arn, "AWSCURRENT").await.unwrap()).unwrap();
    let new_id = current["key_id"].as_str().unwrap();
    assert!(keys.iter().any(|k| k["id"] == new_id && k["revoked"] == false));
    assert_eq!(f.versions(&arn).await.len(), 2, "one new secret version");

    let events = f.events("k1").await;
    let verified = f.audit("k1").await.into_iter().find(|e| e.event == "verified").unwrap();
    assert!(events.contains(&"finalized".to_owned()), "{events:?}");
    assert_eq!(verified.detail["attempts"], "1", "verification itself met no fault");
    assert_eq!(verified.execution_arn.as_deref(), Some(execution_arn(&change).as_str()), "the change's execution");
    assert_eq!(verified.correlation_id, Some(format!("{change}/{}", f.id("k1"))));
    assert!(
        verified.detail["preflight_calls"].contains("generic-http Probe 429")
            && verified.detail["preflight_calls"].contains("generic-http Probe 200"),
        "the vendor's answers are in the audit trail: {:?}",
        verified.detail
    );
    let stored = f.audit("k1").await.into_iter().find(|e| e.event == "pending_stored").unwrap();
    assert!(stored.detail["vendor_calls"].contains("generic-http CreateKey 503"), "{:?}", stored.detail);
    assert!(stored.detail["vendor_calls"].contains("generic-http CreateKey 201"), "{:?}", stored.detail);
    assert_never_leaked(&f, &change, &[old.as_str(), current["key"].as_str().unwrap()]).await;

    // The SCIM SLIs as metrics (EMF lines), counted per vendor answer, and
    // the change and connector ids on the step's log lines.
    let log = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/functions.log")).unwrap();
    let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let k1 = f.id("k1");
    let ours = |v: &&serde_json::Value| v["connector_id"] == k1.as_str() && v["change_id"] == change.as_str();
    let metric = |step: &str, name: &str| {
        lines.iter().filter(ours).find(|v| v["Step"] == step && v.get(name).is_some()).cloned().unwrap_or_else(|| {
            panic!("no {name} metric from {step}");
        })
    };
    let calls = metric("rotate", "ApiCalls");
    assert_eq!(
        (&calls["Throttles"], &calls["ServerErrors"], &calls["AuthFailures"]),
        (&2.into(), &1.into(), &0.into()),
        "{calls}"
    );
    assert_eq!(calls["Retries"], 3, "two 429s and a 503, each retried: {calls}");
    assert_eq!(calls["ApiLatency"].as_array().map(Vec::len), calls["ApiCalls"].as_u64().map(|n| n as usize));
    assert_eq!(metric("finalize", "RotationSucceeded")["RotationSucceeded"], 1.0);
    assert!(metric("finalize", "TimeToRotate")["TimeToRotate"].as_f64().is_some());
    for step in ["rotate", "verify", "finalize"] {
        let done = lines.iter().find(|v| {
            v["fields"]["message"] == "step done"
                && v["spans"].as_array().is_some_and(|s| {
                    s.iter().any(|s| {
                        s["step"] == step && s["change_id"] == change.as_str() && s["connector_id"] == k1.as_str()
                    })
                })
        });
        assert!(done.is_some(), "{step}'s log lines carry the change and connector ids");
    }
}

/// An Atlassian organization API key, which Atlassian's API cannot create:
/// its owner creates one in admin.atlassian.com and pastes it into the form;
/// keyturn verifies it and revokes the old key with the documented
/// `PATCH …/api-keys/revoke/{id}`.
#[tokio::test(flavor = "multi_thread")]
async fn an_org_api_key_handed_over_by_its_owner_is_verified_and_the_old_one_revoked() {
    let f = Flow::new("orgkey");
    let (org, arn, old) = org_key_connector(&f, "old-orgkey").await;
    // Atlassian is busy once the form's check has passed: two 429s with Retry-After.
    let busy = serde_json::json!({"method": "GET", "path_prefix": format!("/admin/v1/orgs/{org}"), "kind": "status",
                                  "status": 429, "skip": 1, "times": 2, "retry_after": 1});
    vendor(Method::POST, "/_sim/faults", Some(busy)).await;
    let (change, fresh, new_id, email) = approve_and_hand_over_org_key(&f, &org).await;
    for said in ["create a new organization API key", "admin.atlassian.com", "keyturn then revokes it"] {
        assert!(email.contains(said), "the owner is told: {said:?} missing from {email}");
    }
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");

    assert!(f.secret_at(&arn, "AWSCURRENT").await.unwrap().contains(&fresh), "the handed-over key is current");
    assert!(f.versions(&arn).await.iter().all(|(_, s)| !s.contains(&"AWSPENDING".to_owned())));
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 2, "keyturn made no key of its own: {keys:?}");
    assert!(keys.iter().any(|k| k["id"] == "k-old" && k["revoked"] == true), "the old key is revoked: {keys:?}");
    assert!(keys.iter().any(|k| k["id"] == new_id.as_str() && k["revoked"] == false), "{keys:?}");
    let (_, log) = vendor(Method::GET, "/_sim/requests", None).await;
    let revoke = format!("/admin/api-access/v1/orgs/{org}/api-keys/revoke/k-old");
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["method"] == "PATCH" && r["path"] == revoke.as_str() && r["status"] == 204),
        "revoked by the documented PATCH: {log}"
    );

    let trail = f.audit("k1").await;
    let stored = trail.iter().find(|e| e.event == "pending_stored").unwrap();
    assert_eq!((stored.actor.as_str(), stored.detail["source"].as_str()), ("owner:owner@e2e.example", "human_intake"));
    assert_eq!(stored.detail["checked"], "Atlassian accepted it");
    let verified = trail.iter().find(|e| e.event == "verified").unwrap();
    let preflight = &verified.detail["preflight_calls"];
    assert!(preflight.contains("atlassian GetOrg 429") && preflight.contains("atlassian GetOrg 200"), "{preflight}");
    let finalized = trail.iter().find(|e| e.event == "finalized").unwrap();
    assert_eq!(finalized.detail["old_key"], "revoked k-old", "{:?}", finalized.detail);
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}

/// A handed-over org key passes the form's check, then fails verification:
/// the old key stays current and live, and since keyturn did not create the
/// new key it cannot revoke it: on-call hears that it is still live at
/// Atlassian and that its owner should revoke it.
#[tokio::test(flavor = "multi_thread")]
async fn a_handed_over_org_key_that_fails_verification_is_rolled_back_and_left_for_its_owner_to_revoke() {
    let f = Flow::new("orgkeyrb");
    let (org, arn, old) = org_key_connector(&f, "old-orgkeyrb").await;
    // The form's check passes; every read after it is refused.
    let refuse = serde_json::json!({"method": "GET", "path_prefix": format!("/admin/v1/orgs/{org}"), "kind": "status",
                                    "status": 401, "skip": 1, "times": 50});
    vendor(Method::POST, "/_sim/faults", Some(refuse)).await;
    let (change, fresh, new_id, _) = approve_and_hand_over_org_key(&f, &org).await;
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED", "a rollback is an outcome");
    assert_eq!(outcomes[0]["outcome"], "rolled_back", "{outcomes:?}");
    assert_eq!(
        f.secret_at(&arn, "AWSCURRENT").await.as_deref(),
        Some(serde_json::json!({"key": old, "key_id": "k-old"}).to_string().as_str()),
        "AWSCURRENT never moved"
    );
    assert!(f.versions(&arn).await.iter().all(|(_, s)| !s.contains(&"AWSPENDING".to_owned())), "AWSPENDING removed");
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    for k in keys.as_array().unwrap() {
        assert_eq!(k["revoked"], false, "the old key live, and the owner's key untouched by keyturn: {k}");
    }
    assert!(keys.as_array().unwrap().iter().any(|k| k["id"] == new_id.as_str()));
    let told = eventually("the on-call email", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?
            .iter()
            .find(|m| {
                m["subject"].as_str().is_some_and(|s| s.starts_with("Rotation rolled back") && s.contains(&f.id("k1")))
            })
            .cloned()
    })
    .await;
    let body = told["body"].as_str().unwrap();
    assert!(body.contains("AWSCURRENT unchanged"), "{body}");
    assert!(
        body.contains(&format!("the handed-over key (fingerprint {}) is still live at Atlassian", sha(&fresh)))
            && body.contains("its owner should revoke it"),
        "on-call hears the new key is still live and who revokes it: {body}"
    );
    let rolled = f.audit("k1").await.into_iter().find(|e| e.event == "rolled_back").unwrap();
    assert!(rolled.detail["owner_to_do"].contains("still live at Atlassian"), "{:?}", rolled.detail);
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("needs_manual_intervention"));
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_key_that_fails_verification_is_rolled_back_and_on_call_told() {
    let f = Flow::new("rollback");
    let (org, arn, old) = template_key_connector(&f, "old-rb").await;
    // Every read with any key is refused from now on: the new key cannot be proven.
    fault(&format!("/generic/v1/orgs/{org}/me"), "status", 401, 50, None).await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED", "a rollback is an outcome, reported by notify");
    assert_eq!(outcomes[0]["outcome"], "rolled_back", "{outcomes:?}");

    assert_old_key_kept(&f, &arn, &org, &old).await;
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("needs_manual_intervention"));
    assert_eq!(f.connector_field("k1", "active_change").await, None, "released");

    let events = f.events("k1").await;
    for e in ["verification_failed", "rolled_back", "needs_manual_intervention"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    let told = eventually("the on-call email", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?
            .iter()
            .find(|m| {
                m["subject"].as_str().is_some_and(|s| s.starts_with("Rotation rolled back") && s.contains(&f.id("k1")))
            })
            .cloned()
    })
    .await;
    assert_eq!(told["destinations"]["ToAddresses"][0], "oncall@e2e.example");
    let body = told["body"].as_str().unwrap();
    assert!(body.contains("AWSCURRENT unchanged") && body.contains("revoked"), "says what was restored: {body}");

    // `keyturn status` shows it waiting for a human.
    let k1 = f.id("k1");
    let status = f.stack.json(&["status"]);
    assert!(status["needs_manual_intervention"].as_array().unwrap().iter().any(|c| c == k1.as_str()), "{status}");
    assert!(status["connectors_by_state"]["needs_manual_intervention"].as_u64().unwrap() >= 1, "{status}");
    // And keyturn's own credentials: its Entra secret's end date as the
    // simulated Graph reports it (`make up`'s `dev setup` seeds it 25 days
    // out), the signing keys' ages.
    let vendor = vendor_url();
    let (graph, login) = (format!("{vendor}/graph/v1.0"), format!("{vendor}/login"));
    let entra_env = [
        ("KEYTURN_ENTRA_SECRET", "keyturn/entra"),
        ("KEYTURN_GRAPH_URL", graph.as_str()),
        ("KEYTURN_ENTRA_LOGIN_URL", login.as_str()),
    ];
    let out = f.stack.keyturn_env(&["status", "--format", "json"], &entra_env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let own = status["own_credentials"].as_array().unwrap();
    let row = |name: &str| own.iter().find(|r| r["credential"] == name).unwrap_or_else(|| panic!("{name}: {status}"));
    let entra = row("entra-client-secret");
    assert_eq!(entra["known"], "reported", "{entra}");
    assert!((20..=25).contains(&entra["days_left"].as_i64().unwrap()), "{entra}");
    assert!(row("link-signing-key")["created"].is_string(), "{status}");
    assert!(own.iter().all(|r| r["credential"] != "jira-token"), "no Jira configured here, no row: {status}");
    assert!(!status.to_string().contains("local-fake"), "no credential in status: {status}");

    // On-call fixes the cause and clears the flag; the audit trail says who and why.
    let note = "401 was a revoked Graph consent; re-granted";
    f.stack.ok(&["connector", "resolve", &k1, "--note", note, "--actor", "oncall@e2e.example"]);
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("active"));
    let resolved = f.audit("k1").await.into_iter().find(|e| e.event == "resolved").unwrap();
    assert_eq!((resolved.actor.as_str(), resolved.detail["note"].as_str()), ("cli:oncall@e2e.example", note));
    let again = f.stack.keyturn(&["connector", "resolve", &k1, "--note", "again"]);
    assert!(!again.status.success(), "an active connector is not resolved twice");
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not marked needs_manual_intervention"));

    // `keyturn changes` tells the change's story: votes, the workflow's last step, its events.
    let shown = f.stack.json(&["changes", "show", &change]);
    assert_eq!((&shown["workflow"]["status"], &shown["workflow"]["step"]), (&"SUCCEEDED".into(), &"NotifyDone".into()));
    assert_eq!(shown["votes"][0]["approver"], "ana@e2e.example", "{shown}");
    let events: Vec<&str> = shown["events"].as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
    for e in ["approved", "verification_failed", "rolled_back", "needs_manual_intervention"] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
    assert!(!events.contains(&"resolved"), "the resolution belongs to no change");
    let all = f.stack.json(&["changes", "list", "--all"]);
    assert!(all.as_array().unwrap().iter().any(|c| c["change_id"] == change.as_str()), "{all}");
    let open = f.stack.json(&["changes", "list"]);
    assert!(open.as_array().unwrap().iter().all(|c| c["change_id"] != change.as_str()), "an ended change is not open");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scim_rotation_that_fails_after_the_push_cannot_bring_back_the_dead_key_and_says_so() {
    let f = Flow::new("scimfail");
    let (dir, sp, arn, old) = scim_connector(&f, "old-scim").await;
    // Verify's read of the provisioning job is refused once the new key is in
    // Entra (the first GET, rotate's record of the job's state before the
    // push, passes; the candidate check and the push are a POST and a PUT).
    let refuse = serde_json::json!({"method": "GET", "path_prefix": format!("/graph/v1.0/servicePrincipals/{sp}/synchronization/jobs/job-1"),
                                    "kind": "status", "status": 403, "skip": 1, "times": 1});
    vendor(Method::POST, "/_sim/faults", Some(refuse)).await;

    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let (_, regenerated) = vendor(Method::POST, &format!("/_sim/atlassian/directories/{dir}/regenerate"), None).await;
    let fresh = regenerated["key"].as_str().unwrap().to_owned();
    let url = intake_link(&change).await;
    assert_eq!(hand_over(&url, &fresh).await.0, 200);

    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rollback_failed", "{outcomes:?}");
    assert!(outcomes[0]["detail"].as_str().unwrap().contains("old key no longer works"), "{outcomes:?}");
    assert_eq!(
        f.secret_at(&arn, "AWSCURRENT").await.as_deref(),
        Some(old.as_str()),
        "AWSCURRENT only moves after verification"
    );
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("needs_manual_intervention"));
    let events = f.events("k1").await;
    for e in ["idp_updated", "verification_failed", "rollback_failed"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&fresh), "Entra keeps the new key: the only one Atlassian still accepts");
    let failed = f.audit("k1").await.into_iter().find(|e| e.event == "rollback_failed").unwrap();
    assert!(failed.detail["not_restored"].contains("entra not restored"), "{:?}", failed.detail);
    eventually("the escalation", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?
            .iter()
            .find(|m| {
                m["subject"].as_str().is_some_and(|s| s.starts_with("ROLLBACK INCOMPLETE") && s.contains(&f.id("k1")))
            })
            .cloned()
    })
    .await;
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_rotate_writes_no_second_secret_version() {
    let f = Flow::new("idem");
    let (org, arn, old) = template_key_connector(&f, "old-idem").await;
    let change = format!("chg-20990101-{:016x}", f.stack.prefix.len() as u64 * 7919);
    // An earlier attempt of this change created a key and died before storing it.
    let orphan: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/generic/v1/orgs/{org}/keys", vendor_url()))
        .bearer_auth(&old)
        .json(&serde_json::json!({"name": keyturn_app::rotation::vendor_key_label(
            &keyturn_domain::ChangeId::from_trusted(&change),
            &keyturn_domain::ConnectorId::parse(&f.id("k1")).unwrap(),
        )}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The rotate step invoked twice with the same input, as a Lambda retry would.
    let input = serde_json::json!({
        "connector_id": f.id("k1"),
        "change_id": change,
        "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:keyturn-rotation:manual",
    });
    let lambda = callback().replace("/lambda-url/approval-callback", "/2015-03-31/functions/rotate/invocations");
    for _ in 0..2 {
        let resp = reqwest::Client::new().post(&lambda).json(&input).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap());
    }
    assert_eq!(f.versions(&arn).await.len(), 2, "the old version and one pending version");
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 3, "the old key, the orphan and one new key (not two): {keys:?}");
    // A template has no list call, so nothing can find the orphan: it stays
    // live and unrecorded (docs/rotation.md). Listing-based repair served
    // only API-created Atlassian org keys, which are now handed over.
    assert!(keys.iter().any(|k| k["id"] == orphan["data"]["id"] && k["revoked"] == false), "{keys:?}");
}

/// An org API-key connector with its current key seeded; returns (org, secret ARN, old key).
/// After a rollback of an org-key rotation: `AWSCURRENT` still the old key
/// (`k-old`), no `AWSPENDING`, and at the vendor only the old key live.
async fn assert_old_key_kept(f: &Flow, arn: &str, org: &str, old: &str) {
    assert_eq!(
        f.secret_at(arn, "AWSCURRENT").await.as_deref(),
        Some(serde_json::json!({"key": old, "key_id": "k-old"}).to_string().as_str()),
        "AWSCURRENT never moved"
    );
    assert!(f.versions(arn).await.iter().all(|(_, s)| !s.contains(&"AWSPENDING".to_owned())), "AWSPENDING removed");
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    for k in keys.as_array().unwrap() {
        assert_eq!(k["revoked"] == true, k["id"] != "k-old", "old key live, any new key revoked: {k}");
    }
}

/// A `generic-http` connector whose keys keyturn makes through
/// [`key_template`] (no hand-over), its current key (`k-old`) seeded at the
/// vendor and in Secrets Manager: (org, secret ARN, old key).
pub(crate) async fn template_key_connector(f: &Flow, tag: &str) -> (String, String, String) {
    let org = unique(f, "org");
    let old = canary(tag);
    vendor(Method::PUT, &format!("/_sim/atlassian/orgs/{org}/keys/k-old"), Some(serde_json::json!({"key": old}))).await;
    let arn = f.secret("k1", &serde_json::json!({"key": old, "key_id": "k-old"}).to_string()).await;
    let record = serde_json::json!([{
        "id": f.id("k1"), "kind": "generic-http", "org": org, "idp": "none", "owner": "owner@e2e.example",
        "approver_group": "e2e-one", "secret_arn": arn, "expires_at": in_days(5),
        "http_template": key_template().to_string(),
    }]);
    f.stack.ok(&["inventory", "import", &f.stack.file("template-key.json", &record.to_string())]);
    (org, arn, old)
}

/// An Atlassian organization API-key connector (an owner hand-over: Atlassian
/// documents no API that creates these keys), its current key (`k-old`)
/// seeded at the simulator and in Secrets Manager: (org, secret ARN, old key).
pub(crate) async fn org_key_connector(f: &Flow, tag: &str) -> (String, String, String) {
    let org = unique(f, "org");
    let old = canary(tag);
    vendor(Method::PUT, &format!("/_sim/atlassian/orgs/{org}/keys/k-old"), Some(serde_json::json!({"key": old}))).await;
    let arn = f.secret("k1", &serde_json::json!({"key": old, "key_id": "k-old"}).to_string()).await;
    f.import_row(&format!(
        "{},atlassian-api-key,{org},,none,,,owner@e2e.example,e2e-one,,{arn},{}",
        f.id("k1"),
        in_days(5)
    ));
    (org, arn, old)
}

/// Approves, waits for the owner's request, has the owner create a key in
/// the (simulated) admin.atlassian.com console and paste it into the form:
/// (change, the new key, its id at Atlassian, the owner's email).
pub(crate) async fn approve_and_hand_over_org_key(f: &Flow, org: &str) -> (String, String, String, String) {
    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let url = intake_link(&change).await;
    let email = owner_email(&change).await;
    let (_, created) = vendor(
        Method::POST,
        &format!("/_sim/atlassian/orgs/{org}/keys"),
        Some(serde_json::json!({"label": "created by the owner"})),
    )
    .await;
    let (fresh, id) = (created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned());
    let (code, page) = hand_over(&url, &fresh).await;
    assert_eq!(code, 200, "{page}");
    (change, fresh, id, email)
}

/// The body of the owner's hand-over request for `change`.
pub(crate) async fn owner_email(change: &str) -> String {
    eventually("the key request", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?.iter().find(|m| {
            m["subject"].as_str().is_some_and(|s| s.starts_with("Action needed") && s.contains(change))
                && m["destinations"]["ToAddresses"][0] == "owner@e2e.example"
        })?["body"]
            .as_str()
            .map(str::to_owned)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_that_hangs_once_is_timed_out_and_retried() {
    let f = Flow::new("hang");
    let (org, _, old) = template_key_connector(&f, "old-hang").await;
    // The create call (a POST) hangs once.
    let hang = serde_json::json!({"method": "POST", "path_prefix": format!("/generic/v1/orgs/{org}/keys"),
                                  "kind": "hang", "times": 1});
    vendor(Method::POST, "/_sim/faults", Some(hang)).await;
    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");

    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    assert_eq!(keys.as_array().unwrap().len(), 2, "the old key and one new one");
    let stored = f.audit("k1").await.into_iter().find(|e| e.event == "pending_stored").unwrap();
    // The simulator logs a request when it answers; the hung one has not yet.
    let calls = &stored.detail["vendor_calls"];
    assert!(
        calls.contains("CreateKey no answer") && calls.contains("CreateKey 201"),
        "the hung create was timed out and sent again: {calls}"
    );
    assert_never_leaked(&f, &change, &[old.as_str()]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_answering_garbage_is_not_trusted() {
    let f = Flow::new("garbage");
    // An org key: its probe must read Atlassian's JSON (a template's probe
    // takes any 2xx). The owner hands a key over; the form's check passes,
    // and every answer after it is garbage.
    let (org, arn, old) = org_key_connector(&f, "old-garbage").await;
    let garbage = serde_json::json!({"method": "GET", "path_prefix": format!("/admin/v1/orgs/{org}"), "kind": "garbage",
                                     "status": 200, "skip": 1, "times": 50});
    vendor(Method::POST, "/_sim/faults", Some(garbage)).await;
    let (change, fresh, _, _) = approve_and_hand_over_org_key(&f, &org).await;
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rolled_back", "malformed answers never count as proof: {outcomes:?}");
    let current = f.secret_at(&arn, "AWSCURRENT").await.unwrap();
    assert!(current.contains("k-old"), "AWSCURRENT unchanged");
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("needs_manual_intervention"));
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}

/// An Atlassian SCIM connector consumed by an Okta app: (directory, app, ARN, old key).
async fn okta_connector(f: &Flow, tag: &str) -> (String, String, String, String) {
    let dir = unique(f, "dir");
    let app = unique(f, "app");
    let old = canary(tag);
    vendor(Method::PUT, &format!("/_sim/atlassian/directories/{dir}"), Some(serde_json::json!({"key": old}))).await;
    let arn = f.secret("k1", &old).await;
    f.import_row(&format!(
        "{},atlassian-scim,e2e,{dir},okta,{app},,owner@e2e.example,e2e-one,,{arn},{}",
        f.id("k1"),
        in_days(10)
    ));
    (dir, app, arn, old)
}

/// Approves, waits for the owner's request and hands over a freshly regenerated key.
pub(crate) async fn approve_and_hand_over(f: &Flow, dir: &str) -> (String, String) {
    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let url = intake_link(&change).await;
    let (_, regenerated) = vendor(Method::POST, &format!("/_sim/atlassian/directories/{dir}/regenerate"), None).await;
    let fresh = regenerated["key"].as_str().unwrap().to_owned();
    assert_eq!(hand_over(&url, &fresh).await.0, 200);
    (change, fresh)
}

/// An Okta app provisions with the new SCIM key: Okta takes this app's token
/// only in its Admin Console, so the owner sets it there during the
/// hand-over (the email says so) and keyturn verifies, never pushes.
#[tokio::test(flavor = "multi_thread")]
async fn an_okta_app_takes_the_new_scim_key() {
    let f = Flow::new("okta");
    let (dir, app, arn, old) = okta_connector(&f, "old-okta").await;
    okta_holds(&app, &old).await;
    // Okta throttles the first read of the connection.
    let throttle = serde_json::json!({"method": "GET", "path_prefix": format!("/okta/api/v1/apps/{app}/connections/default"),
                                      "kind": "status", "status": 429, "times": 1, "retry_after": 1});
    vendor(Method::POST, "/_sim/faults", Some(throttle)).await;
    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let url = intake_link(&change).await;
    let email = owner_email(&change).await;
    assert!(
        email.contains("Okta") && email.contains("before you submit"),
        "the owner is told to set it in Okta: {email}"
    );
    let (_, regenerated) = vendor(Method::POST, &format!("/_sim/atlassian/directories/{dir}/regenerate"), None).await;
    let fresh = regenerated["key"].as_str().unwrap().to_owned();
    okta_holds(&app, &fresh).await;
    assert_eq!(hand_over(&url, &fresh).await.0, 200);
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    let (_, saved) = vendor(Method::GET, &format!("/_sim/okta/{app}"), None).await;
    assert_eq!(saved["fingerprint"], sha(&fresh), "Okta provisions with the new key");
    let updated = f.audit("k1").await.into_iter().find(|e| e.event == "idp_updated").unwrap();
    assert!(updated.detail["updated_by"].contains("owner"), "said to be the owner's doing: {:?}", updated.detail);
    assert_eq!(updated.detail["before_state"], "connection ENABLED", "read after the throttled answer");
    let (_, log) = vendor(Method::GET, "/_sim/requests", None).await;
    let pushes = log
        .as_array()
        .unwrap()
        .iter()
        // This app's calls only: the client-secret tests beside it talk to Okta too.
        .filter(|r| {
            r["method"] == "POST"
                && r["path"].as_str().is_some_and(|p| p.starts_with(&format!("/okta/api/v1/apps/{app}/")))
        })
        .count();
    assert_eq!(pushes, 0, "keyturn never sends Okta a token: {log}");
    assert!(f.secret_at(&arn, "AWSCURRENT").await.unwrap().contains(&fresh));
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}

/// The owner handed the key over but Okta's provisioning for the app is off:
/// verification fails, the old SCIM key is gone (regenerated), and the
/// human step in Okta's console is named.
#[tokio::test(flavor = "multi_thread")]
async fn an_okta_app_whose_provisioning_is_off_becomes_a_human_step() {
    let f = Flow::new("oktaunknown");
    let (dir, app, arn, old) = okta_connector(&f, "old-okta-unknown").await;
    vendor(Method::PUT, &format!("/_sim/okta/apps/{app}"), Some(serde_json::json!({"status": "DISABLED"}))).await;
    let (change, fresh) = approve_and_hand_over(&f, &dir).await;
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rollback_failed", "the old SCIM key is gone: {outcomes:?}");
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
    assert_eq!(f.secret_at(&arn, "AWSCURRENT").await.as_deref(), Some(old.as_str()), "AWSCURRENT never moved");
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("needs_manual_intervention"));
    let cause = f.audit("k1").await.into_iter().find(|e| e.event == "needs_manual_intervention").unwrap();
    assert!(cause.detail["reason"].contains("Okta Admin Console"), "the human step is named: {:?}", cause.detail);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generic_http_vendor_described_by_a_template_rotates_like_any_other() {
    let f = Flow::new("generic");
    let org = unique(&f, "org");
    let old = canary("old-generic");
    vendor(Method::PUT, &format!("/_sim/atlassian/orgs/{org}/keys/k-old"), Some(serde_json::json!({"key": old}))).await;
    let arn = f.secret("k1", &serde_json::json!({"key": old, "key_id": "k-old"}).to_string()).await;
    let template = key_template();
    let record = |with_template: bool| {
        let mut r = serde_json::json!({
            "id": f.id("k1"), "kind": "generic-http", "org": org, "idp": "none", "owner": "owner@e2e.example",
            "approver_group": "e2e-one", "secret_arn": arn, "expires_at": in_days(5),
        });
        if with_template {
            r["http_template"] = template.to_string().into();
        }
        serde_json::json!([r]).to_string()
    };
    let missing = f.stack.file("no-template.json", &record(false));
    let out = f.stack.keyturn(&["inventory", "validate", &missing]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http_template: is required for kind generic-http"));
    let file = f.stack.file("generic.json", &record(true));
    f.stack.ok(&["inventory", "import", &file]);
    // The vendor is briefly unavailable to the template's probe.
    fault(&format!("/generic/v1/orgs/{org}/me"), "status", 503, 1, None).await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    assert!(keys.as_array().unwrap().iter().any(|k| k["id"] == "k-old" && k["revoked"] == true), "old key revoked");
    let current: serde_json::Value = serde_json::from_str(&f.secret_at(&arn, "AWSCURRENT").await.unwrap()).unwrap();
    assert_ne!(current["key_id"], "k-old");
    assert_eq!(
        f.connector_field("k1", "expires_at").await.as_deref(),
        Some("2027-11-24T00:00:00Z"),
        "the vendor's expiry"
    );
    let verified = f.audit("k1").await.into_iter().find(|e| e.event == "verified").unwrap();
    assert!(verified.detail["preflight_calls"].contains(" 503"), "the probe was retried: {:?}", verified.detail);
    assert_never_leaked(&f, &change, &[old.as_str(), current["key"].as_str().unwrap()]).await;
}

/// Sets Okta app `app`'s provisioning token to `key` in the (simulated)
/// Admin Console, as an admin or the key's owner would: Okta's API takes it
/// only for Org2Org and Zscaler 2.0 apps.
async fn okta_holds(app: &str, key: &str) {
    let (status, _) =
        vendor(Method::PUT, &format!("/_sim/okta/apps/{app}/token"), Some(serde_json::json!({"token": key}))).await;
    assert_eq!(status, 204);
}

/// A generic-http connector whose keys Entra ID provisions with: see [`generic_connector`].
async fn generic_entra_connector(f: &Flow, tag: &str) -> (String, String, String, String) {
    generic_connector(f, tag).await
}

/// A generic-http connector consumed by Entra: the simulator's generic key
/// API described as a template, Entra's SCIM endpoint the org's
/// (`scim_base`), the current key live at the vendor, in Entra and in Secrets
/// Manager: (org, service principal, ARN, old key).
async fn generic_connector(f: &Flow, tag: &str) -> (String, String, String, String) {
    let (org, sp, old) = (unique(f, "org"), unique(f, "sp"), canary(tag));
    vendor(Method::PUT, &format!("/_sim/atlassian/orgs/{org}/keys/k-old"), Some(serde_json::json!({"key": old}))).await;
    let base = format!("{}/scim/orgs/{org}", vendor_url());
    let saved =
        serde_json::json!({"value": [{"key": "BaseAddress", "value": base}, {"key": "SecretToken", "value": old}]});
    vendor(Method::PUT, &format!("/graph/v1.0/servicePrincipals/{sp}/synchronization/secrets"), Some(saved)).await;
    let arn = f.secret("k1", &serde_json::json!({"key": old, "key_id": "k-old"}).to_string()).await;
    let record = generic_record(f, &org, "entra", &sp, &arn);
    f.stack.ok(&["inventory", "import", &f.stack.file("generic-entra.json", &record.to_string())]);
    (org, sp, arn, old)
}

/// One generic-http inventory record consumed by `idp` through `app`, its
/// SCIM endpoint the org's.
fn generic_record(f: &Flow, org: &str, idp: &str, app: &str, arn: &str) -> serde_json::Value {
    let mut template = key_template();
    template["scim_base"] = format!("{}/scim/orgs/{{org}}", vendor_url()).into();
    let job = if idp == "entra" { "job-1" } else { "" };
    serde_json::json!([{
        "id": f.id("k1"), "kind": "generic-http", "org": org, "idp": idp, "idp_app_id": app, "idp_job_id": job,
        "owner": "owner@e2e.example", "approver_group": "e2e-one", "secret_arn": arn, "expires_at": in_days(5),
        "http_template": template.to_string(),
    }])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generic_vendor_key_reaches_entra_and_a_quarantined_job_is_restarted() {
    let f = Flow::new("genentra");
    let (org, sp, arn, old) = generic_entra_connector(&f, "old-genentra").await;
    // The old key is about to expire: Entra has quarantined the job.
    vendor(Method::PUT, &format!("/_sim/entra/jobs/{sp}/job-1"), Some(serde_json::json!({"status": "Quarantine"})))
        .await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    let current: serde_json::Value = serde_json::from_str(&f.secret_at(&arn, "AWSCURRENT").await.unwrap()).unwrap();
    let new = current["key"].as_str().unwrap().to_owned();
    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&new), "Entra provisions with the new key");
    assert_eq!(entra["base_address"], format!("{}/scim/orgs/{org}", vendor_url()), "at the template's scim_base");
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    assert!(keys.as_array().unwrap().iter().any(|k| k["id"] == "k-old" && k["revoked"] == true), "old key revoked");

    let trail = f.audit("k1").await;
    let verified = trail.iter().find(|e| e.event == "verified").expect("verified");
    assert!(verified.detail["vendor_calls"].contains("entra RestartJob 204"), "restarted: {:?}", verified.detail);
    let pushed = trail.iter().find(|e| e.event == "idp_updated").expect("idp_updated");
    assert_eq!(pushed.detail["before_state"], "job Quarantine", "the consumer's state before keyturn touched it");
    assert_eq!(
        (pushed.detail["before_fingerprint"].as_str(), pushed.detail["after_fingerprint"].as_str()),
        (sha(&old).as_str(), sha(&new).as_str())
    );
    assert_never_leaked(&f, &change, &[old.as_str(), new.as_str()]).await;
}

/// Verify fails after the new key was pushed to Entra (Graph refuses the job
/// read once): the old key still works at the vendor, so rollback puts Entra
/// back on it, revokes the new key and leaves AWSCURRENT alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_failure_after_the_push_puts_entra_back_on_the_old_key() {
    let f = Flow::new("genback");
    let (org, sp, arn, old) = generic_entra_connector(&f, "old-genback").await;
    let refuse = serde_json::json!({"method": "GET", "path_prefix": format!("/graph/v1.0/servicePrincipals/{sp}/synchronization/jobs/job-1"),
                                    "kind": "status", "status": 403, "skip": 1, "times": 1});
    vendor(Method::POST, "/_sim/faults", Some(refuse)).await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED", "a rollback is an outcome");
    assert_eq!(outcomes[0]["outcome"], "rolled_back", "{outcomes:?}");
    let events = f.events("k1").await;
    for e in ["idp_updated", "verification_failed", "rolled_back", "needs_manual_intervention"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    assert!(!events.contains(&"verified".to_owned()), "{events:?}");

    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&old), "Entra is back on the old key");
    assert_old_key_kept(&f, &arn, &org, &old).await;
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("needs_manual_intervention"));
    let rolled = f.audit("k1").await.into_iter().find(|e| e.event == "rolled_back").expect("rolled_back");
    assert!(rolled.detail["restored"].contains("entra back on the old key"), "{:?}", rolled.detail);
    assert_eq!(rolled.detail["not_restored"], "");

    assert_never_leaked(&f, &change, &[old.as_str()]).await;
    let (_, created) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    assert_eq!(created.as_array().unwrap().len(), 2, "one new key was made");
}

/// A vendor that throttles past every retry budget: each create call is
/// tried six times (honouring `Retry-After`), then Step Functions retries the
/// step on `VendorThrottled` three times with backoff, then rollback: nothing
/// was created, `AWSCURRENT` stays, on-call is told.
#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_that_throttles_past_every_retry_is_rolled_back() {
    let f = Flow::new("throttled");
    let (org, arn, old) = template_key_connector(&f, "old-throttled").await;
    let throttle = serde_json::json!({"method": "POST", "path_prefix": format!("/generic/v1/orgs/{org}/keys"),
                                      "kind": "status", "status": 429, "times": 1000, "retry_after": 1});
    vendor(Method::POST, "/_sim/faults", Some(throttle)).await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rolled_back", "{outcomes:?}");
    let throttled = child_failures(&f.sfn().await, &change)
        .await
        .iter()
        .filter(|e| e["error"] == ErrorName::VendorThrottled.as_str())
        .count();
    assert_eq!(throttled, 4, "the step and Step Functions' three retries of it");
    assert_eq!(
        f.secret_at(&arn, "AWSCURRENT").await.as_deref(),
        Some(serde_json::json!({"key": old, "key_id": "k-old"}).to_string().as_str()),
        "AWSCURRENT never moved"
    );
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    assert_eq!(keys.as_array().unwrap().len(), 1, "no new key was made: {keys}");
    let trail = f.audit("k1").await;
    let cause = trail.iter().find(|e| e.event == "needs_manual_intervention").expect("handed to a human");
    assert!(cause.detail["reason"].starts_with(ErrorName::VendorThrottled.as_str()), "{:?}", cause.detail);
    let events: Vec<&str> = trail.iter().map(|e| e.event.as_str()).collect();
    assert!(events.contains(&"rotation_failed") && !events.contains(&"verification_failed"), "{events:?}");
    assert_never_leaked(&f, &change, &[old.as_str()]).await;
}

/// The old key cannot be revoked (the vendor keeps failing the DELETE): the
/// rotation stands, and the old key still being live is reported, not hidden.
#[tokio::test(flavor = "multi_thread")]
async fn an_old_key_the_vendor_will_not_revoke_is_reported_not_hidden() {
    let f = Flow::new("norevoke");
    let (org, _, old) = template_key_connector(&f, "old-norevoke").await;
    let refuse = serde_json::json!({"method": "DELETE", "path_prefix": format!("/generic/v1/orgs/{org}/keys/k-old"),
                                    "kind": "status", "status": 503, "times": 1000});
    vendor(Method::POST, "/_sim/faults", Some(refuse)).await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    assert!(outcomes[0]["detail"].as_str().unwrap().contains("old key NOT revoked k-old"), "{outcomes:?}");
    let finalized = f.audit("k1").await.into_iter().find(|e| e.event == "finalized").expect("finalized");
    assert!(finalized.detail["old_key"].starts_with("NOT revoked k-old"), "{:?}", finalized.detail);
    let (_, keys) = vendor(Method::GET, &format!("/_sim/atlassian/orgs/{org}/keys"), None).await;
    assert!(keys.as_array().unwrap().iter().any(|k| k["id"] == "k-old" && k["revoked"] == false), "{keys}");
    let done = eventually("the outcome email", || async {
        let all = sim("/_sim/ses").await;
        all.as_array()?
            .iter()
            .find(|m| m["subject"].as_str().is_some_and(|s| s == format!("Finished: change {change}")))
            .cloned()
    })
    .await;
    assert!(done["body"].as_str().unwrap().contains("NOT revoked"), "the approvers are told: {done}");
    assert_never_leaked(&f, &change, &[old.as_str()]).await;
}

/// A key keyturn mints through a template cannot be consumed by Okta: Okta
/// takes this app's token only in its Admin Console, from someone who saw
/// the key, and nobody sees a minted one. The inventory is refused, naming
/// the field, and nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_generic_vendor_key_for_an_okta_app_is_refused_by_the_inventory() {
    let f = Flow::new("genokta");
    let org = unique(&f, "org");
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:e2e/genokta";
    let file = f.stack.file("generic-okta.json", &generic_record(&f, &org, "okta", "0oa-genokta", arn).to_string());
    for command in ["validate", "import"] {
        let out = f.stack.keyturn(&["inventory", command, &file]);
        assert!(!out.status.success(), "{command} accepted it");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("idp") && err.contains("okta cannot consume a generic-http key"), "{command}: {err}");
    }
    assert_eq!(f.connector_field("k1", "status").await, None, "nothing was imported");
}

/// An Atlassian SCIM key nobody provisions with through an API (`idp: none`):
/// handed over, proven against the directory, made current.
#[tokio::test(flavor = "multi_thread")]
async fn a_scim_key_without_an_identity_provider_is_handed_over_and_made_current() {
    let f = Flow::new("scimnone");
    let dir = unique(&f, "dir");
    let old = canary("old-scimnone");
    vendor(Method::PUT, &format!("/_sim/atlassian/directories/{dir}"), Some(serde_json::json!({"key": old}))).await;
    let arn = f.secret("k1", &old).await;
    f.import_row(&format!(
        "{},atlassian-scim,e2e,{dir},none,,,owner@e2e.example,e2e-one,,{arn},{}",
        f.id("k1"),
        in_days(10)
    ));
    let (change, fresh) = approve_and_hand_over(&f, &dir).await;
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    assert!(f.secret_at(&arn, "AWSCURRENT").await.unwrap().contains(&fresh), "the handed-over key is current");
    let events = f.events("k1").await;
    assert!(events.contains(&"verified".to_owned()) && !events.contains(&"idp_updated".to_owned()), "{events:?}");
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
}
