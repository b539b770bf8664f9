//! App client secrets rotated dual-phase with no human hand-over (approval
//! still required): keyturn adds the new secret through the vendor's API,
//! proves it with a real client-credentials token request, makes it current
//! and, once the record's overlap has passed, removes the old one (the old
//! secret signs in until then); a new secret that never signs in is removed
//! and the old one stays current. Secret values are canaries that must never
//! show up anywhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::rotation::{approve_and_finish, run_to_end};
use crate::workflow::*;

/// A GUID of this test's own (Graph ids are GUIDs; the inventory checks it).
fn guid(f: &Flow, n: u8) -> String {
    // Two 16-digit fingerprints make the 32 hexadecimal digits of a GUID.
    let h = sha(&format!("{}/{n}/a", f.stack.prefix)) + &sha(&format!("{}/{n}/b", f.stack.prefix));
    format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

/// An app registration seeded at the simulated Graph with one password (the
/// current secret, `keyId` known) and the connector that names it:
/// (object id, old key id, secret ARN, old secret).
async fn entra_app_connector(
    f: &Flow,
    tag: &str,
    propagation_requests: u32,
    overlap: &str,
) -> (String, String, String, String) {
    let (object, client, tenant, old_id) = (guid(f, 1), guid(f, 2), guid(f, 3), guid(f, 4));
    let old = canary(tag);
    let seed = json!({"appId": client, "tenant": tenant, "displayName": "payroll sync",
        "passwords": [{"secret": old, "keyId": old_id, "displayName": "first"}],
        "owners": [{"id": "u1", "mail": "owner@e2e.example"}],
        "propagation_requests": propagation_requests});
    let (status, _) = vendor(Method::PUT, &format!("/_sim/entra/apps/{object}"), Some(seed)).await;
    assert_eq!(status, 200);
    let arn = f.secret("k1", &json!({"key": old, "key_id": old_id}).to_string()).await;
    let record = json!([{
        "id": f.id("k1"), "kind": "entra-app-secret", "org": "contoso", "idp": "none", "owner": "owner@e2e.example",
        "approver_group": "e2e-one", "secret_arn": arn, "expires_at": in_days(5),
        "tenant_id": tenant, "application_object_id": object, "client_id": client, "overlap": overlap,
    }]);
    f.stack.ok(&["inventory", "import", &f.stack.file("entra-app.json", &record.to_string())]);
    (object, old_id, arn, old)
}

/// The app's passwords as the simulator holds them: (keyId, pending).
async fn app_passwords(object: &str) -> Vec<Value> {
    let (_, app) = vendor(Method::GET, &format!("/_sim/entra/apps/{object}"), None).await;
    app["passwords"].as_array().cloned().unwrap_or_default()
}

/// A client-credentials token request as the app's own clients make it.
async fn signs_in(tenant_of: &str, client: &str, secret: &str) -> u16 {
    let form = [
        ("client_id", client),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
        ("grant_type", "client_credentials"),
    ];
    let url = format!("{}/login/{tenant_of}/oauth2/v2.0/token", vendor_url());
    // Percent-encoded by hand: this crate's reqwest has no `form` feature.
    let enc = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let body = form.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&");
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entra_app_secret_is_rotated_dual_phase_and_the_old_one_removed_after_the_overlap() {
    let f = Flow::new("entraapp");
    // The new secret is refused twice as "invalid" before it has replicated;
    // the old one keeps working for 20 s after the new one is current.
    let (object, old_id, arn, old) = entra_app_connector(&f, "old-entra-app", 2, "20s").await;
    let (client, tenant) = (guid(&f, 2), guid(&f, 3));

    let change = f.scan_one(&[]);
    f.approve(&change).await;
    // During the overlap: the new secret is current, the old one still signs in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !f.events("k1").await.contains(&"finalized".to_owned()) {
        assert!(std::time::Instant::now() < deadline, "no finalized event");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let finalized = f.audit("k1").await.into_iter().find(|e| e.event == "finalized").unwrap();
    assert_eq!(finalized.detail["retire_key_id"], old_id, "{:?}", finalized.detail);
    assert!(finalized.detail["old_key"].contains("stays valid for the overlap (20s)"), "{:?}", finalized.detail);
    assert_eq!(app_passwords(&object).await.len(), 2, "both passwords during the overlap");
    assert_eq!(signs_in(&tenant, &client, &old).await, 200, "the old secret still signs in");
    assert!(!f.events("k1").await.contains(&"old_key_retired".to_owned()), "not before the overlap ends");

    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    assert!(outcomes[0]["detail"].as_str().unwrap_or_default().contains(&format!("old key revoked {old_id}")));
    assert_ne!(signs_in(&tenant, &client, &old).await, 200, "after the overlap the old secret is refused");

    let current: Value = serde_json::from_str(&f.secret_at(&arn, "AWSCURRENT").await.unwrap()).unwrap();
    let new_id = current["key_id"].as_str().unwrap().to_owned();
    let new = current["key"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);
    let passwords = app_passwords(&object).await;
    assert_eq!(passwords.len(), 1, "the old password removed, exactly one new one: {passwords:?}");
    assert_eq!(passwords[0]["keyId"], new_id.as_str());
    assert_eq!(passwords[0]["fingerprint"], sha(&new), "AWSCURRENT holds the password Graph made");
    assert_eq!(f.versions(&arn).await.len(), 2, "one new secret version");

    let audit = f.audit("k1").await;
    let stored = audit.iter().find(|e| e.event == "pending_stored").unwrap();
    assert_eq!(stored.detail["new_key_id"], new_id);
    assert!(stored.detail["vendor_calls"].contains("entra AddPassword 200"), "{:?}", stored.detail);
    let verified = audit.iter().find(|e| e.event == "verified").unwrap();
    assert!(
        verified.detail["preflight_calls"].contains("entra AppToken 401")
            && verified.detail["preflight_calls"].contains("entra AppToken 200"),
        "the replication wait is in the trail: {:?}",
        verified.detail
    );
    let retired = audit.iter().find(|e| e.event == "old_key_retired").unwrap();
    assert_eq!(retired.detail["key_id"], old_id);
    assert!(retired.at >= finalized.at, "retired after the new secret became current");
    // The connector's expiry is the new password's endDateTime (now + 180 days by default).
    let expires = f.connector_field("k1", "expires_at").await.unwrap();
    assert!(expires.as_str() > in_days(170).as_str() && expires.as_str() < in_days(190).as_str(), "{expires}");
    let events = f.events("k1").await;
    for e in ["rotation_started", "pending_stored", "verified", "finalized", "old_key_retired"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    assert!(
        !events.iter().any(|e| e == "rolled_back" || e == "intake_requested" || e == "retire_failed"),
        "{events:?}"
    );
    assert_never_leaked(&f, &change, &[old.as_str(), new.as_str()]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entra_app_secret_that_never_signs_in_is_removed_and_the_old_one_stays_current() {
    let f = Flow::new("entraapprb");
    // The new secret never replicates: every token request with it is refused.
    let (object, old_id, arn, old) = entra_app_connector(&f, "old-entra-rb", 1000, "0s").await;

    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED", "a rollback is an outcome, reported by notify");
    assert_eq!(outcomes[0]["outcome"], "rolled_back", "{outcomes:?}");

    assert_eq!(
        f.secret_at(&arn, "AWSCURRENT").await.as_deref(),
        Some(json!({"key": old, "key_id": old_id}).to_string().as_str()),
        "AWSCURRENT never moved"
    );
    assert!(f.versions(&arn).await.iter().all(|(_, s)| !s.contains(&"AWSPENDING".to_owned())), "AWSPENDING removed");
    let passwords = app_passwords(&object).await;
    assert_eq!(passwords.len(), 1, "the new password removed: {passwords:?}");
    assert_eq!(passwords[0]["keyId"], old_id.as_str(), "the old one kept");
    assert_eq!(f.connector_field("k1", "status").await.as_deref(), Some("needs_manual_intervention"));

    let events = f.events("k1").await;
    for e in ["pending_stored", "verification_failed", "rolled_back", "needs_manual_intervention"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    assert!(!events.contains(&"finalized".to_owned()), "{events:?}");
    let rolled = f.audit("k1").await.into_iter().find(|e| e.event == "rolled_back").unwrap();
    assert!(rolled.detail["restored"].contains("new vendor key") && rolled.detail["restored"].contains("revoked"));
    let failed = f.audit("k1").await.into_iter().find(|e| e.event == "verification_failed").unwrap();
    assert!(failed.detail["error"].contains("refused as invalid"), "{:?}", failed.detail);
    let stored = f.audit("k1").await.into_iter().find(|e| e.event == "pending_stored").unwrap();
    let new_id = stored.detail["new_key_id"].clone();
    assert!(rolled.detail["restored"].contains(&format!("new vendor key {new_id} revoked")), "{:?}", rolled.detail);
    assert_never_leaked(&f, &change, &[old.as_str()]).await;
}

/// An Okta OAuth app seeded with one client secret (the current one, its id
/// known), a custom authorization server granting `keyturn.verify`, and the
/// connector that names them: (app id, secret ARN, old secret).
async fn okta_app_connector(f: &Flow, tag: &str, propagation_requests: u32) -> (String, String, String) {
    let suffix = &sha(&f.stack.prefix)[..12];
    let (app, client, server) = (format!("0oa{suffix}"), format!("0oc{suffix}"), format!("aus{suffix}"));
    let old = canary(tag);
    let seed = json!({"client_id": client, "secrets": [{"secret": old, "id": "ocsold"}],
        "propagation_requests": propagation_requests});
    let (status, _) = vendor(Method::PUT, &format!("/_sim/okta/oauth-apps/{app}"), Some(seed)).await;
    assert_eq!(status, 200);
    vendor(
        Method::PUT,
        &format!("/_sim/okta/authorization-servers/{server}"),
        Some(json!({"scopes": ["keyturn.verify"]})),
    )
    .await;
    let arn = f.secret("k1", &json!({"key": old, "key_id": "ocsold"}).to_string()).await;
    let record = json!([{
        "id": f.id("k1"), "kind": "okta-client-secret", "org": "acme", "idp": "none", "owner": "owner@e2e.example",
        "approver_group": "e2e-one", "secret_arn": arn, "expires_at": in_days(5),
        "app_id": app, "client_id": client, "auth_server_id": server, "scope": "keyturn.verify", "overlap": "0s",
    }]);
    f.stack.ok(&["inventory", "import", &f.stack.file("okta-app.json", &record.to_string())]);
    (app, arn, old)
}

async fn okta_secrets(app: &str) -> Vec<Value> {
    let (_, v) = vendor(Method::GET, &format!("/_sim/okta/oauth-apps/{app}"), None).await;
    v["secrets"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_okta_client_secret_is_rotated_dual_phase_and_the_old_one_deleted() {
    let f = Flow::new("oktaapp");
    let (app, arn, old) = okta_app_connector(&f, "old-okta-app", 1).await;

    let (change, status, outcomes) = approve_and_finish(&f).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    let current: Value = serde_json::from_str(&f.secret_at(&arn, "AWSCURRENT").await.unwrap()).unwrap();
    let (new_id, new) = (current["key_id"].as_str().unwrap(), current["key"].as_str().unwrap());
    let held = okta_secrets(&app).await;
    assert_eq!(held.len(), 1, "the old secret deactivated and deleted: {held:?}");
    assert_eq!(held[0]["id"], new_id);
    let finalized = f.audit("k1").await.into_iter().find(|e| e.event == "finalized").unwrap();
    assert_eq!(finalized.detail["old_key"], "revoked ocsold");
    assert_never_leaked(&f, &change, &[old.as_str(), new]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_okta_client_secret_that_never_signs_in_is_deleted_and_the_old_one_stays_current() {
    let f = Flow::new("oktaapprb");
    let (app, arn, old) = okta_app_connector(&f, "old-okta-rb", 1000).await;

    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rolled_back", "{outcomes:?}");
    assert_eq!(
        f.secret_at(&arn, "AWSCURRENT").await.as_deref(),
        Some(json!({"key": old, "key_id": "ocsold"}).to_string().as_str()),
        "AWSCURRENT never moved"
    );
    let held = okta_secrets(&app).await;
    assert_eq!(held.len(), 1, "the new secret deactivated and deleted: {held:?}");
    assert_eq!((&held[0]["id"], &held[0]["status"]), (&json!("ocsold"), &json!("ACTIVE")), "the old one kept active");
    let events = f.events("k1").await;
    for e in ["pending_stored", "verification_failed", "rolled_back", "needs_manual_intervention"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    assert_never_leaked(&f, &change, &[old.as_str()]).await;
}

/// keyturn watches itself: its own Graph app (the `client_id` of
/// `KEYTURN_ENTRA_SECRET`) has a password 14 days from expiry.
/// `inventory discover --self` drafts that password, told apart from an
/// older one by its hint, with the app's owner; once a person fills in the
/// TODOs and imports it, the scan starts a change for it as for any
/// connector that close to expiry, and the approved change rotates it.
#[tokio::test(flavor = "multi_thread")]
async fn keyturns_own_entra_secret_is_discovered_and_the_scan_starts_a_change_14_days_before_it_expires() {
    let f = Flow::new("selfentra");
    let (object, client, tenant) = (guid(&f, 11), guid(&f, 12), guid(&f, 13));
    let (in_use_id, older_id) = (guid(&f, 14), guid(&f, 15));
    let own = canary("own-entra");
    // Another first three characters, so the hints differ.
    let older = format!("x{}", canary("own-older"));
    let end =
        |days: i64| keyturn_domain::timefmt::format_utc(time::OffsetDateTime::now_utc() + time::Duration::days(days));
    let in_use_end = end(14);
    let seed = json!({"appId": client, "tenant": tenant, "displayName": "keyturn",
        "passwords": [{"secret": older, "keyId": older_id, "displayName": "older", "endDateTime": end(200)},
                      {"secret": own, "keyId": in_use_id, "displayName": "in use", "endDateTime": in_use_end}],
        "owners": [{"id": "sp", "type": "servicePrincipal"}, {"id": "u1", "mail": "it@e2e.example"}]});
    let (status, _) = vendor(Method::PUT, &format!("/_sim/entra/apps/{object}"), Some(seed)).await;
    assert_eq!(status, 200);
    // keyturn's own credential, as KEYTURN_ENTRA_SECRET holds it.
    let own_cred = f
        .secret("keyturn-entra", &json!({"tenant_id": tenant, "client_id": client, "client_secret": own}).to_string())
        .await;
    let graph = format!("{}/graph/v1.0", vendor_url());
    let login = format!("{}/login", vendor_url());
    let env = [
        ("KEYTURN_ENTRA_SECRET", own_cred.as_str()),
        ("KEYTURN_GRAPH_URL", graph.as_str()),
        ("KEYTURN_ENTRA_LOGIN_URL", login.as_str()),
    ];
    let draft = f.stack.dir.path().join("self.yaml").display().to_string();
    let out = f.stack.keyturn_env(&["inventory", "discover", "--self", "--out", &draft], &env);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 of keyturn's own Entra app secret(s)"), "{stdout}");
    let text = std::fs::read_to_string(&draft).unwrap();
    for shown in [stdout.as_ref(), stderr.as_ref(), text.as_str()] {
        assert!(!shown.contains(&own) && !shown.contains(&older), "no secret printed or written");
    }
    assert!(text.contains("KEYTURN'S OWN Graph credential"), "{text}");
    assert!(text.contains(&format!("application_object_id: \"{object}\"")), "{text}");
    assert!(text.contains(&format!("client_id: \"{client}\"")), "{text}");
    assert!(text.contains("owner: \"it@e2e.example\""), "the user owner: {text}");
    assert!(text.contains(&format!("expires_at: \"{in_use_end}\"")), "the password in use: {text}");
    assert!(!text.contains(&older_id), "the password keyturn does not sign in with is left out: {text}");
    // A draft is not an inventory yet.
    let check = f.stack.keyturn(&["inventory", "validate", &draft]);
    assert!(!check.status.success());
    let problems = String::from_utf8_lossy(&check.stderr);
    assert!(problems.contains("approver_group") && problems.contains("secret_arn"), "{problems}");

    // A person fills in the TODOs (and this test's id prefix, so its scan sees only it).
    let arn = f.secret("k1", &json!({"key": own, "key_id": in_use_id}).to_string()).await;
    let filled: String = text
        .lines()
        .map(|l| match l.trim_start().split(':').next().unwrap_or_default() {
            "id" => format!("  id: \"{}\"\n  overlap: \"0s\"", f.id("k1")),
            "approver_group" => "  approver_group: \"e2e-one\"".to_owned(),
            "secret_arn" => format!("  secret_arn: \"{arn}\""),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    f.stack.ok(&["inventory", "import", &f.stack.file("self-filled.yaml", &filled)]);

    // 14 days out is inside the due window: the scan starts a change for it.
    let report = f.scan(&[]);
    let changes = report["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{report:#}");
    assert_eq!(changes[0]["outcome"], "started", "{report:#}");
    assert_eq!(changes[0]["connector_ids"], json!([f.id("k1")]), "{report:#}");
    let change = changes[0]["change_id"].as_str().unwrap().to_owned();

    // Approved, it rotates like any entra-app-secret: a new password, the one in use removed.
    f.approve(&change).await;
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    let held: Vec<String> =
        app_passwords(&object).await.iter().map(|p| p["keyId"].as_str().unwrap_or_default().to_owned()).collect();
    assert!(!held.contains(&in_use_id) && held.contains(&older_id) && held.len() == 2, "{held:?}");
    assert_never_leaked(&f, &change, &[own.as_str(), older.as_str()]).await;
}

/// `inventory discover --entra --okta` through keyturn's own Graph and Okta
/// access: every app registration's password (an app without a user owner
/// drafted with "owner missing", which validation names) and every OAuth
/// app's active client secret (expiry: created + the max age, said so).
/// The simulators are shared, so only this test's apps are looked at.
#[tokio::test(flavor = "multi_thread")]
async fn discover_drafts_entra_and_okta_app_secrets_and_names_a_missing_owner() {
    let f = Flow::new("discoverapps");
    let tag = &sha(&f.stack.prefix)[..10];
    let (object, client) = (guid(&f, 21), guid(&f, 22));
    let secret = canary("disc-entra");
    let seed = json!({"appId": client, "tenant": "sim-tenant", "displayName": format!("Ownerless {tag}"),
        "passwords": [{"secret": secret, "displayName": "ci", "endDateTime": in_days(60) + "T00:00:00Z"}],
        "owners": [{"id": "sp", "type": "servicePrincipal"}]});
    assert_eq!(vendor(Method::PUT, &format!("/_sim/entra/apps/{object}"), Some(seed)).await.0, 200);
    let okta_secret = canary("disc-okta");
    let seed = json!({"client_id": format!("0oc{tag}"), "label": format!("Reports {tag}"),
        "secrets": [{"secret": okta_secret, "id": format!("ocs{tag}"), "created": "2026-06-01T00:00:00Z"}]});
    assert_eq!(vendor(Method::PUT, &format!("/_sim/okta/oauth-apps/0oa{tag}"), Some(seed)).await.0, 200);

    let graph = format!("{}/graph/v1.0", vendor_url());
    let login = format!("{}/login", vendor_url());
    let env = [
        ("KEYTURN_ENTRA_SECRET", "keyturn/entra"),
        ("KEYTURN_OKTA_SECRET", "keyturn/okta"),
        ("KEYTURN_GRAPH_URL", graph.as_str()),
        ("KEYTURN_ENTRA_LOGIN_URL", login.as_str()),
    ];
    let none = f.stack.keyturn_env(&["inventory", "discover", "--out", "x.yaml"], &env);
    assert!(String::from_utf8_lossy(&none.stderr).contains("name at least one source"), "a source is required");
    let draft = f.stack.dir.path().join("apps.yaml").display().to_string();
    let args = ["inventory", "discover", "--entra", "--okta", "--okta-max-age", "90", "--out", &draft];
    let out = f.stack.keyturn_env(&args, &env);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Entra app secret(s)") && stdout.contains("Okta client secret(s)"), "{stdout}");
    let text = std::fs::read_to_string(&draft).unwrap();
    let entra_id = format!("entra/ownerless-{tag}/ci");
    let okta_id = format!("okta/reports-{tag}/ocs{tag}");
    assert!(text.contains(&format!("id: \"{entra_id}\"")), "{text}");
    assert!(text.contains(&format!("id: \"{okta_id}\"")), "{text}");
    assert!(text.contains("TODO: owner missing"), "{text}");
    assert!(
        text.contains("expires_at: \"2026-08-30T00:00:00Z\"  # Okta client secrets carry no expiry: created + 90 days"),
        "{text}"
    );
    for shown in [stdout.as_ref(), stderr.as_ref(), text.as_str()] {
        assert!(!shown.contains(&secret) && !shown.contains(&okta_secret), "no secret printed or written");
    }
    let check = f.stack.keyturn(&["inventory", "validate", &draft]);
    assert!(!check.status.success());
    let problems = String::from_utf8_lossy(&check.stderr);
    assert!(
        problems.lines().any(|l| l.contains(&format!("({entra_id})")) && l.contains("owner")),
        "the missing owner is named for its record: {problems}"
    );
}
