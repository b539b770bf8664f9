//! The SCIM provisioning probe, one for every SCIM token keyturn holds:
//! `scim-token` connectors name their endpoint (`scim_base`), and
//! `atlassian-scim` is that kind's preset, its endpoint derived from
//! `directory_id` ([`target`]). Both are proven by the same RFC 7644 read.

use super::vendor::{send, CALL_TIMEOUT};
use super::Atlassian;
use keyturn_app::rotation::VendorError;
use keyturn_domain::destination::{with_query, Url};
use keyturn_domain::{Connector, ConnectorKind, SecretValue};

/// Where a connector's SCIM token is used, and how a wrong address is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimTarget {
    /// The SCIM base URL (what an identity provider calls `BaseAddress`).
    pub base: Url,
    /// The service named in errors and in the audit's vendor calls.
    pub service: &'static str,
    /// Added to a 404: which inventory field holds the address.
    pub hint_404: &'static str,
}

pub(crate) const ATLASSIAN_HINT: &str =
    "hint: check the connector's directory_id against the SCIM base URL admin.atlassian.com \
                              shows for this identity provider: …/scim/directory/{directory_id}";
const SCIM_BASE_HINT: &str =
    "hint: check the connector's scim_base against the SCIM base URL the vendor's console shows";

fn rejected(operation: &'static str, detail: String) -> VendorError {
    VendorError::Rejected { service: "scim", operation, detail }
}

/// The SCIM endpoint of a connector whose key is a SCIM token.
pub fn target(atlassian: &Atlassian, c: &Connector) -> Result<ScimTarget, VendorError> {
    match c.kind {
        ConnectorKind::AtlassianScim => Ok(ScimTarget {
            base: atlassian.scim_base(c.directory_id.as_deref().unwrap_or_default())?,
            service: "atlassian",
            hint_404: ATLASSIAN_HINT,
        }),
        ConnectorKind::ScimToken => {
            let raw = c.scim_base.as_deref().ok_or_else(|| rejected("ScimBase", "no scim_base".into()))?;
            let base = keyturn_domain::destination::parse("scim_base", raw)
                .map_err(|e| rejected("ScimBase", e.to_string()))?;
            Ok(ScimTarget { base, service: "scim", hint_404: SCIM_BASE_HINT })
        }
        other => Err(rejected("ScimBase", format!("{other} keys are not SCIM tokens"))),
    }
}

/// `{base}/Users`
fn users(target: &ScimTarget) -> Result<Url, VendorError> {
    let mut url = target.base.clone();
    url.path_segments_mut()
        .map_err(|()| rejected("ScimListUsers", "the SCIM base URL cannot take a path".into()))?
        .pop_if_empty()
        .push("Users");
    Ok(url)
}

/// RFC 7644 §3.4.2: `GET {base}/Users?startIndex=1&count=1` must answer a
/// ListResponse (any valid one, [`super::parse::scim_list`]).
pub async fn probe(http: &reqwest::Client, target: &ScimTarget, key: &SecretValue) -> Result<(), VendorError> {
    let req = http
        .get(with_query(users(target)?, &[("startIndex", "1"), ("count", "1")]))
        .bearer_auth(key.expose())
        // RFC 7644 §3.1: SCIM's media type.
        .header(reqwest::header::ACCEPT, "application/scim+json")
        .timeout(CALL_TIMEOUT);
    let (_, body) = send(target.service, "ScimListUsers", req).await.map_err(|e| match e {
        // An unknown directory ("Unknown tenant") is a wrong address, not a wrong key.
        VendorError::Refused { service, operation, status: 404, body } => {
            VendorError::Refused { service, operation, status: 404, body: format!("{body} ({})", target.hint_404) }
        }
        other => other,
    })?;
    super::parse::scim_list(&body)
}

