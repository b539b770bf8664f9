//! Okta app provisioning connection, read only. Okta documents setting a
//! connection's token by API (`POST …/connections/default`) for Okta Org2Org
//! and Zscaler 2.0 only, and states that other apps' provisioning settings are
//! updated in its Admin UI (docs/vendors.md). So keyturn never sends Okta a
//! token: the key's owner updates it in the console during the hand-over, and
//! keyturn verifies through the SCIM probe and the connection's status.

use super::vendor::{send, CALL_TIMEOUT};
use super::vendor_url;
use keyturn_app::rotation::VendorError;
use keyturn_domain::destination::{Part::Lit, Part::Val, Url};
use keyturn_domain::SecretValue;

const SERVICE: &str = "okta";

#[derive(Clone)]
pub struct Okta {
    http: reqwest::Client,
    /// `https://acme.okta.com`
    domain: String,
    api_token: SecretValue,
    /// The API token's id (`00T…`): how Okta reports its expiry.
    api_token_id: Option<String>,
}

impl std::fmt::Debug for Okta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Okta({}, <redacted>)", self.domain)
    }
}

impl Okta {
    pub fn new(http: reqwest::Client, domain: &str, api_token: SecretValue) -> Self {
        Self { http, domain: domain.trim_end_matches('/').to_owned(), api_token, api_token_id: None }
    }

    /// The API token's id, kept beside it in `KEYTURN_OKTA_SECRET`.
    pub fn with_api_token_id(mut self, id: &str) -> Self {
        self.api_token_id = Some(id.to_owned());
        self
    }

    pub(crate) fn api_token_id(&self) -> Option<&str> {
        self.api_token_id.as_deref()
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn domain(&self) -> &str {
        &self.domain
    }

    /// `Authorization: SSWS {api token}`, keyturn's own Management API access.
    pub(crate) fn ssws(&self) -> String {
        format!("SSWS {}", self.api_token.expose())
    }

    fn url(&self, operation: &'static str, app: &str) -> Result<Url, VendorError> {
        vendor_url(
            SERVICE,
            operation,
            &self.domain,
            &[Lit("api/v1/apps"), Val("app_id", app), Lit("connections/default")],
        )
    }

    /// `GET /api/v1/apps/{appId}/connections/default`.
    async fn get_connection(&self, app: &str) -> Result<String, VendorError> {
        let req = self
            .http
            .get(self.url("GetConnection", app)?)
            .header(reqwest::header::AUTHORIZATION, format!("SSWS {}", self.api_token.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(CALL_TIMEOUT);
        send(SERVICE, "GetConnection", req).await.map(|(_, body)| body)
    }

    /// The connection's status, whatever it is (`ENABLED`, `DISABLED`, `UNKNOWN`).
    pub async fn status(&self, app: &str) -> Result<String, VendorError> {
        super::parse::okta_status(&self.get_connection(app).await?)
    }

    /// Provisioning is not switched off: `ENABLED`, or `UNKNOWN` (the API does
    /// not manage this app's connection; the SCIM probe carries the verdict).
    pub async fn check(&self, app: &str) -> Result<(), VendorError> {
        super::parse::okta_connection("GetConnection", &self.get_connection(app).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answer;
    use super::*;

    #[test]
    fn the_app_id_is_one_encoded_segment() {
        let o = Okta::new(reqwest::Client::new(), "https://acme.okta.example", SecretValue::new("fake-okta"));
        let u = o.url("GetConnection", "0oa1/../../users?q=").unwrap();
        assert_eq!(u.as_str(), "https://acme.okta.example/api/v1/apps/0oa1%2F..%2F..%2Fusers%3Fq=/connections/default");
        assert!(o.url("GetConnection", "..").is_err());
    }

    #[tokio::test]
    async fn okta_is_read_never_sent_a_token() {
        let (url, req) = answer(200, &[("content-type", "application/json")], r#"{"status":"UNKNOWN"}"#).await;
        let okta = Okta::new(reqwest::Client::new(), &url, SecretValue::new("okta-api-token-123"));
        okta.check("0oa1").await.expect("UNKNOWN leaves the verdict to the SCIM probe");
        let seen = req.await.unwrap();
        assert!(seen.starts_with("GET /api/v1/apps/0oa1/connections/default "), "{seen}");

        let (url, _) = answer(200, &[], r#"{"status":"DISABLED"}"#).await;
        let okta = Okta::new(reqwest::Client::new(), &url, SecretValue::new("okta-api-token-123"));
        let err = okta.check("0oa1").await.unwrap_err().to_string();
        assert!(err.contains("DISABLED"), "{err}");
    }
}
