//! Rotation errors and their stable names (what the state machine matches).

use crate::ports::StoreError;
use keyturn_domain::rotation::VendorError;

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
    pub fn name(&self) -> &'static str {
        match self {
            Self::Store(e) if e.retryable => "StoreThrottled",
            Self::Store(_) => "StoreUnavailable",
            Self::InvalidConnector { .. } => "InvalidConnector",
            Self::VerificationFailed { .. } => "VerificationFailed",
            Self::ConsumerRejected { .. } => "ConsumerRejected",
            Self::Vendor(VendorError::Throttled { .. }) => "VendorThrottled",
            Self::Vendor(VendorError::Unavailable { .. }) => "VendorUnavailable",
            Self::Vendor(VendorError::Unauthorized { .. }) => "VerificationFailed",
            Self::Vendor(VendorError::Rejected { .. } | VendorError::Refused { .. }) => "VendorRejected",
            // What Lambda reports when a runtime dies mid-invocation.
            Self::Crashed(_) => "Runtime.ExitError",
        }
    }
}
