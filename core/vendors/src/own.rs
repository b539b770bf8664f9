//! What Graph and Okta report about the credentials keyturn itself uses
//! with them (`keyturn status`):
//!
//! - its Entra client secret: `GET /applications(appId='{client_id}')?$select=passwordCredentials`
//!   (Graph v1.0 "Get application"), the secret in use found by Graph's
//!   `hint` ("the first three characters of the password"), its
//!   `endDateTime` and `keyId` reported;
//! - its Okta API token: `GET /api/v1/api-tokens/{apiTokenId}` (Okta
//!   Management API `getApiToken`), `expiresAt`. Okta documents no read of
//!   the token in use (`/api-tokens/current` has only `DELETE`), so the
//!   token's id is kept beside it in `KEYTURN_OKTA_SECRET` (`api_token_id`).
//!
//! Neither the secret nor its hint is ever part of an answer or an error.

use std::sync::Arc;

use serde_json::Value;

use super::parse::json;
use super::vendor::{send, CALL_TIMEOUT};
use super::{vendor_url, Entra, Okta};
use keyturn_app::lazy::Lazy;
use keyturn_app::ports::{IssuedCredential, OwnCredentials};
use keyturn_app::rotation::VendorError;
use keyturn_domain::destination::{Part::Lit, Part::Val};
use keyturn_domain::timefmt::parse_instant;

const GET_APP: &str = "GetOwnApplication";
const GET_TOKEN: &str = "GetApiToken";

fn rejected(service: &'static str, operation: &'static str, detail: String) -> VendorError {
    VendorError::Rejected { service, operation, detail }
}

/// keyturn's Entra client secret as Graph reports it.
pub async fn entra_secret(entra: &Entra) -> Result<IssuedCredential, VendorError> {
    let creds = entra.own_credentials();
    let client_id = creds.client_id.as_str();
    // The id goes inside `appId='…'`: a GUID's characters only.
    if client_id.is_empty() || !client_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(rejected(
            "entra",
            GET_APP,
            "KEYTURN_ENTRA_SECRET: client_id is not an application (client) id".into(),
        ));
    }
    let token = entra.graph_token().await?;
    let segment = format!("applications(appId='{client_id}')");
    let mut url = vendor_url("entra", GET_APP, entra.graph_base(), &[Lit(&segment)])?;
    url.query_pairs_mut().append_pair("$select", "passwordCredentials");
    let req = entra.http().get(url).bearer_auth(token.expose()).timeout(CALL_TIMEOUT);
    let (_, body) = send("entra", GET_APP, req).await.map_err(|e| match e {
        VendorError::Refused { status: 404, .. } => rejected(
            "entra",
            GET_APP,
            format!("KEYTURN_ENTRA_SECRET: client_id {client_id}: no such application in Graph (HTTP 404)"),
        ),
        VendorError::Unauthorized { status: 403, .. } => rejected(
            "entra",
            GET_APP,
            "Graph refused to read keyturn's own app registration (HTTP 403): grant Application.Read.All, or make \
             keyturn's service principal an owner of its app (Application.ReadWrite.OwnedBy)"
                .into(),
        ),
        other => other,
    })?;
    let v = json("entra", GET_APP, &body)?;
    let passwords = v["passwordCredentials"]
        .as_array()
        .ok_or_else(|| rejected("entra", GET_APP, "Graph's answer has no passwordCredentials".into()))?;
    in_use(passwords, creds.client_secret.expose())
}

/// The password whose `hint` is the secret's first three characters. Two
/// secrets may share a hint: the soonest expiry is the one to act on.
fn in_use(passwords: &[Value], secret: &str) -> Result<IssuedCredential, VendorError> {
    let hint: String = secret.chars().take(3).collect();
    let mut matching: Vec<&Value> = passwords.iter().filter(|p| p["hint"].as_str() == Some(hint.as_str())).collect();
    if matching.is_empty() {
        return Err(rejected(
            "entra",
            GET_APP,
            format!(
                "none of the {} client secrets of keyturn's app registration is the one in KEYTURN_ENTRA_SECRET \
                 (matched by Graph's hint)",
                passwords.len()
            ),
        ));
    }
    // No end date sorts last: it is the least urgent.
    matching.sort_by_key(|p| p["endDateTime"].as_str().and_then(parse_instant).map_or((1, None), |t| (0, Some(t))));
    let p = matching[0];
    let id = p["keyId"]
        .as_str()
        .ok_or_else(|| rejected("entra", GET_APP, "a passwordCredential without keyId".into()))?
        .to_owned();
    let note = (matching.len() > 1).then(|| {
        format!(
            "reported by Graph; {} of the app's secrets could be the one in use (same hint): the soonest expiry is shown",
            matching.len()
        )
    });
    Ok(IssuedCredential { id, expires_at: p["endDateTime"].as_str().map(str::to_owned), note })
}

