//! Inventory import, listing and refusal of bad files.

use serde_json::Value;

use crate::harness::{Stack, NOW};

const HEADER: &str =
    "id,kind,org,directory_id,idp,idp_app_id,idp_job_id,owner,approver_group,change_window,secret_arn,expires_at";

fn row(id: &str, owner: &str, expires: &str) -> String {
    format!("{id},atlassian-scim,acme,dir-1,entra,sp-1,job-1,{owner},it-change,sat 02:00-04:00,arn:aws:secretsmanager:us-east-1:123456789012:secret:scim/{id},{expires}")
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().expect("a list").iter().map(|c| c["id"].as_str().expect("id")).collect()
}

#[test]
fn import_and_list_round_trip_in_every_format() {
    let s = Stack::new("roundtrip");
    let csv = s.file(
        "inventory.csv",
        &format!(
            "{HEADER}\n{}\n{}\n",
            row("acme/entra", "ann@acme.example", "2026-12-01"),
            row("acme/okta", "bob@acme.example", "2027-03-01T12:00:00Z")
        ),
    );
    let yaml = s.file(
        "more.yaml",
        "connectors:\n  - id: beta/api\n    kind: atlassian-api-key\n    org: beta\n    idp: none\n    owner: cy@beta.example\n    approver_group: beta-cab\n    secret_arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:beta\n    expires_at: 2026-11-20\n",
    );
    let json = s.file(
        "one.json",
        r#"[{"id": "gamma/okta", "kind": "atlassian-scim", "org": "gamma", "directory_id": 7, "idp": "okta", "idp_app_id": "0oa1", "owner": "di@gamma.example", "approver_group": "gamma", "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:g", "expires_at": "2026-12-24"}]"#,
    );
    let first = s.json(&["inventory", "import", &csv]);
    assert_eq!(first["summary"], serde_json::json!({"created": 2, "updated": 0, "unchanged": 0}));
    s.ok(&["inventory", "import", &yaml]);
    s.ok(&["inventory", "import", &json]);

    let all = s.json(&["inventory", "list", "--now", NOW]);
    assert_eq!(ids(&all), ["beta/api", "acme/entra", "gamma/okta", "acme/okta"], "soonest expiry first");
    let entra = &all[1];
    assert_eq!(entra["kind"], "atlassian-scim");
    assert_eq!(entra["idp"], "entra");
    assert_eq!(entra["owner"], "ann@acme.example");
    assert_eq!(entra["change_window"], "sat 02:00-04:00 UTC");
    assert_eq!(entra["expires_at"], "2026-12-01T00:00:00Z");
    assert_eq!(entra["days_left"], 6);
    assert_eq!(entra["status"], "active");
    assert_eq!(entra["version"], 1);

    let due = s.json(&["inventory", "list", "--due-within", "30", "--now", NOW]);
    assert_eq!(ids(&due), ["beta/api", "acme/entra", "gamma/okta"], "expired ones are included");

    // Re-importing is free; a changed record is updated and its version bumped.
    let again = s.json(&["inventory", "import", &csv]);
    assert_eq!(again["summary"], serde_json::json!({"created": 0, "updated": 0, "unchanged": 2}));
    let edited = s.file(
        "inventory.csv",
        &format!(
            "{HEADER}\n{}\n{}\n",
            row("acme/entra", "eve@acme.example", "2026-12-01"),
            row("acme/okta", "bob@acme.example", "2027-03-01T12:00:00Z")
        ),
    );
    let changed = s.json(&["inventory", "import", &edited]);
    assert_eq!(changed["summary"], serde_json::json!({"created": 0, "updated": 1, "unchanged": 1}));
    let all = s.json(&["inventory", "list", "--now", NOW]);
    let entra = all.as_array().unwrap().iter().find(|c| c["id"] == "acme/entra").unwrap();
    assert_eq!((entra["owner"].as_str(), entra["version"].as_u64()), (Some("eve@acme.example"), Some(2)));
}

