//! The client-secret simulators (Entra app registrations, Okta OAuth apps)
//! behave as the vendors document (docs/vendors.md, `entra-app-secret` and
//! `okta-client-secret`).
#![allow(clippy::unwrap_used)]

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn start() -> String {
    keyturn_sim::spawn(keyturn_sim::Options::default()).await
}

const GRAPH: &str = "sim-graph-token";

/// An `application/x-www-form-urlencoded` body, as the token endpoints take.
trait Form {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl Form for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        self.header("content-type", "application/x-www-form-urlencoded").body(body)
    }
}
const OLD: &str = "old-entra-secret-0123456789";

async fn seed_entra(http: &Client, url: &str, body: Value) {
    let r = http.put(format!("{url}/_sim/entra/apps/obj-1")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn entra_app(end: &str) -> Value {
    json!({"appId": "client-1", "tenant": "t1", "displayName": "Payroll sync",
        "passwords": [{"secret": OLD, "keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6", "displayName": "2025",
                       "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": end}],
        "owners": [{"id": "u-1", "displayName": "Ada", "userPrincipalName": "ada@example.com", "mail": "ada@example.com"},
                   {"id": "sp-9", "type": "servicePrincipal", "displayName": "Automation"}]})
}

async fn entra_token(http: &Client, url: &str, tenant: &str, secret: &str) -> (StatusCode, Value) {
    let r = http
        .post(format!("{url}/login/{tenant}/oauth2/v2.0/token"))
        .form_body(&[
            ("client_id", "client-1"),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_secret", secret),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn graph(
    http: &Client,
    method: reqwest::Method,
    url: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, format!("{url}/graph/v1.0{path}")).bearer_auth(GRAPH);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

fn assert_sts_error(status: StatusCode, body: &Value, expect_status: u16, error: &str, code: u64) {
    assert_eq!(status.as_u16(), expect_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let d = body["error_description"].as_str().unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}:")) && d.contains("Trace ID:"), "{d}");
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string() && body["timestamp"].is_string());
}

/// The dual-phase rotation the `entra-app-secret` adapter makes: add a
/// password, sign in with it, remove the old one; the old one is then refused
/// with the documented error, and secretText was answered once.
#[tokio::test]
async fn entra_add_sign_in_remove_then_the_old_secret_is_refused() {
    let url = start().await;
    let http = Client::new();
    seed_entra(&http, &url, entra_app("2030-01-01T00:00:00Z")).await;

    let (status, token) = entra_token(&http, &url, "t1", OLD).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["expires_in"].is_u64() && token["access_token"].is_string());

    let body = json!({"passwordCredential": {"displayName": "keyturn 2026-12", "endDateTime": "2027-06-01T00:00:00Z"}});
    let (status, added) =
        graph(&http, reqwest::Method::POST, &url, "/applications/obj-1/addPassword", Some(body.clone())).await;
    assert_eq!(status, 200, "{added}");
    let secret = added["secretText"].as_str().unwrap().to_owned();
    assert!((16..=64).contains(&secret.len()));
    assert_eq!(added["hint"], secret[..3]);
    assert_eq!(added["endDateTime"], "2027-06-01T00:00:00Z");
    assert_eq!(added["displayName"], "keyturn 2026-12");
    let new_key = added["keyId"].as_str().unwrap().to_owned();
    assert_eq!(new_key.len(), 36);
    assert!(added["startDateTime"].is_string() && added.get("customKeyIdentifier").is_some());
    assert!(!secret.contains("obj-1") && !secret.contains("client-1") && !secret.contains(&new_key[..8]));
    let (_, again) = graph(&http, reqwest::Method::POST, &url, "/applications/obj-1/addPassword", Some(body)).await;
    assert_ne!(again["secretText"], added["secretText"], "every secret is new and random");

    let (_, app) = graph(&http, reqwest::Method::GET, &url, "/applications/obj-1", None).await;
    let creds = app["passwordCredentials"].as_array().unwrap();
    assert_eq!(creds.len(), 3);
    assert!(creds.iter().all(|c| c["secretText"].is_null()), "secretText only in addPassword's answer: {app}");
    assert!(!app.to_string().contains(&secret));

    let (status, _) = entra_token(&http, &url, "t1", &secret).await;
    assert_eq!(status, 200, "the new secret signs in");

    let remove = json!({"keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6"});
    let (status, removed) =
        graph(&http, reqwest::Method::POST, &url, "/applications/obj-1/removePassword", Some(remove.clone())).await;
    assert_eq!(status, 204, "{removed}");
    assert!(removed.is_null());
    let (status, body) = entra_token(&http, &url, "t1", OLD).await;
    assert_sts_error(status, &body, 401, "invalid_client", 7000215);
    assert!(!body.to_string().contains(OLD), "no secret in an error");
    let (status, _) = entra_token(&http, &url, "t1", &secret).await;
    assert_eq!(status, 200, "the new secret still signs in");

    let (status, gone) =
        graph(&http, reqwest::Method::POST, &url, "/applications/obj-1/removePassword", Some(remove)).await;
    assert_eq!(status, 400, "a keyId the app does not have: {gone}");
    assert_eq!(gone["error"]["code"], "Request_BadRequest");

    let log = http.get(format!("{url}/_sim/requests")).send().await.unwrap().text().await.unwrap();
    let control = http.get(format!("{url}/_sim/entra/apps/obj-1")).send().await.unwrap().text().await.unwrap();
    for text in [log, control] {
        assert!(!text.contains(&secret) && !text.contains(OLD), "no secret in the log or control answers: {text}");
    }
}

#[tokio::test]
async fn entra_refuses_an_expired_secret_with_7000222() {
    let url = start().await;
    let http = Client::new();
    seed_entra(&http, &url, entra_app("2026-01-01T00:00:00Z")).await;
    let (status, body) = entra_token(&http, &url, "t1", OLD).await;
    assert_sts_error(status, &body, 401, "invalid_client", 7000222);
    assert!(body["error_description"].as_str().unwrap().contains("are expired"));
}

/// With replication switched on, a new secret is refused (as a wrong one is)
/// for as many token requests as asked, then signs in: the adapter must retry.
#[tokio::test]
async fn entra_a_new_secret_replicates_before_it_signs_in() {
    let url = start().await;
    let http = Client::new();
    let mut app = entra_app("2030-01-01T00:00:00Z");
    app["propagation_requests"] = json!(2);
    seed_entra(&http, &url, app).await;
    let (_, added) =
        graph(&http, reqwest::Method::POST, &url, "/applications/obj-1/addPassword", Some(json!({}))).await;
    let secret = added["secretText"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let (status, body) = entra_token(&http, &url, "t1", &secret).await;
        assert_sts_error(status, &body, 401, "invalid_client", 7000215);
    }
    assert_eq!(entra_token(&http, &url, "t1", &secret).await.0, 200);
    assert_eq!(entra_token(&http, &url, "t1", OLD).await.0, 200, "the old secret is not delayed");

    // A lifetime defaults to two years from now.
    let end = added["endDateTime"].as_str().unwrap();
    let start_year: i32 = added["startDateTime"].as_str().unwrap()[..4].parse().unwrap();
    assert_eq!(end[..4].parse::<i32>().unwrap(), start_year + 2);

    // Switched later, for secrets created from then on.
    let r = http
        .put(format!("{url}/_sim/entra/apps/obj-1/propagation"))
        .json(&json!({"requests": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, added) =
        graph(&http, reqwest::Method::POST, &url, "/applications/obj-1/addPassword", Some(json!({}))).await;
    let secret = added["secretText"].as_str().unwrap().to_owned();
    assert_eq!(entra_token(&http, &url, "t1", &secret).await.0, 401);
    assert_eq!(entra_token(&http, &url, "t1", &secret).await.0, 200);
}

#[tokio::test]
async fn entra_token_requests_outside_the_documented_shape_are_refused() {
    let url = start().await;
    let http = Client::new();
    seed_entra(&http, &url, entra_app("2030-01-01T00:00:00Z")).await;
    let post = |form: Vec<(&'static str, &'static str)>| {
        http.post(format!("{url}/login/t1/oauth2/v2.0/token")).form_body(&form).send()
    };
    let base = vec![("client_id", "client-1"), ("grant_type", "client_credentials"), ("client_secret", OLD)];

    let r = post([base.clone(), vec![("scope", "https://graph.microsoft.com/User.Read")]].concat()).await.unwrap();
    let (s, b) = (r.status(), r.json::<Value>().await.unwrap());
    assert_sts_error(s, &b, 400, "invalid_scope", 70011);
    let r = post(base.clone()).await.unwrap();
    let (s, b) = (r.status(), r.json::<Value>().await.unwrap());
    assert_sts_error(s, &b, 400, "invalid_request", 900144);
    let r = post(vec![
        ("client_id", "client-1"),
        ("grant_type", "client_credentials"),
        ("scope", "https://graph.microsoft.com/.default"),
    ])
    .await
    .unwrap();
    let (s, b) = (r.status(), r.json::<Value>().await.unwrap());
    assert_sts_error(s, &b, 401, "invalid_client", 7000218);
    let r = post(vec![
        ("client_id", "client-1"),
        ("grant_type", "password"),
        ("scope", "https://graph.microsoft.com/.default"),
    ])
    .await
    .unwrap();
    let (s, b) = (r.status(), r.json::<Value>().await.unwrap());
    assert_sts_error(s, &b, 400, "unsupported_grant_type", 70003);

    let (s, b) = entra_token(&http, &url, "other-tenant", OLD).await;
    assert_sts_error(s, &b, 400, "unauthorized_client", 700016);

    // HTTP Basic is documented as an alternative to client_secret in the body.
    let r = http
        .post(format!("{url}/login/t1/oauth2/v2.0/token"))
        .basic_auth("client-1", Some(OLD))
        .form_body(&[("scope", "https://graph.microsoft.com/.default"), ("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A client the simulator was not told about is answered as before.
    let r = http
        .post(format!("{url}/login/t9/oauth2/v2.0/token"))
        .form_body(&[("client_id", "keyturn"), ("client_secret", "anything"), ("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn entra_unknown_apps_and_undocumented_graph_shapes_are_refused() {
    let url = start().await;
    let http = Client::new();
    seed_entra(&http, &url, entra_app("2030-01-01T00:00:00Z")).await;
    use reqwest::Method;

    let (status, body) = graph(&http, Method::GET, &url, "/applications/nope", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert!(body["error"]["message"].as_str().unwrap().contains("'nope' does not exist"));
    assert!(body["error"]["innerError"]["request-id"].is_string() && body["error"]["innerError"]["date"].is_string());
    let (status, _) = graph(&http, Method::POST, &url, "/applications/nope/addPassword", Some(json!({}))).await;
    assert_eq!(status, 404);
    let (status, _) = graph(
        &http,
        Method::POST,
        &url,
        "/applications(appId='nope')/removePassword",
        Some(json!({"keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6"})),
    )
    .await;
    assert_eq!(status, 404);

    for bad in [
        json!({"passwordCredential": {"secretText": "mine-0123456789abcdef"}}),
        json!({"passwordCredential": {"endDateTime": "next year"}}),
        json!({"passwordCredential": {"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"}}),
        json!({"displayName": "top level"}),
    ] {
        let (status, body) =
            graph(&http, Method::POST, &url, "/applications/obj-1/addPassword", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad} → {body}");
        assert!(body["error"]["code"].is_string());
    }
    for bad in
        [json!({}), json!({"keyId": "not-a-guid"}), json!({"keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6", "x": 1})]
    {
        let (status, _) =
            graph(&http, Method::POST, &url, "/applications/obj-1/removePassword", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (_, app) = graph(&http, Method::GET, &url, "/applications/obj-1", None).await;
    assert_eq!(app["passwordCredentials"].as_array().unwrap().len(), 1, "nothing was written by a refused request");

    let unauthenticated = http.get(format!("{url}/graph/v1.0/applications/obj-1")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let (status, _) = graph(&http, Method::GET, &url, "/applications?$filter=appId%20eq%20'client-1'", None).await;
    assert_eq!(status, 400, "documented, but not modelled: refused rather than ignored");
    let (status, _) = graph(&http, Method::GET, &url, "/applications/obj-1?$select=bogus", None).await;
    assert_eq!(status, 400);
}

/// What `inventory discover` reads: pages of apps with their password
/// credentials' expiry, each app's owners, and the appId addressing.
#[tokio::test]
async fn entra_discovery_reads_pages_selected_properties_and_owners() {
    let url = start().await;
    let http = Client::new();
    seed_entra(&http, &url, entra_app("2027-01-15T00:00:00Z")).await;
    for id in ["obj-2", "obj-3"] {
        http.put(format!("{url}/_sim/entra/apps/{id}"))
            .json(&json!({"appId": format!("client-{id}"), "tenant": "t1"}))
            .send()
            .await
            .unwrap();
    }
    let r = http
        .get(format!("{url}/graph/v1.0/applications?%24select=id%2CappId%2CdisplayName%2CpasswordCredentials&%24top=2"))
        .bearer_auth(GRAPH)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    let value = page["value"].as_array().unwrap();
    assert_eq!(value.len(), 2);
    assert_eq!(value[0]["passwordCredentials"][0]["endDateTime"], "2027-01-15T00:00:00Z");
    assert!(value[0].get("keyCredentials").is_none(), "only the selected properties");
    let next = page["@odata.nextLink"].as_str().unwrap();
    let page: Value = http.get(next).bearer_auth(GRAPH).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    assert_eq!(page["value"][0]["id"], "obj-3");
    assert!(page.get("@odata.nextLink").is_none());

    let (status, owners) = graph(&http, reqwest::Method::GET, &url, "/applications/obj-1/owners", None).await;
    assert_eq!(status, 200);
    assert_eq!(owners["value"][0]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(owners["value"][0]["userPrincipalName"], "ada@example.com");
    assert_eq!(owners["value"][1]["@odata.type"], "#microsoft.graph.servicePrincipal");

    let (status, app) =
        graph(&http, reqwest::Method::GET, &url, "/applications(appId='client-1')?$select=id", None).await;
    assert_eq!(status, 200, "{app}");
    assert_eq!(app["id"], "obj-1");
    let (status, owners) =
        graph(&http, reqwest::Method::GET, &url, "/applications(appId='client-1')/owners", None).await;
    assert_eq!(status, 200);
    assert_eq!(owners["value"].as_array().unwrap().len(), 2);
}

// ---- Okta -------------------------------------------------------------------------------

const OKTA_OLD: &str = "old-okta-secret-0123456789";

async fn seed_okta(http: &Client, url: &str, secrets: Value) {
    let r = http
        .put(format!("{url}/_sim/okta/oauth-apps/0oa1"))
        .json(&json!({"client_id": "0oaclient1", "label": "Reporting", "secrets": secrets}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = http
        .put(format!("{url}/_sim/okta/authorization-servers/aus1"))
        .json(&json!({"scopes": ["keyturn.verify"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn okta(
    http: &Client,
    method: reqwest::Method,
    url: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req =
        http.request(method, format!("{url}/okta/api/v1/apps/0oa1{path}")).header("authorization", "SSWS api-token");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// client_secret_basic at the custom authorization server `aus1`.
async fn okta_token(http: &Client, url: &str, server: &str, secret: &str) -> (StatusCode, Value) {
    let path =
        if server.is_empty() { "/okta/oauth2/v1/token".to_owned() } else { format!("/okta/oauth2/{server}/v1/token") };
    let r = http
        .post(format!("{url}{path}"))
        .basic_auth("0oaclient1", Some(secret))
        .form_body(&[("grant_type", "client_credentials"), ("scope", "keyturn.verify")])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn assert_okta_error(status: StatusCode, body: &Value, expect: u16, code: &str, cause: Option<&str>) {
    assert_eq!(status.as_u16(), expect, "{body}");
    assert_eq!(body["errorCode"], code, "{body}");
    assert!(body["errorSummary"].is_string() && body["errorId"].is_string() && body["errorLink"] == code);
    if let Some(cause) = cause {
        assert_eq!(body["errorCauses"][0]["errorSummary"], cause, "{body}");
    }
}

/// The dual-phase rotation the `okta-client-secret` adapter makes: create,
/// sign in with the new secret, deactivate and delete the old one; the old
/// one is then refused with `invalid_client`.
#[tokio::test]
async fn okta_create_sign_in_deactivate_delete_then_the_old_secret_is_refused() {
    let url = start().await;
    let http = Client::new();
    seed_okta(&http, &url, json!([{"secret": OKTA_OLD, "id": "ocsOLD"}])).await;
    let (status, token) = okta_token(&http, &url, "aus1", OKTA_OLD).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "keyturn.verify");

    let (status, created) = okta(&http, reqwest::Method::POST, &url, "/credentials/secrets", Some(json!({}))).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let new_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "ACTIVE");
    assert!(new_id.starts_with("ocs") && !secret.contains(&new_id) && !secret.contains("0oa"));
    assert!(created["secret_hash"].is_string() && created["created"].is_string() && created["lastUpdated"].is_string());
    assert!(created["_links"]["deactivate"]["href"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/secrets/{new_id}/lifecycle/deactivate")));

    // Both secrets work during the overlap (client_secret_post this time).
    let r = http
        .post(format!("{url}/okta/oauth2/aus1/v1/token"))
        .form_body(&[
            ("grant_type", "client_credentials"),
            ("scope", "keyturn.verify"),
            ("client_id", "0oaclient1"),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(okta_token(&http, &url, "aus1", OKTA_OLD).await.0, 200);

    let (_, listed) = okta(&http, reqwest::Method::GET, &url, "/credentials/secrets", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&secret) && !listed.to_string().contains(OKTA_OLD),
        "a secret is answered once: {listed}"
    );

    let (status, deactivated) =
        okta(&http, reqwest::Method::POST, &url, "/credentials/secrets/ocsOLD/lifecycle/deactivate", None).await;
    assert_eq!(status, 200);
    assert_eq!(deactivated["status"], "INACTIVE");
    assert!(deactivated["_links"]["activate"].is_object() && deactivated["_links"]["delete"].is_object());
    let (status, body) = okta_token(&http, &url, "aus1", OKTA_OLD).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "The client secret supplied for a confidential client is invalid."})
    );

    let (status, _) = okta(&http, reqwest::Method::DELETE, &url, "/credentials/secrets/ocsOLD", None).await;
    assert_eq!(status, 204);
    let (_, listed) = okta(&http, reqwest::Method::GET, &url, "/credentials/secrets", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], new_id.as_str());
    assert_eq!(okta_token(&http, &url, "aus1", &secret).await.0, 200);
    let (status, _) = okta(&http, reqwest::Method::GET, &url, "/credentials/secrets/ocsOLD", None).await;
    assert_eq!(status, 404);

    let log = http.get(format!("{url}/_sim/requests")).send().await.unwrap().text().await.unwrap();
    let control = http.get(format!("{url}/_sim/okta/oauth-apps/0oa1")).send().await.unwrap().text().await.unwrap();
    for text in [log, control] {
        assert!(!text.contains(&secret) && !text.contains(OKTA_OLD), "{text}");
    }
}

#[tokio::test]
async fn okta_refuses_a_third_secret_an_active_delete_and_deactivating_the_only_active_one() {
    let url = start().await;
    let http = Client::new();
    use reqwest::Method;
    seed_okta(&http, &url, json!([{"secret": OKTA_OLD, "id": "ocsA"}])).await;

    let (status, body) = okta(&http, Method::POST, &url, "/credentials/secrets/ocsA/lifecycle/deactivate", None).await;
    assert_okta_error(status, &body, 400, "E0000001", Some("You can't deactivate the only active client secret."));
    let (status, body) = okta(&http, Method::DELETE, &url, "/credentials/secrets/ocsA", None).await;
    assert_okta_error(
        status,
        &body,
        400,
        "E0000001",
        Some("You can't delete an active client secret. Deactivate the secret before deleting it."),
    );
    assert_eq!(body["errorSummary"], "Api validation failed: OAuth2ClientSecretMediated");

    let (status, _) = okta(&http, Method::POST, &url, "/credentials/secrets", None).await;
    assert_eq!(status, 201, "no body: a system-generated secret");
    let (status, body) = okta(&http, Method::POST, &url, "/credentials/secrets", Some(json!({}))).await;
    assert_okta_error(
        status,
        &body,
        400,
        "E0000001",
        Some("You've reached the maximum number of client secrets per client."),
    );
    let (_, listed) = okta(&http, Method::GET, &url, "/credentials/secrets", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 2, "nothing was written");

    // Rollback: an inactive secret can be activated again and signs in.
    let (status, _) = okta(&http, Method::POST, &url, "/credentials/secrets/ocsA/lifecycle/deactivate", None).await;
    assert_eq!(status, 200);
    assert_eq!(okta_token(&http, &url, "aus1", OKTA_OLD).await.0, 401);
    let (status, active) = okta(&http, Method::POST, &url, "/credentials/secrets/ocsA/lifecycle/activate", None).await;
    assert_eq!(status, 200);
    assert_eq!(active["status"], "ACTIVE");
    assert_eq!(okta_token(&http, &url, "aus1", OKTA_OLD).await.0, 200);
}

#[tokio::test]
async fn okta_bring_your_own_secret_follows_the_documented_limits() {
    let url = start().await;
    let http = Client::new();
    seed_okta(&http, &url, json!([])).await;
    let create = |body: Value| okta(&http, reqwest::Method::POST, &url, "/credentials/secrets", Some(body));
    let (s, b) = create(json!({"client_secret": "short"})).await;
    assert_okta_error(
        s,
        &b,
        400,
        "E0000001",
        Some("client_secret: 'client_secret' must be at least '14' characters long."),
    );
    let (s, b) = create(json!({"client_secret": "x".repeat(101)})).await;
    assert_okta_error(
        s,
        &b,
        400,
        "E0000001",
        Some("client_secret: 'client_secret' can't be more than '100' characters long."),
    );
    let (s, b) = create(json!({"client_secret": "caf\u{e9}-0123456789-abc"})).await;
    assert_okta_error(s, &b, 400, "E0000001", None);
    let (s, b) = create(json!({"secret": "wrong-field-0123456789"})).await;
    assert_okta_error(s, &b, 400, "E0000001", None);
    let (s, b) = create(json!({"client_secret": "mine-0123456789-abcdef", "status": "INACTIVE"})).await;
    assert_eq!(s, 201);
    assert_eq!(b["status"], "INACTIVE");
    assert_eq!(b["client_secret"], "mine-0123456789-abcdef");
    assert_eq!(
        okta_token(&http, &url, "aus1", "mine-0123456789-abcdef").await.0,
        401,
        "an inactive secret does not sign in"
    );

    // private_key_jwt apps take no client secret.
    http.put(format!("{url}/_sim/okta/oauth-apps/0oa1"))
        .json(&json!({"client_id": "0oaclient1", "token_endpoint_auth_method": "private_key_jwt"}))
        .send()
        .await
        .unwrap();
    let (s, b) = create(json!({})).await;
    assert_okta_error(
        s,
        &b,
        400,
        "E0000001",
        Some("'client_secret' can't be used when 'token_endpoint_auth_method' is 'private_key_jwt'."),
    );
}

#[tokio::test]
async fn okta_unknown_apps_missing_tokens_and_token_request_errors() {
    let url = start().await;
    let http = Client::new();
    seed_okta(&http, &url, json!([{"secret": OKTA_OLD}])).await;

    let r = http
        .get(format!("{url}/okta/api/v1/apps/nope/credentials/secrets"))
        .header("authorization", "SSWS t")
        .send()
        .await
        .unwrap();
    let (s, b) = (r.status(), r.json::<Value>().await.unwrap());
    assert_okta_error(s, &b, 404, "E0000007", None);
    let r = http.get(format!("{url}/okta/api/v1/apps/0oa1/credentials/secrets")).send().await.unwrap();
    let (s, b) = (r.status(), r.json::<Value>().await.unwrap());
    assert_okta_error(s, &b, 401, "E0000011", None);
    let (s, app) = okta(&http, reqwest::Method::GET, &url, "", None).await;
    assert_eq!(s, 200);
    assert_eq!(app["credentials"]["oauthClient"]["client_id"], "0oaclient1");
    assert_eq!(app["credentials"]["oauthClient"]["token_endpoint_auth_method"], "client_secret_basic");

    let token = |form: Vec<(&'static str, &'static str)>, basic: Option<&'static str>| {
        let mut r = http.post(format!("{url}/okta/oauth2/aus1/v1/token")).form_body(&form);
        if let Some(secret) = basic {
            r = r.basic_auth("0oaclient1", Some(secret));
        }
        r.send()
    };
    let cc = ("grant_type", "client_credentials");
    let expect = |status: u16, error: &'static str, r: reqwest::Response| async move {
        assert_eq!(r.status().as_u16(), status);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], error, "{b}");
        assert!(b["error_description"].is_string());
        b
    };
    let b = expect(401, "invalid_client", token(vec![cc, ("scope", "keyturn.verify")], None).await.unwrap()).await;
    assert_eq!(b["error_description"], "No client credentials found");
    let b = expect(
        401,
        "invalid_client",
        token(vec![cc, ("scope", "keyturn.verify"), ("client_id", "0oanobody"), ("client_secret", OKTA_OLD)], None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(b["error_description"], "Invalid value for the `client_id` parameter");
    let b = expect(400, "invalid_scope", token(vec![cc], Some(OKTA_OLD)).await.unwrap()).await;
    assert_eq!(b["error_description"], "No scopes were requested.");
    expect(400, "invalid_scope", token(vec![cc, ("scope", "okta.apps.manage")], Some(OKTA_OLD)).await.unwrap()).await;
    expect(
        400,
        "invalid_request",
        token(vec![cc, ("scope", "keyturn.verify"), ("client_secret", OKTA_OLD)], Some(OKTA_OLD)).await.unwrap(),
    )
    .await;
    expect(
        400,
        "unsupported_grant_type",
        token(vec![("grant_type", "password"), ("scope", "keyturn.verify")], Some(OKTA_OLD)).await.unwrap(),
    )
    .await;

    // The org authorization server takes no client secret for client credentials.
    let (s, b) = okta_token(&http, &url, "", OKTA_OLD).await;
    assert_eq!(s, 401);
    assert_eq!(b["error"], "invalid_client");
    // An authorization server that does not exist.
    let (s, _) = okta_token(&http, &url, "aus-missing", OKTA_OLD).await;
    assert_eq!(s, 404);
    // `default` exists in every org, with no custom scope until one is added.
    let (s, b) = okta_token(&http, &url, "default", OKTA_OLD).await;
    assert_eq!((s.as_u16(), b["error"].as_str()), (400, Some("invalid_scope")));
}

#[tokio::test]
async fn okta_a_new_secret_can_be_made_to_replicate_before_it_signs_in() {
    let url = start().await;
    let http = Client::new();
    seed_okta(&http, &url, json!([{"secret": OKTA_OLD}])).await;
    let r = http
        .put(format!("{url}/_sim/okta/oauth-apps/0oa1/propagation"))
        .json(&json!({"requests": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, created) = okta(&http, reqwest::Method::POST, &url, "/credentials/secrets", None).await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(okta_token(&http, &url, "aus1", &secret).await.0, 401);
    assert_eq!(okta_token(&http, &url, "aus1", &secret).await.0, 200);
}

/// Faults apply to these routes as to every other (`/_sim/faults`).
#[tokio::test]
async fn faults_reach_the_client_secret_routes() {
    let url = start().await;
    let http = Client::new();
    seed_entra(&http, &url, entra_app("2030-01-01T00:00:00Z")).await;
    http.post(format!("{url}/_sim/faults"))
        .json(&json!({"method": "POST", "path_prefix": "/graph/v1.0/applications/", "status": 429, "retry_after": 2, "times": 1}))
        .send()
        .await
        .unwrap();
    let r = http
        .post(format!("{url}/graph/v1.0/applications/obj-1/addPassword"))
        .bearer_auth(GRAPH)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    let (_, app) = graph(&http, reqwest::Method::GET, &url, "/applications/obj-1", None).await;
    assert_eq!(app["passwordCredentials"].as_array().unwrap().len(), 1, "a faulted request writes nothing");
    let r = http
        .post(format!("{url}/graph/v1.0/applications/obj-1/addPassword"))
        .bearer_auth(GRAPH)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Every client-secret operation of the committed spec excerpt (those with a
/// `kind`) is served at its documented method and path and answers its
/// documented success status to a documented request.
#[tokio::test]
async fn the_simulator_serves_the_documented_client_secret_operations() {
    let url = start().await;
    let http = Client::new();
    seed_entra(&http, &url, entra_app("2030-01-01T00:00:00Z")).await;
    seed_okta(&http, &url, json!([{"secret": OKTA_OLD, "id": "ocsA"}, {"secret": "second-okta-secret-0123", "id": "ocsB", "status": "INACTIVE"}]))
        .await;
    let spec: Value = serde_json::from_str(include_str!("../spec/operations.json")).unwrap();
    let mut seen = std::collections::HashSet::new();
    for op in spec["operations"].as_array().unwrap().iter().filter(|op| op.get("kind").is_some()) {
        let (method, path) = (op["method"].as_str().unwrap(), op["path"].as_str().unwrap());
        let concrete = path
            .replace("{id}", "obj-1")
            .replace("{appId}", if op["vendor"] == "graph" { "client-1" } else { "0oa1" })
            .replace("{secretId}", "ocsB")
            .replace("{tenant}", "t1")
            .replace("{authorizationServerId}", "aus1");
        let prefix = match op["vendor"].as_str().unwrap() {
            "graph" => "/graph/v1.0",
            "entra-login" => "/login",
            "okta" | "okta-oauth" => "/okta",
            other => panic!("unknown vendor {other}"),
        };
        let mut req = http.request(method.parse().unwrap(), format!("{url}{prefix}{concrete}"));
        req = match (op["vendor"].as_str().unwrap(), path.rsplit('/').next().unwrap()) {
            ("graph", "addPassword") => {
                req.bearer_auth(GRAPH).json(&json!({"passwordCredential": {"displayName": "x"}}))
            }
            ("graph", "removePassword") => {
                req.bearer_auth(GRAPH).json(&json!({"keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6"}))
            }
            ("graph", _) => req.bearer_auth(GRAPH),
            ("entra-login", _) => req.form_body(&[
                ("client_id", "client-1"),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_secret", OLD),
                ("grant_type", "client_credentials"),
            ]),
            ("okta", _) => req.header("authorization", "SSWS api-token"),
            ("okta-oauth", _) => req
                .basic_auth("0oaclient1", Some(OKTA_OLD))
                .form_body(&[("grant_type", "client_credentials"), ("scope", "keyturn.verify")]),
            (other, _) => panic!("unknown vendor {other}"),
        };
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        assert_eq!(
            u64::from(status),
            op["success"].as_u64().unwrap(),
            "{method} {path} ({}): {}",
            op["source"],
            r.text().await.unwrap()
        );
        seen.insert(op["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 2, "both kinds have operations in the excerpt");
}

/// "List all applications": `limit` within 1–200, an opaque `after`, and the
/// next page named by the `Link` header only while more remain.
#[tokio::test]
async fn okta_lists_apps_in_pages_linked_by_the_link_header() {
    let url = start().await;
    let http = Client::new();
    seed_okta(&http, &url, json!([{"secret": OKTA_OLD, "id": "ocsA"}])).await;
    let r = http
        .put(format!("{url}/_sim/okta/oauth-apps/0oa2"))
        .json(&json!({"client_id": "0oaclient2", "secrets": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list =
        |q: &str| http.get(format!("{url}/okta/api/v1/apps{q}")).header("authorization", "SSWS api-token").send();
    let r = list("?limit=1").await.unwrap();
    assert_eq!(r.status(), 200);
    let link = r.headers().get("link").unwrap().to_str().unwrap().to_owned();
    assert!(
        link.contains(r#"rel="self""#)
            && link.contains(&format!(r#"<{url}/okta/api/v1/apps?after=0oa1&limit=1>; rel="next""#)),
        "{link}"
    );
    let page: Value = r.json().await.unwrap();
    assert_eq!(page[0]["id"], "0oa1");
    assert_eq!(page[0]["credentials"]["oauthClient"]["client_id"], "0oaclient1");
    let r = list("?after=0oa1&limit=1").await.unwrap();
    assert!(!r.headers().get("link").unwrap().to_str().unwrap().contains("next"), "the last page");
    let page: Value = r.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 1);
    for bad in ["?limit=0", "?limit=201", "?after=nope", "?filter=x"] {
        let (status, body) = {
            let r = list(bad).await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        };
        assert_okta_error(status, &body, 400, "E0000001", None);
    }
    let r = http.get(format!("{url}/okta/api/v1/apps")).send().await.unwrap();
    assert_eq!(r.status(), 401, "an API token is required");
}
