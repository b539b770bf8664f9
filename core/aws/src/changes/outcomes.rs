//! Each connector's outcome, kept on its change.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoChangeStore;
use crate::item::{is_conditional_failure, s};
use crate::store_error;
use keyturn_app::notify::ConnectorOutcome;
use keyturn_app::ports::{OutcomeLog, StoreError};
use keyturn_domain::ChangeId;

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
