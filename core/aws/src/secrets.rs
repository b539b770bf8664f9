//! Secrets Manager: the link-signing keys and the approver routing.

use aws_sdk_secretsmanager::Client;

use super::store_error;
use keyturn_app::approval::Routing;
use keyturn_app::ports::{RoutingSource, SigningKeys, StoreError};
use keyturn_domain::approval::{KeyRing, SigningKey};
use keyturn_domain::signing_keys::{AuditKeyFile, KeyInfo, PublishedKey};
use time::OffsetDateTime;

fn config_error(operation: &'static str, message: String) -> StoreError {
    StoreError { service: "secretsmanager", operation, message, retryable: false }
}

/// Fresh key material, hex-encoded (the secret string).
fn random_key_hex() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| config_error("CreateSecret", format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The link-signing key: one secret whose `AWSCURRENT` version signs and
/// whose `AWSPREVIOUS` version still verifies. The key id is the version id
/// and its age the version's `CreatedDate`, so rotating is one
/// `PutSecretValue` (the daily run on schedule, `keyturn links rotate-key`
/// by hand) and links signed before it stay valid until they expire.
#[derive(Debug, Clone)]
pub struct SecretsSigningKeys {
    client: Client,
    secret_id: String,
}

/// The `CreatedDate` of a version, which every Secrets Manager answer carries.
fn created(
    secret_id: &str,
    date: Option<&aws_sdk_secretsmanager::primitives::DateTime>,
) -> Result<OffsetDateTime, StoreError> {
    date.and_then(|d| OffsetDateTime::from_unix_timestamp(d.secs()).ok())
        .ok_or_else(|| config_error("GetSecretValue", format!("{secret_id}: the current version has no CreatedDate")))
}

impl SecretsSigningKeys {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self { client, secret_id: secret_id.into() }
    }

    async fn version(&self, stage: &str) -> Result<Option<(SigningKey, OffsetDateTime)>, StoreError> {
        let out = self.client.get_secret_value().secret_id(&self.secret_id).version_stage(stage).send().await;
        let out = match out {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => return Ok(None),
            Err(e) => return Err(store_error("secretsmanager", "GetSecretValue", e)),
        };
        let kid = out.version_id().unwrap_or_default();
        let bytes = out
            .secret_string()
            .and_then(|s| hex::decode(s.trim()).ok())
            .ok_or_else(|| config_error("GetSecretValue", format!("{} ({stage}) is not a hex key", self.secret_id)))?;
        let key = SigningKey::from_parts(kid, bytes)
            .map_err(|e| config_error("GetSecretValue", format!("{} ({stage}): {e}", self.secret_id)))?;
        Ok(Some((key, created(&self.secret_id, out.created_date())?)))
    }

    /// Creates the secret with a first key, unless someone else just did.
    async fn create(&self) -> Result<(), StoreError> {
        let result = self
            .client
            .create_secret()
            .name(&self.secret_id)
            .description(
                "keyturn: HMAC key for signed approval links (rotated on schedule; `keyturn links rotate-key` by hand)",
            )
            .secret_string(random_key_hex()?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_exists_exception()) => Ok(()),
            Err(e) => Err(store_error("secretsmanager", "CreateSecret", e)),
        }
    }

    /// The current key and when it was made; `None`: not made yet.
    pub(crate) async fn made(&self) -> Result<Option<KeyInfo>, StoreError> {
        Ok(self.version("AWSCURRENT").await?.map(|(key, created_at)| KeyInfo { id: key.kid().to_owned(), created_at }))
    }

    /// The current version, created first where keyturn may create secrets.
    async fn current(&self) -> Result<(SigningKey, OffsetDateTime), StoreError> {
        match self.version("AWSCURRENT").await? {
            Some(k) => Ok(k),
            None => {
                self.create().await?;
                self.version("AWSCURRENT").await?.ok_or_else(|| {
                    config_error("GetSecretValue", format!("{} has no current version after creation", self.secret_id))
                })
            }
        }
    }
}

impl SigningKeys for SecretsSigningKeys {
    async fn keyring(&self) -> Result<KeyRing, StoreError> {
        let (current, _) = self.current().await?;
        let previous = self.version("AWSPREVIOUS").await?.map(|(k, _)| k);
        Ok(KeyRing { current, previous })
    }

    async fn current_key(&self) -> Result<KeyInfo, StoreError> {
        let (key, created_at) = self.current().await?;
        Ok(KeyInfo { id: key.kid().to_owned(), created_at })
    }

