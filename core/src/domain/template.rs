//! Declarative HTTP templates: how a `generic-http` connector's vendor
//! creates, revokes and proves a key. A new vendor needs data, not code.
//!
//! ```
//! use keyturn_core::domain::HttpTemplate;
//! let t = HttpTemplate::parse(r#"{
//!   "base": "https://api.vendor.example",
//!   "create": {"method": "POST", "path": "/v1/keys", "body": {"name": "{label}"},
//!              "key": "/data/secret", "key_id": "/data/id"},
//!   "revoke": {"method": "DELETE", "path": "/v1/keys/{key_id}"},
//!   "probe":  {"method": "GET", "path": "/v1/me"}
//! }"#).unwrap();
//! assert_eq!(t.create.path, "/v1/keys");
//! ```
//!
//! Placeholders in paths and body strings: `{label}`, `{key_id}`, `{org}`,
//! `{app_id}`. Every call authenticates with a key: create and revoke with
//! the current one, probe with the one being proven. `key`, `key_id` and
//! `expires_at` are JSON pointers into create's answer.

use serde::{Deserialize, Serialize};

/// One HTTP call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTemplate {
    /// `https://…` (plain `http://` only to this machine).
    pub base: String,
    /// Header that carries the key; `Authorization: Bearer <key>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
    pub create: Call,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Call>,
    pub probe: Call,
    /// The SCIM endpoint an identity provider provisions into with the key
    /// (Entra's tenant URL); `{org}` and `{app_id}` are filled in. Absent:
    /// `base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_base: Option<String>,
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Keys and links travel in requests to these URLs: TLS, except to this
/// machine (the local stack and its simulators).
///
/// ```
/// use keyturn_core::domain::https_or_local;
/// assert!(https_or_local("https://api.vendor.example") && https_or_local("http://127.0.0.1:4568"));
/// assert!(!https_or_local("http://api.vendor.example"));
/// ```
pub fn https_or_local(url: &str) -> bool {
    ["https://", "http://127.0.0.1:", "http://localhost:"].iter().any(|p| url.starts_with(p))
}

impl HttpTemplate {
    /// Parses and checks a template; the error lists every problem.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let t: Self = serde_json::from_str(raw).map_err(|e| format!("is not a valid template: {e}"))?;
        let mut problems = Vec::new();
        if !https_or_local(&t.base) {
            problems.push("base must be an https:// URL".to_owned());
        }
        if t.scim_base.as_deref().is_some_and(|u| !https_or_local(u)) {
            problems.push("scim_base must be an https:// URL".to_owned());
        }
        let calls = [("create", Some(&t.create)), ("revoke", t.revoke.as_ref()), ("probe", Some(&t.probe))];
        for (name, call) in calls {
            let Some(call) = call else { continue };
            if !METHODS.contains(&call.method.as_str()) {
                problems.push(format!("{name}.method {:?} is not one of {}", call.method, METHODS.join(", ")));
            }
            if !call.path.starts_with('/') {
                problems.push(format!("{name}.path must start with /"));
            }
        }
        if t.create.key.as_deref().is_none_or(|p| !p.starts_with('/')) {
            problems.push("create.key must be a JSON pointer (/data/secret) to the new key in the answer".to_owned());
        }
        if let Some(h) = &t.auth_header {
            if h.is_empty() || !h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                problems.push(format!("auth_header {h:?} is not a header name"));
            }
        }
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The stored form: compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Fills `{name}` placeholders in a string.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_owned(), |acc, (k, v)| acc.replace(&format!("{{{k}}}"), v))
}

/// Fills placeholders in every string of a JSON value.
pub fn fill_json(value: &serde_json::Value, values: &[(&str, &str)]) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => serde_json::Value::String(fill(s, values)),
        serde_json::Value::Array(a) => a.iter().map(|v| fill_json(v, values)).collect(),
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), fill_json(v, values))).collect(),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_named() {
        let err = HttpTemplate::parse(
            r#"{"base": "http://vendor.example", "auth_header": "X Api",
                "create": {"method": "FETCH", "path": "keys"}, "probe": {"method": "GET", "path": "/me"}}"#,
        )
        .unwrap_err();
        let err = format!("{err}; {}", HttpTemplate::parse(r#"{"base": "https://x", "scim_base": "http://x", "create": {"method": "POST", "path": "/k", "key": "/k"}, "probe": {"method": "GET", "path": "/me"}}"#).unwrap_err());
        for part in ["base must be", "create.method", "create.path", "create.key", "auth_header", "scim_base must be"] {
            assert!(err.contains(part), "{part} missing from {err}");
        }
        assert!(HttpTemplate::parse(r#"{"base": "https://x", "create": {}, "probe": {}, "extra": 1}"#).is_err());
    }

    #[test]
    fn placeholders_fill_paths_and_bodies() {
        let values = [("label", "keyturn chg-1"), ("key_id", "k-9")];
        assert_eq!(fill("/keys/{key_id}", &values), "/keys/k-9");
        let body = serde_json::json!({"name": "{label}", "tags": ["{key_id}", 3]});
        assert_eq!(fill_json(&body, &values), serde_json::json!({"name": "keyturn chg-1", "tags": ["k-9", 3]}));
    }
}
