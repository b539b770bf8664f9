//! Microsoft Entra ID provisioning through Microsoft Graph: save the SCIM
//! secret token, validate candidate and saved credentials, restart a
//! quarantined job.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::json;

use super::vendor::{send, CALL_TIMEOUT};
use super::vendor_url;
use keyturn_app::rotation::VendorError;
use keyturn_domain::destination::{Part, Part::Lit, Part::Val, Url};
use keyturn_domain::SecretValue;

const SERVICE: &str = "entra";

/// `resetScope` of a restart: "QuarantineState - Temporarily lifts the quarantine".
pub(crate) const RESTART_SCOPE: &str = "QuarantineState";

/// How a failed `validateCredentials` answers is undocumented (observed: 400
/// with a Graph error). Any refusal other than keyturn's own access (401/403),
/// a wrong id (404) or throttling is read as "the SCIM endpoint refused these
/// credentials", with Graph's words; never as keyturn being "not authorised".
fn refused_credentials(e: VendorError) -> VendorError {
    match e {
        VendorError::Refused { status, body, .. } if status != 404 => VendorError::Rejected {
            service: SERVICE,
            operation: "ValidateCredentials",
            detail: format!("the SCIM endpoint refused these credentials (Graph HTTP {status}: {body})"),
        },
        VendorError::Refused { status: 404, body, .. } => VendorError::Rejected {
            service: SERVICE,
            operation: "ValidateCredentials",
            detail: format!(
                "no such service principal or synchronization job (HTTP 404: {body}): check idp_app_id and idp_job_id"
            ),
        },
        other => other,
    }
}

/// App registration keyturn uses for Graph (client credentials).
#[derive(Clone)]
pub struct EntraCredentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretValue,
}

impl std::fmt::Debug for EntraCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EntraCredentials({}, {}, <redacted>)", self.tenant_id, self.client_id)
    }
}

#[derive(Debug)]
pub struct Entra {
    http: reqwest::Client,
    /// `https://login.microsoftonline.com`
    login: String,
    /// `https://graph.microsoft.com/v1.0`
    graph: String,
    creds: EntraCredentials,
    /// Graph tokens live an hour; one per sandbox is plenty.
    token: Mutex<Option<(SecretValue, Instant)>>,
}

impl Entra {
    pub fn new(http: reqwest::Client, login: &str, graph: &str, creds: EntraCredentials) -> Self {
        Self {
            http,
            login: login.trim_end_matches('/').to_owned(),
            graph: graph.trim_end_matches('/').to_owned(),
            creds,
            token: Mutex::new(None),
        }
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn graph_base(&self) -> &str {
        &self.graph
    }

    pub(crate) fn login_base(&self) -> &str {
        &self.login
    }

    /// keyturn's own app registration (`keyturn status` reads its secret's
    /// expiry, `inventory discover --self` drafts it).
    pub(crate) fn own_credentials(&self) -> &EntraCredentials {
        &self.creds
    }

    /// An Entra whose Graph token is already cached: tests of other calls.
    #[cfg(test)]
    pub(crate) fn with_token(self, token: &str) -> Self {
        *self.token.lock().unwrap() = Some((SecretValue::new(token), Instant::now() + Duration::from_secs(600)));
        self
    }

    /// keyturn's own Graph token (cached).
    pub(crate) async fn graph_token(&self) -> Result<SecretValue, VendorError> {
        self.token().await
    }

    async fn token(&self) -> Result<SecretValue, VendorError> {
        if let Ok(guard) = self.token.lock() {
            if let Some((t, until)) = guard.as_ref() {
                if Instant::now() < *until {
                    return Ok(t.clone());
                }
            }
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.creds.client_id.as_str()),
            ("client_secret", self.creds.client_secret.expose()),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let body = form.iter().map(|(k, v)| format!("{k}={}", super::percent_encode(v))).collect::<Vec<_>>().join("&");
        let req = self
            .http
            .post(vendor_url(
                SERVICE,
                "GetToken",
                &self.login,
                &[Val("tenant_id", &self.creds.tenant_id), Lit("oauth2/v2.0/token")],
            )?)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "GetToken", req).await?;
        let (token, life) = super::parse::entra_token(&body)?;
        if let Ok(mut guard) = self.token.lock() {
            *guard = Some((token.clone(), Instant::now() + Duration::from_secs(life)));
        }
        Ok(token)
    }

    fn credentials(base_address: &str, key: &SecretValue) -> serde_json::Value {
        json!([{"key": "BaseAddress", "value": base_address}, {"key": "SecretToken", "value": key.expose()}])
    }

    /// `validateCredentials`: a candidate (`key`) or the saved credentials (`None`).
    pub async fn validate(
        &self,
        sp: &str,
        job: &str,
        base_address: &str,
        key: Option<&SecretValue>,
    ) -> Result<(), VendorError> {
        let token = self.token().await?;
        let mut body = json!({"useSavedCredentials": key.is_none()});
        if let Some(k) = key {
            body["credentials"] = Self::credentials(base_address, k);
        }
        let req = self
            .http
            .post(self.graph_url(
                "ValidateCredentials",
                sp,
                &[Lit("jobs"), Val("job_id", job), Lit("validateCredentials")],
            )?)
            .bearer_auth(token.expose())
            .json(&body)
            .timeout(CALL_TIMEOUT);
        send(SERVICE, "ValidateCredentials", req).await.map(|_| ()).map_err(refused_credentials)
    }