    /// `now` is not used: the new version's `CreatedDate` is its age.
    async fn rotate(&self, _now: OffsetDateTime) -> Result<KeyInfo, StoreError> {
        self.current().await?;
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(random_key_hex()?)
            .send()
            .await
            .map_err(|e| store_error("secretsmanager", "PutSecretValue", e))?;
        self.current_key().await
    }
}

/// The Ed25519 key that signs audit digests, and every key it replaced: the
/// secret holds an [`AuditKeyFile`] (a plain 64-hex seed until the first
/// rotation). Created on first use where keyturn may create secrets (the
/// local stack); CDK and Terraform create it at deploy time. The current
/// key's age is its version's `CreatedDate`.
#[derive(Debug, Clone)]
pub struct SecretsAuditKey {
    client: Client,
    secret_id: String,
}

impl SecretsAuditKey {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self { client, secret_id: secret_id.into() }
    }

    async fn read(&self) -> Result<Option<(AuditKeyFile, OffsetDateTime)>, StoreError> {
        let out = match self.client.get_secret_value().secret_id(&self.secret_id).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => return Ok(None),
            Err(e) => return Err(store_error("secretsmanager", "GetSecretValue", e)),
        };
        let file = AuditKeyFile::parse(out.secret_string().unwrap_or_default())
            .map_err(|e| config_error("GetSecretValue", format!("{}: {e}", self.secret_id)))?;
        Ok(Some((file, created(&self.secret_id, out.created_date())?)))
    }

    /// The current public key and when it was made; `None`: not made yet.
    pub(crate) async fn made(&self) -> Result<Option<PublishedKey>, StoreError> {
        let Some((file, created)) = self.read().await? else { return Ok(None) };
        let published =
            file.published(created).map_err(|e| config_error("GetSecretValue", format!("{}: {e}", self.secret_id)))?;
        Ok(published.into_iter().last())
    }

    async fn file(&self) -> Result<(AuditKeyFile, OffsetDateTime), StoreError> {
        if let Some(f) = self.read().await? {
            return Ok(f);
        }
        let first = AuditKeyFile::generate().map_err(|e| config_error("CreateSecret", e))?;
        let created = self
            .client
            .create_secret()
            .name(&self.secret_id)
            .description("keyturn: Ed25519 seed that signs the daily audit digests, and the keys it replaced (`keyturn audit public-key` prints every public half)")
            .secret_string(first.to_secret_string().as_str())
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_exists_exception()) => {}
            Err(e) => return Err(store_error("secretsmanager", "CreateSecret", e)),
        }
        self.read()
            .await?
            .ok_or_else(|| config_error("GetSecretValue", format!("{} has no value after creation", self.secret_id)))
    }
}

impl keyturn_app::ports::AuditKeys for SecretsAuditKey {
    async fn signer(&self) -> Result<keyturn_domain::digest::AuditSigner, StoreError> {
        let (file, _) = self.file().await?;
        file.signer().map_err(|e| config_error("GetSecretValue", format!("{}: {e}", self.secret_id)))
    }

    async fn published(&self) -> Result<Vec<PublishedKey>, StoreError> {
        let (file, created) = self.file().await?;
        file.published(created).map_err(|e| config_error("GetSecretValue", format!("{}: {e}", self.secret_id)))
    }

    async fn rotate(&self, now: OffsetDateTime) -> Result<PublishedKey, StoreError> {
        let (file, created) = self.file().await?;
        let next = file.rotated(created, now).map_err(|e| config_error("PutSecretValue", e))?;
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(next.to_secret_string().as_str())
            .send()
            .await
            .map_err(|e| store_error("secretsmanager", "PutSecretValue", e))?;
        let public_key = next
            .signer()
            .map_err(|e| config_error("PutSecretValue", format!("{}: {e}", self.secret_id)))?
            .public_key_hex();
        let created_at = match self.read().await? {
            Some((_, at)) => at,
            None => now,
        };
        Ok(PublishedKey { public_key, created_at, retired_at: None })
    }
}

/// The approver routing document (JSON), kept as a secret because Slack
/// webhook URLs are credentials.
#[derive(Debug, Clone)]
pub struct SecretsRouting {
    client: Client,
    secret_id: String,
}

impl SecretsRouting {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self { client, secret_id: secret_id.into() }
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// Stores a (validated) routing document; creates the secret if needed.
    pub async fn put(&self, routing: &Routing) -> Result<(), StoreError> {
        let body = routing.to_json();
        let put = self.client.put_secret_value().secret_id(&self.secret_id).secret_string(&body).send().await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => {
                self.client
                    .create_secret()
                    .name(&self.secret_id)
                    .description("keyturn: approver routing (who approves, where they are told)")
                    .secret_string(body)
                    .send()
                    .await
                    .map_err(|e| store_error("secretsmanager", "CreateSecret", e))?;
                Ok(())
            }
            Err(e) => Err(store_error("secretsmanager", "PutSecretValue", e)),
        }
    }
}

