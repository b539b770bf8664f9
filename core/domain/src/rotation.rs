//! The data a rotation step takes and gives back (Step Functions input and
//! output: ids, version ids and fingerprints, never key material).

use serde::{Deserialize, Serialize};

use crate::{ChangeId, ConnectorId, SecretValue};

pub use crate::vendor_error::VendorError;

/// A key as stored in its secret: `{"key": "...", "key_id": "..."}`. A secret
/// that holds just the key as plain text is read as `{"key": <text>}`.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub value: SecretValue,
    /// The vendor's id for the key, where it has one (needed to revoke it).
    pub key_id: Option<String>,
    /// When the vendor says it expires (RFC 3339), if it says.
    pub expires_at: Option<String>,
}

impl StoredKey {
    pub fn new(value: SecretValue) -> Self {
        Self { value, key_id: None, expires_at: None }
    }

    /// The secret string.
    pub fn to_secret_string(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("key".into(), self.value.expose().into());
        if let Some(id) = &self.key_id {
            m.insert("key_id".into(), id.clone().into());
        }
        if let Some(e) = &self.expires_at {
            m.insert("expires_at".into(), e.clone().into());
        }
        serde_json::Value::Object(m).to_string()
    }

    pub fn from_secret_string(s: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Object(m)) if m.get("key").is_some_and(|k| k.is_string()) => {
                let text = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                Self {
                    value: SecretValue::new(text("key").unwrap_or_default()),
                    key_id: text("key_id"),
                    expires_at: text("expires_at"),
                }
            }
            _ => Self::new(SecretValue::new(s.trim())),
        }
    }

    pub fn fingerprint(&self) -> String {
        self.value.fingerprint()
    }
}

/// What `rotate` did, carried to the later steps (and into rollback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub old_version: String,
    pub old_fingerprint: String,
    pub new_version: String,
    pub new_fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_key_id: Option<String>,
    /// Set when keyturn created the new key at the vendor (so it can revoke it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_key_id: Option<String>,
    /// `entra`, `okta` or `none`.
    pub consumer: String,
    /// The consumer was switched to the new key.
    pub pushed: bool,
    pub started_at: String,
    /// The pre-flight's vendor calls (status, request id, latency), for the audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<String>,
}

/// A human's pasted key, stored by the intake page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub pending_version: String,
}

/// A Step Functions error caught into `$.error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The Map iteration's state, as each step receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepInput {
    pub connector_id: ConnectorId,
    pub change_id: ChangeId,
    pub execution_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake: Option<Intake>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
    /// Set on the retire step: which old key to revoke once the overlap
    /// ended (finalize's `retire`, passed on by the state machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire: Option<Retire>,
}

/// An old key finalize left valid for the connector's overlap: the state
/// machine waits until `at`, then the retire step revokes `key_id`. Also in
/// the `finalized` audit event, so it is on record before anything waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retire {
    pub key_id: String,
    /// RFC 3339 UTC (the Wait state's `TimestampPath`).
    pub at: String,
}

impl StepInput {
    /// Is this pending version this change's (written by rotate under its
    /// token, or the key its owner handed over)?
    pub fn owns_pending(&self, version: &str) -> bool {
        version == version_token(&self.change_id, &self.connector_id)
            || self.intake.as_ref().is_some_and(|i| i.pending_version == version)
    }
}

/// One connector's end result (the Map's item output, read by notify).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub connector_id: String,
    /// `rotated`, `rolled_back`, `rollback_failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// From `rotation_started` to `finalized`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_rotate_seconds: Option<i64>,
    /// finalize only: the old key to revoke after the overlap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire: Option<Retire>,
}

/// The name keyturn gives a key it creates at the vendor: it finds the keys
/// an earlier, crashed attempt left behind by it. One per change *and*
/// connector: connectors of one org rotate at once in a batch, and a label
/// shared by the change would make each revoke the others' fresh keys.
pub fn vendor_key_label(change: &ChangeId, connector: &ConnectorId) -> String {
    format!("keyturn {change} {}", crate::fingerprint(connector.as_str().as_bytes()))
}

/// The `ClientRequestToken` of the new secret version: derived from the change
/// and connector, so a retried step finds the version it already wrote instead
/// of writing a second one. Secrets Manager wants 32-64 characters.
pub fn version_token(change: &ChangeId, connector: &ConnectorId) -> String {
    let digest = crate::fingerprint(format!("{change}\n{connector}").as_bytes());
    let more = crate::fingerprint(format!("{connector}\n{change}").as_bytes());
    format!("keyturn-{digest}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectors_of_one_change_label_their_vendor_keys_apart() {
        let change = ChangeId::from_trusted("chg-20261124-00000000000000aa");
        let (a, b) = (ConnectorId::parse("acme/k1").unwrap(), ConnectorId::parse("acme/k2").unwrap());
        assert_ne!(vendor_key_label(&change, &a), vendor_key_label(&change, &b));
        assert_eq!(vendor_key_label(&change, &a), vendor_key_label(&change, &a), "a retry finds its own");
    }

    #[test]
    fn stored_keys_round_trip_and_plain_text_is_accepted() {
        let k = StoredKey { value: SecretValue::new("abc"), key_id: Some("id-1".into()), expires_at: None };
        let back = StoredKey::from_secret_string(&k.to_secret_string());
        assert_eq!(back.value.expose(), "abc");
        assert_eq!(back.key_id.as_deref(), Some("id-1"));
        assert_eq!(StoredKey::from_secret_string(" raw-token \n").value.expose(), "raw-token");
        assert!(!format!("{k:?}").contains("abc"));
    }

    #[test]
    fn version_tokens_are_stable_and_sized_for_secrets_manager() {
        let c = ChangeId::parse("chg-20261124-0123456789abcdef").unwrap();
        let a = ConnectorId::parse("atlassian/acme/entra").unwrap();
        let b = ConnectorId::parse("atlassian/acme/okta").unwrap();
        assert_eq!(version_token(&c, &a), version_token(&c, &a));
        assert_ne!(version_token(&c, &a), version_token(&c, &b));
        assert!((32..=64).contains(&version_token(&c, &a).len()));
    }
}
