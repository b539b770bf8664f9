//! A change item as the table holds it: written once by the scanner, read
//! back (with what the approval and rotation steps added) as a record.

use std::collections::HashMap;
use std::num::NonZeroU32;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::RETENTION;
use crate::item::{get_n, get_s, n, s, Item};
use keyturn_app::approval::{ApprovalRequest, ChangeRecord};
use keyturn_app::notify::ConnectorOutcome;
use keyturn_domain::approval::{ApprovalRule, Approver, Decision, Vote};
use keyturn_domain::timefmt::{format_utc, parse_instant};
use keyturn_domain::{Change, ChangeId, ChangeStatus, ChangeWindow, ConnectorId};

pub(super) fn change_item(change: &Change) -> Item {
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

pub(super) fn list(values: impl IntoIterator<Item = impl Into<String>>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(|v| s(v)).collect())
}

pub(super) fn get_list<'a>(item: &'a Item, key: &str) -> impl Iterator<Item = &'a str> {
    item.get(key).and_then(|v| v.as_l().ok()).into_iter().flatten().filter_map(|v| v.as_s().ok()).map(String::as_str)
}

pub(super) fn time_of(item: &Item, key: &str) -> Option<OffsetDateTime> {
    get_s(item, key).and_then(parse_instant)
}

/// Reads a change item back. Items written by keyturn always parse; a damaged
/// one yields `None` for the parts it lacks rather than an error, so a page
/// can still say something useful.
pub(super) fn record(item: &Item) -> Option<ChangeRecord> {
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
