//! `entra-app-secret` connectors: an app registration's client secrets,
//! added and removed through Microsoft Graph with keyturn's own Graph token
//! (`addPassword`, `removePassword`, the app's `passwordCredentials`), and
//! proved by the identity platform's client-credentials token request signed
//! with the secret itself. The calls and what no document states are in
//! docs/vendors.md ("Entra app registration client secrets").

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::parse::json;
use super::vendor::{send, send_oauth, OAuthRefusal, CALL_TIMEOUT};
use super::{vendor_url, AppSecretPolicy, Entra};
use keyturn_app::rotation::{StoredKey, VendorError};
use keyturn_domain::destination::{Part::Lit, Part::Val, Url};
use keyturn_domain::timefmt::{format_utc, parse_instant};
use keyturn_domain::{ClientApp, Connector, SecretValue};

const SERVICE: &str = "entra";

/// AADSTS7000215, "Invalid client secret provided": also what a secret that
/// has not replicated yet gets (docs/vendors.md).
const INVALID_SECRET: u64 = 7_000_215;
const EXPIRED_SECRET: u64 = 7_000_222;
const APP_NOT_IN_TENANT: u64 = 700_016;
const UNKNOWN_TENANT: u64 = 90_002;

/// Longest wait between two token requests while a new secret replicates.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The three ids of the connector's app registration.
struct App<'a> {
    tenant_id: &'a str,
    object_id: &'a str,
    client_id: &'a str,
}

fn app(c: &Connector) -> Result<App<'_>, VendorError> {
    match &c.client_app {
        Some(ClientApp::Entra { tenant_id, application_object_id, client_id }) => {
            Ok(App { tenant_id, object_id: application_object_id, client_id })
        }
        _ => Err(VendorError::Rejected {
            service: SERVICE,
            operation: "AppRegistration",
            detail: format!("connector {}: tenant_id, application_object_id and client_id are not set", c.id),
        }),
    }
}

fn rejected(operation: &'static str, detail: String) -> VendorError {
    VendorError::Rejected { service: SERVICE, operation, detail }
}

/// Graph's 404 is a wrong id in the inventory: said with the field to fix.
fn unknown_app(c: &Connector, a: &App<'_>, e: VendorError) -> VendorError {
    match e {
        VendorError::Refused { status: 404, operation, body, .. } => rejected(
            operation,
            format!(
                "connector {}: application_object_id {}: no such application in Graph (HTTP 404: {body})",
                c.id, a.object_id
            ),
        ),
        other => other,
    }
}

fn app_url(entra: &Entra, operation: &'static str, object_id: &str, action: Option<&str>) -> Result<Url, VendorError> {
    let mut parts = vec![Lit("applications"), Val("application_object_id", object_id)];
    if let Some(action) = action {
        parts.push(Lit(action));
    }
    vendor_url(SERVICE, operation, entra.graph_base(), &parts)
}

/// One of the app's passwords as Graph lists it (never with its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPassword {
    pub key_id: String,
    pub display_name: Option<String>,
    pub end: Option<String>,
}

/// `GET /applications/{id}?$select=id,appId,passwordCredentials`: the app's
/// passwords, after checking that the app is the one the inventory names
/// (its `appId` is the connector's `client_id`).
pub async fn passwords(entra: &Entra, c: &Connector) -> Result<Vec<AppPassword>, VendorError> {
    let a = app(c)?;
    let token = entra.graph_token().await?;
    let mut url = app_url(entra, "GetApplication", a.object_id, None)?;
    url.query_pairs_mut().append_pair("$select", "id,appId,passwordCredentials");
    let req = entra.http().get(url).bearer_auth(token.expose()).timeout(CALL_TIMEOUT);
    let (_, body) = send(SERVICE, "GetApplication", req).await.map_err(|e| unknown_app(c, &a, e))?;
    let v = json(SERVICE, "GetApplication", &body)?;
    if let Some(app_id) = v["appId"].as_str() {
        if !app_id.eq_ignore_ascii_case(a.client_id) {
            return Err(rejected(
                "GetApplication",
                format!(
                    "connector {}: client_id {} is not the application (client) id of application_object_id {} \
                     (Graph says {})",
                    c.id,
                    a.client_id,
                    a.object_id,
                    keyturn_domain::excerpt(app_id)
                ),
            ));
        }
    }
    let creds = v["passwordCredentials"].as_array().ok_or_else(|| {
        rejected("GetApplication", format!("connector {}: Graph's answer has no passwordCredentials", c.id))
    })?;
    creds
        .iter()
        .map(|p| {
            let key_id = p["keyId"].as_str().ok_or_else(|| {
                rejected("GetApplication", format!("connector {}: a passwordCredential without keyId", c.id))
            })?;
            Ok(AppPassword {
                key_id: key_id.to_owned(),
                display_name: p["displayName"].as_str().map(str::to_owned),
                end: p["endDateTime"].as_str().map(str::to_owned),
            })
        })
        .collect()
}

