//! The changes table: one item per change, created once.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use time::Duration;

use super::item::{n, s, Item};
use super::store_error;
use keyturn_app::ports::{ChangeStore, StoreError};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::Change;

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
    item.insert("approver_group".into(), s(&change.approver_group));
    if let Some(secs) = change.approval_timeout_seconds {
        item.insert("approval_timeout_seconds".into(), n(u64::from(secs)));
    }
    if let Some(org) = &change.org {
        item.insert("org".into(), s(org));
    }
    if let Some(w) = change.window {
        item.insert("window".into(), s(w.to_string()));
    }
    item.insert("earliest_expiry".into(), s(format_utc(change.earliest_expiry)));
    item.insert("detected_at".into(), s(format_utc(change.detected_at)));
    // Filled in by finalize/rollback, one entry per connector.
    item.insert("outcomes".into(), AttributeValue::M(HashMap::new()));
    let ttl = (change.detected_at + RETENTION).unix_timestamp();
    item.insert("expires_ttl".into(), n(u64::try_from(ttl).unwrap_or(0)));
    item
}

/// One change as `keyturn status` and `keyturn changes list` show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenChange {
    pub change_id: String,
    pub status: String,
    pub detected_at: String,
    pub connectors: Vec<String>,
}

/// The changes table's items that serialise scans (no change id contains
/// `#`): one per scope, `#scan-lock:*` for full scans, `#scan-lock:<prefix>`
/// for targeted ones (`keyturn scan --only`).
fn scan_lock_key(scope: &str) -> String {
    format!("#scan-lock:{scope}")
}

impl DynamoChangeStore {
    /// Takes the scan lock for `hold` (wall clock): `Some(token)` when this
    /// scan may run, `None` while another one holds it. Two scans at once
    /// would each see the other's first leases and cut the due keys into
    /// different changes.
    pub async fn lock_scan(&self, scope: &str, hold: time::Duration) -> Result<Option<String>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| StoreError {
            service: "dynamodb",
            operation: "PutItem",
            message: format!("no randomness: {e}"),
            retryable: false,
        })?;
        let token = hex::encode(b);
        let until = now + hold;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("change_id", s(scan_lock_key(scope)))
            .item("lock_token", s(&token))
            .item("lock_until", s(format_utc(until)))
            .item("expires_ttl", n(u64::try_from((until + time::Duration::days(1)).unix_timestamp()).unwrap_or(0)))
            .condition_expression("attribute_not_exists(change_id) OR lock_until < :now")
            .expression_attribute_values(":now", s(format_utc(now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(token)),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(None),
            Err(e) => Err(store_error("dynamodb", "PutItem", e)),
        }
    }

    /// Changes not yet ended (detected, awaiting approval, approved), for
    /// `keyturn status`: a full read of the table, fine for an operator's look.
    pub async fn open_changes(&self) -> Result<Vec<OpenChange>, StoreError> {
        self.list(true).await
    }

    /// Every change the table still holds (ended ones expire by TTL), oldest first.
    pub async fn all_changes(&self) -> Result<Vec<OpenChange>, StoreError> {
        self.list(false).await
    }

    async fn list(&self, open_only: bool) -> Result<Vec<OpenChange>, StoreError> {
        let mut scan = self.client.scan().table_name(&self.table);
        if open_only {
            scan = scan
                .filter_expression("#st IN (:d, :w, :a)")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":d", s(ChangeStatus::Detected.as_str()))
                .expression_attribute_values(":w", s(ChangeStatus::AwaitingApproval.as_str()))
                .expression_attribute_values(":a", s(ChangeStatus::Approved.as_str()));
        }
        let pages: Vec<_> =
            scan.into_paginator().send().try_collect().await.map_err(|e| store_error("dynamodb", "Scan", e))?;
        let mut out: Vec<OpenChange> = pages
            .iter()
            .flat_map(|p| p.items())
            // Lock and key-intake items share the table; their keys hold a `#`.
            .filter(|i| get_s(i, "change_id").is_some_and(|id| !id.contains('#')))
            .map(|i| OpenChange {
                change_id: get_s(i, "change_id").unwrap_or_default().to_owned(),
                status: get_s(i, "status").unwrap_or_default().to_owned(),
                detected_at: get_s(i, "detected_at").unwrap_or_default().to_owned(),
                connectors: get_list(i, "connectors").map(str::to_owned).collect(),
            })
            .collect();
        out.sort_by(|a, b| (&a.detected_at, &a.change_id).cmp(&(&b.detected_at, &b.change_id)));
        Ok(out)
    }

    /// Gives the scan lock back (only if this scan still holds it).
    pub async fn unlock_scan(&self, scope: &str, token: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("change_id", s(scan_lock_key(scope)))
            .condition_expression("lock_token = :t")
            .expression_attribute_values(":t", s(token))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(store_error("dynamodb", "DeleteItem", e)),
        }
    }
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

    async fn awaiting_since(&self, ids: &[ChangeId]) -> Result<Vec<(ChangeId, OffsetDateTime)>, StoreError> {
        let items = self.get_items(ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                let item = items.get(id.as_str())?;
                let waiting = matches!(
                    get_s(item, "status").and_then(ChangeStatus::parse),
                    Some(ChangeStatus::Detected | ChangeStatus::AwaitingApproval)
                );
                let since = time_of(item, "requested_at").or_else(|| time_of(item, "detected_at"));
                Some((id.clone(), since.filter(|_| waiting)?))
            })
            .collect())
    }

    async fn status(&self, id: &ChangeId) -> Result<Option<ChangeStatus>, StoreError> {
        Ok(self.get_item(id).await?.as_ref().and_then(|i| get_s(i, "status")).and_then(ChangeStatus::parse))
    }
}

