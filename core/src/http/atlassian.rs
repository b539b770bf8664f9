//! Atlassian: SCIM directory reads (the provisioning probe) and organization
//! API keys (create / revoke / read).

use serde_json::json;

use super::vendor::{send, CALL_TIMEOUT};
use crate::domain::SecretValue;
use crate::rotation::{StoredKey, VendorError};

const SERVICE: &str = "atlassian";
/// Pages followed per listing (100 pages of the API's default size is far
/// more than any organization has).
const MAX_PAGES: usize = 100;

/// One organization API key, as the admin API lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub expires_at: Option<String>,
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
            .timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "ScimListUsers", req).await?;
        super::parse::scim_list(&body)
    }

    fn keys_url(&self, org: &str) -> String {
        format!("{}/admin/api-access/v1/orgs/{org}/api-keys", self.base)
    }

    /// Creates an organization API key, authenticated with a current one.
    pub async fn create_org_key(&self, org: &str, auth: &SecretValue, label: &str) -> Result<StoredKey, VendorError> {
        let req = self
            .http
            .post(self.keys_url(org))
            .bearer_auth(auth.expose())
            .json(&json!({"name": label}))
            .timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "CreateApiKey", req).await?;
        super::parse::created_api_key(&body)
    }

    /// The organization's keys that are still active: (id, name).
    pub async fn list_org_keys(&self, org: &str, auth: &SecretValue) -> Result<Vec<(String, String)>, VendorError> {
        Ok(self.api_keys(org, auth).await?.into_iter().filter(|k| k.active).map(|k| (k.id, k.name)).collect())
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
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
        Err(VendorError::Rejected { service: SERVICE, operation, detail: format!("more than {MAX_PAGES} pages") })
    }

    /// Revokes a key; one that is already gone counts as revoked.
    pub async fn revoke_org_key(&self, org: &str, auth: &SecretValue, key_id: &str) -> Result<(), VendorError> {
        let req = self
            .http
            .delete(format!("{}/{key_id}", self.keys_url(org)))
            .bearer_auth(auth.expose())
            .timeout(CALL_TIMEOUT);
        match send(SERVICE, "RevokeApiKey", req).await {
            Ok(_) => Ok(()),
            Err(VendorError::Rejected { detail, .. }) if detail == "HTTP 404" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// An authenticated read with an organization key.
    pub async fn org_probe(&self, org: &str, key: &SecretValue) -> Result<(), VendorError> {
        let req =
            self.http.get(format!("{}/admin/v1/orgs/{org}", self.base)).bearer_auth(key.expose()).timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "GetOrg", req).await?;
        super::parse::json(SERVICE, "GetOrg", &body).map(|_| ())
    }
}
