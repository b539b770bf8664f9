//! The services, in memory: the vendor (keys it made and accepts), the
//! identity provider (the key it holds), email, Slack, Jira, Step Functions
//! callbacks, the link-signing keys and the routing document, and what
//! keyturn's own credentials' issuers report.

use super::{Fakes, TaskAnswer, VendorKey};
use crate::approval::{Email, Routing, SlackWebhook, TaskToken};
use crate::ports::{
    Chat, Consumer, Delivery, IssuedCredential, KeyAge, KeyAges, KeyVendor, Mailer, OwnCredentials, RoutingSource,
    SigningKeys, StoreError, TaskCallbacks, Tickets,
};
use crate::rotation::{StoredKey, VendorError};
use keyturn_domain::approval::KeyRing;
use keyturn_domain::{Connector, SecretValue};
use time::OffsetDateTime;

const SERVICE: &str = "atlassian";

impl KeyVendor for Fakes {
    async fn create(&self, _: &Connector, auth: &StoredKey, label: &str) -> Result<StoredKey, VendorError> {
        if let Some(e) = self.create_mood.lock().unwrap().error(SERVICE, "CreateKey") {
            return Err(e);
        }
        if !self.live.lock().unwrap().contains(auth.value.expose()) {
            return Err(VendorError::Unauthorized { service: SERVICE, operation: "CreateKey", status: 401 });
        }
        let key = {
            let mut keys = self.vendor_keys.lock().unwrap();
            let id = format!("k-{}", keys.len());
            let value = format!("minted-{id}-0123456789abcdef");
            keys.push(VendorKey {
                id: id.clone(),
                label: label.to_owned(),
                value: SecretValue::new(value.clone()),
                active: true,
            });
            self.live.lock().unwrap().insert(value.clone());
            let mut key = StoredKey::new(SecretValue::new(value));
            key.key_id = Some(id);
            key.expires_at = Some("2027-11-24T00:00:00Z".into());
            key
        };
        self.wrote_at_vendor(format!("vendor create {}", key.key_id.as_deref().unwrap_or_default()))?;
        Ok(key)
    }
    async fn revoke(&self, _: &Connector, _: &StoredKey, key_id: &str) -> Result<(), VendorError> {
        if self.unrevocable.lock().unwrap().contains(key_id) {
            return Err(VendorError::Unavailable {
                service: SERVICE,
                operation: "RevokeKey",
                detail: "HTTP 503".into(),
            });
        }
        let revoked = {
            let mut keys = self.vendor_keys.lock().unwrap();
            let Some(k) = keys.iter_mut().find(|k| k.id == key_id) else {
                return Err(VendorError::Refused {
                    service: SERVICE,
                    operation: "RevokeKey",
                    status: 404,
                    body: "no such key".into(),
                });
            };
            // Revoking a revoked key changes nothing (a retried DELETE).
            std::mem::replace(&mut k.active, false).then(|| k.value.clone())
        };
        if let Some(value) = revoked {
            self.live.lock().unwrap().remove(value.expose());
            self.wrote_at_vendor(format!("vendor revoke {key_id}"))?;
        }
        Ok(())
    }
    async fn leftovers(&self, _: &Connector, _: &StoredKey, label: &str) -> Result<Vec<String>, VendorError> {
        let keys = self.vendor_keys.lock().unwrap();
        Ok(keys.iter().filter(|k| k.active && k.label == label).map(|k| k.id.clone()).collect())
    }
    async fn probe(&self, _: &Connector, key: &StoredKey) -> Result<(), VendorError> {
        self.probes.lock().unwrap().push(key.fingerprint());
        let operation = "ScimListUsers";
        if let Some(e) = self.mood.lock().unwrap().error(SERVICE, operation) {
            return Err(e);
        }
        if self.live.lock().unwrap().contains(key.value.expose()) {
            Ok(())
        } else {
            Err(VendorError::Unauthorized { service: SERVICE, operation, status: 401 })
        }
    }
}

impl Consumer for Fakes {
    async fn validate_candidate(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
        self.idp_refuses.lock().unwrap().clone().map_or(Ok(()), Err)
    }
    async fn push(&self, _: &Connector, key: &StoredKey) -> Result<(), VendorError> {
        if let Some(e) = self.idp_refuses.lock().unwrap().clone() {
            return Err(e);
        }
        *self.idp_key.lock().unwrap() = Some(key.fingerprint());
        self.wrote_at_vendor(format!("idp push {}", key.fingerprint()))
    }
    async fn check(&self, _: &Connector) -> Result<(), VendorError> {
        self.idp_check_fails.lock().unwrap().clone().map_or(Ok(()), Err)
    }
    async fn state(&self, _: &Connector) -> Result<String, VendorError> {
        Ok("fake".into())
    }
}

