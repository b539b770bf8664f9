//! `okta-client-secret` connectors: an OAuth app's client secrets, added,
//! deactivated and deleted through the Management API with keyturn's own
//! API token (`/api/v1/apps/{appId}/credentials/secrets`), and proved by a
//! client-credentials token request to the connector's custom authorization
//! server, signed with the secret itself (`client_secret_basic`). The calls
//! and what no document states are in docs/vendors.md ("Okta OAuth app client
//! secrets").

use std::time::{Duration, Instant};

use serde_json::Value;

use super::parse::json;
use super::vendor::{send, send_oauth, OAuthRefusal, CALL_TIMEOUT};
use super::{vendor_url, AppSecretPolicy, Okta};
use keyturn_app::rotation::{StoredKey, VendorError};
use keyturn_domain::destination::{Part::Lit, Part::Val, Url};
use keyturn_domain::{ClientApp, Connector, SecretValue};

const SERVICE: &str = "okta";
/// Okta keeps at most two secrets per client.
const MAX_SECRETS: usize = 2;
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

struct App<'a> {
    app_id: &'a str,
    client_id: &'a str,
    auth_server_id: &'a str,
    scope: &'a str,
}

fn app(c: &Connector) -> Result<App<'_>, VendorError> {
    match &c.client_app {
        Some(ClientApp::Okta { app_id, client_id, auth_server_id, scope }) => {
            Ok(App { app_id, client_id, auth_server_id, scope })
        }
        _ => Err(rejected(
            "OAuthApp",
            format!("connector {}: app_id, client_id, auth_server_id and scope are not set", c.id),
        )),
    }
}

fn rejected(operation: &'static str, detail: String) -> VendorError {
    VendorError::Rejected { service: SERVICE, operation, detail }
}

fn unknown_app(c: &Connector, a: &App<'_>, e: VendorError) -> VendorError {
    match e {
        VendorError::Refused { status: 404, operation, body, .. } => rejected(
            operation,
            format!("connector {}: app_id {}: no such app in Okta (HTTP 404: {body})", c.id, a.app_id),
        ),
        other => other,
    }
}

fn secrets_url(okta: &Okta, operation: &'static str, a: &App<'_>, rest: &[&str]) -> Result<Url, VendorError> {
    let mut parts = vec![Lit("api/v1/apps"), Val("app_id", a.app_id), Lit("credentials/secrets")];
    if let [id, more @ ..] = rest {
        parts.push(Val("secret_id", id));
        parts.extend(more.iter().map(|m| Lit(m)));
    }
    vendor_url(SERVICE, operation, okta.domain(), &parts)
}

/// One client secret as Okta lists it: its id and status (its value is
/// never read from a listing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    pub id: String,
    pub active: bool,
}

/// `GET /api/v1/apps/{appId}/credentials/secrets`.
pub async fn secrets(okta: &Okta, c: &Connector) -> Result<Vec<ClientSecret>, VendorError> {
    let a = app(c)?;
    let req = okta
        .http()
        .get(secrets_url(okta, "ListSecrets", &a, &[])?)
        .header(reqwest::header::AUTHORIZATION, okta.ssws())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(CALL_TIMEOUT);
    let (_, body) = send(SERVICE, "ListSecrets", req).await.map_err(|e| unknown_app(c, &a, e))?;
    let v = json(SERVICE, "ListSecrets", &body)?;
    let list = v.as_array().ok_or_else(|| {
        rejected("ListSecrets", format!("connector {}: Okta's answer is not a list of client secrets", c.id))
    })?;
    list.iter()
        .map(|x| match (x["id"].as_str(), x["status"].as_str()) {
            (Some(id), Some(status)) => Ok(ClientSecret { id: id.to_owned(), active: status == "ACTIVE" }),
            _ => Err(rejected("ListSecrets", format!("connector {}: a client secret without id or status", c.id))),
        })
        .collect()
}