/// keyturn's Okta API token as Okta reports it.
pub async fn okta_token(okta: &Okta) -> Result<IssuedCredential, VendorError> {
    let Some(id) = okta.api_token_id() else {
        return Err(rejected(
            "okta",
            GET_TOKEN,
            "KEYTURN_OKTA_SECRET has no api_token_id: Okta reports an API token's expiry only by its id \
             (00T…, Admin Console > Security > API > Tokens)"
                .into(),
        ));
    };
    let url = vendor_url("okta", GET_TOKEN, okta.domain(), &[Lit("api/v1/api-tokens"), Val("api_token_id", id)])?;
    let req = okta
        .http()
        .get(url)
        .header(reqwest::header::AUTHORIZATION, okta.ssws())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(CALL_TIMEOUT);
    let (_, body) = send("okta", GET_TOKEN, req).await.map_err(|e| match e {
        VendorError::Refused { status: 404, .. } => rejected(
            "okta",
            GET_TOKEN,
            format!("KEYTURN_OKTA_SECRET: api_token_id {id}: no such active API token (HTTP 404)"),
        ),
        VendorError::Unauthorized { status: 403, .. } => rejected(
            "okta",
            GET_TOKEN,
            "Okta refused to read the API token's metadata (HTTP 403): the token's admin may not read API tokens"
                .into(),
        ),
        other => other,
    })?;
    let v = json("okta", GET_TOKEN, &body)?;
    if v["id"].as_str() != Some(id) {
        return Err(rejected("okta", GET_TOKEN, format!("Okta's answer is not API token {id}")));
    }
    let expires_at = match &v["expiresAt"] {
        Value::Null => None,
        Value::String(s) if parse_instant(s).is_some() => Some(s.clone()),
        _ => return Err(rejected("okta", GET_TOKEN, "Okta's answer has an expiresAt that is not a date-time".into())),
    };
    // Okta: valid for `tokenWindow` (30 days by default) from creation or
    // last use, renewed by each call; so keyturn's own reads renew it too.
    let window = v["tokenWindow"]
        .as_str()
        .filter(|w| {
            w.len() <= 20 && w.starts_with('P') && w.chars().all(|c| c.is_ascii_digit() || "PYMWDTHS".contains(c))
        })
        .unwrap_or("its token window");
    let note =
        expires_at.as_ref().map(|_| format!("reported by Okta ({window} after its last use; each call renews it)"));
    Ok(IssuedCredential { id: id.to_owned(), expires_at, note })
}

/// The [`OwnCredentials`] port on Graph and Okta, sharing keyturn's clients
/// (and Graph token) with the rotation ports.
#[derive(Debug, Clone, Default)]
pub struct HttpOwnCredentials {
    pub entra: Option<Arc<Lazy<Entra>>>,
    pub okta: Option<Arc<Lazy<Okta>>>,
}

/// Reading keyturn's own credentials from their secret failed.
fn unreadable(service: &'static str, detail: String) -> VendorError {
    rejected(service, "Credentials", detail)
}

impl OwnCredentials for HttpOwnCredentials {
    async fn entra_secret(&self) -> Option<Result<IssuedCredential, VendorError>> {
        let lazy = self.entra.as_ref()?;
        Some(match lazy.get().await {
            Ok(entra) => entra_secret(entra).await,
            Err(e) => Err(unreadable("entra", e)),
        })
    }

