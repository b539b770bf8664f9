//! The connectors table: inventory import, listing, the expiry query, leases.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use futures::{StreamExt, TryStreamExt};
use time::OffsetDateTime;

use super::item::{batch_get, get_n, get_s, is_conditional_failure, n, s, update_if, Item};
use super::store_error;
use super::tables::EXPIRY_INDEX;
use keyturn_app::inventory::{Location, RawRecord, FIELDS};
use keyturn_app::ports::{DueItems, Inventory, StoreError, StoredConnector};
use keyturn_domain::timefmt::{format_utc, parse_instant};
use keyturn_domain::{ChangeId, ChangeLease, ClientApp, Connector, ConnectorId, ConnectorStatus, IdpBinding};

const PK: &str = "connector_id";
/// Present (value [`TRACKED`]) on every non-retired connector: the sparse
/// expiry index's partition key.
const SCOPE: &str = "expiry_scope";
const TRACKED: &str = "tracked";
const VERSION: &str = "version";
const ACTIVE_CHANGE: &str = "active_change";
const LEASE_UNTIL: &str = "lease_until";
const UPDATED_AT: &str = "updated_at";

/// DynamoDB's batch limits.
const BATCH_WRITE: usize = 25;
/// Requests in flight during an import.
const IMPORT_CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct DynamoInventory {
    client: Client,
    table: String,
    /// Items per page of the due query (DynamoDB's 1 MB pages when unset).
    page_limit: Option<i32>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

fn inventory_item(c: &Connector, status: ConnectorStatus, version: u64, now: OffsetDateTime) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), s(c.id.as_str()));
    item.insert("kind".into(), s(c.kind.as_str()));
    item.insert("org".into(), s(&c.org));
    item.insert("idp".into(), s(c.idp.name()));
    match &c.idp {
        IdpBinding::Entra { service_principal_id, job_id } => {
            item.insert("idp_app_id".into(), s(service_principal_id));
            item.insert("idp_job_id".into(), s(job_id));
        }
        IdpBinding::Okta { app_id } => {
            item.insert("idp_app_id".into(), s(app_id));
        }
        IdpBinding::None => {}
    }
    if let Some(secs) = c.overlap_seconds {
        item.insert("overlap".into(), s(format!("{secs}s")));
    }
    if let Some(survives) = c.old_key_survives {
        item.insert("old_key_survives".into(), s(survives.to_string()));
    }
    for (k, v) in [
        ("directory_id", &c.directory_id),
        ("app_id", &c.app_id),
        ("scim_base", &c.scim_base),
        ("vendor", &c.vendor),
        ("console_url", &c.console_url),
    ] {
        if let Some(v) = v {
            item.insert(k.into(), s(v));
        }
    }
    match &c.client_app {
        Some(ClientApp::Entra { tenant_id, application_object_id, client_id }) => {
            item.insert("tenant_id".into(), s(tenant_id));
            item.insert("application_object_id".into(), s(application_object_id));
            item.insert("client_id".into(), s(client_id));
        }
        // Its app id is the record's `app_id`, written above.
        Some(ClientApp::Okta { app_id: _, client_id, auth_server_id, scope }) => {
            item.insert("client_id".into(), s(client_id));
            item.insert("auth_server_id".into(), s(auth_server_id));
            item.insert("scope".into(), s(scope));
        }
        None => {}
    }
    if let Some(w) = c.change_window {
        item.insert("change_window".into(), s(w.to_string()));
    }
    if let Some(t) = &c.http_template {
        item.insert("http_template".into(), s(t.to_json()));
    }
    if let Some(t) = c.last_rotated_at {
        item.insert("last_rotated_at".into(), s(format_utc(t)));
    }
    item.insert("owner".into(), s(&c.owner));
    item.insert("approver_group".into(), s(&c.approver_group));
    item.insert("secret_arn".into(), s(c.secret_arn.as_str()));
    item.insert("expires_at".into(), s(format_utc(c.expires_at)));
    item.insert("status".into(), s(status.as_str()));
    if status != ConnectorStatus::Retired {
        item.insert(SCOPE.into(), s(TRACKED));
    }
    item.insert(VERSION.into(), n(version));
    item.insert(UPDATED_AT.into(), s(format_utc(now)));
    item
}