// ---- approval state ---------------------------------------------------------

use std::collections::HashMap;
use std::num::NonZeroU32;

use aws_sdk_dynamodb::types::ReturnValue;
use time::OffsetDateTime;

use super::item::{get_n, get_s, is_conditional_failure, update_if};
use keyturn_app::approval::{ApprovalRequest, ChangeRecord, TaskToken};
use keyturn_app::notify::ConnectorOutcome;
use keyturn_app::ports::{Approvals, Notices, OpenIntake, OutcomeLog, VoteResult};
use keyturn_domain::approval::{ApprovalRule, Approver, Decision, Vote};
use keyturn_domain::timefmt::parse_instant;
use keyturn_domain::{ChangeId, ChangeStatus, ChangeWindow, ConnectorId};

fn list(values: impl IntoIterator<Item = impl Into<String>>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(|v| s(v)).collect())
}

fn get_list<'a>(item: &'a Item, key: &str) -> impl Iterator<Item = &'a str> {
    item.get(key).and_then(|v| v.as_l().ok()).into_iter().flatten().filter_map(|v| v.as_s().ok()).map(String::as_str)
}

fn time_of(item: &Item, key: &str) -> Option<OffsetDateTime> {
    get_s(item, key).and_then(parse_instant)
}

/// Reads a change item back. Items written by keyturn always parse; a damaged
/// one yields `None` for the parts it lacks rather than an error, so a page
/// can still say something useful.
fn record(item: &Item) -> Option<ChangeRecord> {
    let change = Change {
        id: ChangeId::from_trusted(get_s(item, "change_id")?),
        connectors: get_list(item, "connectors").filter_map(|c| ConnectorId::parse(c).ok()).collect(),
        urgent: item.get("urgent").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        approver_group: get_s(item, "approver_group").unwrap_or_default().to_owned(),
        org: get_s(item, "org").map(str::to_owned),
        window: get_s(item, "window").and_then(|w| w.parse::<ChangeWindow>().ok()),
        earliest_expiry: time_of(item, "earliest_expiry")?,
        detected_at: time_of(item, "detected_at")?,
        approval_timeout_seconds: get_n(item, "approval_timeout_seconds").and_then(|v| u32::try_from(v).ok()),
        // The workflow's own input carries these; the record does not need them.
        intake_timeout_seconds: None,
        max_concurrency: None,
        items: Vec::new(),
    };
    let request = match (time_of(item, "requested_at"), time_of(item, "links_expire_at")) {
        (Some(requested_at), Some(links_expire_at)) => Some(ApprovalRequest {
            approvers: get_list(item, "approvers").filter_map(|a| Approver::parse(a).ok()).collect(),
            rule: ApprovalRule {
                required: get_n(item, "required")
                    .and_then(|r| u32::try_from(r).ok())
                    .and_then(NonZeroU32::new)
                    .unwrap_or(NonZeroU32::MIN),
                two_person: item.get("two_person").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
            },
            owners: get_list(item, "owners").filter_map(|a| Approver::parse(a).ok()).collect(),
            requested_at,
            links_expire_at,
            execution_arn: get_s(item, "execution_arn").unwrap_or_default().to_owned(),
        }),
        _ => None,
    };
    let mut votes: Vec<Vote> = map_of_maps(item, "votes")
        .filter_map(|(approver, v)| {
            Some(Vote {
                approver: Approver::parse(approver).ok()?,
                decision: get_s(v, "decision")?.parse::<Decision>().ok()?,
                at: time_of(v, "at")?,
            })
        })
        .collect();
    votes.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.approver.cmp(&b.approver)));
    Some(ChangeRecord {
        status: get_s(item, "status").and_then(ChangeStatus::parse).unwrap_or(ChangeStatus::Detected),
        change,
        request,
        votes,
        decided_at: time_of(item, "decided_at"),
        rotate_at: time_of(item, "rotate_at"),
        ticket: get_s(item, "ticket").map(str::to_owned),
        outcomes: outcomes_of(item),
        notices: item.get("notices").and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default(),
    })
}

