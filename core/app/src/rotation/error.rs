//! Rotation errors and their stable names (what the state machine matches).

use crate::ports::StoreError;
use keyturn_domain::rotation::VendorError;
use keyturn_domain::ErrorName;

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("connector {connector}: {problem}")]
    InvalidConnector { connector: String, problem: String },
    /// The new key does not work (pre-flight or verification): roll back.
    #[error("verification failed for {connector}: {detail}")]
    VerificationFailed { connector: String, detail: String },
    /// The consumer refused the new key (or cannot take one by API).
    #[error("{connector}: the identity provider refused the new key: {detail}")]
    ConsumerRejected { connector: String, detail: String },
    #[error(transparent)]
    Vendor(#[from] VendorError),
    /// A crash-recovery test stopped the step (see [`crate::faults`]).
    #[error(transparent)]
    Crashed(#[from] crate::faults::Crashed),
}

impl RotationError {
    pub fn name(&self) -> ErrorName {
        match self {
            Self::Store(e) if e.retryable => ErrorName::StoreThrottled,
            Self::Store(_) => ErrorName::StoreUnavailable,
            Self::InvalidConnector { .. } => ErrorName::InvalidConnector,
            Self::VerificationFailed { .. } => ErrorName::VerificationFailed,
            Self::ConsumerRejected { .. } => ErrorName::ConsumerRejected,
            Self::Vendor(VendorError::Throttled { .. }) => ErrorName::VendorThrottled,
            Self::Vendor(VendorError::Unavailable { .. }) => ErrorName::VendorUnavailable,
            Self::Vendor(VendorError::Unauthorized { .. }) => ErrorName::VerificationFailed,
            Self::Vendor(VendorError::Rejected { .. } | VendorError::Refused { .. }) => ErrorName::VendorRejected,
            // What Lambda reports when a runtime dies mid-invocation.
            Self::Crashed(_) => ErrorName::RuntimeExitError,
        }
    }
}
