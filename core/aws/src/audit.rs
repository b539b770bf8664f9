//! The audit table: append-only hash chains, one per connector.

use std::collections::{BTreeMap, HashMap};

use keyturn_app::ports::DigestStore;
use keyturn_domain::digest::{Digest, Head, DIGEST_PK};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::item::{get_n, get_s, s, Item};
use super::store_error;
use keyturn_app::ports::{AuditLog, StoreError};
use keyturn_audit::export::Attr;
use keyturn_domain::{AuditEvent, ChainHead, ConnectorId, NewAuditEvent};

/// Appends that lose a race re-read the head and try again, this many times.
const APPEND_ATTEMPTS: u32 = 10;

#[derive(Debug, Clone)]
pub struct DynamoAuditLog {
    client: Client,
    table: String,
}

/// An export-form item (`audit::export::Item`) as the SDK writes it.
pub fn to_sdk(item: &keyturn_audit::export::Item) -> Item {
    item.iter().map(|(k, v)| (k.clone(), attr_to_sdk(v))).collect()
}

fn attr_to_sdk(a: &Attr) -> AttributeValue {
    match a {
        Attr::S(v) => AttributeValue::S(v.clone()),
        Attr::N(v) => AttributeValue::N(v.clone()),
        Attr::M(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), attr_to_sdk(v))).collect()),
        Attr::L(l) => AttributeValue::L(l.iter().map(attr_to_sdk).collect()),
        Attr::Bool(b) => AttributeValue::Bool(*b),
        Attr::Null(b) => AttributeValue::Null(*b),
        Attr::SS(v) => AttributeValue::Ss(v.clone()),
        Attr::NS(v) => AttributeValue::Ns(v.clone()),
        Attr::B(v) => {
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(v) {
                Ok(bytes) => AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes)),
                Err(_) => AttributeValue::S(v.clone()),
            }
        }
    }
}

/// An SDK item in export form: exactly what is stored, for exports and the verifier.
pub fn from_sdk(item: &HashMap<String, AttributeValue>) -> keyturn_audit::export::Item {
    item.iter().map(|(k, v)| (k.clone(), attr_from_sdk(v))).collect()
}

fn attr_from_sdk(a: &AttributeValue) -> Attr {
    use base64::Engine as _;
    match a {
        AttributeValue::S(v) => Attr::S(v.clone()),
        AttributeValue::N(v) => Attr::N(v.clone()),
        AttributeValue::M(m) => Attr::M(m.iter().map(|(k, v)| (k.clone(), attr_from_sdk(v))).collect()),
        AttributeValue::L(l) => Attr::L(l.iter().map(attr_from_sdk).collect()),
        AttributeValue::Bool(b) => Attr::Bool(*b),
        AttributeValue::Null(b) => Attr::Null(*b),
        AttributeValue::Ss(v) => Attr::SS(v.clone()),
        AttributeValue::Ns(v) => Attr::NS(v.clone()),
        AttributeValue::B(b) => Attr::B(base64::engine::general_purpose::STANDARD.encode(b.as_ref())),
        // Sets of binaries and future types: keyturn never writes them.
        _ => Attr::Null(true),
    }
}

/// Reads an event item back; `None` when it is not a well-formed event.
fn event_from_item(item: &HashMap<String, AttributeValue>) -> Option<AuditEvent> {
    match keyturn_audit::codec::entry(from_sdk(item)) {
        Ok(keyturn_audit::codec::Entry::Event(ev)) => Some(ev),
        _ => None,
    }
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
        Ok(out.items().first().and_then(head_of))
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

impl DynamoAuditLog {
    /// What an append needs to know before it writes: the chain's head and,
    /// for a once-event, the event a previous attempt of the same step wrote
    /// (same connector, change, kind and actor). One read of the chain, newest
    /// first: the head is its first item, and an earlier attempt is usually a
    /// few items down. (A filtered query would read the same items, since
    /// DynamoDB filters after reading, and the head would cost a second query.)
    async fn before_append(&self, event: &NewAuditEvent) -> Result<Before, StoreError> {
        let change = match (&event.change_id, event.once) {
            (Some(change), true) => change.as_str(),
            _ => return Ok(Before::Head(self.head(&event.connector_id).await?)),
        };
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("connector_id = :id")
            .expression_attribute_values(":id", s(event.connector_id.as_str()))
            .scan_index_forward(false)
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut head = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store_error("dynamodb", "Query", e))?;
            for item in page.items() {
                if head.is_none() {
                    head = head_of(item);
                }
                let same_step = get_s(item, "change_id") == Some(change)
                    && get_s(item, "event") == Some(event.event.as_str())
                    && get_s(item, "actor") == Some(event.actor.as_str());
                if let Some(earlier) = same_step.then(|| event_from_item(item)).flatten() {
                    return Ok(Before::Written(Box::new(earlier)));
                }
            }
        }
        Ok(Before::Head(head))
    }
}

