//! The scan lock: one scan at a time per scope.

use time::OffsetDateTime;

use super::DynamoChangeStore;
use crate::item::{n, s};
use crate::store_error;
use keyturn_app::ports::StoreError;
use keyturn_domain::timefmt::format_utc;

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
