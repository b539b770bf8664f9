//! The scanner's port: a change created once, and where it stands.

use time::OffsetDateTime;

use super::codec::{change_item, time_of};
use super::DynamoChangeStore;
use crate::item::get_s;
use crate::store_error;
use keyturn_app::ports::{ChangeStore, StoreError};
use keyturn_domain::{Change, ChangeId, ChangeStatus};

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
