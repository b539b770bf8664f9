//! [`Unused`]: a port a test's bundle does not model.

use crate::ports::StoreError;
use crate::rotation::VendorError;

/// A port a test does not use: every call fails with a store error naming the
/// port (a test that reaches it fails on that error, not on a panic).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unused;

fn unused(port: &'static str) -> StoreError {
    StoreError {
        service: "testkit",
        operation: port,
        message: format!("{port} is not part of this test's bundle"),
        retryable: false,
    }
}

fn unused_vendor() -> VendorError {
    VendorError::Rejected { service: "testkit", operation: "vendor", detail: "not part of this test's bundle".into() }
}

mod impls {
    use super::{unused, unused_vendor, Unused};
    use crate::approval::{ApprovalRequest, ChangeRecord, Email, Routing, SlackWebhook, TaskToken};
    use crate::ports::*;
    use crate::rotation::{StoredKey, VendorError};
    use keyturn_domain::approval::{KeyRing, Vote};
    use keyturn_domain::digest::{AuditSigner, Digest, Head};
    use keyturn_domain::{AuditEvent, Change, ChangeId, ChangeLease, Connector, ConnectorId, NewAuditEvent, SecretArn};
    use time::OffsetDateTime;

    impl Inventory for Unused {
        async fn due(&self, _: OffsetDateTime) -> Result<DueItems, StoreError> {
            Err(unused("Inventory"))
        }

        async fn claim(&self, _: &ConnectorId, _: &ChangeLease, _: OffsetDateTime) -> Result<bool, StoreError> {
            Err(unused("Inventory"))
        }

        async fn reset_wedged(
            &self,
            _: &ConnectorId,
            _: &keyturn_domain::ChangeId,
            _: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            Err(unused("Inventory"))
        }

        async fn release(&self, _: &ConnectorId, _: &keyturn_domain::ChangeId) -> Result<(), StoreError> {
            Err(unused("Inventory"))
        }
    }

    impl ChangeStore for Unused {
        async fn create(&self, _: &Change) -> Result<bool, StoreError> {
            Err(unused("ChangeStore"))
        }

        async fn awaiting_since(
            &self,
            _: &[keyturn_domain::ChangeId],
        ) -> Result<Vec<(keyturn_domain::ChangeId, time::OffsetDateTime)>, StoreError> {
            Err(unused("ChangeStore"))
        }

        async fn status(
            &self,
            _: &keyturn_domain::ChangeId,
        ) -> Result<Option<keyturn_domain::ChangeStatus>, StoreError> {
            Err(unused("ChangeStore"))
        }
    }

    impl AuditLog for Unused {
        async fn append(&self, _: NewAuditEvent) -> Result<AuditEvent, StoreError> {
            Err(unused("AuditLog"))
        }
    }

    impl Workflow for Unused {
        async fn start(&self, _: &Change) -> Result<StartOutcome, StoreError> {
            Err(unused("Workflow"))
        }

        async fn execution(&self, _: &ChangeId) -> Result<ExecutionState, StoreError> {
            Err(unused("Workflow"))
        }
    }

    impl ConnectorLookup for Unused {
        async fn get_many(&self, _: &[ConnectorId]) -> Result<Vec<StoredConnector>, StoreError> {
            Err(unused("ConnectorLookup"))
        }
    }

    impl Approvals for Unused {
        async fn get(&self, _: &ChangeId) -> Result<Option<ChangeRecord>, StoreError> {
            Err(unused("Approvals"))
        }

        async fn get_many(&self, _: &[ChangeId]) -> Result<Vec<ChangeRecord>, StoreError> {
            Err(unused("Approvals"))
        }

        async fn open(&self, _: &ChangeId, _: &ApprovalRequest, _: &TaskToken) -> Result<bool, StoreError> {
            Err(unused("Approvals"))
        }

        async fn vote(&self, _: &ChangeId, _: &Vote) -> Result<VoteResult, StoreError> {
            Err(unused("Approvals"))
        }

