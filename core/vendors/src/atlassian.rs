//! Atlassian: SCIM directory reads (the provisioning probe) and organization
//! API keys (list / revoke / read). Atlassian documents no API that creates an
//! organization API key (docs/vendors.md): owners create them in
//! admin.atlassian.com and hand them over.

use super::parse::{ApiKeyInfo, DirectoryInfo};
use super::vendor::{send, CALL_TIMEOUT};
use super::vendor_url;
use keyturn_app::rotation::VendorError;
use keyturn_domain::destination::{with_query, Part::Lit, Part::Val, Url};
use keyturn_domain::SecretValue;

const SERVICE: &str = "atlassian";
/// Pages followed per listing (100 pages of the API's default size is far
/// more than any organization has).
const MAX_PAGES: usize = 100;

#[derive(Debug, Clone)]
pub struct Atlassian {
    pub(crate) http: reqwest::Client,
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

    /// `…/orgs/{org}/api-keys`, or `…/api-keys/revoke/{apiKeyId}` to revoke `revoke`.
    fn keys_url(&self, operation: &'static str, org: &str, revoke: Option<&str>) -> Result<Url, VendorError> {
        let mut parts = vec![Lit("admin/api-access/v1/orgs"), Val("org", org), Lit("api-keys")];
        if let Some(key_id) = revoke {
            parts.extend([Lit("revoke"), Val("key_id", key_id)]);
        }
        vendor_url(SERVICE, operation, &self.base, &parts)
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
            .patch(self.keys_url("RevokeApiKey", org, Some(key_id))?)
            .bearer_auth(auth.expose())
            .timeout(CALL_TIMEOUT);
        send(SERVICE, "RevokeApiKey", req).await.map(|_| ())
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

    use super::super::vendor::tests::{answer, answers};
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
            "https://api.atlassian.com/admin/api-access/v1/orgs/..%2F..%2Fadmin%2Fusers%3Fx=/api-keys/revoke/..%2Fk%231"
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