/// The entries of a map attribute whose values are maps (votes, outcomes).
fn map_of_maps<'a>(item: &'a Item, key: &str) -> impl Iterator<Item = (&'a String, &'a Item)> {
    item.get(key).and_then(|v| v.as_m().ok()).into_iter().flatten().filter_map(|(k, v)| Some((k, v.as_m().ok()?)))
}

fn outcomes_of(item: &Item) -> Vec<ConnectorOutcome> {
    // A map keyed by connector id: sorted, one entry each.
    let mut out: Vec<ConnectorOutcome> = map_of_maps(item, "outcomes")
        .filter_map(|(id, v)| {
            Some(ConnectorOutcome {
                connector_id: id.clone(),
                outcome: get_s(v, "outcome")?.to_owned(),
                detail: get_s(v, "detail").map(str::to_owned),
            })
        })
        .collect();
    out.sort_by(|a, b| a.connector_id.cmp(&b.connector_id));
    out
}

impl DynamoChangeStore {
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
        super::item::batch_get(&self.client, &self.table, "change_id", ids.iter().map(ChangeId::as_str)).await
    }
}

impl Approvals for DynamoChangeStore {
    async fn get(&self, id: &ChangeId) -> Result<Option<ChangeRecord>, StoreError> {
        Ok(self.get_item(id).await?.as_ref().and_then(record))
    }

    async fn get_many(&self, ids: &[ChangeId]) -> Result<Vec<ChangeRecord>, StoreError> {
        let items = self.get_items(ids).await?;
        Ok(ids.iter().filter_map(|id| items.get(id.as_str())).filter_map(record).collect())
    }

    async fn open(&self, id: &ChangeId, request: &ApprovalRequest, token: &TaskToken) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .update_expression(
                "SET #status = :awaiting, approvers = :approvers, #required = :required, two_person = :two, \
                 owners = :owners, requested_at = :requested, links_expire_at = :expires, execution_arn = :exec, \
                 task_token = :token, votes = if_not_exists(votes, :empty)",
            )
            .condition_expression("attribute_exists(change_id) AND #status IN (:detected, :awaiting)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#required", "required")
            .expression_attribute_values(":awaiting", s(ChangeStatus::AwaitingApproval.as_str()))
            .expression_attribute_values(":detected", s(ChangeStatus::Detected.as_str()))
            .expression_attribute_values(":approvers", list(request.approvers.iter().map(|a| a.as_str())))
            .expression_attribute_values(":required", n(u64::from(request.rule.required.get())))
            .expression_attribute_values(":two", AttributeValue::Bool(request.rule.two_person))
            .expression_attribute_values(":owners", list(request.owners.iter().map(|a| a.as_str())))
            .expression_attribute_values(":requested", s(format_utc(request.requested_at)))
            .expression_attribute_values(":expires", s(format_utc(request.links_expire_at)))
            .expression_attribute_values(":exec", s(&request.execution_arn))
            .expression_attribute_values(":token", s(token.expose()))
            .expression_attribute_values(":empty", AttributeValue::M(HashMap::new()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => {
                if self.get_item(id).await?.is_none() {
                    return Err(StoreError {
                        service: "dynamodb",
                        operation: "UpdateItem",
                        message: format!("change {id} has no record in {}", self.table),
                        retryable: false,
                    });
                }
                Ok(false)
            }
            Err(e) => Err(store_error("dynamodb", "UpdateItem", e)),
        }
    }