/// The inventory fields of an item, for comparing against an import.
fn inventory_fields(item: &Item) -> BTreeMap<&str, &str> {
    FIELDS.iter().filter(|f| **f != "id").filter_map(|f| get_s(item, f).map(|v| (*f, v))).collect()
}

/// Reads an item back. Items are validated by the caller: they can be edited
/// in the console, so a stored item is trusted no more than a file.
fn stored(item: &Item) -> Option<StoredConnector> {
    let id = ConnectorId::parse(get_s(item, PK)?).ok()?;
    let mut fields: BTreeMap<String, String> =
        FIELDS.iter().filter_map(|f| get_s(item, f).map(|v| ((*f).to_owned(), v.to_owned()))).collect();
    fields.insert("id".into(), id.to_string());
    let lease = match (get_s(item, ACTIVE_CHANGE), get_s(item, LEASE_UNTIL).and_then(parse_instant)) {
        (Some(change), Some(until)) => Some(ChangeLease { change_id: ChangeId::from_trusted(change), until }),
        _ => None,
    };
    Some(StoredConnector {
        id,
        record: RawRecord { location: Location::Item, fields },
        version: get_n(item, VERSION).unwrap_or(0),
        lease,
    })
}

impl DynamoInventory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), page_limit: None }
    }

    /// Smaller pages for the due query: how a test makes a dozen due items
    /// span several pages (it takes thousands to fill DynamoDB's 1 MB page).
    pub fn with_page_limit(mut self, items: i32) -> Self {
        self.page_limit = Some(items);
        self
    }

    /// Writes validated connectors: new ones in batches, changed ones with an
    /// optimistic lock on `version`, unchanged ones not at all (re-importing a
    /// file is free). Status is keyturn's to manage: an import only ever
    /// changes an existing connector's status to `retired`.
    /// `progress` is called with the number of connectors handled so far.
    pub async fn import(
        &self,
        connectors: &[Connector],
        now: OffsetDateTime,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<ImportSummary, StoreError> {
        let existing = self.get_many(connectors.iter().map(|c| &c.id)).await?;
        let mut summary = ImportSummary::default();
        let mut fresh = Vec::new();
        let mut changed = Vec::new();
        for c in connectors {
            match existing.get(c.id.as_str()) {
                None => fresh.push(inventory_item(c, c.status, 1, now)),
                Some(old) => {
                    let old_status = get_s(old, "status").and_then(ConnectorStatus::parse).unwrap_or_default();
                    let status =
                        if c.status == ConnectorStatus::Retired { ConnectorStatus::Retired } else { old_status };
                    let version = get_n(old, VERSION).unwrap_or(0);
                    let new = inventory_item(c, status, version + 1, now);
                    if inventory_fields(&new) == inventory_fields(old)
                        && old.contains_key(SCOPE) == new.contains_key(SCOPE)
                    {
                        summary.unchanged += 1;
                    } else {
                        changed.push((new, version, old.clone()));
                    }
                }
            }
        }
        let mut done = summary.unchanged;
        progress(done);

        let mut batches = futures::stream::iter(fresh.chunks(BATCH_WRITE).map(|chunk| self.batch_put(chunk.to_vec())))
            .buffer_unordered(IMPORT_CONCURRENCY);
        while let Some(written) = batches.try_next().await? {
            summary.created += written;
            done += written;
            progress(done);
        }
        let mut updates = futures::stream::iter(
            changed.into_iter().map(|(new, version, old)| self.update_inventory(new, version, old)),
        )
        .buffer_unordered(IMPORT_CONCURRENCY);
        while updates.try_next().await?.is_some() {
            summary.updated += 1;
            done += 1;
            progress(done);
        }
        Ok(summary)
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<usize, StoreError> {
        let count = items.len();
        let mut pending: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
            })
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError {
                service: "dynamodb",
                operation: "BatchWriteItem",
                message: e.to_string(),
                retryable: false,
            })?;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|e| store_error("dynamodb", "BatchWriteItem", e))?;
            pending = out.unprocessed_items().and_then(|m| m.get(&self.table)).cloned().unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError {
                        service: "dynamodb",
                        operation: "BatchWriteItem",
                        message: format!("{} items still unprocessed after {attempt} attempts", pending.len()),
                        retryable: true,
                    });
                }
                tokio::time::sleep(StdDuration::from_millis(50 << attempt.min(6))).await;
            }
        }
        Ok(count)
    }

    /// Replaces the inventory fields of an existing item, keeping keyturn's
    /// own state (lease, last rotation) and failing if someone else wrote it.
    async fn update_inventory(&self, mut new: Item, version: u64, old: Item) -> Result<(), StoreError> {
        for keep in [ACTIVE_CHANGE, LEASE_UNTIL, "last_rotated_at"] {
            if let (Some(v), false) = (old.get(keep), new.contains_key(keep)) {
                new.insert(keep.into(), v.clone());
            }
        }
        let id = get_s(&new, PK).unwrap_or_default().to_owned();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(new))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(version))
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(is_conditional_failure) {
                    StoreError {
                        service: "dynamodb",
                        operation: "PutItem",
                        message: format!("{id} changed while importing (version {version}); nothing else was lost, run the import again"),
                        retryable: true,
                    }
                } else {
                    store_error("dynamodb", "PutItem", e)
                }
            })?;
        Ok(())
    }

    /// Items by id, as a map from id to item.
    async fn get_many<'a>(
        &self,
        ids: impl Iterator<Item = &'a ConnectorId>,
    ) -> Result<HashMap<String, Item>, StoreError> {
        batch_get(&self.client, &self.table, PK, ids.map(ConnectorId::as_str)).await
    }

    /// Every connector (a full table scan: for listings, not for the scanner).
    pub async fn list_all(&self) -> Result<Vec<StoredConnector>, StoreError> {
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
        let mut out: Vec<StoredConnector> = pages.iter().flat_map(|p| p.items()).filter_map(stored).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

impl Inventory for DynamoInventory {
    async fn due(&self, cutoff: OffsetDateTime) -> Result<DueItems, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(EXPIRY_INDEX)
            .key_condition_expression("#scope = :tracked AND #exp <= :cutoff")
            .expression_attribute_names("#scope", SCOPE)
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":tracked", s(TRACKED))
            .expression_attribute_values(":cutoff", s(format_utc(cutoff)))
            .set_limit(self.page_limit)
            .into_paginator()
            .send();
        let mut due = DueItems::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| store_error("dynamodb", "Query", e))?;
            due.pages += 1;
            due.items_read += u64::try_from(page.scanned_count()).unwrap_or(0);
            due.items.extend(page.items().iter().filter_map(stored));
        }
        Ok(due)
    }

    async fn claim(&self, id: &ConnectorId, lease: &ChangeLease, now: OffsetDateTime) -> Result<bool, StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(id.as_str()))
                .update_expression("SET #c = :c, #u = :until")
                .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#c) OR #c = :c OR #u < :now)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#c", ACTIVE_CHANGE)
                .expression_attribute_names("#u", LEASE_UNTIL)
                .expression_attribute_values(":c", s(lease.change_id.as_str()))
                .expression_attribute_values(":until", s(format_utc(lease.until)))
                .expression_attribute_values(":now", s(format_utc(now))),
        )
        .await
    }

    async fn reset_wedged(&self, id: &ConnectorId, change: &ChangeId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let values = [(":c", s(change.as_str())), (":rotating", s(ConnectorStatus::Rotating.as_str()))];
        self.back_to_active(id, "#c = :c AND #st IN (:active, :rotating)", &values, true, now).await
    }

    async fn release(&self, id: &ConnectorId, change: &ChangeId) -> Result<(), StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(id.as_str()))
                .update_expression("REMOVE #c, #u")
                // A connector still `rotating` keeps the lease naming its change:
                // its steps died without ending (a rollback that kept crashing),
                // and the next scan's repair needs to know which change that was.
                .condition_expression("#c = :c AND #st <> :rotating")
                .expression_attribute_names("#c", ACTIVE_CHANGE)
                .expression_attribute_names("#u", LEASE_UNTIL)
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":c", s(change.as_str()))
                .expression_attribute_values(":rotating", s(ConnectorStatus::Rotating.as_str())),
        )
        // Someone else holds it now, or nobody does: nothing to give back.
        .await
        .map(drop)
    }
}

