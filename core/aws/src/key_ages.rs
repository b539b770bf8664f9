//! When keyturn's signing keys were made, for `keyturn status`: the
//! `CreatedDate` of each secret's `AWSCURRENT` version (a rotation writes a
//! new version, so the secret's own `CreatedDate` would say when the first
//! key was made, not the one in use). Neither key has a rotation schedule
//! yet, so `rotate_by` is `None`; once one exists it is read here.

use aws_sdk_secretsmanager::primitives::DateTimeFormat;
use aws_sdk_secretsmanager::Client;

use super::store_error;
use keyturn_app::ports::{KeyAge, KeyAges, StoreError};

/// The link-signing and audit-signing keys' secrets.
#[derive(Debug, Clone)]
pub struct SecretsKeyAges {
    client: Client,
    link_secret: String,
    audit_secret: String,
}

impl SecretsKeyAges {
    pub fn new(client: Client, link_secret: impl Into<String>, audit_secret: impl Into<String>) -> Self {
        Self { client, link_secret: link_secret.into(), audit_secret: audit_secret.into() }
    }

    /// The `AWSCURRENT` version's id and creation date; `None`: no secret yet.
    async fn current(&self, secret_id: &str) -> Result<Option<KeyAge>, StoreError> {
        let out = match self.client.list_secret_version_ids().secret_id(secret_id).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => return Ok(None),
            Err(e) => return Err(store_error("secretsmanager", "ListSecretVersionIds", e)),
        };
        Ok(out.versions().iter().find(|v| v.version_stages().iter().any(|s| s == "AWSCURRENT")).map(|v| KeyAge {
            id: v.version_id().unwrap_or_default().to_owned(),
            created: v.created_date().and_then(|d| d.fmt(DateTimeFormat::DateTime).ok()),
            rotate_by: None,
        }))
    }
}

impl KeyAges for SecretsKeyAges {
    async fn link_signing(&self) -> Result<Option<KeyAge>, StoreError> {
        self.current(&self.link_secret).await
    }

    async fn audit_signing(&self) -> Result<Option<KeyAge>, StoreError> {
        self.current(&self.audit_secret).await
    }
}
