//! The capabilities the core logic needs, one small trait each. AWS adapters
//! live in [`crate::aws`]; unit tests use in-memory ones.
//!
//! Methods return `impl Future + Send` so handlers stay spawnable on tokio
//! without a boxing crate; implementations just write `async fn`.

use std::future::Future;

use time::OffsetDateTime;

use crate::domain::{AuditEvent, Change, ChangeLease, ConnectorId, NewAuditEvent};
use crate::inventory::RawRecord;

/// A failure talking to a store or service. `retryable` drives the state
/// machine's Retry (throttling, 5xx) versus Catch.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation}: {message}")]
pub struct StoreError {
    pub service: &'static str,
    pub operation: &'static str,
    pub message: String,
    pub retryable: bool,
}

/// A connector as stored: the inventory fields as a raw record (validated by
/// the caller, because stored items can be edited behind keyturn's back) plus
/// the state keyturn keeps.
#[derive(Debug, Clone)]
pub struct StoredConnector {
    pub id: ConnectorId,
    pub record: RawRecord,
    pub version: u64,
    pub lease: Option<ChangeLease>,
}

/// What the expiry query returned.
#[derive(Debug, Clone, Default)]
pub struct DueItems {
    pub items: Vec<StoredConnector>,
    /// Items DynamoDB evaluated (summed `ScannedCount` over pages): the cost.
    pub items_read: u64,
    pub pages: u32,
}

pub trait Inventory: Send + Sync {
    /// Every tracked (non-retired) connector expiring at or before `cutoff`.
    fn due(&self, cutoff: OffsetDateTime) -> impl Future<Output = Result<DueItems, StoreError>> + Send;

    /// Takes the connector for a change unless another change holds a live
    /// lease on it. `Ok(false)`: held by someone else.
    fn claim(
        &self,
        id: &ConnectorId,
        lease: &ChangeLease,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the connector back, if `change` still holds it.
    fn release(
        &self,
        id: &ConnectorId,
        change: &crate::domain::ChangeId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait ChangeStore: Send + Sync {
    /// Records a new change. `Ok(false)` when it already existed (a second scan
    /// on the same day found the same change).
    fn create(&self, change: &Change) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

pub trait AuditLog: Send + Sync {
    /// Appends to the connector's chain; never overwrites.
    fn append(&self, event: NewAuditEvent) -> impl Future<Output = Result<AuditEvent, StoreError>> + Send;
}

/// Outcome of asking the workflow engine to run a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        execution_arn: String,
    },
    /// An execution with this change's name exists already.
    AlreadyRunning,
}

pub trait Workflow: Send + Sync {
    fn start(&self, change: &Change) -> impl Future<Output = Result<StartOutcome, StoreError>> + Send;
}
