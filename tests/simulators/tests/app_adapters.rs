//! keyturn's `entra-app-secret` adapter (keyturn-vendors) against the
//! in-process simulator: the whole dual-phase sequence the rotation steps
//! drive, as Graph and the identity platform answer it.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use keyturn_domain::{
    ClientApp, Connector, ConnectorId, ConnectorKind, ConnectorStatus, IdpBinding, SecretArn, SecretValue,
};
use keyturn_vendors::entra_app;
use keyturn_vendors::{AppSecretPolicy, Entra, EntraCredentials};
use serde_json::{json, Value};

const OBJECT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const CLIENT: &str = "0f0f0f0f-1234-5678-9abc-def012345678";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const OLD_ID: &str = "f0b0b335-1d71-4883-8f98-567911bfdca6";
const OLD: &str = "old-app-secret-0123456789";

async fn start() -> String {
    // Loopback reaches keyturn's outbound guard only on a local stack.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"));
    keyturn_sim::spawn(keyturn_sim::Options::default()).await
}

fn connector(object: &str) -> Connector {
    Connector {
        id: ConnectorId::parse("entra/app/payroll").unwrap(),
        kind: ConnectorKind::EntraAppSecret,
        org: "contoso".into(),
        directory_id: None,
        app_id: None,
        idp: IdpBinding::None,
        owner: "owner@example.com".into(),
        approver_group: "it-change".into(),
        change_window: None,
        secret_arn: SecretArn::parse("arn:aws:secretsmanager:eu-west-1:123456789012:secret:app").unwrap(),
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::days(5),
        status: ConnectorStatus::Active,
        version: 1,
        last_rotated_at: None,
        scim_base: None,
        vendor: None,
        console_url: None,
        old_key_survives: None,
        http_template: None,
        client_app: Some(ClientApp::Entra {
            tenant_id: TENANT.into(),
            application_object_id: object.into(),
            client_id: CLIENT.into(),
        }),
        overlap_seconds: None,
        active_change: None,
    }
}

fn entra(url: &str) -> Entra {
    Entra::new(
        reqwest::Client::new(),
        &format!("{url}/login"),
        &format!("{url}/graph/v1.0"),
        EntraCredentials {
            tenant_id: "keyturn-tenant".into(),
            client_id: "keyturn-graph-client".into(),
            client_secret: SecretValue::new("fake-keyturn-graph-secret"),
        },
    )
}

