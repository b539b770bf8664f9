//! The rotation ports on HTTP: which vendor API and which identity provider
//! a connector uses follows from its kind and binding, nothing else.

use std::sync::Arc;

use super::{entra_app, okta_app, AppSecretPolicy, Atlassian, Entra, Okta};
use keyturn_app::lazy::Lazy;
use keyturn_app::ports::{Consumer, KeyVendor};
use keyturn_app::rotation::{StoredKey, VendorError};
use keyturn_domain::{Connector, ConnectorKind, IdpBinding};

fn unsupported(operation: &'static str, detail: String) -> VendorError {
    VendorError::Rejected { service: "keyturn", operation, detail }
}

/// Vendor key APIs by connector kind.
#[derive(Debug, Clone)]
pub struct HttpVendor {
    pub atlassian: Atlassian,
    /// For `generic-http` templates.
    pub http: reqwest::Client,
    /// keyturn's own Graph access (`entra-app-secret`), shared with [`HttpConsumer`].
    pub entra: Option<Arc<Lazy<Entra>>>,
    /// keyturn's own Okta API access (`okta-client-secret`), shared with [`HttpConsumer`].
    pub okta: Option<Arc<Lazy<Okta>>>,
    pub app_secrets: AppSecretPolicy,
}

async fn okta(lazy: &Option<Arc<Lazy<Okta>>>) -> Result<&Okta, VendorError> {
    let lazy = lazy
        .as_ref()
        .ok_or_else(|| unsupported("Okta", "no Okta credentials configured (KEYTURN_OKTA_SECRET)".into()))?;
    lazy.get().await.map_err(|e| unsupported("Okta", e))
}

/// keyturn's own Graph client, or the variable that would configure it.
async fn entra(lazy: &Option<Arc<Lazy<Entra>>>) -> Result<&Entra, VendorError> {
    let lazy = lazy
        .as_ref()
        .ok_or_else(|| unsupported("Entra", "no Entra credentials configured (KEYTURN_ENTRA_SECRET)".into()))?;
    lazy.get().await.map_err(|e| unsupported("Entra", e))
}

impl KeyVendor for HttpVendor {
    async fn create(&self, c: &Connector, auth: &StoredKey, label: &str) -> Result<StoredKey, VendorError> {
        match c.kind {
            // The procedure table never asks: these keys come from their owner,
            // Atlassian documents no API that makes them (docs/vendors.md).
            ConnectorKind::AtlassianApiKey | ConnectorKind::AtlassianScim | ConnectorKind::ScimToken => {
                Err(unsupported("CreateKey", format!("{} keys are created by their owner, not by API", c.kind)))
            }
            ConnectorKind::GenericHttp => super::generic::create(&self.http, c, auth, label).await,
            // keyturn's own Graph token makes the secret, not the app's.
            ConnectorKind::EntraAppSecret => {
                entra_app::create(entra(&self.entra).await?, &self.app_secrets, c, label).await
            }
            ConnectorKind::OktaClientSecret => okta_app::create(okta(&self.okta).await?, c).await,
        }
    }

    async fn revoke(&self, c: &Connector, auth: &StoredKey, key_id: &str) -> Result<(), VendorError> {
        match c.kind {
            ConnectorKind::AtlassianApiKey => self.atlassian.revoke_org_key(&c.org, &auth.value, key_id).await,
            ConnectorKind::GenericHttp => super::generic::revoke(&self.http, c, auth, key_id).await,
            ConnectorKind::AtlassianScim | ConnectorKind::ScimToken => {
                Err(unsupported("RevokeKey", format!("{} keys cannot be revoked by API", c.kind)))
            }
            ConnectorKind::EntraAppSecret => entra_app::revoke(entra(&self.entra).await?, c, key_id).await,
            ConnectorKind::OktaClientSecret => okta_app::revoke(okta(&self.okta).await?, c, key_id).await,
        }
    }

    async fn leftovers(&self, c: &Connector, auth: &StoredKey, label: &str) -> Result<Vec<String>, VendorError> {
        match c.kind {
            ConnectorKind::AtlassianApiKey => self.atlassian.org_keys_labelled(&c.org, &auth.value, label).await,
            // A template has no list call: nothing to find.
            ConnectorKind::GenericHttp | ConnectorKind::AtlassianScim | ConnectorKind::ScimToken => Ok(Vec::new()),
            ConnectorKind::EntraAppSecret => entra_app::leftovers(entra(&self.entra).await?, c, label).await,
            // Okta's secrets carry no name to find a lost one by; create
            // refuses at Okta's two instead of deleting one it did not make.
            ConnectorKind::OktaClientSecret => Ok(Vec::new()),
        }
    }

    async fn probe(&self, c: &Connector, key: &StoredKey) -> Result<(), VendorError> {
        match c.kind {
            // One SCIM probe: `atlassian-scim` is `scim-token` with its endpoint
            // derived from `directory_id`.
            ConnectorKind::AtlassianScim | ConnectorKind::ScimToken => {
                super::scim::probe(&self.http, &super::scim::target(&self.atlassian, c)?, &key.value).await
            }
            ConnectorKind::AtlassianApiKey => self.atlassian.org_probe(&c.org, &key.value).await,
            ConnectorKind::GenericHttp => super::generic::probe(&self.http, c, key).await,
            ConnectorKind::EntraAppSecret => {
                entra_app::probe(entra(&self.entra).await?, &self.app_secrets, c, key).await
            }
            ConnectorKind::OktaClientSecret => {
                okta_app::probe(okta(&self.okta).await?, &self.app_secrets, c, key).await
            }
        }
    }
}

