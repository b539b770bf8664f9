//! Atlassian: SCIM directory reads (the provisioning probe) and organization
//! API keys (create / revoke / read).

use serde_json::json;

use super::vendor::{send, CALL_TIMEOUT};
use super::vendor_url;
use crate::domain::destination::{with_query, Part::Lit, Part::Val, Url};
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

fn bad_base(operation: &'static str) -> VendorError {
    VendorError::Rejected { service: SERVICE, operation, detail: "the Atlassian base URL cannot take a path".into() }
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
    pub fn scim_base(&self, directory_id: &str) -> Result<Url, VendorError> {
        vendor_url(SERVICE, "ScimBase", &self.base, &[Lit("scim/directory"), Val("directory_id", directory_id)])
    }

    /// `GET /scim/directory/{id}/Users?startIndex=1&count=1` must return a ListResponse.
    pub async fn scim_probe(&self, directory_id: &str, key: &SecretValue) -> Result<(), VendorError> {
        let mut url = self.scim_base(directory_id)?;
        url.path_segments_mut().map_err(|()| bad_base("ScimListUsers"))?.push("Users");
        let req = self
            .http
            .get(with_query(url, &[("startIndex", "1"), ("count", "1")]))
            .bearer_auth(key.expose())
            .timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "ScimListUsers", req).await?;
        super::parse::scim_list(&body)
    }

    fn keys_url(&self, operation: &'static str, org: &str, key_id: Option<&str>) -> Result<Url, VendorError> {
        let mut parts = vec![Lit("admin/api-access/v1/orgs"), Val("org", org), Lit("api-keys")];
        parts.extend(key_id.map(|k| Val("key_id", k)));
        vendor_url(SERVICE, operation, &self.base, &parts)
    }

    /// Creates an organization API key, authenticated with a current one.
    pub async fn create_org_key(&self, org: &str, auth: &SecretValue, label: &str) -> Result<StoredKey, VendorError> {
        let req = self
            .http
            .post(self.keys_url("CreateApiKey", org, None)?)
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
        let pages = self.pages("ListApiKeys", self.keys_url("ListApiKeys", org, None)?, auth).await?;
        Ok(super::parse::api_keys(&pages))
    }

    /// The organization's user directories (SCIM-provisioned ones among them), all pages.
    pub async fn directories(&self, org: &str, auth: &SecretValue) -> Result<Vec<DirectoryInfo>, VendorError> {
        let url = vendor_url(
            SERVICE,
            "GetDirectories",
            &self.base,
            &[Lit("admin/v2/orgs"), Val("org", org), Lit("directories")],
        )?;
        let pages = self.pages("GetDirectories", url, auth).await?;
        Ok(super::parse::directories(&pages))
    }

    /// Follows `links.next` (a cursor) until the last page; at most
    /// [`MAX_PAGES`] so a looping API cannot keep keyturn forever.
    async fn pages(
        &self,
        operation: &'static str,
        url: Url,
        auth: &SecretValue,
    ) -> Result<Vec<serde_json::Value>, VendorError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page_url = match &cursor {
                Some(c) => with_query(url.clone(), &[("cursor", c)]),
                None => url.clone(),
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
            .delete(self.keys_url("RevokeApiKey", org, Some(key_id))?)
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
        let url = vendor_url(SERVICE, "GetOrg", &self.base, &[Lit("admin/v1/orgs"), Val("org", org)])?;
        let req = self.http.get(url).bearer_auth(key.expose()).timeout(CALL_TIMEOUT);
        let (_, body) = send(SERVICE, "GetOrg", req).await?;
        super::parse::json(SERVICE, "GetOrg", &body).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::vendor::{bounded_text, MAX_BODY_BYTES};
    use super::*;

    /// An org or key id (from the inventory or a vendor's answer) stays one
    /// path segment: it cannot reach another endpoint.
    #[test]
    fn ids_are_one_encoded_segment() {
        let a = Atlassian::new(reqwest::Client::new(), "https://api.atlassian.com/");
        let revoke = a.keys_url("RevokeApiKey", "../../admin/users?x=", Some("../k#1")).unwrap();
        assert_eq!(
            revoke.as_str(),
            "https://api.atlassian.com/admin/api-access/v1/orgs/..%2F..%2Fadmin%2Fusers%3Fx=/api-keys/..%2Fk%231"
        );
        assert_eq!(a.scim_base("d/../x").unwrap().as_str(), "https://api.atlassian.com/scim/directory/d%2F..%2Fx");
        for (org, key) in [("..", "k"), ("acme", ""), ("acme", ".")] {
            assert!(a.keys_url("RevokeApiKey", org, Some(key)).is_err(), "{org:?} {key:?}");
        }
    }

    /// A one-shot HTTP server answering with `response` exactly as written.
    async fn raw(response: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 2048];
            let _ = sock.read(&mut req).await;
            let _ = sock.write_all(&response).await;
            let _ = sock.shutdown().await;
        });
        format!("http://{addr}/scim/directory/d1/Users?startIndex=1&count=1")
    }

    const EMPTY: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0}"#;

    /// The probe reads a ListResponse however the server frames it: either
    /// SCIM media type (RFC 7644 §8.1, `application/scim+json`, or
    /// `application/json` with a charset), chunked, or closed-delimited.
    #[tokio::test]
    async fn the_scim_probe_reads_every_framing_a_server_may_use() {
        let fixed = |ct: &str| {
            format!("HTTP/1.1 200 OK\r\ncontent-type: {ct}\r\ncontent-length: {}\r\n\r\n{EMPTY}", EMPTY.len())
        };
        let (a, b) = EMPTY.split_at(20);
        let chunked = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/scim+json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
            a.len(),
            b.len()
        );
        let until_close = format!("HTTP/1.0 200 OK\r\ncontent-type: application/scim+json\r\n\r\n{EMPTY}");
        for (name, response) in [
            ("scim+json", fixed("application/scim+json")),
            ("json; charset=utf-8", fixed("application/json; charset=utf-8")),
            ("scim+json; charset=UTF-8", fixed("application/scim+json; charset=UTF-8")),
            ("chunked", chunked),
            ("close-delimited", until_close),
        ] {
            let resp = reqwest::get(raw(response.into_bytes()).await).await.unwrap();
            assert_eq!(resp.status(), 200, "{name}");
            let body = bounded_text(resp, MAX_BODY_BYTES).await.unwrap().unwrap();
            assert!(super::super::parse::scim_list(&body).is_ok(), "{name}: {body}");
        }
    }
}
