//! What vendors and identity providers answer, parsed without I/O: the
//! adapters call these on a body already bounded in size
//! ([`super::vendor`]), and `fuzz/` throws arbitrary bytes at them.
//! A body keyturn cannot use is a [`VendorError::Rejected`], never a panic.

use serde_json::Value;

use keyturn_app::rotation::VendorError;
use keyturn_domain::SecretValue;

fn rejected(service: &'static str, operation: &'static str, detail: &str) -> VendorError {
    VendorError::Rejected { service, operation, detail: detail.into() }
}

/// A JSON body, or "malformed JSON".
pub fn json(service: &'static str, operation: &'static str, body: &str) -> Result<Value, VendorError> {
    serde_json::from_str(body).map_err(|_| rejected(service, operation, "malformed JSON in the answer"))
}

/// The message schema every SCIM list answer names (RFC 7644 §3.4.2).
const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// SCIM `GET /Users`: must be a SCIM ListResponse, and any RFC 7644 §3.4.2
/// one will do: `totalResults: 0` without `Resources`, no `itemsPerPage` or
/// `startIndex` (both only "REQUIRED when partial results are returned"),
/// extension schemas and attributes beside it, a URN in another case (URNs
/// compare case-insensitively, RFC 8141 §3), a UTF-8 byte-order mark (RFC
/// 8259 §8.1 lets a parser ignore it). The key worked; what the directory
/// holds is not the probe's business.
pub fn scim_list(body: &str) -> Result<(), VendorError> {
    let v = json("atlassian", "ScimListUsers", body.strip_prefix('\u{feff}').unwrap_or(body))?;
    let is_list = v["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(LIST_RESPONSE))));
    if is_list {
        Ok(())
    } else {
        Err(rejected("atlassian", "ScimListUsers", "not a SCIM ListResponse"))
    }
}

/// One page of an Atlassian admin listing: its `data` and the next cursor.
pub fn page(operation: &'static str, body: &str) -> Result<(Vec<Value>, Option<String>), VendorError> {
    let v = json("atlassian", operation, body)?;
    let data = v["data"].as_array().cloned().unwrap_or_default();
    let next = v["links"]["next"].as_str().filter(|n| !n.is_empty()).map(str::to_owned);
    Ok((data, next))
}

/// The cursor to send for the next page: `links.next` is documented as the
/// next page's cursor, but a full URL (or path) carrying `cursor=` is read too.
pub fn cursor_of(next: &str) -> String {
    if !(next.contains("://") || next.starts_with('/') || next.starts_with('?')) {
        return next.to_owned();
    }
    let query = next.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|p| p.strip_prefix("cursor="))
        .map(super::vendor::percent_decode)
        .unwrap_or_else(|| next.to_owned())
}

/// One Atlassian organization API key, as `GET …/api-keys` lists it (never the key
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

/// One user directory of an Atlassian organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryInfo {
    pub id: String,
    pub name: String,
}

/// API keys from listing entries, read by the documented fields (`id`,
/// `label`, `createdAt`, `expiresAt`, `lastActiveAt`).
pub fn api_keys(entries: &[Value]) -> Vec<ApiKeyInfo> {
    let text = |k: &Value, f: &str| k[f].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
    entries
        .iter()
        .filter_map(|k| {
            Some(ApiKeyInfo {
                id: k["id"].as_str()?.to_owned(),
                label: text(k, "label").unwrap_or_default(),
                created_at: text(k, "createdAt"),
                expires_at: text(k, "expiresAt"),
                last_active_at: text(k, "lastActiveAt"),
            })
        })
        .collect()
}

/// Directories from listing entries.
pub fn directories(entries: &[Value]) -> Vec<DirectoryInfo> {
    entries
        .iter()
        .filter_map(|d| {
            let id = d["directoryId"].as_str()?.to_owned();
            Some(DirectoryInfo { name: d["name"].as_str().unwrap_or(&id).to_owned(), id })
        })
        .collect()
}

/// Entra token endpoint: the access token and how long to keep it (seconds,
/// two minutes short of its life).
pub fn entra_token(body: &str) -> Result<(SecretValue, u64), VendorError> {
    let v = json("entra", "GetToken", body)?;
    let token = v["access_token"]
        .as_str()
        .map(SecretValue::new)
        .ok_or_else(|| rejected("entra", "GetToken", "answer without access_token"))?;
    Ok((token, v["expires_in"].as_u64().unwrap_or(3600).saturating_sub(120)))
}

/// Graph synchronization job: its status code (`Active`, `Quarantine`, …).
pub fn entra_job_status(body: &str) -> Result<String, VendorError> {
    json("entra", "GetJob", body)?["status"]["code"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| rejected("entra", "GetJob", "answer without status.code"))
}

/// Okta provisioning connection: its status (`ENABLED`, `DISABLED`, `UNKNOWN`).
pub fn okta_status(body: &str) -> Result<String, VendorError> {
    json("okta", "GetConnection", body)?["status"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| rejected("okta", "GetConnection", "answer without status"))
}

/// Okta provisioning connection: not switched off. `ENABLED` is on;
/// `UNKNOWN` is what Okta answers for an app whose connection its API does
/// not manage (docs/vendors.md), which says nothing either way, so the SCIM
/// probe decides; `DISABLED` (or no status) fails.
pub fn okta_connection(operation: &'static str, body: &str) -> Result<(), VendorError> {
    match json("okta", operation, body)?["status"].as_str() {
        Some("ENABLED" | "UNKNOWN") => Ok(()),
        other => Err(VendorError::Rejected {
            service: "okta",
            operation,
            detail: format!(
                "connection status {}: provisioning is off for this app; turn it on in the Okta Admin Console \
                 (Applications > the app > Provisioning)",
                other.unwrap_or("missing")
            ),
        }),
    }
}