impl keyturn_app::ports::ConnectorLookup for DynamoInventory {
    async fn get_many(&self, ids: &[ConnectorId]) -> Result<Vec<StoredConnector>, StoreError> {
        let found = DynamoInventory::get_many(self, ids.iter()).await?;
        Ok(found.values().filter_map(stored).collect())
    }
}

impl DynamoInventory {
    /// Sets a rotation state, only while `change` holds the connector (or
    /// nobody does). `release` also gives the lease back.
    async fn set_state(
        &self,
        id: &ConnectorId,
        change: &ChangeId,
        status: ConnectorStatus,
        extra: &[(&str, String)],
        release: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut sets = vec!["#st = :st".to_owned(), "#v = #v + :one".to_owned(), "#up = :now".to_owned()];
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(id.as_str()))
            .condition_expression("attribute_exists(#pk) AND (attribute_not_exists(#c) OR #c = :chg)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_names("#up", UPDATED_AT)
            .expression_attribute_names("#c", ACTIVE_CHANGE)
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(format_utc(now)))
            .expression_attribute_values(":chg", s(change.as_str()));
        for (i, (field, value)) in extra.iter().enumerate() {
            sets.push(format!("#x{i} = :x{i}"));
            update = update
                .expression_attribute_names(format!("#x{i}"), *field)
                .expression_attribute_values(format!(":x{i}"), s(value.clone()));
        }
        let mut expr = format!("SET {}", sets.join(", "));
        if release {
            expr.push_str(" REMOVE #c, #lu");
            update = update.expression_attribute_names("#lu", LEASE_UNTIL);
        }
        update.update_expression(expr).send().await.map_err(|e| store_error("dynamodb", "UpdateItem", e))?;
        Ok(())
    }
}