    /// `PUT synchronization/secrets`: the job provisions with this key from now on.
    pub async fn save(&self, sp: &str, base_address: &str, key: &SecretValue) -> Result<(), VendorError> {
        let token = self.token().await?;
        let req = self
            .http
            .put(self.graph_url("SaveSecrets", sp, &[Lit("secrets")])?)
            .bearer_auth(token.expose())
            .json(&json!({"value": Self::credentials(base_address, key)}))
            .timeout(CALL_TIMEOUT);
        send(SERVICE, "SaveSecrets", req).await.map(|_| ())
    }

    /// `{graph}/servicePrincipals/{sp}/synchronization/{rest}`, every id one segment.
    fn graph_url(&self, operation: &'static str, sp: &str, rest: &[Part<'_>]) -> Result<Url, VendorError> {
        let mut parts = vec![Lit("servicePrincipals"), Val("service_principal_id", sp), Lit("synchronization")];
        parts.extend_from_slice(rest);
        vendor_url(SERVICE, operation, &self.graph, &parts)
    }

    /// The provisioning job's status code (`Active`, `Quarantine`, …).
    pub async fn job_status(&self, sp: &str, job: &str) -> Result<String, VendorError> {
        let token = self.token().await?;
        let url = self.graph_url("GetJob", sp, &[Lit("jobs"), Val("job_id", job)])?;
        let req = self.http.get(url).bearer_auth(token.expose()).timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "GetJob", req).await?;
        super::parse::entra_job_status(&body)
    }

    /// Restarts the job if it is quarantined (an expired key quarantines it).
    pub async fn unquarantine(&self, sp: &str, job: &str) -> Result<bool, VendorError> {
        if self.job_status(sp, job).await? != "Quarantine" {
            return Ok(false);
        }
        let token = self.token().await?;
        let url = self.graph_url("RestartJob", sp, &[Lit("jobs"), Val("job_id", job), Lit("restart")])?;
        let req = self
            .http
            .post(url)
            .bearer_auth(token.expose())
            // The narrowest documented scope that lifts a quarantine; never
            // `Full`, which includes ForceDeletes and the DO-NOT-USE
            // ConnectorDataStore (synchronizationJobRestartCriteria).
            .json(&json!({"criteria": {"resetScope": RESTART_SCOPE}}))
            .timeout(CALL_TIMEOUT);
        send(SERVICE, "RestartJob", req).await.map(|_| true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answer;
    use super::*;

    #[test]
    fn ids_are_one_encoded_segment() {
        let creds = EntraCredentials {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: SecretValue::new("fake-client-secret"),
        };
        let e = Entra::new(reqwest::Client::new(), "https://login.example", "https://graph.example/v1.0", creds);
        let u = e.graph_url("GetJob", "sp/../../users", &[Lit("jobs"), Val("job_id", "j?x=1#f")]).unwrap();
        assert_eq!(
            u.as_str(),
            "https://graph.example/v1.0/servicePrincipals/sp%2F..%2F..%2Fusers/synchronization/jobs/j%3Fx=1%23f"
        );
        assert!(e.graph_url("GetJob", "..", &[]).is_err());
    }

    async fn entra_at(url: &str) -> Entra {
        let e = Entra::new(
            reqwest::Client::new(),
            url,
            url,
            EntraCredentials {
                tenant_id: "t".into(),
                client_id: "c".into(),
                client_secret: SecretValue::new("client-secret-xyz"),
            },
        );
        // A cached token: these tests are about the Graph call, not the token endpoint.
        *e.token.lock().unwrap() = Some((SecretValue::new("graph-token"), Instant::now() + Duration::from_secs(60)));
        e
    }

    #[tokio::test]
    async fn a_failed_validation_is_the_scim_endpoints_refusal_not_ours() {
        for status in [400, 409, 422] {
            let body = r#"{"error":{"code":"CredentialValidationUnavailable","message":"The SCIM endpoint rejected the credentials."}}"#;
            let (url, _) = answer(status, &[("content-type", "application/json")], body).await;
            let err = entra_at(&url)
                .await
                .validate(
                    "sp",
                    "job",
                    "https://api.atlassian.com/scim/directory/d",
                    Some(&SecretValue::new("scim-key-0123456789")),
                )
                .await
                .unwrap_err();
            let text = err.to_string();
            assert!(!text.contains("not authorised"), "{status}: {text}");
            assert!(
                text.contains("refused these credentials") && text.contains("CredentialValidationUnavailable"),
                "{text}"
            );
            assert!(!text.contains("scim-key-0123456789"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_quarantined_job_is_restarted_with_the_narrowest_scope() {
        let (url, mut seen) = super::super::vendor::tests::answers(vec![
            (
                200,
                vec!["content-type: application/json".into()],
                r#"{"id":"job","status":{"code":"Quarantine"}}"#.into(),
            ),
            (204, vec![], String::new()),
        ])
        .await;
        assert!(entra_at(&url).await.unquarantine("sp", "job").await.unwrap(), "restarted");
        let _get = seen.recv().await.unwrap();
        let restart = seen.recv().await.unwrap();
        assert!(restart.starts_with("POST /servicePrincipals/sp/synchronization/jobs/job/restart "), "{restart}");
        assert!(restart.contains(r#""resetScope":"QuarantineState""#), "{restart}");
        assert!(!restart.contains("Full"), "never Full (it includes DO-NOT-USE scopes): {restart}");
    }
}
