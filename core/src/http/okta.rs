//! Okta app provisioning connection (`authScheme: TOKEN`). Only some apps
//! accept a token through the API; an `UNKNOWN` answer means this one does
//! not, and the push becomes a human step.

use serde_json::json;

use super::vendor::{send, CALL_TIMEOUT};
use super::vendor_url;
use crate::domain::destination::{with_query, Part::Lit, Part::Val, Url};
use crate::domain::SecretValue;
use crate::rotation::VendorError;

const SERVICE: &str = "okta";

#[derive(Clone)]
pub struct Okta {
    http: reqwest::Client,
    /// `https://acme.okta.com`
    domain: String,
    api_token: SecretValue,
}

impl std::fmt::Debug for Okta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Okta({}, <redacted>)", self.domain)
    }
}

impl Okta {
    pub fn new(http: reqwest::Client, domain: &str, api_token: SecretValue) -> Self {
        Self { http, domain: domain.trim_end_matches('/').to_owned(), api_token }
    }

    fn url(&self, operation: &'static str, app: &str) -> Result<Url, VendorError> {
        vendor_url(
            SERVICE,
            operation,
            &self.domain,
            &[Lit("api/v1/apps"), Val("app_id", app), Lit("connections/default")],
        )
    }

    pub async fn push(&self, app: &str, key: &SecretValue) -> Result<(), VendorError> {
        let req = self
            .http
            .post(with_query(self.url("SetConnection", app)?, &[("activate", "true")]))
            .header(reqwest::header::AUTHORIZATION, format!("SSWS {}", self.api_token.expose()))
            .json(&json!({"authScheme": "TOKEN", "profile": {"authScheme": "TOKEN", "token": key.expose()}}))
            .timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "SetConnection", req).await?;
        super::parse::okta_connection("SetConnection", &body)
    }

    async fn get_connection(&self, app: &str) -> Result<String, VendorError> {
        let req = self
            .http
            .get(self.url("GetConnection", app)?)
            .header(reqwest::header::AUTHORIZATION, format!("SSWS {}", self.api_token.expose()))
            .timeout(CALL_TIMEOUT);
        send(SERVICE, "GetConnection", req).await.map(|(_, body)| body)
    }

    /// The connection's status, whatever it is.
    pub async fn status(&self, app: &str) -> Result<String, VendorError> {
        super::parse::okta_status(&self.get_connection(app).await?)
    }

    /// `ENABLED`, or an error saying why not.
    pub async fn check(&self, app: &str) -> Result<(), VendorError> {
        super::parse::okta_connection("GetConnection", &self.get_connection(app).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_id_is_one_encoded_segment() {
        let o = Okta::new(reqwest::Client::new(), "https://acme.okta.example", SecretValue::new("fake-okta"));
        let u = o.url("GetConnection", "0oa1/../../users?q=").unwrap();
        assert_eq!(u.as_str(), "https://acme.okta.example/api/v1/apps/0oa1%2F..%2F..%2Fusers%3Fq=/connections/default");
        assert!(o.url("GetConnection", "..").is_err());
    }
}
