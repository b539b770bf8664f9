//! Inventory files (CSV, JSON, YAML) → raw records → validated connectors.
//!
//! Readers only split a file into records of named string fields, so every
//! format (and a DynamoDB item) meets the same validation, and every error
//! names the file, the record and the field.

pub mod discover;
mod read;
mod validate;

pub use read::{read_file, read_str, split_file, split_str, Format, Split, MAX_FILE_BYTES, MAX_RECORDS};
pub use validate::{validate_all, validate_record, FieldError, ValidationContext, FIELDS};

use std::collections::BTreeMap;
use std::fmt;

/// Where a record sits in its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// CSV: the line number as an editor or spreadsheet shows it (header = 1).
    Row(u64),
    /// JSON/YAML: 1-based position in the list.
    Record(usize),
    /// A DynamoDB item (named by its id).
    Item,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Row(n) => write!(f, "row {n}"),
            Self::Record(n) => write!(f, "record {n}"),
            Self::Item => f.write_str("item"),
        }
    }
}

/// A record as read: field name → trimmed, non-empty text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub location: Location,
    pub fields: BTreeMap<String, String>,
}

impl RawRecord {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// Everything wrong with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// File name (or `dynamodb`).
    pub source: String,
    pub location: Location,
    /// The record's `id` when it has a usable one.
    pub id: Option<String>,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for RecordError {
    /// One line per field: `inventory.csv row 7 (atlassian/acme/entra): expires_at: "2026-13-01" is not a date`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{} {}", self.source, self.location)?;
            if let Some(id) = &self.id {
                write!(f, " ({id})")?;
            }
            write!(f, ": {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

/// Why an inventory file could not be used. Nothing is ever written when any
/// of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unknown file type; use .csv, .json, .yaml or .yml")]
    UnknownFormat { path: String },
    #[error("{path}: {size} bytes is larger than the {MAX_FILE_BYTES}-byte limit for an inventory file")]
    TooLarge { path: String, size: u64 },
    #[error("{path}: {message}")]
    Malformed { path: String, message: String },
    #[error("{} invalid record(s); nothing was written:\n{}", .0.len(), join_lines(.0))]
    Invalid(Vec<RecordError>),
}

fn join_lines(errors: &[RecordError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Reads and validates a whole file: every problem in it, of shape (unknown
/// columns, ragged rows) or of content (fields, duplicates), in file order and
/// one entry per record, or every connector when there is none.
pub fn load_file(
    path: &std::path::Path,
    ctx: &ValidationContext,
) -> Result<Vec<crate::domain::Connector>, InventoryError> {
    let split = split_file(path)?;
    validate_split(split, &path.display().to_string(), ctx)
}

/// [`load_file`] over text already in memory.
pub fn load_str(
    text: &str,
    format: Format,
    source: &str,
    ctx: &ValidationContext,
) -> Result<Vec<crate::domain::Connector>, InventoryError> {
    validate_split(split_str(text, format, source)?, source, ctx)
}

fn validate_split(
    split: Split,
    source: &str,
    ctx: &ValidationContext,
) -> Result<Vec<crate::domain::Connector>, InventoryError> {
    let mut errors = split.errors;
    match validate_all(&split.records, source, ctx) {
        Ok(connectors) if errors.is_empty() => return Ok(connectors),
        Ok(_) => {}
        Err(invalid) => errors.extend(invalid),
    }
    // A record can have both kinds of problem: one entry for it, in file order.
    let mut merged: BTreeMap<Location, RecordError> = BTreeMap::new();
    for e in errors {
        match merged.get_mut(&e.location) {
            Some(m) => {
                m.id = m.id.take().or(e.id);
                m.errors.extend(e.errors);
            }
            None => {
                merged.insert(e.location, e);
            }
        }
    }
    Err(InventoryError::Invalid(merged.into_values().collect()))
}

/// A stored connector, re-validated (items can be edited behind keyturn's
/// back), with the state keyturn keeps (version, lease) carried over.
pub fn validate_stored(
    stored: &crate::ports::StoredConnector,
    now: time::OffsetDateTime,
) -> Result<crate::domain::Connector, Vec<FieldError>> {
    let mut connector = validate_record(&stored.record, &ValidationContext::at(now))?;
    connector.version = stored.version;
    connector.active_change = stored.lease.clone();
    Ok(connector)
}

/// Why a connector a step needs cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] crate::ports::StoreError),
    #[error("no longer in the inventory")]
    Missing,
    /// Every field problem, joined.
    #[error("{0}")]
    Invalid(String),
}

/// Reads one connector and re-validates it (see [`validate_stored`]).
pub async fn load_connector<L: crate::ports::ConnectorLookup>(
    lookup: &L,
    id: &crate::domain::ConnectorId,
    now: time::OffsetDateTime,
) -> Result<crate::domain::Connector, LoadError> {
    let found = lookup.get_many(std::slice::from_ref(id)).await?;
    let stored = found.first().ok_or(LoadError::Missing)?;
    validate_stored(stored, now)
        .map_err(|errors| LoadError::Invalid(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))
}

#[cfg(test)]
mod tests {
    /// The examples docs/inventory.md links to stay valid inventories.
    #[test]
    fn the_documented_examples_validate() {
        let now = time::macros::datetime!(2026-11-26 09:00 UTC);
        for name in ["inventory.csv", "inventory.json", "inventory.yaml"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples").join(name);
            let records = super::read_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let valid = super::validate_all(&records, name, &super::ValidationContext::at(now));
            assert!(valid.as_ref().is_ok_and(|c| !c.is_empty()), "{name}: {valid:?}");
        }
    }

    fn problems(text: &str, format: super::Format, source: &str) -> Vec<String> {
        let now = time::macros::datetime!(2026-11-26 09:00 UTC);
        match super::load_str(text, format, source, &super::ValidationContext::at(now)) {
            Err(super::InventoryError::Invalid(errors)) => errors.iter().map(ToString::to_string).collect(),
            other => panic!("{other:?}"),
        }
    }

    const GOOD: &str = "\"kind\":\"atlassian-api-key\",\"org\":\"acme\",\"idp\":\"none\",\"owner\":\"a@acme.example\",\
        \"approver_group\":\"it\",\"secret_arn\":\"arn:aws:secretsmanager:eu-west-1:123456789012:secret:k\",\
        \"expires_at\":\"2026-12-24\"";

    /// A shape problem early in a file does not hide content problems later
    /// in it, nor the rest of the same record's.
    #[test]
    fn shape_and_content_problems_are_all_listed_in_file_order() {
        let json = format!(
            r#"[{{"id":"a",{GOOD},"ownr":"x","expires_at":"2026-13-01"}}, 7, {{"id":"c",{GOOD},"owner":""}}, {{"id":"d",{GOOD}}}]"#
        );
        let got = problems(&json, super::Format::Json, "x.json");
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(got[0].contains("x.json record 1 (a): ownr: unknown field"), "{got:#?}");
        assert!(got[0].contains("x.json record 1 (a): expires_at: \"2026-13-01\" is not a date"), "{got:#?}");
        assert!(got[1].starts_with("x.json record 2: record: must be an object"), "{got:#?}");
        assert!(got[2].starts_with("x.json record 3 (c): owner:"), "{got:#?}");

        let csv = "id,kind,ownr,expires_at\na,atlassian-scim,x,2026-13-01\nb,atlassian-scim\n";
        let got = problems(csv, super::Format::Csv, "x.csv");
        assert!(got[0].starts_with("x.csv row 1 (header): ownr: unknown field"), "{got:#?}");
        assert!(got[1].contains("x.csv row 2 (a): expires_at: \"2026-13-01\" is not a date"), "{got:#?}");
        assert!(got[2].starts_with("x.csv row 3 (b): row: has 2 cells, the header has 4"), "{got:#?}");
    }
}