/// Identity providers by binding. A binding whose provider keyturn has no
/// credentials for is refused with the variable that is missing.
#[derive(Debug)]
pub struct HttpConsumer {
    pub atlassian: Atlassian,
    pub entra: Option<Arc<Lazy<Entra>>>,
    pub okta: Option<Arc<Lazy<Okta>>>,
}

impl HttpConsumer {
    async fn entra(&self) -> Result<&Entra, VendorError> {
        entra(&self.entra).await
    }

    async fn okta(&self) -> Result<&Okta, VendorError> {
        okta(&self.okta).await
    }

    /// The SCIM endpoint the identity provider provisions into with the key:
    /// the key goes there, so it is checked like a request keyturn sends.
    fn base(&self, c: &Connector) -> Result<String, VendorError> {
        let raw = match (c.kind, &c.http_template) {
            (ConnectorKind::GenericHttp, Some(t)) => {
                let values = [("org", c.org.as_str()), ("app_id", c.app_id.as_deref().unwrap_or_default())];
                t.scim_url(&values).map_err(|e| unsupported("ScimBase", format!("http_template scim_base: {e}")))?
            }
            _ => super::scim::target(&self.atlassian, c)?.base.to_string(),
        };
        let url = keyturn_domain::destination::parse("scim_base", &raw)
            .map_err(|e| unsupported("ScimBase", format!("refused destination {e}")))?;
        super::outbound::check_request("scim_base", &url)
            .map_err(|e| unsupported("ScimBase", format!("refused destination {e}")))?;
        Ok(raw)
    }
}

impl Consumer for HttpConsumer {
    async fn validate_candidate(&self, c: &Connector, key: &StoredKey) -> Result<(), VendorError> {
        match &c.idp {
            IdpBinding::Entra { service_principal_id, job_id } => {
                self.entra().await?.validate(service_principal_id, job_id, &self.base(c)?, Some(&key.value)).await
            }
            // Okta has no candidate test; the vendor pre-flight covered the key.
            IdpBinding::Okta { .. } | IdpBinding::None => Ok(()),
        }
    }

    async fn push(&self, c: &Connector, key: &StoredKey) -> Result<(), VendorError> {
        match &c.idp {
            IdpBinding::Entra { service_principal_id, .. } => {
                self.entra().await?.save(service_principal_id, &self.base(c)?, &key.value).await
            }
            // Okta documents token pushes for Org2Org and Zscaler 2.0 only: for
            // every other app a person sets the token in the Admin Console
            // (the owner, during the hand-over); keyturn only verifies.
            IdpBinding::Okta { .. } => Err(VendorError::Rejected {
                service: "okta",
                operation: "SetConnection",
                detail: "Okta takes this app's token only in its Admin Console (Applications > the app > Provisioning \
                         > Integration): set it there by hand"
                    .into(),
            }),
            IdpBinding::None => Ok(()),
        }
    }

    async fn check(&self, c: &Connector) -> Result<(), VendorError> {
        match &c.idp {
            IdpBinding::Entra { service_principal_id, job_id } => {
                let entra = self.entra().await?;
                entra.validate(service_principal_id, job_id, &self.base(c)?, None).await?;
                entra.unquarantine(service_principal_id, job_id).await.map(|_| ())
            }
            IdpBinding::Okta { app_id } => self.okta().await?.check(app_id).await,
            IdpBinding::None => Ok(()),
        }
    }

    async fn state(&self, c: &Connector) -> Result<String, VendorError> {
        match &c.idp {
            IdpBinding::Entra { service_principal_id, job_id } => {
                Ok(format!("job {}", self.entra().await?.job_status(service_principal_id, job_id).await?))
            }
            IdpBinding::Okta { app_id } => Ok(format!("connection {}", self.okta().await?.status(app_id).await?)),
            IdpBinding::None => Ok("none".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::vendor::tests::answers;
    use super::*;
    use keyturn_domain::inventory::{validate_record, ValidationContext};
    use keyturn_domain::SecretValue;

    /// Issue 20 item 11: Okta takes a token by API only for Org2Org and
    /// Zscaler 2.0, so a push to an Okta-bound connector sends Okta nothing
    /// (the key least of all) and says where the owner sets it instead.
    #[tokio::test]
    async fn an_okta_consumer_is_never_sent_the_key() {
        let (url, mut seen) = answers(vec![(200, vec![], r#"{"status":"ENABLED"}"#.into())]).await;
        let okta = Okta::new(reqwest::Client::new(), &url, SecretValue::new("okta-api-token-123"));
        let consumer = HttpConsumer {
            atlassian: Atlassian::new(reqwest::Client::new(), &url),
            entra: None,
            okta: Some(std::sync::Arc::new(keyturn_app::lazy::Lazy::new(move || {
                let okta = okta.clone();
                async move { Ok(okta) }
            }))),
        };
        let stored =
            keyturn_app::testkit::record("acme/scim", "atlassian-scim", &[("idp", "okta"), ("idp_app_id", "0oa1")]);
        let now = time::macros::datetime!(2026-11-24 09:00 UTC);
        let c = validate_record(&stored.record, &ValidationContext::at(now)).expect("a valid record");
        let key = StoredKey::new(SecretValue::new("scim-key-0123456789"));
        let err = consumer.push(&c, &key).await.expect_err("Okta is not pushed a token").to_string();
        assert!(err.contains("Admin Console"), "{err}");
        assert!(seen.try_recv().is_err(), "no request reached Okta");
    }
}