        async fn close(
            &self,
            _: &ChangeId,
            _: keyturn_domain::ChangeStatus,
            _: OffsetDateTime,
            _: Option<OffsetDateTime>,
        ) -> Result<bool, StoreError> {
            Err(unused("Approvals"))
        }

        async fn finish(
            &self,
            _: &ChangeId,
            _: keyturn_domain::ChangeStatus,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            Err(unused("Approvals"))
        }

        async fn task_token(&self, _: &ChangeId) -> Result<Option<TaskToken>, StoreError> {
            Err(unused("Approvals"))
        }

        async fn delivered(&self, _: &ChangeId) -> Result<(), StoreError> {
            Err(unused("Approvals"))
        }

        async fn claim_redelivery(
            &self,
            _: &ChangeId,
            _: OffsetDateTime,
            _: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            Err(unused("Approvals"))
        }

        async fn set_ticket(&self, _: &ChangeId, _: &str) -> Result<(), StoreError> {
            Err(unused("Approvals"))
        }
    }

    impl OutcomeLog for Unused {
        async fn record_outcome(&self, _: &ChangeId, _: &crate::notify::ConnectorOutcome) -> Result<(), StoreError> {
            Err(unused("OutcomeLog"))
        }
    }

    impl Notices for Unused {
        async fn claim_change_notice(&self, _: &ChangeId, _: &str) -> Result<bool, StoreError> {
            Err(unused("Notices"))
        }

        async fn claim_daily(&self, _: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
            Err(unused("Notices"))
        }
    }

    impl SigningKeys for Unused {
        async fn keyring(&self) -> Result<KeyRing, StoreError> {
            Err(unused("SigningKeys"))
        }

        async fn current_key(&self) -> Result<keyturn_domain::signing_keys::KeyInfo, StoreError> {
            Err(unused("SigningKeys"))
        }

        async fn rotate(&self, _: OffsetDateTime) -> Result<keyturn_domain::signing_keys::KeyInfo, StoreError> {
            Err(unused("SigningKeys"))
        }
    }

    impl RoutingSource for Unused {
        async fn routing(&self) -> Result<Routing, StoreError> {
            Err(unused("RoutingSource"))
        }
    }

    impl TaskCallbacks for Unused {
        async fn succeed(&self, _: &TaskToken, _: &serde_json::Value) -> Result<Delivery, StoreError> {
            Err(unused("TaskCallbacks"))
        }
    }

    impl Mailer for Unused {
        async fn send(&self, _: &Email) -> Result<String, StoreError> {
            Err(unused("Mailer"))
        }
    }

    impl Chat for Unused {
        async fn post(&self, _: &SlackWebhook, _: &serde_json::Value) -> Result<(), StoreError> {
            Err(unused("Chat"))
        }
    }

    impl Tickets for Unused {
        async fn open(&self, _: &str, _: &str) -> Result<String, StoreError> {
            Err(unused("Tickets"))
        }

        async fn comment(&self, _: &str, _: &str) -> Result<(), StoreError> {
            Err(unused("Tickets"))
        }
    }

    impl SecretStore for Unused {
        async fn current(&self, _: &SecretArn) -> Result<(String, StoredKey), StoreError> {
            Err(unused("SecretStore"))
        }

        async fn version(&self, _: &SecretArn, _: &str) -> Result<Option<StoredKey>, StoreError> {
            Err(unused("SecretStore"))
        }

        async fn pending(&self, _: &SecretArn) -> Result<Vec<String>, StoreError> {
            Err(unused("SecretStore"))
        }

        async fn put_pending(&self, _: &SecretArn, _: &str, _: &StoredKey) -> Result<String, StoreError> {
            Err(unused("SecretStore"))
        }

        async fn promote(&self, _: &SecretArn, _: &str, _: &str) -> Result<(), StoreError> {
            Err(unused("SecretStore"))
        }

        async fn drop_pending(&self, _: &SecretArn, _: &str) -> Result<(), StoreError> {
            Err(unused("SecretStore"))
        }
    }

