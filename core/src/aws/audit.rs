//! The audit table: append-only hash chains, one per connector.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::item::{get_n, get_s, n, s, Item};
use super::store_error;
use crate::domain::{AuditEvent, ChainHead, ConnectorId, NewAuditEvent};
use crate::ports::{AuditLog, StoreError};

/// Appends that lose a race re-read the head and try again, this many times.
const APPEND_ATTEMPTS: u32 = 10;

#[derive(Debug, Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
}

pub(crate) fn event_item(ev: &AuditEvent) -> Item {
    let mut item = Item::new();
    item.insert("connector_id".into(), s(ev.connector_id.as_str()));
    item.insert("seq".into(), n(ev.seq));
    item.insert("at".into(), s(&ev.at));
    item.insert("event".into(), s(&ev.event));
    item.insert("actor".into(), s(&ev.actor));
    for (k, v) in
        [("change_id", &ev.change_id), ("execution_arn", &ev.execution_arn), ("correlation_id", &ev.correlation_id)]
    {
        if let Some(v) = v {
            item.insert(k.into(), s(v));
        }
    }
    item.insert("detail".into(), AttributeValue::M(ev.detail.iter().map(|(k, v)| (k.clone(), s(v))).collect()));
    item.insert("prev_hash".into(), s(&ev.prev_hash));
    item.insert("hash".into(), s(&ev.hash));
    item
}

/// Reads an item back; `None` when it lacks what every event has.
pub(crate) fn event_from_item(item: &HashMap<String, AttributeValue>) -> Option<AuditEvent> {
    let detail: BTreeMap<String, String> = item
        .get("detail")
        .and_then(|d| d.as_m().ok())
        .map(|m| m.iter().filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone()))).collect())
        .unwrap_or_default();
    Some(AuditEvent {
        connector_id: ConnectorId::parse(get_s(item, "connector_id")?).ok()?,
        seq: get_n(item, "seq")?,
        at: get_s(item, "at")?.to_owned(),
        event: get_s(item, "event")?.to_owned(),
        actor: get_s(item, "actor")?.to_owned(),
        change_id: get_s(item, "change_id").map(str::to_owned),
        execution_arn: get_s(item, "execution_arn").map(str::to_owned),
        correlation_id: get_s(item, "correlation_id").map(str::to_owned),
        detail,
        prev_hash: get_s(item, "prev_hash")?.to_owned(),
        hash: get_s(item, "hash")?.to_owned(),
    })
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn head(&self, id: &ConnectorId) -> Result<Option<ChainHead>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("connector_id = :id")
            .expression_attribute_values(":id", s(id.as_str()))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("dynamodb", "Query", e))?;
        Ok(out
            .items()
            .first()
            .and_then(|item| Some(ChainHead { seq: get_n(item, "seq")?, hash: get_s(item, "hash")?.to_owned() })))
    }

    /// One connector's events in order (for `keyturn` listings and tests).
    pub async fn chain(&self, id: &ConnectorId) -> Result<Vec<AuditEvent>, StoreError> {
        let pages: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("connector_id = :id")
            .expression_attribute_values(":id", s(id.as_str()))
            .consistent_read(true)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| store_error("dynamodb", "Query", e))?;
        Ok(pages.iter().flat_map(|p| p.items()).filter_map(event_from_item).collect())
    }

    /// Every event in the table, ordered by connector then sequence.
    pub async fn all(&self) -> Result<Vec<AuditEvent>, StoreError> {
        let pages: Vec<_> = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| store_error("dynamodb", "Scan", e))?;
        let mut events: Vec<AuditEvent> = pages.iter().flat_map(|p| p.items()).filter_map(event_from_item).collect();
        events.sort_by(|a, b| (&a.connector_id, a.seq).cmp(&(&b.connector_id, b.seq)));
        Ok(events)
    }
}

impl AuditLog for DynamoAuditLog {
    async fn append(&self, event: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        for _ in 0..APPEND_ATTEMPTS {
            let head = self.head(&event.connector_id).await?;
            let sealed = event.clone().seal(head.as_ref());
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(event_item(&sealed)))
                // Never overwrite: a taken sequence number means we lost a race.
                .condition_expression("attribute_not_exists(seq)")
                .send()
                .await;
            match result {
                Ok(_) => return Ok(sealed),
                Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => continue,
                Err(e) => return Err(store_error("dynamodb", "PutItem", e)),
            }
        }
        Err(StoreError {
            service: "dynamodb",
            operation: "PutItem",
            message: format!("audit append for {} lost {APPEND_ATTEMPTS} races in a row", event.connector_id),
            retryable: true,
        })
    }
}