/// What [`DynamoAuditLog::before_append`] found.
enum Before {
    /// A previous attempt of this once-event's step already wrote it.
    Written(Box<AuditEvent>),
    /// Nothing written before: the chain's head to seal the event on.
    Head(Option<ChainHead>),
}

/// The head a chain's newest item makes.
fn head_of(item: &HashMap<String, AttributeValue>) -> Option<ChainHead> {
    Some(ChainHead { seq: get_n(item, "seq")?, hash: get_s(item, "hash")?.to_owned() })
}

impl AuditLog for DynamoAuditLog {
    async fn append(&self, event: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        for _ in 0..APPEND_ATTEMPTS {
            // Read again after every lost race: when many requests write the
            // same once-event at the same moment (a storm of presses), the
            // first to land ends the race for the others.
            let head = match self.before_append(&event).await? {
                Before::Written(earlier) => {
                    tracing::info!(event = %earlier.event, seq = earlier.seq, "audit event already written");
                    return Ok(*earlier);
                }
                Before::Head(head) => head,
            };
            let sealed = event.clone().seal(head.as_ref());
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_sdk(&keyturn_audit::codec::event_item(&sealed))))
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

/// Folds (connector, seq, hash) rows into each chain's head.
fn fold_heads<'a>(items: impl Iterator<Item = &'a HashMap<String, AttributeValue>>) -> BTreeMap<String, Head> {
    let mut heads: BTreeMap<String, Head> = BTreeMap::new();
    for item in items {
        let (Some(conn), Some(seq), Some(hash)) =
            (get_s(item, "connector_id"), get_n(item, "seq"), get_s(item, "hash"))
        else {
            continue;
        };
        if conn == DIGEST_PK {
            continue;
        }
        if heads.get(conn).is_none_or(|h| seq > h.seq) {
            heads.insert(conn.to_owned(), Head { seq, hash: hash.to_owned() });
        }
    }
    heads
}

impl DigestStore for DynamoAuditLog {
    async fn last_digest(&self) -> Result<Option<Digest>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("connector_id = :id")
            .expression_attribute_values(":id", s(DIGEST_PK))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("dynamodb", "Query", e))?;
        match out.items().first().map(|i| keyturn_audit::codec::entry(from_sdk(i))) {
            None => Ok(None),
            Some(Ok(keyturn_audit::codec::Entry::Digest(d))) => Ok(Some(d)),
            Some(Ok(_)) | Some(Err(_)) => Err(StoreError {
                service: "dynamodb",
                operation: "Query",
                message: format!("the newest item under {DIGEST_PK} in {} is not a digest", self.table),
                retryable: false,
            }),
        }
    }

    async fn day_heads(&self, day: &str) -> Result<BTreeMap<String, Head>, StoreError> {
        let pages: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::tables::DAY_INDEX)
            .key_condition_expression("#d = :d")
            .expression_attribute_names("#d", "day")
            .expression_attribute_values(":d", s(day))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| store_error("dynamodb", "Query", e))?;
        Ok(fold_heads(pages.iter().flat_map(|p| p.items())))
    }

    async fn all_heads(&self) -> Result<BTreeMap<String, Head>, StoreError> {
        let pages: Vec<_> = self
            .client
            .scan()
            .table_name(&self.table)
            .projection_expression("connector_id, seq, #h")
            .expression_attribute_names("#h", "hash")
            .consistent_read(true)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| store_error("dynamodb", "Scan", e))?;
        Ok(fold_heads(pages.iter().flat_map(|p| p.items())))
    }

    async fn put_digest(&self, digest: &Digest) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_sdk(&keyturn_audit::digest_item(digest))))
            .condition_expression("attribute_not_exists(seq)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(store_error("dynamodb", "PutItem", e)),
        }
    }
}
