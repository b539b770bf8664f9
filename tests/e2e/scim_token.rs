//! The `scim-token` kind (issue 23, item 1): any SaaS's SCIM provisioning
//! token, its endpoint named by `scim_base`. Here the SaaS is `scim2-server`
//! (PyPI, python-scim), an RFC 7644 server keyturn did not write, started by
//! the test itself on 127.0.0.1 with a static bearer token (its
//! `--bearer-token`) and reached directly: no keyturn code stands between
//! keyturn, the Entra simulator (which validates against the endpoint it is
//! given) and the server.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::rotation::{hand_over, intake_link, run_to_end};
use crate::workflow::*;

/// A `scim2-server` of this test's own: it accepts `token` only, as a vendor
/// whose console just regenerated the token accepts only the new one.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Server {
    fn start(tag: &str, token: &str) -> Self {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::path::PathBuf::from(format!("{root}/.local/scim-token-{tag}-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(format!("{root}/.venv/bin/scim2-server"))
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", token])
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("scim2-server (make up installs it into .venv)");
        let server = Self { child, base: format!("http://127.0.0.1:{port}/v2"), log };
        for _ in 0..150 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("scim2-server did not listen on {port}: {}", server.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Provisions a user the way an identity provider would.
    async fn provision(&self, token: &str, user: &str) {
        let created = reqwest::Client::new()
            .post(format!("{}/Users", self.base))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "the server provisions {user}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

const HEADER: &str =
    "id,kind,org,idp,idp_app_id,idp_job_id,owner,approver_group,secret_arn,expires_at,scim_base,vendor,console_url";

/// A `scim-token` connector of the server, consumed by Entra, the old
/// token saved there and current in Secrets Manager; the server already
/// takes only `fresh` (the owner regenerated): (service principal, ARN).
async fn connector(f: &Flow, server: &Server, old: &str) -> (String, String) {
    let sp = format!("sp-{}", f.stack.prefix.trim_end_matches('-'));
    let saved = json!({"value": [{"key": "BaseAddress", "value": server.base}, {"key": "SecretToken", "value": old}]});
    vendor(Method::PUT, &format!("/graph/v1.0/servicePrincipals/{sp}/synchronization/secrets"), Some(saved)).await;
    let arn = f.secret("k1", old).await;
    let row = format!(
        "{},scim-token,e2e,entra,{sp},job-1,owner@e2e.example,e2e-one,{arn},{},{},Acme SaaS,https://console.acme-saas.example/settings/scim",
        f.id("k1"),
        in_days(10),
        server.base,
    );
    let file = f.stack.file("scim-token.csv", &format!("{HEADER}\n{row}\n"));
    f.stack.ok(&["inventory", "import", &file]);
    (sp, arn)
}

/// A `scim-token` connector rotated through the independent server and
/// Entra: the owner is sent to the vendor's console by the record's words,
/// first pastes the old token, which the server refuses at once (nothing
/// stored, AWSCURRENT untouched, the same link still open), then the fresh
/// one, which Entra validates against the server and the rotation makes
/// current. No token appears in any output.
#[tokio::test(flavor = "multi_thread")]
async fn a_scim_token_rotates_through_an_independent_scim_server_and_entra_and_a_wrong_one_changes_nothing() {
    let f = Flow::new("scimtoken");
    let (old, fresh) = (canary("st-old"), canary("st-fresh"));
    let server = Server::start("rotate", &fresh);
    server.provision(&fresh, "ada@e2e.example").await;
    let (sp, arn) = connector(&f, &server, &old).await;

    let change = f.scan_one(&[]);
    f.approve(&change).await;
    let url = intake_link(&change).await;
    let ask = sim("/_sim/ses").await;
    let ask = ask
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subject"].as_str().is_some_and(|s| s.contains(&change) && s.contains("a new SCIM token")))
        .expect("the hand-over email names a SCIM token")
        .clone();
    let body = ask["body"].as_str().unwrap();
    // The captured body is the HTML part: the apostrophe is escaped there.
    assert!(body.contains("can only be regenerated in Acme SaaS&#39;s console"), "{body}");
    assert!(body.contains("at https://console.acme-saas.example/settings/scim"), "{body}");
    assert!(body.contains("regenerating the key stops provisioning with the old one at once"), "{body}");
    let versions = f.versions(&arn).await.len();

    let (code, page) = hand_over(&url, &old).await;
    assert_eq!(code, 422, "{page}");
    assert!(page.contains("This key is refused by Acme SaaS (401): paste the key you just regenerated"), "{page}");
    assert_eq!(f.versions(&arn).await.len(), versions, "a refused token is never stored");
    assert_eq!(f.secret_at(&arn, "AWSCURRENT").await.as_deref(), Some(old.as_str()), "AWSCURRENT untouched");
    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&old), "Entra untouched");
    assert!(f.events("k1").await.contains(&"key_refused".to_owned()));

    let (code, page) = hand_over(&url, &fresh).await;
    assert_eq!(code, 200, "the same link takes the right token: {page}");
    assert!(page.contains("Acme SaaS accepted it"), "{page}");
    let (status, outcomes) = run_to_end(&f, &change).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(outcomes[0]["outcome"], "rotated", "{outcomes:?}");
    assert!(f.secret_at(&arn, "AWSCURRENT").await.unwrap().contains(&fresh));
    assert_eq!(f.versions(&arn).await.len(), versions + 1, "one new version: the accepted token");
    let (_, entra) = vendor(Method::GET, &format!("/_sim/entra/{sp}"), None).await;
    assert_eq!(entra["fingerprint"], sha(&fresh), "Entra provisions with the new token");

    let log = server.log_text();
    assert!(log.contains("GET /v2/Users?startIndex=1&count=1"), "keyturn probed the server itself: {log}");
    assert!(log.contains("GET /v2/Users?filter=userName"), "Entra validated against the server: {log}");
    let events = f.events("k1").await;
    for e in ["key_requested", "key_refused", "pending_stored", "idp_updated", "verified", "finalized"] {
        assert!(events.contains(&e.to_owned()), "{e} missing: {events:?}");
    }
    let started = f.audit("k1").await.into_iter().find(|e| e.event == "rotation_started").unwrap();
    assert_eq!(started.detail["kind"], "scim-token");
    assert_never_leaked(&f, &change, &[old.as_str(), fresh.as_str()]).await;
    assert!(!log.contains(&old) && !log.contains(&fresh), "nor in the server's log");
}

/// Bad input: a `scim_base` keyturn must not send a token to, or none at
/// all, refuses the whole file, naming the connector and the field, with
/// nothing written and no value of the URL's path or query echoed.
#[tokio::test(flavor = "multi_thread")]
async fn a_scim_token_inventory_with_a_bad_endpoint_is_refused_whole() {
    let f = Flow::new("scimtokenbad");
    let token = canary("st-in-url");
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:e2e/x";
    let row = |id: &str, base: &str| {
        format!("{},scim-token,e2e,none,,,owner@e2e.example,e2e-one,{arn},{},{base},,", f.id(id), in_days(10))
    };
    let rows = [
        row("good", "https://scim.vendor.example/v2"),
        row("plain", "http://scim.vendor.example/v2"),
        row("private", "https://10.1.2.3/scim/v2"),
        row("metadata", "https://169.254.169.254/latest"),
        row("query", &format!("https://scim.vendor.example/v2?token={token}")),
        row("missing", ""),
    ];
    let file = f.stack.file("bad.csv", &format!("{HEADER}\n{}\n", rows.join("\n")));
    let out = f.stack.keyturn(&["inventory", "import", &file]);
    assert!(!out.status.success());
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for (id, why) in [
        ("plain", "scim_base: scim.vendor.example: only https://"),
        ("private", "scim_base: 10.1.2.3: private addresses are refused"),
        ("metadata", "scim_base: 169.254.169.254: link-local, metadata"),
        ("query", "scim_base: has a query"),
        ("missing", "scim_base: is required for kind scim-token"),
    ] {
        assert!(said.contains(&format!("({}): {why}", f.id(id))), "{id}: {said}");
    }
    assert!(!said.contains(&token), "never the token: {said}");
    // The workflow's tables are shared by the e2e tests: none of this test's ids is there.
    let listed = f.stack.json(&["inventory", "list"]).to_string();
    assert!(!listed.contains(&f.ids), "nothing was written: {listed}");
}
