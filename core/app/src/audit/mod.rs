//! Writing the audit trail: appends from the steps, and the daily signed
//! digests ([`anchor`]). Reading and verifying exports is keyturn-audit's.

pub mod anchor;

use futures::{StreamExt, TryStreamExt};

use crate::ports::{AuditLog, StoreError};
use keyturn_domain::NewAuditEvent;

/// How many audit appends run at once when a step writes one event per
/// connector of a batch: a change of thousands finishes within its Lambda's
/// timeout (and the approver's page answers in seconds).
pub const PARALLEL_APPENDS: usize = 16;

/// Appends events a few at a time; the first error wins. Each connector's
/// chain is its own, so the events must be for distinct connectors.
pub async fn append_each<A: AuditLog>(log: &A, events: Vec<NewAuditEvent>) -> Result<(), StoreError> {
    futures::stream::iter(events.into_iter().map(|ev| log.append(ev)))
        .buffer_unordered(PARALLEL_APPENDS)
        .try_for_each(|_| async { Ok(()) })
        .await
}
