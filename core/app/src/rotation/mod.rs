//! Rotation: the four steps of a Secrets Manager rotation (create → set →
//! test → finish), shaped by where the key comes from (the procedure table)
//! and who consumes it (the identity provider).
//!
//! - [`rotate`](steps::rotate): obtain the new key (vendor API, or the one a
//!   human pasted), stage it as `AWSPENDING` idempotently, **pre-flight** it
//!   against the vendor, then push it to the consumer (recording the prior state).
//! - [`verify`](steps::verify): prove provisioning works through the consumer,
//!   retrying throttling and outages with backoff until a deadline.
//! - [`finalize`](steps::finalize): move `AWSCURRENT`, revoke the old key where
//!   the vendor allows, record the new expiry.
//! - [`rollback`](steps::rollback): put back what can be put back, say what
//!   could not, mark the connector `needs_manual_intervention`.
//!
//! Step inputs and outputs travel through Step Functions: they hold ids,
//! version ids and fingerprints, never key material ([`SecretValue`] has no
//! `Serialize`).

/// What the vendor calls of a step came to (crate root: retries note themselves there too).
pub use crate::calls;
pub mod error;
/// Retrying vendor calls (it lives at the crate root: the bundle names its policy).
pub use crate::retry;
pub mod steps;

pub use error::RotationError;
pub use keyturn_domain::rotation::*;