#[test]
fn a_bad_file_is_refused_whole_with_every_problem_named() {
    let s = Stack::new("badfile");
    let good = row("acme/one", "ann@acme.example", "2026-12-01");
    let bad_date = row("acme/entra", "ann@acme.example", "2026-13-01");
    let unknown_kind = row("acme/two", "ann@acme.example", "2026-12-01").replace("atlassian-scim", "atlassian");
    let no_owner = row("acme/three", "", "2026-12-01");
    let file = s.file("inventory.csv", &format!("{HEADER}\n{good}\n{bad_date}\n{unknown_kind}\n{no_owner}\n{good}\n"));

    for command in ["validate", "import"] {
        let out = s.keyturn(&["inventory", command, &file]);
        assert!(!out.status.success(), "{command} must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for expected in [
            format!(r#"{file} row 3 (acme/entra): expires_at: "2026-13-01" is not a date"#),
            format!(r#"{file} row 4 (acme/two): kind: "atlassian" is not a known kind"#),
            format!("{file} row 5 (acme/three): owner: is required"),
            format!("{file} row 6 (acme/one): id: duplicate of row 2"),
            "nothing was written".to_owned(),
        ] {
            assert!(stderr.contains(&expected), "{command}: missing {expected:?} in:\n{stderr}");
        }
    }
    assert_eq!(s.json(&["inventory", "list"]), serde_json::json!([]), "nothing was written");

    // Broken syntax names the file and the line.
    let broken = s.file("broken.json", "[\n  {\"id\": \"a\",}\n]");
    let out = s.keyturn(&["inventory", "import", &broken]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{broken}: not valid JSON at line 2")));
    let other = s.file("inventory.txt", "id\n");
    let out = s.keyturn(&["inventory", "validate", &other]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown file type"));
    assert_eq!(s.json(&["inventory", "list"]), serde_json::json!([]));

    // JSON output for tools: one object per problem.
    let out = s.keyturn(&["inventory", "validate", &file, "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["valid"], false);
    assert_eq!(report["invalid_records"], 4);
    assert!(report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["field"] == "expires_at" && e["location"] == "row 3"));
}

#[test]
fn configuration_errors_name_every_variable() {
    let s = Stack::new("config");
    let out =
        s.keyturn_env(&["scan", "--dry-run"], &[("KEYTURN_DUE_WITHIN_DAYS", "soon"), ("KEYTURN_GROUPING", "team")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("KEYTURN_DUE_WITHIN_DAYS") && stderr.contains("KEYTURN_GROUPING"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_drafts_an_inventory_from_an_atlassian_org_and_imports_nothing() {
    use crate::workflow::{vendor, vendor_url};
    use reqwest::Method;

    let s = Stack::new("discover");
    let org = format!("org-{}", s.prefix.trim_end_matches('-'));
    let admin = crate::workflow::canary("admin-read");
    let keys = [
        ("k-admin", serde_json::json!({"key": admin, "name": "Admin read", "expiresAt": "2027-02-01T00:00:00Z"})),
        ("k-ci", serde_json::json!({"key": "ci-key", "name": "CI bot", "expiresAt": "2027-05-15T00:00:00Z"})),
        ("k-old", serde_json::json!({"key": "old-key", "name": "old", "revoked": true})),
    ];
    for (id, body) in keys {
        vendor(Method::PUT, &format!("/_sim/atlassian/orgs/{org}/keys/{id}"), Some(body)).await;
    }
    // Three directories: two pages of the simulator's directory listing.
    for n in 1..=3 {
        let body = serde_json::json!({"key": format!("scim-{n}"), "org": org, "name": format!("Entra prod {n}")});
        vendor(Method::PUT, &format!("/_sim/atlassian/directories/{org}-d{n}"), Some(body)).await;
    }
    let draft = s.dir.path().join("draft.yaml");
    let draft_arg = draft.display().to_string();
    let args = ["inventory", "discover", "--atlassian-org", &org, "--out", &draft_arg];
    let url = vendor_url();

    let no_key = s.keyturn_env(&args, &[("KEYTURN_ATLASSIAN_URL", &url)]);
    assert!(!no_key.status.success());
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("ATLASSIAN_ADMIN_API_KEY is not set"));
    assert!(!draft.exists(), "nothing written without a key");

    let env = [("KEYTURN_ATLASSIAN_URL", url.as_str()), ("ATLASSIAN_ADMIN_API_KEY", admin.as_str())];
    let out = s.keyturn_env(&args, &env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 SCIM directories and 2 API keys"), "{stdout}");
    let text = std::fs::read_to_string(&draft).unwrap();
    assert!(text.contains(&format!("UNVERIFIED candidate \"{org}-d3\"")), "every page was read:\n{text}");
    assert!(!text.contains(&format!("directory_id: \"{org}-d")), "an unproven directory id is not written:\n{text}");
    // With a directory's SCIM key, its id is proven by a SCIM probe and written.
    let proven = s.dir.path().join("proven.yaml");
    let proven_arg = proven.display().to_string();
    let args_scim =
        ["inventory", "discover", "--atlassian-org", &org, "--out", &proven_arg, "--scim-key-env", "E2E_SCIM_KEY"];
    let scim_env = [env[0], env[1], ("E2E_SCIM_KEY", "scim-3")];
    let with_scim = s.keyturn_env(&args_scim, &scim_env);
    assert!(with_scim.status.success(), "{}", String::from_utf8_lossy(&with_scim.stderr));
    let proven_text = std::fs::read_to_string(&proven).unwrap();
    assert!(proven_text.contains(&format!("directory_id: \"{org}-d3\"")), "the probed id is written:\n{proven_text}");
    assert!(proven_text.contains(&format!("UNVERIFIED candidate \"{org}-d1\"")), "the others stay TODO");
    assert!(!proven_text.contains("scim-3"), "the SCIM key is never written");
    assert!(text.contains("expires_at: \"2027-05-15T00:00:00Z\""), "API key expiry carried over:\n{text}");
    assert!(!text.contains("\"old\""), "revoked keys are left out:\n{text}");
    assert!(!text.contains(&admin) && !stdout.contains(&admin), "the admin key is never written or printed");

    // A draft is not an inventory yet: validation names what a person must add.
    let check = s.keyturn(&["inventory", "validate", &draft_arg]);
    let problems = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success());
    for field in ["owner", "approver_group", "secret_arn"] {
        assert!(problems.contains(field), "{field} not named: {problems}");
    }
    let again = s.keyturn_env(&args, &env);
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"), "an existing draft is not overwritten");
    assert_eq!(s.json(&["inventory", "list"]), serde_json::json!([]), "discovery imports nothing");
}

/// No endpoint and no credentials: a short error that says how to point
/// keyturn at the local stack or at AWS, not a page of SDK debug output.
/// (IMDS is disabled so nothing leaves this machine.)
#[test]
fn without_credentials_or_an_endpoint_keyturn_says_what_to_set() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keyturn"))
        .args(["inventory", "list"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run keyturn");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hint: keyturn found no AWS credentials"), "{err}");
    assert!(err.contains(". dev/local.env"), "{err}");
    assert!(err.lines().count() <= 5 && !err.contains("DispatchFailure"), "short, no debug dump: {err}");
}
