//! keyturn-audit: the auditor's side of the audit trail. `docs/audit.md` is
//! the specification.
//!
//! - [`export`]: DynamoDB `DYNAMODB_JSON` exports, read and written.
//! - [`codec`]: audit-table items (events, signed digests) in export form.
//! - [`verify`](mod@verify): every chain and digest of an export, streamed.
//! - [`query`]: filters and the three reports (approvals, rotations, failures).
//!
//! May depend on: keyturn-domain. An auditor's build needs no Lambda, AWS
//! SDK or HTTP code.

pub mod codec;
pub mod export;
pub mod query;
pub mod verify;

pub use codec::{digest_item, entry, event_item, Entry};
