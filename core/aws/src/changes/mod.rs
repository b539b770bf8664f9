//! The changes table: one item per change, created once, and the items that
//! share it (scan locks, intake hand-overs, daily notice claims). One file per
//! port the table serves:
//!
//! - `store.rs`: [`ChangeStore`](keyturn_app::ports::ChangeStore), the scanner's;
//! - `approvals.rs`: [`Approvals`](keyturn_app::ports::Approvals), requests, votes, decisions;
//! - `outcomes.rs`: [`OutcomeLog`](keyturn_app::ports::OutcomeLog), each connector's end;
//! - `notices.rs`: [`Notices`](keyturn_app::ports::Notices), notices sent once;
//! - `intake.rs`: [`IntakeTokens`](keyturn_app::ports::IntakeTokens), key hand-overs;
//! - `scan_lock.rs` and `listing.rs`: the scan lock and the operator's list;
//! - `codec.rs`: a change item written and read back.

mod approvals;
mod codec;
mod intake;
mod listing;
mod notices;
mod outcomes;
mod scan_lock;
mod store;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use time::Duration;

use super::item::{s, Item};
use super::store_error;
use keyturn_app::ports::StoreError;
use keyturn_domain::ChangeId;

/// Change records are operational state (the audit table is the record that
/// lasts); DynamoDB deletes them this long after detection.
const RETENTION: Duration = Duration::days(400);

#[derive(Debug, Clone)]
pub struct DynamoChangeStore {
    client: Client,
    table: String,
}

impl DynamoChangeStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn get_item(&self, id: &ChangeId) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("dynamodb", "GetItem", e))?;
        Ok(out.item)
    }

    /// Change items by id (BatchGetItem, 100 at a time).
    async fn get_items(&self, ids: &[ChangeId]) -> Result<HashMap<String, Item>, StoreError> {
        crate::item::batch_get(&self.client, &self.table, "change_id", ids.iter().map(ChangeId::as_str)).await
    }
}
