//! Key hand-overs (intake): the waiting workflow's token per connector, in
//! the changes table under its own key.

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use super::codec::time_of;
use super::{DynamoChangeStore, RETENTION};
use crate::item::{get_s, n, s, update_if};
use crate::store_error;
use keyturn_app::approval::TaskToken;
use keyturn_app::ports::{IntakeTokens, OpenIntake, StoreError};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::{ChangeId, ConnectorId};

/// Intake hand-overs live in the changes table under their own key.
fn intake_id(change: &ChangeId, connector: &ConnectorId) -> String {
    format!("{change}#intake#{connector}")
}

fn intake_key(change: &ChangeId, connector: &ConnectorId) -> AttributeValue {
    s(intake_id(change, connector))
}

impl IntakeTokens for DynamoChangeStore {
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
            crate::item::batch_get(&self.client, &self.table, "change_id", keys.iter().map(String::as_str)).await?;
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