/// `POST /applications/{id}/addPassword` with `displayName` = the rotation's
/// label (so a retried step finds a password it created and lost) and
/// `endDateTime` = now + the configured lifetime. The value (`secretText`)
/// is returned only here, once: it goes into the [`StoredKey`] and nowhere else.
pub async fn create(
    entra: &Entra,
    policy: &AppSecretPolicy,
    c: &Connector,
    label: &str,
) -> Result<StoredKey, VendorError> {
    let a = app(c)?;
    let token = entra.graph_token().await?;
    let end = format_utc(time::OffsetDateTime::now_utc() + policy.lifetime);
    let req = entra
        .http()
        .post(app_url(entra, "AddPassword", a.object_id, Some("addPassword"))?)
        .bearer_auth(token.expose())
        .json(&json!({"passwordCredential": {"displayName": label, "endDateTime": end}}))
        .timeout(CALL_TIMEOUT);
    let (_, body) = send(SERVICE, "AddPassword", req).await.map_err(|e| unknown_app(c, &a, e))?;
    let v: Value = json(SERVICE, "AddPassword", &body)?;
    let field = |name: &str| v[name].as_str().filter(|s| !s.is_empty());
    let missing = |name: &str| {
        rejected(
            "AddPassword",
            format!(
                "connector {}: Graph's addPassword answer has no {name}; a password named {label:?} may exist \
                 (the next attempt removes it)",
                c.id
            ),
        )
    };
    let key_id = field("keyId").ok_or_else(|| missing("keyId"))?;
    let secret = field("secretText").ok_or_else(|| missing("secretText"))?;
    // Graph's own end, normalised; ours if it sent none keyturn can read.
    let expires = field("endDateTime").and_then(parse_instant).map(format_utc).unwrap_or(end);
    Ok(StoredKey { value: SecretValue::new(secret), key_id: Some(key_id.to_owned()), expires_at: Some(expires) })
}

/// Passwords named `label`: created by an attempt that died before storing one.
pub async fn leftovers(entra: &Entra, c: &Connector, label: &str) -> Result<Vec<String>, VendorError> {
    Ok(passwords(entra, c)
        .await?
        .into_iter()
        .filter(|p| p.display_name.as_deref() == Some(label))
        .map(|p| p.key_id)
        .collect())
}

/// `POST /applications/{id}/removePassword {keyId}`. Graph's answer for a
/// keyId the app no longer has is undocumented, so a 4xx is settled by
/// re-reading the app: gone is removed, listed is the error.
pub async fn revoke(entra: &Entra, c: &Connector, key_id: &str) -> Result<(), VendorError> {
    let a = app(c)?;
    let token = entra.graph_token().await?;
    let req = entra
        .http()
        .post(app_url(entra, "RemovePassword", a.object_id, Some("removePassword"))?)
        .bearer_auth(token.expose())
        .json(&json!({"keyId": key_id}))
        .timeout(CALL_TIMEOUT);
    match send(SERVICE, "RemovePassword", req).await {
        Ok(_) => Ok(()),
        Err(e @ VendorError::Refused { .. }) => {
            if passwords(entra, c).await?.iter().any(|p| p.key_id.eq_ignore_ascii_case(key_id)) {
                Err(unknown_app(c, &a, e))
            } else {
                Ok(())
            }
        }
        Err(e) => Err(e),
    }
}

