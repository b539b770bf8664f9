//! When keyturn's signing keys were made, for `keyturn status`: the
//! current version's id, and the secret's `LastRotatedDate`, else its
//! `CreatedDate` (DescribeSecret). A rotation by `PutSecretValue` (as `keyturn
//! links rotate-key` does) moves neither, so the key in use may be younger
//! than shown, never older. The version list's `CreatedDate` would be exact,
//! but moto answers it with the time of the call (and a missing secret with a
//! bare 500), and the demo and e2e run on moto. Neither key has a rotation
//! schedule yet, so `rotate_by` is `None`; once one exists it is read here.

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

    /// The `AWSCURRENT` version's id and the secret's dates; `None`: no secret yet.
    async fn current(&self, secret_id: &str) -> Result<Option<KeyAge>, StoreError> {
        let described = match self.client.describe_secret().secret_id(secret_id).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => return Ok(None),
            Err(e) => return Err(store_error("secretsmanager", "DescribeSecret", e)),
        };
        let current = described
            .version_ids_to_stages()
            .and_then(|m| m.iter().find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT")))
            .map(|(id, _)| id.clone());
        let Some(id) = current else { return Ok(None) };
        let created = described
            .last_rotated_date()
            .or(described.created_date())
            .and_then(|d| d.fmt(DateTimeFormat::DateTime).ok());
        Ok(Some(KeyAge { id, created, rotate_by: None }))
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
