//! When keyturn's signing keys were made and when the daily run rotates
//! them, for `keyturn status`: read as the signing adapters read them (the
//! current version's `CreatedDate`, exact after every rotation, on moto too),
//! never creating a key that is not made yet.

use super::secrets::{SecretsAuditKey, SecretsSigningKeys};
use keyturn_app::ports::{KeyAge, KeyAges, StoreError};
use keyturn_app::watch::KeySchedule;
use keyturn_domain::timefmt::format_utc as rfc3339;

/// The link-signing and audit-signing keys, with their rotation schedule.
#[derive(Debug, Clone)]
pub struct SecretsKeyAges {
    links: SecretsSigningKeys,
    audit: SecretsAuditKey,
    schedule: KeySchedule,
}

impl SecretsKeyAges {
    pub fn new(links: SecretsSigningKeys, audit: SecretsAuditKey, schedule: KeySchedule) -> Self {
        Self { links, audit, schedule }
    }
}

impl KeyAges for SecretsKeyAges {
    async fn link_signing(&self) -> Result<Option<KeyAge>, StoreError> {
        Ok(self.links.made().await?.map(|k| KeyAge {
            rotate_by: Some(rfc3339(self.schedule.link.rotate_by(k.created_at))),
            created: Some(rfc3339(k.created_at)),
            id: k.id,
        }))
    }

    async fn audit_signing(&self) -> Result<Option<KeyAge>, StoreError> {
        Ok(self.audit.made().await?.map(|k| KeyAge {
            rotate_by: Some(rfc3339(self.schedule.audit.rotate_by(k.created_at))),
            created: Some(rfc3339(k.created_at)),
            id: k.public_key,
        }))
    }
}
