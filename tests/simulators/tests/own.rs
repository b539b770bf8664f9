//! What `keyturn status` reads about keyturn's own credentials, through the
//! real adapters (keyturn-vendors' `own`) against the in-process simulator:
//! its Entra client secret found among its app's passwords by Graph's hint,
//! its Okta API token by id, and each failure kept to its own credential.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keyturn_app::lazy::Lazy;
use keyturn_app::ports::OwnCredentials;
use keyturn_domain::SecretValue;
use keyturn_vendors::own::{entra_secret, okta_token};
use keyturn_vendors::{Entra, EntraCredentials, HttpOwnCredentials, Okta};
use serde_json::json;

const OBJECT: &str = "99999999-8888-7777-6666-555555555555";
const CLIENT: &str = "12345678-aaaa-bbbb-cccc-1234567890ab";
const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const IN_USE: &str = "kt1~fake-keyturn-own-graph-secret-0123";
const IN_USE_ID: &str = "0b0b0b0b-1111-2222-3333-444444444444";

async fn start() -> String {
    // Loopback reaches keyturn's outbound guard only on a local stack.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"));
    keyturn_sim::spawn(keyturn_sim::Options::default()).await
}

async fn put(url: String, body: serde_json::Value) {
    let r = reqwest::Client::new().put(url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn entra(url: &str) -> Entra {
    Entra::new(
        reqwest::Client::new(),
        &format!("{url}/login"),
        &format!("{url}/graph/v1.0"),
        EntraCredentials {
            tenant_id: TENANT.into(),
            client_id: CLIENT.into(),
            client_secret: SecretValue::new(IN_USE),
        },
    )
}

/// keyturn's own app registration: the secret it uses and an older one.
async fn seed_own_app(url: &str) {
    let body = json!({"appId": CLIENT, "tenant": TENANT, "displayName": "keyturn",
    "passwords": [
        {"secret": "old-keyturn-graph-secret-0123456789", "endDateTime": "2027-09-01T00:00:00Z"},
        {"secret": IN_USE, "keyId": IN_USE_ID, "endDateTime": "2027-03-01T00:00:00Z"},
    ]});
    put(format!("{url}/_sim/entra/apps/{OBJECT}"), body).await;
}

#[tokio::test]
async fn keyturns_entra_secret_is_the_one_graph_hints_at_with_its_end_date() {
    let url = start().await;
    seed_own_app(&url).await;
    let got = entra_secret(&entra(&url)).await.unwrap();
    assert_eq!(got.id, IN_USE_ID);
    assert_eq!(got.expires_at.as_deref(), Some("2027-03-01T00:00:00Z"));
    assert_eq!(got.note, None);
}

#[tokio::test]
async fn an_app_graph_does_not_know_is_said_with_the_field_to_fix() {
    let url = start().await;
    seed_own_app(&url).await;
    // An unseeded client id still gets a Graph token from the simulator.
    let stranger = Entra::new(
        reqwest::Client::new(),
        &format!("{url}/login"),
        &format!("{url}/graph/v1.0"),
        EntraCredentials {
            tenant_id: TENANT.into(),
            client_id: "00000000-0000-0000-0000-000000000000".into(),
            client_secret: SecretValue::new("zzz-unrelated-secret-0123"),
        },
    );
    let err = entra_secret(&stranger).await.unwrap_err().to_string();
    assert!(err.contains("client_id 00000000-0000-0000-0000-000000000000: no such application in Graph"), "{err}");
    assert!(!err.contains("zzz-unrelated"), "{err}");
}

#[tokio::test]
async fn keyturns_okta_token_is_read_by_its_id_and_an_expired_one_is_refused() {
    let url = start().await;
    put(format!("{url}/_sim/okta/api-tokens/00Tkeyturn1"), json!({"token": "fake-keyturn-okta-token"})).await;
    let okta = okta(&url);
    let got = okta_token(&okta).await.unwrap();
    assert_eq!(got.id, "00Tkeyturn1");
    assert!(got.expires_at.is_some() && got.note.unwrap().contains("P30D"));

    let unknown = okta.clone().with_api_token_id("00Tnope");
    assert!(okta_token(&unknown).await.unwrap_err().to_string().contains("no such active API token"));

    put(
        format!("{url}/_sim/okta/api-tokens/00Tkeyturn1"),
        json!({"token": "fake-keyturn-okta-token", "expiresAt": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let err = okta_token(&okta).await.unwrap_err().to_string();
    assert!(err.contains("not authorised (HTTP 401)"), "{err}");
    assert!(!err.contains("fake-keyturn-okta-token"));
}

fn okta(url: &str) -> Okta {
    Okta::new(reqwest::Client::new(), &format!("{url}/okta"), SecretValue::new("fake-keyturn-okta-token"))
        .with_api_token_id("00Tkeyturn1")
}

#[tokio::test]
async fn one_vendor_down_or_one_secret_unreadable_leaves_the_other_readable() {
    let url = start().await;
    seed_own_app(&url).await;
    put(format!("{url}/_sim/okta/api-tokens/00Tkeyturn1"), json!({"token": "fake-keyturn-okta-token"})).await;
    let fault =
        json!({"method": "GET", "path_prefix": "/okta/api/v1/api-tokens", "times": 1, "kind": "status", "status": 503});
    let r = reqwest::Client::new().post(format!("{url}/_sim/faults")).json(&fault).send().await.unwrap();
    assert!(r.status().is_success());

    let (e, o) = (url.clone(), url.clone());
    let own = HttpOwnCredentials {
        entra: Some(Arc::new(Lazy::new(move || {
            let entra = entra(&e);
            async move { Ok(entra) }
        }))),
        okta: Some(Arc::new(Lazy::new(move || {
            let okta = okta(&o);
            async move { Ok(okta) }
        }))),
    };
    assert_eq!(own.entra_secret().await.unwrap().unwrap().id, IN_USE_ID);
    let down = own.okta_token().await.unwrap().unwrap_err().to_string();
    assert!(down.contains("okta GetApiToken: unavailable"), "{down}");
    assert!(own.okta_token().await.unwrap().is_ok(), "the fault was one answer only");

    let unreadable = HttpOwnCredentials {
        entra: Some(Arc::new(Lazy::new(|| async {
            Err::<Entra, _>("KEYTURN_ENTRA_SECRET: the secret has no \"client_secret\"".to_owned())
        }))),
        okta: None,
    };
    let err = unreadable.entra_secret().await.unwrap().unwrap_err().to_string();
    assert!(err.contains("KEYTURN_ENTRA_SECRET: the secret has no"), "{err}");
    assert!(unreadable.okta_token().await.is_none(), "no Okta configured: no row");
}
