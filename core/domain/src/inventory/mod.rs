//! Inventory files (CSV, JSON, YAML) → raw records → validated connectors.
//!
//! Readers only split a file into records of named string fields, so every
//! format (and a DynamoDB item) meets the same validation, and every error
//! names the file, the record and the field.

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
    #[error("{path}: more than {limit} bytes, the limit for an inventory file; split it")]
    TooLarge { path: String, limit: u64 },
    #[error("{path}: {message}")]
    Malformed { path: String, message: String },
    #[error("{0}")]
    Invalid(Problems),
}

/// Records shown in full in a [`Problems`]; the rest are counted. A file of a
/// million bad rows gets a readable report, not a million lines held in
/// memory and poured onto a terminal.
pub const MAX_SHOWN_RECORDS: usize = 1_000;

/// Everything wrong with a file: the first [`MAX_SHOWN_RECORDS`] bad records
/// in file order, and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub shown: Vec<RecordError>,
    /// Records with at least one problem, shown or not.
    pub records: usize,
    /// Field problems in all of them.
    pub problems: usize,
}

impl Problems {
    /// Every one of `errors` (callers that already hold them all).
    pub fn from_all(errors: Vec<RecordError>) -> Self {
        let mut p = Self::default();
        for e in errors {
            p.add(e);
        }
        p
    }

    /// Records not shown.
    pub fn hidden(&self) -> usize {
        self.records - self.shown.len()
    }

    pub(crate) fn add(&mut self, e: RecordError) {
        self.records += 1;
        self.problems += e.errors.len();
        if self.shown.len() < MAX_SHOWN_RECORDS {
            self.shown.push(e);
        }
    }

    /// One more problem for the record at `location`, which may have had none
    /// so far (`was_valid`). Keeps `shown` the first records in file order.
    pub(crate) fn add_late(&mut self, source: &str, location: Location, id: &str, was_valid: bool, error: FieldError) {
        self.problems += 1;
        let at = self.shown.binary_search_by(|e| e.location.cmp(&location));
        if !was_valid {
            if let Ok(i) = at {
                self.shown[i].errors.push(error);
            }
            return;
        }
        self.records += 1;
        let (Err(i) | Ok(i)) = at;
        if i < MAX_SHOWN_RECORDS {
            self.shown.insert(
                i,
                RecordError { source: source.to_owned(), location, id: Some(id.to_owned()), errors: vec![error] },
            );
            self.shown.truncate(MAX_SHOWN_RECORDS);
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} invalid record(s); nothing was written:", self.records)?;
        for e in &self.shown {
            write!(f, "\n{e}")?;
        }
        if self.hidden() > 0 {
            write!(f, "\n… and {} more invalid record(s) not shown", self.hidden())?;
        }
        Ok(())
    }
}

/// The record's id if it is a valid one: only such ids are repeated in
/// errors (anything else could be megabytes, or terminal escapes).
pub(crate) fn usable_id(rec: &RawRecord) -> Option<String> {
    rec.get("id").filter(|id| crate::ConnectorId::parse(id).is_ok()).map(str::to_owned)
}

pub(crate) use crate::excerpt;

/// What a whole file held, when every record in it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub records: usize,
}

/// Reads and validates a whole file, record by record as it is read: every
/// problem in it, of shape (unknown columns, ragged rows) or of content
/// (fields, duplicates), in file order and one entry per record. Each valid
/// connector is handed to `each` (until the first invalid record: after
/// that the file cannot be used, so nothing more is handed on); the file
/// itself is never held whole beside what `each` keeps.
pub fn check_file(
    path: &std::path::Path,
    ctx: &ValidationContext,
    each: &mut dyn FnMut(crate::Connector),
) -> Result<Checked, InventoryError> {
    let source = path.display().to_string();
    let mut v = validate::Validator::new(&source, ctx);
    read::stream_file(path, &mut |item| v.push(item, each))?;
    v.finish()
}

/// [`check_file`] over text already in memory.
pub fn check_str(
    text: &str,
    format: Format,
    source: &str,
    ctx: &ValidationContext,
    each: &mut dyn FnMut(crate::Connector),
) -> Result<Checked, InventoryError> {
    let mut v = validate::Validator::new(source, ctx);
    read::stream_str(text, format, source, &mut |item| v.push(item, each))?;
    v.finish()
}

/// Every connector of a valid file (see [`check_file`]).
pub fn load_file(path: &std::path::Path, ctx: &ValidationContext) -> Result<Vec<crate::Connector>, InventoryError> {
    let mut all = Vec::new();
    check_file(path, ctx, &mut |c| all.push(c))?;
    Ok(all)
}

/// [`load_file`] over text already in memory.
pub fn load_str(
    text: &str,
    format: Format,
    source: &str,
    ctx: &ValidationContext,
) -> Result<Vec<crate::Connector>, InventoryError> {
    let mut all = Vec::new();
    check_str(text, format, source, ctx, &mut |c| all.push(c))?;
    Ok(all)
}

/// A connector as stored: the inventory fields as a raw record (validated by
/// the caller, because stored items can be edited behind keyturn's back) plus
/// the state keyturn keeps.
#[derive(Debug, Clone)]
pub struct StoredConnector {
    pub id: crate::ConnectorId,
    pub record: RawRecord,
    pub version: u64,
    pub lease: Option<crate::ChangeLease>,
}

/// A stored connector, re-validated (items can be edited behind keyturn's
/// back), with the state keyturn keeps (version, lease) carried over.
pub fn validate_stored(
    stored: &StoredConnector,
    now: time::OffsetDateTime,
) -> Result<crate::Connector, Vec<FieldError>> {
    let mut connector = validate_record(&stored.record, &ValidationContext::at(now))?;
    connector.version = stored.version;
    connector.active_change = stored.lease.clone();
    Ok(connector)
}

#[cfg(test)]
mod tests {
    /// The examples docs/inventory.md links to stay valid inventories.
    #[test]
    fn the_documented_examples_validate() {
        let now = time::macros::datetime!(2026-11-26 09:00 UTC);
        for name in ["inventory.csv", "inventory.json", "inventory.yaml"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples").join(name);
            let records = super::read_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let valid = super::validate_all(&records, name, &super::ValidationContext::at(now));
            assert!(valid.as_ref().is_ok_and(|c| !c.is_empty()), "{name}: {valid:?}");
        }
    }

    fn problems(text: &str, format: super::Format, source: &str) -> Vec<String> {
        let now = time::macros::datetime!(2026-11-26 09:00 UTC);
        match super::load_str(text, format, source, &super::ValidationContext::at(now)) {
            Err(super::InventoryError::Invalid(errors)) => errors.shown.iter().map(ToString::to_string).collect(),
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
            r#"[{{"id":"a",{},"ownr":"x"}}, 7, {{"id":"c",{GOOD},"owner":""}}, {{"id":"d",{GOOD}}}]"#,
            GOOD.replace("2026-12-24", "2026-13-01")
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
