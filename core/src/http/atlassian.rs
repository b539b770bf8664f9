//! Atlassian: SCIM directory reads (the provisioning probe) and organization
//! API keys (list / revoke / read). Atlassian documents no API that creates an
//! organization API key (docs/vendors.md): owners create them in
//! admin.atlassian.com and hand them over.

use super::vendor::{send, CALL_TIMEOUT};
use crate::domain::SecretValue;
use crate::rotation::VendorError;

const SERVICE: &str = "atlassian";
/// Pages followed per listing (100 pages of the API's default size is far
/// more than any organization has).
const MAX_PAGES: usize = 100;

/// One organization API key, as `GET …/api-keys` lists it (never the key
/// itself: the API does not return it). The items carry no status; a key
/// past `expiresAt` no longer works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: String,
    pub label: String,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub last_active_at: Option<String>,
}

/// One user directory of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Atlassian {
    http: reqwest::Client,
    /// `https://api.atlassian.com`
    base: String,
}

impl Atlassian {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self { http, base: base.trim_end_matches('/').to_owned() }
    }

    /// The SCIM base address an identity provider is configured with.
    pub fn scim_base(&self, directory_id: &str) -> String {
        format!("{}/scim/directory/{directory_id}", self.base)
    }

    /// `GET /scim/directory/{id}/Users?startIndex=1&count=1` must return a ListResponse.
    pub async fn scim_probe(&self, directory_id: &str, key: &SecretValue) -> Result<(), VendorError> {
        let req = self
            .http
            .get(format!("{}/Users?startIndex=1&count=1", self.scim_base(directory_id)))
            .bearer_auth(key.expose())
            // RFC 7644 §3.1: SCIM's media type.
            .header(reqwest::header::ACCEPT, "application/scim+json")
            .timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "ScimListUsers", req).await.map_err(|e| match e {
            // An unknown directory ("Unknown tenant") is a wrong id, not a wrong key.
            VendorError::Refused { service, operation, status: 404, body } => VendorError::Refused {
                service,
                operation,
                status: 404,
                body: format!(
                    "{body} (hint: check the connector's directory_id against the SCIM base URL admin.atlassian.com \
                     shows for this identity provider: …/scim/directory/{{directory_id}})"
                ),
            },
            other => other,
        })?;
        super::parse::scim_list(&body)
    }

    fn keys_url(&self, org: &str) -> String {
        format!("{}/admin/api-access/v1/orgs/{org}/api-keys", self.base)
    }

    /// Ids of the organization's keys labelled `label`.
    pub async fn org_keys_labelled(
        &self,
        org: &str,
        auth: &SecretValue,
        label: &str,
    ) -> Result<Vec<String>, VendorError> {
        Ok(self.api_keys(org, auth).await?.into_iter().filter(|k| k.label == label).map(|k| k.id).collect())
    }

    /// Every API key of the organization, all pages.
    pub async fn api_keys(&self, org: &str, auth: &SecretValue) -> Result<Vec<ApiKeyInfo>, VendorError> {
        let pages = self.pages("ListApiKeys", &self.keys_url(org), auth).await?;
        Ok(super::parse::api_keys(&pages))
    }

    /// The organization's user directories (SCIM-provisioned ones among them), all pages.
    pub async fn directories(&self, org: &str, auth: &SecretValue) -> Result<Vec<DirectoryInfo>, VendorError> {
        let url = format!("{}/admin/v2/orgs/{org}/directories", self.base);
        let pages = self.pages("GetDirectories", &url, auth).await?;
        Ok(super::parse::directories(&pages))
    }

    /// Follows `links.next` (a cursor) until the last page; at most
    /// [`MAX_PAGES`] so a looping API cannot keep keyturn forever.
    async fn pages(
        &self,
        operation: &'static str,
        url: &str,
        auth: &SecretValue,
    ) -> Result<Vec<serde_json::Value>, VendorError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page_url = match &cursor {
                Some(c) => format!("{url}?cursor={}", super::percent_encode(c)),
                None => url.to_owned(),
            };
            let req = self.http.get(page_url).bearer_auth(auth.expose()).timeout(CALL_TIMEOUT);
            let (_, body) = send(SERVICE, operation, req).await?;
            let (data, next) = super::parse::page(operation, &body)?;
            out.extend(data);
            match next.map(|n| super::parse::cursor_of(&n)) {
                Some(next) if cursor.as_ref() == Some(&next) => {
                    return Err(VendorError::Rejected {
                        service: SERVICE,
                        operation,
                        detail: "links.next repeats the page just read".into(),
                    })
                }
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
        Err(VendorError::Rejected { service: SERVICE, operation, detail: format!("more than {MAX_PAGES} pages") })
    }

    /// Revokes a key: `PATCH …/api-keys/revoke/{apiKeyId}`, the one revoke
    /// operation Atlassian documents. Any refusal, a 404 included, is an
    /// error: a key reported revoked must be revoked, and how Atlassian answers
    /// for an unknown or already revoked id is undocumented.
    pub async fn revoke_org_key(&self, org: &str, auth: &SecretValue, key_id: &str) -> Result<(), VendorError> {
        let req = self
            .http
            .patch(format!("{}/revoke/{key_id}", self.keys_url(org)))
            .bearer_auth(auth.expose())
            .timeout(CALL_TIMEOUT);
        send(SERVICE, "RevokeApiKey", req).await.map(|_| ())
    }

    /// An authenticated read with an organization key.
    pub async fn org_probe(&self, org: &str, key: &SecretValue) -> Result<(), VendorError> {
        let req =
            self.http.get(format!("{}/admin/v1/orgs/{org}", self.base)).bearer_auth(key.expose()).timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "GetOrg", req).await?;
        super::parse::json(SERVICE, "GetOrg", &body).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::{answer, answers};
    use super::*;

    fn at(url: &str) -> Atlassian {
        Atlassian::new(reqwest::Client::new(), url)
    }

    #[tokio::test]
    async fn the_scim_probe_asks_for_scim_and_names_a_wrong_directory() {
        let body =
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"Unknown tenant"}"#;
        let (url, req) = answer(404, &[("content-type", "application/scim+json")], body).await;
        let err = at(&url).scim_probe("d-1", &SecretValue::new("scim-key-0123456789")).await.unwrap_err().to_string();
        assert!(err.contains("Unknown tenant") && err.contains("directory_id"), "{err}");
        let seen = req.await.unwrap().to_ascii_lowercase();
        assert!(seen.contains("accept: application/scim+json"), "{seen}");
    }

    #[tokio::test]
    async fn revocation_is_the_documented_patch_and_a_404_is_not_revoked() {
        let (url, req) = answer(204, &[], "").await;
        at(&url).revoke_org_key("o-1", &SecretValue::new("org-key-0123456789"), "k-1").await.unwrap();
        let seen = req.await.unwrap();
        assert!(seen.starts_with("PATCH /admin/api-access/v1/orgs/o-1/api-keys/revoke/k-1 "), "{seen}");

        let (url, _) = answer(404, &[], r#"{"message":"not found"}"#).await;
        let err = at(&url).revoke_org_key("o-1", &SecretValue::new("org-key-0123456789"), "k-1").await;
        assert!(err.is_err(), "a key whose revocation was refused is not reported revoked");
    }

    #[tokio::test]
    async fn keys_are_listed_by_their_documented_fields_across_pages() {
        let (url, mut seen) = answers(vec![
            (200, vec![], r#"{"data":[{"id":"k1","label":"keyturn chg-1 ab"}],"links":{"next":"c2"}}"#.into()),
            (
                200,
                vec![],
                r#"{"data":[{"id":"k2","label":"CI","expiresAt":"2027-01-01T00:00:00Z"}],"links":{}}"#.into(),
            ),
        ])
        .await;
        let keys = at(&url).api_keys("o-1", &SecretValue::new("org-key-0123456789")).await.unwrap();
        assert_eq!(keys.iter().map(|k| k.label.as_str()).collect::<Vec<_>>(), ["keyturn chg-1 ab", "CI"]);
        let _ = seen.recv().await;
        assert!(seen.recv().await.unwrap().starts_with("GET /admin/api-access/v1/orgs/o-1/api-keys?cursor=c2 "));
    }
}
