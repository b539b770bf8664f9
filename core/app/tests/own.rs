//! keyturn's own credentials as `keyturn status` lists them: the expiry
//! each vendor reports, "not reported" where a vendor has none, and each
//! credential's failure on its own row.

#![allow(clippy::unwrap_used)]

use keyturn_app::config::Config;
use keyturn_app::own::{credentials, Known, OwnCredential, OwnSettings, NOT_REPORTED};
use keyturn_app::ports::{IssuedCredential, KeyAge, StoreError};
use keyturn_app::testkit::{record, Fakes};
use keyturn_domain::rotation::VendorError;
use time::OffsetDateTime;

const NOW: OffsetDateTime = time::macros::datetime!(2026-11-24 09:00 UTC);
const ROUTING: &str = "groups:\n  it-change:\n    approvers: [ana@acme.example]\n    \
                       slack_webhook: https://hooks.slack.com/services/T0/B0/approvers-secret-path\n    \
                       escalation: { email: [oncall@acme.example], slack_webhook: https://hooks.slack.com/services/T0/B0/oncall-secret-path }\n  \
                       quiet:\n    approvers: [bo@acme.example]\n";

fn settings() -> OwnSettings {
    let mut cfg = Config::default();
    cfg.vendors.entra_secret = Some("keyturn/entra".into());
    cfg.vendors.okta_secret = Some("keyturn/okta".into());
    OwnSettings { jira_secret: Some("keyturn/jira".into()), ..OwnSettings::from(&cfg) }
}

fn fakes() -> Fakes {
    Fakes::new(record("acme/k", "atlassian-api-key", &[]), "old-org-key-1234567").routed(ROUTING).with_tickets()
}

fn row<'a>(rows: &'a [OwnCredential], credential: &str) -> &'a OwnCredential {
    rows.iter().find(|r| r.credential == credential).unwrap_or_else(|| panic!("no {credential} row in {rows:?}"))
}

fn issued(id: &str, expires_at: &str) -> IssuedCredential {
    IssuedCredential { id: id.into(), expires_at: Some(expires_at.into()), note: None }
}

#[tokio::test]
async fn every_credential_keyturn_uses_is_listed_with_what_its_issuer_reports() {
    let f = fakes();
    {
        let mut own = f.own.lock().unwrap();
        own.entra = Some(Ok(issued("f0b0b335-1d71-4883-8f98-567911bfdca6", "2026-12-08T09:00:00Z")));
        own.okta = Some(Ok(issued("00T1abcdefghij", "2026-12-24T09:00:00Z")));
    }
    let rows = credentials(&f, &settings(), NOW).await;
    let names: Vec<&str> = rows.iter().map(|r| r.credential).collect();
    assert_eq!(
        names,
        [
            "entra-client-secret",
            "okta-api-token",
            "jira-token",
            "slack-webhook",
            "slack-webhook",
            "link-signing-key",
            "audit-signing-key"
        ]
    );

    let entra = row(&rows, "entra-client-secret");
    assert_eq!(entra.known, Known::Reported);
    assert_eq!(entra.id.as_deref(), Some("f0b0b335-1d71-4883-8f98-567911bfdca6"));
    assert_eq!(entra.expires_at.as_deref(), Some("2026-12-08T09:00:00Z"));
    assert_eq!(entra.days_left, Some(14));
    assert_eq!(entra.kept_in, "keyturn/entra");
    assert_eq!(entra.note, "reported by Graph");
    assert_eq!(row(&rows, "okta-api-token").days_left, Some(30));

    let jira = row(&rows, "jira-token");
    assert_eq!((jira.known, jira.note.as_str(), jira.expires_at.as_deref()), (Known::NotReported, NOT_REPORTED, None));
    assert_eq!(jira.kept_in, "keyturn/jira");

    // One row per webhook, named by its group; a group without one has none.
    let hooks: Vec<&str> =
        rows.iter().filter(|r| r.credential == "slack-webhook").map(|r| r.id.as_deref().unwrap()).collect();
    assert_eq!(hooks, ["it-change", "it-change (escalation)"]);
    assert!(rows.iter().filter(|r| r.credential == "slack-webhook").all(|r| r.note == NOT_REPORTED));

    let link = row(&rows, "link-signing-key");
    assert_eq!(link.created.as_deref(), Some("2026-11-01T00:00:00Z"));
    assert_eq!((link.id.as_deref(), link.expires_at.as_deref()), (Some("v-link-1"), None));
    assert!(link.note.contains("keyturn links rotate-key"), "{}", link.note);

    let all = serde_json::to_string(&rows).unwrap();
    assert!(!all.contains("secret-path"), "a webhook URL is a credential: {all}");
}