impl DynamoInventory {
    /// Clears `needs_manual_intervention` (back to `active`): `Ok(false)` when
    /// the connector is not in that state (or does not exist), so nothing is
    /// changed by mistake.
    pub async fn resolve_manual(&self, id: &ConnectorId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let values = [(":manual", s(ConnectorStatus::NeedsManualIntervention.as_str()))];
        self.back_to_active(id, "#st = :manual", &values, false, now).await
    }

    /// Sets `active` (bumping the version) when `condition` holds; `release`
    /// also drops the lease (`#c`, `#u`). `Ok(false)`: the condition failed.
    async fn back_to_active(
        &self,
        id: &ConnectorId,
        condition: &str,
        values: &[(&str, AttributeValue)],
        release: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(id.as_str()))
            .update_expression(if release {
                "SET #st = :active, #v = #v + :one, #up = :now REMOVE #c, #u"
            } else {
                "SET #st = :active, #v = #v + :one, #up = :now"
            })
            .condition_expression(condition)
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_names("#up", UPDATED_AT)
            .expression_attribute_values(":active", s(ConnectorStatus::Active.as_str()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(format_utc(now)));
        if release {
            update =
                update.expression_attribute_names("#c", ACTIVE_CHANGE).expression_attribute_names("#u", LEASE_UNTIL);
        }
        for (k, v) in values {
            update = update.expression_attribute_values(*k, v.clone());
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(is_conditional_failure) => Ok(false),
            Err(e) => Err(store_error("dynamodb", "UpdateItem", e)),
        }
    }
}

impl keyturn_app::ports::ConnectorStates for DynamoInventory {
    async fn mark_rotating(&self, id: &ConnectorId, change: &ChangeId, now: OffsetDateTime) -> Result<(), StoreError> {
        self.set_state(id, change, ConnectorStatus::Rotating, &[], false, now).await
    }

    async fn mark_rotated(
        &self,
        id: &ConnectorId,
        change: &ChangeId,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let extra = [("expires_at", format_utc(expires_at)), ("last_rotated_at", format_utc(now))];
        self.set_state(id, change, ConnectorStatus::Active, &extra, true, now).await
    }

    async fn mark_manual(&self, id: &ConnectorId, change: &ChangeId, now: OffsetDateTime) -> Result<(), StoreError> {
        self.set_state(id, change, ConnectorStatus::NeedsManualIntervention, &[], true, now).await
    }
}
