//! The changes table: one item per change, created once.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use time::Duration;

use super::item::{n, s, Item};
use super::store_error;
use crate::domain::timefmt::format_utc;
use crate::domain::Change;
use crate::ports::{ChangeStore, StoreError};

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
}

fn change_item(change: &Change) -> Item {
    let mut item = Item::new();
    item.insert("change_id".into(), s(change.id.as_str()));
    item.insert("status".into(), s("detected"));
    item.insert("connectors".into(), AttributeValue::L(change.connectors.iter().map(|c| s(c.as_str())).collect()));
    item.insert("urgent".into(), AttributeValue::Bool(change.urgent));
    if let Some(org) = &change.org {
        item.insert("org".into(), s(org));
    }
    if let Some(w) = change.window {
        item.insert("window".into(), s(w.to_string()));
    }
    item.insert("earliest_expiry".into(), s(format_utc(change.earliest_expiry)));
    item.insert("detected_at".into(), s(format_utc(change.detected_at)));
    let ttl = (change.detected_at + RETENTION).unix_timestamp();
    item.insert("expires_ttl".into(), n(u64::try_from(ttl).unwrap_or(0)));
    item
}

impl ChangeStore for DynamoChangeStore {
    async fn create(&self, change: &Change) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(change_item(change)))
            .condition_expression("attribute_not_exists(change_id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(store_error("dynamodb", "PutItem", e)),
        }
    }
}