/// Every parser over the same bytes (the fuzz target's entry point).
pub fn all(data: &[u8]) -> usize {
    let Ok(body) = std::str::from_utf8(data) else { return 0 };
    let mut ok = 0;
    ok += usize::from(scim_list(body).is_ok());
    if let Ok((entries, _)) = page("ListApiKeys", body) {
        ok += api_keys(&entries).len() + directories(&entries).len();
    }
    ok += usize::from(entra_token(body).is_ok());
    ok += usize::from(entra_job_status(body).is_ok());
    ok += usize::from(okta_status(body).is_ok());
    ok += usize::from(okta_connection("GetConnection", body).is_ok());
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn answers_are_read_and_bad_ones_named() {
        assert!(scim_list(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}"#).is_ok());
        assert!(scim_list(r#"{"schemas":[]}"#).unwrap_err().to_string().contains("not a SCIM ListResponse"));
        let (data, next) = page("GetDirectories", r#"{"data":[{"directoryId":"d1"}],"links":{"next":"2"}}"#).unwrap();
        assert_eq!((directories(&data)[0].name.as_str(), next.as_deref()), ("d1", Some("2")));
        assert!(okta_connection("GetConnection", r#"{"status":"UNKNOWN"}"#).is_ok(), "the SCIM probe decides");
        assert!(okta_connection("GetConnection", r#"{"status":"DISABLED"}"#)
            .unwrap_err()
            .to_string()
            .contains("DISABLED"));
        assert_eq!(entra_job_status(r#"{"status":{"code":"Quarantine"}}"#).unwrap(), "Quarantine");
        assert!(entra_job_status(r#"{"status":{}}"#).unwrap_err().to_string().contains("without status.code"));
        assert_eq!(okta_status(r#"{"status":"UNKNOWN"}"#).unwrap(), "UNKNOWN");
        let keys = api_keys(&page("ListApiKeys", r#"{"data":[{"id":"k1","label":"CI bot","expiresAt":"2027-01-31T00:00:00Z",
            "lastActiveAt":"2026-11-01T00:00:00Z","createdAt":"2026-02-01T00:00:00Z","name":"not a documented field"}]}"#).unwrap().0);
        assert_eq!(keys[0].label, "CI bot", "the documented label, not a name");
        assert_eq!(keys[0].expires_at.as_deref(), Some("2027-01-31T00:00:00Z"));
        assert_eq!(keys[0].last_active_at.as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(cursor_of("c2"), "c2");
        assert_eq!(
            cursor_of("https://api.atlassian.com/admin/api-access/v1/orgs/o/api-keys?pageSize=20&cursor=a%2Bb"),
            "a+b"
        );
        assert!(json("x", "y", "{").unwrap_err().to_string().contains("malformed JSON"));
    }

    /// RFC 7644 §3.4.2's own examples, and the variants real servers send.
    #[test]
    fn every_rfc_7644_list_response_is_accepted() {
        let variants = [
            // §3.4.2, Figure "response to a query": no itemsPerPage, no startIndex.
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,
                "Resources":[{"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen"},
                             {"id":"c75ad752-64ae-4823-840d-ffa80929976c","userName":"jsmith"}]}"#,
            // §3.4.2.4, pagination: every paging field, schemas last.
            r#"{"totalResults":100,"itemsPerPage":10,"startIndex":1,
                "schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "Resources":[{"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen"}]}"#,
            // An empty directory: totalResults 0, Resources omitted (required only when non-zero).
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0}"#,
            // Empty, as scim2-server answers it.
            r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}"#,
            // Extension schemas and attributes on the resources and beside the list.
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse","urn:example:params:scim:api:messages:2.0:Extra"],
                "totalResults":1,"x-vendor-cursor":"abc","Resources":[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","userName":"bjensen",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984"},
                "meta":{"resourceType":"User","version":"W/\"1\""}}]}"#,
            // More resources than `count=1` asked for (a server may ignore count).
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"Resources":[{"id":"a"},{"id":"b"},{"id":"c"}]}"#,
            // The URN in another case, and a byte-order mark before the JSON.
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:listresponse"],"totalResults":0}"#,
            "\u{feff}{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"totalResults\":0}",
        ];
        for (i, body) in variants.iter().enumerate() {
            assert!(scim_list(body).is_ok(), "variant #{i} refused: {body}");
        }
        for bad in [
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"invalid"}"#,
            r#"{"schemas":"urn:ietf:params:scim:api:messages:2.0:ListResponse"}"#,
            r#"{"Resources":[]}"#,
            "<html>sign in</html>",
            "",
        ] {
            assert!(scim_list(bad).is_err(), "accepted: {bad}");
        }
    }

    proptest! {
        /// Hostile input: any text, and any JSON-shaped text, is parsed or refused, never a panic.
        #[test]
        fn any_body_is_parsed_or_refused(body in ".{0,200}", n in any::<i64>(), s in "[a-zA-Z{}\\[\\]\":,]{0,40}") {
            all(body.as_bytes());
            all(format!(r#"{{"data":[{{"id":{n},"directoryId":"{s}"}}],"links":{{"next":{n}}},"status":{{"code":{n}}}}}"#).as_bytes());
        }
    }
}