    async fn vote(&self, id: &ChangeId, vote: &Vote) -> Result<VoteResult, StoreError> {
        let value = AttributeValue::M(HashMap::from([
            ("decision".to_owned(), s(vote.decision.as_str())),
            ("at".to_owned(), s(format_utc(vote.at))),
        ]));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .update_expression("SET votes.#approver = :vote")
            .condition_expression("#status = :awaiting AND attribute_not_exists(votes.#approver)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#approver", vote.approver.as_str())
            .expression_attribute_values(":awaiting", s(ChangeStatus::AwaitingApproval.as_str()))
            .expression_attribute_values(":vote", value)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                Ok(out.attributes.as_ref().and_then(record).map_or(VoteResult::UnknownChange, VoteResult::Recorded))
            }
            Err(e) if is_conditional_failure(&e) => Ok(match self.get(id).await? {
                None => VoteResult::UnknownChange,
                Some(r) if !r.status.is_open() => VoteResult::Closed(r),
                Some(r) => VoteResult::AlreadyVoted(r),
            }),
            Err(e) => Err(store_error("dynamodb", "UpdateItem", e)),
        }
    }

    async fn close(
        &self,
        id: &ChangeId,
        status: ChangeStatus,
        at: OffsetDateTime,
        rotate_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .condition_expression("#status = :awaiting")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":awaiting", s(ChangeStatus::AwaitingApproval.as_str()))
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":at", s(format_utc(at)));
        update = match rotate_at {
            Some(t) => update
                .update_expression(
                    "SET #status = :status, decided_at = :at, delivery_claimed_at = :at, rotate_at = :rotate",
                )
                .expression_attribute_values(":rotate", s(format_utc(t))),
            None => update.update_expression("SET #status = :status, decided_at = :at, delivery_claimed_at = :at"),
        };
        update_if(update).await
    }

    async fn finish(&self, id: &ChangeId, status: ChangeStatus, at: OffsetDateTime) -> Result<(), StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                // The token is useless once the workflow moved on: drop it.
                .update_expression("SET #status = :status, finished_at = :at REMOVE task_token")
                .condition_expression("attribute_exists(change_id) AND NOT #status IN (:completed, :failed)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()))
                .expression_attribute_values(":at", s(format_utc(at)))
                .expression_attribute_values(":completed", s(ChangeStatus::Completed.as_str()))
                .expression_attribute_values(":failed", s(ChangeStatus::Failed.as_str())),
        )
        .await
        .map(drop)
    }

    async fn task_token(&self, id: &ChangeId) -> Result<Option<TaskToken>, StoreError> {
        Ok(self.get_item(id).await?.as_ref().and_then(|i| get_s(i, "task_token")).map(TaskToken::new))
    }

    async fn claim_redelivery(
        &self,
        id: &ChangeId,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                .update_expression("SET delivery_claimed_at = :now")
                // format_utc is fixed-width, so its strings order like the instants.
                .condition_expression(
                    "attribute_exists(task_token) AND #status IN (:approved, :rejected) AND \
                 (attribute_not_exists(delivery_claimed_at) OR delivery_claimed_at < :stale)",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":approved", s(ChangeStatus::Approved.as_str()))
                .expression_attribute_values(":rejected", s(ChangeStatus::Rejected.as_str()))
                .expression_attribute_values(":now", s(format_utc(now)))
                .expression_attribute_values(":stale", s(format_utc(stale_before))),
        )
        .await
    }

    async fn delivered(&self, id: &ChangeId) -> Result<(), StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                .update_expression("REMOVE task_token")
                // Only a decided change: a re-opened request's fresh token stays.
                .condition_expression("#status IN (:approved, :rejected)")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":approved", s(ChangeStatus::Approved.as_str()))
                .expression_attribute_values(":rejected", s(ChangeStatus::Rejected.as_str())),
        )
        .await
        .map(drop)
    }

    async fn set_ticket(&self, id: &ChangeId, ticket: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .update_expression("SET ticket = :t")
            .condition_expression("attribute_exists(change_id)")
            .expression_attribute_values(":t", s(ticket))
            .send()
            .await
            .map_err(|e| store_error("dynamodb", "UpdateItem", e))?;
        Ok(())
    }
}

impl OutcomeLog for DynamoChangeStore {
    async fn record_outcome(&self, id: &ChangeId, outcome: &ConnectorOutcome) -> Result<(), StoreError> {
        let mut value = HashMap::from([("outcome".to_owned(), s(&outcome.outcome))]);
        if let Some(d) = &outcome.detail {
            value.insert("detail".to_owned(), s(d));
        }
        let value = AttributeValue::M(value);
        // Setting a key of the map is idempotent: a retried step writes the same entry.
        let set_entry = || {
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                .update_expression("SET outcomes.#c = :o")
                .condition_expression("attribute_exists(outcomes)")
                .expression_attribute_names("#c", &outcome.connector_id)
                .expression_attribute_values(":o", value.clone())
                .send()
        };
        let first = match set_entry().await {
            Ok(_) => return Ok(()),
            Err(e) if is_conditional_failure(&e) => e,
            Err(e) => return Err(store_error("dynamodb", "UpdateItem", e)),
        };
        // Records written before outcomes were kept have no map yet.
        let created = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("change_id", s(id.as_str()))
            .update_expression("SET outcomes = :m")
            .condition_expression("attribute_exists(change_id) AND attribute_not_exists(outcomes)")
            .expression_attribute_values(
                ":m",
                AttributeValue::M(HashMap::from([(outcome.connector_id.clone(), value.clone())])),
            )
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => match self.get_item(id).await? {
                None => Err(store_error("dynamodb", "UpdateItem", first)),
                // Another step created the map meanwhile.
                Some(_) => set_entry().await.map(|_| ()).map_err(|e| store_error("dynamodb", "UpdateItem", e)),
            },
            Err(e) => Err(store_error("dynamodb", "UpdateItem", e)),
        }
    }
}