// Atlassian's SCIM read lives here, beside the one probe it uses (the
// Atlassian adapter itself knows nothing of SCIM parsing).
impl Atlassian {
    /// `GET /scim/directory/{id}/Users?startIndex=1&count=1` must return a
    /// ListResponse: the one SCIM probe ([`probe`]) at this
    /// directory's endpoint.
    pub async fn scim_probe(&self, directory_id: &str, key: &SecretValue) -> Result<(), VendorError> {
        let target = ScimTarget { base: self.scim_base(directory_id)?, service: "atlassian", hint_404: ATLASSIAN_HINT };
        probe(&self.http, &target, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answer;
    use super::*;
    use keyturn_domain::inventory::{validate_record, Location, RawRecord, ValidationContext};

    fn connector(kind: &str, extra: &[(&str, &str)]) -> Connector {
        let mut fields: std::collections::BTreeMap<String, String> = [
            ("id", "acme/scim"),
            ("kind", kind),
            ("org", "acme"),
            ("idp", "none"),
            ("owner", "ann@acme.example"),
            ("approver_group", "it-change"),
            ("secret_arn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scim/acme"),
            ("expires_at", "2026-12-01"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        fields.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let now = time::macros::datetime!(2026-11-24 06:00 UTC);
        validate_record(&RawRecord { location: Location::Item, fields }, &ValidationContext::at(now)).unwrap()
    }

    /// The preset and the general kind build the same way: Atlassian's
    /// endpoint from its base and the directory id (unchanged), any other
    /// vendor's as written; `/Users` goes after either, a trailing `/` or not.
    #[test]
    fn the_atlassian_preset_and_any_scim_base_give_one_endpoint_shape() {
        let atlassian = Atlassian::new(reqwest::Client::new(), "https://api.atlassian.com/");
        let preset = target(&atlassian, &connector("atlassian-scim", &[("directory_id", "d-1")])).unwrap();
        assert_eq!(preset.base.as_str(), "https://api.atlassian.com/scim/directory/d-1");
        assert_eq!(users(&preset).unwrap().as_str(), "https://api.atlassian.com/scim/directory/d-1/Users");
        assert_eq!(preset.service, "atlassian");

        let gh = connector("scim-token", &[("scim_base", "https://api.github.com/scim/v2/enterprises/acme/")]);
        let any = target(&atlassian, &gh).unwrap();
        assert_eq!(any.base.as_str(), "https://api.github.com/scim/v2/enterprises/acme");
        assert_eq!(users(&any).unwrap().as_str(), "https://api.github.com/scim/v2/enterprises/acme/Users");
        let mut slash = gh.clone();
        slash.scim_base = Some("https://scim.vendor.example/".into());
        assert_eq!(users(&target(&atlassian, &slash).unwrap()).unwrap().as_str(), "https://scim.vendor.example/Users");
        assert_eq!(any.service, "scim");

        let key = connector("atlassian-api-key", &[]);
        assert!(target(&atlassian, &key).is_err(), "an org API key is no SCIM token");
    }

    /// The probe a `scim-token` connector runs is RFC 7644's, at its own
    /// endpoint, asking for SCIM; a 404 names `scim_base`, never the key.
    #[tokio::test]
    async fn a_scim_token_is_probed_at_its_own_endpoint() {
        let list =
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}"#;
        let (url, req) = answer(200, &[("content-type", "application/scim+json")], list).await;
        let c = connector("scim-token", &[("scim_base", &format!("{url}/tenant-a/v2"))]);
        let atlassian = Atlassian::new(reqwest::Client::new(), "https://api.atlassian.com");
        let key = SecretValue::new("scim-token-0123456789abcdef");
        probe(&reqwest::Client::new(), &target(&atlassian, &c).unwrap(), &key).await.unwrap();
        let seen = req.await.unwrap();
        assert!(seen.starts_with("GET /tenant-a/v2/Users?startIndex=1&count=1 "), "{seen}");
        let lower = seen.to_ascii_lowercase();
        assert!(lower.contains("accept: application/scim+json"), "{seen}");
        assert!(lower.contains("authorization: bearer scim-token-0123456789abcdef"), "{seen}");

        let (url, _) = answer(404, &[], r#"{"detail":"no such tenant","echo":"scim-token-0123456789abcdef"}"#).await;
        let c = connector("scim-token", &[("scim_base", &format!("{url}/v2"))]);
        let err = probe(&reqwest::Client::new(), &target(&atlassian, &c).unwrap(), &key).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no such tenant") && text.contains("scim_base"), "{text}");
        assert!(!text.contains(key.expose()), "{text}");
    }
}