    impl KeyVendor for Unused {
        async fn create(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<StoredKey, VendorError> {
            Err(unused_vendor())
        }

        async fn revoke(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn leftovers(&self, _: &Connector, _: &StoredKey, _: &str) -> Result<Vec<String>, VendorError> {
            Err(unused_vendor())
        }

        async fn probe(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
            Err(unused_vendor())
        }
    }

    impl Consumer for Unused {
        async fn validate_candidate(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn push(&self, _: &Connector, _: &StoredKey) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn check(&self, _: &Connector) -> Result<(), VendorError> {
            Err(unused_vendor())
        }

        async fn state(&self, _: &Connector) -> Result<String, VendorError> {
            Err(unused_vendor())
        }
    }

    impl ConnectorStates for Unused {
        async fn mark_rotating(&self, _: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
            Err(unused("ConnectorStates"))
        }

        async fn mark_rotated(
            &self,
            _: &ConnectorId,
            _: &ChangeId,
            _: OffsetDateTime,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            Err(unused("ConnectorStates"))
        }

        async fn mark_manual(&self, _: &ConnectorId, _: &ChangeId, _: OffsetDateTime) -> Result<(), StoreError> {
            Err(unused("ConnectorStates"))
        }
    }

    impl IntakeTokens for Unused {
        async fn put_intake(
            &self,
            _: &ChangeId,
            _: &ConnectorId,
            _: &TaskToken,
            _: OffsetDateTime,
            _: OffsetDateTime,
        ) -> Result<(), StoreError> {
            Err(unused("IntakeTokens"))
        }

        async fn open_intakes(&self, _: &ChangeId, _: &[ConnectorId]) -> Result<Vec<OpenIntake>, StoreError> {
            Err(unused("IntakeTokens"))
        }

        async fn intake_token(&self, _: &ChangeId, _: &ConnectorId) -> Result<Option<TaskToken>, StoreError> {
            Err(unused("IntakeTokens"))
        }

        async fn close_intake(&self, _: &ChangeId, _: &ConnectorId, _: OffsetDateTime) -> Result<bool, StoreError> {
            Err(unused("IntakeTokens"))
        }
    }

    impl DigestStore for Unused {
        async fn last_digest(&self) -> Result<Option<Digest>, StoreError> {
            Err(unused("DigestStore"))
        }

        async fn day_heads(&self, _: &str) -> Result<std::collections::BTreeMap<String, Head>, StoreError> {
            Err(unused("DigestStore"))
        }

        async fn all_heads(&self) -> Result<std::collections::BTreeMap<String, Head>, StoreError> {
            Err(unused("DigestStore"))
        }

        async fn put_digest(&self, _: &Digest) -> Result<bool, StoreError> {
            Err(unused("DigestStore"))
        }
    }

    impl AuditKeys for Unused {
        async fn signer(&self) -> Result<AuditSigner, StoreError> {
            Err(unused("AuditKeys"))
        }

        async fn published(&self) -> Result<Vec<keyturn_domain::signing_keys::PublishedKey>, StoreError> {
            Err(unused("AuditKeys"))
        }

        async fn rotate(&self, _: OffsetDateTime) -> Result<keyturn_domain::signing_keys::PublishedKey, StoreError> {
            Err(unused("AuditKeys"))
        }
    }

    impl OwnCredentials for Unused {
        async fn entra_secret(&self) -> Option<Result<IssuedCredential, VendorError>> {
            Some(Err(unused_vendor()))
        }

        async fn okta_token(&self) -> Option<Result<IssuedCredential, VendorError>> {
            Some(Err(unused_vendor()))
        }
    }

    impl KeyAges for Unused {
        async fn link_signing(&self) -> Result<Option<KeyAge>, StoreError> {
            Err(unused("KeyAges"))
        }

        async fn audit_signing(&self) -> Result<Option<KeyAge>, StoreError> {
            Err(unused("KeyAges"))
        }
    }
}