/// `POST /api/v1/apps/{appId}/credentials/secrets` with `{}` (Okta generates
/// the secret; its value is in this answer only). Okta keeps two secrets at
/// most: with two already, both may be in use and keyturn deletes neither.
pub async fn create(okta: &Okta, c: &Connector) -> Result<StoredKey, VendorError> {
    let a = app(c)?;
    let held = secrets(okta, c).await?;
    if held.len() >= MAX_SECRETS {
        return Err(rejected(
            "CreateSecret",
            format!(
                "connector {}: app_id {} already has {} client secrets ({}), Okta's maximum; keyturn deletes none it \
                 did not create: deactivate and delete the unused one in Okta's Admin Console",
                c.id,
                a.app_id,
                held.len(),
                held.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let req = okta
        .http()
        .post(secrets_url(okta, "CreateSecret", &a, &[])?)
        .header(reqwest::header::AUTHORIZATION, okta.ssws())
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&serde_json::json!({}))
        .timeout(CALL_TIMEOUT);
    let (_, body) = send(SERVICE, "CreateSecret", req).await.map_err(|e| unknown_app(c, &a, e))?;
    let v: Value = json(SERVICE, "CreateSecret", &body)?;
    let field = |name: &str| v[name].as_str().filter(|s| !s.is_empty());
    let missing =
        |name: &str| rejected("CreateSecret", format!("connector {}: Okta's create answer has no {name}", c.id));
    let id = field("id").ok_or_else(|| missing("id"))?;
    let secret = field("client_secret").ok_or_else(|| missing("client_secret"))?;
    // Okta's client secrets carry no expiry: the date to rotate by is the inventory's.
    Ok(StoredKey { value: SecretValue::new(secret), key_id: Some(id.to_owned()), expires_at: None })
}

/// `…/{secretId}/lifecycle/deactivate`, then `DELETE …/{secretId}`. A refusal
/// is settled by the listing: a secret no longer listed is gone.
pub async fn revoke(okta: &Okta, c: &Connector, secret_id: &str) -> Result<(), VendorError> {
    let a = app(c)?;
    let deactivate = okta
        .http()
        .post(secrets_url(okta, "DeactivateSecret", &a, &[secret_id, "lifecycle/deactivate"])?)
        .header(reqwest::header::AUTHORIZATION, okta.ssws())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(CALL_TIMEOUT);
    if let Err(e) = send(SERVICE, "DeactivateSecret", deactivate).await {
        match (&e, secrets(okta, c).await?.iter().find(|s| s.id == secret_id)) {
            (_, None) => return Ok(()),
            (VendorError::Refused { .. }, Some(s)) if !s.active => {}
            _ => return Err(unknown_app(c, &a, e)),
        }
    }
    let delete = okta
        .http()
        .delete(secrets_url(okta, "DeleteSecret", &a, &[secret_id])?)
        .header(reqwest::header::AUTHORIZATION, okta.ssws())
        .timeout(CALL_TIMEOUT);
    match send(SERVICE, "DeleteSecret", delete).await {
        Ok(_) => Ok(()),
        Err(e @ VendorError::Refused { .. }) => {
            if secrets(okta, c).await?.iter().any(|s| s.id == secret_id) {
                Err(e)
            } else {
                Ok(())
            }
        }
        Err(e) => Err(e),
    }
}

/// `POST {domain}/oauth2/{authServerId}/v1/token`, `Authorization: Basic
/// client_id:secret`, form `grant_type=client_credentials&scope=…`.
async fn token_request(
    okta: &Okta,
    a: &App<'_>,
    secret: &SecretValue,
) -> Result<Result<(), OAuthRefusal>, VendorError> {
    let url = vendor_url(
        SERVICE,
        "AppToken",
        okta.domain(),
        &[Lit("oauth2"), Val("auth_server_id", a.auth_server_id), Lit("v1/token")],
    )?;
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("scope", a.scope)
        .finish();
    let req = okta
        .http()
        .post(url)
        .basic_auth(a.client_id, Some(secret.expose()))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(form)
        .timeout(CALL_TIMEOUT);
    match send_oauth(SERVICE, "AppToken", req).await? {
        Ok(body) => match json(SERVICE, "AppToken", &body)?["access_token"].as_str() {
            Some(_) => Ok(Ok(())),
            None => Err(rejected("AppToken", "answer without access_token".into())),
        },
        Err(r) => Ok(Err(r)),
    }
}

/// Proves `key` signs in as the app. Whether a new secret needs time is not
/// documented: `invalid_client` is retried within `policy.propagation` as for
/// Entra; a wrong server or scope is configuration, failed at once.
pub async fn probe(okta: &Okta, policy: &AppSecretPolicy, c: &Connector, key: &StoredKey) -> Result<(), VendorError> {
    let a = app(c)?;
    let started = Instant::now();
    let mut wait = FIRST_BACKOFF;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let r = match token_request(okta, &a, &key.value).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(r)) => r,
            Err(VendorError::Refused { status: 404, body, .. }) => {
                return Err(rejected(
                    "AppToken",
                    format!(
                        "connector {}: auth_server_id {}: no such authorization server (HTTP 404: {body})",
                        c.id, a.auth_server_id
                    ),
                ))
            }
            Err(e) => return Err(e),
        };
        if r.error == "invalid_client" && started.elapsed() + wait <= policy.propagation {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_BACKOFF);
            continue;
        }
        let why = match r.error.as_str() {
            "invalid_client" => format!(
                "the client secret was refused in {attempts} token request(s) over {} s",
                started.elapsed().as_secs()
            ),
            "invalid_scope" => {
                format!("scope {}: not a scope auth_server_id {} grants this app", a.scope, a.auth_server_id)
            }
            _ => "the token request was refused".to_owned(),
        };
        return Err(rejected(
            "AppToken",
            format!("connector {}: {why} ({} (HTTP {}): {})", c.id, r.error, r.status, r.description),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answers;
    use super::*;
    use keyturn_domain::{ConnectorId, ConnectorKind};

    const NEW_SECRET: &str = "okta-new-secret-0123456789abcdef";

    fn connector() -> Connector {
        Connector {
            id: ConnectorId::parse("okta/app/ci").unwrap(),
            kind: ConnectorKind::OktaClientSecret,
            org: "acme".into(),
            directory_id: None,
            app_id: Some("0oaapp".into()),
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
            client_app: Some(ClientApp::Okta {
                app_id: "0oaapp".into(),
                client_id: "0oaclient".into(),
                auth_server_id: "aus1".into(),
                scope: "keyturn.verify other".into(),
            }),
            overlap_seconds: None,
            active_change: None,
        }
    }

    fn okta(url: &str) -> Okta {
        Okta::new(reqwest::Client::new(), url, SecretValue::new("fake-ssws-token-123"))
    }

    fn json_answer(status: u16, body: &str) -> (u16, Vec<String>, String) {
        (status, vec!["content-type: application/json".into()], body.into())
    }

    /// The secret goes as HTTP Basic (client_secret_basic), never also in the
    /// body (Okta refuses both); the scope and grant are form fields.
    #[tokio::test]
    async fn the_token_request_is_basic_with_a_form_and_a_refusal_never_carries_the_secret() {
        let refusal = json_answer(
            401,
            r#"{"error":"invalid_client","error_description":"The client secret supplied for a confidential client is invalid."}"#,
        );
        let (url, mut seen) = answers(vec![
            refusal,
            json_answer(200, r#"{"token_type":"Bearer","access_token":"at","expires_in":3600}"#),
        ])
        .await;
        let policy = AppSecretPolicy { lifetime: time::Duration::days(1), propagation: Duration::from_secs(5) };
        let key = StoredKey::new(SecretValue::new(NEW_SECRET));
        probe(&okta(&url), &policy, &connector(), &key).await.unwrap();
        let req = seen.recv().await.unwrap();
        assert!(req.starts_with("POST /oauth2/aus1/v1/token "), "{req}");
        let basic = format!("authorization: basic {}", base64_of(&format!("0oaclient:{NEW_SECRET}")));
        assert!(req.to_ascii_lowercase().contains(&basic.to_ascii_lowercase()), "{req}");
        assert!(req.contains("grant_type=client_credentials&scope=keyturn.verify+other"), "{req}");
        assert!(!req.contains("client_secret="), "never in the body as well: {req}");
        assert!(!req.to_ascii_lowercase().contains("ssws"), "the app's own secret, not keyturn's token");

        let (url, _) = answers(vec![json_answer(401, r#"{"error":"invalid_client","error_description":"bad"}"#)]).await;
        let no_wait = AppSecretPolicy { propagation: Duration::ZERO, ..policy };
        let e = probe(&okta(&url), &no_wait, &connector(), &key).await.unwrap_err().to_string();
        assert!(e.contains("connector okta/app/ci: the client secret was refused") && !e.contains(NEW_SECRET), "{e}");
    }

    #[tokio::test]
    async fn create_takes_the_value_from_the_create_answer_and_stops_at_two_secrets() {
        let (url, mut seen) = answers(vec![
            json_answer(200, r#"[{"id":"ocsold","status":"ACTIVE","client_secret":"****"}]"#),
            json_answer(201, &format!(r#"{{"id":"ocsnew","status":"ACTIVE","client_secret":"{NEW_SECRET}"}}"#)),
        ])
        .await;
        let key = create(&okta(&url), &connector()).await.unwrap();
        assert_eq!((key.value.expose(), key.key_id.as_deref()), (NEW_SECRET, Some("ocsnew")));
        let _list = seen.recv().await.unwrap();
        let post = seen.recv().await.unwrap();
        assert!(post.starts_with("POST /api/v1/apps/0oaapp/credentials/secrets "), "{post}");
        assert!(post.contains("SSWS fake-ssws-token-123") && post.ends_with("{}"), "{post}");

        let (url, _) =
            answers(vec![json_answer(200, r#"[{"id":"ocs1","status":"ACTIVE"},{"id":"ocs2","status":"INACTIVE"}]"#)])
                .await;
        let e = create(&okta(&url), &connector()).await.unwrap_err().to_string();
        assert!(e.contains("app_id 0oaapp already has 2 client secrets (ocs1, ocs2)"), "{e}");
        let (url, _) =
            answers(vec![json_answer(200, "[]"), json_answer(201, r#"{"id":"ocsnew","status":"ACTIVE"}"#)]).await;
        let e = create(&okta(&url), &connector()).await.unwrap_err().to_string();
        assert!(e.contains("connector okta/app/ci: Okta's create answer has no client_secret"), "{e}");
    }

    /// RFC 4648 base64, for the expected Basic header (no dependency for one test).
    fn base64_of(s: &str) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, &x)| n | (u32::from(x) << (16 - 8 * i)));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}