impl Notices for DynamoChangeStore {
    async fn claim_change_notice(&self, id: &ChangeId, key: &str) -> Result<bool, StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", s(id.as_str()))
                .update_expression("ADD notices :k")
                .condition_expression("attribute_exists(change_id) AND NOT contains(notices, :one)")
                .expression_attribute_values(":k", AttributeValue::Ss(vec![key.to_owned()]))
                .expression_attribute_values(":one", s(key)),
        )
        .await
    }

    async fn claim_daily(&self, key: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let day = format_utc(now).get(..10).unwrap_or_default().to_owned();
        let mut item = Item::new();
        item.insert("change_id".into(), s(format!("notice#{key}#{day}")));
        item.insert("sent_at".into(), s(format_utc(now)));
        let ttl = (now + Duration::days(30)).unix_timestamp();
        item.insert("expires_ttl".into(), n(u64::try_from(ttl).unwrap_or(0)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(change_id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(store_error("dynamodb", "PutItem", e)),
        }
    }
}

/// Intake hand-overs live in the changes table under their own key.
fn intake_id(change: &ChangeId, connector: &ConnectorId) -> String {
    format!("{change}#intake#{connector}")
}

fn intake_key(change: &ChangeId, connector: &ConnectorId) -> AttributeValue {
    s(intake_id(change, connector))
}

impl keyturn_app::ports::IntakeTokens for DynamoChangeStore {
    async fn put_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        token: &TaskToken,
        requested_at: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let ttl = u64::try_from((expires + RETENTION).unix_timestamp()).unwrap_or(0);
        self.client
            .put_item()
            .table_name(&self.table)
            .item("change_id", intake_key(change, connector))
            .item("status", s("open"))
            .item("task_token", s(token.expose()))
            .item("requested_at", s(format_utc(requested_at)))
            .item("expires_at", s(format_utc(expires)))
            .item("expires_ttl", n(ttl))
            .send()
            .await
            .map_err(|e| store_error("dynamodb", "PutItem", e))?;
        Ok(())
    }

    async fn open_intakes(&self, change: &ChangeId, connectors: &[ConnectorId]) -> Result<Vec<OpenIntake>, StoreError> {
        let keys: Vec<String> = connectors.iter().map(|c| intake_id(change, c)).collect();
        let found =
            super::item::batch_get(&self.client, &self.table, "change_id", keys.iter().map(String::as_str)).await?;
        // Hand-overs asked for before `requested_at` was kept have no mark to
        // count from: they time out as before, unreminded.
        Ok(connectors
            .iter()
            .zip(&keys)
            .filter_map(|(connector, key)| {
                let item = found.get(key).filter(|i| get_s(i, "status") == Some("open"))?;
                Some(OpenIntake {
                    connector: connector.clone(),
                    requested_at: time_of(item, "requested_at")?,
                    expires_at: time_of(item, "expires_at")?,
                })
            })
            .collect())
    }

    async fn intake_token(&self, change: &ChangeId, connector: &ConnectorId) -> Result<Option<TaskToken>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("change_id", intake_key(change, connector))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("dynamodb", "GetItem", e))?;
        Ok(out
            .item
            .as_ref()
            .filter(|i| get_s(i, "status") == Some("open"))
            .and_then(|i| get_s(i, "task_token"))
            .map(TaskToken::new))
    }

    async fn close_intake(
        &self,
        change: &ChangeId,
        connector: &ConnectorId,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        update_if(
            self.client
                .update_item()
                .table_name(&self.table)
                .key("change_id", intake_key(change, connector))
                .update_expression("SET #status = :closed, closed_at = :at")
                .condition_expression("#status = :open")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":open", s("open"))
                .expression_attribute_values(":closed", s("closed"))
                .expression_attribute_values(":at", s(format_utc(at))),
        )
        .await
    }
}