impl RoutingSource for Fakes {
    async fn routing(&self) -> Result<Routing, StoreError> {
        Ok(self.routing.clone())
    }
}

impl Mailer for Fakes {
    async fn send(&self, email: &Email) -> Result<String, StoreError> {
        if *self.mail_fails.lock().unwrap() {
            return Err(StoreError {
                service: "sesv2",
                operation: "SendEmail",
                message: "down".into(),
                retryable: true,
            });
        }
        let mut mail = self.mail.lock().unwrap();
        mail.push(email.clone());
        Ok(format!("msg-{}", mail.len()))
    }
}

impl Chat for Fakes {
    async fn post(&self, hook: &SlackWebhook, payload: &serde_json::Value) -> Result<(), StoreError> {
        if *self.chat_fails.lock().unwrap() {
            return Err(StoreError {
                service: "slack",
                operation: "Post",
                message: "HTTP 500".into(),
                retryable: true,
            });
        }
        let text = payload["text"].as_str().unwrap_or_default().to_owned();
        self.posts.lock().unwrap().push((hook.url().to_owned(), text));
        Ok(())
    }
}

impl TaskCallbacks for Fakes {
    async fn succeed(&self, _: &TaskToken, output: &serde_json::Value) -> Result<Delivery, StoreError> {
        match *self.task_answer.lock().unwrap() {
            TaskAnswer::Deliver => {
                self.delivered.lock().unwrap().push(output.clone());
                Ok(Delivery::Delivered)
            }
            TaskAnswer::Gone => Ok(Delivery::TaskGone),
            TaskAnswer::Fail => Err(StoreError {
                service: "sfn",
                operation: "SendTaskSuccess",
                message: "internal failure".into(),
                retryable: false,
            }),
        }
    }
}

/// The fixed test ring: it never rotates (rotation is tested with
/// [`super::keys::MemLinkKeys`]).
impl SigningKeys for Fakes {
    async fn keyring(&self) -> Result<KeyRing, StoreError> {
        Ok(self.ring.clone())
    }

    async fn current_key(&self) -> Result<keyturn_domain::signing_keys::KeyInfo, StoreError> {
        Ok(keyturn_domain::signing_keys::KeyInfo {
            id: self.ring.current.kid().to_owned(),
            created_at: time::macros::datetime!(2026-01-01 00:00 UTC),
        })
    }

    async fn rotate(&self, _: OffsetDateTime) -> Result<keyturn_domain::signing_keys::KeyInfo, StoreError> {
        Err(Fakes::store_error("PutSecretValue", "the Fakes' test ring is fixed"))
    }
}

impl Tickets for Fakes {
    async fn open(&self, summary: &str, _: &str) -> Result<String, StoreError> {
        let log = self.tickets.as_ref().ok_or_else(|| Fakes::store_error("CreateIssue", "no ticket system"))?;
        let mut log = log.lock().unwrap();
        let key = format!("OPS-{}", log.len() + 1);
        log.push((key.clone(), summary.to_owned()));
        Ok(key)
    }
    async fn comment(&self, key: &str, text: &str) -> Result<(), StoreError> {
        self.ticket_comments.lock().unwrap().push((key.to_owned(), text.to_owned()));
        Ok(())
    }
}

/// keyturn's own credentials as the fakes report them: by default no Entra
/// or Okta credentials configured and both signing keys made on 2026-11-01.
#[derive(Debug, Clone)]
pub struct OwnFakes {
    pub entra: Option<Result<IssuedCredential, VendorError>>,
    pub okta: Option<Result<IssuedCredential, VendorError>>,
    pub link_key: Result<Option<KeyAge>, StoreError>,
    pub audit_key: Result<Option<KeyAge>, StoreError>,
}

impl Default for OwnFakes {
    fn default() -> Self {
        let made = |id: &str| KeyAge { id: id.into(), created: Some("2026-11-01T00:00:00Z".into()), rotate_by: None };
        Self { entra: None, okta: None, link_key: Ok(Some(made("v-link-1"))), audit_key: Ok(Some(made("v-audit-1"))) }
    }
}

impl OwnCredentials for Fakes {
    async fn entra_secret(&self) -> Option<Result<IssuedCredential, VendorError>> {
        self.own.lock().unwrap().entra.clone()
    }
    async fn okta_token(&self) -> Option<Result<IssuedCredential, VendorError>> {
        self.own.lock().unwrap().okta.clone()
    }
}

impl KeyAges for Fakes {
    async fn link_signing(&self) -> Result<Option<KeyAge>, StoreError> {
        self.own.lock().unwrap().link_key.clone()
    }
    async fn audit_signing(&self) -> Result<Option<KeyAge>, StoreError> {
        self.own.lock().unwrap().audit_key.clone()
    }
}
