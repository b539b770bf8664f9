//! Atlassian: SCIM directory reads (the provisioning probe) and organization
//! API keys (create / revoke / read).

use serde_json::json;

use super::vendor::{json, send, CALL_TIMEOUT};
use crate::domain::SecretValue;
use crate::rotation::{StoredKey, VendorError};

const SERVICE: &str = "atlassian";

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
        let v = json(SERVICE, "ScimListUsers", &body)?;
        let is_list = v["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x == "urn:ietf:params:scim:api:messages:2.0:ListResponse"));
        if is_list {
            Ok(())
        } else {
            Err(VendorError::Rejected {
                service: SERVICE,
                operation: "ScimListUsers",
                detail: "not a SCIM ListResponse".into(),
            })
        }
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
        let v = json(SERVICE, "CreateApiKey", &body)?;
        let (Some(id), Some(key)) = (v["id"].as_str(), v["key"].as_str()) else {
            return Err(VendorError::Rejected {
                service: SERVICE,
                operation: "CreateApiKey",
                detail: "answer without id or key".into(),
            });
        };
        Ok(StoredKey {
            value: SecretValue::new(key),
            key_id: Some(id.to_owned()),
            expires_at: v["expiresAt"].as_str().map(str::to_owned),
        })
    }

    /// The organization's keys that are still active: (id, name).
    pub async fn list_org_keys(&self, org: &str, auth: &SecretValue) -> Result<Vec<(String, String)>, VendorError> {
        let req = self.http.get(self.keys_url(org)).bearer_auth(auth.expose()).timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "ListApiKeys", req).await?;
        let v = json(SERVICE, "ListApiKeys", &body)?;
        Ok(v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["status"].as_str().is_none_or(|s| s == "ACTIVE"))
            .filter_map(|k| Some((k["id"].as_str()?.to_owned(), k["name"].as_str().unwrap_or_default().to_owned())))
            .collect())
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
        json(SERVICE, "GetOrg", &body).map(|_| ())
    }
}