async fn seed(url: &str, propagation_requests: u32) {
    let body = json!({"appId": CLIENT, "tenant": TENANT, "displayName": "Payroll sync",
        "passwords": [{"secret": OLD, "keyId": OLD_ID, "displayName": "first"}],
        "propagation_requests": propagation_requests});
    let r = reqwest::Client::new().put(format!("{url}/_sim/entra/apps/{OBJECT}")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn held(url: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{url}/_sim/entra/apps/{OBJECT}")).await.unwrap().json().await.unwrap();
    v["passwords"].as_array().unwrap().clone()
}

#[tokio::test]
async fn add_wait_for_replication_prove_and_remove_the_old_password() {
    let url = start().await;
    seed(&url, 2).await;
    let (e, c) = (entra(&url), connector(OBJECT));
    let policy = AppSecretPolicy { lifetime: time::Duration::days(90), propagation: Duration::from_secs(10) };

    let new = entra_app::create(&e, &policy, &c, "keyturn chg-1 abc").await.unwrap();
    let new_id = new.key_id.clone().unwrap();
    assert_eq!(entra_app::leftovers(&e, &c, "keyturn chg-1 abc").await.unwrap(), vec![new_id.clone()]);
    assert!(entra_app::leftovers(&e, &c, "keyturn chg-2 abc").await.unwrap().is_empty());
    let end = keyturn_domain::timefmt::parse_instant(new.expires_at.as_deref().unwrap()).unwrap();
    assert!((end - time::OffsetDateTime::now_utc() - time::Duration::days(90)).abs() < time::Duration::minutes(5));

    // Refused twice as not yet replicated, then accepted.
    entra_app::probe(&e, &policy, &c, &new).await.unwrap();
    let old = keyturn_app::rotation::StoredKey::new(SecretValue::new(OLD));
    entra_app::probe(&e, &policy, &c, &old).await.unwrap();

    entra_app::revoke(&e, &c, OLD_ID).await.unwrap();
    entra_app::revoke(&e, &c, OLD_ID).await.unwrap();
    let left = held(&url).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["keyId"], new_id.as_str());
    let no_wait = AppSecretPolicy { propagation: Duration::ZERO, ..policy };
    let refused = entra_app::probe(&e, &no_wait, &c, &old).await.unwrap_err().to_string();
    assert!(refused.contains("refused as invalid") && !refused.contains(OLD), "{refused}");
}

#[tokio::test]
async fn a_wrong_id_in_the_inventory_is_named_and_nothing_is_added() {
    let url = start().await;
    seed(&url, 0).await;
    let e = entra(&url);
    let policy = AppSecretPolicy::default();
    let unknown = connector("99999999-9999-9999-9999-999999999999");
    let err = entra_app::create(&e, &policy, &unknown, "l").await.unwrap_err().to_string();
    assert!(err.contains("application_object_id 99999999-9999-9999-9999-999999999999: no such application"), "{err}");
    let mut other_tenant = connector(OBJECT);
    other_tenant.client_app = Some(ClientApp::Entra {
        tenant_id: "22222222-2222-2222-2222-222222222222".into(),
        application_object_id: OBJECT.into(),
        client_id: CLIENT.into(),
    });
    let old = keyturn_app::rotation::StoredKey::new(SecretValue::new(OLD));
    let err = entra_app::probe(&e, &policy, &other_tenant, &old).await.unwrap_err().to_string();
    assert!(err.contains(&format!("client_id {CLIENT}: no such application in tenant_id 2222")), "{err}");
    assert_eq!(held(&url).await.len(), 1, "nothing added");
}

fn okta_connector(server: &str, scope: &str) -> Connector {
    Connector {
        id: ConnectorId::parse("okta/app/ci").unwrap(),
        kind: ConnectorKind::OktaClientSecret,
        app_id: Some("0oaapp1".into()),
        client_app: Some(ClientApp::Okta {
            app_id: "0oaapp1".into(),
            client_id: "0oaclient1".into(),
            auth_server_id: server.into(),
            scope: scope.into(),
        }),
        ..connector(OBJECT)
    }
}

async fn seed_okta(url: &str, secrets: Value) {
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{url}/_sim/okta/oauth-apps/0oaapp1"))
        .json(&json!({"client_id": "0oaclient1", "secrets": secrets}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = http
        .put(format!("{url}/_sim/okta/authorization-servers/aus1"))
        .json(&json!({"scopes": ["keyturn.verify"]}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

async fn okta_held(url: &str) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{url}/_sim/okta/oauth-apps/0oaapp1")).await.unwrap().json().await.unwrap();
    v["secrets"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_okta_client_secret_is_added_proved_and_the_old_one_deactivated_and_deleted() {
    let url = start().await;
    seed_okta(&url, json!([{"secret": OLD, "id": "ocsold"}])).await;
    let okta =
        keyturn_vendors::Okta::new(reqwest::Client::new(), &format!("{url}/okta"), SecretValue::new("fake-ssws"));
    let c = okta_connector("aus1", "keyturn.verify");
    let policy = AppSecretPolicy { lifetime: time::Duration::days(90), propagation: Duration::ZERO };

    let new = keyturn_vendors::okta_app::create(&okta, &c).await.unwrap();
    let new_id = new.key_id.clone().unwrap();
    assert_eq!(new.expires_at, None, "Okta's secrets carry no expiry");
    keyturn_vendors::okta_app::probe(&okta, &policy, &c, &new).await.unwrap();
    // A third secret is Okta's limit: refused by keyturn before Okta has to.
    let err = keyturn_vendors::okta_app::create(&okta, &c).await.unwrap_err().to_string();
    assert!(err.contains("already has 2 client secrets") && err.contains("ocsold"), "{err}");

    keyturn_vendors::okta_app::revoke(&okta, &c, "ocsold").await.unwrap();
    keyturn_vendors::okta_app::revoke(&okta, &c, "ocsold").await.unwrap();
    let left = okta_held(&url).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], new_id.as_str());
    let old = keyturn_app::rotation::StoredKey::new(SecretValue::new(OLD));
    let refused = keyturn_vendors::okta_app::probe(&okta, &policy, &c, &old).await.unwrap_err().to_string();
    assert!(refused.contains("client secret was refused") && !refused.contains(OLD), "{refused}");

    // Configuration errors are named by their field, not retried.
    let wrong_scope = okta_connector("aus1", "other.scope");
    let e = keyturn_vendors::okta_app::probe(&okta, &policy, &wrong_scope, &new).await.unwrap_err().to_string();
    assert!(e.contains("scope other.scope: not a scope auth_server_id aus1 grants"), "{e}");
    let wrong_server = okta_connector("ausnone", "keyturn.verify");
    let e = keyturn_vendors::okta_app::probe(&okta, &policy, &wrong_server, &new).await.unwrap_err().to_string();
    assert!(e.contains("auth_server_id ausnone: no such authorization server"), "{e}");
}

// ---- discovery ----------------------------------------------------------------------

/// `inventory discover --entra` and `--self` against the simulated Graph:
/// every page of a tenant's apps (three pages of two), each app's owner, and
/// keyturn's own app found by its client id with the password it signs in
/// with told apart from the others.
#[tokio::test]
async fn discovery_reads_every_app_its_owner_and_keyturns_own_password() {
    use keyturn_vendors::discover_apps::{entra_apps, entra_own_app};
    let url = start().await;
    let http = reqwest::Client::new();
    for n in 1..=5 {
        let owners =
            if n == 3 { json!([]) } else { json!([{"id": format!("u{n}"), "mail": format!("owner{n}@example.com")}]) };
        let body = json!({"appId": format!("client-{n}"), "tenant": "keyturn-tenant", "displayName": format!("App {n}"),
            "passwords": [{"secret": format!("app-{n}-secret-0123456789"), "endDateTime": "2027-03-01T00:00:00Z"}],
            "owners": owners});
        let r = http.put(format!("{url}/_sim/entra/apps/obj-{n}")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    // keyturn's own app: the password it signs in with and an older one.
    let body = json!({"appId": "keyturn-graph-client", "tenant": "keyturn-tenant", "displayName": "keyturn",
        "passwords": [{"secret": "fake-keyturn-graph-secret", "displayName": "in use", "endDateTime": "2027-01-15T00:00:00Z"},
                      {"secret": "older-keyturn-secret-012345", "displayName": "older", "endDateTime": "2027-09-01T00:00:00Z"}],
        "owners": [{"id": "sp", "type": "servicePrincipal"}, {"id": "u9", "userPrincipalName": "it@example.com"}]});
    let r = http.put(format!("{url}/_sim/entra/apps/obj-own")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let e = entra(&url);
    let apps = entra_apps(&e, 2).await.unwrap();
    assert_eq!(apps.len(), 6, "every page: {apps:?}");
    let by = |id: &str| apps.iter().find(|a| a.object_id == id).unwrap();
    assert_eq!(by("obj-1").owner.as_deref(), Some("owner1@example.com"));
    assert_eq!(by("obj-3").owner, None, "no owner");
    assert_eq!(by("obj-5").passwords[0].end, "2027-03-01T00:00:00Z");

    let own = entra_own_app(&e).await.unwrap();
    assert_eq!(own.object_id, "obj-own");
    assert_eq!(own.owner.as_deref(), Some("it@example.com"), "the user owner, not the service principal");
    let matching: Vec<_> = own.passwords.iter().filter(|p| p.hint_matches_own).collect();
    assert_eq!(matching.len(), 1);
    assert_eq!(matching[0].display_name.as_deref(), Some("in use"));
}

/// `inventory discover --okta` against the simulated Okta: the apps listing
/// paged by its `Link` header, then each OAuth app's client secrets.
#[tokio::test]
async fn discovery_pages_okta_apps_by_their_link_header() {
    use keyturn_vendors::discover_apps::okta_oauth_apps;
    let url = start().await;
    let http = reqwest::Client::new();
    for n in 1..=3 {
        let body = json!({"client_id": format!("0oaclient{n}"), "label": format!("Reporting {n}"),
            "secrets": [{"secret": format!("okta-secret-{n}-0123456789"), "id": format!("ocs{n}"), "created": "2026-05-01T00:00:00Z"}]});
        let r = http.put(format!("{url}/_sim/okta/oauth-apps/0oa{n}")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let okta = keyturn_vendors::Okta::new(
        reqwest::Client::new(),
        &format!("{url}/okta"),
        SecretValue::new("fake-okta-api-token"),
    );
    let apps = okta_oauth_apps(&okta, 2).await.unwrap();
    assert_eq!(apps.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["0oa1", "0oa2", "0oa3"]);
    assert_eq!(apps[2].client_id, "0oaclient3");
    assert_eq!(apps[2].secrets.len(), 1);
    assert_eq!(apps[2].secrets[0].created, "2026-05-01T00:00:00Z");
    assert!(apps[2].secrets[0].active);
}