    async fn okta_token(&self) -> Option<Result<IssuedCredential, VendorError>> {
        let lazy = self.okta.as_ref()?;
        Some(match lazy.get().await {
            Ok(okta) => okta_token(okta).await,
            Err(e) => Err(unreadable("okta", e)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answer;
    use super::*;
    use crate::EntraCredentials;
    use keyturn_domain::SecretValue;
    use serde_json::json;

    const SECRET: &str = "Abc~fake-keyturn-graph-secret-0123456789";

    fn entra(url: &str, client_id: &str) -> Entra {
        let creds = EntraCredentials {
            tenant_id: "t1".into(),
            client_id: client_id.into(),
            client_secret: SecretValue::new(SECRET),
        };
        Entra::new(reqwest::Client::new(), url, url, creds).with_token("fake-graph-token")
    }

    fn password(key_id: &str, hint: &str, end: Option<&str>) -> Value {
        json!({"keyId": key_id, "hint": hint, "endDateTime": end, "displayName": null})
    }

    #[test]
    fn the_secret_in_use_is_found_by_its_hint_and_the_soonest_of_a_shared_hint_wins() {
        let ps = [
            password("k-other", "Xyz", Some("2026-12-01T00:00:00Z")),
            password("k-late", "Abc", Some("2027-06-01T00:00:00Z")),
            password("k-soon", "Abc", Some("2027-01-01T00:00:00Z")),
            password("k-never", "Abc", None),
        ];
        let got = in_use(&ps, SECRET).unwrap();
        assert_eq!((got.id.as_str(), got.expires_at.as_deref()), ("k-soon", Some("2027-01-01T00:00:00Z")));
        assert!(got.note.unwrap().contains("3 of the app's secrets"));

        let got = in_use(&ps[..2], SECRET).unwrap();
        assert_eq!((got.id.as_str(), got.note), ("k-late", None));

        let err = in_use(&ps[..1], SECRET).unwrap_err().to_string();
        assert!(err.contains("none of the 1 client secrets"), "{err}");
        assert!(!err.contains("Abc") && !err.contains("Xyz"), "no hint in an error: {err}");
    }

    #[tokio::test]
    async fn keyturns_own_app_is_read_by_its_client_id_with_only_its_passwords() {
        let body = json!({"passwordCredentials": [password("k1", "Abc", Some("2026-12-08T09:00:00Z"))]});
        let (url, req) = answer(200, &[("content-type", "application/json")], &body.to_string()).await;
        let got = entra_secret(&entra(&url, "0f0f0f0f-1234")).await.unwrap();
        assert_eq!(got.id, "k1");
        let seen = req.await.unwrap();
        assert!(seen.starts_with("GET /applications(appId='0f0f0f0f-1234')?%24select=passwordCredentials "), "{seen}");
        assert!(!seen.contains(SECRET));
    }

    #[tokio::test]
    async fn graph_refusals_say_what_to_fix_and_a_bad_client_id_is_never_sent() {
        let (url, _) = answer(403, &[("content-type", "application/json")], r#"{"error":{"code":"x"}}"#).await;
        let err = entra_secret(&entra(&url, "c1")).await.unwrap_err().to_string();
        assert!(err.contains("Application.Read.All"), "{err}");
        let (url, _) = answer(404, &[("content-type", "application/json")], r#"{"error":{"code":"x"}}"#).await;
        let err = entra_secret(&entra(&url, "c1")).await.unwrap_err().to_string();
        assert!(err.contains("client_id c1: no such application"), "{err}");
        let (url, _) = answer(200, &[("content-type", "application/json")], r#"{"id":"x"}"#).await;
        let err = entra_secret(&entra(&url, "c1")).await.unwrap_err().to_string();
        assert!(err.contains("no passwordCredentials"), "{err}");
        let err = entra_secret(&entra("http://127.0.0.1:9", "c1')/owners?x='")).await.unwrap_err().to_string();
        assert!(err.contains("client_id is not an application (client) id"), "{err}");
    }

    fn okta(url: &str, id: Option<&str>) -> Okta {
        let o = Okta::new(reqwest::Client::new(), url, SecretValue::new("fake-okta-api-token-123"));
        match id {
            Some(id) => o.with_api_token_id(id),
            None => o,
        }
    }

    #[tokio::test]
    async fn the_okta_token_is_read_by_its_id_and_its_expiry_reported() {
        let body = json!({"id": "00T1", "name": "keyturn", "expiresAt": "2026-12-24T09:00:00.000Z",
                          "tokenWindow": "P30D", "network": {"connection": "ANYWHERE"}});
        let (url, req) = answer(200, &[("content-type", "application/json")], &body.to_string()).await;
        let got = okta_token(&okta(&url, Some("00T1"))).await.unwrap();
        assert_eq!((got.id.as_str(), got.expires_at.as_deref()), ("00T1", Some("2026-12-24T09:00:00.000Z")));
        let seen = req.await.unwrap();
        assert!(seen.starts_with("GET /api/v1/api-tokens/00T1 "), "{seen}");

        let err = okta_token(&okta(&url, None)).await.unwrap_err().to_string();
        assert!(err.contains("no api_token_id"), "{err}");
        let (url, _) = answer(404, &[("content-type", "application/json")], r#"{"errorCode":"E0000007"}"#).await;
        let err = okta_token(&okta(&url, Some("00T9"))).await.unwrap_err().to_string();
        assert!(err.contains("api_token_id 00T9: no such active API token"), "{err}");
        let (url, _) = answer(200, &[("content-type", "application/json")], r#"{"id":"00T1","expiresAt":7}"#).await;
        let err = okta_token(&okta(&url, Some("00T1"))).await.unwrap_err().to_string();
        assert!(err.contains("expiresAt"), "{err}");
        assert!(!err.contains("fake-okta-api-token"));
    }
}
