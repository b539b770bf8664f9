//! Small helpers for DynamoDB items.

use std::collections::HashMap;

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;

use super::store_error;
use keyturn_app::ports::StoreError;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn get_n(item: &Item, key: &str) -> Option<u64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// A conditional write's condition did not hold (works on the SDK error and
/// on the operation's service error alike).
pub(crate) fn is_conditional_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// Sends a conditional `UpdateItem`: `Ok(false)` when its condition did not
/// hold (someone else got there first, or there was nothing to do).
pub(crate) async fn update_if(
    update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
) -> Result<bool, keyturn_app::ports::StoreError> {
    match update.send().await {
        Ok(_) => Ok(true),
        Err(e) if is_conditional_failure(&e) => Ok(false),
        Err(e) => Err(super::store_error("dynamodb", "UpdateItem", e)),
    }
}

/// Keys per BatchGetItem call (the API's limit).
const BATCH_GET: usize = 100;

/// The items of `table` whose string key `key` is one of `ids`, strongly
/// consistent, keyed by that id; ids with no item are absent. Unprocessed
/// keys (throttling) are asked for again with a growing pause.
pub(crate) async fn batch_get<'a>(
    client: &Client,
    table: &str,
    key: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Item>, StoreError> {
    let ids: Vec<&str> = ids.collect();
    let mut found = HashMap::new();
    for chunk in ids.chunks(BATCH_GET) {
        let keys: Vec<Item> = chunk.iter().map(|id| HashMap::from([(key.to_owned(), s(*id))])).collect();
        let mut request =
            Some(KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(|e| {
                StoreError { service: "dynamodb", operation: "BatchGetItem", message: e.to_string(), retryable: false }
            })?);
        let mut attempt = 0u32;
        while let Some(req) = request.take() {
            let out = client
                .batch_get_item()
                .request_items(table, req)
                .send()
                .await
                .map_err(|e| store_error("dynamodb", "BatchGetItem", e))?;
            for item in out.responses().and_then(|r| r.get(table)).into_iter().flatten() {
                if let Some(id) = get_s(item, key) {
                    found.insert(id.to_owned(), item.clone());
                }
            }
            request = out.unprocessed_keys().and_then(|m| m.get(table)).filter(|k| !k.keys().is_empty()).cloned();
            if request.is_some() {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
            }
        }
    }
    Ok(found)
}
