//! The operator's view of the table: `keyturn status` and `keyturn changes list`.

use super::codec::get_list;
use super::DynamoChangeStore;
use crate::item::{get_s, s};
use crate::store_error;
use keyturn_app::ports::StoreError;
use keyturn_domain::ChangeStatus;

/// One change as `keyturn status` and `keyturn changes list` show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenChange {
    pub change_id: String,
    pub status: String,
    pub detected_at: String,
    pub connectors: Vec<String>,
}

impl DynamoChangeStore {
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
}
