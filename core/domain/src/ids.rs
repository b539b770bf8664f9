//! Identifier newtypes. A `ConnectorId` that exists has been checked, so code
//! further in never re-validates it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest connector id we accept. Ids appear in DynamoDB keys, execution
/// input and email subjects, so they are kept short and printable.
pub const MAX_ID_LEN: usize = 128;

/// Identity of one connector (one key in one place), e.g. `atlassian/acme/entra`.
///
/// ```
/// use keyturn_domain::ConnectorId;
/// assert!(ConnectorId::parse("atlassian/acme/entra").is_ok());
/// assert!(ConnectorId::parse("has space").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectorId(String);

impl ConnectorId {
    /// Checks the id: 1..=128 characters from `A-Z a-z 0-9 . _ : / @ -`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if raw.len() > MAX_ID_LEN {
            return Err(format!("is longer than {MAX_ID_LEN} characters"));
        }
        if let Some(bad) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || "._:/@-".contains(*c))) {
            return Err(format!("contains {bad:?}; use letters, digits and . _ : / @ - only"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConnectorId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ConnectorId> for String {
    fn from(id: ConnectorId) -> Self {
        id.0
    }
}

impl fmt::Display for ConnectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identity of one change: `chg-YYYYMMDD-<16 hex>`. Also the Step Functions
/// execution name, so it must stay within `[A-Za-z0-9-_]{1,80}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeId(String);

impl ChangeId {
    /// Wraps an id that came from keyturn itself (a store, an execution).
    pub fn from_trusted(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// Checks an id that came from outside (a link, a CLI argument): the
    /// shape of an execution name, `[A-Za-z0-9_-]{1,80}`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > 80 {
            return Err("must be 1 to 80 characters".into());
        }
        if let Some(c) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(format!("{c:?} is not allowed in a change id"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_ids_with_a_reason() {
        assert_eq!(ConnectorId::parse("").unwrap_err(), "is empty");
        assert!(ConnectorId::parse("a b").unwrap_err().contains("' '"));
        assert!(ConnectorId::parse(&"x".repeat(129)).unwrap_err().contains("longer"));
        assert!(ConnectorId::parse("<script>").is_err());
        assert_eq!(ConnectorId::parse("atlassian/acme:scim@v1_2-x").unwrap().as_str(), "atlassian/acme:scim@v1_2-x");
    }
}