impl RoutingSource for SecretsRouting {
    async fn routing(&self) -> Result<Routing, StoreError> {
        let out = self.client.get_secret_value().secret_id(&self.secret_id).send().await.map_err(|e| {
            if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) {
                config_error(
                    "GetSecretValue",
                    format!(
                        "approver routing secret {} does not exist: run `keyturn approvers set FILE`",
                        self.secret_id
                    ),
                )
            } else {
                store_error("secretsmanager", "GetSecretValue", e)
            }
        })?;
        let text = out.secret_string().unwrap_or_default();
        Routing::from_json(text).map_err(|e| config_error("GetSecretValue", format!("{}: {e}", self.secret_id)))
    }
}

// ---- the connectors' own secrets ------------------------------------------------

use keyturn_app::rotation::StoredKey;
use keyturn_domain::SecretArn;

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

/// The secrets that hold the connectors' keys, as rotation sees them.
#[derive(Debug, Clone)]
pub struct SecretsStore {
    client: Client,
}

impl SecretsStore {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn get(
        &self,
        arn: &SecretArn,
        stage: Option<&str>,
        id: Option<&str>,
    ) -> Result<Option<(String, StoredKey)>, StoreError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(arn.as_str())
            .set_version_stage(stage.map(str::to_owned))
            .set_version_id(id.map(str::to_owned))
            .send()
            .await;
        match out {
            Ok(o) => Ok(Some((
                o.version_id().unwrap_or_default().to_owned(),
                StoredKey::from_secret_string(o.secret_string().unwrap_or_default()),
            ))),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(store_error("secretsmanager", "GetSecretValue", e)),
        }
    }

    async fn stage(
        &self,
        arn: &SecretArn,
        stage: &str,
        to: Option<&str>,
        from: Option<&str>,
    ) -> Result<(), StoreError> {
        self.client
            .update_secret_version_stage()
            .secret_id(arn.as_str())
            .version_stage(stage)
            .set_move_to_version_id(to.map(str::to_owned))
            .set_remove_from_version_id(from.map(str::to_owned))
            .send()
            .await
            .map_err(|e| store_error("secretsmanager", "UpdateSecretVersionStage", e))?;
        Ok(())
    }
}

impl keyturn_app::ports::SecretStore for SecretsStore {
    async fn current(&self, arn: &SecretArn) -> Result<(String, StoredKey), StoreError> {
        self.get(arn, Some(CURRENT), None)
            .await?
            .ok_or_else(|| config_error("GetSecretValue", format!("{arn} has no current version: store the key first")))
    }

    async fn version(&self, arn: &SecretArn, id: &str) -> Result<Option<StoredKey>, StoreError> {
        Ok(self.get(arn, None, Some(id)).await?.map(|(_, k)| k))
    }

    async fn pending(&self, arn: &SecretArn) -> Result<Vec<String>, StoreError> {
        let out = self
            .client
            .list_secret_version_ids()
            .secret_id(arn.as_str())
            .send()
            .await
            .map_err(|e| store_error("secretsmanager", "ListSecretVersionIds", e))?;
        Ok(out
            .versions()
            .iter()
            .filter(|v| v.version_stages().iter().any(|s| s == PENDING))
            .filter_map(|v| v.version_id().map(str::to_owned))
            .collect())
    }

    async fn put_pending(&self, arn: &SecretArn, token: &str, key: &StoredKey) -> Result<String, StoreError> {
        let result = self
            .client
            .put_secret_value()
            .secret_id(arn.as_str())
            .client_request_token(token)
            .secret_string(key.to_secret_string())
            .version_stages(PENDING)
            .send()
            .await;
        match result {
            Ok(o) => Ok(o.version_id().unwrap_or(token).to_owned()),
            // The same token again: an earlier attempt wrote it.
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_exists_exception()) => Ok(token.to_owned()),
            Err(e) => Err(store_error("secretsmanager", "PutSecretValue", e)),
        }
    }

    async fn promote(&self, arn: &SecretArn, new: &str, old: &str) -> Result<(), StoreError> {
        self.stage(arn, CURRENT, Some(new), Some(old)).await?;
        self.stage(arn, PENDING, None, Some(new)).await
    }

    async fn drop_pending(&self, arn: &SecretArn, id: &str) -> Result<(), StoreError> {
        self.stage(arn, PENDING, None, Some(id)).await
    }
}