#[tokio::test]
async fn one_issuer_down_fails_only_its_own_row() {
    let f = fakes();
    {
        let mut own = f.own.lock().unwrap();
        own.entra = Some(Err(VendorError::Unavailable {
            service: "entra",
            operation: "GetOwnApplication",
            detail: "HTTP 503".into(),
        }));
        own.okta = Some(Err(VendorError::Unauthorized { service: "okta", operation: "GetApiToken", status: 401 }));
        own.audit_key = Err(StoreError {
            service: "secretsmanager",
            operation: "ListSecretVersionIds",
            message: "AccessDeniedException".into(),
            retryable: false,
        });
    }
    let rows = credentials(&f, &settings(), NOW).await;
    assert_eq!(rows.len(), 7, "every credential still has its row: {rows:?}");
    let entra = row(&rows, "entra-client-secret");
    assert_eq!(entra.known, Known::Unreadable);
    assert_eq!(entra.note, "could not read: entra GetOwnApplication: unavailable (HTTP 503)");
    assert_eq!((entra.id.as_deref(), entra.days_left), (None, None));
    assert!(row(&rows, "okta-api-token").note.contains("not authorised (HTTP 401)"));
    assert!(row(&rows, "audit-signing-key").note.contains("AccessDeniedException"));
    assert_eq!(row(&rows, "link-signing-key").known, Known::NotReported);
    assert_eq!(row(&rows, "jira-token").known, Known::NotReported);
}

#[tokio::test]
async fn what_is_not_configured_is_not_listed_and_a_key_not_made_yet_says_so() {
    let f = Fakes::new(record("acme/k", "atlassian-api-key", &[]), "old-org-key-1234567");
    f.own.lock().unwrap().link_key = Ok(None);
    let rows = credentials(&f, &OwnSettings::from(&Config::default()), NOW).await;
    let names: Vec<&str> = rows.iter().map(|r| r.credential).collect();
    assert_eq!(names, ["link-signing-key", "audit-signing-key"], "no Entra, Okta, Jira or Slack configured");
    assert_eq!(row(&rows, "link-signing-key").note, "not made yet (made on first use)");
}

#[tokio::test]
async fn an_issuer_without_an_expiry_and_a_scheduled_key_are_said_as_such() {
    let f = fakes();
    {
        let mut own = f.own.lock().unwrap();
        own.entra = Some(Ok(IssuedCredential { id: "k1".into(), expires_at: None, note: None }));
        own.link_key = Ok(Some(KeyAge {
            id: "v-2".into(),
            created: Some("2026-11-01T00:00:00Z".into()),
            rotate_by: Some("2026-11-22T00:00:00Z".into()),
        }));
    }
    let rows = credentials(&f, &settings(), NOW).await;
    let entra = row(&rows, "entra-client-secret");
    assert_eq!((entra.known, entra.note.as_str(), entra.days_left), (Known::Reported, "Graph reports no expiry", None));
    let link = row(&rows, "link-signing-key");
    assert_eq!(link.known, Known::Reported);
    assert_eq!(link.days_left, Some(-2), "overdue: {link:?}");
    assert!(link.note.starts_with("rotate by then"), "{}", link.note);
}