/// The token request a client of this app makes: `POST
/// {login}/{tenant}/oauth2/v2.0/token`, form `client_id`, `client_secret`,
/// `scope=https://graph.microsoft.com/.default`, `grant_type=client_credentials`.
async fn token_request(
    entra: &Entra,
    a: &App<'_>,
    secret: &SecretValue,
) -> Result<Result<(), OAuthRefusal>, VendorError> {
    let url = vendor_url(
        SERVICE,
        "AppToken",
        entra.login_base(),
        &[Val("tenant_id", a.tenant_id), Lit("oauth2/v2.0/token")],
    )?;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", a.client_id)
        .append_pair("client_secret", secret.expose())
        .append_pair("scope", "https://graph.microsoft.com/.default")
        .append_pair("grant_type", "client_credentials")
        .finish();
    let req = entra
        .http()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .timeout(CALL_TIMEOUT);
    match send_oauth(SERVICE, "AppToken", req).await? {
        Ok(body) => super::parse::entra_token(&body).map(|_| Ok(())),
        Err(refusal) => Ok(Err(refusal)),
    }
}

/// Proves `key` signs in as the app. A new secret is refused as invalid
/// (AADSTS7000215) until it has replicated, for an undocumented time: that
/// refusal is retried with growing waits for at most `policy.propagation`;
/// every other refusal fails at once, named.
pub async fn probe(entra: &Entra, policy: &AppSecretPolicy, c: &Connector, key: &StoredKey) -> Result<(), VendorError> {
    let a = app(c)?;
    let started = Instant::now();
    let mut wait = FIRST_BACKOFF;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let refusal = match token_request(entra, &a, &key.value).await? {
            Ok(()) => return Ok(()),
            Err(r) => r,
        };
        let propagating = refusal.codes.contains(&INVALID_SECRET);
        if propagating && started.elapsed() + wait <= policy.propagation {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_BACKOFF);
            continue;
        }
        return Err(refused(c, &a, &refusal, attempts, started.elapsed()));
    }
}

