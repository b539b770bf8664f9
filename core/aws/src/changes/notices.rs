//! Notices sent once: per change (claimed on its item) and per day (an item
//! of its own, expiring after a month).

use aws_sdk_dynamodb::types::AttributeValue;
use time::{Duration, OffsetDateTime};

use super::DynamoChangeStore;
use crate::item::{is_conditional_failure, n, s, update_if, Item};
use crate::store_error;
use keyturn_app::ports::{Notices, StoreError};
use keyturn_domain::timefmt::format_utc;
use keyturn_domain::ChangeId;

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