/// A token refusal in the operator's terms: which inventory field to check.
fn refused(c: &Connector, a: &App<'_>, r: &OAuthRefusal, attempts: u32, waited: Duration) -> VendorError {
    let codes: Vec<String> = r.codes.iter().map(|c| format!("AADSTS{c}")).collect();
    let said = format!("{} {} (HTTP {}): {}", r.error, codes.join(","), r.status, r.description);
    let why = if r.codes.contains(&INVALID_SECRET) {
        format!(
            "the client secret was refused as invalid in {attempts} token request(s) over {} s (not replicated \
             yet, or not this app's secret)",
            waited.as_secs()
        )
    } else if r.codes.contains(&EXPIRED_SECRET) {
        "the client secret has expired".to_owned()
    } else if r.codes.contains(&APP_NOT_IN_TENANT) {
        format!("client_id {}: no such application in tenant_id {}", a.client_id, a.tenant_id)
    } else if r.codes.contains(&UNKNOWN_TENANT) {
        format!("tenant_id {}: no such tenant", a.tenant_id)
    } else {
        "the token request was refused".to_owned()
    };
    rejected("AppToken", format!("connector {}: {why} ({said})", c.id))
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answers;
    use super::super::EntraCredentials;
    use super::*;
    use keyturn_domain::{ConnectorId, ConnectorKind};

    const OBJECT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    const CLIENT: &str = "0f0f0f0f-1234-5678-9abc-def012345678";
    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const NEW_SECRET: &str = "new-app-secret~0123456789abcdef";

    fn connector() -> Connector {
        Connector {
            id: ConnectorId::parse("entra/app/payroll").unwrap(),
            kind: ConnectorKind::EntraAppSecret,
            org: "contoso".into(),
            directory_id: None,
            app_id: None,
            idp: keyturn_domain::IdpBinding::None,
            owner: "owner@example.com".into(),
            approver_group: "it-change".into(),
            change_window: None,
            secret_arn: keyturn_domain::SecretArn::parse("arn:aws:secretsmanager:eu-west-1:123456789012:secret:app")
                .unwrap(),
            expires_at: time::macros::datetime!(2026-12-01 00:00 UTC),
            status: keyturn_domain::ConnectorStatus::Active,
            version: 1,
            last_rotated_at: None,
            scim_base: None,
            vendor: None,
            console_url: None,
            old_key_survives: None,
            http_template: None,
            client_app: Some(ClientApp::Entra {
                tenant_id: TENANT.into(),
                application_object_id: OBJECT.into(),
                client_id: CLIENT.into(),
            }),
            overlap_seconds: None,
            active_change: None,
        }
    }

    fn entra(url: &str) -> Entra {
        let creds = EntraCredentials {
            tenant_id: "keyturn-tenant".into(),
            client_id: "keyturn-client".into(),
            client_secret: SecretValue::new("keyturn-own-secret-123"),
        };
        Entra::new(reqwest::Client::new(), &format!("{url}/login"), &format!("{url}/graph"), creds)
            .with_token("graph-token")
    }

    fn policy(propagation: Duration) -> AppSecretPolicy {
        AppSecretPolicy { lifetime: time::Duration::days(30), propagation }
    }

    fn json_answer(status: u16, body: &str) -> (u16, Vec<String>, String) {
        (status, vec!["content-type: application/json".into()], body.into())
    }

    fn sts(code: u64) -> (u16, Vec<String>, String) {
        json_answer(
            401,
            &format!(
                r#"{{"error":"invalid_client","error_description":"AADSTS{code}: said.\r\nTrace ID: t","error_codes":[{code}]}}"#
            ),
        )
    }

    #[tokio::test]
    async fn add_password_names_the_rotation_and_sets_the_end_and_the_key_id_is_kept() {
        let (url, mut seen) = answers(vec![json_answer(
            200,
            &format!(r#"{{"keyId":"k-new","secretText":"{NEW_SECRET}","hint":"new","endDateTime":"2027-01-02T03:04:05.1234567Z","displayName":"x"}}"#),
        )])
        .await;
        let key = create(&entra(&url), &policy(Duration::ZERO), &connector(), "keyturn chg-1 abc").await.unwrap();
        assert_eq!(key.value.expose(), NEW_SECRET);
        assert_eq!(key.key_id.as_deref(), Some("k-new"));
        assert_eq!(key.expires_at.as_deref(), Some("2027-01-02T03:04:05Z"), "Graph's end, normalised");
        let req = seen.recv().await.unwrap();
        assert!(req.starts_with(&format!("POST /graph/applications/{OBJECT}/addPassword ")), "{req}");
        assert!(req.to_ascii_lowercase().contains("authorization: bearer graph-token"), "keyturn's token: {req}");
        assert!(req.contains(r#""displayName":"keyturn chg-1 abc""#), "{req}");
        let end = (time::OffsetDateTime::now_utc() + time::Duration::days(30)).date().to_string();
        assert!(req.contains(&format!(r#""endDateTime":"{end}T"#)), "now + lifetime: {req}");
    }

    #[tokio::test]
    async fn an_add_password_answer_without_its_fields_or_an_unknown_app_is_named() {
        let (url, _) = answers(vec![json_answer(200, r#"{"keyId":"k-new"}"#)]).await;
        let e = create(&entra(&url), &policy(Duration::ZERO), &connector(), "l").await.unwrap_err().to_string();
        assert!(e.contains("connector entra/app/payroll") && e.contains("no secretText"), "{e}");
        let (url, _) = answers(vec![json_answer(
            404,
            r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource does not exist."}}"#,
        )])
        .await;
        let e = create(&entra(&url), &policy(Duration::ZERO), &connector(), "l").await.unwrap_err().to_string();
        assert!(e.contains(&format!("application_object_id {OBJECT}: no such application")), "{e}");
    }

    /// AADSTS7000215 is what a new secret gets until it has replicated: retried
    /// within the budget, with the secret as a form field and never in an error.
    #[tokio::test]
    async fn a_secret_not_yet_replicated_is_retried_then_accepted() {
        let (url, mut seen) = answers(vec![
            sts(7_000_215),
            sts(7_000_215),
            json_answer(200, r#"{"token_type":"Bearer","expires_in":3599,"access_token":"t"}"#),
        ])
        .await;
        let key = StoredKey::new(SecretValue::new(NEW_SECRET));
        probe(&entra(&url), &policy(Duration::from_secs(5)), &connector(), &key).await.unwrap();
        let req = seen.recv().await.unwrap();
        assert!(req.starts_with(&format!("POST /login/{TENANT}/oauth2/v2.0/token ")), "{req}");
        for part in [
            format!("client_id={CLIENT}"),
            "grant_type=client_credentials".into(),
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default".into(),
            "client_secret=new-app-secret%7E0123456789abcdef".into(),
        ] {
            assert!(req.contains(&part), "{part}: {req}");
        }
        assert!(!req.to_ascii_lowercase().contains("authorization:"), "the app's own secret, not keyturn's token");
    }

    #[tokio::test]
    async fn a_refused_secret_fails_after_the_budget_and_other_codes_at_once() {
        let key = StoredKey::new(SecretValue::new(NEW_SECRET));
        let (url, _) = answers(vec![sts(7_000_215), sts(7_000_215), sts(7_000_215), sts(7_000_215)]).await;
        let e = probe(&entra(&url), &policy(Duration::from_millis(1600)), &connector(), &key).await.unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, VendorError::Rejected { .. }), "a verification failure, not retryable: {e:?}");
        assert!(text.contains("refused as invalid in 3 token request(s)"), "{text}");
        assert!(!text.contains(NEW_SECRET) && !text.contains("Trace ID"), "{text}");
        for (code, said) in [
            (7_000_222, "the client secret has expired".to_owned()),
            (700_016, format!("client_id {CLIENT}: no such application in tenant_id {TENANT}")),
            (90_002, format!("tenant_id {TENANT}: no such tenant")),
        ] {
            let (url, _) = answers(vec![sts(code)]).await;
            let t = probe(&entra(&url), &policy(Duration::from_secs(60)), &connector(), &key).await.unwrap_err();
            assert!(t.to_string().contains(&said) && t.to_string().contains("connector entra/app/payroll"), "{t}");
        }
    }

    /// Graph's answer for a keyId already gone is undocumented: the app is re-read.
    #[tokio::test]
    async fn remove_password_settles_a_refusal_by_reading_the_app() {
        let refusal = json_answer(400, r#"{"error":{"code":"Request_BadRequest","message":"No password"}}"#);
        let app = |ids: &[&str]| {
            let creds: Vec<String> = ids.iter().map(|k| format!(r#"{{"keyId":"{k}","displayName":"d"}}"#)).collect();
            json_answer(
                200,
                &format!(r#"{{"id":"{OBJECT}","appId":"{CLIENT}","passwordCredentials":[{}]}}"#, creds.join(",")),
            )
        };
        let (url, mut seen) = answers(vec![refusal.clone(), app(&["k-other"])]).await;
        revoke(&entra(&url), &connector(), "k-old").await.unwrap();
        let req = seen.recv().await.unwrap();
        assert!(req.starts_with(&format!("POST /graph/applications/{OBJECT}/removePassword ")), "{req}");
        assert!(req.contains(r#"{"keyId":"k-old"}"#), "{req}");
        let (url, _) = answers(vec![refusal, app(&["k-old"])]).await;
        assert!(revoke(&entra(&url), &connector(), "k-old").await.is_err(), "still listed: not removed");
    }

    #[tokio::test]
    async fn the_app_must_be_the_one_the_inventory_names() {
        let (url, _) = answers(vec![json_answer(
            200,
            r#"{"id":"x","appId":"99999999-9999-9999-9999-999999999999","passwordCredentials":[]}"#,
        )])
        .await;
        let e = leftovers(&entra(&url), &connector(), "l").await.unwrap_err().to_string();
        assert!(e.contains(&format!("client_id {CLIENT} is not the application (client) id")), "{e}");
        let (url, _) =
            answers(vec![json_answer(200, r#"{"id":"x","appId":"0F0F0F0F-1234-5678-9ABC-DEF012345678"}"#)]).await;
        let e = leftovers(&entra(&url), &connector(), "l").await.unwrap_err().to_string();
        assert!(e.contains("no passwordCredentials"), "{e}");
    }
}
